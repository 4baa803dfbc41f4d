"""Issue 15 goal 1: a re-run reads the org's memory of the target from the snapshot a finished
run left beside the ledger, decides exactly as it would from the ledger itself, and never
trusts a snapshot the ledger has changed since (whoever changed it).

Small files here: the snapshot and whole-target reads are switched on from a few rows (the
real thresholds are 50,000 and 20,000 rows; bench/bench_rerun.py times the 1M-row case).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

import syncer.ledger.synced as synced_module
import syncer.runner.plan as plan_module
from syncer import RunSummary, Settings, sync
from syncer.ledger import snapshot

from .ledger_helpers import ENDPOINT, endpoint_requests, sandbox, write_leads, write_mapping

N = 30
FIXTURE = Path(__file__).resolve().parents[1] / "data" / "ledgers" / "rerun"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Snapshots from 5 rows on; each snapshot read's verdict (True: used) in order."""
    monkeypatch.setattr(snapshot, "SNAPSHOT_FROM", 5)
    monkeypatch.setattr(synced_module, "SCAN_FROM", 5)
    monkeypatch.setattr(plan_module, "SCAN_FROM", 5)
    seen: list[bool] = []
    real = snapshot.read

    def spy(*args: object, **kw: object) -> pl.DataFrame | None:
        got = real(*args, **kw)  # type: ignore[arg-type]
        seen.append(got is not None)
        return got

    monkeypatch.setattr(snapshot, "read", spy)
    yield seen


def _run(
    source: Path, mapping: Path, ledger: Path, results: Path, **kw: object
) -> tuple[RunSummary, int]:
    """One run (summary, account_contact requests: preflight's probe too when a row is sent)
    against a fresh sandbox."""
    with sandbox() as sb:
        settings = Settings(
            base_url=sb.base_url, api_key=sb.api_key, ledger=ledger, results=results,
            org="snapshot-test", **kw,  # type: ignore[arg-type]
        )  # fmt: skip
        summary = sync(source, mapping, settings)
        return summary, endpoint_requests(sb, ENDPOINT)


def test_a_rerun_reads_the_snapshot_and_decides_as_the_ledger_does(
    tmp_path: Path, reads: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_leads(tmp_path / "leads.csv", N)
    mapping = write_mapping(tmp_path / "leads.yaml")
    ledger = tmp_path / "ledger.db"
    first, sent = _run(source, mapping, ledger, tmp_path / "first.results.csv")
    assert (first.counts["succeeded"], sent) == (N, N + 1)
    assert snapshot.snapshot_path(ledger, "snapshot-test", "account_contact").is_file()

    reads.clear()
    again, sent = _run(source, mapping, ledger, tmp_path / "again.results.csv")
    assert (again.counts["unchanged"], sent, again.requests) == (N, 0, 0)
    assert reads and reads[0] is True  # the early read took the snapshot

    monkeypatch.setattr(snapshot, "read", lambda *a, **kw: None)  # the ledger itself
    plain, _ = _run(source, mapping, ledger, tmp_path / "plain.results.csv")
    assert plain.counts == again.counts
    same = (tmp_path / "again.results.csv").read_bytes()
    assert same == (tmp_path / "plain.results.csv").read_bytes()


def test_a_changed_file_sends_only_its_changed_rows(tmp_path: Path, reads: list[bool]) -> None:
    mapping = write_mapping(tmp_path / "leads.yaml")
    ledger = tmp_path / "ledger.db"
    _run(write_leads(tmp_path / "leads.csv", N), mapping, ledger, tmp_path / "1.results.csv")
    changed = write_leads(tmp_path / "changed.csv", N, {3: 1, 17: 1})
    summary, sent = _run(changed, mapping, ledger, tmp_path / "2.results.csv")
    assert (summary.counts["succeeded"], summary.counts["unchanged"], sent) == (2, N - 2, 3)
    # that run wrote: its own finish renewed the snapshot, which the next run trusts
    reads.clear()
    summary, sent = _run(changed, mapping, ledger, tmp_path / "3.results.csv")
    assert (summary.counts["unchanged"], sent) == (N, 0)
    assert reads[0] is True


@pytest.mark.parametrize("how", ["hand edit", "older syncer's ledger write"])
def test_a_ledger_changed_outside_a_run_is_not_hidden(
    tmp_path: Path, reads: list[bool], how: str
) -> None:
    """The ledger says row 5 was last sent with another body (another tool, an older syncer
    writing to the same file, a hand edit): the re-run must send it again, whatever the
    snapshot beside the ledger says."""
    source = write_leads(tmp_path / "leads.csv", N)
    mapping = write_mapping(tmp_path / "leads.yaml")
    ledger = tmp_path / "ledger.db"
    _run(source, mapping, ledger, tmp_path / "1.results.csv")
    with sqlite3.connect(str(ledger)) as db:
        if how == "hand edit":
            db.execute("UPDATE synced SET body_sha256='edited' WHERE key LIKE 'lead000005@%'")
        else:  # syncer 0.1.0's upsert: INSERT OR REPLACE of the whole row
            row = db.execute(
                "SELECT org, target, key, contact_id, account_id, run_id FROM synced "
                "WHERE key LIKE 'lead000005@%'"
            ).fetchone()
            db.execute(
                "INSERT OR REPLACE INTO synced (org, target, key, body_sha256, contact_id, "
                "account_id, last_status, run_id, updated_at) VALUES (?,?,?,'older',?,?,"
                "'succeeded',?,'2020-01-01T00:00:00+00:00')",
                row,
            )
    reads.clear()
    summary, sent = _run(source, mapping, ledger, tmp_path / "2.results.csv")
    assert reads[0] is False
    assert (summary.counts["succeeded"], summary.counts["unchanged"], sent) == (1, N - 1, 2)


def test_an_old_codes_ledger_gets_a_snapshot_and_the_same_results(
    tmp_path: Path, reads: list[bool]
) -> None:
    """The ledger the code before issue 15 left (no write count): read from SQLite the first
    time, from the snapshot that run's finish wrote the next, the same results both times."""
    for name in ("leads.csv", "leads.yaml"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    ledger = tmp_path / "ledger.db"
    shutil.copy(FIXTURE / "rerun.db", ledger)
    source, mapping = tmp_path / "leads.csv", tmp_path / "leads.yaml"
    expected = (FIXTURE / "same.results.csv").read_bytes()
    for time in ("first", "second"):
        reads.clear()
        results = tmp_path / f"{time}.results.csv"
        with sandbox() as sb:
            settings = Settings(
                base_url=sb.base_url, api_key=sb.api_key, ledger=ledger, org="rerun-fixture",
                results=results,
            )  # fmt: skip
            summary = sync(source, mapping, settings)
            assert endpoint_requests(sb, ENDPOINT) == 0
        assert summary.counts["unchanged"] == 74
        assert results.read_bytes() == expected
        assert reads[0] is (time == "second")
