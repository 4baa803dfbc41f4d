"""Results and failures files: every row once, Excel-safe cells, round trip, outcomes override."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
from pipeline_helpers import run

from syncer.results import default_paths, read_results, write_results
from syncer.sources import read_source

ROWS = [
    {"Email": "a@x.com", "Name": '=HYPERLINK("x")', "status": "lead"},
    {"Email": "bad", "Name": "+1 415", "status": "cold"},
    {"Email": "a@x.com", "Name": "@sum\nnext line", "status": None},
]


def written(tmp_path: Path, outcomes: pl.DataFrame | None = None) -> tuple[Path, Path, dict]:
    p = run(ROWS, {"email": "Email", "first_name": "Name"})
    res, fail = tmp_path / "r.csv", tmp_path / "r.failures.csv"
    counts = write_results(p, outcomes, res, fail)
    return res, fail, counts


def test_default_paths() -> None:
    assert default_paths(Path("/d/leads.csv")) == (
        Path("/d/leads.results.csv"),
        Path("/d/leads.failures.csv"),
    )
    assert default_paths(Path("/d/leads.csv"), Path("/o/out.csv")) == (
        Path("/o/out.csv"),
        Path("/o/out.failures.csv"),
    )


def test_results_layout_and_neutralised_cells(tmp_path: Path) -> None:
    res, fail, counts = written(tmp_path)
    assert counts == {"duplicate": 1, "invalid": 1, "ready": 1}
    with res.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [
        "source_row", "status", "error", "Email", "Name", "status (source)",
        "error_code", "reevo_contact_id", "reevo_account_id",
    ]  # fmt: skip
    assert [r[0] for r in rows[1:]] == ["2", "3", "4"]
    assert rows[1][4] == '\'=HYPERLINK("x")'
    assert rows[2][4] == "'+1 415"
    assert rows[3][4] == "'@sum\nnext line"
    assert rows[1][1] == "duplicate" and "row 4" in rows[1][2]
    with fail.open(newline="", encoding="utf-8") as fh:
        frows = list(csv.reader(fh))
    assert frows[0] == ["Email", "Name", "status", "error"]
    assert frows[1][:3] == ["bad", "'+1 415", "cold"] and "invalid" not in frows[1][3]


def test_failures_file_round_trips_as_input(tmp_path: Path) -> None:
    _, fail, _ = written(tmp_path)
    again = read_source(fail)
    assert again.columns == ["Email", "Name", "status", "error"]
    assert again.frame["Name"].to_list() == ["+1 415"]


def test_read_results_unneutralises(tmp_path: Path) -> None:
    res, _, _ = written(tmp_path)
    cols, frame = read_results(res)
    assert cols == ["Email", "Name", "status (source)"]
    assert frame["Name"].to_list() == ['=HYPERLINK("x")', "+1 415", "@sum\nnext line"]
    assert frame["source_row"].dtype == pl.Int64


def test_outcomes_override_listed_rows(tmp_path: Path) -> None:
    outcomes = pl.DataFrame(
        {
            "source_row": [4],
            "status": ["failed"],
            "error": ["=422 owner unknown"],
            "error_code": ["rejected"],
            "reevo_contact_id": [None],
            "reevo_account_id": [None],
        },
        schema_overrides={"reevo_contact_id": pl.String, "reevo_account_id": pl.String},
    )
    res, fail, counts = written(tmp_path, outcomes)
    assert counts == {"duplicate": 1, "failed": 1, "invalid": 1}
    _, frame = read_results(res)
    assert frame.filter(pl.col("source_row") == 4)["error"].item() == "=422 owner unknown"
    with res.open(encoding="utf-8") as fh:
        assert "'=422 owner unknown" in fh.read()
    assert read_source(fail).frame.height == 2
