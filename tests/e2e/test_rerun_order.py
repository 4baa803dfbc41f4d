"""Issue 15 goal 1: the ledger's snapshot is kept in the order of the file that last ran, so a
re-run of that file puts what the ledger remembers beside its rows as they are, with no join on
the keys; a file in another order is joined (and puts the snapshot in its own order). Either way
the plan and the results file are the same.

Snapshots from 1 row here (50,000 for real; bench/bench_rerun.py times 1M rows).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import polars as pl
import pytest

import syncer.ledger.synced as synced_module
import syncer.runner.plan as plan_module
from syncer import RunSummary, Settings, sync
from syncer.ledger import snapshot
from syncer.sandbox import SandboxHandle

from .ledger_helpers import ENDPOINT, endpoint_requests, sandbox, write_leads, write_mapping

ORG = "order-test"
ROWS = 120


@pytest.fixture(autouse=True)
def snapshots_from_one_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshot, "SNAPSHOT_FROM", 1)
    monkeypatch.setattr(synced_module, "SCAN_FROM", 1)


@pytest.fixture
def joins(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many parts the plan joined on the keys, per call of the fixture's list."""
    calls: list[int] = []
    real = plan_module._with_known

    def counted(part: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
        calls.append(part.height)
        return real(part, known)

    monkeypatch.setattr(plan_module, "_with_known", counted)
    return calls


def _run(sb: SandboxHandle, work: Path, source: Path, ledger: Path) -> tuple[RunSummary, bytes]:
    results = work / f"{source.stem}.results.csv"
    settings = Settings(
        base_url=sb.base_url, api_key=sb.api_key, ledger=ledger, org=ORG, results=results
    )
    summary = sync(source, work / "leads.yaml", settings)
    return summary, results.read_bytes()


def _snapshot_keys(ledger: Path) -> list[str]:
    (path,) = [
        p for p in snapshot.snapshot_dir(ledger).glob("*.parquet") if "digests" not in p.name
    ]
    return pl.read_parquet(path)["key"].to_list()


def _reversed(source: Path, out: Path) -> Path:
    with source.open(newline="", encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    with out.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows[::-1]])
    return out


def test_a_rerun_lines_up_with_the_snapshot_and_plans_as_a_join_does(
    tmp_path: Path, joins: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_mapping(tmp_path / "leads.yaml")
    # keys in descending order: the ledger's own order (the key's) is not the file's
    leads = _reversed(write_leads(tmp_path / "made.csv", ROWS), tmp_path / "leads.csv")
    ledger = tmp_path / "ledger.db"
    keys = [f"lead{i:06d}@example{i % 50}.com" for i in range(ROWS)][::-1]
    with sandbox() as sb:
        first, _ = _run(sb, tmp_path, leads, ledger)
        assert first.counts["succeeded"] == ROWS
        assert _snapshot_keys(ledger) == keys  # the file's order, not the ledger's

        joins.clear()
        shutil.copy(ledger, tmp_path / "copy.db")
        shutil.copytree(snapshot.snapshot_dir(ledger), snapshot.snapshot_dir(tmp_path / "copy.db"))
        before = endpoint_requests(sb, ENDPOINT)
        again, lined_up = _run(sb, tmp_path, leads, ledger)
        assert (again.counts["unchanged"], again.requests) == (ROWS, 0)
        assert joins == [], "the same file again was joined on its keys"
        assert endpoint_requests(sb, ENDPOINT) == before

        # the same re-run, made to join: the same results file, byte for byte
        monkeypatch.setattr(plan_module, "_in_order", lambda *_: False)
        _, joined = _run(sb, tmp_path, leads, tmp_path / "copy.db")
        assert joins == [ROWS]
        assert joined == lined_up


def test_a_file_in_another_order_is_joined_then_kept_in_its_order(
    tmp_path: Path, joins: list[int]
) -> None:
    write_mapping(tmp_path / "leads.yaml")
    leads = write_leads(tmp_path / "leads.csv", ROWS)
    backwards = _reversed(leads, tmp_path / "backwards.csv")
    ledger = tmp_path / "ledger.db"
    with sandbox() as sb:
        _run(sb, tmp_path, leads, ledger)
        joins.clear()
        summary, _ = _run(sb, tmp_path, backwards, ledger)
        assert (summary.counts["unchanged"], summary.requests) == (ROWS, 0)
        assert joins == [ROWS]
        keys = [f"lead{i:06d}@example{i % 50}.com" for i in range(ROWS)]
        assert _snapshot_keys(ledger) == keys[::-1]
        joins.clear()
        summary, _ = _run(sb, tmp_path, backwards, ledger)
        assert summary.counts["unchanged"] == ROWS
        assert joins == []


def test_changed_rows_keep_the_snapshot_in_the_files_order(
    tmp_path: Path, joins: list[int]
) -> None:
    write_mapping(tmp_path / "leads.yaml")
    leads = write_leads(tmp_path / "leads.csv", ROWS)
    ledger = tmp_path / "ledger.db"
    with sandbox() as sb:
        _run(sb, tmp_path, leads, ledger)
        changed = write_leads(tmp_path / "changed.csv", ROWS, changed={3: 1, 70: 1})
        summary, _ = _run(sb, tmp_path, changed, ledger)
        assert (summary.counts["succeeded"], summary.counts["unchanged"]) == (2, ROWS - 2)
        keys = [f"lead{i:06d}@example{i % 50}.com" for i in range(ROWS)]
        assert _snapshot_keys(ledger) == keys  # the two rows sent kept their places
        joins.clear()
        summary, _ = _run(sb, tmp_path, changed, ledger)
        assert summary.counts["unchanged"] == ROWS
        assert joins == []
