"""Which files of a drop folder are ready to import.

A file is a *candidate* when it sits at the top level of the inbox (never in a sub-folder), is a
regular file (not a symlink, fifo, socket or folder), its name matches one of the patterns
(case-insensitively: ``LEADS.CSV`` matches ``*.csv``) and is not hidden or temporary
(:func:`is_temporary`). A candidate is *ready* when

- its ready marker exists, if one is required (``NAME<marker>``, e.g. ``leads.csv.done``),
- it is at least ``min_age_s`` old (by its mtime), and
- its size, mtime (ns) and inode did not change across two looks ``settle_s`` apart.

The folder is listed once with :func:`os.scandir` (one ``lstat`` per matching name); the second
look waits ONE ``sleep(settle_s)`` for the whole folder, and only when some file passed the
other tests, so listing thousands of young files costs no sleep at all. Every test applies, a
marker included: with ``--ready-marker`` a caller who trusts the marker alone passes
``min_age_s=0, settle_s=0`` (no second look then).

The rules live in :func:`sort_out`, which works on any folder's listing: :func:`scan` feeds it
a local folder (size, mtime and inode must hold still), the remote inbox a store's listing
(size, mtime and, on S3, the ETag).

Pure: no ledger, no network; time and sleep are arguments so tests need not wait.
"""

from __future__ import annotations

import errno
import fnmatch
import operator
import os
import re
import stat
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from syncer.errors import ConfigError, SourceError

#: the names ``syncer inbox`` takes unless ``--pattern`` says otherwise
DEFAULT_PATTERNS = ("*.csv", "*.tsv", "*.txt", "*.xlsx", "*.xls")

#: endings of names that are still being written by some program (compared lower-case)
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".filepart", ".crdownload", ".swp")


def is_temporary(name: str) -> bool:
    """True for hidden (``.*``), Office lock (``~$*``) and partial-download/editor names.

    ``*.tmp``, ``*.part``, ``*.partial``, ``*.filepart``, ``*.crdownload``, ``*.swp``
    (case-insensitive). Such names are never taken, whatever the patterns say.
    """
    return name.startswith((".", "~$")) or name.lower().endswith(TEMPORARY_SUFFIXES)


def compile_patterns(patterns: Sequence[str]) -> re.Pattern[str]:
    """One case-insensitive regex for shell-style name ``patterns`` (``*``, ``?``, ``[...]``).

    Patterns match a file's NAME only, so one with a ``/`` is refused (:class:`ConfigError`),
    as is an empty list.
    """
    if not patterns:
        raise ConfigError("--pattern: no pattern given; give one like '*.csv' or leave it out.")
    bad = [p for p in patterns if not p or "/" in p or os.sep in p]
    if bad:
        raise ConfigError(
            f"--pattern {bad[0]!r}: a pattern matches file names at the top of the inbox, not "
            "paths: give a name pattern like '*.csv'.",
            [f"--pattern {p!r}: not a name pattern" for p in bad],
        )
    return re.compile("|".join(fnmatch.translate(p) for p in patterns), re.IGNORECASE)


def name_matches(name: str, patterns: Sequence[str]) -> bool:
    """True when ``name`` matches one of ``patterns`` (case-insensitive, see :func:`scan`)."""
    return compile_patterns(patterns).match(name) is not None


@dataclass(frozen=True)
class Candidate:
    """One file of the inbox, as seen by the (last) look at it."""

    path: Path
    size: int
    mtime: float
    marker: Path | None = None  # the ready-marker file, when one is required and present


@dataclass(frozen=True)
class Readiness:
    """When a file counts as completely written (``--min-age``, ``--settle``, ``--ready-marker``).

    ``ready_marker`` is a suffix (``".done"``): ``NAME`` is taken only once ``NAME.done`` exists
    (a regular file; its name compared case-insensitively), and a name ending in the suffix is a
    marker, never a candidate itself.
    """

    min_age_s: float = 60.0
    settle_s: float = 2.0
    ready_marker: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if not self.min_age_s >= 0:  # also refuses NaN
            problems.append(f"--min-age {self.min_age_s:g}: give 0 or more seconds (e.g. 60s)")
        if not self.settle_s >= 0:
            problems.append(f"--settle {self.settle_s:g}: give 0 or more seconds (e.g. 2s)")
        marker = self.ready_marker
        if marker is not None and (not marker or "/" in marker or os.sep in marker):
            problems.append(f"--ready-marker {marker!r}: give a name suffix like '.done' (no '/')")
        if problems:
            raise ConfigError("; ".join(problems) + ".", problems)


