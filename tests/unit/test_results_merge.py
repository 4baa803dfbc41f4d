"""The results file's outcome columns (:class:`syncer.results_merge.Merged`): any slice of the
prepared rows with the outcomes over the rows they list is what one hash join of every row
gives, whatever the outcomes' order (file order, pushed out of order, rows the file lacks)."""

from __future__ import annotations

import random

import polars as pl
import pytest

from syncer.results_merge import Merged

IDS = ["reevo_contact_id", "reevo_account_id"]


def _base(rows: list[int], seed: int) -> pl.DataFrame:
    rnd = random.Random(seed)
    statuses = [rnd.choice(["ready", "ready", "invalid", "duplicate"]) for _ in rows]
    errors = ["" if s == "ready" else f"bad {r}" for s, r in zip(statuses, rows, strict=True)]
    return pl.DataFrame(
        {
            "source_row": rows,
            "status": statuses,
            "error": errors,
            "warnings": [rnd.choice(["", "w: x"]) for _ in rows],
            "error_code": ["" if s == "ready" else "code" for s in statuses],
            "Email": [f"u{r}@x.io" for r in rows],
        },
        schema_overrides={"source_row": pl.Int64},
    )


def _outcomes(base: pl.DataFrame, seed: int, *, shuffle: bool, strangers: bool) -> pl.DataFrame:
    rnd = random.Random(seed)
    ready = base.filter(pl.col("status") == "ready")["source_row"].to_list()
    rows = [r for r in ready if rnd.random() < 0.9]
    if strangers:  # rows the prepared frame lacks: no row of the results
        rows += [10**6 + i for i in range(5)]
    if shuffle:
        rnd.shuffle(rows)
    return pl.DataFrame(
        {
            "source_row": rows,
            "status": [rnd.choice(["unchanged", "succeeded", "failed"]) for _ in rows],
            "error": [rnd.choice(["", "not sent", None]) for _ in rows],
            "error_code": [rnd.choice(["", "unchanged", None]) for _ in rows],
            "reevo_contact_id": [f"c-{r}" if r % 3 else None for r in rows],
            "reevo_account_id": [f"a-{r % 7}" for r in rows],
        },
        schema={
            "source_row": pl.Int64,
            "status": pl.String,
            "error": pl.String,
            "error_code": pl.String,
            "reevo_contact_id": pl.String,
            "reevo_account_id": pl.String,
        },
    )


def _reference(base: pl.DataFrame, outcomes: pl.DataFrame | None) -> pl.DataFrame:
    """One left join of every row (what the results writer did before)."""
    base = base.with_columns(pl.lit(None, pl.String).alias(c) for c in IDS)
    if outcomes is None or outcomes.height == 0:
        return base
    cols = ["status", "error", "error_code", *IDS]
    got = outcomes.select("source_row", *[pl.col(c).alias(f"__o_{c}") for c in cols])
    joined = base.join(got, on="source_row", how="left", maintain_order="left")
    listed = pl.col("__o_status").is_not_null()
    updates = []
    for c in cols:
        new = pl.col(f"__o_{c}")
        if c in ("error", "error_code"):
            new = new.fill_null("")
        updates.append(pl.when(listed).then(new).otherwise(pl.col(c)).alias(c))
    return joined.with_columns(updates).select(base.columns)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("order", ["file", "shuffled", "base unsorted"])
def test_every_slicing_is_the_one_join(seed: int, order: str) -> None:
    rnd = random.Random(seed)
    rows = sorted(rnd.sample(range(2, 5000), 700))  # gaps: blank rows, a retry's rows
    if order == "base unsorted":
        rnd.shuffle(rows)
    base = _base(rows, seed)
    outcomes = _outcomes(base, seed, shuffle=order != "file", strangers=seed % 2 == 1)
    want = _reference(base, outcomes)
    merged = Merged(base, outcomes, IDS)
    assert merged.columns == want.columns
    assert merged.whole(10**9).equals(want)
    for size in (1, 7, 64, 699, 700):
        assert merged.whole(size).equals(want)
        ragged, at = [], 0
        while at < base.height:
            n = rnd.randint(1, 90)
            ragged.append(merged.slice(at, n))
            at += n
        assert pl.concat(ragged).equals(want)


@pytest.mark.parametrize("outcomes", [None, "empty"])
def test_no_outcomes_gives_the_prepared_rows(outcomes: str | None) -> None:
    base = _base(list(range(2, 50)), 1)
    given = _outcomes(base, 1, shuffle=False, strangers=False).clear() if outcomes else None
    merged = Merged(base, given, IDS)
    assert merged.whole(10).equals(_reference(base, None))
