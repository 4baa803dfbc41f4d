"""``syncer run``, ``syncer retry`` and ``syncer check``: the commands that talk to Reevo."""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from syncer.cli.app import (
    Duration,
    cli,
    echo_files,
    echo_issues,
    emit_json,
    fail,
    mapping_option,
    remember_key_file,
)
from syncer.cli.history import retry_after
from syncer.cli.jobflags import job_options
from syncer.cli.remote import SOURCE, default_output, local_source, storage_options
from syncer.cli.session import (
    Progress,
    build_settings,
    command_line,
    connection_options,
    embedded_sandbox,
    stop_on_signals,
)
from syncer.errors import RunAborted, SyncerError
from syncer.models import RUN_JSON_STATUSES, RunSummary

if TYPE_CHECKING:
    from syncer.runner.settings import Settings


def _print_run(summary: RunSummary, as_json: bool) -> None:
    echo_run(summary)
    if as_json:
        emit_json(summary.to_dict(), stop_error(summary))


def echo_run(summary: RunSummary) -> None:
    """The human summary of one run (a job prints one per step)."""
    counts = summary.counts
    shown = [s for s in (*RUN_JSON_STATUSES, "ready") if counts.get(s)]
    parts = ", ".join(f"{counts[s]} {s}" for s in shown) or "nothing to do"
    head = "dry run (nothing sent)" if summary.dry_run else f"{summary.requests} requests"
    click.echo(f"{summary.rows} rows: {parts}  [{head}, {summary.elapsed_s:.1f} s]")
    if summary.blank_rows:
        click.echo(f"{summary.blank_rows} blank rows skipped")
    echo_issues(summary.issues)
    for note in summary.notes:
        click.echo(f"note: {note}", err=True)
    if summary.aborted:
        click.echo(f"run stopped: {summary.aborted}", err=True)
        if summary.retry_at:  # a quota: when, on this machine's clock
            click.echo(f"quota: {retry_after(summary.retry_at)}", err=True)
    if summary.interrupted:
        click.echo(
            f"interrupted ({summary.interrupted}): {counts.get('not_attempted', 0)} rows not "
            "sent. To resume, run the same command again (rows Reevo accepted are not sent "
            f"again), or: syncer retry {summary.results_path}",
            err=True,
        )
    if summary.nothing_to_retry is not None:
        click.echo(summary.nothing_to_retry)
    echo_files(summary, "  (fix and re-run, or: syncer retry)")
    if summary.report_path is not None:
        click.echo(f"report:   {summary.report_path}")


def stop_error(summary: RunSummary) -> SyncerError | None:
    """The ``--json`` error of a run that ended early without raising: stopped by Reevo
    (code = its abort reason) or interrupted."""
    if summary.aborted:
        return RunAborted(summary.aborted, reason=summary.abort_reason or "")
    if summary.interrupted:
        sent = "not every row was sent" if summary.counts.get("not_attempted") else "stopped"
        return SyncerError(f"interrupted by {summary.interrupted}: {sent}", code="interrupted")
    return None


