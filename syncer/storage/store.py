"""One remote store (an S3 bucket, an SFTP server, or a local folder) through fsspec.

:class:`RemoteStore` lists, downloads (sha256 computed while streaming), uploads, moves and
removes; every call retries network faults with full-jitter exponential backoff a bounded
number of times (a new tenacity ``Retrying`` per call), then raises
:class:`~syncer.errors.StorageUnreachable`; other faults become a SyncerError at once
(:mod:`syncer.storage.faults`). :func:`fetched` is what ``run`` / ``validate`` / ``init`` use:
a remote file as a local temporary copy for the length of a ``with`` block.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from syncer.errors import SourceError, SyncerError
from syncer.storage.faults import is_network_fault, translate
from syncer.storage.location import Location, parse_location, sftp_user

T = TypeVar("T")

#: tries per call (the first included) before StorageUnreachable
ATTEMPTS = 4
#: full-jitter exponential backoff between tries: up to BACKOFF_S * 2**n, at most BACKOFF_MAX_S
BACKOFF_S = 0.5
BACKOFF_MAX_S = 8.0
#: seconds overriding BACKOFF_S when set (the test suite makes the pauses short; the tries
#: and their number stay the same)
BACKOFF_ENV = "SYNCER_STORAGE_BACKOFF_S"
#: bytes per read while downloading (SFTP, local) and hashing
CHUNK = 8 * 1024 * 1024
#: bytes per read of an S3 object's body (one GET, streamed)
STREAM_CHUNK = 1024 * 1024
#: seconds to wait for a connection (SFTP handshake, S3 TCP connect)
CONNECT_TIMEOUT_S = 15.0
#: seconds between SSH keepalives on an SFTP connection (4 unanswered: the connection is lost)
KEEPALIVE_S = 15.0


def default_backoff_s() -> float:
    """$SYNCER_STORAGE_BACKOFF_S when it is a number >= 0, else :data:`BACKOFF_S`."""
    try:
        value = float(os.environ.get(BACKOFF_ENV, ""))
    except ValueError:
        return BACKOFF_S
    return value if 0 <= value <= BACKOFF_MAX_S else BACKOFF_S


@dataclass(frozen=True)
class RemoteEntry:
    """One child of a listed folder. ``mtime``: epoch seconds (0.0 when the store has none);
    ``etag``: S3's ETag (None elsewhere)."""

    name: str
    path: str
    size: int
    mtime: float
    etag: str | None
    is_dir: bool


