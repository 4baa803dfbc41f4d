"""``syncer run --job FILE`` and ``syncer validate --job FILE``: a job file's steps in order,
one summary with a section per step, and the worst step's exit code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from syncer.cli.app import emit_json, fail, scrub
from syncer.cli.run import echo_run, run_session, stop_error
from syncer.cli.validate import echo_validate
from syncer.errors import SyncerError

if TYPE_CHECKING:
    from syncer.runner.job import JobStep, JobSummary


def job_mode(source: Path | str | None, mapping: Path | None, kw: dict[str, Any]) -> bool:
    """True when the command runs a job file (``--job``); a usage error when ``--job`` comes
    with SOURCE, --mapping or --results, or when neither a job nor SOURCE and --mapping are
    given."""
    ctx = click.get_current_context()
    job, results_dir = kw.get("job_path"), kw.get("results_dir")
    if job is None:
        if results_dir is not None:
            raise click.UsageError(
                "--results-dir is for --job (every step's results go there); a single file's "
                "results path is --results PATH.",
                ctx,
            )
        if source is None:
            raise click.UsageError("Missing argument 'SOURCE' (or give --job FILE).", ctx)
        if mapping is None:
            raise click.UsageError("Missing option '--mapping' (or give --job FILE).", ctx)
        return False
    given = [f"SOURCE ({source})" if source is not None else "", "--mapping" if mapping else ""]
    given = [g for g in given if g]
    if given:
        raise click.UsageError(
            f"--job {job} and {' and '.join(given)} both say what to import: the job file's "
            "steps name their sources and mappings. Give either SOURCE --mapping FILE or "
            "--job FILE.",
            ctx,
        )
    if kw.get("results_path") is not None:
        raise click.UsageError(
            "--results names one results file, but each step of a --job writes its own: give a "
            "step its `results:` in the job file, or put them all in one folder with "
            "--results-dir DIR.",
            ctx,
        )
    return True


def run_job_command(command: str, kw: dict[str, Any]) -> NoReturn:
    """``syncer run --job``: every run flag applies to each step."""
    from syncer.runner import run_job

    with run_session(kw, command) as settings:
        summary = run_job(
            kw["job_path"],
            settings,
            results_dir=kw["results_dir"],
            on_step=None if kw["quiet"] else _announce,
        )
    _print_job(summary, kw["as_json"])
    sys.exit(summary.exit_code)


def validate_job_command(kw: dict[str, Any]) -> NoReturn:
    """``syncer validate --job``: every step checked as ``syncer validate`` checks one file."""
    from syncer.runner import validate_job

    try:
        summary = validate_job(
            kw["job_path"], results_dir=kw["results_dir"], results_format=kw["results_format"]
        )
    except SyncerError as err:
        fail(err)
    _print_job(summary, kw["as_json"])
    sys.exit(summary.exit_code)


def _announce(step: JobStep, steps: int) -> None:
    click.echo(
        f"syncer: step {step.number}/{steps} {step.name}: {step.source} with {step.mapping}",
        err=True,
    )


def _print_job(summary: JobSummary, as_json: bool) -> None:
    """A section per step (its usual summary), the steps not run, then the job's totals."""
    steps = len(summary.steps) + len(summary.not_run)
    for result in summary.steps:
        step = result.step
        click.echo(f"== step {step.number}/{steps} {step.name}: exit {result.exit_code} ==")
        if result.summary is not None:
            (echo_validate if summary.command == "validate" else echo_run)(result.summary)
        elif result.error is not None:
            click.echo(scrub(f"error: {result.error.message}"), err=True)
    for left in summary.not_run:
        step = left.step
        click.echo(
            f"== step {step.number}/{steps} {step.name}: not run ({left.rows} rows of "
            f"{step.source} not sent) =="
        )
    totals = summary.totals()
    shown = [k for k in totals if k not in ("rows", "requests", "blank_rows", "not_run_rows")]
    parts = ", ".join(f"{totals[k]} {k}" for k in shown if totals[k]) or "nothing to do"
    sent = f", {totals['requests']} requests" if "requests" in totals else ""
    sent += " (dry run: nothing sent)" if summary.dry_run else ""
    click.echo(
        f"job {summary.path}: {len(summary.steps)} of {steps} steps run, {totals['rows']} rows: "
        f"{parts}{sent}; exit {summary.exit_code}"
    )
    stopped = summary.stopped_by
    if summary.not_run:
        why = (
            f"step {stopped.step.number} ({stopped.step.name}) stopped the job"
            if stopped is not None
            else f"the job was interrupted ({summary.interrupted})"
        )
        click.echo(
            f"not run: {len(summary.not_run)} step(s), {totals['not_run_rows']} rows (not "
            f"counted above): {why}. Fix that, then run the job again: steps already imported "
            "send only what changed.",
            err=True,
        )
    if as_json:
        emit_json(summary.to_dict(), _job_error(summary))


def _job_error(summary: JobSummary) -> SyncerError | None:
    """The ``--json`` error of a job that ended early without raising."""
    stopped = summary.stopped_by
    if stopped is not None:
        if stopped.error is not None:
            return stopped.error
        assert stopped.summary is not None
        return stop_error(stopped.summary)
    if summary.interrupted is not None:
        return SyncerError(
            f"interrupted by {summary.interrupted} between two steps: {len(summary.not_run)} "
            "step(s) not run",
            code="interrupted",
        )
    return None
