"""One ready file of an inbox on its way: read (a remote one downloaded once), looked up in the
file registry by sha256, imported exactly as ``sync`` does, recorded, then filed away with its
outputs (not with ``--keep``). Used by :mod:`syncer.runner.inbox`."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from syncer.errors import RunAborted, RunLocked, SourceError, StorageUnreachable, SyncerError
from syncer.inbox import archive
from syncer.inbox.report import ROW_KEYS, FileReport, FileStatus
from syncer.mapping import Mapping
from syncer.models import RunSummary
from syncer.registry import FINISHED, Registry
from syncer.runner.inbox_folders import Drop, Inbox
from syncer.runner.prepared import validate
from syncer.runner.settings import Settings
from syncer.runner.syncing import sync

if TYPE_CHECKING:
    from syncer.runner.inbox import InboxOptions


def midnight(tz: str | None) -> datetime:
    """Today's start in ``tz`` (the machine's zone when None): the archive's day."""
    zone = ZoneInfo(tz) if tz else None
    return datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)


class StoreDown(Exception):
    """The store stopped answering while a file was filed away (its report says how far)."""

    def __init__(self, rep: FileReport) -> None:
        super().__init__(rep.name)
        self.rep = rep


@dataclass
class FileJob:
    """One ready file on its way: import, record, file away."""

    drop: Drop
    mapping: Mapping
    org: str
    where: Inbox
    options: InboxOptions
    settings: Settings
    registry: Registry
    run_id: int | None

    def process(self) -> FileReport:
        drop, options, registry = self.drop, self.options, self.registry
        try:
            path, sha = drop.open()
        except SourceError as exc:  # gone since the listing, or not readable by us
            error = f"{exc.message} It was left where it is."
            return FileReport(drop.name, FileStatus.FAILED, error=error, exit_code=exc.exit_code)
        target = self.mapping.target
        known = registry.file(self.org, target, sha)
        if (
            known is not None
            and known.status in FINISHED
            and known.archive_path is None
            and not options.keep
            and not options.dry_run
        ):
            # imported, but the run stopped (killed) before moving it: finish that move now
            rep = FileReport(
                drop.name,
                FileStatus(known.status),
                sha256=sha,
                run_id=known.run_id,
                error=f"imported by inbox run {known.inbox_run}, which stopped before archiving "
                "it: archived now",
            )
            since = datetime.fromisoformat(known.updated_at).date()
            self._archive(rep, lambda: drop.finish_move(known.inbox_run, sha, since, self._day))
            if rep.archived is not None:
                registry.set_archived(self.org, target, sha, rep.archived)
            return rep
        if known is not None and known.status in FINISHED:
            rep = FileReport(
                drop.name,
                FileStatus.SKIPPED_DUPLICATE,
                sha256=sha,
                run_id=known.run_id,
                error=f"this content was already imported (file {known.name}, inbox run "
                f"{known.inbox_run}): nothing sent",
            )
            if not options.dry_run:
                self._archive(rep, lambda: drop.file_away("duplicates", self.run_id, self._day))
            return rep
        if options.dry_run:
            return _dry_run_file(path, drop, self.mapping, sha)
        return self._import(path, sha)

    @property
    def _day(self) -> date:
        return midnight(self.options.tz).date()

    def _import(self, path: Path, sha: str) -> FileReport:
        drop, registry, target = self.drop, self.registry, self.mapping.target
        day = archive.day_folder(self.where.outputs, "processed", self._day)
        results = day / f"{self.run_id}-{Path(drop.name).stem}.results.csv"
        file_settings = replace(
            self.settings,
            results=results,
            wait_s=self.options.max_runtime_s,
            source_url=drop.url,
            source_sha256=sha,
        )

        def record(status: str, **outcome: Any) -> None:
            registry.record_file(
                org=self.org,
                target=target,
                sha256=sha,
                name=drop.name,
                size=drop.size,
                inbox=self.where.label,
                inbox_run=self.run_id,
                status=status,
                **outcome,
            )

        try:
            summary = sync(path, self.mapping, file_settings)
        except RunLocked as exc:  # another run kept this org busy past --max-runtime
            return FileReport(
                drop.name, FileStatus.NOT_READY, sha256=sha, error=exc.message, exit_code=4
            )
        except RunAborted as exc:
            record("aborted", error=exc.message)
            error = f"{exc.message} Then the next inbox run resumes this file."
            return FileReport(drop.name, FileStatus.ABORTED, sha256=sha, error=error, exit_code=3)
        except SyncerError as exc:
            message = _named(exc.message, path, drop.url)
            record("failed", error=message)
            rep = FileReport(
                drop.name,
                FileStatus.FAILED,
                sha256=sha,
                error=message,
                exit_code=exc.exit_code,
            )
            note = f"{drop.name}: {message}\n\nWhat to do: {exc.hint}\n"
            self._archive(
                rep,
                lambda: drop.file_away("failed", self.run_id, self._day),
                lambda archived: drop.note(archived, note, self._day),
            )
            if rep.archived is not None:
                registry.set_archived(self.org, target, sha, rep.archived)
            return rep
        rep = _from_summary(drop.name, sha, summary)
        record(
            rep.status.value,
            run_id=summary.run_id,
            counts=rep.counts,
            results=rep.results,
            failures=rep.failures,
            error=rep.error,
        )
        if rep.status in (FileStatus.DONE, FileStatus.PARTIAL):
            outputs = [
                p
                for p in (
                    summary.results_path,
                    summary.failures_path,
                    summary.results_xlsx,
                    summary.failures_xlsx,
                    summary.report_path,
                )
                if p is not None and p.is_file()
            ]
            self._archive(
                rep,
                lambda: drop.file_away("processed", self.run_id, self._day),
                lambda archived: drop.attach(archived, outputs),
            )
            if rep.archived is not None:
                registry.set_archived(self.org, target, sha, rep.archived)
        return rep

    def _archive(
        self,
        rep: FileReport,
        move: Callable[[], str],
        then: Callable[[str], None] | None = None,
    ) -> None:
        """File the file away (not with --keep) and put its outputs beside it; a store that
        stops answering ends the run (:class:`StoreDown`) with the file where it was or
        archived, and the registry saying which."""
        if self.options.keep:
            return
        try:
            rep.archived = move()
        except StorageUnreachable as exc:
            rep.error = (
                f"{'imported, but ' if rep.status in (FileStatus.DONE, FileStatus.PARTIAL) else ''}"
                f"not archived: {exc.message} The next run files it away."
            )
            rep.exit_code = max(rep.exit_code, exc.exit_code)
            raise StoreDown(rep) from exc
        if then is None:
            return
        try:
            then(rep.archived)
        except StorageUnreachable as exc:
            if rep.archived is not None:
                self.registry.set_archived(
                    self.org, self.mapping.target, rep.sha256 or "", rep.archived
                )
            rep.error = f"archived, but its results stay local only: {exc.message}"
            rep.exit_code = max(rep.exit_code, exc.exit_code)
            raise StoreDown(rep) from exc


