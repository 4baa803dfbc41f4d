"""Where an inbox's files come from and where they go: a local folder or a remote store.

:class:`LocalInbox` and :class:`RemoteInbox` give :func:`syncer.runner.inbox.run_inbox` the
same things: the ready files as :class:`Drop` objects (oldest first), a local folder for the
results, notes and reports, and, per file, a local path to read with its sha256 and the moves
into the archive. A remote file is downloaded once (its sha256 computed on the way) to a
temporary file that is removed once the file is done; its results, failures and notes are
written locally, then uploaded next to the archived file.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from syncer import events
from syncer.errors import ConfigError, SourceError
from syncer.inbox import archive, remote
from syncer.inbox.scan import Candidate, Readiness, scan
from syncer.ledger import file_sha256

if TYPE_CHECKING:
    from syncer.storage.location import Location


class Drop(Protocol):
    """One ready file of an inbox."""

    @property
    def name(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def url(self) -> str | None:
        """A remote file's URL (what the ledger and the report call it), None for a local one."""
        ...

    def open(self) -> tuple[Path, str]:
        """The local file to import and its sha256 (a remote file: downloaded once)."""
        ...

    def close(self) -> None:
        """Remove the temporary copy, if any."""
        ...

    def file_away(self, bucket: str, run_id: int | None, day: date) -> str:
        """Move the file (and its ready marker) to ``ARCHIVE/<bucket>/<day>/<run>-<name>``."""
        ...

    def finish_move(self, run_id: int | None, sha: str, since: date, day: date) -> str:
        """File away a file that run ``run_id`` imported but did not finish moving: when the
        archive already holds it (same name, same content) only the inbox's copy goes."""
        ...

    def attach(self, archived: str, files: Sequence[Path]) -> None:
        """Put the local ``files`` (results, failures) beside the archived file."""
        ...

    def note(self, archived: str, text: str, day: date) -> None:
        """Write ``<archived>.error.txt`` (a failed file's one-line error and what to do)."""
        ...


class Inbox(Protocol):
    """A drop folder, local or remote."""

    @property
    def label(self) -> str:
        """How reports, alerts and the registry name it (a path or a URL without secrets)."""
        ...

    @property
    def lock_key(self) -> Path | str:
        """What its OS lock is keyed on."""
        ...

    @property
    def outputs(self) -> Path:
        """The local folder of results, failures, notes and reports (``processed/``,
        ``failed/``, ``reports/`` by day)."""
        ...

    def scan(
        self, patterns: Sequence[str], readiness: Readiness
    ) -> tuple[list[Drop], list[tuple[str, str]]]:
        """The ready files, oldest first, and the names not ready yet with why."""
        ...

    @property
    def secrets(self) -> list[str]:
        """Values no message may show: the store's secret options and AWS secrets."""
        ...

    def publish(self, local: Path, bucket: str, day: date) -> str | None:
        """Put a local report into ``ARCHIVE/<bucket>/<day>/`` too (remote); where it went."""
        ...

    def close(self) -> None:
        """Remove what the run downloaded."""
        ...


# ---------------------------------------------------------------------------------- local


