"""What a run report holds: plain data built from a run's summary, its results and its timeline.

A :class:`Report` is one HTML file: one :class:`RunSection` for ``run`` / ``retry``, one per file
for an ``inbox`` run. Sections round-trip through JSON (:meth:`RunSection.to_json`), which is
how a run's report is kept beside its own copy of the results and written again later
(``syncer runs show RUN --report``). :func:`next_steps` says what to do after the run; it is
computed when the report is drawn, never stored, so an old run gets today's advice.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Literal

from syncer.report.timeline import TimelineData

#: the statuses a report shows, in the order of the status bar
STATUS_ORDER = (
    "succeeded",
    "unchanged",
    "ready",
    "duplicate",
    "invalid",
    "failed",
    "not_attempted",
)
#: statuses of rows that need something done
TO_FIX = ("invalid", "failed", "not_attempted")
#: examples shown per error code
EXAMPLES_PER_CODE = 5

#: what each exit code means, as the report says it
EXIT_MEANINGS = {
    0: "every row succeeded, was unchanged or was a duplicate",
    1: "some rows are invalid, failed or were not attempted",
    2: "the file, the mapping or the settings could not be used: nothing was sent",
    3: "Reevo stopped the run (key, permission, quota, unknown owners or the circuit breaker)",
    4: "another run held the lock too long",
    5: "no new file arrived by the expected time",
    130: "interrupted by Ctrl-C (SIGINT)",
    143: "stopped by SIGTERM",
}


@dataclass
class Example:
    """One row showing an error: its row number in the file, the value at fault (or the row's
    key when the message names no value) and the message."""

    row: int
    value: str
    message: str


@dataclass
class ErrorGroup:
    """The rows with one error code: how many, their status, and the first few."""

    code: str
    rows: int
    status: str = "invalid"
    examples: list[Example] = field(default_factory=list)


@dataclass
class PreflightInfo:
    """The checks made before the first row was sent.

    ``state``: ``passed``; ``failed`` (``error`` says why; no row was sent); ``unchecked``
    (Reevo could not be reached to check the key); ``skipped`` (``--no-preflight``);
    ``not_run`` (no row needed sending, or a dry run).
    """

    state: str
    requests: int = 0
    notes: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class RunSection:
    """Everything the report shows about one run (or one inbox file)."""

    name: str  # the file's name (the section's title)
    source: str | None = None
    mapping: str | None = None
    command: str = "run"  # run / retry / inbox, or the full command line
    run_id: int | None = None
    target: str | None = None
    started_at: str | None = None  # ISO 8601
    elapsed_s: float = 0.0
    dry_run: bool = False
    rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    blank_rows: int = 0
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    exit_code: int = 0
    outcome: str = "finished"  # finished / aborted / interrupted / dry_run / not_imported
    message: str | None = None  # why the run stopped, or why the file was not imported
    hint: str | None = None  # the next step that came with ``message``
    retry_at: str | None = None  # a quota stop: when Reevo said to try again (ISO 8601)
    issues: dict[str, int] = field(default_factory=dict)  # rows per error code (all codes)
    errors: list[ErrorGroup] = field(default_factory=list)
    timeline: TimelineData | None = None
    preflight: PreflightInfo | None = None
    notes: list[str] = field(default_factory=list)
    results: str | None = None
    failures: str | None = None
    results_xlsx: str | None = None  # the results and failures workbooks, when written
    failures_xlsx: str | None = None
    report: str | None = None  # this run's own report file
    warnings: dict[str, int] = field(default_factory=dict)  # rows per warning code
    file_status: str | None = None  # inbox: done / partial / failed / aborted / ...
    key_column: str | None = None  # the column holding each row's key (e.g. Email)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (read back by :meth:`from_json`)."""
        data = {k: getattr(self, k) for k in _PLAIN}
        data["errors"] = [
            {
                "code": g.code,
                "rows": g.rows,
                "status": g.status,
                "examples": [[e.row, e.value, e.message] for e in g.examples],
            }
            for g in self.errors
        ]
        data["timeline"] = self.timeline.to_json() if self.timeline is not None else None
        p = self.preflight
        data["preflight"] = (
            None
            if p is None
            else {"state": p.state, "requests": p.requests, "notes": p.notes, "error": p.error}
        )
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSection:
        """The section :meth:`to_json` wrote (unknown keys are ignored, missing ones default)."""
        section = cls(**{k: data[k] for k in _PLAIN if k in data})
        section.errors = [
            ErrorGroup(
                str(g["code"]),
                int(g["rows"]),
                str(g.get("status", "invalid")),
                [Example(int(r), str(v), str(m)) for r, v, m in g.get("examples", [])],
            )
            for g in data.get("errors") or []
        ]
        if data.get("timeline"):
            section.timeline = TimelineData.from_json(data["timeline"])
        if data.get("preflight"):
            p = data["preflight"]
            section.preflight = PreflightInfo(
                str(p["state"]), int(p.get("requests", 0)), list(p.get("notes", [])), p.get("error")
            )
        return section

    @property
    def to_fix(self) -> int:
        """Rows that are invalid, failed or not attempted."""
        return sum(self.counts.get(s, 0) for s in TO_FIX)


