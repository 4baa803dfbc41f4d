"""The ``syncer`` command group, error output and the entry point.

Exit codes (a contract): 0 every row fine, 1 some rows invalid/failed/not attempted,
2 usage, mapping or unreadable input, 3 run aborted by Reevo (auth, expiry, permission, quota),
70 an internal error (a bug; --debug shows the traceback with the API key masked).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from syncer import __version__
from syncer.errors import SyncerError
from syncer.models import DEFAULT_LEDGER

FC = TypeVar("FC", bound=Callable[..., Any])

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


def echo_issues(issues: dict[str, int]) -> None:
    """One line naming what to fix, most common problem first: ``to fix: 2 invalid_email, ...``."""
    if issues:
        click.echo("to fix: " + ", ".join(f"{n} {code}" for code, n in issues.items()))


def mapping_option(
    *, required: bool = True, help: str = "Mapping YAML (Reevo field -> source column)."
) -> Callable[[FC], FC]:
    """The ``--mapping FILE`` option every command that reads a file takes."""
    return click.option(
        "--mapping",
        "mapping_path",
        required=required,
        default=None,
        type=click.Path(path_type=Path),
        help=help,
    )


#: ``--ledger PATH``: run, retry and runs read and write the same ledger
ledger_option = click.option(
    "--ledger",
    "ledger_path",
    type=click.Path(path_type=Path),
    envvar="SYNCER_LEDGER",
    default=DEFAULT_LEDGER,
    show_default=True,
    help="SQLite ledger of what was sent (history, change detection, resume) [env SYNCER_LEDGER].",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syncer")
@click.option("--debug", is_flag=True, help="Show tracebacks (the API key is masked).")
def cli(debug: bool) -> None:
    """Import CSV and Excel lead lists into Reevo, and keep them in sync."""
    STATE.debug = STATE.debug or debug


def main() -> None:
    """Console-script entry point."""
    args = sys.argv[1:]
    if "--debug" in args:  # accepted anywhere on the line, not only before the command
        args = [a for a in args if a != "--debug"]
        STATE.debug = True
    try:
        cli.main(args=args, prog_name="syncer", standalone_mode=False)
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
