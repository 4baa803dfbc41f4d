"""The run report's side of the runner: record the timeline while rows are pushed, build a
:class:`~syncer.report.RunSection` from a finished run, write ``<stem>.report.html`` beside its
results, keep the section as JSON beside the run's own copy of its results, and write a report
again later from the ledger and the results files (``syncer runs show RUN --report``).

What the timeline records and from where (each one bucket update per event):

- requests and the pacer's rate: :class:`RecordingPacer`, the run's own pacer, on each token
  it hands out (one per HTTP request; the rate as it is then);
- 429 answers and retries: the ``throttled`` and ``retry`` events of :mod:`syncer.events`
  (logger ``syncer.push``, level WARNING), through :class:`EventTap` while the rows are pushed;
- rows succeeded: the runner's own outcome callback.

Writing a report never changes a run's outcome: a report that cannot be written is a note.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from syncer import events
from syncer.errors import ConfigError, SourceError
from syncer.ledger import Ledger, RunRecord
from syncer.models import KEY_COLUMN, RunSummary
from syncer.reevo.pacing import RateController
from syncer.report import (
    ErrorGroup,
    Example,
    FileLine,
    PreflightInfo,
    Report,
    RunSection,
    Timeline,
    write_report,
)
from syncer.report.model import EXAMPLES_PER_CODE, TO_FIX
from syncer.results import source_names
from syncer.results_reading import read_results
from syncer.runner.prepared import issue_counts

if TYPE_CHECKING:
    from syncer.inbox.report import FileReport, InboxReport
    from syncer.push import PushSettings
    from syncer.runner.prepared import Prepared
    from syncer.runner.settings import Settings

#: the section of a run, kept in the run's folder beside its own copy of the results
SECTION_FILE = "report.json"
_QUOTED = re.compile(r'"([^"]*)"')
_OUTPUT_SUFFIX = re.compile(r"\.results$")


# -- recording -----------------------------------------------------------------------------
class RecordingPacer(RateController):
    """The run's pacer, recording each request it lets through (and the rate then)."""

    def __init__(self, timeline: Timeline, settings: PushSettings) -> None:
        super().__init__(settings.initial_rate, settings.max_rate)
        self.timeline = timeline

    async def acquire(self) -> None:
        """Take a token (see :meth:`RateController.acquire`), then count the request."""
        await super().acquire()
        self.timeline.request(self.rate)


class EventTap(logging.Handler):
    """Counts this thread's ``retry`` and ``throttled`` events into a timeline."""

    def __init__(self, timeline: Timeline) -> None:
        super().__init__()
        self.timeline = timeline
        self.thread = threading.get_ident()

    def handle(self, record: logging.LogRecord) -> bool:
        """One bucket update per event; no lock, no formatting."""
        if record.thread != self.thread:
            return False
        event = getattr(record, "syncer_event", None)
        if isinstance(event, events.Retry):
            self.timeline.retry()
        elif isinstance(event, events.Throttled):
            self.timeline.throttle()
        return True

    def emit(self, record: logging.LogRecord) -> None:
        """Unused: :meth:`handle` does the work."""


@contextmanager
def tapping(timeline: Timeline) -> Iterator[None]:
    """Count the push's retry and throttled events into ``timeline`` while inside."""
    logger = logging.getLogger(events.Retry.logger)
    tap = EventTap(timeline)
    logger.addHandler(tap)
    try:
        yield
    finally:
        logger.removeHandler(tap)


# -- building a section ----------------------------------------------------------------------
def report_path(results: Path) -> Path:
    """``<results stem without .results>.report.html`` beside the results file."""
    stem = _OUTPUT_SUFFIX.sub("", results.stem) or results.stem
    return results.with_name(f"{stem}.report.html")


def runs_folder(ledger: Path) -> Path:
    """Where the runs' own files are kept: ``<ledger folder>/<ledger stem>-runs/``."""
    return ledger.parent / f"{ledger.stem}-runs"


def preflight_info(
    *, ran: bool, enabled: bool, requests: int = 0, notes: list[str] | None = None,
    key_checked: bool = True, error: str | None = None,
) -> PreflightInfo:  # fmt: skip
    """The report's preflight entry from what the runner saw."""
    if error is not None:
        return PreflightInfo("failed", requests, list(notes or []), error)
    if not enabled:
        return PreflightInfo("skipped")
    if not ran:
        return PreflightInfo("not_run")
    return PreflightInfo("passed" if key_checked else "unchecked", requests, list(notes or []))


