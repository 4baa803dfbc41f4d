"""The digest memo (syncer.runner.digest_memo): digests taken from it are the ones computed
from the bodies, whatever changed in the file; a memo of another recipe, or one polars cannot
read, is not used; a damaged one only makes rows be sent."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from syncer.runner import prepare
from syncer.runner.digest_memo import DigestMemo, Remembered, digests_of

ROOT = Path(__file__).resolve().parents[2]
LEADS = ROOT / "sample_data" / "leads.csv"
MAPPING = ROOT / "mappings" / "leads.yaml"


def _memo(tmp_path: Path) -> DigestMemo:
    return DigestMemo(tmp_path / "memo" / "abc.digests.parquet", 0o640, min_rows=0)


def _source(tmp_path: Path, frame: pl.DataFrame, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    frame.write_csv(path)
    return path


def _leads() -> pl.DataFrame:
    return pl.read_csv(LEADS, infer_schema=False)


def _digests(path: Path, memo: DigestMemo, mapping: Path = MAPPING) -> Remembered:
    """The memo's digests of ``path``, checked against every body built and hashed."""
    prepared = prepare(path, mapping)
    got = memo.digests(prepared)
    assert got.digests.equals(prepared.digests())
    return got


def test_a_kept_memo_gives_every_digest_of_the_same_file(tmp_path: Path) -> None:
    memo, source = _memo(tmp_path), _source(tmp_path, _leads())
    first = _digests(source, memo)
    assert first.computed == first.digests.height > 100
    assert memo.keep(first)
    assert list(memo.path.parent.iterdir()) == [memo.path]
    assert memo.path.stat().st_mode & 0o777 == 0o640
    again = _digests(source, memo)
    assert again.computed == 0
    assert not memo.keep(again)  # nothing new: not written again
    early = _digests(source, memo.read_early())  # read in a thread, taken by digests()
    assert early.computed == 0


def test_rows_changed_in_place_or_added_at_the_end_are_computed(tmp_path: Path) -> None:
    memo, leads = _memo(tmp_path), _leads()
    assert memo.keep(_digests(_source(tmp_path, leads), memo))
    changed = leads.with_columns(
        pl.when(pl.int_range(pl.len()) % 50 == 7)
        .then(pl.lit("Chief Tester"))
        .otherwise(pl.col("Job Title"))
        .alias("Job Title")
    )
    extra = leads.head(3).with_columns(
        pl.format("new{}@example.com", pl.int_range(3)).alias("Email")
    )
    got = _digests(_source(tmp_path, pl.concat([changed, extra]), "v2.csv"), memo)
    assert 3 < got.computed <= 3 + 4  # the changed rows that are ready, and the new ones


def test_rows_of_a_reordered_file_are_found_by_their_values(tmp_path: Path) -> None:
    memo, leads = _memo(tmp_path), _leads()
    assert memo.keep(_digests(_source(tmp_path, leads), memo))
    moved = leads.reverse().with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("Moved"))
        .otherwise("Company")
        .alias("Company")
    )
    got = _digests(_source(tmp_path, moved, "moved.csv"), memo)
    # the changed row, and the rows dedupe (keep: last) now takes from other duplicates
    assert 1 <= got.computed <= 5 < got.digests.height


def test_a_memo_of_another_mapping_is_not_used_and_gives_way(tmp_path: Path) -> None:
    memo, source = _memo(tmp_path), _source(tmp_path, _leads())
    assert memo.keep(_digests(source, memo))
    other = tmp_path / "clear.yaml"
    other.write_text(MAPPING.read_text().replace("on_empty: omit", "on_empty: clear"))
    got = _digests(source, memo, other)
    assert got.computed == got.digests.height  # another body recipe: nothing taken from it
    assert memo.keep(got)  # the memo of the last file's recipe replaces it
    assert _digests(source, memo, other).computed == 0
    first = _digests(source, memo)
    assert first.computed == first.digests.height


@pytest.mark.parametrize("damage", ["truncated", "not parquet", "other columns"])
def test_a_memo_polars_cannot_use_is_ignored(tmp_path: Path, damage: str) -> None:
    memo, source = _memo(tmp_path), _source(tmp_path, _leads())
    assert memo.keep(_digests(source, memo))
    path = memo.path
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "not parquet":
        path.write_bytes(b"not a memo")
    else:
        pl.read_parquet(path).rename({"digest": "other"}).write_parquet(path)
    got = _digests(source, memo)
    assert got.computed == got.digests.height


def test_a_damaged_digest_makes_its_row_look_changed(tmp_path: Path) -> None:
    memo, source = _memo(tmp_path), _source(tmp_path, _leads())
    first = _digests(source, memo)
    assert memo.keep(first)
    path = memo.path
    pairs = pl.read_parquet(path)
    pairs.with_columns(pl.col("digest").str.replace("^.", "x")).write_parquet(path)
    prepared = prepare(source, MAPPING)
    got = memo.digests(prepared)
    truth = prepared.digests()["digest"]
    # no damaged digest equals a true one: each such row differs from what the ledger holds
    assert (got.digests["digest"] != truth).all()


def test_small_files_and_dry_runs(tmp_path: Path) -> None:
    source = _source(tmp_path, _leads())
    prepared = prepare(source, MAPPING)
    big = DigestMemo(tmp_path / "m" / "abc.digests.parquet", 0o600)  # from 50,000 ready rows
    small = digests_of(prepared, big)
    assert small.hashes is None and small.digests.equals(prepared.digests())
    assert not big.keep(small)
    dry = DigestMemo(tmp_path / "m" / "abc.digests.parquet", 0o600, writable=False, min_rows=0)
    assert not dry.keep(digests_of(prepared, dry))
    assert not (tmp_path / "m").exists()


def test_a_memo_that_cannot_be_written_is_no_failure(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the memo's folder would be")
    memo = DigestMemo(blocked / "abc.digests.parquet", 0o600, min_rows=0)
    assert not memo.keep(_digests(_source(tmp_path, _leads()), memo))
