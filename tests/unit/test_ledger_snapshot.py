"""The snapshot of an org's memory of a target (syncer.ledger.snapshot) and the write count
that vouches for it (syncer.ledger.write_count): used when nothing changed, never when
anything did, whoever wrote it."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

import syncer.ledger.synced as synced_module
from syncer.ledger import Ledger, read_synced, snapshot, write_count
from syncer.models import RowOutcome, RowStatus

ORG, TARGET = "https://api.example#key:abc", "account_contact"
IDS = ["contact_id", "account_id"]
N = 40


@pytest.fixture(autouse=True)
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots (and whole-target reads) from 10 rows on, not 50,000."""
    monkeypatch.setattr(snapshot, "SNAPSHOT_FROM", 10)
    monkeypatch.setattr(synced_module, "SCAN_FROM", 10)


def _first_run(path: Path, n: int = N, target: str = TARGET) -> None:
    """A finished run that recorded ``n`` rows (its finish writes the snapshot)."""
    with Ledger(path) as led:
        run = led.start_run(
            org=ORG, base_url="https://api.example", target=target, source="x.csv",
            mapping=None, command="run",
        )  # fmt: skip
        for i in range(n):
            ok = RowOutcome(i, RowStatus.SUCCEEDED, contact_id=f"c{i}", account_id=f"a{i}")
            led.record(ORG, target, run, f"k{i:03d}", f"h{i}", ok)
        led.finish_run(
            run, outcome="finished", exit_code=0, rows=n, counts={}, requests=n,
            message=None, results_path=None, failures_path=None,
        )  # fmt: skip


def _kept(path: Path) -> pl.DataFrame | None:
    """The snapshot's frame, if the ledger vouches for it."""
    db = sqlite3.connect(str(path))
    try:
        return snapshot.read(db, path, ORG, TARGET, IDS)
    finally:
        db.close()


def _ledger_frame(path: Path) -> pl.DataFrame:
    db = sqlite3.connect(str(path))
    try:
        frame = read_synced(db, ORG, TARGET, IDS)
        assert frame is not None
        return frame
    finally:
        db.close()


def _frame(path: Path) -> pl.DataFrame:
    """What a run's plan gets: Ledger.synced_frame of every key."""
    with Ledger(path) as led:
        keys = pl.Series([f"k{i:03d}" for i in range(N)])
        frame = led.synced_frame(ORG, TARGET, keys, IDS)
    return frame.filter(pl.col("key").is_in(keys.implode())).sort("key")


def _hash_of(frame: pl.DataFrame, key: str) -> str | None:
    return frame.filter(pl.col("key") == key)["body_sha256"].item()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "ledger.db"
    _first_run(path)
    yield path


def test_a_finished_run_leaves_a_snapshot_equal_to_the_ledger(ledger: Path) -> None:
    kept = _kept(ledger)
    assert kept is not None and kept.height == N
    assert kept.equals(_ledger_frame(ledger))
    assert _frame(ledger).equals(_ledger_frame(ledger).sort("key"))
    files = list(snapshot.snapshot_dir(ledger).iterdir())
    assert files == [snapshot.snapshot_path(ledger, ORG, TARGET)]
    assert files[0].stat().st_mode & 0o777 == ledger.stat().st_mode & 0o666


def test_the_snapshot_is_what_the_plan_reads(ledger: Path) -> None:
    # proof it is read: the same rows, told apart by a value only the snapshot holds
    path = snapshot.snapshot_path(ledger, ORG, TARGET)
    frame = pl.read_parquet(path).with_columns(updated_at=pl.lit("from the snapshot"))
    sha = snapshot._write(ledger, path, frame)
    with sqlite3.connect(str(ledger)) as db:
        db.execute("UPDATE synced_writes SET snapshot_sha256=?", (sha,))
    assert set(_frame(ledger)["updated_at"]) == {"from the snapshot"}


def test_a_small_target_gets_no_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    _first_run(path, n=5)
    assert not snapshot.snapshot_path(path, ORG, TARGET).exists()
    assert _kept(path) is None


def test_a_write_by_another_ledger_instance_is_seen(ledger: Path) -> None:
    with Ledger(ledger) as other:
        other.record(ORG, TARGET, 7, "k003", "changed", RowOutcome(3, RowStatus.SUCCEEDED))
    assert _kept(ledger) is None
    assert _hash_of(_frame(ledger), "k003") == "changed"


