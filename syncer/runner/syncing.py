"""The push half: plan against the ledger -> preflight -> push -> record -> results; and retry."""

from __future__ import annotations

import itertools
import time
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from syncer import events
from syncer.background import in_background, in_background_joined
from syncer.errors import ConfigError, RunAborted, SourceError, StaleSource
from syncer.kept_copies import keep_copies, prune_copies
from syncer.ledger import SCHEMA_VERSION, Ledger, RunRecord, file_sha256, org_id
from syncer.mapping import Mapping
from syncer.models import RowOutcome, RowStatus, RunSummary
from syncer.paths import ledger_notes
from syncer.push import PushReport, make_client, push_rows, run_async
from syncer.reevo.client import ReevoClient, needs_tls, tls_context
from syncer.report import PreflightInfo, Timeline
from syncer.results import (
    OutputFiles,
    check_outputs,
    default_paths,
    output_files,
    write_outputs,
)
from syncer.results_reading import results_table
from syncer.runner import streamed
from syncer.runner.checks import (
    explain_breaker,
    owner_emails,
    preflight,
    screen_owners,
)
from syncer.runner.digest_memo import DigestMemo
from syncer.runner.early_read import EarlyRead
from syncer.runner.enroll import Enroll, failed_enrollments, watching
from syncer.runner.ledger_memory import LedgerMemory
from syncer.runner.lock import RunLock
from syncer.runner.orgs import resolve_org
from syncer.runner.plan import Collected, Plan
from syncer.runner.prepared import Prepared, issue_counts, prepare
from syncer.runner.rates import Start, remember, start_pacer
from syncer.runner.reporting import (
    RecordingPacer,
    preflight_info,
    report_run,
    runs_folder,
    tapping,
)
from syncer.runner.settings import RUN_STATUSES, Settings, api_key_of, base_url_of
from syncer.sources import SourceTable

#: runs whose own results and failures files are kept (see :func:`_keep_run_files`)
KEPT_RUNS = 100


@dataclass
class _Job:
    """Everything one sync() call works with."""

    prepared: Prepared
    settings: Settings
    base_url: str
    api_key: str = field(repr=False)
    org: str
    ledger: Ledger | None
    plan: Plan
    collected: Collected
    run_id: int | None = None
    lock: RunLock | None = None
    notes: list[str] = field(default_factory=list)
    timeline: Timeline | None = None  # per-second requests, 429s, retries (the report's)
    preflight: PreflightInfo | None = None
    enroll: Enroll | None = None  # then: enroll (runner/enroll.py)
    start: Start | None = None  # where the pacer started (runner/rates.py)
    checksum: Future[str] | None = None  # the source file's sha256, computed in a thread

    @property
    def target(self) -> str:
        """The mapping's target endpoint."""
        return self.prepared.mapping.target

    def on_outcome(self, outcome: RowOutcome) -> None:
        """Collect one pushed row's outcome and remember it in the ledger."""
        self.collected.add(outcome)
        if self.timeline is not None and outcome.status is RowStatus.SUCCEEDED:
            self.timeline.row_succeeded()
        if self.ledger is None or self.run_id is None:
            return
        # one outcome per row: its hash is let go (a first run of millions of rows)
        key, digest = self.plan.hashes.pop(outcome.source_row, ("", ""))
        # a row stopped between its requests keeps the ids the earlier ones got
        if key and (outcome.status is not RowStatus.NOT_ATTEMPTED or outcome.ids):
            self.ledger.record(self.org, self.target, self.run_id, key, digest, outcome)


