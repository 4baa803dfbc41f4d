"""``syncer validate``: check a file against a mapping, no network."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from syncer.cli.app import cli, echo_files, echo_issues, emit_json, fail, mapping_option
from syncer.cli.session import results_format_option
from syncer.errors import SyncerError


@cli.command("validate")
@click.argument("source", type=click.Path(path_type=Path))
@mapping_option()
@click.option(
    "--results",
    "results_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Results file path (default: <source stem>.results.csv beside the source; a "
    "workbook is the same path with .xlsx); the failures file goes beside it.",
)
@results_format_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary as the last line.")
def validate_cmd(
    source: Path,
    mapping_path: Path,
    results_path: Path | None,
    results_format: str | None,
    as_json: bool,
) -> None:
    """Check SOURCE against a mapping without sending anything (no network).

    Writes every row to a results CSV (ready / duplicate / invalid, with the reason) and the
    rows to fix to a failures CSV. Exit 0 all rows ready or duplicate, 1 some invalid,
    2 unusable file or mapping.
    """
    from syncer.runner import validate as run_validate

    try:
        summary = run_validate(
            source, mapping_path, results=results_path, results_format=results_format
        )
    except SyncerError as err:
        fail(err)
    counts = summary.counts
    click.echo(
        f"{summary.rows} rows: {counts.get('ready', 0)} ready, "
        f"{counts.get('duplicate', 0)} duplicate, {counts.get('invalid', 0)} invalid"
        + (f" ({summary.blank_rows} blank rows skipped)" if summary.blank_rows else "")
    )
    echo_issues(summary.issues)
    for note in summary.notes:
        click.echo(f"note: {note}", err=True)
    echo_files(summary)
    if as_json:
        emit_json(summary.to_dict())
    sys.exit(summary.exit_code)
