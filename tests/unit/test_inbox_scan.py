"""Which files of a drop folder are ready (syncer.inbox.scan), with a fake clock and sleep.

Every file gets a known mtime (``os.utime``) and the clock is a constant, so ages are exact;
the fake sleep records its calls and may change files between the two looks.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from syncer.errors import ConfigError, SourceError
from syncer.inbox.scan import (
    DEFAULT_PATTERNS,
    Candidate,
    Readiness,
    Scan,
    is_temporary,
    name_matches,
    scan,
)

NOW = 1_700_000_000.0
OLD = NOW - 3600  # an hour old: past any min age used here

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file types")


class FakeSleep:
    """Records each sleep; runs ``then`` (e.g. a change to a file) instead of waiting."""

    def __init__(self, then: Callable[[], None] | None = None) -> None:
        self.calls: list[float] = []
        self.then = then

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.then is not None:
            self.then()


def put(folder: Path, name: str, mtime: float = OLD, text: str = "email\na@x.org\n") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


def run(
    inbox: Path,
    patterns: tuple[str, ...] = DEFAULT_PATTERNS,
    readiness: Readiness | None = None,
    sleep: FakeSleep | None = None,
    skip: list[Path] | None = None,
) -> tuple[Scan, FakeSleep]:
    sleep = sleep or FakeSleep()
    got = scan(
        inbox, patterns, readiness or Readiness(), skip=skip or [], clock=lambda: NOW, sleep=sleep
    )
    return got, sleep


def names(candidates: list[Candidate]) -> list[str]:
    return [c.path.name for c in candidates]


def reasons(got: Scan) -> dict[str, str]:
    return {c.path.name: why for c, why in got.not_ready}


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        ".leads.csv",
        ".DS_Store",
        "~$leads.xlsx",
        "leads.csv.tmp",
        "leads.TMP",
        "leads.csv.part",
        "leads.csv.partial",
        "leads.csv.filepart",
        "leads.csv.crdownload",
        ".leads.csv.swp",
        "leads.swp",
    ],
)
def test_hidden_and_temporary_names(name: str) -> None:
    assert is_temporary(name)


@pytest.mark.parametrize("name", ["leads.csv", "tmp.csv", "part-1.csv", "a~$b.csv", "x.parts"])
def test_ordinary_names_are_not_temporary(name: str) -> None:
    assert not is_temporary(name)


def test_patterns_match_names_case_insensitively() -> None:
    assert name_matches("LEADS.CSV", DEFAULT_PATTERNS)
    assert name_matches("book.Xlsx", DEFAULT_PATTERNS)
    assert name_matches("old.xls", DEFAULT_PATTERNS)
    assert not name_matches("leads.csv.gz", DEFAULT_PATTERNS)
    assert not name_matches("leads.json", DEFAULT_PATTERNS)
    assert name_matches("Acme-2024-01.csv", ["acme-*.csv"])
    assert not name_matches("other.csv", ["acme-*.csv"])


@pytest.mark.parametrize("patterns", [[], ["sub/*.csv"], [""]])
def test_bad_patterns_are_config_errors(tmp_path: Path, patterns: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        scan(tmp_path, patterns, clock=lambda: NOW, sleep=FakeSleep())
    assert "--pattern" in err.value.message


def test_only_matching_names_are_listed_and_temporary_names_never(tmp_path: Path) -> None:
    for name in ["a.csv", "B.TSV", "c.txt", "d.xlsx", "e.xls", "f.json", "g.csv.gz", "README"]:
        put(tmp_path, name)
    for name in [".h.csv", "~$i.xlsx", "j.csv.part", "k.tmp", "l.crdownload", "m.swp"]:
        put(tmp_path, name)
    got, _ = run(tmp_path)
    assert sorted(names(got.ready)) == ["B.TSV", "a.csv", "c.txt", "d.xlsx", "e.xls"]
    assert got.not_ready == [] and got.ignored == []
    # even a pattern that takes everything never takes a temporary name
    got, _ = run(tmp_path, patterns=("*",))
    everything = ["B.TSV", "README", "a.csv", "c.txt", "d.xlsx", "e.xls", "f.json", "g.csv.gz"]
    assert sorted(names(got.ready)) == everything


# --- what is a candidate -------------------------------------------------------------------


def test_top_level_only_and_folders_are_not_files(tmp_path: Path) -> None:
    put(tmp_path, "top.csv")
    (tmp_path / "sub").mkdir()
    put(tmp_path / "sub", "deep.csv")
    (tmp_path / "folder.csv").mkdir()
    got, _ = run(tmp_path)
    assert names(got.ready) == ["top.csv"]
    assert got.ignored == [(tmp_path / "folder.csv", "a folder, not a regular file: never taken")]


@posix_only
def test_symlinks_fifos_and_sockets_are_never_taken(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    real = put(outside, "real.csv")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    put(inbox, "plain.csv")
    (inbox / "link.csv").symlink_to(real)
    (inbox / "dangling.csv").symlink_to(outside / "gone.csv")
    os.mkfifo(inbox / "pipe.csv")
    sock_path = inbox / "s.csv"
    sock = None
    if len(str(sock_path)) < 100:  # AF_UNIX path limit
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(sock_path))
    try:
        got, _ = run(inbox)
    finally:
        if sock is not None:
            sock.close()
    assert names(got.ready) == ["plain.csv"]
    assert got.not_ready == []
    ignored = {path.name: why for path, why in got.ignored}
    assert ignored["link.csv"] == "a symlink, not a regular file: never taken"
    assert ignored["dangling.csv"] == "a symlink, not a regular file: never taken"
    assert ignored["pipe.csv"] == "a fifo, not a regular file: never taken"
    if sock is not None:
        assert ignored["s.csv"] == "a socket, not a regular file: never taken"
    assert real.exists()


def test_skip_by_any_spelling_of_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    put(tmp_path, "keep.csv")
    put(tmp_path, "archive.csv")
    put(tmp_path, "lock.csv")
    (tmp_path / "archive").mkdir()
    put(tmp_path / "archive", "old.csv")
    monkeypatch.chdir(tmp_path)
    # a relative spelling of one file, the folder the inbox keeps its archive in
    got, _ = run(tmp_path, skip=[Path("archive.csv"), tmp_path / "archive"])
    assert names(got.ready) == ["keep.csv", "lock.csv"]
    # by identity: a path through a symlinked folder names the same file
    if sys.platform != "win32":
        alias = tmp_path.parent / (tmp_path.name + "-alias")
        alias.symlink_to(tmp_path, target_is_directory=True)
        got, _ = run(tmp_path, skip=[alias / "lock.csv", tmp_path / "missing.csv"])
        assert names(got.ready) == ["archive.csv", "keep.csv"]


@posix_only
def test_skip_a_symlinked_archive_folder(tmp_path: Path) -> None:
    """The archive folder may be a symlink to another disk: skipped by its own path."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    elsewhere = tmp_path / "big-disk"
    elsewhere.mkdir()
    (inbox / "archive").symlink_to(elsewhere, target_is_directory=True)
    put(inbox, "leads")
    got, _ = run(inbox, patterns=("*",), skip=[inbox / "archive"])
    assert names(got.ready) == ["leads"]
    assert got.ignored == []


