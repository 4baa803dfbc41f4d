"""Filing done files away (syncer.inbox.archive): never lost, never overwritten.

Across filesystems is simulated by an ``os.link``/``os.rename`` that refuses (``EXDEV``) to
link or rename between two different folders, which is what the kernel says for two mounts;
one test also moves to a real second filesystem (/dev/shm) when there is one.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from syncer.errors import SourceError
from syncer.inbox import archive
from syncer.inbox.archive import day_folder, free_name, move_file, write_note

REAL_LINK = os.link
REAL_RENAME = os.rename
REAL_UNLINK = os.unlink
REAL_FSYNC = os.fsync

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX hard links and fifos")


def put(folder: Path, name: str, text: str = "email\na@x.org\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def listing(folder: Path) -> dict[str, str]:
    """Every name in ``folder`` (hidden ones too) with its text."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


def across_filesystems(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Make every link or rename between two different folders fail with EXDEV."""
    refused: list[tuple[str, str]] = []

    def check(src: Any, dst: Any) -> None:
        if Path(src).parent != Path(dst).parent:
            refused.append((str(src), str(dst)))
            raise OSError(errno.EXDEV, "Invalid cross-device link")

    def link(src: Any, dst: Any, **kw: Any) -> None:
        check(src, dst)
        REAL_LINK(src, dst, **kw)

    def rename(src: Any, dst: Any, **kw: Any) -> None:
        check(src, dst)
        REAL_RENAME(src, dst, **kw)

    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(os, "rename", rename)
    return refused


def no_hard_links(monkeypatch: pytest.MonkeyPatch) -> None:
    """A filesystem (FAT, some shares) or a policy (protected_hardlinks) that refuses links."""

    def link(src: Any, dst: Any, **kw: Any) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", link)


def fail_on(
    monkeypatch: pytest.MonkeyPatch, name: str, real: Callable[..., Any], when: Callable[..., bool]
) -> None:
    """``os.<name>`` raises EIO when ``when(*args)`` holds, else does its job."""

    def fake(*args: Any, **kw: Any) -> Any:
        if when(*args):
            raise OSError(errno.EIO, "Input/output error")
        return real(*args, **kw)

    monkeypatch.setattr(os, name, fake)


# --- names ---------------------------------------------------------------------------------


def test_free_name(tmp_path: Path) -> None:
    assert free_name(tmp_path, "a.csv") == tmp_path / "a.csv"
    put(tmp_path, "a.csv")
    assert free_name(tmp_path, "a.csv") == tmp_path / "a-2.csv"
    put(tmp_path, "a-2.csv")
    put(tmp_path, "a-4.csv")
    assert free_name(tmp_path, "a.csv") == tmp_path / "a-3.csv"


@pytest.mark.parametrize(
    ("name", "second"),
    [
        ("a.results.csv", "a.results-2.csv"),  # only the last suffix is kept apart
        ("README", "README-2"),
        (".env", ".env-2"),
        ("x.error.txt", "x.error-2.txt"),
    ],
)
def test_free_name_splits_the_last_suffix(tmp_path: Path, name: str, second: str) -> None:
    put(tmp_path, name)
    assert free_name(tmp_path, name) == tmp_path / second


@posix_only
def test_a_dangling_symlink_takes_its_name(tmp_path: Path) -> None:
    (tmp_path / "a.csv").symlink_to(tmp_path / "nowhere")
    assert free_name(tmp_path, "a.csv") == tmp_path / "a-2.csv"


@pytest.mark.parametrize("name", ["", ".", "..", "sub/a.csv"])
def test_free_name_wants_a_plain_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        free_name(tmp_path, name)


def test_day_folder(tmp_path: Path) -> None:
    got = day_folder(tmp_path / "archive", "processed", date(2024, 3, 7))
    assert got == tmp_path / "archive" / "processed" / "2024-03-07"
    assert not got.exists()
    with pytest.raises(ValueError):
        day_folder(tmp_path, "../x", date(2024, 3, 7))


# --- one filesystem ------------------------------------------------------------------------


def test_move_into_a_new_folder(tmp_path: Path) -> None:
    src = put(tmp_path / "inbox", "leads.csv", "one")
    os.utime(src, (1_600_000_000, 1_600_000_000))
    dest = tmp_path / "archive" / "processed" / "2024-03-07" / "7-leads.csv"
    got = move_file(src, dest)
    assert got == dest
    assert not src.exists()
    assert dest.read_text(encoding="utf-8") == "one"
    assert dest.stat().st_mtime == 1_600_000_000
    assert listing(tmp_path / "inbox") == {}
    assert listing(dest.parent) == {"7-leads.csv": "one"}


def test_move_never_overwrites(tmp_path: Path) -> None:
    done = tmp_path / "done"
    put(done, "leads.csv", "first")
    put(done, "leads-2.csv", "second")
    src = put(tmp_path / "inbox", "leads.csv", "third")
    got = move_file(src, done / "leads.csv")
    assert got == done / "leads-3.csv"
    assert listing(done) == {"leads-2.csv": "second", "leads-3.csv": "third", "leads.csv": "first"}
    assert not src.exists()


@posix_only
def test_a_name_taken_in_the_race_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process creates the free name between our look and our move."""
    done = tmp_path / "done"
    done.mkdir()
    src = put(tmp_path / "inbox", "leads.csv", "ours")

    def link(a: Any, b: Any, **kw: Any) -> None:
        if Path(b).name == "leads.csv":
            put(done, "leads.csv", "theirs")  # just in time
        REAL_LINK(a, b, **kw)

    monkeypatch.setattr(os, "link", link)
    got = move_file(src, done / "leads.csv")
    assert got == done / "leads-2.csv"
    assert listing(done) == {"leads-2.csv": "ours", "leads.csv": "theirs"}


def test_without_hard_links_a_checked_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_hard_links(monkeypatch)
    done = tmp_path / "done"
    first = move_file(put(tmp_path / "inbox", "leads.csv", "first"), done / "leads.csv")
    assert first == done / "leads.csv"  # the name it asked for, when free
    src = put(tmp_path / "inbox", "leads.csv", "second")
    got = move_file(src, done / "leads.csv")
    assert got == done / "leads-2.csv"
    assert listing(done) == {"leads-2.csv": "second", "leads.csv": "first"}
    assert not src.exists()


@posix_only
def test_a_failed_unlink_leaves_the_file_where_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = put(tmp_path / "inbox", "leads.csv", "data")
    fail_on(monkeypatch, "unlink", REAL_UNLINK, lambda p, *a: Path(p) == src)
    with pytest.raises(SourceError) as err:
        move_file(src, tmp_path / "done" / "leads.csv")
    assert err.value.message == (
        f"could not move {src} to {tmp_path / 'done'}/ (Input/output error); it is still in "
        f"{src.parent}."
    )
    assert err.value.code == "archive"
    assert "--archive" in err.value.hint
    assert src.read_text(encoding="utf-8") == "data"
    assert listing(tmp_path / "done") == {}  # the extra link is gone


@pytest.mark.parametrize("across", [False, True], ids=["same-fs", "across"])
def test_a_source_removed_by_someone_else_mid_move_is_kept_in_the_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, across: bool
) -> None:
    """The last name of the file is ours: it must not be cleaned up as a failed move."""
    if across:
        across_filesystems(monkeypatch)
    src = put(tmp_path / "inbox", "leads.csv", "data")

    def unlink(path: Any, *a: Any, **kw: Any) -> None:
        if Path(path) == src:
            REAL_UNLINK(path)  # the other party's delete, just before ours
        REAL_UNLINK(path, *a, **kw)

    monkeypatch.setattr(os, "unlink", unlink)
    got = move_file(src, tmp_path / "done" / "leads.csv")
    assert got == tmp_path / "done" / "leads.csv"
    assert listing(tmp_path / "done") == {"leads.csv": "data"}
    assert not src.exists()


