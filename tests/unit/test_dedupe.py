"""Dedupe on the normalised e-mail: keep last (default) or first; invalid rows take no part."""

from __future__ import annotations

import polars as pl
from pipeline_helpers import by_row, run

from syncer.dedupe import mark_duplicates

ROWS = [
    {"E": "Ann@Acme.com", "F": "1"},
    {"E": "bob@x.com", "F": "2"},
    {"E": " ann@acme.COM ", "F": "3"},
    {"E": "ann@", "F": "4"},
    {"E": "ANN@ACME.COM", "F": "5"},
]


def test_keep_last_names_the_winner() -> None:
    r = by_row(run(ROWS, {"email": "E", "first_name": "F"}))
    assert [r[n]["status"] for n in range(2, 7)] == [
        "duplicate", "ready", "duplicate", "invalid", "ready",
    ]  # fmt: skip
    assert r[2]["error"] == "duplicate of row 6: same e-mail ann@acme.com (dedupe keep: last)"
    assert r[2]["error_code"] == "duplicate"
    assert r[5]["error_code"] == "invalid_email"


def test_keep_first() -> None:
    p = run(ROWS, {"email": "E"}, dedupe={"keep": "first"})
    r = by_row(p)
    assert [r[n]["status"] for n in range(2, 7)] == [
        "ready", "ready", "duplicate", "invalid", "duplicate",
    ]  # fmt: skip
    assert "row 2" in r[6]["error"]
    assert p.counts() == {"ready": 2, "duplicate": 2, "invalid": 1}
    assert [b[0] for b in p.iter_bodies()] == [2, 3]


def test_many_groups_on_a_frame() -> None:
    n = 10_000
    frame = pl.DataFrame(
        {
            "source_row": pl.int_range(2, n + 2, eager=True),
            "status": ["ready"] * n,
            "error": [""] * n,
            "error_code": [""] * n,
            "__key": [f"k{i % 3000}" for i in range(n)],
        }
    )
    out = mark_duplicates(frame, "last")
    winners = out.filter(pl.col("status") == "ready")
    assert winners.height == 3000
    assert winners["__key"].is_unique().all()
    # the winner is the last row of each key
    assert winners["source_row"].min() == n + 2 - 3000
