"""The ``syncer`` command line. The only module that parses flags, prints, draws progress or exits.

Exit codes (a contract): 0 every row fine, 1 some rows invalid/failed/not attempted,
2 usage, mapping or unreadable input, 3 run aborted by Reevo (auth, expiry, permission, quota).
"""

from __future__ import annotations

import json
import sys
import traceback
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
