"""`syncer validate` end to end through the real command (its entry point): exit codes, --json,
files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .cli_helpers import CliResult
from .cli_helpers import syncer as run_cli

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "mappings" / "leads.yaml"
HEADER = (
    "First Name,Last Name,Email,Phone,Company,Job Title,Department,Website,LinkedIn URL,"
    "Lead Source,Tags,Industry,Owner Email\n"
)


def syncer(*args: str | Path) -> CliResult:
    return run_cli(*args, cwd=ROOT)


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("name", ["leads.csv", "leads.xlsx"])
def test_sample_data_json_summary(tmp_path: Path, name: str) -> None:
    results = tmp_path / "out.csv"
    proc = syncer("validate", ROOT / "sample_data" / name, "--mapping", MAPPING,
                  "--results", results, "--json")  # fmt: skip
    assert proc.code in (0, 1), proc.stderr
    summary = last_json(proc.stdout)
    assert summary["rows"] == summary["ready"] + summary["duplicate"] + summary["invalid"]
    assert summary["ready"] > 0
    assert proc.code == (1 if summary["invalid"] else 0)
    assert summary["results"] == str(results)
    assert summary["failures"] == str(tmp_path / "out.failures.csv")
    lines = results.read_text(encoding="utf-8").count("\n")
    assert lines >= summary["rows"] + 1  # header + every row (quoted newlines add lines)


def test_all_ready_exits_0_and_default_paths(tmp_path: Path) -> None:
    src = tmp_path / "ok.csv"
    src.write_text(
        HEADER
        + "Ann,Lee,ann@acme.com,(415) 555-0132,Acme,CEO,,acme.com,,Web,a;b,Software,"
        + "owner@acme.com\n"
        + "Ann,Lee,ANN@acme.com,,Acme,CEO,,,,,,,\n",
        encoding="utf-8",
    )
    proc = syncer("validate", src, "--mapping", MAPPING, "--json")
    assert proc.code == 0, proc.stderr
    s = last_json(proc.stdout)
    assert (s["rows"], s["ready"], s["duplicate"], s["invalid"]) == (2, 1, 1, 0)
    assert (tmp_path / "ok.results.csv").exists()
    assert not (tmp_path / "ok.failures.csv").exists() and s["failures"] is None  # nothing to fix


def test_invalid_rows_exit_1(tmp_path: Path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text(HEADER + "Ann,Lee,not-an-email,,,,,,,,,,\n", encoding="utf-8")
    proc = syncer("validate", src, "--mapping", MAPPING, "--json")
    assert proc.code == 1
    assert last_json(proc.stdout)["invalid"] == 1
    failures = (tmp_path / "bad.failures.csv").read_text(encoding="utf-8")
    assert "not-an-email" in failures and "is not a valid e-mail address" in failures


@pytest.mark.parametrize(
    ("mapping_text", "needle"),
    [
        ("columns:\n  email: Email\n  frist_name: First Name\n", "did you mean first_name?"),
        ("columns:\n  email: E-mail\n", "The file's columns are:"),
    ],
)
def test_bad_mapping_exits_2_with_one_clear_message(
    tmp_path: Path, mapping_text: str, needle: str
) -> None:
    src = tmp_path / "a.csv"
    src.write_text(HEADER + "Ann,Lee,ann@acme.com,,,,,,,,,,\n", encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(mapping_text, encoding="utf-8")
    proc = syncer("validate", src, "--mapping", mapping, "--json")
    assert proc.code == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_source_exits_2(tmp_path: Path) -> None:
    proc = syncer("validate", tmp_path / "nope.csv", "--mapping", MAPPING)
    assert proc.code == 2
    assert "nope.csv" in proc.stderr and "Traceback" not in proc.stderr


def test_repeated_header_is_pointed_out(tmp_path: Path) -> None:
    src = tmp_path / "dup.csv"
    src.write_text("Email,First Name,Email\na@x.com,A,b@x.com\n", encoding="utf-8")
    mapping = tmp_path / "dup.yaml"
    mapping.write_text("columns:\n  email: Email\n  first_name: First Name\n", encoding="utf-8")
    res = syncer("validate", src, "--mapping", mapping)
    assert res.code == 0, res.stderr
    assert 'more than one column named "Email"' in res.stderr and "Email_2" in res.stderr


@pytest.mark.parametrize("enabled", [True, False])
def test_validate_leaves_the_callers_cycle_collector_as_it_was(
    tmp_path: Path, enabled: bool
) -> None:
    """validate turns Python's cycle collector off for its check; an embedding caller's own
    setting (on, or off) is what it finds after the command."""
    import gc

    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        proc = syncer("validate", ROOT / "sample_data" / "leads.csv", "--mapping", MAPPING,
                      "--results", tmp_path / "out.csv")  # fmt: skip
        assert proc.code in (0, 1), proc.stderr
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