class RemoteStore:
    """The store behind ``location`` (paths are the backend's: ``bucket/key`` on S3, absolute
    on SFTP, local paths for a folder on this machine). The connection is made on first use."""

    def __init__(
        self,
        location: Location,
        *,
        attempts: int = ATTEMPTS,
        backoff_s: float | None = None,
        fs: Any = None,
    ) -> None:
        self.location = location
        self.attempts = max(1, attempts)
        self.backoff_s = default_backoff_s() if backoff_s is None else backoff_s
        self._fs = fs

    def __enter__(self) -> RemoteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Forget the connection (the backend closes it when it is collected)."""
        self._fs = None

    def url_of(self, path: str) -> str:
        """The display URL of backend ``path`` (never a secret)."""
        return self.location.url_of(path)

    # -- the calls ---------------------------------------------------------------------------

    def connect(self) -> None:
        """Load the backend and connect now (SFTP: the SSH handshake) rather than on the first
        call; its faults are retried and translated like any call's."""
        self._call("connect to", self.location.path, lambda: self.fs)

    def list(self, folder: str | None = None) -> list[RemoteEntry]:
        """The direct children of ``folder`` (default: the location's path), sorted by name."""
        where = self.location.path if folder is None else folder

        def once() -> list[RemoteEntry]:
            infos = self.fs.ls(where, detail=True, refresh=True)
            return [self._entry(info) for info in infos]

        entries = self._call("list", where, once)
        base = where.rstrip("/")
        return sorted(
            (e for e in entries if e.path.rstrip("/") != base and e.name),
            key=lambda e: e.name,
        )

    def info(self, path: str) -> RemoteEntry:
        """Size, mtime and ETag of one file or folder."""
        return self._call("look up", path, lambda: self._entry(self.fs.info(path)))

    def fetch(self, path: str, dest: Path) -> str:
        """Download ``path`` to ``dest`` (streamed once; written again from the start on a
        retry) and return its sha256 (hex), computed while streaming."""

        def once() -> str:
            digest = hashlib.sha256()
            with open(dest, "wb") as out:
                if self.location.scheme == "s3" and hasattr(self.fs, "_call_s3"):
                    _s3_stream(self.fs, path, out, digest)
                else:
                    with self.fs.open(path, "rb") as src:
                        while chunk := src.read(CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
            return digest.hexdigest()

        return self._call("download", path, once)

    def put(self, local: Path, dest: str) -> None:
        """Upload ``local`` to ``dest``. On S3 an object appears whole; elsewhere it is written
        under a temporary name beside ``dest`` first, then renamed into place."""
        if self.location.scheme == "s3":
            self._call("upload to", dest, lambda: self.fs.put_file(str(local), dest))
            return
        tmp = posixpath.join(posixpath.dirname(dest), f".{posixpath.basename(dest)}.part")
        self._call("upload to", dest, lambda: self.fs.put_file(str(local), tmp))
        self._call("upload to", dest, lambda: self._replace(tmp, dest))

    def move(self, src: str, dest: str) -> None:
        """Move ``src`` to ``dest``: a rename where the backend has one; on S3 (no rename) a
        server-side copy, then the delete. A retried move whose first try got through (``src``
        gone, ``dest`` there) counts as done."""
        if self.location.scheme == "s3":
            self._call("copy", src, lambda: self._copy_once(src, dest))
            self._call("delete", src, lambda: self._rm_missing_ok(src))
            return
        self._call("move", src, lambda: self._move_once(src, dest))

    def exists(self, path: str) -> bool:
        """True when ``path`` (a file or a folder) exists."""
        return bool(self._call("look up", path, lambda: self.fs.exists(path)))

    def makedirs(self, path: str) -> None:
        """Create folder ``path`` and its parents (nothing to do on S3: prefixes need none)."""
        if self.location.scheme == "s3":
            return
        self._call("create folder", path, lambda: self.fs.makedirs(path, exist_ok=True))

    def remove(self, path: str) -> None:
        """Delete file ``path`` (already gone is fine)."""
        self._call("delete", path, lambda: self._rm_missing_ok(path))

    # -- helpers -----------------------------------------------------------------------------

    @property
    def fs(self) -> Any:
        """The fsspec filesystem (connects on first use, again after a network fault)."""
        if self._fs is None:
            self._fs = make_filesystem(self.location)
        return self._fs

    def _call(self, what: str, path: str, fn: Callable[[], T]) -> T:
        """``fn()`` with the retries; its final fault as a SyncerError."""
        from tenacity import (
            Retrying,
            retry_if_exception,
            stop_after_attempt,
            wait_random_exponential,
        )

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_random_exponential(multiplier=self.backoff_s, max=BACKOFF_MAX_S),
            retry=retry_if_exception(is_network_fault),
            before_sleep=lambda _state: self._after_fault(),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return fn()
        except SyncerError:
            raise
        except Exception as exc:
            tries = retrying.statistics.get("attempt_number", 1)
            err = translate(exc, self.location, self.url_of(path), what, tries)
            if err is exc:  # not a storage fault: a bug, as it is
                raise
            raise err from exc
        raise AssertionError("unreachable")  # pragma: no cover  (tenacity returns or raises)

    def _after_fault(self) -> None:
        """An SFTP connection may be dead after a fault: connect again on the next try."""
        if self.location.scheme == "sftp":
            self._fs = None

    def _entry(self, info: dict[str, Any]) -> RemoteEntry:
        path = str(info.get("name") or info.get("Key") or "")
        is_dir = info.get("type") == "directory"
        etag = info.get("ETag") if self.location.scheme == "s3" else None
        return RemoteEntry(
            name=posixpath.basename(path.rstrip("/")),
            path=path.rstrip("/") if is_dir else path,
            size=int(info.get("size") or info.get("Size") or 0),
            mtime=_epoch(info.get("mtime") or info.get("LastModified")),
            etag=str(etag).strip('"') if etag else None,
            is_dir=is_dir,
        )

    def _copy_once(self, src: str, dest: str) -> None:
        try:
            self.fs.copy(src, dest)
        except FileNotFoundError:
            if not self.fs.exists(dest):  # a retry after a copy that got through is done
                raise

    def _move_once(self, src: str, dest: str) -> None:
        try:
            self.fs.mv(src, dest)
        except FileNotFoundError:
            if not self.fs.exists(src) and self.fs.exists(dest):
                return  # a retry after a move that got through: done
            folder = posixpath.dirname(dest)
            if self.fs.exists(src) and folder and not self.fs.exists(folder):
                raise SourceError(
                    f"cannot move {self.url_of(src)} to {self.url_of(dest)}: the folder "
                    f"{self.url_of(folder)} does not exist (create it first)",
                    path=self.url_of(src),
                ) from None
            raise

    def _replace(self, tmp: str, dest: str) -> None:
        """Rename ``tmp`` over ``dest`` (SFTP's plain rename refuses an existing target)."""
        try:
            self.fs.mv(tmp, dest)
        except (FileExistsError, OSError):
            if not self.fs.exists(dest) or not self.fs.exists(tmp):
                raise
            self.fs.rm_file(dest)
            self.fs.mv(tmp, dest)

    def _rm_missing_ok(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)


def _s3_stream(fs: Any, path: str, out: BinaryIO, digest: Any) -> None:
    """One GET of the whole object, its body streamed into ``out`` and ``digest`` (s3fs's
    ``open`` reads by ranged GETs instead: a request per block, and a store that reads the
    whole object for each range, as some S3-compatible ones do, pays that every time)."""
    from fsspec.asyn import sync

    bucket, key, version = fs.split_path(path)
    extra = {"VersionId": version} if version else {}

    async def stream() -> None:
        response = await fs._call_s3("get_object", Bucket=bucket, Key=key, **extra)
        body = response["Body"]
        try:
            while chunk := await body.read(STREAM_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        finally:
            body.close()

    sync(fs.loop, stream)


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return 0.0


def make_filesystem(location: Location) -> Any:
    """The fsspec filesystem for ``location``: s3fs with the AWS default chain (and
    AWS_ENDPOINT_URL), sshfs with SSH keys / agent and known_hosts, or the local one. The
    ``--storage-options`` go to the backend (and win over these defaults)."""
    options = dict(location.options)
    if location.scheme == "s3":
        import s3fs

        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        kwargs: dict[str, Any] = {
            "use_listings_cache": False,
            "skip_instance_cache": True,
            "config_kwargs": {
                "connect_timeout": CONNECT_TIMEOUT_S,
                "retries": {"total_max_attempts": 1},  # ours retry (faults.is_network_fault)
            },
        }
        if endpoint:
            kwargs["endpoint_url"] = endpoint
        fs = s3fs.S3FileSystem(**{**kwargs, **options})
        fs.retries = 1  # s3fs's own retry loop off: ours (tenacity, bounded) are the ones
        return fs
    if location.scheme == "sftp":
        import sshfs

        kwargs = {
            "port": location.port or 22,
            "username": sftp_user(location),
            # () = asyncssh's default: ~/.ssh/known_hosts (and ssh config); None = no check
            "known_hosts": None if location.insecure_host_key else (),
            "connect_timeout": CONNECT_TIMEOUT_S,
            # a server that stops answering mid-transfer: the connection is dropped (and the
            # call tried again) after KEEPALIVE_S x 4 instead of hanging
            "keepalive_interval": KEEPALIVE_S,
            "keepalive_count_max": 4,
            "skip_instance_cache": True,
        }
        return sshfs.SSHFileSystem(location.host, **{**kwargs, **options})
    from fsspec.implementations.local import LocalFileSystem

    return LocalFileSystem(auto_mkdir=True)


@dataclass(frozen=True)
class LocalCopy:
    """A SOURCE as a local file: the downloaded temporary copy of a remote file, or the local
    file itself. ``url``: what to call it in messages and the ledger."""

    path: Path
    url: str
    remote: bool
    _sha256: str | None = None

    @cached_property
    def sha256(self) -> str:
        """The file's sha256 (hex): computed while downloading, or read now for a local file."""
        if self._sha256 is not None:
            return self._sha256
        digest = hashlib.sha256()
        with self.path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()


@contextlib.contextmanager
def fetched(
    location: Location | str | Path,
    *,
    store: RemoteStore | None = None,
    tmp_dir: Path | None = None,
) -> Iterator[LocalCopy]:
    """``location``'s file as a local file for the ``with`` block: a remote one is streamed
    once into a private temporary folder (under its own name, so its suffix and name read the
    same) with its sha256, and removed afterwards, however the block ends; a local one is
    used where it is."""
    if not isinstance(location, Location):
        location = parse_location(location)
    if not location.is_remote:
        yield LocalCopy(path=Path(location.path), url=location.url, remote=False)
        return
    if location.url.endswith("/") or not location.name:
        raise SourceError(
            f"{location.url} is a folder: give a file's URL (e.g. {location.url.rstrip('/')}"
            "/leads.csv)",
            path=location.url,
        )
    folder = Path(tempfile.mkdtemp(prefix="syncer-fetch-", dir=tmp_dir))
    try:
        dest = folder / location.name
        own = store is None
        store = store or RemoteStore(location)
        try:
            digest = store.fetch(location.path, dest)
        finally:
            if own:
                store.close()
        yield LocalCopy(path=dest, url=location.url, remote=True, _sha256=digest)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