@dataclass
class Scan:
    """What one look at the inbox found. Both lists are ordered oldest mtime first, then name."""

    ready: list[Candidate]
    not_ready: list[tuple[Candidate, str]]  # with why, for people
    # names that match the patterns but are not regular files (symlink, fifo, folder...) or
    # could not be looked at, with why: never taken, listed so a dry run can say so
    ignored: list[tuple[Path, str]] = field(default_factory=list)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a fifo"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _listing(inbox: Path) -> list[os.DirEntry[str]]:
    """Every entry of ``inbox``, or a :class:`SourceError` that says what to check."""
    try:
        with os.scandir(inbox) as entries:
            return list(entries)
    except FileNotFoundError as exc:
        raise SourceError(
            f"inbox {inbox} does not exist: check the path (or create the folder).",
            path=str(inbox),
        ) from exc
    except NotADirectoryError as exc:
        raise SourceError(
            f"inbox {inbox} is not a folder: check the path (give the folder the files are "
            "dropped into).",
            path=str(inbox),
        ) from exc
    except PermissionError as exc:
        raise SourceError(
            f"inbox {inbox} cannot be read (permission denied): give the user running syncer "
            "read access to the folder.",
            path=str(inbox),
        ) from exc
    except OSError as exc:
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
        raise SourceError(
            f"inbox {inbox} cannot be read ({reason}): check the path and the folder.",
            path=str(inbox),
        ) from exc


def _skip_keys(skip: Collection[Path]) -> tuple[set[str], set[tuple[int, int]]]:
    """The paths to ignore, by absolute spelling and by (device, inode) where they exist."""
    names: set[str] = set()
    inodes: set[tuple[int, int]] = set()
    for path in skip:
        names.add(os.path.normcase(os.path.abspath(path)))
        try:
            st = os.stat(path)
        except OSError:
            continue
        inodes.add((st.st_dev, st.st_ino))
    return names, inodes


def _age_reason(age: float, needs: str) -> str:
    if age < 0:
        return f"modified {-age:.0f} s in the future (clock skew?); {needs}"
    return f"{int(age)} s old; {needs}"


# size, mtime_ns and identity (inode, ETag...): a file is settled when none changed between the
# two looks
_Key = tuple[object, ...]


@dataclass(frozen=True)
class Seen:
    """One name of a folder as one look saw it: a local ``lstat`` or a remote store's listing.

    ``key`` holds what must not change between the two looks (size, mtime and the inode
    locally; size, mtime and the ETag on S3); ``kind`` says why it is not a regular file (``"a
    folder"``), None for a regular file.
    """

    name: str
    size: int
    mtime: float
    mtime_ns: int
    key: _Key
    kind: str | None = None


@dataclass
class Sorted:
    """:func:`sort_out`'s answer: names, oldest mtime first, then by name."""

    ready: list[tuple[Seen, str | None]]  # (file, its ready marker's name)
    not_ready: list[tuple[Seen, str | None, str]]  # (file, marker, why)
    ignored: list[tuple[str, str]]  # (name, why): never taken


#: a first look at one name: what it is, why it cannot be looked at (str), or None to pass
#: over it (gone since the listing, or to be skipped)
Look = Callable[[str], Seen | str | None]
#: the second look at the files that passed every other test: name -> what it is now, or why
#: it cannot be looked at; a name missing from the answer is gone
LookAgain = Callable[[Sequence[Seen]], dict[str, Seen | str]]