def test_a_kept_id_without_a_body_hash_is_seen(ledger: Path) -> None:
    with Ledger(ledger) as other:
        other.keep(ORG, TARGET, 7, "k004", {"contact_id": "c-new"}, now=True)
    assert _kept(ledger) is None
    frame = _frame(ledger)
    assert frame.filter(pl.col("key") == "k004")["id:contact_id"].item() == "c-new"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE synced SET body_sha256='by hand' WHERE key='k005'",
        "DELETE FROM synced WHERE key='k005'",
        "INSERT INTO synced (org, target, key, body_sha256, last_status, updated_at) "
        "VALUES ('{org}', '{target}', 'k999', 'by hand', 'succeeded', 'now')",
        "UPDATE synced SET org='elsewhere' WHERE key='k005'",
        "UPDATE synced SET org='{org}' WHERE org='elsewhere'",
    ],
    ids=["update", "delete", "insert", "moved away", "moved in"],
)
def test_a_hand_edit_with_sqlite_is_seen(ledger: Path, sql: str) -> None:
    """Older syncers and the sqlite3 shell write without this code: the triggers count it."""
    with sqlite3.connect(str(ledger)) as db:
        if "WHERE org='elsewhere'" in sql:  # a row of another org, the snapshot taken after
            db.execute("UPDATE synced SET org='elsewhere', key='k900' WHERE key='k006'")
            snapshot.refresh(ledger, ORG, TARGET, IDS)
            assert _kept(ledger) is not None
        db.execute(sql.format(org=ORG, target=TARGET))
    assert _kept(ledger) is None
    assert _frame(ledger).equals(
        _ledger_frame(ledger).filter(pl.col("key").str.starts_with("k0")).sort("key")
    )


def test_an_interrupted_run_leaves_no_trusted_snapshot(ledger: Path) -> None:
    """Rows committed by a run killed before its finish: the snapshot is older than them."""
    led = Ledger(ledger)
    led.record(ORG, TARGET, 9, "k007", "new", RowOutcome(7, RowStatus.SUCCEEDED))
    led.flush()  # committed; the process is then killed (no finish_run, no close)
    assert _kept(ledger) is None
    assert _hash_of(_frame(ledger), "k007") == "new"
    led.close()