@dataclass
class LocalDrop:
    """A ready file of a local inbox."""

    cand: Candidate
    archive_dir: Path

    @property
    def name(self) -> str:
        return self.cand.path.name

    @property
    def size(self) -> int:
        return self.cand.size

    @property
    def url(self) -> str | None:
        return None

    def open(self) -> tuple[Path, str]:
        return self.cand.path, file_sha256(self.cand.path)

    def close(self) -> None:
        return None

    def file_away(self, bucket: str, run_id: int | None, day: date) -> str:
        folder = archive.day_folder(self.archive_dir, bucket, day)
        moved = archive.move_file(self.cand.path, folder / self._name(run_id))
        return self._moved(folder, moved, bucket, run_id)

    def finish_move(self, run_id: int | None, sha: str, since: date, day: date) -> str:
        name = self._name(run_id)
        folder = self.archive_dir / "processed"
        days = sorted(folder.iterdir()) if folder.is_dir() else []
        placed = [d / name for d in days if (d / name).is_file() and file_sha256(d / name) == sha]
        if not placed:
            return self.file_away("processed", run_id, day)
        try:
            self.cand.path.unlink()
        except OSError as exc:
            raise SourceError(
                f"could not remove {self.cand.path} ({exc.strerror or exc}); it is already "
                f"archived as {placed[0]}.",
                path=str(self.cand.path),
                code="archive",
                hint=archive.ARCHIVE_HINT,
            ) from exc
        return self._moved(placed[0].parent, placed[0], "processed", run_id)

    def _name(self, run_id: int | None) -> str:
        return f"{run_id}-{self.cand.path.name}"

    def _moved(self, day: Path, moved: Path, bucket: str, run_id: int | None) -> str:
        marker = self.cand.marker
        if marker is not None and marker.exists():
            archive.move_file(marker, day / f"{run_id}-{marker.name}")
        events.emit(events.FileMoved(str(self.cand.path), str(moved), bucket))
        return str(moved)

    def attach(self, archived: str, files: Sequence[Path]) -> None:
        return None  # written into the archive's folder already

    def note(self, archived: str, text: str, day: date) -> None:
        archive.write_note(Path(f"{archived}.error.txt"), text)


@dataclass
class LocalInbox:
    """A folder on this machine; results go into its archive (default ``DIR/archive``)."""

    folder: Path
    archive_dir: Path

    @property
    def label(self) -> str:
        return str(self.folder.resolve())

    @property
    def lock_key(self) -> Path:
        return self.folder

    @property
    def outputs(self) -> Path:
        return self.archive_dir

    def scan(
        self, patterns: Sequence[str], readiness: Readiness
    ) -> tuple[list[Drop], list[tuple[str, str]]]:
        if not self.folder.is_dir():
            raise ConfigError(f"the inbox {self.folder} is not a folder: check the path.")
        found = scan(self.folder, patterns, readiness, skip=[self.archive_dir])
        ready: list[Drop] = [LocalDrop(c, self.archive_dir) for c in found.ready]
        return ready, [(c.path.name, why) for c, why in found.not_ready]

    @property
    def secrets(self) -> list[str]:
        return []

    def publish(self, local: Path, bucket: str, day: date) -> str | None:
        return None

    def close(self) -> None:
        return None


# ---------------------------------------------------------------------------------- remote


@dataclass
class RemoteDrop:
    """A ready file of a remote inbox; downloaded into ``work`` when opened."""

    file: remote.RemoteFile
    inbox: RemoteInbox
    local: Path | None = None
    archived_path: str | None = None

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def size(self) -> int:
        return self.file.size

    @property
    def url(self) -> str | None:
        return self.inbox.location.url_of(self.file.path)

    def open(self) -> tuple[Path, str]:
        folder = Path(tempfile.mkdtemp(prefix="file-", dir=self.inbox.work))
        self.local = folder / self.file.name
        sha = self.inbox.store.fetch(self.file.path, self.local)
        return self.local, sha

    def close(self) -> None:
        if self.local is not None:
            with contextlib.suppress(OSError):
                self.local.unlink()
                self.local.parent.rmdir()
            self.local = None

    def file_away(self, bucket: str, run_id: int | None, day: date) -> str:
        dest, _marker = remote.file_away(
            self.inbox.store, self.file, self.inbox.archive, bucket, day, f"{run_id}-{self.name}"
        )
        return self._moved(dest, bucket)

    def finish_move(self, run_id: int | None, sha: str, since: date, day: date) -> str:
        inbox = self.inbox
        name = f"{run_id}-{self.name}"
        found = remote.find_archived(inbox.store, inbox.archive, "processed", name, sha, since, day)
        if found is None:
            return self.file_away("processed", run_id, day)
        inbox.store.remove(self.file.path)
        if self.file.marker is not None:
            marker = f"{found}{self.file.marker[len(self.file.path) :]}"
            inbox.store.move(self.file.marker, marker)
        return self._moved(found, "processed")

    def _moved(self, dest: str, bucket: str) -> str:
        self.archived_path = dest
        url = self.inbox.location.url_of(dest)
        events.emit(events.FileMoved(self.inbox.location.url_of(self.file.path), url, bucket))
        return url

    def attach(self, archived: str, files: Sequence[Path]) -> None:
        if self.archived_path is not None:
            remote.attach(self.inbox.store, self.archived_path, files)

    def note(self, archived: str, text: str, day: date) -> None:
        local = archive.day_folder(self.inbox.outputs, "failed", day)
        written = archive.write_note(local / f"{archived.rpartition('/')[2]}.error.txt", text)
        self.attach(archived, [written])