def run_section(
    summary: RunSummary,
    prepared: Prepared,
    outcomes: pl.DataFrame,
    *,
    command: str,
    timeline: Timeline | None,
    preflight: PreflightInfo | None,
) -> RunSection:
    """The report section of a finished run, from the run's own frames (no file is read)."""
    key_col = _key_source(prepared)
    frame = _rows_to_fix(prepared, outcomes)
    section = _from_summary(summary, prepared, command)
    begun = datetime.now(UTC) - timedelta(seconds=summary.elapsed_s)
    section.started_at = begun.replace(microsecond=0).isoformat()
    section.errors = error_groups(frame, summary.issues, KEY_COLUMN)
    section.timeline = timeline.data() if timeline is not None else None
    if section.timeline is not None and (
        sum(section.timeline.retries) != summary.retries
        or sum(section.timeline.throttled) != summary.throttled
    ):
        section.notes.append(
            "the retries and 429s over time are incomplete: they come from the events of the "
            "logger syncer.push, which a logging level above WARNING silences"
        )
    section.preflight = preflight
    if key_col is not None:
        names = dict(
            zip(prepared.headers, source_names(list(prepared.headers.values())), strict=True)
        )
        section.key_column = names.get(key_col)
    return section


def _from_summary(summary: RunSummary, prepared: Prepared, command: str) -> RunSection:
    source = prepared.source.path
    mapping = prepared.mapping.path
    message = summary.aborted or (
        f"interrupted ({summary.interrupted}) before every row was sent"
        if summary.interrupted
        else None
    )
    return RunSection(
        name=source.name,
        source=str(source.resolve()),
        mapping=str(mapping.resolve()) if mapping else None,
        command=command,
        run_id=summary.run_id,
        target=summary.target,
        elapsed_s=round(summary.elapsed_s, 3),
        dry_run=summary.dry_run,
        rows=summary.rows,
        counts=dict(summary.counts),
        blank_rows=summary.blank_rows,
        requests=summary.requests,
        retries=summary.retries,
        throttled=summary.throttled,
        exit_code=summary.exit_code,
        outcome=summary.outcome,
        message=message,
        issues=dict(summary.issues),
        retry_at=summary.retry_at,
        notes=list(summary.notes),
        results=str(summary.results_path.resolve()) if summary.results_path else None,
        failures=str(summary.failures_path.resolve()) if summary.failures_path else None,
        results_xlsx=_resolved(summary.results_xlsx),
        failures_xlsx=_resolved(summary.failures_xlsx),
        warnings=dict(summary.warnings),
    )


def _resolved(path: Path | None) -> str | None:
    return str(path.resolve()) if path is not None else None


def _key_source(prepared: Prepared) -> str | None:
    """The frame column the target's key comes from (e.g. the file's ``Email``)."""
    key = getattr(prepared.mapping.spec, "key_field", None)
    for f in prepared.fields:
        if f.section == "columns" and f.name == key and f.source in prepared.headers:
            return f.source
    return None


def _rows_to_fix(prepared: Prepared, outcomes: pl.DataFrame) -> pl.DataFrame:
    """source_row, status, error, error_code and the key of every row that needs fixing: the
    rows prepare found invalid (never pushed) and the pushed ones whose outcome needs fixing.
    Filtered before anything is joined: a million-row run pays for its few bad rows only."""
    cols = ["status", "error", "error_code"]
    frame = prepared.frame
    key = (
        pl.col(KEY_COLUMN).cast(pl.String)
        if KEY_COLUMN in frame.columns
        else pl.lit(None, pl.String).alias(KEY_COLUMN)
    )
    invalid = frame.filter(pl.col("status").is_in(TO_FIX)).select(
        pl.col("source_row").cast(pl.Int64), *[pl.col(c).cast(pl.String) for c in cols], key
    )
    if outcomes.height == 0:
        return invalid
    pushed = outcomes.filter(pl.col("status").cast(pl.String).is_in(TO_FIX)).select(
        pl.col("source_row").cast(pl.Int64),
        *[pl.col(c).cast(pl.String).fill_null("") for c in cols],
    )
    keys = frame.select(pl.col("source_row").cast(pl.Int64), key)
    pushed = pushed.join(keys, on="source_row", how="left")
    return pl.concat([invalid, pushed], how="vertical_relaxed").sort("source_row")


