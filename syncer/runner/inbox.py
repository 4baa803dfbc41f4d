"""``syncer inbox``: import every ready file of a drop folder, once, then file it away.

Per run: take the inbox's OS lock (busy / stuck when another run holds it), scan the folder for
ready files (oldest first), and for each one: route it to a mapping, skip content that already
finished (the file registry, by sha256), import it exactly as ``sync`` does (same ledger, same
org-and-target writer lock, waiting up to ``max_runtime``), record its outcome in the registry,
and only then move it (and its results) to the archive. Then alerts, webhooks and the ping.

The inbox may be a local folder or a folder on S3 / SFTP (:mod:`syncer.runner.inbox_folders`):
a remote file is downloaded once, imported from the copy, and archived on its store. A store
that stops answering (after its retries) ends the run with exit 3 and a ``failure`` alert; a
file is then either still in the inbox or archived, and the registry says which.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from syncer.errors import ConfigError, RunLocked, StorageUnreachable
from syncer.inbox import alerts
from syncer.inbox.report import FileReport, FileStatus, InboxReport, InboxStatus
from syncer.inbox.scan import DEFAULT_PATTERNS, Readiness
from syncer.ledger import Ledger, org_id
from syncer.mapping import Mapping, load_mapping
from syncer.registry import Registry
from syncer.runner.inbox_file import FileJob, StoreDown, midnight
from syncer.runner.inbox_folders import Inbox, open_inbox
from syncer.runner.lock import RunLock, inbox_lock_path
from syncer.runner.reporting import save_inbox_report
from syncer.runner.settings import Settings, api_key_of, base_url_of
from syncer.storage.location import is_url


@dataclass
class InboxOptions:
    """What ``syncer inbox`` does beyond ``syncer run``'s settings (the CLI's flags).

    ``inbox`` is a local folder or a URL: ``s3://bucket/prefix/``,
    ``sftp://user@host[:port]/path``; a remote inbox's ``archive`` (a URL on the same store)
    defaults to ``<inbox>/archive/`` and its results, failures, notes and reports are written to
    ``results`` (default: ``<ledger folder>/inbox-results/<store>-<digest>/``) and uploaded
    beside each archived file.
    """

    inbox: Path | str
    mapping: Path | None = None
    routes: list[tuple[str, Path]] = field(default_factory=list)  # (glob, mapping), in order
    patterns: Sequence[str] = DEFAULT_PATTERNS
    archive: Path | str | None = None  # default: <inbox>/archive
    keep: bool = False
    readiness: Readiness = field(default_factory=Readiness)
    max_runtime_s: float = 6 * 3600.0
    max_reject_rate: float | None = None  # percent
    expect_by: clock_time | None = None
    tz: str | None = None
    notify: list[str] = field(default_factory=list)
    webhooks: list[str] = field(default_factory=list)
    notify_on: frozenset[str] = alerts.DEFAULT_NOTIFY_ON
    ping: str | None = None
    dry_run: bool = False
    results: Path | None = None  # a remote inbox's local results folder
    storage_options: Path | None = None  # a JSON/YAML file of the store's options
    sftp_insecure_accept_host_key: bool = False

    @property
    def archive_dir(self) -> Path:
        """Where a local inbox's done files go."""
        return Path(self.archive) if self.archive is not None else Path(self.inbox) / "archive"


def run_inbox(options: InboxOptions, settings: Settings) -> InboxReport:
    """Process every ready file of ``options.inbox`` once; see the module docstring."""
    if not is_url(options.inbox) and not Path(options.inbox).is_dir():
        raise ConfigError(f"the inbox {options.inbox} is not a folder: check the path.")
    mappings = _load_mappings(options)
    alerts.check_alert_urls(notify=options.notify, webhooks=options.webhooks, ping_url=options.ping)
    if not options.dry_run:
        api_key_of(settings)  # no key is the run's problem, not each file's
    if settings.ledger is None:
        raise ConfigError("syncer inbox needs a ledger (it remembers which files were imported).")
    where = open_inbox(
        options.inbox,
        archive_dir=options.archive,
        results=options.results,
        ledger=settings.ledger,
        storage_options=options.storage_options,
        insecure_host_key=options.sftp_insecure_accept_host_key,
    )
    try:
        return _run(where, options, settings, mappings)
    finally:
        where.close()


