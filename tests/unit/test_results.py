"""Results and failures files: every row once, Excel-safe cells, round trip, outcomes override."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import polars as pl
import pytest
from pipeline_helpers import run

from syncer.errors import ConfigError
from syncer.kept_copies import keep_copies, prune_copies
from syncer.results import (
    check_outputs,
    default_paths,
    is_reserved,
    needs_fixing,
    source_names,
    write_results,
)
from syncer.results_reading import read_results
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
    assert default_paths(Path("/d/leads.csv"), Path("/o/out.results.csv"))[1] == Path(
        "/o/out.failures.csv"
    )


def _names(source: str, *, retry: bool = False) -> tuple[str, str]:
    results, failures = default_paths(Path("/d") / source, retry=retry)
    assert results.parent == failures.parent == Path("/d")
    return results.name, failures.name


def test_retry_and_rerun_names_do_not_pile_up() -> None:
    retry = ("leads.retry.results.csv", "leads.retry.failures.csv")
    assert _names("leads.results.csv", retry=True) == retry
    assert _names("leads.failures.csv", retry=True) == retry
    assert _names("leads.failures.csv") == retry  # syncer run of a fixed failures file
    assert _names("leads.csv", retry=True) == retry
    # the next round would be its own input: .retry2, then .retry3
    retry2 = ("leads.retry2.results.csv", "leads.retry2.failures.csv")
    assert _names("leads.retry.failures.csv") == retry2
    assert _names("leads.retry.results.csv", retry=True) == retry2
    assert _names("leads.results.retry.failures.csv") == retry  # syncer 0.1's names
    assert _names("leads.retry2.failures.csv") == retry
    assert _names("LEADS.retry.failures.csv") == (
        "LEADS.retry2.results.csv",
        "LEADS.retry2.failures.csv",
    )
    # a plain file keeps the plain names, whatever dots it has
    assert _names("q1.leads.xlsx") == ("q1.leads.results.csv", "q1.leads.failures.csv")


def test_reserved_names() -> None:
    for name in ("source_row", "status", "error", "error_code", "warnings", "__key"):
        assert is_reserved(name), name
    for name in ("reevo_contact_id", "reevo_account_id", "reevo_opportunity_id", "__x", "__"):
        assert is_reserved(name), name
    for name in ("Status", "status (source)", "reevo_id", "email", "_x", "source_row_2", "key"):
        assert not is_reserved(name), name


def test_source_names_rename_reserved_and_keep_earlier_source_names() -> None:
    assert source_names(["Email", "status", "reevo_contact_id", "__v:email"]) == [
        "Email",
        "status (source)",
        "reevo_contact_id (source)",
        "__v:email (source)",
    ]
    # a results file read again: its "status (source)" stays, its own "status" moves aside
    assert source_names(["source_row", "status", "status (source)", "Email"]) == [
        "source_row (source)",
        "status (source)_2",
        "status (source)",
        "Email",
    ]
    assert source_names(["x", "x_2", "X"]) == ["x", "x_2", "X_3"]
    once = source_names(["status", "status", "error", "Error"])
    assert once == ["status (source)", "status (source)_2", "error (source)", "Error"]
    assert source_names(once) == once  # applied again it changes nothing


def test_check_outputs_refuses_an_input(tmp_path: Path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text("Email\n", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(src)
    hard = tmp_path / "hard.csv"
    os.link(src, hard)
    inputs = {"source": src, "mapping": tmp_path / "m.yaml", "ledger": None}
    for out in (src, link, hard, tmp_path / "sub" / ".." / "leads.csv"):
        with pytest.raises(ConfigError, match="is the source"):
            check_outputs([tmp_path / "ok.csv", out], inputs)
    with pytest.raises(ConfigError, match="is the mapping"):
        check_outputs([tmp_path / "m.yaml"], inputs)
    check_outputs([tmp_path / "leads.results.csv"], inputs)


def test_no_failures_file_when_no_row_needs_fixing_and_a_stale_one_goes(tmp_path: Path) -> None:
    p = run([{"Email": "a@x.com"}, {"Email": "b@x.com"}], {"email": "Email"})
    res, fail = tmp_path / "r.csv", tmp_path / "r.failures.csv"
    fail.write_text("Email,error\nold@x.com,old\n", encoding="utf-8")
    counts = write_results(p, None, res, fail)
    assert counts == {"ready": 2} and not needs_fixing(counts)
    assert res.exists() and not fail.exists()
    assert sorted(f.name for f in tmp_path.iterdir()) == ["r.csv"]  # no temporary file left


def test_an_error_column_gives_way_to_this_runs_error_in_failures(tmp_path: Path) -> None:
    # a failures file run again: its "error" column is read as "error (source)"
    p = run([{"Email": "bad", "error": "old message"}], {"email": "Email"})
    res, fail = tmp_path / "r.csv", tmp_path / "r.failures.csv"
    write_results(p, None, res, fail)
    # read again, the results' own columns move aside for the source's
    assert read_source(res).columns == [
        "source_row (source)",
        "status (source)",
        "error (source)_2",
        "warnings (source)",
        "Email",
        "error (source)",
        "error_code (source)",
        "reevo_contact_id (source)",
        "reevo_account_id (source)",
    ]
    _, frame = read_results(res)
    assert frame["error (source)"].to_list() == ["old message"]
    again = read_source(fail)
    assert again.columns == ["Email", "error (source)"]
    assert "email" in again.frame["error (source)"].item()


def test_kept_copies_survive_the_next_write_and_are_pruned(tmp_path: Path) -> None:
    res, fail, _ = written(tmp_path)
    first = res.read_bytes()
    kept, kept_fail = keep_copies(tmp_path / "runs" / "1", res, fail)
    assert kept.read_bytes() == first and kept_fail is not None
    fail.write_text("edited in place\n", encoding="utf-8")
    assert "edited" not in kept_fail.read_text(encoding="utf-8")  # a copy, not a link
    p = run([{"Email": "z@x.com"}], {"email": "Email"})
    write_results(p, None, res, fail)  # the next run replaces the stable names
    assert res.read_bytes() != first and kept.read_bytes() == first
    for run_id in range(2, 6):
        keep_copies(tmp_path / "runs" / str(run_id), res, None)
    prune_copies(tmp_path / "runs", keep=2)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["4", "5"]


def test_results_layout_and_neutralised_cells(tmp_path: Path) -> None:
    res, fail, counts = written(tmp_path)
    assert counts == {"duplicate": 1, "invalid": 1, "ready": 1}
    with res.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [
        "source_row", "status", "error", "warnings", "Email", "Name", "status (source)",
        "error_code", "reevo_contact_id", "reevo_account_id",
    ]  # fmt: skip
    assert [r[0] for r in rows[1:]] == ["2", "3", "4"]
    assert rows[1][5] == '\'=HYPERLINK("x")'
    assert rows[2][5] == "+1 415"  # a phone number is data, not a formula: no apostrophe
    assert rows[3][5] == "'@sum\nnext line"
    assert rows[1][1] == "duplicate" and "row 4" in rows[1][2]
    with fail.open(newline="", encoding="utf-8") as fh:
        frows = list(csv.reader(fh))
    assert frows[0] == ["Email", "Name", "status (source)", "error"]
    assert frows[1][:3] == ["bad", "+1 415", "cold"] and "invalid" not in frows[1][3]


def test_failures_file_round_trips_as_input(tmp_path: Path) -> None:
    _, fail, _ = written(tmp_path)
    again = read_source(fail)
    assert again.columns == ["Email", "Name", "status (source)", "error (source)"]
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
