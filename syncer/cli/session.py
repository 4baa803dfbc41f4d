"""What ``run``, ``retry`` and ``inbox`` share: their common flags, the Settings they build,
progress output, Ctrl-C handling and the embedded sandbox."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from syncer.cli.app import ledger_option, ledger_or_default, remember_key_file
from syncer.cli.logs import log_options
from syncer.models import RESULTS_FORMATS

if TYPE_CHECKING:
    from syncer.runner.settings import Settings
    from syncer.stopping import StopRequest


class Progress(logging.Handler):
    """A tqdm bar on a terminal; a plain log line every ``period_s`` otherwise. Both count the
    run's retries and 429s, which it hears as a handler of syncer's ``retry`` / ``throttled``
    events (attached by :meth:`start`, detached by :meth:`close`)."""

    def __init__(self, quiet: bool) -> None:
        super().__init__(logging.WARNING)
        self.total = 0
        self.done = 0
        self.retries = 0
        self.throttled = 0
        self.quiet = quiet
        self.period_s = 5.0
        self.started = time.monotonic()
        self.last_log = self.started
        self.bar: Any = None

    def start(self, total: int) -> None:
        """Called once the number of rows to go through is known."""
        self.total = total
        self.done = 0  # a job's next step (or the inbox's next file) counts from 0
        self.started = self.last_log = time.monotonic()
        if self not in _PUSH_LOG.handlers:
            _PUSH_LOG.addHandler(self)
        if not self.quiet and sys.stderr.isatty():
            from tqdm import tqdm

            if self.bar is not None:
                self.bar.close()
            self.bar = tqdm(total=total, unit="row", dynamic_ncols=True, file=sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        """Count a retry or a 429 (logging calls this on the event loop's thread)."""
        from syncer.events import Retry, Throttled, read

        logged = read(record)
        if logged is None:
            return
        if isinstance(logged.event, Retry):
            self.retries += 1
        elif isinstance(logged.event, Throttled):
            self.throttled += 1
        else:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(self.trouble(), refresh=False)

    def trouble(self) -> str:
        """``3 retries, 2 throttled (429)``."""
        retries = f"{self.retries} retr{'y' if self.retries == 1 else 'ies'}"
        return f"{retries}, {self.throttled} throttled (429)"

    def __call__(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if not self.quiet and now - self.last_log >= self.period_s:
            self.last_log = now
            rate = self.done / max(now - self.started, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else 0
            click.echo(
                f"syncer: {self.done}/{self.total} rows ({rate:.0f} rows/s, ETA {eta:.0f} s; "
                f"{self.trouble()})",
                err=True,
            )

    def close(self) -> None:
        _PUSH_LOG.removeHandler(self)
        if self.bar is not None:
            self.bar.close()
        super().close()


#: where the worker pool's retry and throttled events are logged
_PUSH_LOG = logging.getLogger("syncer.push")


results_format_option = click.option(
    "--results-format",
    type=click.Choice(RESULTS_FORMATS),
    default=None,
    help="Results and failures files: csv, xlsx (workbooks), both, or csv-utf8 (UTF-8 with "
    "commas, whatever the source's encoding and delimiter) [default: both for an Excel source, "
    "csv for a text one].",
)


def connection_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Flags shared by ``run``, ``retry`` and ``inbox``: where Reevo is, the key, the ledger,
    pacing and output."""
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
            "--no-rate-memory",
            is_flag=True,
            help="Start at 10 req/s and climb, not near the rate the ledger remembers this "
            "org accepted (the run's own rate is still remembered).",
        ),
        click.option(
            "--full",
            is_flag=True,
            help="Send every row, even those unchanged since their last success.",
        ),
        click.option(
            "--force-ambiguous",
            is_flag=True,
            help="Send again the tasks, activities and enrollments whose earlier create may "
            "have been applied (reevo_ambiguous): check Reevo first, this can duplicate them.",
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
        log_options,
        results_format_option,
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def build_settings(kw: dict[str, Any], command: str, stop: StopRequest, **extra: Any) -> Settings:
    """The :class:`Settings` the connection flags in ``kw`` describe (plus ``extra`` fields),
    with progress output attached."""
    from syncer.push import PushSettings
    from syncer.runner import Settings

    remember_key_file(kw["api_key_file"])
    settings = Settings(
        base_url=kw["base_url"],
        api_key_file=kw["api_key_file"],
        full=kw["full"],
        force_ambiguous=kw["force_ambiguous"],
        ledger=ledger_or_default(kw["ledger_path"]),
        org_label=kw["org_label"],
        preflight=not kw["no_preflight"],
        stop=stop,
        push=PushSettings(
            concurrency=kw["concurrency"],
            max_rate=kw["max_rate"],
            rate_memory=not kw["no_rate_memory"],
            breaker_threshold=kw["breaker"],
            timeout_s=kw["timeout_s"],
        ),
        command=command,
        results_format=kw["results_format"],
        **extra,
    )
    return settings


@contextlib.contextmanager
def stop_on_signals(stop: StopRequest) -> Iterator[None]:
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
def embedded_sandbox(settings: Settings) -> Iterator[None]:
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


def command_line() -> str:
    """The command as typed, for the ledger (at most 1,000 characters).

    No flag takes the key itself (only $REEVO_API_KEY or --api-key-file), so argv holds none.
    """
    return " ".join(["syncer", *sys.argv[1:]])[:1000]