def sort_out(
    names: Iterable[tuple[str, bool]],
    patterns: Sequence[str],
    readiness: Readiness,
    *,
    look: Look,
    look_again: LookAgain,
    now: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Sorted:
    """The readiness rules (module docstring) over one folder's listing, wherever it lives.

    ``names`` holds every name at the folder's top level with whether it is a regular file (a
    ready marker must be one). Only the names that match ``patterns`` and are neither hidden,
    temporary nor markers are looked at (``look``), so a folder of thousands of other names
    costs one listing. ``look_again`` is called once, after ONE ``sleep(settle_s)``, for the
    files old enough, when ``settle_s > 0``.
    """
    regex = compile_patterns(patterns)
    marker = readiness.ready_marker
    marker_lower = marker.lower() if marker else None
    min_age_s = readiness.min_age_s
    needs = f"needs {min_age_s:g} s (--min-age)"
    listed = list(names)

    # regular files by name (exact, then lower-case) for the marker look-ups
    files: set[str] = set()
    files_lower: dict[str, str] = {}
    if marker is not None:
        for name, is_file in listed:
            if is_file:
                files.add(name)
                files_lower.setdefault(name.lower(), name)

    # (mtime_ns, name, ...): sorted oldest first, then by name (names are unique in a folder)
    settling: list[tuple[int, str, Seen, str | None]] = []  # old enough: look again after sleep
    not_ready: list[tuple[int, str, Seen, str | None, str]] = []
    ignored: list[tuple[str, str]] = []
    for name, _ in listed:
        if not regex.match(name) or is_temporary(name):
            continue
        if marker_lower is not None and name.lower().endswith(marker_lower):
            continue
        seen = look(name)
        if seen is None:
            continue
        if isinstance(seen, str):
            ignored.append((name, seen))
            continue
        if seen.kind is not None:
            ignored.append((name, f"{seen.kind}, not a regular file: never taken"))
            continue
        found = None
        if marker is not None:
            wanted = name + marker
            found = wanted if wanted in files else files_lower.get(wanted.lower())
            if found is None:
                reason = f"waiting for {name}{marker} (--ready-marker)"
                not_ready.append((seen.mtime_ns, name, seen, None, reason))
                continue
        age = now - seen.mtime
        if age < min_age_s:
            not_ready.append((seen.mtime_ns, name, seen, found, _age_reason(age, needs)))
            continue
        settling.append((seen.mtime_ns, name, seen, found))

    ready: list[tuple[int, str, Seen, str | None]] = []
    if settling and readiness.settle_s > 0:
        sleep(readiness.settle_s)
        changed = f"still being written (size or time changed within {readiness.settle_s:g} s)"
        again = look_again([item[2] for item in settling])
        for _, name, seen, found in settling:
            now_seen = again.get(name)
            if now_seen is None:
                continue  # gone (moved away or deleted): nothing to report
            if isinstance(now_seen, str):
                ignored.append((name, now_seen))
            elif now_seen.kind is not None:
                continue  # replaced by something else: not a file to import any more
            elif now_seen.key == seen.key:
                ready.append((now_seen.mtime_ns, name, now_seen, found))
            else:
                not_ready.append((now_seen.mtime_ns, name, now_seen, found, changed))
    else:
        ready = settling

    by_time_then_name = operator.itemgetter(0, 1)
    ready.sort(key=by_time_then_name)
    not_ready.sort(key=by_time_then_name)
    ignored.sort()
    return Sorted(
        ready=[(item[2], item[3]) for item in ready],
        not_ready=[(item[2], item[3], item[4]) for item in not_ready],
        ignored=ignored,
    )


def _stat_seen(path: Path, skip_inodes: set[tuple[int, int]]) -> Seen | str | None:
    """A local file as :func:`sort_out` sees it (``lstat``: a symlink is not followed)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be looked at ({exc.strerror or exc})"
    if (st.st_dev, st.st_ino) in skip_inodes:
        return None
    kind = None if stat.S_ISREG(st.st_mode) else _kind(st.st_mode)
    key = (st.st_size, st.st_mtime_ns, st.st_ino)
    return Seen(path.name, st.st_size, st.st_mtime, st.st_mtime_ns, key, kind)


def scan(
    inbox: Path,
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    readiness: Readiness = Readiness(),  # frozen: one shared default is safe
    *,
    skip: Collection[Path] = (),
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Scan:
    """Look at the top level of the local folder ``inbox`` and sort its candidates into ready
    and not ready (:func:`sort_out`'s rules).

    ``skip`` holds files or folders to pass over (the archive folder, when it lives in the
    inbox), matched by path or by identity (device and inode). A file that vanishes between the
    two looks, or stops being a regular file, is not listed at all; nor are names that do not
    match ``patterns``, hidden or temporary names, and ready-marker files.

    Raises :class:`SourceError` when ``inbox`` is not a readable folder, :class:`ConfigError`
    for a bad pattern.
    """
    compile_patterns(patterns)  # a bad pattern is refused before the folder is read
    skip_names, skip_inodes = _skip_keys(skip)
    entries = _listing(inbox)
    now = clock()

    def look(name: str) -> Seen | str | None:
        path = inbox / name
        if skip_names and os.path.normcase(os.path.abspath(path)) in skip_names:
            return None
        return _stat_seen(path, skip_inodes)

    def look_again(settling: Sequence[Seen]) -> dict[str, Seen | str]:
        again = {s.name: _stat_seen(inbox / s.name, set()) for s in settling}
        return {name: seen for name, seen in again.items() if seen is not None}

    found = sort_out(
        ((e.name, e.is_file(follow_symlinks=False)) for e in entries),
        patterns,
        readiness,
        look=look,
        look_again=look_again,
        now=now,
        sleep=sleep,
    )

    def candidate(seen: Seen, marker: str | None) -> Candidate:
        return Candidate(
            inbox / seen.name, seen.size, seen.mtime, inbox / marker if marker else None
        )

    return Scan(
        ready=[candidate(seen, marker) for seen, marker in found.ready],
        not_ready=[(candidate(seen, marker), why) for seen, marker, why in found.not_ready],
        ignored=[(inbox / name, why) for name, why in found.ignored],
    )
