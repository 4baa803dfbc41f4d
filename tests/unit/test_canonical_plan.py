"""The bulk side of the plan: the ledger read as a frame (one scan or key batches, the same
answer as ``lookup``) and outcomes added as a frame next to those added one by one."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import syncer.ledger as ledger_module
from syncer.ledger import Ledger
from syncer.models import RowOutcome, RowStatus
from syncer.runner.plan import Collected
from syncer.targets.base import IdColumn

ORG, TARGET = "o", "t"


def _ledger(path: Path) -> Ledger:
    led = Ledger(path)
    for i in range(30):
        ok = RowOutcome(i, RowStatus.SUCCEEDED, contact_id=f"c{i}", account_id=f"a{i}")
        led.record(ORG, TARGET, 1 + i % 3, f"k{i}", f"h{i}", ok)
    led.record(ORG, TARGET, 9, "deal", "h", RowOutcome(0, RowStatus.SUCCEEDED), {"deal_id": "d1"})
    led.record(ORG, "other", 1, "k1", "x", RowOutcome(0, RowStatus.SUCCEEDED, contact_id="no"))
    led.flush()
    return led


@pytest.mark.parametrize("scan_from", [0, 10**9], ids=["one scan", "key batches"])
def test_synced_frame_is_lookup_as_a_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scan_from: int
) -> None:
    monkeypatch.setattr(ledger_module, "_SCAN_FROM", scan_from)
    keys = ["k1", "k7", "deal", "missing", "k1"]
    with _ledger(tmp_path / "l.db") as led:
        frame = led.synced_frame(ORG, TARGET, pl.Series(keys), ["contact_id", "deal_id"])
        known = led.lookup(ORG, TARGET, keys)
    got = {row["key"]: row for row in frame.iter_rows(named=True) if row["key"] in keys}
    assert set(got) == set(known) == {"k1", "k7", "deal"}
    for key, prev in known.items():
        row = got[key]
        assert (row["body_sha256"], row["run_id"], row["updated_at"]) == (
            prev.body_sha256,
            prev.run_id,
            prev.updated_at,
        )
        assert row["id:contact_id"] == prev.get_id("contact_id")
        assert row["id:deal_id"] == prev.get_id("deal_id")


def test_collected_frame_holds_bulk_and_single_outcomes() -> None:
    ids = (IdColumn("contact_id", "reevo_contact_id", key="contact_id"),)
    collected = Collected(ids)
    collected.add(RowOutcome(5, RowStatus.SUCCEEDED, contact_id="c5"))
    bulk = pl.DataFrame(
        {
            "source_row": [2, 3],
            "status": ["unchanged"] * 2,
            "error": ["e2", "e3"],
            "error_code": ["unchanged"] * 2,
            "reevo_contact_id": ["c2", None],
        }
    )
    collected.add_frame(bulk)
    collected.add_frame(bulk.clear())
    frame = collected.frame().sort("source_row")
    assert frame.columns == [
        "source_row",
        "status",
        "error",
        "error_code",
        "reevo_contact_id",
    ]
    assert frame.rows() == [
        (2, "unchanged", "e2", "unchanged", "c2"),
        (3, "unchanged", "e3", "unchanged", None),
        (5, "succeeded", "", "", "c5"),
    ]