def _run(
    where: Inbox, options: InboxOptions, settings: Settings, mappings: dict[Path, Mapping]
) -> InboxReport:
    report = InboxReport(inbox=where.label, dry_run=options.dry_run)
    ping_error = alerts.ping(options.ping, "start") if not options.dry_run else None
    assert settings.ledger is not None
    lock = RunLock(
        inbox_lock_path(settings.ledger, where.lock_key),
        f"the inbox {where.label}",
        command=settings.command,
    )
    try:
        lock.acquire(0)
    except RunLocked as exc:
        _busy_or_stuck(report, exc, options)
        return _finish(report, options, settings, where.secrets, ping_error)
    try:
        with Ledger(settings.ledger) as ledger:
            registry = Registry(ledger)
            run_id = (
                None
                if options.dry_run
                else registry.start_inbox_run(report.inbox, settings.command)
            )
            report.run_id = run_id
            _process(report, where, options, settings, mappings, registry, run_id)
            _check_missing(report, options, registry)
            report.exit_code = _exit_code(report, options)
            _save_report(report, where, options, settings.ledger)
            previous = registry.last_inbox_run(report.inbox, before=run_id)
            previously_failed = previous is not None and "failure" in previous.report.get(
                "events", []
            )
            report.events = alerts.events_for(
                report,
                previously_failed=previously_failed,
                max_reject_rate=options.max_reject_rate,
            )
            if report.status is InboxStatus.MISSING and not registry.meta_flag(
                f"missing:{report.inbox}:{_today(options).isoformat()}"
            ):
                report.events = [e for e in report.events if e != "missing"]  # once a day
            result = _finish(report, options, settings, where.secrets, ping_error)
            if run_id is not None:
                registry.finish_inbox_run(
                    run_id,
                    status=report.status.value,
                    exit_code=report.exit_code,
                    report=_for_history(report),
                )
            return result
    finally:
        lock.release()


def _save_report(report: InboxReport, where: Inbox, options: InboxOptions, ledger: Path) -> None:
    """The run's HTML report, locally, and (remote, without --keep) beside the archive too."""
    day = _today(options).date()
    save_inbox_report(report, where.outputs, day, ledger)
    if report.report is None or options.keep or report.unreachable:
        return
    try:
        where.publish(Path(report.report), "reports", day)
    except StorageUnreachable as exc:
        report.notes.append(f"the report stays at {report.report}: {exc.message}")


# ---------------------------------------------------------------------------------- files


def _process(
    report: InboxReport,
    where: Inbox,
    options: InboxOptions,
    settings: Settings,
    mappings: dict[Path, Mapping],
    registry: Registry,
    run_id: int | None,
) -> None:
    try:
        ready, not_ready = where.scan(options.patterns, options.readiness)
    except StorageUnreachable as exc:
        _unreachable(report, exc)
        return
    for name, why in not_ready:
        report.files.append(FileReport(name, FileStatus.NOT_READY, error=why))
    base_url = base_url_of(settings)
    key = _key_or_empty(settings)
    for drop in ready:
        if report.unreachable:
            report.files.append(
                FileReport(drop.name, FileStatus.NOT_READY, error="not started: store unreachable")
            )
            continue
        if settings.stop is not None and settings.stop.requested:
            report.files.append(
                FileReport(drop.name, FileStatus.NOT_READY, error="not started: interrupted")
            )
            continue
        mapping_path = _route(options, drop.name)
        if mapping_path is None:
            report.files.append(
                FileReport(
                    drop.name,
                    FileStatus.UNROUTED,
                    error="no --route matches its name: left in place",
                )
            )
            continue
        mapping = mappings[mapping_path]
        org = settings.org or org_id(base_url, api_key=key, label=settings.org_label)
        org = registry.ledger.canonical_org(org)
        file = FileJob(drop, mapping, org, where, options, settings, registry, run_id)
        try:
            report.files.append(file.process())
        except StorageUnreachable as exc:  # the download: the file stays for the next run
            error = f"{exc.message} It stays in the inbox for the next run."
            report.files.append(
                FileReport(drop.name, FileStatus.ABORTED, error=error, exit_code=exc.exit_code)
            )
            _unreachable(report, exc)
        except StoreDown as down:
            report.files.append(down.rep)
            report.unreachable = True
        finally:
            drop.close()
        if report.files[-1].status is FileStatus.INTERRUPTED:
            break


def _unreachable(report: InboxReport, exc: StorageUnreachable) -> None:
    report.unreachable = True
    report.message = exc.message


# ---------------------------------------------------------------------------------- pieces


