"""Every corpus text file validated a few bytes a batch at a time (the path a large file takes,
syncer.runner.streamed) gives what the whole-file path gives: the same summary and the same
results and failures files, byte for byte (dedupe included), or the same error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _corpus import corpus_files, ids, requires_corpus

import syncer.runner.streamed as streamed
import syncer.sources.batches as batches
import syncer.sources.spill as spill
from syncer.errors import SyncerError
from syncer.runner import validate
from syncer.sources import read_source

pytestmark = [requires_corpus, pytest.mark.timeout(120)]
TEXT = [p for p in corpus_files() if p.suffix.lower() not in (".xlsx", ".xlsm", ".xls")]


def _outcome(source: Path, mapping: Path, out: Path) -> object:
    results = out / "r.results.csv"
    try:
        s = validate(source, mapping, results=results)
    except SyncerError as exc:
        return type(exc).__name__, str(exc).replace(str(out), "<out>")
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    return s.rows, s.counts, s.blank_rows, s.notes, s.issues, s.warnings, files


@pytest.mark.parametrize("path", TEXT, ids=ids(TEXT))
def test_streamed_validate_is_the_whole_files(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        column = read_source(path).columns[0]
    except SyncerError:
        column = "Email"
    mapping = tmp_path / "generic.yaml"
    mapping.write_text(
        "target: account_contact\ncolumns:\n  email: " + json.dumps(column) + "\n", encoding="utf-8"
    )
    monkeypatch.setattr(batches, "BATCH_BYTES", 1000)  # a few lines a batch
    monkeypatch.setattr(spill, "MEMORY_BYTES", 500)  # then on disk
    got = []
    for name, size in (("whole", 1 << 62), ("streamed", 0)):
        monkeypatch.setattr(streamed, "STREAM_BYTES", size)
        out = tmp_path / name
        out.mkdir()
        got.append(_outcome(path, mapping, out))
    assert got[1] == got[0]
