"""Files written whole or not at all: into a temporary file beside the target, then renamed
into place, so a crash or a kill never leaves half a file under the real name."""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

__all__ = ["remove_stale_temporaries", "write_atomic"]

#: a temporary file older than this is one a killed writer left
STALE_TMP_S = 3600


_T = TypeVar("_T")


def write_atomic(
    path: Path, write: Callable[[io.BufferedRandom], _T], *, mode: int | None = None
) -> _T:
    """Write ``path`` through ``write`` (given the temporary file, open to write and read
    back) and rename it into place, flushed to disk first; ``mode``: its permission bits (else
    the umask's). Returns what ``write`` returned. Raises OSError (the caller says what it
    means); no temporary file is left behind then."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("x+b") as fh:
            result = write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
        return result
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def remove_stale_temporaries(folder: Path, pattern: str = ".*.tmp") -> None:
    """Remove the temporary files (``pattern``) that writers killed mid-write left in
    ``folder`` more than :data:`STALE_TMP_S` ago."""
    now = time.time()
    for tmp in folder.glob(pattern):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > STALE_TMP_S:
                tmp.unlink()