# --- readiness ------------------------------------------------------------------------------


def test_young_files_wait_for_min_age_and_no_sleep_happens(tmp_path: Path) -> None:
    put(tmp_path, "young.csv", mtime=NOW - 12.4)
    put(tmp_path, "newer.csv", mtime=NOW - 0.5)
    got, sleep = run(tmp_path)
    assert got.ready == []
    assert reasons(got) == {
        "young.csv": "12 s old; needs 60 s (--min-age)",
        "newer.csv": "0 s old; needs 60 s (--min-age)",
    }
    assert sleep.calls == []  # nothing old enough: no second look, no wait


def test_exactly_min_age_is_old_enough(tmp_path: Path) -> None:
    put(tmp_path, "edge.csv", mtime=NOW - 60)
    got, sleep = run(tmp_path)
    assert names(got.ready) == ["edge.csv"]
    assert sleep.calls == [2.0]


def test_a_future_mtime_says_so(tmp_path: Path) -> None:
    put(tmp_path, "skewed.csv", mtime=NOW + 300)
    got, _ = run(tmp_path)
    assert reasons(got) == {
        "skewed.csv": "modified 300 s in the future (clock skew?); needs 60 s (--min-age)"
    }


def test_one_sleep_for_the_whole_folder(tmp_path: Path) -> None:
    for i in range(5):
        put(tmp_path, f"f{i}.csv")
    put(tmp_path, "young.csv", mtime=NOW - 1)
    got, sleep = run(tmp_path, readiness=Readiness(settle_s=3.5))
    assert sleep.calls == [3.5]
    assert len(got.ready) == 5
    assert list(reasons(got)) == ["young.csv"]


