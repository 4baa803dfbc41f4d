"""Plain data shared by every stage: row statuses, row issues, results and run summaries."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

#: the prepared frame's dedupe key column (internal: ``__`` names never clash with a header,
#: which the reader renames to ``<name> (source)``)
KEY_COLUMN = "__key"


class RowStatus(StrEnum):
    """Final status of one input row. Values are a contract (results files, --json keys)."""

    READY = "ready"  # validate only: would be sent
    DUPLICATE = "duplicate"  # another row with the same key won
    INVALID = "invalid"  # failed validation; never sent
    SUCCEEDED = "succeeded"  # Reevo accepted it
    UNCHANGED = "unchanged"  # same body as the last success: not sent (ledger)
    FAILED = "failed"  # Reevo rejected it, or retries ran out
    NOT_ATTEMPTED = "not_attempted"  # the run stopped before sending it


#: Statuses a failures file holds (rows to fix and re-run).
RETRY_STATUSES = frozenset({RowStatus.INVALID, RowStatus.FAILED, RowStatus.NOT_ATTEMPTED})


@dataclass(frozen=True, slots=True)
class RowWarning:
    """A change made to a row that still went through (a stable ``code`` and a message naming
    the value): e.g. ``phone_extension_dropped``, ``unknown_owner`` with ``owners: {unknown:
    omit}``. A target's push adds them to its :class:`RowOutcome` (an attendee skipped by an
    ``on_missing_*: skip`` rule); they end in the results file's ``warnings`` column."""

    code: str
    message: str


@dataclass(slots=True)
class RowOutcome:
    """What happened when one row was pushed to Reevo.

    ``ids``: every id Reevo gave the row, by the target's id names (``contact_id``...; see
    :mod:`syncer.targets`). ``contact_id``/``account_id`` are account_contact's two as syncer
    0.1 named them, kept in step with ``ids`` (given either way, each fills the other).
    """

    source_row: int
    status: RowStatus
    error: str = ""
    code: str = ""
    contact_id: str | None = None
    account_id: str | None = None
    http_status: int | None = None
    attempts: int = 0
    warnings: tuple[RowWarning, ...] = ()
    ids: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids, contact, account = self.ids, self.contact_id, self.account_id
        if ids:
            if contact is None:
                self.contact_id = contact = ids.get("contact_id")
            if account is None:
                self.account_id = account = ids.get("account_id")
        if (contact is not None and "contact_id" not in ids) or (
            account is not None and "account_id" not in ids
        ):
            legacy = (("contact_id", contact), ("account_id", account))
            self.ids = {**{k: v for k, v in legacy if v is not None}, **ids}


#: the per-status counts a run's ``--json`` object carries as top-level keys (always all)
RUN_JSON_STATUSES = ("succeeded", "unchanged", "duplicate", "invalid", "failed", "not_attempted")
#: the same for ``syncer validate``
VALIDATE_JSON_STATUSES = ("ready", "duplicate", "invalid")
#: --results-format: CSV files, workbooks, both, or CSV files in UTF-8 whatever the source's
RESULTS_FORMATS = ("csv", "xlsx", "both", "csv-utf8")


