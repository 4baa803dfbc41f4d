"""Plan.rest: the rows a stopped run has not taken, recorded as one frame."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from syncer.ledger import Ledger
from syncer.runner import prepare
from syncer.runner.plan import Collected, Plan

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "sample_data" / "leads.csv"
MAPPING = ROOT / "mappings" / "leads.yaml"


def _plan(ledger: Ledger | None) -> tuple[Plan, Collected]:
    prepared = prepare(SOURCE, MAPPING)
    collected = Collected(prepared.mapping.spec.id_columns)
    return Plan(prepared, ledger, "org", False, collected), collected


def _check_rest(plan: Plan, collected: Collected) -> None:
    ready = plan.prepared.ready_rows().to_list()
    assert len(ready) > 10
    items = plan.items()
    taken = [next(items)[0] for _ in range(3)]
    assert taken == ready[:3]
    n = plan.rest("not sent: stopped", "interrupted")
    assert n == len(ready) - 3
    frame = collected.frame()
    assert frame["source_row"].to_list() == ready[3:]  # each row left once, in file order
    assert frame["status"].unique().to_list() == ["not_attempted"]
    assert frame["error"].unique().to_list() == ["not sent: stopped"]
    assert frame["error_code"].unique().to_list() == ["interrupted"]
    ids = [c.column for c in collected.id_columns]
    assert frame.select(pl.all_horizontal(pl.col(ids).is_null())).to_series().all()
    assert plan.to_send == len(ready)  # the rows that were to be sent, as a full drain counts


def test_rest_without_a_ledger_is_every_ready_row_not_taken() -> None:
    _check_rest(*_plan(None))


def test_rest_with_a_ledger_is_every_row_to_send_not_taken(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.db") as ledger:
        _check_rest(*_plan(ledger))