def sync(
    source: Path | str | SourceTable,
    mapping: Mapping | Path | str,
    settings: Settings | None = None,
) -> RunSummary:
    """Import ``source`` into Reevo as ``mapping`` says; every row ends in the results file.

    Raises :class:`SyncerError` for unusable input/mapping/settings, another run holding the
    lock, or a stale file (all before anything is sent) and for a failed preflight
    (:class:`RunAborted`). A run stopped by Reevo mid-way returns a summary with ``aborted``
    set; one stopped by ``settings.stop`` (Ctrl-C) a summary with ``interrupted`` set; unsent
    rows are ``not_attempted`` either way.
    """
    settings = settings or Settings()
    started = time.perf_counter()
    files = _output_paths(source, mapping, settings)
    # the ledger read while the file is prepared; not beside the batches of a large file (its
    # memory would add to theirs: read after, once they are gone)
    early = None if streamed.large_enough(source) else EarlyRead.begin(settings, mapping)
    checksum = _checksum(source, settings)
    _begin_tls(settings)
    in_background_joined(_compile_report_template)  # the report, written at the end
    early_memo = None  # the digests of the last file, read while this one is prepared
    if early is not None and settings.ledger is not None:
        early_memo = _memo(settings.ledger, early.org, early.target, settings).read_early()
    prepared = prepare(
        source if isinstance(source, SourceTable) else Path(source),
        mapping if isinstance(mapping, Mapping) else Path(mapping),
        ahead=settings.read_ahead,
    )
    source = prepared.source.path
    if settings.on_start is not None:
        settings.on_start(prepared.counts()[RowStatus.READY.value])
    base_url = base_url_of(settings)
    api_key = _dry_run_key(settings) if settings.dry_run else api_key_of(settings)
    org = settings.org or org_id(base_url, api_key=api_key, label=settings.org_label)
    notes: list[str] = []
    ledger: Ledger | None = None
    if settings.ledger is not None:
        existed = settings.ledger.exists()
        ledger = Ledger(settings.ledger)
        notes = ledger_notes(settings.ledger, existed=existed)
        if ledger.migrated_from is not None:
            notes.append(
                f"upgraded the ledger {settings.ledger} from schema version "
                f"{ledger.migrated_from} to {SCHEMA_VERSION} (its history is kept)"
            )
    collected = Collected(prepared.mapping.spec.id_columns)
    memo = None
    if settings.ledger is not None:
        memo = _memo(settings.ledger, org, prepared.mapping.target, settings)
        if early_memo is not None and early_memo.path == memo.path:
            memo = early_memo
    del early_memo
    plan = Plan(
        prepared,
        ledger,
        org,
        settings.full,
        collected,
        settings.progress,
        force_ambiguous=settings.force_ambiguous,
        early=early,
        memo=memo,
    )
    del early  # the plan's now: it lets go of the ledger's frame once joined
    job = _Job(prepared, settings, base_url, api_key, org, ledger, plan, collected, notes=notes)
    job.checksum = checksum
    job.enroll = Enroll.of(prepared, settings.enroll_again)
    try:
        report: PushReport | None = None
        if settings.dry_run:
            _dry_run(job)
        else:
            report = run_async(_session(job, source))
        counts = dict.fromkeys(RUN_STATUSES, 0)
        if settings.dry_run:
            counts[RowStatus.READY.value] = 0
        outcomes = collected.frame()
        prepared.add_warnings(collected.warnings)  # found by preflight or the push
        written = write_outputs(prepared, outcomes, files)
        counts.update(written.counts)
        job.notes.extend(written.notes)
        results_path, failures_out = written.files.results, written.failures
        aborted = report.aborted if report else None
        interrupted = report is not None and report.interrupted
        summary = RunSummary(
            rows=prepared.frame.height,
            counts=counts,
            requests=report.requests if report else 0,
            blank_rows=prepared.source.blank_rows,
            results_path=results_path,
            failures_path=failures_out,
            results_xlsx=written.files.xlsx[0] if written.files.xlsx else None,
            failures_xlsx=written.failures_xlsx,
            aborted=aborted.message if aborted else None,
            abort_reason=aborted.reason if aborted else None,
            interrupted=_stop_reason(settings) if interrupted else None,
            dry_run=settings.dry_run,
            run_id=job.run_id,
            elapsed_s=time.perf_counter() - started,
            issues=issue_counts(prepared.frame, outcomes),
            warnings=prepared.warning_counts(),
            notes=[*prepared.notes, *job.notes],
            target=job.target,
            org=job.org,
            to_send=plan.to_send,
            retries=report.retries if report else 0,
            throttled=report.throttled if report else 0,
            achieved_rate=round(report.achieved_rate, 2) if report else 0.0,
            retry_at=_utc_iso(aborted.retry_at) if aborted else None,
            parent_run=settings.parent_run,
            pacing_start=job.start.to_dict() if job.start else None,
        )
        if aborted is not None:
            events.emit(
                events.Aborted(aborted.reason, aborted.status, aborted.message, aborted.retry_after)
            )
        if interrupted:
            events.emit(events.Interrupted(summary.interrupted or "stopped"))
        kept: tuple[Path | None, Path | None] = (None, None)
        if ledger is not None and job.run_id is not None:
            kept = _keep_run_files(
                ledger.path,
                job.run_id,
                results_path,
                failures_out,
                summary.notes,
                books=(summary.results_xlsx, summary.failures_xlsx),
            )
        report_run(summary, prepared, outcomes, settings, job.timeline, job.preflight)
        # the rows are written: let go of them before finish_run's snapshot refresh, which may
        # read the org's whole memory of the target (~1 GB at 5M rows) beside them
        del outcomes
        prepared.let_go()
        collected.clear()
        if ledger is not None and job.run_id is not None:
            outcome = "interrupted" if interrupted else "aborted" if aborted else "finished"
            ledger.finish_run(
                job.run_id,
                outcome=outcome,
                exit_code=summary.exit_code,
                rows=summary.rows,
                counts=counts,
                requests=summary.requests,
                message=summary.aborted
                or (interrupted and f"interrupted ({summary.interrupted})")
                or None,
                results_path=results_path.resolve(),
                failures_path=failures_out.resolve() if failures_out else None,
                kept_results=kept[0],
                kept_failures=kept[1],
                retries=summary.retries,
                throttled=summary.throttled,
                retry_at=summary.retry_at,
                key_order=plan.snapshot_order,
            )
        events.emit(_finished(summary, settings.dry_run))
        return summary
    finally:
        plan.close()
        if job.lock is not None:
            job.lock.release()
        if ledger is not None:
            ledger.close()


