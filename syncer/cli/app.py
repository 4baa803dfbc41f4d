"""The ``syncer`` command group, error output and the entry point.

Exit codes (a contract): 0 every row fine, 1 some rows invalid/failed/not attempted,
2 usage, mapping or unreadable input, 3 run aborted by Reevo (auth, expiry, permission, quota)
or by a remote store (s3://, sftp://) that cannot be reached,
70 an internal error (a bug; --debug shows the traceback with the API key masked),
130 / 143 stopped by Ctrl-C / SIGTERM.

With ``--json`` anywhere on the line, every exit (usage errors included) ends with exactly one
JSON object as the last stdout line: the command's summary (held by :func:`emit_json`) plus
``command``, ``exit_code`` and ``error`` (``{"code", "message", "hint"}``, or null). One place,
:meth:`_SyncerGroup.main`, prints it, so no command can forget it or print two.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from syncer import __version__
from syncer.errors import SyncerError, hint_for

if TYPE_CHECKING:
    from syncer.models import RunSummary

FC = TypeVar("FC", bound=Callable[..., Any])

#: exit code of an unexpected internal error (a bug), as sysexits' EX_SOFTWARE
EXIT_BUG = 70
#: exit codes of a command stopped by Ctrl-C (SIGINT) and by SIGTERM (128 + the signal)
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class _State:
    def __init__(self) -> None:
        self.debug = False
        self.secrets: set[str] = set()  # keys read from --api-key-file, masked by scrub()
        self.begin([])

    def begin(self, args: Sequence[str]) -> None:
        """Forget the previous command's JSON (one process may run several, e.g. in tests)."""
        args = list(args)
        self.json = "--json" in (args[: args.index("--")] if "--" in args else args)
        self.command = ""  # e.g. "run", "runs show"; "" until known
        self.summary: dict[str, Any] | None = None  # the command's --json summary
        self.error: SyncerError | None = None  # the error behind a summary (a stopped run)


STATE = _State()


def emit_json(obj: dict[str, Any], error: SyncerError | None = None) -> None:
    """Hold ``obj`` as this command's ``--json`` summary, and ``error`` if the command ended
    on one without raising it (a run Reevo stopped).

    The CLI's entry point prints it once, as the last stdout line, with ``command``,
    ``exit_code`` and ``error`` filled in from how the command really ended.
    """
    STATE.summary = dict(obj)
    STATE.error = error


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
    """End the command on a run-level error: the entry point prints ``error: MESSAGE`` (never
    a traceback unless --debug), the ``--json`` error object, and exits with its code."""
    raise err


def _report(err: SyncerError) -> None:
    if STATE.debug:
        _print_traceback(err)
    click.echo(scrub(f"error: {err.message}"), err=True)


def error_json(code: str, message: str, hint: str | None = None) -> dict[str, str]:
    """The ``error`` object of the ``--json`` line, with every known key masked."""
    return {"code": code, "message": scrub(message), "hint": scrub(hint or hint_for(code))}


def echo_issues(issues: dict[str, int]) -> None:
    """One line naming what to fix, most common problem first: ``to fix: 2 invalid_email, ...``."""
    if issues:
        click.echo("to fix: " + ", ".join(f"{n} {code}" for code, n in issues.items()))


def echo_files(summary: RunSummary, failures_hint: str = "") -> None:
    """``results:`` and ``failures:`` lines (a workbook beside the CSV file on its own line),
    or ``no failures``."""
    if summary.results_path is None:
        return
    click.echo(f"results:  {summary.results_path}")
    if summary.results_xlsx not in (None, summary.results_path):
        click.echo(f"          {summary.results_xlsx}")
    if summary.failures_path is None:
        click.echo("no failures (no row to fix)")
        return
    click.echo(f"failures: {summary.failures_path}{failures_hint}")
    if summary.failures_xlsx not in (None, summary.failures_path):
        click.echo(f"          {summary.failures_xlsx}")


def mapping_option(
    *, required: bool = True, help: str = "Mapping YAML (Reevo field -> source column)."
) -> Callable[[FC], FC]:
    """The ``--mapping FILE`` option every command that reads a file takes."""
    # no `default=None`: click 8.5 takes an explicit default as given, so `required` stops working
    return click.option(
        "--mapping",
        "mapping_path",
        required=required,
        type=click.Path(path_type=Path),
        help=help,
    )