def error_groups(
    frame: pl.DataFrame, issues: dict[str, int], value_column: str | None
) -> list[ErrorGroup]:
    """One group per error code (in ``issues``' order: most rows first) with up to
    :data:`EXAMPLES_PER_CODE` example rows, from a frame of rows (source_row, status, error,
    error_code and ``value_column``, the row's key, shown when its message quotes no value)."""
    value = (
        pl.col(value_column).cast(pl.String)
        if value_column and value_column in frame.columns
        else pl.lit(None, pl.String)
    )
    rows = (
        frame.filter(pl.col("status").is_in(TO_FIX) & (pl.col("error_code").fill_null("") != ""))
        .select(
            pl.col("source_row").cast(pl.Int64),
            "status",
            pl.col("error").fill_null(""),
            pl.col("error_code"),
            value.alias("__value"),
            pl.col("error_code").str.split(";").alias("__code"),
        )
        .explode("__code")
        .sort("source_row")
    )
    firsts = rows.group_by("__code", maintain_order=True).head(EXAMPLES_PER_CODE)
    by_code: dict[str, list[dict[str, Any]]] = {}
    for row in firsts.iter_rows(named=True):
        by_code.setdefault(str(row["__code"]), []).append(row)
    counted = dict(issues) or {c: len(v) for c, v in by_code.items()}
    groups = []
    for code, n in counted.items():
        found = by_code.get(code, [])
        groups.append(
            ErrorGroup(
                code,
                n,
                str(found[0]["status"]) if found else "invalid",
                [_example(code, r) for r in found],
            )
        )
    return groups


def _example(code: str, row: dict[str, Any]) -> Example:
    """The row's message for ``code`` (its part of a multi-error message) and the value the
    message quotes, else the row's key."""
    codes = str(row["error_code"]).split(";")
    message = str(row["error"])
    parts = message.split("; ")
    if len(codes) > 1 and len(parts) == len(codes):
        message = parts[codes.index(code)]
    quoted = _QUOTED.search(message)
    value = quoted.group(1) if quoted else (row["__value"] or "")
    return Example(int(row["source_row"]), str(value), message)


# -- writing ---------------------------------------------------------------------------------
def report_run(
    summary: RunSummary,
    prepared: Prepared,
    outcomes: pl.DataFrame,
    settings: Settings,
    timeline: Timeline | None,
    preflight: PreflightInfo | None,
) -> None:
    """Write a finished run's report (``summary.report_path``; a problem is one of its notes)."""
    if summary.results_path is None:
        return
    if preflight is None:
        preflight = preflight_info(ran=False, enabled=settings.preflight or summary.dry_run)
    section = run_section(
        summary,
        prepared,
        outcomes,
        command=settings.command,
        timeline=timeline,
        preflight=preflight,
    )
    if settings.source_url:  # a remote SOURCE: its URL, not the temporary copy's path
        section.source = settings.source_url
    summary.report_path = save_run_report(
        section, summary.results_path, settings.ledger, summary.run_id, summary.notes
    )


def save_run_report(
    section: RunSection, results: Path, ledger: Path | None, run_id: int | None, notes: list[str]
) -> Path | None:
    """Write ``<stem>.report.html`` beside ``results`` and keep the section as JSON in the
    run's folder (when there is a ledger). Returns the report's path; a problem is a note."""
    path = report_path(results)
    section.report = str(path.resolve())
    try:
        write_report(Report(title=section.name, sections=[section], exit_code=section.exit_code),
                     path)  # fmt: skip
    except SourceError as exc:
        notes.append(f"{exc.message} No report was written for this run.")
        return None
    if ledger is not None and run_id is not None:
        folder = runs_folder(ledger) / str(run_id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / SECTION_FILE).write_text(
                json.dumps(section.to_json(), ensure_ascii=False), encoding="utf-8"
            )
        except OSError as exc:
            notes.append(
                f"cannot keep the report's data in {folder} ({exc.strerror or exc}): "
                f"`syncer runs show {run_id} --report` will write it without the timeline"
            )
    return path


def rewrite_report(ledger_path: Path, run_id: int) -> tuple[Path, list[str]]:
    """Write run ``run_id``'s report again from the ledger, its kept section and its results
    file: beside its results when they still hold this run, else in the run's own folder.
    Returns the path and notes (what could not be included)."""
    notes: list[str] = []
    with Ledger(ledger_path) as ledger:
        rec = ledger.run(run_id)
        newer = ledger.run_for_results(Path(rec.results_path)) if rec and rec.results_path else None
    if rec is None:
        raise ConfigError(f"no run #{run_id} in {ledger_path}; `syncer runs` lists them.")
    folder = runs_folder(ledger_path) / str(run_id)
    section = _kept_section(folder / SECTION_FILE, rec, notes)
    _apply_record(section, rec)
    own = newer is None or newer.id == rec.id
    frame = _results_frame(rec, own, notes)
    if frame is not None:
        section.errors = error_groups(frame, issue_counts(frame), section.key_column)
    stable = Path(rec.results_path) if rec.results_path else None
    if stable is not None and own:
        path = report_path(stable)
    else:
        path = folder / (report_path(stable).name if stable else "report.html")
    section.report = str(path)
    write_report(Report(title=section.name, sections=[section], exit_code=section.exit_code), path)
    return path, notes


