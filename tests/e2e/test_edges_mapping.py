"""Issue 9, row 11: every mapping problem in one pass, the file's headers included.

A mapping with a key typo, two Reevo field typos and a header typo is reported in one run of
``validate``, ``run`` and ``check SOURCE``: each problem with its mapping line and a suggestion,
the file's columns listed, exit 2, nothing written and nothing sent. Fixing exactly what was
listed is enough: the next run goes through.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from syncer.sandbox import SandboxHandle

from .cli_helpers import CliResult, private_env, syncer, write_csv

HEADER = ["Email", "First Name", "Last Name"]
ROWS = [["ann@acme.com", "Ann", "Lee"], ["bob@acme.com", "Bob", "Ray"]]
#: line 3: field typo, line 4: field typo, line 5: header typo, line 6: key typo
TYPOS = """\
target: account_contact
columns:
  emial: Email
  frist_name: First Name
  last_name: Last Nmae
dedupe: {keeep: last}
"""
FIXED = """\
target: account_contact
columns:
  email: Email
  first_name: First Name
  last_name: Last Name
dedupe: {keep: last}
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    write_csv(tmp_path / "leads.csv", HEADER, ROWS)
    (tmp_path / "map.yaml").write_text(TYPOS, encoding="utf-8")
    return tmp_path


def _env(workdir: Path) -> dict[str, str]:
    return private_env(workdir)


def _command(workdir: Path, command: str, handle: SandboxHandle | None = None) -> CliResult:
    args: list[str] = {
        "validate": ["validate", "leads.csv", "--mapping", "map.yaml"],
        "run": ["run", "leads.csv", "--mapping", "map.yaml", "--quiet"],
        "check": ["check", "leads.csv", "--mapping", "map.yaml"],
    }[command]
    return syncer(
        *args,
        cwd=workdir,
        api_key=handle.api_key if handle else None,
        base_url=handle.base_url if handle else None,
        env=_env(workdir),
    )


def _assert_all_four_listed(stderr: str) -> None:
    where = "map.yaml"
    assert f"4 problems in {where}" in stderr, stderr
    expected = [
        f"{where}:3: columns.emial: unknown Reevo field; did you mean email?",
        f"{where}:4: columns.frist_name: unknown Reevo field; did you mean first_name?",
        f"{where}:5: columns.last_name: column 'Last Nmae' not found in the file; "
        "did you mean 'Last Name'?",
        f"{where}:6: dedupe.keeep: unknown dedupe option; did you mean keep?",
    ]
    for line in expected:
        assert line in stderr, f"{line!r} missing from:\n{stderr}"
    # in mapping order, so the user can walk the file top to bottom
    positions = [stderr.index(line) for line in expected]
    assert positions == sorted(positions), stderr
    assert "The file's columns are: 'Email', 'First Name', 'Last Name'" in stderr
    # the suggestions fix "email is required" too: it is not listed as a fifth problem
    assert "required" not in stderr


def _apply_suggestions(mapping: str, stderr: str) -> tuple[str, int]:
    """The mapping with every "did you mean" of the error applied on its line; how many."""
    lines = mapping.splitlines(keepends=True)
    header = (
        r"map\.yaml:(\d+): \S+: column '([^']*)' not found in the file; did you mean '([^']*)'\?"
    )
    name = r"map\.yaml:(\d+): \S*?([^.\s]+): unknown [^;\n]*; did you mean (\w+)\?"
    fixes = re.findall(header, stderr) + re.findall(name, stderr)
    for line, wrong, right in fixes:
        n = int(line) - 1
        assert wrong in lines[n], (wrong, lines[n])
        lines[n] = lines[n].replace(wrong, right)
    return "".join(lines), len(fixes)


def _written(workdir: Path) -> list[str]:
    return sorted(p.name for p in workdir.iterdir())


def test_every_problem_is_listed_and_fixing_them_is_one_round(workdir: Path) -> None:
    first = _command(workdir, "validate")
    assert first.code == 2, first.stdout + first.stderr
    _assert_all_four_listed(first.stderr)
    assert _written(workdir) == ["leads.csv", "map.yaml"]  # no results, no failures

    fixed, n = _apply_suggestions(TYPOS, first.stderr)
    assert n == 4 and fixed == FIXED
    (workdir / "map.yaml").write_text(fixed, encoding="utf-8")
    second = _command(workdir, "validate")
    assert second.code == 0, second.stderr
    assert "2 rows: 2 ready" in second.stdout


@pytest.mark.parametrize("command", ["run", "check"])
def test_run_and_check_list_every_problem_before_sending(
    workdir: Path, live_sandbox: SandboxHandle, command: str
) -> None:
    res = _command(workdir, command, live_sandbox)

    assert res.code == 2, res.stdout + res.stderr
    _assert_all_four_listed(res.stderr)
    assert _written(workdir) == ["leads.csv", "map.yaml"]  # no results, no failures, no ledger
    assert live_sandbox.admin.stats()["total_requests"] == 0
