"""Filing done files away without ever losing or overwriting one.

- :func:`move_file` moves a file into a folder under a free name. On one filesystem it
  hard-links the file under the new name (``os.link`` fails rather than replace an existing
  name, so no check-then-act race) and then unlinks the old name; where hard links are refused
  (FAT/exFAT, some network shares, Linux ``protected_hardlinks`` for a file another user owns)
  it checks the name is free and calls ``os.rename``, which on POSIX can still replace a name
  another process creates in that instant (on Windows ``os.rename`` never replaces). Across
  filesystems (``EXDEV``) it copies to a hidden temporary name in the destination folder,
  fsyncs the file and the folder, places the copy under a free name the same way, and only
  then deletes the source.
- The source is never gone before the destination is complete: on any failure it is still
  where it was and the partial copy or extra link is removed. A crash between the two steps
  leaves the file in both places (never in neither); the next run sees it again. A crash in
  the middle of a copy may leave a hidden ``.NAME.*.part`` file in the destination folder:
  never taken by a scan, safe to delete.
- :func:`write_note` writes a small text file (``<name>.error.txt``) atomically, under a free
  name, the same way.

Pure file-system code: no ledger, no network.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from syncer.errors import SourceError

#: what the caller does when a file cannot be filed away
ARCHIVE_HINT = (
    "Check that the archive folder (--archive) exists or can be created, is writable and has "
    "free space, then run `syncer inbox` again: the file is still in the inbox and is filed "
    "away then."
)

#: os.link errors that mean "no hard links here", not "no access": fall back to a rename
_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}

_CHUNK = 1 << 20


def candidate_names(name: str) -> Iterator[str]:
    """``name``, then ``stem-2.ext``, ``stem-3.ext`` ... (only the LAST suffix is kept apart)."""
    if not name or name in {".", ".."} or "/" in name or os.sep in name:
        raise ValueError(f"not a plain file name: {name!r}")
    yield name
    path = Path(name)
    n = 2
    while True:
        yield f"{path.stem}-{n}{path.suffix}"
        n += 1


def free_name(folder: Path, name: str) -> Path:
    """``folder/name`` if nothing (not even a dangling symlink) has that name, else the first
    free ``stem-2.ext``, ``stem-3.ext`` ...

    Only the last suffix is split off: ``a.results.csv`` becomes ``a.results-2.csv``, ``.env``
    becomes ``.env-2``, ``README`` becomes ``README-2``. The answer is only true when asked:
    another process may take the name right after (:func:`move_file` and :func:`write_note`
    never replace a name, whoever took it).
    """
    for candidate in candidate_names(name):
        target = folder / candidate
        if not os.path.lexists(target):
            return target
    raise AssertionError("unreachable: candidate_names never ends")  # pragma: no cover


def day_folder(archive: Path, bucket: str, day: date) -> Path:
    """``archive/<bucket>/YYYY-MM-DD`` (e.g. ``processed`` or ``failed``); not created here."""
    if not bucket or bucket in {".", ".."} or "/" in bucket or os.sep in bucket:
        raise ValueError(f"not a plain folder name: {bucket!r}")
    return archive / bucket / day.isoformat()


def _fsync_dir(folder: Path) -> None:
    """Make the folder's entries (a new or removed name) durable, where the OS can."""
    if os.name == "nt":  # pragma: no cover - Windows cannot open a folder to fsync it
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}:
            raise  # only "this filesystem cannot fsync a folder" is harmless
    finally:
        os.close(fd)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _place(src: Path, folder: Path, name: str) -> tuple[Path, bool]:
    """Give ``src`` (in ``folder``'s filesystem) a free name in ``folder``, never replacing one.

    Returns the new path and whether ``src`` is still there too (a hard link was made: the
    caller removes the old name). Raises ``OSError`` (``EXDEV`` when ``src`` lives on another
    filesystem) with nothing changed.
    """
    names: Iterator[str] = candidate_names(name)
    if os.name != "nt":
        for candidate in names:
            try:
                os.link(src, folder / candidate)
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno not in _NO_LINK:
                    raise
                # no hard links here: rename after checking, from this name on
                names = itertools.chain([candidate], names)
                break
            return folder / candidate, True
    for candidate in names:
        target = folder / candidate
        if os.path.lexists(target):
            continue
        try:
            os.rename(src, target)  # POSIX: may replace a name created since the check
        except FileExistsError:  # Windows: never replaces
            continue
        return target, False
    raise AssertionError("unreachable: candidate_names never ends")  # pragma: no cover