def _run_options(fn: Any) -> Any:
    """Flags of ``run`` and ``retry``: the shared connection flags plus their own."""
    opts = [
        click.option(
            "--results",
            "results_path",
            type=click.Path(path_type=Path),
            help="Results file path (default: <source stem>.results.csv beside it; a workbook "
            "is the same path with .xlsx).",
        ),
        click.option("--dry-run", is_flag=True, help="Do everything but send."),
        click.option(
            "--wait",
            "wait_s",
            type=Duration(),
            default="0",
            help="When another run imports into the same org and target, wait this long for it "
            "(e.g. 10m) instead of stopping at once (default 0).",
        ),
        click.option(
            "--again",
            is_flag=True,
            help="Import a file that was imported before even if newer runs have since changed "
            "some of its rows (those rows go back to the file's older values).",
        ),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return connection_options(fn)


def _do_run(
    source: Path | str, mapping: Path | None, command: str, retry: bool = False, **kw: Any
) -> None:
    from syncer.sources.ahead import ReadAhead  # (polars: after main() set its allocator up)

    with (
        local_source(source, kw) as copy,
        run_session(
            kw,
            command,
            results=default_output(copy, kw["results_path"], ".results.csv"),
            source_url=copy.url if copy.remote else None,
            source_sha256=copy.sha256 if copy.remote else None,
            # the file parsed while the rest is imported and set up (a retry reads results)
            read_ahead=None if retry else ReadAhead.begin(copy.path),
        ) as settings,
    ):
        from syncer.runner import retry as run_retry  # (after a download started)
        from syncer.runner import sync

        # the imports' objects (pydantic's models...) out of the cycle collector's reach: no
        # collection during the run, nor the one at exit, walks them again (~0.1 s)
        gc.freeze()
        if retry:
            summary = run_retry(copy.path, mapping, settings)
        else:
            assert mapping is not None
            summary = sync(copy.path, mapping, settings)
    _print_run(summary, kw["as_json"])
    sys.exit(summary.exit_code)


@contextlib.contextmanager
def run_session(kw: dict[str, Any], command: str, **extra: Any) -> Iterator[Settings]:
    """The Settings the run flags in ``kw`` describe (plus ``extra``), with progress output,
    Ctrl-C / SIGTERM handling and ``--sandbox`` around the command; a SyncerError ends it."""
    from syncer.stopping import StopRequest

    stop = StopRequest()
    settings = build_settings(
        kw, command, stop, dry_run=kw["dry_run"], wait_s=kw["wait_s"], again=kw["again"], **extra
    )
    progress = Progress(kw["quiet"])
    settings.progress = progress
    settings.on_start = progress.start
    try:
        with (
            stop_on_signals(stop),
            embedded_sandbox(settings) if kw["sandbox"] else contextlib.nullcontext(),
        ):
            yield settings
    except SyncerError as err:
        fail(err)
    finally:
        progress.close()


@cli.command("run")
@click.argument("source", required=False, type=SOURCE)
@mapping_option(required=False, help="Mapping YAML (Reevo field -> source column); not with --job.")
@job_options
@storage_options
@_run_options
def run_cmd(source: Path | str | None, mapping_path: Path | None, **kw: Any) -> None:
    """Import SOURCE (CSV/TSV/XLSX/XLS) into Reevo as the mapping says.

    SOURCE may be a local path, s3://bucket/key or sftp://user@host[:port]/path (downloaded
    once; its results then go to the current folder unless --results says otherwise).

    Every row ends in the results CSV with its status: succeeded, unchanged, duplicate,
    invalid, failed or not_attempted. Exit 0 all rows fine, 1 some rows invalid/failed/not
    attempted, 2 unusable input/mapping/flags, 3 run stopped by Reevo (key, permission, quota).
    The API key comes from $REEVO_API_KEY (or --api-key-file) and is never printed.
    With --job FILE instead of SOURCE and --mapping: run the job file's steps in order.
    """
    from syncer.cli.job import job_mode, run_job_command

    if job_mode(source, mapping_path, kw):
        run_job_command(command_line(), kw)
    assert source is not None  # job_mode: a usage error without it
    _do_run(source, mapping_path, command_line(), **kw)


@cli.command("retry")
@click.argument("results_file", type=click.Path(path_type=Path))
@mapping_option(
    required=False, help="Mapping YAML (default: the mapping of the run that wrote the file)."
)
@_run_options
def retry_cmd(results_file: Path, mapping_path: Path | None, **kw: Any) -> None:
    """Re-send the rows of RESULTS_FILE that failed or were not attempted.

    Give a results file (only its failed / not_attempted rows are sent, under their original
    row numbers) or a corrected failures file (all its rows are run again). Takes the same
    flags as ``syncer run``.
    """
    _do_run(results_file, mapping_path, command_line(), retry=True, **kw)


@cli.command("check")
@click.argument("source", required=False, type=SOURCE)
@mapping_option(help="Mapping YAML whose target and owners to check.")
@click.option("--base-url", envvar="REEVO_BASE_URL", help="Reevo API base URL.")
@click.option(
    "--api-key-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the API key from this file instead of $REEVO_API_KEY.",
)
@click.option("--sandbox", is_flag=True, help="Check against the local sandbox.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line.")
@storage_options
def check_cmd(
    source: Path | str | None,
    mapping_path: Path,
    base_url: str | None,
    api_key_file: Path | None,
    sandbox: bool,
    as_json: bool,
    **kw: Any,
) -> None:
    """Check the key, its permissions and the owners before a run; send no row.

    Verifies that the key is accepted and not expired, that it has every permission the
    mapping's target needs, and that the owner e-mails (the mapping's constants, plus SOURCE's
    when given) are users of the org. Exit 0 all good, 2 bad mapping/input, 3 fix needed.
    SOURCE may be s3://bucket/key or sftp://user@host[:port]/path (see `syncer run --help`).
    """
    from syncer.runner import Settings, check_access

    remember_key_file(api_key_file)
    if as_json:  # until the checks pass; the error object is added on the way out
        emit_json({"command": "check", "ok": False})
    settings = Settings(base_url=base_url, api_key_file=api_key_file)
    with contextlib.ExitStack() as stack:
        local: Path | None = None
        if source is not None:
            local = stack.enter_context(local_source(source, kw)).path
        if sandbox:
            stack.enter_context(embedded_sandbox(settings))
        result = check_access(mapping_path, settings, local)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"ok: the key works and may write; {result.requests} requests used")
    if as_json:
        emit_json(
            {
                "command": "check",
                "ok": True,
                "requests": result.requests,
                "notes": result.notes,
                "exit_code": 0,
            }
        )
    sys.exit(0)