def test_a_file_growing_between_the_looks_is_not_ready(tmp_path: Path) -> None:
    growing = put(tmp_path, "growing.csv")
    put(tmp_path, "still.csv")

    def append() -> None:
        with growing.open("a", encoding="utf-8") as f:
            f.write("b@x.org\n")
        os.utime(growing, (OLD, OLD))  # same mtime: the size alone gives it away

    got, sleep = run(tmp_path, sleep=FakeSleep(append))
    assert sleep.calls == [2.0]
    assert names(got.ready) == ["still.csv"]
    assert reasons(got) == {"growing.csv": "still being written (size or time changed within 2 s)"}
    # the not-ready entry shows the second look
    ((candidate, _),) = got.not_ready
    assert candidate.size == growing.stat().st_size


def test_a_file_touched_between_the_looks_is_not_ready(tmp_path: Path) -> None:
    touched = put(tmp_path, "touched.csv")
    got, _ = run(
        tmp_path,
        readiness=Readiness(settle_s=1),
        sleep=FakeSleep(lambda: os.utime(touched, (OLD + 0.001, OLD + 0.001))),
    )
    assert got.ready == []
    assert reasons(got) == {"touched.csv": "still being written (size or time changed within 1 s)"}


def test_a_file_replaced_between_the_looks_is_not_ready(tmp_path: Path) -> None:
    put(tmp_path, "swapped.csv", text="email\nold@x.org\n")

    def swap() -> None:
        new = put(tmp_path, ".incoming", text="email\nnew@x.org\n")  # same size and mtime
        os.replace(new, tmp_path / "swapped.csv")

    got, _ = run(tmp_path, sleep=FakeSleep(swap))
    assert got.ready == []
    assert list(reasons(got)) == ["swapped.csv"]


def test_a_file_that_vanishes_between_the_looks_is_not_listed(tmp_path: Path) -> None:
    gone = put(tmp_path, "gone.csv")
    put(tmp_path, "stays.csv")
    got, _ = run(tmp_path, sleep=FakeSleep(gone.unlink))
    assert names(got.ready) == ["stays.csv"]
    assert got.not_ready == [] and got.ignored == []


@posix_only
def test_a_file_replaced_by_a_symlink_between_the_looks_is_not_listed(tmp_path: Path) -> None:
    path = put(tmp_path, "x.csv")
    other = put(tmp_path, "other.txt")

    def swap() -> None:
        path.unlink()
        path.symlink_to(other)

    got, _ = run(tmp_path, sleep=FakeSleep(swap))
    assert names(got.ready) == ["other.txt"]
    assert got.not_ready == []


def test_no_settle_means_no_second_look(tmp_path: Path) -> None:
    put(tmp_path, "a.csv")
    got, sleep = run(tmp_path, readiness=Readiness(min_age_s=0, settle_s=0))
    assert names(got.ready) == ["a.csv"]
    assert sleep.calls == []


def test_candidate_carries_size_and_mtime(tmp_path: Path) -> None:
    path = put(tmp_path, "a.csv", mtime=OLD + 0.25, text="x" * 123)
    got, _ = run(tmp_path)
    assert got.ready == [Candidate(path=path, size=123, mtime=OLD + 0.25, marker=None)]


def test_ordered_oldest_first_then_name(tmp_path: Path) -> None:
    put(tmp_path, "c.csv", mtime=OLD - 10)
    put(tmp_path, "b.csv", mtime=OLD)
    put(tmp_path, "a.csv", mtime=OLD)
    put(tmp_path, "z.csv", mtime=OLD - 20)
    put(tmp_path, "y2.csv", mtime=NOW - 5)
    put(tmp_path, "y1.csv", mtime=NOW - 10)
    put(tmp_path, "x.csv", mtime=NOW - 5)
    got, _ = run(tmp_path)
    assert names(got.ready) == ["z.csv", "c.csv", "a.csv", "b.csv"]
    assert list(reasons(got)) == ["y1.csv", "x.csv", "y2.csv"]