def _output_paths(
    source: Path | str | SourceTable, mapping: Mapping | Path | str, settings: Settings
) -> OutputFiles:
    """The results and failures files; ConfigError (before anything is read) when one of them
    is the source, the mapping or the ledger, or the format is unknown."""
    path = source.path if isinstance(source, SourceTable) else Path(source)
    files = output_files(path, settings.results, settings.results_format)
    inputs = {
        "source": path,
        "mapping": mapping.path if isinstance(mapping, Mapping) else Path(mapping),
        "ledger": settings.ledger,
    }
    check_outputs(files.paths, inputs)
    return files


def _keep_run_files(
    ledger: Path,
    run_id: int,
    results: Path,
    failures: Path | None,
    notes: list[str],
    books: tuple[Path | None, Path | None] = (None, None),
) -> tuple[Path | None, Path | None]:
    """This run's own copies under ``<ledger folder>/<ledger stem>-runs/<run_id>/`` (the
    stable names hold the latest run only), the workbooks ``books`` too; copies of all but
    the newest runs are pruned. A copy that cannot be made is a note, never a failed run:
    (None, None) then."""
    root = runs_folder(ledger)
    try:
        kept = keep_copies(root / str(run_id), results, failures)
        if books[0] is not None and books[0] != results:
            keep_copies(root / str(run_id), books[0], books[1])
    except SourceError as exc:
        notes.append(f"{exc.message} `syncer runs show {run_id}` will name the stable files only")
        return None, None
    prune_copies(root, KEPT_RUNS)
    return kept[0].resolve(), kept[1].resolve() if kept[1] else None


