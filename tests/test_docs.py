"""The README documents every command and every flag of the CLI (as sqlite-utils does)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from syncer.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, cmd in cli.commands.items():
        out.append((name, cmd))
        if isinstance(cmd, click.Group):
            out.extend((f"{name} {sub}", c) for sub, c in cmd.commands.items())
    return out


@pytest.mark.parametrize(("name", "cmd"), _commands(), ids=[n for n, _ in _commands()])
def test_command_and_its_flags_are_in_the_readme(name: str, cmd: click.Command) -> None:
    assert f"syncer {name}" in README, f"README does not mention `syncer {name}`"
    for param in cmd.params:
        if isinstance(param, click.Option):
            longest = max(param.opts, key=len)
            if longest in ("--help", "-h"):
                continue
            assert longest in README, f"README does not document {longest} of `syncer {name}`"


def test_readme_quickstart_has_the_two_commands() -> None:
    quick = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert "make demo" in quick and "make test" in quick