def test_readiness_settings_are_checked() -> None:
    with pytest.raises(ConfigError) as err:
        Readiness(min_age_s=-1, settle_s=float("nan"), ready_marker="")
    assert err.value.problems == [
        "--min-age -1: give 0 or more seconds (e.g. 60s)",
        "--settle nan: give 0 or more seconds (e.g. 2s)",
        "--ready-marker '': give a name suffix like '.done' (no '/')",
    ]
    with pytest.raises(ConfigError, match=re.escape("--ready-marker 'x/.done'")):
        Readiness(ready_marker="x/.done")


# --- ready markers -------------------------------------------------------------------------


def test_ready_marker_gates_the_file_and_is_never_a_candidate(tmp_path: Path) -> None:
    waiting = put(tmp_path, "leads.csv")
    marked = put(tmp_path, "accounts.csv")
    marker = put(tmp_path, "accounts.csv.done", text="")
    readiness = Readiness(ready_marker=".done")
    got, sleep = run(tmp_path, readiness=readiness)
    assert got.ready == [Candidate(marked, marked.stat().st_size, OLD, marker)]
    assert reasons(got) == {"leads.csv": "waiting for leads.csv.done (--ready-marker)"}
    assert got.not_ready[0][0].marker is None
    assert sleep.calls == [2.0]
    # a pattern that matches the marker's own name still never takes the marker
    got, _ = run(tmp_path, patterns=("*",), readiness=readiness)
    assert names(got.ready) == ["accounts.csv"]
    assert list(reasons(got)) == ["leads.csv"]
    assert waiting.exists()


def test_waiting_for_a_marker_costs_no_sleep(tmp_path: Path) -> None:
    put(tmp_path, "leads.csv")
    got, sleep = run(tmp_path, readiness=Readiness(ready_marker=".done"))
    assert got.ready == []
    assert sleep.calls == []


def test_marker_case_and_kind(tmp_path: Path) -> None:
    upper = put(tmp_path, "upper.csv")
    put(tmp_path, "UPPER.CSV.DONE", text="")
    put(tmp_path, "dir.csv")
    (tmp_path / "dir.csv.done").mkdir()  # a folder is not a marker
    got, _ = run(tmp_path, readiness=Readiness(ready_marker=".done"))
    assert [(c.path, c.marker) for c in got.ready] == [(upper, tmp_path / "UPPER.CSV.DONE")]
    assert reasons(got) == {"dir.csv": "waiting for dir.csv.done (--ready-marker)"}


def test_a_marked_file_still_needs_age_and_settling(tmp_path: Path) -> None:
    put(tmp_path, "young.csv", mtime=NOW - 3)
    put(tmp_path, "young.csv.done", text="")
    got, _ = run(tmp_path, readiness=Readiness(ready_marker=".done"))
    assert reasons(got) == {"young.csv": "3 s old; needs 60 s (--min-age)"}
    got, sleep = run(tmp_path, readiness=Readiness(0, 0, ".done"))
    assert names(got.ready) == ["young.csv"] and sleep.calls == []


# --- the inbox itself ----------------------------------------------------------------------


def test_missing_inbox(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as err:
        run(tmp_path / "nope")
    assert err.value.message == (
        f"inbox {tmp_path / 'nope'} does not exist: check the path (or create the folder)."
    )
    assert err.value.path == str(tmp_path / "nope")


def test_inbox_that_is_a_file(tmp_path: Path) -> None:
    path = put(tmp_path, "leads.csv")
    with pytest.raises(SourceError) as err:
        run(path)
    assert err.value.message == (
        f"inbox {path} is not a folder: check the path (give the folder the files are dropped "
        "into)."
    )


@posix_only
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_unreadable_inbox(tmp_path: Path) -> None:
    inbox = tmp_path / "locked"
    inbox.mkdir(mode=0o000)
    try:
        with pytest.raises(SourceError, match="permission denied"):
            run(inbox)
    finally:
        inbox.chmod(0o700)


def test_empty_inbox(tmp_path: Path) -> None:
    got, sleep = run(tmp_path)
    assert got == Scan(ready=[], not_ready=[], ignored=[])
    assert sleep.calls == []


@pytest.mark.parametrize(
    ("exc", "said"),
    [
        (PermissionError(13, "Permission denied"), "cannot be read (permission denied): give"),
        (OSError(5, "Input/output error"), "cannot be read (Input/output error): check"),
    ],
)
def test_unreadable_inbox_whoever_runs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: OSError, said: str
) -> None:
    def refuse(path: object) -> None:
        raise exc

    monkeypatch.setattr(os, "scandir", refuse)
    with pytest.raises(SourceError, match=re.escape(said)):
        run(tmp_path)
