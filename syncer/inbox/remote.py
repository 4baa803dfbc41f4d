"""A drop folder on a remote store (S3, SFTP): which files are ready, and filing them away there.

- :func:`scan_store` lists the folder once and sorts it with the same rules as a local inbox
  (:func:`syncer.inbox.scan.sort_out`): the listing's size and mtime (and the ETag on S3) must
  hold still across two listings ``--settle`` apart; the second listing is made only when some
  file passed the other tests.
- :func:`file_away` moves a file to ``ARCHIVE/<bucket>/YYYY-MM-DD/<run>-<name>`` under a free
  name (``-2``, ``-3`` ...): a rename where the store has one (SFTP), a copy then a delete on S3.
  A run killed between the two leaves the file in both places; the next run finds the copy
  (:func:`find_archived`: same name, same sha256) and only deletes the inbox's one.
- :func:`attach` uploads local files (results, failures, notes) into the archived file's folder.

The store's own retries and errors (:class:`~syncer.errors.StorageUnreachable`) pass through.
No ledger, no network of its own: the caller's store object does the talking.
"""

from __future__ import annotations

import posixpath
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Protocol

from syncer.inbox.archive import candidate_names
from syncer.inbox.scan import Readiness, Seen, sort_out


class Entry(Protocol):
    """One name of a remote listing (``syncer.storage.RemoteEntry``)."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def mtime(self) -> float | None: ...
    @property
    def etag(self) -> str | None: ...
    @property
    def is_dir(self) -> bool: ...


class Store(Protocol):
    """What the remote inbox asks of a store (``syncer.storage.RemoteStore``)."""

    def list(self, folder: str) -> Sequence[Entry]: ...
    def fetch(self, path: str, dest: Path) -> str: ...
    def move(self, src: str, dest: str) -> None: ...
    def put(self, local: Path, dest: str) -> None: ...
    def exists(self, path: str) -> bool: ...
    def makedirs(self, path: str) -> None: ...
    def remove(self, path: str) -> None: ...


@dataclass(frozen=True)
class RemoteFile:
    """A file of the remote inbox as the (last) listing saw it."""

    name: str
    path: str  # the store's path (``bucket/prefix/name``, ``/home/u/drop/name``)
    size: int
    mtime: float
    marker: str | None = None  # the store's path of its ready marker, when one is required


@dataclass
class RemoteScan:
    """What one look at the remote inbox found, oldest mtime first, then by name."""

    ready: list[RemoteFile]
    not_ready: list[tuple[RemoteFile, str]]
    ignored: list[tuple[str, str]] = field(default_factory=list)


def _seen(entry: Entry) -> Seen:
    # a store that gives no time (0, rare) cannot hold a file back by --min-age: --settle
    # still compares the size (and the ETag) across two listings
    mtime = float(entry.mtime or 0.0)
    kind = "a folder" if entry.is_dir else None
    return Seen(
        entry.name, int(entry.size), mtime, int(mtime * 1e9), (entry.size, mtime, entry.etag), kind
    )


def scan_store(
    store: Store,
    folder: str,
    patterns: Sequence[str],
    readiness: Readiness,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> RemoteScan:
    """The ready and not-ready files at the top of the store's ``folder`` (sub-folders, the
    archive included, are never taken)."""
    listed = {e.name: e for e in store.list(folder)}
    now = clock()

    def look(name: str) -> Seen:
        return _seen(listed[name])

    def look_again(_settling: Sequence[Seen]) -> dict[str, Seen | str]:
        again = {e.name: e for e in store.list(folder)}
        listed.update(again)
        return {name: _seen(e) for name, e in again.items()}

    found = sort_out(
        ((e.name, not e.is_dir) for e in listed.values()),
        patterns,
        readiness,
        look=look,
        look_again=look_again,
        now=now,
        sleep=sleep,
    )

    def file(seen: Seen, marker: str | None) -> RemoteFile:
        path = listed[seen.name].path
        marker_path = posixpath.join(posixpath.dirname(path), marker) if marker else None
        return RemoteFile(seen.name, path, seen.size, seen.mtime, marker_path)

    return RemoteScan(
        ready=[file(seen, marker) for seen, marker in found.ready],
        not_ready=[(file(seen, marker), why) for seen, marker, why in found.not_ready],
        ignored=found.ignored,
    )


def day_path(archive: str, bucket: str, day: date) -> str:
    """``archive/<bucket>/YYYY-MM-DD`` on the store."""
    return f"{archive.rstrip('/')}/{bucket}/{day.isoformat()}"


def free_path(store: Store, folder: str, name: str) -> str:
    """``folder/name`` if the store has no such file, else the first free ``stem-2.ext`` ...
    (one inbox run at a time holds the inbox's lock, so no other syncer takes it meanwhile)."""
    for candidate in candidate_names(name):
        path = f"{folder}/{candidate}"
        if not store.exists(path):
            return path
    raise AssertionError("unreachable: candidate_names never ends")  # pragma: no cover


def file_away(
    store: Store, file: RemoteFile, archive: str, bucket: str, day: date, name: str
) -> tuple[str, str | None]:
    """Move ``file`` (then its ready marker) to ``archive/<bucket>/<day>/`` under a free name
    from ``name`` (the marker as ``name`` + its suffix); the new paths of both."""
    folder = day_path(archive, bucket, day)
    store.makedirs(folder)
    dest = free_path(store, folder, name)
    store.move(file.path, dest)
    marker = None
    if file.marker is not None:
        marker = f"{dest}{file.marker[len(file.path) :]}"
        store.move(file.marker, marker)
    return dest, marker


def find_archived(
    store: Store,
    archive: str,
    bucket: str,
    name: str,
    sha256: str,
    since: date,
    today: date,
) -> str | None:
    """The archived copy ``archive/<bucket>/<day>/<name>`` holding content ``sha256``, for a
    day from ``since`` (less one: time zones) to ``today``: what a run killed between the copy
    and the delete left. None when there is none."""
    day = since - timedelta(days=1)
    while day <= today:
        path = f"{day_path(archive, bucket, day)}/{name}"
        if store.exists(path) and _sha256_of(store, path) == sha256:
            return path
        day += timedelta(days=1)
    return None


def _sha256_of(store: Store, path: str) -> str:
    with tempfile.TemporaryDirectory(prefix="syncer-inbox-") as tmp:
        return store.fetch(path, Path(tmp) / "copy")


def attach(store: Store, archived: str, files: Sequence[Path]) -> list[str]:
    """Upload ``files`` into the folder of the archived file ``archived``, under their names;
    the store's paths."""
    folder = posixpath.dirname(archived)
    placed = []
    for local in files:
        dest = f"{folder}/{local.name}"
        store.put(local, dest)
        placed.append(dest)
    return placed
