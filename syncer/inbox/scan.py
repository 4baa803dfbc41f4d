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
from collections.abc import Callable, Collection, Sequence
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


# size, mtime_ns, inode: a file is settled when none changed between the two looks
_Key = tuple[int, int, int]


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


def scan(
    inbox: Path,
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    readiness: Readiness = Readiness(),  # frozen: one shared default is safe
    *,
    skip: Collection[Path] = (),
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Scan:
    """Look at the top level of ``inbox`` and sort its candidates into ready and not ready.

    ``skip`` holds files or folders to pass over (the archive folder, when it lives in the
    inbox), matched by path or by identity (device and inode). A file that vanishes between the
    two looks, or stops being a regular file, is not listed at all; nor are names that do not
    match ``patterns``, hidden or temporary names, and ready-marker files.

    Raises :class:`SourceError` when ``inbox`` is not a readable folder, :class:`ConfigError`
    for a bad pattern.
    """
    regex = compile_patterns(patterns)
    marker = readiness.ready_marker
    marker_lower = marker.lower() if marker else None
    skip_names, skip_inodes = _skip_keys(skip)
    entries = _listing(inbox)
    now = clock()
    min_age_s = readiness.min_age_s
    needs = f"needs {min_age_s:g} s (--min-age)"

    # regular files by name (exact, then lower-case) for the marker look-ups
    files: set[str] = set()
    files_lower: dict[str, str] = {}
    if marker is not None:
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                files.add(entry.name)
                files_lower.setdefault(entry.name.lower(), entry.name)

    # (mtime_ns, name, ...): sorted oldest first, then by name (names are unique in a folder)
    settling: list[tuple[int, str, Candidate, _Key]] = []  # old enough: look again after sleep
    not_ready: list[tuple[int, str, Candidate, str]] = []
    ignored: list[tuple[Path, str]] = []
    for entry in entries:
        name = entry.name
        if not regex.match(name) or is_temporary(name):
            continue
        if marker_lower is not None and name.lower().endswith(marker_lower):
            continue
        path = inbox / name
        if skip_names and os.path.normcase(os.path.abspath(path)) in skip_names:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        except OSError as exc:
            ignored.append((path, f"cannot be looked at ({exc.strerror or exc})"))
            continue
        if (st.st_dev, st.st_ino) in skip_inodes:
            continue
        if not stat.S_ISREG(st.st_mode):
            ignored.append((path, f"{_kind(st.st_mode)}, not a regular file: never taken"))
            continue
        marker_path = None
        if marker is not None:
            wanted = name + marker
            found = wanted if wanted in files else files_lower.get(wanted.lower())
            marker_path = inbox / found if found else None
        candidate = Candidate(path, st.st_size, st.st_mtime, marker_path)
        if marker is not None and marker_path is None:
            reason = f"waiting for {name}{marker} (--ready-marker)"
            not_ready.append((st.st_mtime_ns, name, candidate, reason))
            continue
        age = now - st.st_mtime
        if age < min_age_s:
            not_ready.append((st.st_mtime_ns, name, candidate, _age_reason(age, needs)))
            continue
        key = (st.st_size, st.st_mtime_ns, st.st_ino)
        settling.append((st.st_mtime_ns, name, candidate, key))

    ready: list[tuple[int, str, Candidate]] = []
    if settling and readiness.settle_s > 0:
        sleep(readiness.settle_s)
        changed = f"still being written (size or time changed within {readiness.settle_s:g} s)"
        for _, name, candidate, key in settling:
            try:
                st = os.stat(candidate.path, follow_symlinks=False)
            except FileNotFoundError:
                continue  # gone (moved away or deleted): nothing to report
            except OSError as exc:
                ignored.append((candidate.path, f"cannot be looked at ({exc.strerror or exc})"))
                continue
            if not stat.S_ISREG(st.st_mode):
                continue  # replaced by something else: not a file to import any more
            now_seen = Candidate(candidate.path, st.st_size, st.st_mtime, candidate.marker)
            if (st.st_size, st.st_mtime_ns, st.st_ino) == key:
                ready.append((st.st_mtime_ns, name, now_seen))
            else:
                not_ready.append((st.st_mtime_ns, name, now_seen, changed))
    else:
        ready = [(mtime_ns, name, candidate) for mtime_ns, name, candidate, _ in settling]

    by_time_then_name = operator.itemgetter(0, 1)
    ready.sort(key=by_time_then_name)
    not_ready.sort(key=by_time_then_name)
    ignored.sort(key=lambda item: item[0].name)
    return Scan(
        ready=[item[2] for item in ready],
        not_ready=[(item[2], item[3]) for item in not_ready],
        ignored=ignored,
    )
