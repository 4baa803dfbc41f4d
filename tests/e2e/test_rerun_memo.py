"""Issue 15 goal 1: a re-run that takes its digests from the memo of the run before
(syncer.runner.digest_memo) decides and writes exactly what one that builds and hashes every
body does, on a ledger the code before the memo wrote; a damaged memo only costs requests,
and the ledger keeps the hash of the body sent, never a memo's.

The memo is used from 1 ready row here (50,000 for real; bench/bench_rerun.py times 1M rows).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
from pathlib import Path

import polars as pl
import pytest

import syncer.runner.digest_memo as memo_module
from syncer import RunSummary, Settings, sync
from syncer.ledger import snapshot
from syncer.runner import prepare

from .ledger_helpers import ENDPOINT, endpoint_requests, sandbox

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "ledgers" / "rerun"
ORG = "rerun-fixture"  # the org tests/data/ledgers/rerun/make_rerun.py recorded
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(autouse=True)
def memo_from_one_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo_module, "MEMO_FROM", 1)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    for name in ("leads.csv", "leads-changed.csv", "leads.yaml"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    shutil.copy(FIXTURE / "rerun.db", tmp_path / "ledger.db")  # written before the memo
    return tmp_path


def _run(work: Path, source: str) -> tuple[RunSummary, int, bytes]:
    """A run of ``source`` on the work folder's ledger: summary, requests, results file."""
    results = work / "out.results.csv"
    with sandbox() as sb:
        settings = Settings(
            base_url=sb.base_url, api_key=sb.api_key, ledger=work / "ledger.db", org=ORG,
            results=results,
        )  # fmt: skip
        summary = sync(work / source, work / "leads.yaml", settings)
        sent = endpoint_requests(sb, ENDPOINT)
    return summary, sent, results.read_bytes()


def _memos(work: Path) -> list[Path]:
    return sorted(snapshot.snapshot_dir(work / "ledger.db").glob("*.digests.parquet"))


def test_unchanged_from_the_memo_as_without_it(work: Path) -> None:
    want = (FIXTURE / "same.results.csv").read_bytes()
    summary, sent, first = _run(work, "leads.csv")  # computes every digest, keeps the memo
    assert (summary.counts["unchanged"], sent, first) == (74, 0, want)
    (memo,) = _memos(work)
    written = memo.stat().st_mtime_ns
    summary, sent, again = _run(work, "leads.csv")  # every digest from the memo
    assert (summary.counts["unchanged"], sent, again) == (74, 0, want)
    assert memo.stat().st_mtime_ns == written  # nothing new to keep: not written again


def test_changed_rows_found_with_the_memo_of_the_last_file(work: Path) -> None:
    _run(work, "leads.csv")
    summary, sent, got = _run(work, "leads-changed.csv")
    # 5 titles changed, a value blanked (sent as ""), 2 new rows; + preflight's probe
    assert (summary.counts["unchanged"], summary.counts["succeeded"], sent) == (68, 8, 8 + 1)
    want = (FIXTURE / "changed.results.csv").read_bytes()
    assert UUID.sub(b"<id>", got) == UUID.sub(b"<id>", want)
    assert len(_memos(work)) == 1  # the memo of the last file replaced the first's


def test_a_damaged_memo_sends_the_row_and_the_ledger_keeps_the_bodys_hash(work: Path) -> None:
    _run(work, "leads.csv")
    (memo,) = _memos(work)
    pairs = pl.read_parquet(memo)
    bad = pl.int_range(pl.len()) < 3
    pairs.with_columns(
        pl.when(bad).then(pl.lit("0" * 64)).otherwise(pl.col("digest")).alias("digest")
    ).write_parquet(memo)
    summary, sent, _ = _run(work, "leads.csv")
    assert (summary.counts["unchanged"], summary.counts["succeeded"], sent) == (71, 3, 3 + 1)
    prepared = prepare(work / "leads.csv", work / "leads.yaml")
    truth = {
        key: hashlib.sha256(text.encode()).hexdigest() for _, key, text in prepared.iter_texts()
    }
    db = sqlite3.connect(work / "ledger.db")
    try:
        kept = dict(db.execute("SELECT key, body_sha256 FROM synced WHERE org=?", (ORG,)))
    finally:
        db.close()
    assert {k: kept[k] for k in truth} == truth  # every body's own hash, none of the memo's
    assert _memos(work) == []  # it gave a wrong digest: forgotten
    summary, sent, _ = _run(work, "leads.csv")
    assert (summary.counts["unchanged"], sent) == (74, 0)
    assert len(_memos(work)) == 1  # computed again, and kept
