"""One writer per org and target: an OS file lock next to the ledger.

The lock is ``fcntl.flock`` (``msvcrt.locking`` on Windows) on a file in ``<ledger>.locks/``,
one file per (org, target). The kernel drops it when the process ends, however it ends
(``kill -9`` included), so a crash never leaves a stale lock. The holder writes its pid, start
time and command into the file so a second run can say who holds it.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import IO, Any

from syncer.errors import ConfigError, RunLocked
from syncer.ledger import now_iso

_POLL_S = 0.2


def lock_path(ledger: Path, org: str, target: str) -> Path:
    """The lock file of (org, target) for ``ledger``."""
    digest = hashlib.sha256(f"{org}\0{target}".encode()).hexdigest()[:16]
    return ledger.parent / f"{ledger.name}.locks" / f"{target}-{digest}.lock"


def inbox_lock_path(ledger: Path, inbox: Path | str) -> Path:
    """The lock file of one inbox folder (a local path, or a remote inbox's URL) for ``ledger``."""
    key = inbox if isinstance(inbox, str) else str(inbox.resolve())
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return ledger.parent / f"{ledger.name}.locks" / f"inbox-{digest}.lock"


def _try_lock(fh: IO[str]) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class RunLock:
    """An OS lock on ``path``; ``acquire`` then ``release`` (or use ``with``). ``what`` names
    what it guards in messages ("this org (account_contact)", "the inbox /drop")."""

    def __init__(self, path: Path, what: str, *, command: str = "") -> None:
        self.path = path
        self.what = what
        self.command = command
        self._fh: IO[str] | None = None

    @classmethod
    def for_target(cls, ledger: Path, org: str, target: str, *, command: str = "") -> RunLock:
        """The writer lock of one org and target."""
        return cls(lock_path(ledger, org, target), f"this org ({target})", command=command)

    def acquire(self, wait_s: float = 0.0) -> None:
        """Take the lock, waiting up to ``wait_s`` seconds; :class:`RunLocked` when held."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot create the run lock {self.path}: {exc.strerror or exc}. Check that the "
                "ledger's folder is writable, or choose another ledger with --ledger PATH."
            ) from exc
        deadline = time.monotonic() + wait_s
        while not _try_lock(fh):
            if time.monotonic() >= deadline:
                holder = _holder(fh)
                fh.close()
                raise RunLocked(_locked_message(holder, self.what, wait_s), holder=holder)
            time.sleep(min(_POLL_S, max(deadline - time.monotonic(), 0.01)))
        fh.seek(0)
        fh.truncate()
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": now_iso(),
            "since": time.time(),
            "command": self.command,
        }
        fh.write(json.dumps(info))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        """Drop the lock (closing the file releases it)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(fh: IO[str]) -> dict[str, Any]:
    try:
        fh.seek(0)
        data = json.loads(fh.read() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _locked_message(holder: dict[str, Any], what: str, wait_s: float) -> str:
    who = (
        f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started "
        f"{holder.get('started_at', '?')}"
        + (f": {holder['command']}" if holder.get("command") else "")
        if holder
        else "a process that is just starting"
    )
    waited = f" after waiting {wait_s:g} s" if wait_s > 0 else ""
    return (
        f"another syncer run is importing into {what} with the same ledger "
        f"({who}); not started{waited}, nothing sent. Let it finish, or pass --wait 30m to "
        "queue behind it."
    )
