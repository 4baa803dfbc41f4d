"""`syncer init` on every corpus file (in-process), for every target: it ends with exit 0 or 1
and a mapping that `syncer validate` accepts, or with a clear exit-2 message and nothing
written; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _corpus import corpus_files, ids, requires_corpus
from click.testing import CliRunner

from syncer.cli import cli

pytestmark = [requires_corpus, pytest.mark.timeout(120)]
FILES = corpus_files()


@pytest.mark.parametrize("target", ["account_contact", "accounts", "opportunities"])
@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_init_writes_a_working_mapping_or_says_why_not(
    path: Path, target: str, tmp_path: Path
) -> None:
    mapping = tmp_path / "proposed.yaml"
    args = ["init", str(path), "-o", str(mapping), "--target", target, "--json"]
    result = CliRunner().invoke(cli, args)
    assert "Traceback" not in result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert out["exit_code"] == result.exit_code
    if result.exit_code == 2:
        lines = result.output.strip().splitlines()
        assert lines[0].startswith("error: ") and out["error"]["code"] == "source", result.output
        assert not mapping.exists()
        return
    assert result.exit_code in (0, 1), (result.exit_code, result.output, result.exception)
    assert out["error"] is None and out["mapping"] == str(mapping)
    check = CliRunner().invoke(
        cli,
        ["validate", str(path), "--mapping", str(mapping), "--results", str(tmp_path / "r.csv")],
    )
    assert check.exit_code in (0, 1), check.output