def _load_mappings(options: InboxOptions) -> dict[Path, Mapping]:
    if options.mapping is None and not options.routes:
        raise ConfigError("syncer inbox needs --mapping FILE or at least one --route GLOB=FILE.")
    if options.mapping is not None and options.routes:
        raise ConfigError("give either --mapping or --route, not both.")
    paths = [options.mapping] if options.mapping is not None else [p for _, p in options.routes]
    return {p: load_mapping(p) for p in dict.fromkeys(paths) if p is not None}


def _route(options: InboxOptions, name: str) -> Path | None:
    if options.mapping is not None:
        return options.mapping
    for glob, mapping in options.routes:
        if fnmatch.fnmatch(name.lower(), glob.lower()):
            return mapping
    return None


def _key_or_empty(settings: Settings) -> str:
    try:
        return api_key_of(settings)
    except ConfigError:
        return ""


def _busy_or_stuck(report: InboxReport, exc: RunLocked, options: InboxOptions) -> None:
    since = exc.holder.get("since")
    held = time.time() - float(since) if isinstance(since, int | float) else 0.0
    who = (
        f"pid {exc.holder.get('pid', '?')} on {exc.holder.get('host', '?')}, since "
        f"{exc.holder.get('started_at', '?')}"
    )
    if held > options.max_runtime_s:
        report.status = InboxStatus.STUCK
        report.exit_code = 4
        report.message = (
            f"another inbox run ({who}) has held the lock for {held / 60:.0f} min, longer than "
            "--max-runtime: check that process (it may be hung), stop it, and the next run "
            "goes on"
        )
    else:
        report.status = InboxStatus.BUSY
        report.exit_code = 0
        report.message = f"another inbox run is working on this inbox ({who}): nothing done"


def _today(options: InboxOptions) -> datetime:
    return midnight(options.tz)


def _check_missing(report: InboxReport, options: InboxOptions, registry: Registry) -> None:
    if options.expect_by is None or options.dry_run:
        return
    start = _today(options)
    now = datetime.now(start.tzinfo)
    if now < datetime.combine(start.date(), options.expect_by, tzinfo=start.tzinfo):
        return
    since = start.astimezone(UTC).replace(microsecond=0).isoformat()
    if registry.processed_since(report.inbox, since):
        return
    report.status = InboxStatus.MISSING
    report.message = (
        f"no new file was processed in {report.inbox} today by {options.expect_by:%H:%M}"
        f"{' ' + options.tz if options.tz else ''}: check the sender's upload"
    )


def _exit_code(report: InboxReport, options: InboxOptions) -> int:
    """The worst file's code (a file over --max-reject-rate counts as failed: 2); the signal's
    code when interrupted; 5 when the expected drop is missing."""
    interrupted = [f.exit_code for f in report.files if f.status is FileStatus.INTERRUPTED]
    if interrupted:
        return interrupted[0]
    codes = [f.exit_code for f in report.files] + [3 if report.unreachable else 0]
    codes += [2 for _ in alerts.over_reject_rate(report, options.max_reject_rate)]
    worst = max(codes, default=0)
    if report.status is InboxStatus.MISSING:
        return max(worst, 5)
    return worst


def _for_history(report: InboxReport) -> dict[str, Any]:
    """The report kept in the ledger: files not ready are counted, not listed (a folder of
    10,000 uploads in progress must not add megabytes per run)."""
    data = report.as_json()
    data["files"] = [f for f in data["files"] if f["status"] != FileStatus.NOT_READY.value]
    return data


def _finish(
    report: InboxReport,
    options: InboxOptions,
    settings: Settings,
    store_secrets: Sequence[str],
    ping_error: str | None,
) -> InboxReport:
    if report.status in (InboxStatus.STUCK,) and "stuck" not in report.events:
        report.events.append("stuck")
    if ping_error:
        report.notify_errors.append(ping_error)
    if options.dry_run:
        return report
    secrets = [k for k in (_key_or_empty(settings), *store_secrets) if k]
    report.notify_errors.extend(
        alerts.deliver(
            report,
            report.events,
            notify=options.notify,
            webhooks=options.webhooks,
            notify_on=options.notify_on,
            secrets=secrets,
            max_reject_rate=options.max_reject_rate,
        )
    )
    end = alerts.ping(options.ping, str(report.exit_code))
    if end:
        report.notify_errors.append(end)
    return report


__all__ = ["InboxOptions", "run_inbox"]