class RemoteInbox:
    """A folder on S3 or SFTP (``location``); its archive on the same store (default
    ``<inbox>/archive/``); results, notes and reports written locally to ``outputs`` first."""

    def __init__(
        self,
        location: Location,
        store: remote.Store,
        *,
        archive_location: Location | None,
        outputs: Path,
    ) -> None:
        self.location = location
        self.store = store
        self.archive = (archive_location or location.child("archive")).path.rstrip("/")
        self._outputs = outputs
        self._work = tempfile.TemporaryDirectory(prefix="syncer-inbox-")
        self.work = Path(self._work.name)

    @property
    def label(self) -> str:
        return self.location.url

    @property
    def lock_key(self) -> str:
        return self.location.url

    @property
    def outputs(self) -> Path:
        return self._outputs

    def scan(
        self, patterns: Sequence[str], readiness: Readiness
    ) -> tuple[list[Drop], list[tuple[str, str]]]:
        found = remote.scan_store(self.store, self.location.path, patterns, readiness)
        ready: list[Drop] = [RemoteDrop(f, self) for f in found.ready]
        return ready, [(f.name, why) for f, why in found.not_ready]

    @property
    def secrets(self) -> list[str]:
        from syncer.storage import secret_values

        return secret_values(self.location.options)

    def publish(self, local: Path, bucket: str, day: date) -> str | None:
        dest = f"{remote.day_path(self.archive, bucket, day)}/{local.name}"
        self.store.makedirs(dest.rpartition("/")[0])
        self.store.put(local, dest)
        return self.location.url_of(dest)

    def close(self) -> None:
        self._work.cleanup()


def open_inbox(
    text: Path | str,
    *,
    archive_dir: Path | str | None,
    results: Path | None,
    ledger: Path,
    storage_options: Path | None = None,
    insecure_host_key: bool = False,
) -> Inbox:
    """The inbox ``text`` names: a local folder, ``s3://bucket/prefix/`` or
    ``sftp://user@host[:port]/path``. ConfigError for a bad URL, a missing extra, an archive on
    another store, or ``results`` given for a local inbox (its results go into its archive)."""
    from syncer.storage.location import is_url

    if not is_url(text):
        if results is not None:
            raise ConfigError(
                "--results is for a remote inbox (s3://, sftp://): a local inbox writes its "
                "results beside each archived file; leave --results out or use --archive DIR."
            )
        folder = Path(text)
        return LocalInbox(folder, Path(archive_dir) if archive_dir else folder / "archive")
    from syncer.storage import RemoteStore
    from syncer.storage.location import parse_location

    def where(url: Path | str) -> Location:
        return parse_location(
            url,
            storage_options=storage_options,
            sftp_insecure_accept_host_key=insecure_host_key,
        )

    location = where(text)
    archive_location = None
    if archive_dir is not None:
        archive_location = where(archive_dir)
        same = (archive_location.scheme, archive_location.host, archive_location.port)
        if same != (location.scheme, location.host, location.port):
            raise ConfigError(
                f"--archive {archive_location.url}: a remote inbox's archive must be on the same "
                f"store as the inbox ({location.url}): give a folder there, e.g. "
                f"{location.child('archive').url}/, or leave --archive out."
            )
    store: remote.Store = RemoteStore(location)
    outputs = results if results is not None else default_outputs(ledger, location)
    return RemoteInbox(location, store, archive_location=archive_location, outputs=outputs)


def default_outputs(ledger: Path, location: Location) -> Path:
    """``<ledger folder>/inbox-results/<store>-<digest>/``: a remote inbox's local results."""
    digest = hashlib.sha256(location.url.encode()).hexdigest()[:8]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", location.host or location.scheme).strip("_")
    return ledger.parent / "inbox-results" / f"{location.scheme}-{slug}-{digest}"