@dataclass(slots=True)
class RunSummary:
    """What a validate/run call returns. The library never prints; the CLI renders this,
    and :meth:`to_dict` is its ``--json`` object."""

    rows: int
    counts: dict[str, int]
    requests: int = 0
    blank_rows: int = 0
    results_path: Path | None = None
    failures_path: Path | None = None
    #: the results and failures workbooks (--results-format xlsx or both), None when not written
    results_xlsx: Path | None = None
    failures_xlsx: Path | None = None
    aborted: str | None = None  # message when the run stopped early (RunAborted)
    abort_reason: str | None = None
    interrupted: str | None = None  # the signal that stopped the run ("SIGINT", "SIGTERM")
    dry_run: bool = False
    run_id: int | None = None
    elapsed_s: float = 0.0
    issues: dict[str, int] = field(default_factory=dict)  # error code -> rows, for rows to fix
    command: Literal["run", "validate"] = "run"  # which call made it (and its --json shape)
    notes: list[str] = field(default_factory=list)  # for the user, printed as "note: ..."
    nothing_to_retry: str | None = None  # retry() of a file with no row to re-send: why
    target: str | None = None  # the Reevo target written (runs only)
    org: str | None = None  # the ledger's org id (runs only)
    to_send: int = 0  # rows the plan sent (not unchanged, not duplicate/invalid)
    retries: int = 0  # requests sent again after a retryable answer
    throttled: int = 0  # answers that were 429
    achieved_rate: float = 0.0  # requests per second while pushing
    retry_at: str | None = None  # a quota stop: when Reevo said to retry (UTC ISO 8601)
    parent_run: int | None = None  # a retry: the run whose results file it read
    #: rows with a warning per warning code (a row with two codes counts under both)
    warnings: dict[str, int] = field(default_factory=dict)
    report_path: Path | None = None  # the HTML run report written beside the results
    #: where the pacer started and why (runs that pushed): rate, source (default / limit /
    #: floor), and the remembered rate it started from or set aside
    pacing_start: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` object of ``syncer run``/``retry`` or ``syncer validate`` (a contract:
        keys are only ever added). The CLI sets ``command`` and ``exit_code`` to how the
        process really ended and adds ``error``."""
        counts = self.counts
        if self.command == "validate":
            return {
                "command": "validate",
                "rows": self.rows,
                **{s: counts.get(s, 0) for s in VALIDATE_JSON_STATUSES},
                "counts": counts,
                "blank_rows": self.blank_rows,
                "issues": self.issues,
                "results": _str_or_none(self.results_path),
                "failures": _str_or_none(self.failures_path),
                "elapsed_s": round(self.elapsed_s, 3),
                "notes": list(self.notes),
                "warnings": dict(self.warnings),
                "results_xlsx": _str_or_none(self.results_xlsx),
                "failures_xlsx": _str_or_none(self.failures_xlsx),
            }
        out: dict[str, Any] = {
            "command": "run",
            "rows": self.rows,
            **{s: counts.get(s, 0) for s in RUN_JSON_STATUSES},
            "requests": self.requests,
            "results": _str_or_none(self.results_path),
            "failures": _str_or_none(self.failures_path),
            "blank_rows": self.blank_rows,
            "issues": self.issues,
            "dry_run": self.dry_run,
            "exit_code": self.exit_code,
            "aborted": self.aborted,
            "abort_reason": self.abort_reason,
            "interrupted": self.interrupted,
            "run_id": self.run_id,
            "elapsed_s": round(self.elapsed_s, 3),
        }
        if self.dry_run:
            out["ready"] = counts.get("ready", 0)
        out["counts"] = counts
        out["notes"] = list(self.notes)
        out["warnings"] = dict(self.warnings)
        out["retries"], out["throttled"] = self.retries, self.throttled
        out["retry_at"], out["parent_run"] = self.retry_at, self.parent_run
        out["report"] = _str_or_none(self.report_path)
        out["results_xlsx"] = _str_or_none(self.results_xlsx)
        out["failures_xlsx"] = _str_or_none(self.failures_xlsx)
        out["pacing_start"] = self.pacing_start
        return out

    @property
    def outcome(self) -> str:
        """How the run ended: ``dry_run``, ``interrupted``, ``aborted`` or ``finished``."""
        if self.dry_run:
            return "dry_run"
        if self.interrupted is not None:
            return "interrupted"
        return "aborted" if self.aborted is not None else "finished"

    @property
    def exit_code(self) -> int:
        """0 all rows fine, 1 some rows invalid/failed/not attempted (or, with ``then: enroll``,
        some contacts not enrolled), 3 run aborted by Reevo, 128 + the signal's number when
        interrupted (130 Ctrl-C, 143 SIGTERM)."""
        if self.interrupted is not None:
            signum = getattr(signal.Signals, self.interrupted, signal.SIGINT)
            return 128 + int(signum)
        if self.aborted is not None:
            return 3
        bad = sum(self.counts.get(s.value, 0) for s in RETRY_STATUSES)
        return 1 if bad or self.warnings.get(NOT_ENROLLED) else 0


#: the row warning of a contact a ``then: enroll`` step could not enroll (a row to fix)
NOT_ENROLLED = "not_enrolled"


def _str_or_none(path: Path | None) -> str | None:
    return str(path) if path is not None else None
