"""`syncer.sync` of a file prepared in batches (the large-file path) against the sandbox: the same
requests, outcomes, summary and results/failures files as the whole-file path (ids masked: the
sandbox gives its own), and a re-run finds every row unchanged."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

import syncer
import syncer.results as results_module
import syncer.runner.streamed as streamed
import syncer.sources.batches as batches
import syncer.sources.spill as spill
from syncer.sandbox import SandboxHandle

from .cli_helpers import write_csv

MAPPING = """\
columns:
  email: Email
  first_name: First Name
  phone_number: {column: Phone, format: e164, default_region: US}
dedupe: {keep: last}
"""


def _rows(n: int) -> list[list[str]]:
    """Rows whose e-mails repeat many batches apart; some invalid e-mails and phones."""
    rows = []
    for i in range(n):
        email = f"u{i % 97}@acme.org" if i % 5 == 0 else f"p{i}@acme.org"
        if i % 31 == 0:
            email = f"bad{i}@@acme"
        phone = "123" if i % 23 == 0 else f"(415) 555-{i % 10000:04d}"
        rows.append([email if i % 2 else f"  {email.upper()} ", f"Name {i}", phone])
    return rows


def _masked(path: Path) -> pl.DataFrame:
    frame = pl.read_csv(path, infer_schema=False)
    return frame.drop([c for c in frame.columns if c.startswith("reevo_")])


@pytest.mark.timeout(120)
def test_run_of_a_streamed_file_is_the_whole_files(
    tmp_path: Path, live_sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "leads.csv"
    write_csv(source, ["Email", "First Name", "Phone"], _rows(400))
    mapping = tmp_path / "map.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    monkeypatch.setattr(batches, "BATCH_BYTES", 600)
    monkeypatch.setattr(spill, "MEMORY_BYTES", 3000)
    seen = {}
    for name, size in (("whole", 1 << 62), ("streamed", 0)):
        monkeypatch.setattr(streamed, "STREAM_BYTES", size)
        results = tmp_path / f"{name}.results.csv"
        settings = syncer.Settings(
            base_url=live_sandbox.base_url,
            api_key=live_sandbox.api_key,
            ledger=tmp_path / f"{name}.db",
            preflight=False,
            results=results,
        )
        first = syncer.sync(source, mapping, settings)
        rerun = replace(settings, results=tmp_path / f"{name}2.results.csv")
        again = syncer.sync(source, mapping, rerun)
        assert again.counts["unchanged"] == first.counts["succeeded"] > 0
        assert again.requests == 0
        assert first.failures_path is not None
        seen[name] = (
            (first.rows, first.counts, first.requests, first.issues),
            [n.replace(f"{name}.db", "<ledger>") for n in first.notes],
            _masked(results),
            first.failures_path.read_bytes(),
        )
    assert seen["streamed"][0] == seen["whole"][0]
    assert seen["streamed"][1] == seen["whole"][1]
    assert seen["streamed"][2].equals(seen["whole"][2])
    assert seen["streamed"][3] == seen["whole"][3]


def _timeless(path: Path) -> pl.DataFrame:
    """:func:`_masked`, the times the ledger recorded taken out of the messages."""
    error = pl.col("error").str.replace_all(r"\(\d{4}-\d\d-\d\d[^)]*\)", "(<time>)")
    return _masked(path).with_columns(error)


@pytest.mark.timeout(180)
def test_rerun_that_sends_some_rows_and_holds_others_streamed(
    tmp_path: Path, live_sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second file with some rows changed, some new and the rest as before: the streamed run
    sends the same rows, holds the same as unchanged (naming the run that sent each) and writes
    the same results as the whole-file run; every row once."""
    header = ["Email", "First Name", "Phone"]
    before = tmp_path / "before.csv"
    write_csv(before, header, _rows(300))
    after_rows = _rows(360)
    for i in range(0, 360, 7):
        after_rows[i][1] = f"Renamed {i}"
    after = tmp_path / "after.csv"
    write_csv(after, header, after_rows)
    mapping = tmp_path / "map.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    monkeypatch.setattr(batches, "BATCH_BYTES", 500)
    monkeypatch.setattr(spill, "MEMORY_BYTES", 2000)
    monkeypatch.setattr(streamed, "VALUES_MEMORY", 0)
    seen = {}
    for name, size in (("whole", 1 << 62), ("streamed", 0)):
        monkeypatch.setattr(streamed, "STREAM_BYTES", size)
        # the streamed leg's outcomes merged 40 rows at a time (a large file's are, by 500,000)
        monkeypatch.setattr(results_module, "_MERGE_ROWS", 40 if size == 0 else 1 << 62)
        settings = syncer.Settings(
            base_url=live_sandbox.base_url,
            api_key=live_sandbox.api_key,
            ledger=tmp_path / f"{name}.db",
            preflight=False,
            results=tmp_path / f"{name}1.results.csv",
        )
        syncer.sync(before, mapping, settings)
        results = tmp_path / f"{name}2.results.csv"
        second = syncer.sync(after, mapping, replace(settings, results=results))
        assert second.counts["unchanged"] > 0 and second.counts["succeeded"] > 0
        assert second.requests == second.counts["succeeded"]
        frame = _timeless(results)
        assert frame.height == second.rows == 360
        assert frame["source_row"].n_unique() == 360
        seen[name] = ((second.counts, second.requests, second.issues), frame)
    assert seen["streamed"][0] == seen["whole"][0]
    assert seen["streamed"][1].equals(seen["whole"][1])
