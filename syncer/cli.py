"""The ``syncer`` command line. The only module that parses flags, prints, draws progress or exits.

Exit codes (a contract): 0 every row fine, 1 some rows invalid/failed/not attempted,
2 usage, mapping or unreadable input, 3 run aborted by Reevo (auth, expiry, permission, quota),
70 an internal error (a bug; --debug shows the traceback with the API key masked).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click

from syncer import __version__
from syncer.errors import ConfigError, SyncerError
from syncer.models import RunSummary

#: exit code of an unexpected internal error (a bug), as sysexits' EX_SOFTWARE
EXIT_BUG = 70


class _State:
    def __init__(self) -> None:
        self.debug = False
        self.secrets: set[str] = set()  # keys read from --api-key-file, masked by scrub()


STATE = _State()


def emit_json(obj: dict[str, Any]) -> None:
    """Print one JSON object as the last stdout line (the ``--json`` contract)."""
    click.echo(json.dumps(obj, sort_keys=False, default=str))


def remember_key_file(path: Path | None) -> None:
    """Note the key held in ``path`` (--api-key-file) so :func:`scrub` masks it too."""
    if path is None:
        return
    with contextlib.suppress(OSError, UnicodeDecodeError):
        key = path.read_text(encoding="utf-8").strip()
        if key:
            STATE.secrets.add(key)


def scrub(text: str) -> str:
    """``text`` with every API key we know of ($REEVO_API_KEY, --api-key-file) masked."""
    keys = set(STATE.secrets)
    env_key = os.environ.get("REEVO_API_KEY", "").strip()
    if env_key:
        keys.add(env_key)
    for key in sorted(keys, key=len, reverse=True):
        if len(key) >= 4:
            text = text.replace(key, "***")
    return text


def _print_traceback(exc: BaseException) -> None:
    click.echo(scrub("".join(traceback.format_exception(exc))).rstrip("\n"), err=True)


def fail(err: SyncerError) -> NoReturn:
    """Print a run-level error (never a traceback unless --debug) and exit with its code."""
    if STATE.debug:
        _print_traceback(err)
    click.echo(scrub(f"error: {err.message}"), err=True)
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
@click.option("--slow-rate", type=float, default=0.0, help="Share answered only after --slow-ms.")
@click.option("--slow-ms", type=float, default=30_000.0, show_default=True, help="See --slow-rate.")
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
    slow_rate: float,
    slow_ms: float,
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
        slow_rate=slow_rate,
        slow_ms=slow_ms,
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


# ---------------------------------------------------------------------------------------------
# run / retry / check / runs
# ---------------------------------------------------------------------------------------------

RUN_JSON_STATUSES = ("succeeded", "unchanged", "duplicate", "invalid", "failed", "not_attempted")


class _Progress:
    """A tqdm bar on a terminal; a plain log line every few seconds otherwise."""

    def __init__(self, quiet: bool) -> None:
        self.total = 0
        self.done = 0
        self.quiet = quiet
        self.started = time.monotonic()
        self.last_log = self.started
        self.bar: Any = None

    def start(self, total: int) -> None:
        """Called once the number of rows to go through is known."""
        self.total = total
        self.started = self.last_log = time.monotonic()
        if not self.quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="row", dynamic_ncols=True, file=sys.stderr)

    def __call__(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if not self.quiet and now - self.last_log >= 5:
            self.last_log = now
            rate = self.done / max(now - self.started, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else 0
            click.echo(
                f"syncer: {self.done}/{self.total} rows ({rate:.0f} rows/s, ETA {eta:.0f} s)",
                err=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _print_run(summary: RunSummary, as_json: bool) -> None:
    counts = summary.counts
    shown = [s for s in (*RUN_JSON_STATUSES, "ready") if counts.get(s)]
    parts = ", ".join(f"{counts[s]} {s}" for s in shown) or "nothing to do"
    head = "dry run (nothing sent)" if summary.dry_run else f"{summary.requests} requests"
    click.echo(f"{summary.rows} rows: {parts}  [{head}, {summary.elapsed_s:.1f} s]")
    if summary.blank_rows:
        click.echo(f"{summary.blank_rows} blank rows skipped")
    for note in summary.extra.get("notes", []):
        click.echo(f"note: {note}", err=True)
    if summary.aborted:
        click.echo(f"run stopped: {summary.aborted}", err=True)
    click.echo(f"results:  {summary.results_path}")
    if any(counts.get(s) for s in ("invalid", "failed", "not_attempted")):
        click.echo(f"failures: {summary.failures_path}  (fix and re-run, or: syncer retry)")
    if as_json:
        payload: dict[str, Any] = {
            "command": "run",
            "rows": summary.rows,
            **{s: counts.get(s, 0) for s in RUN_JSON_STATUSES},
            "requests": summary.requests,
            "results": str(summary.results_path),
            "failures": str(summary.failures_path),
            "blank_rows": summary.blank_rows,
            "dry_run": summary.dry_run,
            "exit_code": summary.exit_code,
            "aborted": summary.aborted,
            "abort_reason": summary.abort_reason,
            "run_id": summary.run_id,
            "elapsed_s": round(summary.elapsed_s, 3),
        }
        if summary.dry_run:
            payload["ready"] = counts.get("ready", 0)
        payload["counts"] = counts
        emit_json(payload)


def _run_options(fn: Any) -> Any:
    """Flags shared by ``run`` and ``retry``."""
    opts = [
        click.option(
            "--base-url",
            envvar="REEVO_BASE_URL",
            help="Reevo API base URL [env REEVO_BASE_URL; default https://api.reevo.ai].",
        ),
        click.option(
            "--api-key-file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Read the API key from this file instead of $REEVO_API_KEY.",
        ),
        click.option(
            "--sandbox",
            is_flag=True,
            help="Start the local Reevo sandbox in-process and import into it "
            "(no key needed; its data lives under .syncer/).",
        ),
        click.option(
            "--results",
            "results_path",
            type=click.Path(path_type=Path),
            help="Results CSV path (default: <source stem>.results.csv beside it).",
        ),
        click.option("--dry-run", is_flag=True, help="Do everything but send."),
        click.option(
            "--json",
            "as_json",
            is_flag=True,
            help="Print one JSON summary as the last stdout line.",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 256),
            default=16,
            show_default=True,
            help="Requests in flight at most.",
        ),
        click.option(
            "--max-rate",
            type=click.FloatRange(min=0.1),
            default=None,
            help="Requests per second at most (default: as fast as Reevo allows).",
        ),
        click.option(
            "--full",
            is_flag=True,
            help="Send every row, even those unchanged since their last success.",
        ),
        click.option(
            "--ledger",
            "ledger_path",
            type=click.Path(path_type=Path),
            default=Path(".syncer") / "ledger.db",
            show_default=True,
            help="SQLite ledger of what was sent (resume, change detection).",
        ),
        click.option(
            "--org",
            "org_label",
            default=None,
            help="Name this Reevo org in the ledger (keeps history across key "
            "rotations; default: a fingerprint of the key).",
        ),
        click.option(
            "--no-preflight",
            is_flag=True,
            help="Skip the key/permission/owner checks before sending.",
        ),
        click.option(
            "--breaker",
            type=click.IntRange(min=0),
            default=25,
            show_default=True,
            help="Stop when the first N answered rows fail alike (0: off).",
        ),
        click.option(
            "--timeout",
            "timeout_s",
            type=click.FloatRange(min=0.1),
            default=30.0,
            show_default=True,
            help="Seconds to wait for one answer from Reevo before retrying the row.",
        ),
        click.option("--quiet", "-q", is_flag=True, help="No progress output."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _do_run(
    source: Path, mapping: Path | None, command: str, retry: bool = False, **kw: Any
) -> None:
    from syncer.push import PushSettings
    from syncer.runner import Settings, sync
    from syncer.runner import retry as run_retry

    remember_key_file(kw["api_key_file"])
    settings = Settings(
        base_url=kw["base_url"],
        api_key_file=kw["api_key_file"],
        results=kw["results_path"],
        dry_run=kw["dry_run"],
        full=kw["full"],
        ledger=kw["ledger_path"],
        org_label=kw["org_label"],
        preflight=not kw["no_preflight"],
        push=PushSettings(
            concurrency=kw["concurrency"],
            max_rate=kw["max_rate"],
            breaker_threshold=kw["breaker"],
            timeout_s=kw["timeout_s"],
        ),
        command=command,
    )
    progress = _Progress(kw["quiet"])
    settings.progress = progress
    settings.on_start = progress.start
    try:
        with _sandbox(settings) if kw["sandbox"] else contextlib.nullcontext():
            if retry:
                summary = run_retry(source, mapping, settings)
            else:
                assert mapping is not None
                summary = sync(source, mapping, settings)
    except SyncerError as err:
        progress.close()
        fail(err)
    progress.close()
    _print_run(summary, kw["as_json"])
    sys.exit(summary.exit_code)


@contextlib.contextmanager
def _sandbox(settings: Any) -> Iterator[None]:
    """Run the local sandbox in-process for the duration of one command (--sandbox)."""
    import secrets

    from syncer.sandbox import SandboxSettings, serve_in_thread

    home = Path(".syncer")
    home.mkdir(exist_ok=True)
    db = home / "sandbox.db"
    sb = SandboxSettings(port=0, db_path=str(db), api_key=secrets.token_hex(16))
    with serve_in_thread(sb) as handle:
        settings.base_url = handle.base_url
        settings.api_key = handle.api_key
        # the port changes on every start: name the org by the sandbox's database instead
        settings.org = f"sandbox:{db.resolve()}"
        click.echo(f"sandbox: local Reevo at {handle.base_url} (data in {db})", err=True)
        yield


@cli.command("run")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--mapping",
    "mapping_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Mapping YAML (Reevo field -> source column).",
)
@_run_options
def run_cmd(source: Path, mapping_path: Path, **kw: Any) -> None:
    """Import SOURCE (CSV/TSV/XLSX/XLS) into Reevo as the mapping says.

    Every row ends in the results CSV with its status: succeeded, unchanged, duplicate,
    invalid, failed or not_attempted. Exit 0 all rows fine, 1 some rows invalid/failed/not
    attempted, 2 unusable input/mapping/flags, 3 run stopped by Reevo (key, permission, quota).
    The API key comes from $REEVO_API_KEY (or --api-key-file) and is never printed.
    """
    _do_run(source, mapping_path, _command_line(), **kw)


@cli.command("retry")
@click.argument("results_file", type=click.Path(path_type=Path))
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Mapping YAML (default: the mapping of the run that wrote the file).",
)
@_run_options
def retry_cmd(results_file: Path, mapping_path: Path | None, **kw: Any) -> None:
    """Re-send the rows of RESULTS_FILE that failed or were not attempted.

    Give a results file (only its failed / not_attempted rows are sent, under their original
    row numbers) or a corrected failures file (all its rows are run again). Takes the same
    flags as ``syncer run``.
    """
    _do_run(results_file, mapping_path, _command_line(), retry=True, **kw)


@cli.command("check")
@click.argument("source", required=False, type=click.Path(path_type=Path))
@click.option(
    "--mapping",
    "mapping_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Mapping YAML whose target and owners to check.",
)
@click.option("--base-url", envvar="REEVO_BASE_URL", help="Reevo API base URL.")
@click.option(
    "--api-key-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the API key from this file instead of $REEVO_API_KEY.",
)
@click.option("--sandbox", is_flag=True, help="Check against the local sandbox.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line.")
def check_cmd(
    source: Path | None,
    mapping_path: Path,
    base_url: str | None,
    api_key_file: Path | None,
    sandbox: bool,
    as_json: bool,
) -> None:
    """Check the key, its permissions and the owners before a run; send no row.

    Verifies that the key is accepted and not expired, that it has every permission the
    mapping's target needs, and that the owner e-mails (the mapping's constants, plus SOURCE's
    when given) are users of the org. Exit 0 all good, 2 bad mapping/input, 3 fix needed.
    """
    from syncer.runner import Settings, check_access

    remember_key_file(api_key_file)
    settings = Settings(base_url=base_url, api_key_file=api_key_file)
    try:
        if sandbox:
            with _sandbox(settings):
                result = check_access(mapping_path, settings, source)
        else:
            result = check_access(mapping_path, settings, source)
    except SyncerError as err:
        if as_json:
            emit_json(
                {"command": "check", "ok": False, "error": err.message, "exit_code": err.exit_code}
            )
        fail(err)
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


@cli.group("runs", invoke_without_command=True)
@click.option(
    "--ledger",
    "ledger_path",
    type=click.Path(path_type=Path),
    default=Path(".syncer") / "ledger.db",
    show_default=True,
    help="Ledger file.",
)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as one JSON object.")
@click.pass_context
def runs_cmd(ctx: click.Context, ledger_path: Path, limit: int, as_json: bool) -> None:
    """List past runs: when, file, mapping, counts, outcome."""
    ctx.obj = ledger_path
    if ctx.invoked_subcommand is not None:
        return
    records = _ledger_runs(ledger_path, limit)
    if not records:
        click.echo(f"no runs recorded in {ledger_path}")
    for r in records:
        counts = ", ".join(f"{n} {s}" for s, n in r.counts.items() if n)
        code = "-" if r.exit_code is None else r.exit_code
        click.echo(
            f"#{r.id:<4} {r.started_at}  {r.display_outcome:<11} exit {code}"
            f"  {r.source}  [{r.mapping}]  {counts}"
        )
    if as_json:
        emit_json({"command": "runs", "runs": [_run_json(r) for r in records]})


@runs_cmd.command("show")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the run as one JSON object.")
@click.pass_obj
def runs_show_cmd(ledger_path: Path, run_id: int, as_json: bool) -> None:
    """Show one run with its results paths."""
    from syncer.ledger import Ledger

    if not ledger_path.exists():
        fail(ConfigError(f"no ledger at {ledger_path}: no run has been recorded there yet."))
    with Ledger(ledger_path) as ledger:
        rec = ledger.run(run_id)
    if rec is None:
        fail(ConfigError(f"no run #{run_id} in {ledger_path}; `syncer runs` lists them."))
    data = _run_json(rec)
    for key, value in data.items():
        click.echo(f"{key + ':':<15}{value if value is not None else ''}")
    if as_json:
        emit_json({"command": "runs show", **data})


def _ledger_runs(ledger_path: Path, limit: int) -> list[Any]:
    from syncer.ledger import Ledger

    if not ledger_path.exists():
        return []
    with Ledger(ledger_path) as ledger:
        return ledger.runs(limit)


def _run_json(r: Any) -> dict[str, Any]:
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
    }


def _command_line() -> str:
    """The command as typed, without anything that could be a secret."""
    return " ".join(["syncer", *sys.argv[1:]])[:1000]


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
    except Exception as exc:  # a bug: say so in one line, or show the (masked) traceback
        if STATE.debug:
            _print_traceback(exc)
        else:
            click.echo(
                scrub(
                    f"error: internal error ({type(exc).__name__}: {exc}). This is a bug in "
                    "syncer: re-run with --debug and report the traceback it prints."
                ),
                err=True,
            )
        sys.exit(EXIT_BUG)
