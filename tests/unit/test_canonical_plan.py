"""The bulk side of the plan: the ledger read as a frame (one scan or key batches, the same
answer as ``lookup``) and outcomes added as a frame next to those added one by one."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import syncer.ledger.synced as synced_module
from syncer.ledger import Ledger
from syncer.models import RowOutcome, RowStatus
from syncer.runner import Settings
from syncer.runner.early_read import EarlyRead
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
    monkeypatch.setattr(synced_module, "SCAN_FROM", scan_from)
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


def test_early_read_holds_only_for_an_unchanged_ledger(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text("target: t\ncolumns: {email: Email}\n", encoding="utf-8")
    _ledger(tmp_path / "l.db").close()
    settings = Settings(ledger=tmp_path / "l.db", org=ORG, api_key="k" * 20)
    assert EarlyRead.begin(settings, mapping) is None  # "t" is no target: nothing to read

    mapping.write_text("columns: {email: Email}\n", encoding="utf-8")  # account_contact
    with Ledger(tmp_path / "l.db") as led:
        for key in ("a@x.com", "b@x.com"):
            ok = RowOutcome(0, RowStatus.SUCCEEDED, contact_id=f"c-{key}")
            led.record(ORG, "account_contact", 4, key, "h", ok)
    early = EarlyRead.begin(settings, mapping)
    assert early is not None
    got = early.result(ORG, "account_contact")
    assert got is not None
    assert sorted(got.get_column("id:contact_id").to_list()) == ["c-a@x.com", "c-b@x.com"]

    another = EarlyRead.begin(settings, mapping)
    assert another is not None and another.result("other org", "account_contact") is None

    stale = EarlyRead.begin(settings, mapping)
    assert stale is not None
    stale._thread.join()  # the read is done; then another run commits
    with Ledger(tmp_path / "l.db") as led:
        led.record(ORG, "account_contact", 5, "c@x.com", "h", RowOutcome(0, RowStatus.SUCCEEDED))
    assert stale.result(ORG, "account_contact") is None