def _temp_in(folder: Path, name: str) -> tuple[int, Path]:
    """A new, hidden, ``.part`` file in ``folder`` (a scan never takes it), opened to write."""
    while True:
        path = folder / f".{name[:100]}.{secrets.token_hex(4)}.part"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(path, flags, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits taken
            continue
        return fd, path


def _move_error(src: Path, folder: Path, exc: OSError) -> SourceError:
    reason = exc.strerror or str(exc)
    return SourceError(
        f"could not move {src} to {folder}/ ({reason}); it is still in {src.parent}.",
        path=str(src),
        code="archive",
        hint=ARCHIVE_HINT,
    )


def _copy_across(src: Path, folder: Path, name: str) -> Path:
    """Copy + fsync + place under a free name, then delete ``src``; undo on any failure."""
    fd, temp = _temp_in(folder, name)
    target: Path | None = None
    try:
        with open(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, _CHUNK)
            out.flush()
            os.fsync(out.fileno())
            if out.tell() != os.fstat(inp.fileno()).st_size:
                raise OSError(errno.EAGAIN, "the file changed while it was being copied")
        with contextlib.suppress(OSError):  # mode and times: nice to keep, not worth failing
            shutil.copystat(src, temp)
        target, linked = _place(temp, folder, name)
        if linked:
            _unlink_quietly(temp)  # a leftover is a hidden second name of the same copy
        _fsync_dir(folder)
        with contextlib.suppress(FileNotFoundError):  # already gone: the copy is all there is
            os.unlink(src)
    except BaseException:
        _unlink_quietly(temp)
        if target is not None:
            _unlink_quietly(target)
        raise
    with contextlib.suppress(OSError):  # the move is done; a folder that cannot sync is no loss
        _fsync_dir(src.parent)
    return target


def move_file(src: Path, dest: Path) -> Path:
    """Move the regular file ``src`` into ``dest.parent`` (created if needed) under the first
    free name from ``dest.name`` (:func:`free_name`), never replacing a file. Returns the path.

    On one filesystem: hard link + unlink (or a checked rename where links are refused); across
    filesystems: copy + fsync(file) + fsync(folder) + delete (see the module docstring for the
    guarantees and the one rename race). Raises :class:`SourceError` (code ``archive``) with the
    source still in place when anything fails.
    """
    folder = dest.parent
    try:
        st = os.lstat(src)
        if not stat.S_ISREG(st.st_mode):
            raise SourceError(
                f"could not move {src}: it is not a regular file; only files are filed away.",
                path=str(src),
                code="archive",
                hint=ARCHIVE_HINT,
            )
        folder.mkdir(parents=True, exist_ok=True)
        try:
            target, linked = _place(src, folder, dest.name)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            return _copy_across(src, folder, dest.name)
        if linked:
            try:
                _fsync_dir(folder)
                os.unlink(src)
            except FileNotFoundError:
                if not os.path.lexists(target):
                    raise
                # someone else removed the old name meanwhile: ours is the only one, keep it
            except BaseException:
                _unlink_quietly(target)
                raise
        else:
            with contextlib.suppress(OSError):  # renamed: the move happened either way
                _fsync_dir(folder)
    except FileNotFoundError as exc:
        if os.path.lexists(src):
            raise _move_error(src, folder, exc) from exc
        raise SourceError(
            f"could not move {src}: it is no longer there (moved or deleted by someone else).",
            path=str(src),
            code="archive",
            hint="Look for the file where it was taken; nothing was moved.",
        ) from exc
    except OSError as exc:
        raise _move_error(src, folder, exc) from exc
    with contextlib.suppress(OSError):
        _fsync_dir(src.parent)
    return target


def write_note(dest: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``dest.parent`` (created if needed) under the first free name
    from ``dest.name``, atomically: a temporary file, fsynced, then given its name without
    replacing any file. Returns the path. Raises :class:`SourceError` (code ``archive``),
    leaving no partial file, when that fails.
    """
    folder = dest.parent
    temp: Path | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = _temp_in(folder, dest.name)
        with open(fd, "wb") as out:
            out.write(text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        target, linked = _place(temp, folder, dest.name)
        if linked:
            _unlink_quietly(temp)  # a leftover is a hidden second name of the same note
        with contextlib.suppress(OSError):
            _fsync_dir(folder)
        return target
    except OSError as exc:
        if temp is not None:
            _unlink_quietly(temp)
        raise SourceError(
            f"could not write {dest} ({exc.strerror or exc}).",
            path=str(dest),
            code="archive",
            hint=ARCHIVE_HINT,
        ) from exc
