"""``syncer run``, ``syncer retry`` and ``syncer check``: the commands that talk to Reevo."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from syncer.cli.app import (
    Duration,
    cli,
    echo_issues,
    emit_json,
    fail,
    ledger_option,
    ledger_or_default,
    mapping_option,
    remember_key_file,
)
from syncer.errors import RunAborted, SyncerError
from syncer.models import RunSummary

if TYPE_CHECKING:
    from syncer.runner.settings import Settings
    from syncer.stopping import StopRequest

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
    echo_issues(summary.issues)
    for note in summary.extra.get("notes", []):
        click.echo(f"note: {note}", err=True)
    if summary.aborted:
        click.echo(f"run stopped: {summary.aborted}", err=True)
    if summary.interrupted:
        click.echo(
            f"interrupted ({summary.interrupted}): {counts.get('not_attempted', 0)} rows not "
            "sent. To resume, run the same command again (rows Reevo accepted are not sent "
            f"again), or: syncer retry {summary.results_path}",
            err=True,
        )
    if "nothing_to_retry" in summary.extra:
        click.echo(summary.extra["nothing_to_retry"])
    if summary.results_path is not None:
        click.echo(f"results:  {summary.results_path}")
    if summary.failures_path is not None:
        click.echo(f"failures: {summary.failures_path}  (fix and re-run, or: syncer retry)")
    elif summary.results_path is not None:
        click.echo("no failures (no row to fix)")
    if as_json:
        payload: dict[str, Any] = {
            "command": "run",
            "rows": summary.rows,
            **{s: counts.get(s, 0) for s in RUN_JSON_STATUSES},
            "requests": summary.requests,
            "results": str(summary.results_path) if summary.results_path else None,
            "failures": str(summary.failures_path) if summary.failures_path else None,
            "blank_rows": summary.blank_rows,
            "issues": summary.issues,
            "dry_run": summary.dry_run,
            "exit_code": summary.exit_code,
            "aborted": summary.aborted,
            "abort_reason": summary.abort_reason,
            "interrupted": summary.interrupted,
            "run_id": summary.run_id,
            "elapsed_s": round(summary.elapsed_s, 3),
        }
        if summary.dry_run:
            payload["ready"] = counts.get("ready", 0)
        payload["counts"] = counts
        emit_json(payload, _stop_error(summary))


def _stop_error(summary: RunSummary) -> SyncerError | None:
    """The ``--json`` error of a run that ended early without raising: stopped by Reevo
    (code = its abort reason) or interrupted."""
    if summary.aborted:
        return RunAborted(summary.aborted, reason=summary.abort_reason or "")
    if summary.interrupted:
        sent = "not every row was sent" if summary.counts.get("not_attempted") else "stopped"
        return SyncerError(f"interrupted by {summary.interrupted}: {sent}", code="interrupted")
    return None


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
            "(no key needed; its data lives in syncer's per-user folder).",
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
        ledger_option,
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
    return fn


def _do_run(
    source: Path, mapping: Path | None, command: str, retry: bool = False, **kw: Any
) -> None:
    from syncer.push import PushSettings
    from syncer.runner import Settings, sync
    from syncer.runner import retry as run_retry
    from syncer.stopping import StopRequest

    remember_key_file(kw["api_key_file"])
    stop = StopRequest()
    settings = Settings(
        base_url=kw["base_url"],
        api_key_file=kw["api_key_file"],
        results=kw["results_path"],
        dry_run=kw["dry_run"],
        full=kw["full"],
        ledger=ledger_or_default(kw["ledger_path"]),
        org_label=kw["org_label"],
        preflight=not kw["no_preflight"],
        wait_s=kw["wait_s"],
        again=kw["again"],
        stop=stop,
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
        with (
            _stop_on_signals(stop),
            _sandbox(settings) if kw["sandbox"] else contextlib.nullcontext(),
        ):
            if retry:
                summary = run_retry(source, mapping, settings)
            else:
                assert mapping is not None
                summary = sync(source, mapping, settings)
    except SyncerError as err:
        fail(err)
    finally:
        progress.close()
    _print_run(summary, kw["as_json"])
    sys.exit(summary.exit_code)


@contextlib.contextmanager
def _stop_on_signals(stop: StopRequest) -> Iterator[None]:
    """Ctrl-C / SIGTERM: the first stops feeding rows (requests in flight finish, results and
    ledger are written), the second abandons the requests in flight, the third kills."""
    import os
    import signal

    presses = 0

    def handler(signum: int, _frame: object) -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            msg = "\nsyncer: stopping: finishing the requests in flight, then writing the results "
            msg += "(press Ctrl-C again to abandon them)\n"
        elif presses == 2:
            msg = "\nsyncer: abandoning the requests in flight; writing the results\n"
        else:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        os.write(2, msg.encode())  # not click.echo: a handler may interrupt a write to stderr
        stop.request(signum)

    signals = [signal.SIGINT, signal.SIGTERM]
    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def _sandbox(settings: Settings) -> Iterator[None]:
    """Run the local sandbox in-process for the duration of one command (--sandbox)."""
    import secrets

    from syncer.paths import sandbox_db
    from syncer.sandbox import SandboxSettings, serve_in_thread

    db = sandbox_db()
    db.parent.mkdir(parents=True, exist_ok=True)
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
@mapping_option()
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
    _do_run(results_file, mapping_path, _command_line(), retry=True, **kw)


@cli.command("check")
@click.argument("source", required=False, type=click.Path(path_type=Path))
@mapping_option(help="Mapping YAML whose target and owners to check.")
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
    if as_json:  # until the checks pass; the error object is added on the way out
        emit_json({"command": "check", "ok": False})
    settings = Settings(base_url=base_url, api_key_file=api_key_file)
    with _sandbox(settings) if sandbox else contextlib.nullcontext():
        result = check_access(mapping_path, settings, source)
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


def _command_line() -> str:
    """The command as typed, for the ledger (at most 1,000 characters).

    No flag takes the key itself (only $REEVO_API_KEY or --api-key-file), so argv holds none.
    """
    return " ".join(["syncer", *sys.argv[1:]])[:1000]
