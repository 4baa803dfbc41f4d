"""The ``syncer`` command line. The only module that parses flags, prints, draws progress or exits.

Exit codes (a contract): 0 every row fine, 1 some rows invalid/failed/not attempted,
2 usage, mapping or unreadable input, 3 run aborted by Reevo (auth, expiry, permission, quota).
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

import click

from syncer import __version__
from syncer.errors import SyncerError


class _State:
    debug: bool = False


STATE = _State()


def emit_json(obj: dict[str, Any]) -> None:
    """Print one JSON object as the last stdout line (the ``--json`` contract)."""
    click.echo(json.dumps(obj, sort_keys=False, default=str))


def fail(err: SyncerError) -> NoReturn:
    """Print a run-level error (never a traceback unless --debug) and exit with its code."""
    if STATE.debug:
        traceback.print_exception(err)
    click.echo(f"error: {err.message}", err=True)
    sys.exit(err.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syncer")
@click.option("--debug", is_flag=True, help="Show tracebacks (the API key is masked).")
def cli(debug: bool) -> None:
    """Import CSV and Excel lead lists into Reevo, and keep them in sync."""
    STATE.debug = debug


@cli.command("validate")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--mapping",
    "mapping_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Mapping YAML (Reevo field -> source column).",
)
@click.option(
    "--results",
    "results_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Results CSV path (default: <source stem>.results.csv beside the source); "
    "the failures file goes beside it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary as the last line.")
def validate_cmd(
    source: Path, mapping_path: Path, results_path: Path | None, as_json: bool
) -> None:
    """Check SOURCE against a mapping without sending anything (no network).

    Writes every row to a results CSV (ready / duplicate / invalid, with the reason) and the
    rows to fix to a failures CSV. Exit 0 all rows ready or duplicate, 1 some invalid,
    2 unusable file or mapping.
    """
    from syncer.runner import validate as run_validate

    try:
        summary = run_validate(source, mapping_path, results=results_path)
    except SyncerError as err:
        fail(err)
    counts = summary.counts
    click.echo(
        f"{summary.rows} rows: {counts.get('ready', 0)} ready, "
        f"{counts.get('duplicate', 0)} duplicate, {counts.get('invalid', 0)} invalid"
        + (f" ({summary.blank_rows} blank rows skipped)" if summary.blank_rows else "")
    )
    click.echo(f"results:  {summary.results_path}")
    click.echo(f"failures: {summary.failures_path}")
    if as_json:
        emit_json(
            {
                "command": "validate",
                "rows": summary.rows,
                **{k: counts.get(k, 0) for k in ("ready", "duplicate", "invalid")},
                "counts": counts,
                "blank_rows": summary.blank_rows,
                "results": str(summary.results_path),
                "failures": str(summary.failures_path),
                "elapsed_s": round(summary.elapsed_s, 3),
            }
        )
    sys.exit(summary.exit_code)


@cli.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port (0 = any free).")
@click.option("--db", "db", type=click.Path(dir_okay=False), help="SQLite file (default: memory).")
@click.option("--api-key", envvar="SANDBOX_API_KEY", help="Key with every permission [random].")
@click.option("--rate-limit", type=float, help="Requests per second (token bucket).")
@click.option("--daily-quota", type=int, help="Public requests per UTC day.")
@click.option("--latency-ms", type=float, default=0.0, help="Added to every request.")
@click.option("--jitter-ms", type=float, default=0.0, help="Plus uniform(0, jitter) ms.")
@click.option("--fail-rate", type=float, default=0.0, help="Share answered 500/502/503.")
@click.option("--reset-rate", type=float, default=0.0, help="Share whose connection drops.")
@click.option("--commit-then-fail-rate", type=float, default=0.0, help="Writes applied, then fail.")
@click.option("--seed", "seed", type=click.Path(exists=True, dir_okay=False), help="Seed YAML.")
@click.option("--no-examples", is_flag=True, help="Do not seed the help page's example objects.")
def sandbox_cmd(
    host: str,
    port: int,
    db: str | None,
    api_key: str | None,
    rate_limit: float | None,
    daily_quota: int | None,
    latency_ms: float,
    jitter_ms: float,
    fail_rate: float,
    reset_rate: float,
    commit_then_fail_rate: float,
    seed: str | None,
    no_examples: bool,
) -> None:
    """Run a local Reevo (public API v1) with the demo organisation, limits and faults."""
    from pathlib import Path

    from syncer.sandbox import SandboxSettings, serve_forever

    settings = SandboxSettings(
        host=host,
        port=port,
        db_path=db,
        api_key=api_key,
        rate_limit=rate_limit,
        daily_quota=daily_quota,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        fail_rate=fail_rate,
        reset_rate=reset_rate,
        commit_then_fail_rate=commit_then_fail_rate,
        seed_path=Path(seed) if seed else None,
        example_data=not no_examples,
    )
    shown = f"[{host}]" if ":" in host else host

    def ready(app: Any) -> None:
        click.echo(f"Reevo sandbox on http://{shown}:{settings.port}  (admin: /_sandbox/stats)")
        click.echo(f"API key (every permission): {settings.api_key}")
        if host not in ("127.0.0.1", "localhost", "::1"):
            click.echo("warning: not loopback; the admin API still answers loopback clients only")

    serve_forever(settings, on_ready=ready)


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except SyncerError as exc:
        fail(exc)