def _kept_section(path: Path, rec: RunRecord, notes: list[str]) -> RunSection:
    try:
        return RunSection.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        notes.append(
            f"run #{rec.id} kept no report data (an older syncer, or its folder was pruned): "
            "the report has no timeline or preflight"
        )
        return RunSection(name=Path(rec.source).name)


def _apply_record(section: RunSection, rec: RunRecord) -> None:
    """The ledger is the record of how the run ended."""
    section.run_id = rec.id
    section.source = rec.source
    section.mapping = rec.mapping or section.mapping
    section.command = rec.command or section.command
    section.target = rec.target
    section.started_at = section.started_at or rec.started_at
    if rec.exit_code is not None:
        section.exit_code = rec.exit_code
    if rec.rows is not None:
        section.rows = rec.rows
    if rec.counts:
        section.counts = dict(rec.counts)
    section.requests = rec.requests if rec.requests is not None else section.requests
    section.retries = rec.retries if rec.retries is not None else section.retries
    section.throttled = rec.throttled if rec.throttled is not None else section.throttled
    outcome = rec.display_outcome
    if outcome in ("aborted", "interrupted"):
        section.outcome = outcome
    section.message = rec.message or section.message
    section.retry_at = rec.retry_at or section.retry_at
    section.results = rec.results_path
    section.failures = rec.failures_path


def _results_frame(rec: RunRecord, own: bool, notes: list[str]) -> pl.DataFrame | None:
    """The run's results: its own kept copy, else the stable file while it still holds it."""
    candidates = [rec.kept_results] + ([rec.results_path] if own else [])
    for name in candidates:
        if name and Path(name).is_file():
            try:
                return read_results(Path(name))[1]
            except SourceError as exc:
                notes.append(exc.message)
    notes.append(
        f"run #{rec.id}'s results file is gone (only the newest runs keep theirs): the errors "
        "are those the run kept with its report, if any"
    )
    return None


# -- inbox -----------------------------------------------------------------------------------
#: inbox file statuses that get a section of their own (the file was imported, or could not be)
INBOX_SECTIONS = ("done", "partial", "failed", "aborted", "interrupted")
_FILE_OUTCOMES = {"failed": "not_imported", "aborted": "aborted", "interrupted": "interrupted"}


def save_inbox_report(report: InboxReport, archive: Path, day: date, ledger: Path) -> None:
    """Write the inbox run's report to ``ARCHIVE/reports/YYYY-MM-DD/<inbox run>-inbox.report.html``
    (``report.report``) when some file was imported or failed; a problem is a note."""
    if report.dry_run or not any(f.status.value in INBOX_SECTIONS for f in report.files):
        return
    path = archive / "reports" / day.isoformat() / f"{report.run_id}-inbox.report.html"
    try:
        report.report = str(inbox_report(report, ledger, path))
    except SourceError as exc:
        report.notes.append(f"{exc.message} No report was written for this inbox run.")


def inbox_report(report: InboxReport, ledger: Path, path: Path) -> Path:
    """Write one report for an inbox run: every file in an overview, and a section for each
    file imported (from the section its run kept) or that could not be imported."""
    files, parts = [], []
    for f in report.files:
        files.append(FileLine(f.name, f.status.value, f.counts.get("rows"), f.error))
        if f.status.value not in INBOX_SECTIONS:
            continue
        section = _file_section(f, ledger)
        section.file_status = f.status.value
        parts.append(section)
    title = f"Inbox {report.inbox}" + (f" · run #{report.run_id}" if report.run_id else "")
    doc = Report(
        title=title,
        sections=parts,
        exit_code=report.exit_code,
        kind="inbox",
        files=files,
        message=report.message,
    )
    return write_report(doc, path)


def _file_section(f: FileReport, ledger: Path) -> RunSection:
    """The section the file's run kept, else one from what the inbox knows of the file."""
    if f.run_id is not None:
        kept = runs_folder(ledger) / str(f.run_id) / SECTION_FILE
        try:
            return RunSection.from_json(json.loads(kept.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    counts = {k: v for k, v in f.counts.items() if k != "rows"}
    return RunSection(
        name=f.name,
        command="syncer inbox",
        run_id=f.run_id,
        rows=f.counts.get("rows", 0),
        counts=counts,
        requests=f.requests,
        exit_code=f.exit_code,
        outcome=_FILE_OUTCOMES.get(f.status.value, "finished"),
        message=f.error,
        results=f.results,
        failures=f.failures,
    )
