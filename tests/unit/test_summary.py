"""RunSummary.to_dict() is the ``--json`` contract of run/retry and validate: keys only added."""

from __future__ import annotations

from pathlib import Path

from syncer.models import RunSummary

RUN_KEYS = [
    "command", "rows", "succeeded", "unchanged", "duplicate", "invalid", "failed",
    "not_attempted", "requests", "results", "failures", "blank_rows", "issues", "dry_run",
    "exit_code", "aborted", "abort_reason", "interrupted", "run_id", "elapsed_s",
]  # fmt: skip
VALIDATE_KEYS = [
    "command", "rows", "ready", "duplicate", "invalid", "counts", "blank_rows", "issues",
    "results", "failures", "elapsed_s",
]  # fmt: skip


def test_run_dict_keeps_every_key_in_order() -> None:
    s = RunSummary(
        rows=3,
        counts={"succeeded": 2, "failed": 1},
        requests=4,
        results_path=Path("a.results.csv"),
        elapsed_s=1.23456,
        notes=["n1"],
        retries=2,
    )
    d = s.to_dict()
    assert list(d)[: len(RUN_KEYS)] == RUN_KEYS
    assert d["counts"] == {"succeeded": 2, "failed": 1} and d["notes"] == ["n1"]
    assert (d["succeeded"], d["failed"], d["unchanged"]) == (2, 1, 0)
    assert (d["results"], d["failures"], d["elapsed_s"], d["exit_code"]) == (
        "a.results.csv",
        None,
        1.235,
        1,
    )
    assert "ready" not in d
    assert d["warnings"] == {}  # added later: keys only grow
    assert list(d)[list(d).index("warnings") :] == [
        "warnings",
        "retries",
        "throttled",
        "retry_at",
        "parent_run",
        "report",
        "results_xlsx",
        "failures_xlsx",
        "pacing_start",
    ]
    assert d["pacing_start"] is None  # where the pacer started (runs that pushed)
    assert (d["retries"], d["throttled"], d["retry_at"], d["parent_run"]) == (2, 0, None, None)
    assert d["report"] is None  # the HTML run report's path, once written
    assert RunSummary(rows=0, counts={"ready": 5}, dry_run=True).to_dict()["ready"] == 5


def test_validate_dict_keeps_every_key_in_order() -> None:
    s = RunSummary(
        rows=2,
        counts={"ready": 1, "invalid": 1},
        results_path=Path("r.csv"),
        failures_path=Path("f.csv"),
        command="validate",
        notes=["column X is not mapped"],
    )
    d = s.to_dict()
    assert list(d) == [*VALIDATE_KEYS, "notes", "warnings", "results_xlsx", "failures_xlsx"]
    assert (d["ready"], d["duplicate"], d["invalid"], d["failures"]) == (1, 0, 1, "f.csv")
    assert d["notes"] == ["column X is not mapped"]


def test_notes_are_copied() -> None:
    s = RunSummary(rows=0, counts={}, notes=["a"])
    s.to_dict()["notes"].append("b")
    assert s.notes == ["a"]


def test_warnings_are_counted_by_code_in_both_shapes() -> None:
    for command in ("run", "validate"):
        s = RunSummary(rows=4, counts={}, command=command, warnings={"phone_extension_dropped": 3})
        d = s.to_dict()
        assert d["warnings"] == {"phone_extension_dropped": 3}
        d["warnings"]["x"] = 1
        assert s.warnings == {"phone_extension_dropped": 3}  # a copy
