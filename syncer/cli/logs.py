"""``--log-file PATH`` and ``-v/--verbose``: the CLI's handlers for syncer's events.

The library only emits events (:mod:`syncer.events`) on the ``syncer`` loggers; these flags
attach handlers for one command: ``--log-file`` appends JSON lines (one per event; the file and
its parent folders are created when missing, so a cron job's first run needs no setup),
``-v`` writes the same events readably to stderr (never to stdout, which ``--json`` owns).
Every line goes through :func:`syncer.cli.app.scrub`, so a key could not reach it even by
mistake. :func:`close_logs` (called once the command's outcome is known, after its error was
logged) detaches and closes them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from syncer.cli.app import scrub
from syncer.errors import ConfigError
from syncer.events import ROOT, Failed, JsonLinesFormatter, ReadableFormatter, emit

FC = TypeVar("FC", bound=Callable[..., Any])

#: handlers installed for the running command, and the ``syncer`` logger's level before them
_INSTALLED: list[logging.Handler] = []
_LEVEL: list[int] = []


class _Scrubbed(logging.Formatter):
    """Another formatter's line with every known API key masked."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return scrub(self.inner.format(record))


def _install(handler: logging.Handler, formatter: logging.Formatter) -> None:
    handler.setFormatter(_Scrubbed(formatter))
    handler.setLevel(logging.INFO)
    logger = logging.getLogger(ROOT)
    if not _INSTALLED:
        _LEVEL[:] = [logger.level]
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    _INSTALLED.append(handler)


def open_log_file(path: Path) -> None:
    """Append JSON lines to ``path`` (its folder created when missing) for this command."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot write the log file {path}: {exc.strerror or exc}. Choose a writable "
            "--log-file PATH."
        ) from None
    _install(handler, JsonLinesFormatter())


def log_to_stderr() -> None:
    """Write every event readably to stderr for this command (``-v``)."""
    _install(logging.StreamHandler(sys.stderr), ReadableFormatter())


def log_end(code: int, error: dict[str, str] | None) -> None:
    """Log how the command ended when it ended on an error (the run's own events said the rest)."""
    if error is not None and _INSTALLED:
        emit(Failed(code, error["code"], error["message"]))


def close_logs() -> None:
    """Detach and close the handlers this command installed (safe to call when none were)."""
    logger = logging.getLogger(ROOT)
    while _INSTALLED:
        handler = _INSTALLED.pop()
        logger.removeHandler(handler)
        handler.close()
    if _LEVEL:
        logger.setLevel(_LEVEL.pop())


def _on_log_file(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None and not ctx.resilient_parsing:
        open_log_file(value)


def _on_verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        log_to_stderr()


def log_options(fn: FC) -> FC:
    """``--log-file PATH`` and ``-v/--verbose`` (they attach their handler while parsing)."""
    fn = click.option(
        "--verbose",
        "-v",
        is_flag=True,
        expose_value=False,
        callback=_on_verbose,
        help="Print each event (retries, 429s, pacer changes, aborts...) readably on stderr.",
    )(fn)
    return click.option(
        "--log-file",
        type=click.Path(path_type=Path, dir_okay=False),
        expose_value=False,
        callback=_on_log_file,
        help="Append the run's events to this file as JSON lines (time, level, event, fields); "
        "its folder is created when missing. Never holds the API key.",
    )(fn)