def test_a_folder_that_cannot_be_made(tmp_path: Path) -> None:
    src = put(tmp_path / "inbox", "leads.csv")
    put(tmp_path, "archive")  # a FILE where the archive folder should be
    with pytest.raises(SourceError) as err:
        move_file(src, tmp_path / "archive" / "processed" / "leads.csv")
    assert err.value.message == (
        f"could not move {src} to {tmp_path / 'archive' / 'processed'}/ (Not a directory); it is "
        f"still in {src.parent}."
    )
    assert src.exists()


def test_a_source_that_is_gone(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as err:
        move_file(tmp_path / "gone.csv", tmp_path / "done" / "gone.csv")
    assert err.value.message == (
        f"could not move {tmp_path / 'gone.csv'}: it is no longer there (moved or deleted by "
        "someone else)."
    )


@posix_only
@pytest.mark.parametrize("kind", ["symlink", "fifo", "folder"])
def test_only_regular_files_are_moved(tmp_path: Path, kind: str) -> None:
    src = tmp_path / "inbox" / "x.csv"
    src.parent.mkdir()
    if kind == "symlink":
        src.symlink_to(put(tmp_path, "real.csv"))
    elif kind == "fifo":
        os.mkfifo(src)
    else:
        src.mkdir()
    with pytest.raises(SourceError, match="it is not a regular file"):
        move_file(src, tmp_path / "done" / "x.csv")
    assert os.path.lexists(src)
    assert not (tmp_path / "done").exists()


# --- across filesystems (EXDEV) ------------------------------------------------------------


def test_across_filesystems_copy_then_delete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = across_filesystems(monkeypatch)
    synced: list[int] = []

    def fsync(fd: int) -> None:
        synced.append(fd)
        REAL_FSYNC(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    src = put(tmp_path / "inbox", "leads.csv", "x" * 3_000_000)  # more than one copy chunk
    os.utime(src, (1_600_000_000, 1_600_000_000))
    done = tmp_path / "done"
    put(done, "leads.csv", "older")
    got = move_file(src, done / "leads.csv")
    assert refused  # the link really was refused: this was the copy path
    assert got == done / "leads-2.csv"
    assert listing(done) == {"leads-2.csv": "x" * 3_000_000, "leads.csv": "older"}  # no temp
    assert got.stat().st_mtime == 1_600_000_000
    assert not src.exists()
    assert len(synced) >= 2  # the copy and its folder


@pytest.mark.parametrize("links", [True, False], ids=["links", "no-links"])
def test_across_filesystems_never_overwrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, links: bool
) -> None:
    across_filesystems(monkeypatch)
    if not links:
        no_hard_links(monkeypatch)  # the copy is then given its name by a checked rename
    done = tmp_path / "done"
    put(done, "a.results.csv", "1")
    put(done, "a.results-2.csv", "2")
    src = put(tmp_path / "inbox", "a.results.csv", "3")
    got = move_file(src, done / "a.results.csv")
    assert got == done / "a.results-3.csv"
    assert listing(done) == {"a.results-2.csv": "2", "a.results-3.csv": "3", "a.results.csv": "1"}
    assert not src.exists()


def test_across_filesystems_a_failed_copy_keeps_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    across_filesystems(monkeypatch)
    fail_on(monkeypatch, "fsync", REAL_FSYNC, lambda fd: True)  # e.g. the disk filled up
    src = put(tmp_path / "inbox", "leads.csv", "data")
    with pytest.raises(SourceError, match=r"\(Input/output error\); it is still in"):
        move_file(src, tmp_path / "done" / "leads.csv")
    assert src.read_text(encoding="utf-8") == "data"
    assert listing(tmp_path / "done") == {}  # the partial copy is removed


def test_across_filesystems_a_failed_delete_keeps_one_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only vendor folder: the copy is made but the source cannot be deleted."""
    across_filesystems(monkeypatch)
    src = put(tmp_path / "inbox", "leads.csv", "data")
    fail_on(monkeypatch, "unlink", REAL_UNLINK, lambda p, *a: Path(p) == src)
    with pytest.raises(SourceError, match="it is still in"):
        move_file(src, tmp_path / "done" / "leads.csv")
    assert src.read_text(encoding="utf-8") == "data"
    assert listing(tmp_path / "done") == {}


def test_across_filesystems_a_source_changing_during_the_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    across_filesystems(monkeypatch)
    src = put(tmp_path / "inbox", "leads.csv", "data")

    def fsync(fd: int) -> None:
        with src.open("a", encoding="utf-8") as f:
            f.write("more")
        REAL_FSYNC(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(SourceError, match="the file changed while it was being copied"):
        move_file(src, tmp_path / "done" / "leads.csv")
    assert src.read_text(encoding="utf-8") == "datamore"
    assert listing(tmp_path / "done") == {}


def test_interrupted_copy_keeps_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C in the middle: not an OSError, still cleaned up and re-raised as it is."""
    across_filesystems(monkeypatch)

    def fsync(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", fsync)
    src = put(tmp_path / "inbox", "leads.csv", "data")
    with pytest.raises(KeyboardInterrupt):
        move_file(src, tmp_path / "done" / "leads.csv")
    assert src.exists()
    assert listing(tmp_path / "done") == {}


def _other_filesystem(tmp_path: Path) -> Path | None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        return None
    if shm.stat().st_dev == tmp_path.stat().st_dev:
        return None
    return shm


def test_a_real_move_to_another_filesystem(tmp_path: Path) -> None:
    other = _other_filesystem(tmp_path)
    if other is None:
        pytest.skip("no second filesystem (/dev/shm) here")
    src = put(tmp_path / "inbox", "leads.csv", "data")
    dest_folder = other / f"syncer-test-{os.getpid()}-{tmp_path.name}"
    try:
        got = move_file(src, dest_folder / "leads.csv")
        assert got == dest_folder / "leads.csv"
        assert listing(dest_folder) == {"leads.csv": "data"}
        assert not src.exists()
        # and back, under a free name
        put(tmp_path / "inbox", "leads.csv", "new")
        back = move_file(got, tmp_path / "inbox" / "leads.csv")
        assert back == tmp_path / "inbox" / "leads-2.csv"
        assert listing(tmp_path / "inbox") == {"leads-2.csv": "data", "leads.csv": "new"}
    finally:
        for path in dest_folder.glob("*"):
            path.unlink()
        if dest_folder.exists():
            dest_folder.rmdir()


# --- notes ---------------------------------------------------------------------------------


def test_write_note(tmp_path: Path) -> None:
    folder = tmp_path / "failed" / "2024-03-07"
    got = write_note(folder / "leads.csv.error.txt", "unreadable: not a CSV\n")
    assert got == folder / "leads.csv.error.txt"
    assert listing(folder) == {"leads.csv.error.txt": "unreadable: not a CSV\n"}
    again = write_note(folder / "leads.csv.error.txt", "second — é\n")
    assert again == folder / "leads.csv.error-2.txt"
    assert again.read_bytes() == "second — é\n".encode()
    assert listing(folder)["leads.csv.error.txt"] == "unreadable: not a CSV\n"


@posix_only
def test_a_note_is_readable_by_others_like_any_new_file(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        got = write_note(tmp_path / "n.txt", "x")
    finally:
        os.umask(old)
    assert got.stat().st_mode & 0o777 == 0o644


def test_write_note_without_hard_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_hard_links(monkeypatch)
    put(tmp_path, "n.txt", "old")
    got = write_note(tmp_path / "n.txt", "new")
    assert got == tmp_path / "n-2.txt"
    assert listing(tmp_path) == {"n-2.txt": "new", "n.txt": "old"}


def test_a_note_that_cannot_be_written_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_on(monkeypatch, "fsync", REAL_FSYNC, lambda fd: True)
    with pytest.raises(SourceError) as err:
        write_note(tmp_path / "n.txt", "text")
    assert err.value.message == f"could not write {tmp_path / 'n.txt'} (Input/output error)."
    assert err.value.hint == archive.ARCHIVE_HINT
    assert listing(tmp_path) == {}