_PLAIN = (
    "name",
    "source",
    "mapping",
    "command",
    "run_id",
    "target",
    "started_at",
    "elapsed_s",
    "dry_run",
    "rows",
    "counts",
    "blank_rows",
    "requests",
    "retries",
    "throttled",
    "exit_code",
    "outcome",
    "message",
    "hint",
    "retry_at",
    "issues",
    "notes",
    "results",
    "failures",
    "results_xlsx",
    "failures_xlsx",
    "report",
    "warnings",
    "file_status",
    "key_column",
)


@dataclass
class FileLine:
    """One file of an inbox run in the report's overview (every file seen, imported or not)."""

    name: str
    status: str
    rows: int | None = None
    note: str | None = None


@dataclass
class Report:
    """One report file: a run (one section) or an inbox run (one section per imported file)."""

    title: str
    sections: list[RunSection]
    exit_code: int
    kind: Literal["run", "inbox"] = "run"
    generated_at: str = ""  # ISO 8601; set when written
    files: list[FileLine] = field(default_factory=list)  # inbox: every file seen
    message: str | None = None  # inbox: busy / stuck / missing...


def plural(n: int, word: str) -> str:
    """``1 row``, ``2 rows``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass
class Step:
    """One thing to do after the run, with the command that does it (when there is one)."""

    text: str
    command: str | None = None


def next_steps(section: RunSection) -> list[Step]:
    """What to do after this run, most important first (plain text: the template escapes it)."""
    counts = section.counts
    results = shlex.quote(section.results) if section.results else "RESULTS"
    failures = shlex.quote(section.failures) if section.failures else "FAILURES"
    mapping = shlex.quote(section.mapping) if section.mapping else "MAPPING"
    retry = f"syncer retry {results}"
    steps: list[Step] = []
    if section.outcome == "not_imported":
        return [Step(section.hint or "Fix the file or its mapping as the message says.")]
    if section.dry_run:
        ready = counts.get("ready", 0)
        steps.append(
            Step(
                "Nothing was sent (dry run). Run the same command without --dry-run to import "
                f"the {plural(ready, 'ready row')}."
            )
        )
    if section.outcome == "aborted":
        steps.append(
            Step(
                "Reevo stopped the run: fix what the message above says, then run the same "
                "command again (rows Reevo accepted are not sent again), or send the rest with:",
                retry,
            )
        )
    elif section.outcome == "interrupted":
        steps.append(
            Step(
                "The run was interrupted. To resume, run the same command again (rows Reevo "
                "accepted are not sent again), or:",
                retry,
            )
        )
    invalid = counts.get("invalid", 0)
    if invalid:
        steps.append(
            Step(
                f"Fix the {plural(invalid, 'invalid row')} in the failures file (its error "
                "column says what is wrong in each), then import it:",
                f"syncer run {failures} --mapping {mapping}",
            )
        )
    failed, unsent = counts.get("failed", 0), counts.get("not_attempted", 0)
    if (failed or unsent) and section.outcome == "finished":
        parts = [plural(failed, "failed row")] if failed else []
        if unsent:
            parts.append(f"{unsent} {'row' if unsent == 1 else 'rows'} not attempted")
        steps.append(Step(f"Send the {' and '.join(parts)} again:", retry))
    if section.issues.get("reevo_rejected"):
        steps.append(
            Step(
                "Rows Reevo rejected (reevo_rejected) fail again until their data is fixed: "
                "read each one's message first."
            )
        )
    if not steps:
        steps.append(Step("Nothing to do: every row succeeded, was unchanged or was a duplicate."))
    return steps