def _from_summary(name: str, sha: str, summary: RunSummary) -> FileReport:
    counts = {k: summary.counts.get(k, 0) for k in ROW_KEYS if k != "rows"}
    counts["rows"] = summary.rows
    if summary.interrupted:
        status = FileStatus.INTERRUPTED
    elif summary.aborted:
        status = FileStatus.ABORTED
    elif summary.exit_code == 1:
        status = FileStatus.PARTIAL
    else:
        status = FileStatus.DONE
    return FileReport(
        name,
        status,
        sha256=sha,
        counts=counts,
        requests=summary.requests,
        results=str(summary.results_path) if summary.results_path else None,
        failures=str(summary.failures_path) if summary.failures_path else None,
        error=summary.aborted,
        exit_code=summary.exit_code,
        run_id=summary.run_id,
    )


def _dry_run_file(path: Path, drop: Drop, mapping: Mapping, sha: str) -> FileReport:
    """--dry-run: validate into a temporary folder; nothing is sent, moved or written here."""
    with tempfile.TemporaryDirectory(prefix="syncer-inbox-") as tmp:
        try:
            summary = validate(path, mapping, results=Path(tmp) / "dry.results.csv")
        except SyncerError as exc:
            error = _named(exc.message, path, drop.url)
            return FileReport(drop.name, FileStatus.FAILED, sha256=sha, error=error, exit_code=2)
    counts = {k: summary.counts.get(k, 0) for k in ROW_KEYS if k != "rows"}
    counts["rows"] = summary.rows
    return FileReport(drop.name, FileStatus.READY, sha256=sha, counts=counts)


def _named(message: str, path: Path, url: str | None) -> str:
    """``message`` naming a remote file by its URL, not by its temporary copy ``path``."""
    return message.replace(str(path), url) if url else message
