"""Every corpus file through `syncer validate` with a generic mapping (e-mail = first column):
either exit 2 with a one-line message (and the --json error object), or every row accounted
for in the results; no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _corpus import corpus_files, ids, requires_corpus
from click.testing import CliRunner

from syncer.cli import cli
from syncer.errors import SourceError
from syncer.results_reading import read_results
from syncer.sources import read_source

pytestmark = [requires_corpus, pytest.mark.timeout(120)]
FILES = corpus_files()


def _mapping(tmp_path: Path, column: str) -> Path:
    path = tmp_path / "generic.yaml"
    path.write_text(
        "target: account_contact\ncolumns:\n  email: " + json.dumps(column) + "\n", encoding="utf-8"
    )
    return path


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_validate_accounts_for_every_row(path: Path, tmp_path: Path) -> None:
    try:
        table = read_source(path)
        column = table.columns[0]
    except SourceError:
        table, column = None, "Email"
    results = tmp_path / "out.results.csv"
    args = ["validate", str(path), "--mapping", str(_mapping(tmp_path, column))]
    result = CliRunner().invoke(cli, [*args, "--results", str(results), "--json"])
    assert "Traceback" not in result.output
    if table is None:
        assert result.exit_code == 2, result.output
        assert isinstance(result.exception, SystemExit)
        lines = result.output.strip().splitlines()
        assert len(lines) == 2 and lines[0].startswith("error: "), result.output  # + --json
        error = json.loads(lines[-1])
        assert error["exit_code"] == 2 and error["error"]["message"] in lines[0]
        return
    assert result.exit_code in (0, 1), (result.exit_code, result.output, result.exception)
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["rows"] == table.frame.height
    assert sum(summary["counts"].values()) == summary["rows"]
    _, written = read_results(results)  # in the source's own delimiter and encoding
    assert written["source_row"].to_list() == table.frame["source_row"].to_list()