#: ``--ledger PATH``: run, retry and runs read and write the same ledger (None: the default)
ledger_option = click.option(
    "--ledger",
    "ledger_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="SYNCER_LEDGER",
    default=None,
    help="SQLite ledger of what was sent (history, change detection, resume) [env "
    "SYNCER_LEDGER; default: ledger.db in syncer's per-user folder, e.g. ~/.local/share/syncer].",
)


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class Duration(click.ParamType):  # type: ignore[type-arg]  # generic since click 8.3
    """A duration flag in seconds: ``90`` or ``90s``, ``500ms``, ``10m``, ``2h``, ``1h30m``."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        import re

        text = str(value).strip().lower()
        parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?", text)
        joined = "".join(f"{n}{u}" for n, u in parts)
        if not parts or joined != re.sub(r"\s+", "", text):
            self.fail(f"{value!r} is not a duration: write e.g. 30s, 10m, 2h or 1h30m", param, ctx)
        return sum(float(n) * _UNITS[u or "s"] for n, u in parts)


def ledger_or_default(path: Path | None) -> Path:
    """``--ledger`` when given, else the per-user default (see :mod:`syncer.paths`)."""
    from syncer.paths import default_ledger

    return path if path is not None else default_ledger()


class _Terminated(BaseException):
    """Raised by the SIGTERM handler :func:`main` installs: the command ends as on Ctrl-C."""


class _SyncerGroup(click.Group):
    """The ``syncer`` group. Its :meth:`main` is the one place where every way a command can
    end (a summary, a usage error, a SyncerError, Ctrl-C/SIGTERM, a bug) becomes one message,
    one exit code and, with ``--json``, one JSON object as the last stdout line."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if "--debug" in argv:  # accepted anywhere on the line, not only before the command
            argv = [a for a in argv if a != "--debug"]
            STATE.debug = True
        STATE.begin(argv)
        STATE.command = self._command_of(argv)
        code, error = self._invoke_main(argv, prog_name, complete_var, **extra)
        from syncer.cli.logs import close_logs, log_end

        log_end(code, error)  # --log-file / -v: their handlers live until here
        close_logs()
        if STATE.json:
            _print_json(code, error)
        if standalone_mode:
            sys.exit(code)
        return code

    def _invoke_main(
        self, argv: list[str], prog_name: str | None, complete_var: str | None, **extra: Any
    ) -> tuple[int, dict[str, str] | None]:
        """Run the command; return its exit code and the ``--json`` error object (or None)."""
        try:
            rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except SystemExit as exc:  # a command's own exit (sys.exit(summary.exit_code))
            return _exit_code(exc), None
        except click.ClickException as exc:
            exc.show()
            ctx = getattr(exc, "ctx", None)
            if ctx is not None:
                STATE.command = " ".join(ctx.command_path.split()[1:])
            name = " ".join(["syncer", STATE.command]).strip()
            hint = f"Run `{name} --help` to see its arguments and flags."
            return 2, error_json("usage", exc.format_message(), hint)
        except click.exceptions.Abort:  # Ctrl-C outside a run's own handling
            click.echo(_stopped_message("Ctrl-C"), err=True)
            return EXIT_INTERRUPTED, error_json("interrupted", "stopped by Ctrl-C (SIGINT)")
        except _Terminated:
            click.echo(_stopped_message("SIGTERM"), err=True)
            return EXIT_TERMINATED, error_json("interrupted", "stopped by SIGTERM")
        except SyncerError as exc:
            _report(exc)
            return exc.exit_code, error_json(exc.code, exc.message, exc.hint)
        except Exception as exc:  # a bug: say so in one line, or show the (masked) traceback
            message = f"internal error ({type(exc).__name__}: {exc})"
            if STATE.debug:
                _print_traceback(exc)
            else:
                click.echo(
                    scrub(
                        f"error: {message}. This is a bug in syncer: re-run with --debug and "
                        "report the traceback it prints."
                    ),
                    err=True,
                )
            return EXIT_BUG, error_json("internal", message)
        return (rv if isinstance(rv, int) else 0), None  # click returns Exit's code (--help)

    def _command_of(self, argv: list[str]) -> str:
        """The command ``argv`` names (``run``, ``runs show``...), or "" when it names none."""
        for i, arg in enumerate(argv):
            if arg == "--":
                break
            if arg.startswith("-"):
                continue
            cmd = self.commands.get(arg)
            if isinstance(cmd, click.Group):
                sub = next((a for a in argv[i + 1 :] if a in cmd.commands), None)
                return f"{arg} {sub}" if sub else arg
            return arg if cmd is not None else ""
        return ""


def _stopped_message(signal_name: str) -> str:
    """What a command stopped by a signal outside a run's own handling says (a run writes
    its results and says what it did itself)."""
    name = " ".join(["syncer", STATE.command]).strip()
    return f"interrupted: `{name}` was stopped by {signal_name} before it finished; run it again."


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    click.echo(str(exc.code), err=True)  # sys.exit("message"): Python's own convention
    return 1


def _print_json(code: int, error: dict[str, str] | None) -> None:
    """The one ``--json`` line: the command's summary with ``command``, the real
    ``exit_code`` and ``error`` (the object, or null when the command ran to its end)."""
    held = STATE.error
    if error is None and held is not None:
        error = error_json(held.code, held.message, held.hint)
    if error is None and code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        signame = "SIGINT" if code == EXIT_INTERRUPTED else "SIGTERM"
        error = error_json("interrupted", f"stopped by {signame}")
    if error is None and code not in (0, 1):
        error = error_json("error", f"the command ended with exit code {code}")
    out: dict[str, Any] = {"command": STATE.command or None, **(STATE.summary or {})}
    out["command"] = STATE.command or out["command"]
    out["exit_code"] = code
    out["error"] = error
    click.echo(json.dumps(out, sort_keys=False, default=str))


@click.group(cls=_SyncerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syncer")
@click.option("--debug", is_flag=True, help="Show tracebacks (the API key is masked).")
def cli(debug: bool) -> None:
    """Import CSV and Excel lead lists into Reevo, and keep them in sync."""
    STATE.debug = STATE.debug or debug


#: polars' allocator for the command (read when polars is first imported, after main begins):
#: freed pages go back in 0.1 s, not 0.5 + 1 s (docs/benchmarks.md, "Memory at 1M and 5M rows")
MALLOC_CONF = "dirty_decay_ms:100,muzzy_decay_ms:0"


def _on_sigterm(signum: int, frame: object) -> NoReturn:
    raise _Terminated


def main() -> None:
    """Console-script entry point: SIGTERM ends a command like Ctrl-C (exit 143, and the
    ``--json`` line); ``syncer run`` handles both itself to write its results first."""
    # polars' jemalloc gives freed pages back sooner: -0.2 to -0.3 GB peak at 1M-5M rows
    os.environ.setdefault("_RJEM_MALLOC_CONF", MALLOC_CONF)  # a user's own setting wins
    with contextlib.suppress(ValueError):  # only the main thread may set handlers
        signal.signal(signal.SIGTERM, _on_sigterm)
    cli.main(prog_name="syncer")
