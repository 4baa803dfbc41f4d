"""``syncer validate``: check a file against a mapping, no network."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Any

import click

from syncer.cli.app import cli, echo_files, echo_issues, emit_json, fail, mapping_option
from syncer.cli.jobflags import job_options
from syncer.cli.remote import SOURCE, default_output, local_source, storage_options
from syncer.cli.session import results_format_option
from syncer.errors import SyncerError
from syncer.models import RunSummary


@cli.command("validate")
@click.argument("source", required=False, type=SOURCE)
@mapping_option(required=False, help="Mapping YAML (Reevo field -> source column); not with --job.")
@job_options
@click.option(
    "--results",
    "results_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Results file path (default: <source stem>.results.csv beside the source; a "
    "workbook is the same path with .xlsx); the failures file goes beside it.",
)
@results_format_option
@storage_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary as the last line.")
def validate_cmd(
    source: Path | str | None,
    mapping_path: Path | None,
    results_path: Path | None,
    results_format: str | None,
    as_json: bool,
    **kw: Any,
) -> None:
    """Check SOURCE against a mapping without sending anything (no network).

    Writes every row to a results CSV (ready / duplicate / invalid, with the reason) and the
    rows to fix to a failures CSV. Exit 0 all rows ready or duplicate, 1 some invalid,
    2 unusable file or mapping. With --job FILE instead: check every step of the job file.
    SOURCE may be s3://bucket/key or sftp://user@host[:port]/path (see `syncer run --help`).
    """
    from syncer.cli.job import job_mode, validate_job_command
    from syncer.sources.ahead import ReadAhead  # (polars: after main() set its allocator up)

    kw.update(results_path=results_path, results_format=results_format, as_json=as_json)
    if job_mode(source, mapping_path, kw):
        validate_job_command(kw)
    assert source is not None and mapping_path is not None  # job_mode: usage errors without
    # Python's cycle collector stays off for the one check: it would walk the many objects the
    # imports create (pydantic's models...) again and again, ~0.1 s of a 1M-row validate, and
    # the run makes few cycles. After it they are frozen (gc.freeze): neither the collection the
    # next allocation starts nor the one at exit walks them again (~0.08 s more)
    collecting = gc.isenabled()  # a caller's own setting is left as it was
    gc.disable()
    try:
        with local_source(source, kw) as copy:
            ahead = ReadAhead.begin(copy.path)  # parsed while the checks are imported
            from syncer.runner import validate as run_validate  # (after a download started)

            summary = run_validate(
                copy.path,
                mapping_path,
                results=default_output(copy, results_path, ".results.csv"),
                results_format=results_format,
                ahead=ahead,
            )
    except SyncerError as err:
        fail(err)
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
    echo_validate(summary)
    if as_json:
        emit_json(summary.to_dict())
    sys.exit(summary.exit_code)


def echo_validate(summary: RunSummary) -> None:
    """The human summary of one validate (a job prints one per step)."""
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
