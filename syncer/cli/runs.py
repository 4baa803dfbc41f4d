"""``syncer runs`` and ``syncer runs show``: the history kept in the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from syncer.cli.app import cli, emit_json, fail, ledger_option, ledger_or_default
from syncer.cli.history import local_time, retried_by, runs_lines, show_lines
from syncer.errors import ConfigError, SyncerError


class _RunRef(click.ParamType):  # type: ignore[type-arg]  # generic since click 8.3
    """A run id, or ``latest`` (None: the newest run)."""

    name = "run_id"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> int | None:
        if isinstance(value, int) or value is None:
            return value
        if str(value).strip().lower() == "latest":
            return None
        try:
            return int(str(value).lstrip("#"))
        except ValueError:
            self.fail(f"{value!r} is not a run id: give a number from `syncer runs`, or latest")


@cli.group("runs", invoke_without_command=True)
@ledger_option
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as one JSON object.")
@click.pass_context
def runs_cmd(ctx: click.Context, ledger_path: Path | None, limit: int, as_json: bool) -> None:
    """List past runs: when, file, mapping, counts, outcome."""
    ctx.obj = ledger_path = ledger_or_default(ledger_path)
    if ctx.invoked_subcommand is not None:
        return
    records, inbox_runs = _ledger_runs(ledger_path, limit)
    links = retried_by(records)
    if not records and not inbox_runs:
        click.echo(f"no runs recorded in {ledger_path}")
    for line in runs_lines(records) if records else []:
        click.echo(line)
    if inbox_runs:
        click.echo("inbox runs:")
    for ir in inbox_runs:
        code = "-" if ir.exit_code is None else ir.exit_code
        files = ", ".join(f"{f['name']} {f['status']}" for f in ir.report.get("files", []))
        click.echo(
            f"inbox #{ir.id:<4} {local_time(ir.started_at)}  {ir.display_status:<11} exit {code}"
            f"  {ir.inbox}"
            f"  {files or 'no files'}"
        )
    if as_json:
        emit_json(
            {
                "command": "runs",
                "runs": [_run_json(r, links.get(r.id, [])) for r in records],
                "inbox_runs": [_inbox_json(ir) for ir in inbox_runs],
            }
        )


@runs_cmd.command("show")
@click.argument("run_id", type=_RunRef())
@click.option("--json", "as_json", is_flag=True, help="Print the run as one JSON object.")
@click.option(
    "--report",
    "write_report",
    is_flag=True,
    help="(Re)write the run's HTML report from the ledger and its results files.",
)
@click.pass_obj
def runs_show_cmd(ledger_path: Path, run_id: int | None, as_json: bool, write_report: bool) -> None:
    """Show one run (RUN_ID, or ``latest``): its counts, message, files and retry links.

    ``--report`` writes its HTML report again: beside its results file while that still holds
    this run's rows, else in the run's own folder beside the ledger.

    ``results`` / ``failures`` are the stable names, which hold the latest run that wrote them;
    ``kept_results`` / ``kept_failures`` are this run's own copies (kept for the newest 100
    runs, beside the ledger).
    """
    from syncer.ledger import Ledger

    if not ledger_path.exists():
        fail(ConfigError(f"no ledger at {ledger_path}: no run has been recorded there yet."))
    with Ledger(ledger_path) as ledger:
        if run_id is None:  # latest
            run_id = ledger.latest_run_id()
            if run_id is None:
                fail(ConfigError(f"no run recorded in {ledger_path} yet: nothing is latest."))
        rec = ledger.run(run_id)
        newer = ledger.run_for_results(Path(rec.results_path)) if rec and rec.results_path else None
        children = ledger.retries_of(run_id)
    if rec is None:
        fail(ConfigError(f"no run #{run_id} in {ledger_path}; `syncer runs` lists them."))
    data = _run_json(rec, children)
    gone = {
        k: bool(data[k]) and not Path(data[k]).exists() for k in ("kept_results", "kept_failures")
    }
    for line in show_lines(rec, children, gone):
        click.echo(line)
    if newer is not None and newer.id != rec.id:
        click.echo(
            f"note: {rec.results_path} now holds run #{newer.id}'s rows; this run's own are in "
            "kept_results / kept_failures"
        )
    if write_report:
        data["report"] = _rewrite_report(ledger_path, run_id)
    # flat, as before; the run's own command line and exit code must not pass for this command's
    data["run_command"], data["run_exit_code"] = data.pop("command"), data.pop("exit_code")
    emit_json({"command": "runs show", **data})  # printed only with --json (also `runs --json`)


def _rewrite_report(ledger_path: Path, run_id: int) -> str:
    """``runs show --report``: write the report, print its path and what it lacks."""
    from syncer.runner.reporting import rewrite_report

    try:
        path, notes = rewrite_report(ledger_path, run_id)
    except SyncerError as err:
        fail(err)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"{'report:':<15}{path}")
    return str(path)


def _ledger_runs(ledger_path: Path, limit: int) -> tuple[list[Any], list[Any]]:
    """(runs, inbox runs), newest first."""
    from syncer.ledger import Ledger
    from syncer.registry import Registry

    if not ledger_path.exists():
        return [], []
    with Ledger(ledger_path) as ledger:
        return ledger.runs(limit), Registry(ledger).inbox_runs(limit)


def _inbox_json(ir: Any) -> dict[str, Any]:
    files = [
        {k: f.get(k) for k in ("name", "status", "rows", "archived", "error")}
        for f in ir.report.get("files", [])
    ]
    return {
        "id": ir.id,
        "inbox": ir.inbox,
        "started_at": ir.started_at,
        "finished_at": ir.finished_at,
        "status": ir.display_status,
        "exit_code": ir.exit_code,
        "files": files,
    }


def _run_json(r: Any, retried_by: list[int] | None = None) -> dict[str, Any]:
    return {
        "id": r.id,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "outcome": r.display_outcome,
        "exit_code": r.exit_code,
        "source": r.source,
        "mapping": r.mapping,
        "target": r.target,
        "rows": r.rows,
        "counts": r.counts,
        "requests": r.requests,
        "message": r.message,
        "results": r.results_path,
        "failures": r.failures_path,
        "command": r.command,
        "kept_results": r.kept_results,
        "kept_failures": r.kept_failures,
        "parent_run": r.parent_run,
        "retried_by": list(retried_by or []),
        "retries": r.retries,
        "throttled": r.throttled,
        "retry_at": r.retry_at,
    }