def test_a_run_killed_between_its_commit_and_the_snapshot(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(*_: object) -> str:
        raise OSError("killed while writing the snapshot")

    monkeypatch.setattr(snapshot, "_write", killed)
    _run_writing(ledger, {"k008": "new"})
    assert _kept(ledger) is None
    assert _hash_of(_frame(ledger), "k008") == "new"


def test_a_write_while_the_snapshot_is_written_is_not_covered(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process commits after the snapshot's rows were read, before it is recorded."""
    write = snapshot._write

    def racing(led: Path, path: Path, frame: pl.DataFrame) -> str:
        with Ledger(led) as other:
            other.record(ORG, TARGET, 9, "k009", "raced", RowOutcome(9, RowStatus.SUCCEEDED))
        return write(led, path, frame)

    with Ledger(ledger) as led:
        led.record(ORG, TARGET, 9, "k010", "new", RowOutcome(10, RowStatus.SUCCEEDED))
    monkeypatch.setattr(snapshot, "_write", racing)
    assert snapshot.refresh(ledger, ORG, TARGET, IDS) is False
    assert _kept(ledger) is None
    frame = _frame(ledger)
    assert (_hash_of(frame, "k009"), _hash_of(frame, "k010")) == ("raced", "new")


@pytest.mark.parametrize("damage", ["truncated", "byte changed", "removed", "empty"])
def test_a_damaged_snapshot_file_is_not_used(ledger: Path, damage: str) -> None:
    path = snapshot.snapshot_path(ledger, ORG, TARGET)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "byte changed":
        path.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    elif damage == "removed":
        path.unlink()
    else:
        path.write_bytes(b"")
    assert _kept(ledger) is None
    assert _frame(ledger).equals(_ledger_frame(ledger).sort("key"))
    # the next finished run writes it again
    snapshot.refresh(ledger, ORG, TARGET, IDS)
    assert _kept(ledger) is not None


def test_a_snapshot_of_another_ledger_is_not_used(tmp_path: Path, ledger: Path) -> None:
    other = tmp_path / "other" / "ledger.db"
    other.parent.mkdir()
    _first_run(other)
    with Ledger(other) as led:  # same counts, other values
        led.record(ORG, TARGET, 9, "k011", "other", RowOutcome(11, RowStatus.SUCCEEDED))
    with Ledger(ledger) as led:
        led.record(ORG, TARGET, 9, "k012", "mine", RowOutcome(12, RowStatus.SUCCEEDED))
    snapshot.refresh(other, ORG, TARGET, IDS)
    snapshot.refresh(ledger, ORG, TARGET, IDS)
    shutil.copy(
        snapshot.snapshot_path(other, ORG, TARGET), snapshot.snapshot_path(ledger, ORG, TARGET)
    )
    assert _kept(ledger) is None
    frame = _frame(ledger)
    assert (_hash_of(frame, "k011"), _hash_of(frame, "k012")) == ("h11", "mine")


def test_a_ledger_put_back_from_a_backup(tmp_path: Path, ledger: Path) -> None:
    """The backup's record of its snapshot names another file than the one beside it now."""
    backup = tmp_path / "backup.db"
    shutil.copy(ledger, backup)
    with Ledger(ledger) as led:
        led.record(ORG, TARGET, 9, "k013", "later", RowOutcome(13, RowStatus.SUCCEEDED))
    snapshot.refresh(ledger, ORG, TARGET, IDS)
    shutil.copy(backup, ledger)
    assert _kept(ledger) is None
    assert _hash_of(_frame(ledger), "k013") == "h13"


def test_a_copied_ledger_keeps_its_own_count(tmp_path: Path, ledger: Path) -> None:
    copy = tmp_path / "copy" / "ledger.db"
    copy.parent.mkdir()
    shutil.copy(ledger, copy)
    shutil.copytree(snapshot.snapshot_dir(ledger), snapshot.snapshot_dir(copy))
    assert _kept(copy) is not None  # the same file and count: still true of the copy
    with Ledger(copy) as led:
        led.record(ORG, TARGET, 9, "k014", "copy", RowOutcome(14, RowStatus.SUCCEEDED))
    assert _kept(copy) is None
    assert _kept(ledger) is not None
    assert _hash_of(_frame(ledger), "k014") == "h14"


def test_triggers_dropped_by_hand(ledger: Path) -> None:
    """A write while the triggers were gone is uncounted: adding them back forgets every
    snapshot recorded."""
    with sqlite3.connect(str(ledger)) as db:
        for name in write_count.TRIGGERS:
            db.execute(f"DROP TRIGGER {name}")
    assert _kept(ledger) is None
    with sqlite3.connect(str(ledger)) as db:
        db.execute("UPDATE synced SET body_sha256='uncounted' WHERE key='k015'")
    with Ledger(ledger):  # an open puts the triggers back
        pass
    assert _kept(ledger) is None
    assert _hash_of(_frame(ledger), "k015") == "uncounted"


def test_an_older_ledger_gets_the_count_when_opened(tmp_path: Path) -> None:
    """A ledger of the code before the count: no snapshot until a run finishes on it."""
    path = tmp_path / "ledger.db"
    _first_run(path)
    with sqlite3.connect(str(path)) as db:
        db.execute("DROP TABLE synced_writes")
        for name in write_count.TRIGGERS:
            db.execute(f"DROP TRIGGER {name}")
    assert _kept(path) is None
    with Ledger(path) as led:
        assert write_count.present(led.connection)
    assert _kept(path) is None
    assert snapshot.refresh(path, ORG, TARGET, IDS)
    assert _kept(path) is not None


def test_a_snapshot_without_an_id_column_asked_for_is_not_used(ledger: Path) -> None:
    db = sqlite3.connect(str(ledger))
    try:
        assert snapshot.read(db, ledger, ORG, TARGET, ["deal_id"]) is None
        assert snapshot.read(db, ledger, ORG, TARGET, IDS, max_rows=N - 1) is None
    finally:
        db.close()


def test_a_target_that_shrinks_loses_its_snapshot(ledger: Path) -> None:
    with sqlite3.connect(str(ledger)) as db:
        db.execute("DELETE FROM synced WHERE key >= 'k005'")
    assert snapshot.refresh(ledger, ORG, TARGET, IDS) is False
    assert not snapshot.snapshot_path(ledger, ORG, TARGET).exists()
    assert _kept(ledger) is None


def _run_writing(path: Path, writes: dict[str, str], between: dict[str, str] | None = None) -> None:
    """A finished run that records ``writes`` (key -> body hash), the first in a commit of its
    own; ``between``: what another Ledger commits right after that first commit."""
    with Ledger(path) as led:
        run = led.start_run(
            org=ORG, base_url="b", target=TARGET, source="x", mapping=None, command="run"
        )
        for i, (key, digest) in enumerate(writes.items()):
            led.record(ORG, TARGET, run, key, digest, RowOutcome(i, RowStatus.SUCCEEDED))
            if i == 0:
                led.flush()
                if between:
                    with Ledger(path) as other:
                        for k, d in between.items():
                            other.record(ORG, TARGET, 99, k, d, RowOutcome(0, RowStatus.SUCCEEDED))
        led.finish_run(
            run, outcome="finished", exit_code=0, rows=1, counts={}, requests=1,
            message=None, results_path=None, failures_path=None,
        )  # fmt: skip


def test_a_run_that_changed_a_few_rows_merges_them_into_the_snapshot(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def whole_read(*_: object) -> int:
        raise AssertionError("the whole target was read again")

    monkeypatch.setattr(snapshot, "_rows", whole_read)
    _run_writing(ledger, {"k001": "new1", "k020": "new20", "k500": "added"})
    kept = _kept(ledger)
    assert kept is not None
    assert kept.sort("key").equals(_ledger_frame(ledger))
    assert (_hash_of(kept, "k001"), _hash_of(kept, "k500")) == ("new1", "added")


@pytest.mark.parametrize("when", ["between its commits", "after its last commit"])
def test_another_writer_during_a_run_makes_it_read_the_whole_target(
    ledger: Path, when: str
) -> None:
    other = {"k030": "theirs", "k600": "theirs too"}
    # the other writer commits after the run's first commit: of two, or of its only one
    mine = (
        {"k001": "mine", "k002": "mine too"} if when == "between its commits" else {"k001": "mine"}
    )
    _run_writing(ledger, mine, between=other)
    kept = _kept(ledger)
    assert kept is not None
    assert kept.sort("key").equals(_ledger_frame(ledger))
    assert (_hash_of(kept, "k030"), _hash_of(kept, "k600")) == ("theirs", "theirs too")


def test_a_killed_writers_temporary_file_is_removed_later(ledger: Path) -> None:
    folder = snapshot.snapshot_dir(ledger)
    old, new = folder / ".old-writer.tmp", folder / ".running-writer.tmp"
    for tmp in (old, new):
        tmp.write_bytes(b"half a snapshot")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    _run_writing(ledger, {"k001": "new"})
    assert not old.exists() and new.exists()
    assert _kept(ledger) is not None


# -- the snapshot's order: a re-run of the file lines up with it row by row (syncer.runner.plan)


def _finish_in_order(path: Path, order: list[str], writes: dict[str, str] | None = None) -> None:
    """A finished run whose file held ``order``'s keys in that order (and wrote ``writes``)."""
    with Ledger(path) as led:
        run = led.start_run(
            org=ORG, base_url="b", target=TARGET, source="x", mapping=None, command="run"
        )
        for i, (key, digest) in enumerate((writes or {}).items()):
            led.record(ORG, TARGET, run, key, digest, RowOutcome(i, RowStatus.SUCCEEDED))
        led.finish_run(
            run, outcome="finished", exit_code=0, rows=len(order), counts={}, requests=0,
            message=None, results_path=None, failures_path=None,
            key_order=pl.Series(order, dtype=pl.String),
        )  # fmt: skip


KEYS = [f"k{i:03d}" for i in range(N)]


def test_a_run_with_nothing_written_puts_a_current_snapshot_in_its_files_order(
    ledger: Path,
) -> None:
    before = _kept(ledger)
    assert before is not None and before["key"].to_list() == KEYS  # the ledger's (key) order
    order = KEYS[::-1]
    _finish_in_order(ledger, order)
    kept = _kept(ledger)
    assert kept is not None, "the rewritten snapshot is vouched for"
    assert kept["key"].to_list() == order
    assert kept.sort("key").equals(_ledger_frame(ledger))


def test_keys_of_the_target_the_file_lacks_come_after_its_own(ledger: Path) -> None:
    order = [
        KEYS[i] for i in (30, 2, 17, 5, 39, 0, 11, 25, 8, 21, 33, 14, 1, 36, 19, 27, 4, 22, 9, 31)
    ]
    _finish_in_order(ledger, order)
    kept = _kept(ledger)
    assert kept is not None
    assert kept["key"].to_list() == order + [k for k in KEYS if k not in order]


def test_the_order_of_a_file_of_a_small_part_of_the_target_is_not_kept(ledger: Path) -> None:
    path = snapshot.snapshot_path(ledger, ORG, TARGET)
    before = path.read_bytes()
    _finish_in_order(ledger, ["k039", "k001", "k017"])  # 3 of 40 keys: not the target's file
    assert path.read_bytes() == before
    kept = _kept(ledger)
    assert kept is not None and kept["key"].to_list() == KEYS


def test_rows_written_again_keep_their_places_and_new_keys_come_last(ledger: Path) -> None:
    order = KEYS[::-1]
    _finish_in_order(ledger, order)
    _run_writing(ledger, {"k001": "new1", "k020": "new20", "k500": "added"})
    kept = _kept(ledger)
    assert kept is not None
    assert kept["key"].to_list() == [*order, "k500"]
    assert kept.sort("key").equals(_ledger_frame(ledger))
    assert (_hash_of(kept, "k001"), _hash_of(kept, "k500")) == ("new1", "added")


def test_a_run_that_writes_and_has_an_order_writes_the_merged_snapshot_in_it(
    ledger: Path,
) -> None:
    order = ["k500", *KEYS[::-1]]
    _finish_in_order(ledger, order, writes={"k500": "added", "k003": "new3"})
    kept = _kept(ledger)
    assert kept is not None
    assert kept["key"].to_list() == order
    assert kept.sort("key").equals(_ledger_frame(ledger))