def _utc_iso(epoch: float | None) -> str | None:
    """``epoch`` as UTC ISO 8601 with seconds."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).replace(microsecond=0).isoformat()


def _started(job: _Job) -> events.RunStarted:
    """The run_started event: where, what, and the settings that shape the run (no key)."""
    s, push = job.settings, job.settings.push
    return events.RunStarted(
        run_id=job.run_id,
        command=s.command,
        source=s.source_url or str(job.prepared.source.path),
        mapping=str(job.prepared.mapping.path or ""),
        target=job.target,
        base_url=job.base_url,
        org=job.org,
        rows=job.prepared.counts()[RowStatus.READY.value],
        settings={
            "dry_run": s.dry_run,
            "full": s.full,
            "force_ambiguous": s.force_ambiguous,
            "preflight": s.preflight,
            "again": s.again,
            "wait_s": s.wait_s,
            "ledger": str(s.ledger) if s.ledger else None,
            "parent_run": s.parent_run,
            "concurrency": push.concurrency,
            "max_rate": push.max_rate,
            "initial_rate": push.initial_rate,
            "timeout_s": push.timeout_s,
            "max_attempts": push.max_attempts,
            "retry_budget": push.retry_budget,
            "breaker_threshold": push.breaker_threshold,
        },
    )


def _finished(summary: RunSummary, dry_run: bool) -> events.RunFinished:
    return events.RunFinished(
        run_id=summary.run_id,
        outcome="dry_run" if dry_run else summary.outcome,
        exit_code=summary.exit_code,
        rows=summary.rows,
        counts=dict(summary.counts),
        requests=summary.requests,
        retries=summary.retries,
        throttled=summary.throttled,
        elapsed_s=round(summary.elapsed_s, 3),
        results=str(summary.results_path) if summary.results_path else None,
        failures=str(summary.failures_path) if summary.failures_path else None,
    )


def _stop_reason(settings: Settings) -> str:
    return settings.stop.reason if settings.stop is not None else "stopped"


def _dry_run_key(settings: Settings) -> str:
    """The key when one is given (a dry run plans against that org's ledger), else ''."""
    try:
        return api_key_of(settings)
    except ConfigError:
        return ""


def _bulk_rest(job: _Job, screens: bool) -> bool:
    """Whether the rows left when a run stops may be recorded in bulk (:meth:`Plan.rest`):
    not when each must still pass the unknown-owner screen or be seen by ``then: enroll``."""
    return not screens and job.enroll is None


def _dry_run(job: _Job) -> None:
    """Plan only: rows that would be sent are ``ready``; unchanged rows are reported as such."""
    if job.ledger is not None and not job.settings.org:
        job.org = job.plan.org = job.ledger.canonical_org(job.org)
    events.emit(_started(job))
    for row, _key, _body in job.plan.items():
        job.collected.add(RowOutcome(row, RowStatus.READY))


async def _session(job: _Job, source: Path) -> PushReport:
    """Settle the org (a rotated key?), take the run lock, refuse a stale file, record the run
    in the ledger, then preflight and push every changed ready row."""
    settings = job.settings
    client = make_client(
        job.api_key, settings.push, base_url=job.base_url, transport=settings.transport
    )
    async with client:
        explicit = bool(settings.org or settings.org_label)
        choice = await resolve_org(client, job.ledger, job.org, explicit=explicit)
        job.org = job.plan.org = choice.org
        job.notes.extend(choice.notes)
        if job.ledger is None:
            report = await _push(job, client)
            if job.enroll is not None:
                await job.enroll.after(job, client, report)
            report.requests = client.requests
            return report
        job.lock = RunLock.for_target(
            job.ledger.path, job.org, job.target, command=settings.command
        )
        job.lock.acquire(settings.wait_s)
        checksum = settings.source_sha256 or (job.checksum.result() if job.checksum else "")
        if checksum:
            _check_stale(job, source, checksum)
        job.run_id = job.ledger.start_run(
            org=job.org,
            base_url=job.base_url,
            target=job.target,
            source=settings.source_url or source,
            mapping=job.prepared.mapping.path,
            command=settings.command,
            source_sha256=checksum,
            parent_run=settings.parent_run,
        )
        report = await _push(job, client)
        if job.enroll is not None:
            await job.enroll.after(job, client, report)
        report.requests = client.requests  # org check and preflight included
        return report


def _memo(ledger: Path, org: str, target: str, settings: Settings) -> DigestMemo:
    """The digest memo of ``org``'s ``target`` beside ``ledger`` (a dry run writes none)."""
    return DigestMemo.beside(ledger, org, target, writable=not settings.dry_run)


def _checksum(source: Path | str | SourceTable, settings: Settings) -> Future[str] | None:
    """The sha256 of a run's source file (the stale-file check's), begun in a thread while the
    file is prepared (hashlib lets go of the GIL: ~0.1-0.3 s per 175 MB the run need not wait
    for after prepare); None when the run will not ask for it (no ledger, a dry run, one given
    by the caller, a source that is no file)."""
    if settings.ledger is None or settings.dry_run or settings.source_sha256:
        return None
    path = source.path if isinstance(source, SourceTable) else Path(source)
    return in_background(file_sha256, path) if path.is_file() else None


def _begin_tls(settings: Settings) -> None:
    """Load the CA bundle (~55 ms of CPU) in a thread while the file is prepared, when the run
    will speak TLS (not a dry run, no test transport, an https base URL)."""
    if settings.dry_run or settings.transport is not None:
        return
    try:
        base_url = base_url_of(settings)
    except ConfigError:
        return  # said after the file is checked, as before
    if needs_tls(base_url):
        in_background_joined(tls_context)  # not a daemon: see syncer.background


def _compile_report_template() -> None:
    """Import jinja2 and compile the run report's template (~0.1 s), here in a thread while
    the file is prepared rather than after the results are written."""
    from syncer.report.html import template

    template()


def _check_stale(job: _Job, source: Path, checksum: str) -> None:
    """Refuse (unless --again) a file imported before whose rows newer runs have changed."""
    assert job.ledger is not None
    earlier = job.ledger.earlier_import(job.org, job.target, checksum)
    if earlier is None:
        return
    stale = job.plan.stale_rows(since_run=earlier.id)
    if not stale:
        return
    what = f"{stale} row{'s' if stale != 1 else ''}"
    if job.settings.again:
        job.notes.append(
            f"--again: {source.name} was already imported by run {earlier.id}; {what} went back "
            "to the older values it holds"
        )
        return
    raise StaleSource(
        f"{source} was already imported (run {earlier.id}, {earlier.started_at}) and newer runs "
        f"have since sent other values for {what} of it: importing it again would put the "
        "older values back. Nothing was sent. If that is what you want, re-run with --again.",
        stale_rows=stale,
        earlier_run=earlier.id,
    )


async def _push(job: _Job, client: ReevoClient) -> PushReport:
    """Preflight (only when some row needs sending), then push the changed ready rows."""
    settings = job.settings
    events.emit(_started(job))
    items = job.plan.items()
    first = next(items, None)
    if first is None:
        return PushReport()
    stop = settings.stop
    screens = False  # rows are screened for unknown owners: each must pass the screen
    try:
        if stop is not None and stop.requested:
            raise _Interrupted
        if settings.preflight:
            owners = owner_emails(job.prepared)
            try:
                checked = await preflight(
                    client,
                    job.target,
                    owners,
                    policy=job.prepared.mapping.unknown_owners,
                    push=settings.push,
                    mapping=job.prepared.mapping,
                )
                if job.enroll is not None:  # its key permission and mailboxes, before any write
                    await job.enroll.preflight(client, settings.push, checked)
            except RunAborted as exc:
                events.emit(events.Preflight(ok=False, notes=[], error=exc.message))
                job.preflight = preflight_info(ran=True, enabled=True, error=exc.message)
                raise
            events.emit(events.Preflight(ok=True, notes=list(checked.notes)))
            job.preflight = preflight_info(
                ran=True, enabled=True, requests=checked.requests, notes=checked.notes,
                key_checked=checked.key_checked,
            )  # fmt: skip
            job.notes.extend(checked.notes)
            # owners that are not users: their rows are invalid, or sent without the owner
            chained = itertools.chain([first], items)
            screening = screen_owners(job.plan, checked.unknown, chained)
            screens = screening is not chained
            screened = iter(screening)
            head = next(screened, None)
            if head is None:
                return PushReport()
            first, items = head, screened
    except (RunAborted, _Interrupted) as exc:
        # nothing was sent: every row that would have been is not_attempted
        interrupted = isinstance(exc, _Interrupted) or (stop is not None and stop.requested)
        unsent = _unsent(first[0], exc, _stop_reason(settings))
        job.on_outcome(unsent)
        if _bulk_rest(job, screens):
            job.plan.rest(unsent.error, unsent.code)
        else:
            for row, _key, _body in items:
                job.on_outcome(_unsent(row, exc, _stop_reason(settings)))
        if isinstance(exc, RunAborted) and not interrupted:
            return PushReport(aborted=exc)
        return PushReport(interrupted=True)
    job.timeline = Timeline()
    pacer = RecordingPacer(job.timeline, settings.push)
    where = (job.ledger, job.org, job.target)
    job.start = start_pacer(
        pacer, *where, base_url=job.base_url, api_key=job.api_key, settings=settings.push
    )
    if job.start.note:
        job.notes.append(job.start.note)
    with tapping(job.timeline):
        report = await push_rows(
            client,
            job.target,
            itertools.chain([first], items),
            settings.push,
            watching(job),  # then: enroll (runner/enroll.py)
            settings.progress,
            pacer=pacer,
            stop=stop,
            memory=LedgerMemory(job.ledger, job.org, job.run_id, job.plan.known, job.target),
            options=job.prepared.mapping.target_options(),
            full=settings.full,
            rest=job.plan.rest if _bulk_rest(job, screens) else None,
        )
    # also after an interrupted or aborted push: what it measured is kept (when it is clean)
    remember(pacer, *where, base_url=job.base_url, api_key=job.api_key, run_id=job.run_id,
             before=job.start.remembered)  # fmt: skip
    if report.aborted is not None and report.aborted.reason == "circuit_breaker":
        report.aborted = explain_breaker(report.aborted, job.prepared.mapping)
    return report


class _Interrupted(Exception):
    """A stop was requested before the first row was sent."""


def _unsent(row: int, exc: Exception, reason: str) -> RowOutcome:
    if isinstance(exc, RunAborted):
        return RowOutcome(row, RowStatus.NOT_ATTEMPTED, error=exc.message, code="preflight")
    return RowOutcome(
        row,
        RowStatus.NOT_ATTEMPTED,
        error=f"not sent: the run was interrupted ({reason}) before any row was sent; run the "
        "same command again to send it",
        code="interrupted",
    )


def retry(
    path: Path | str, mapping: Mapping | Path | None = None, settings: Settings | None = None
) -> RunSummary:
    """Re-send the rows of a results file that failed or were not attempted.

    ``path`` is a results file (rows with status failed / not_attempted are re-sent, keeping
    their original row numbers) or a failures file (every row, corrected or not, is run again).
    Without ``mapping`` the mapping of the run that wrote ``path`` is taken from the ledger.
    The retried rows are read straight from the results file (no copy is written); their
    results go to ``<base>.retry.results.csv`` (``<base>``: the name without syncer's
    ``.results`` / ``.failures`` / ``.retry`` suffixes; ``.retry2``... when that is ``path``
    itself) unless ``settings.results`` says otherwise. A results file with no such row sends
    nothing and returns a summary of 0 rows whose ``nothing_to_retry`` says so.
    """
    settings = settings or Settings()
    path = Path(path)
    settings = replace(
        settings,
        results=settings.results or default_paths(path, retry=True)[0],
        parent_run=settings.parent_run or _run_id_of(path, settings),
    )
    try:
        columns, frame, table = results_table(path)
    except SourceError:  # a failures file is plain input
        return sync(path, _mapping(path, mapping, settings), settings)
    again = failed_enrollments(frame)  # then: enroll's failures: enrolled again
    settings = replace(settings, enroll_again=frozenset(again))
    todo = frame.filter(
        pl.col("status").is_in([RowStatus.FAILED.value, RowStatus.NOT_ATTEMPTED.value])
        | pl.col("source_row").is_in(again)
    )
    if todo.height == 0:
        message = (
            f"nothing to retry: {path} has no failed or not_attempted rows. Invalid rows must "
            "be fixed first: edit the failures file and run it with syncer run."
        )
        return RunSummary(rows=0, counts=dict.fromkeys(RUN_STATUSES, 0), nothing_to_retry=message)
    # keeps each row's number in the original, and the file's format, encoding and types
    rows = replace(table, frame=todo.select("source_row", *columns), columns=columns, blank_rows=0)
    return sync(rows, _mapping(path, mapping, settings), settings)


def _mapping(path: Path, mapping: Mapping | Path | None, settings: Settings) -> Mapping | Path:
    return mapping if mapping is not None else _mapping_of_run(path, settings)


def _run_id_of(path: Path, settings: Settings) -> int | None:
    """The ledger's newest run that wrote ``path`` (a retry's parent), or None."""
    if settings.ledger is None or not settings.ledger.exists():
        return None
    with Ledger(settings.ledger) as ledger:
        run = _run_for(ledger, path)
    return run.id if run is not None else None


def _run_for(ledger: Ledger, path: Path) -> RunRecord | None:
    """The newest run that wrote ``path``; for a workbook, the run that wrote the CSV file
    beside it (the ledger names the CSV file when a run writes both)."""
    run = ledger.run_for_results(path)
    if run is None and path.suffix.lower() == ".xlsx":
        run = ledger.run_for_results(path.with_suffix(".csv"))
    return run


def _mapping_of_run(path: Path, settings: Settings) -> Path:
    if settings.ledger is not None and settings.ledger.exists():
        with Ledger(settings.ledger) as ledger:
            run = _run_for(ledger, path)
        if run is not None and run.mapping:
            return Path(run.mapping)
    raise ConfigError(
        f"no run in the ledger wrote {path}, so its mapping is unknown: pass --mapping FILE."
    )
