"""Run the real ``syncer`` CLI: its entry point in this process, or ``python -m syncer`` in a
subprocess (the way a user or a scheduler does) where the process boundary is the point."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class CliResult:
    """What one CLI invocation did."""

    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, Any]:
        """The ``--json`` object: the last stdout line."""
        lines = [ln for ln in self.stdout.splitlines() if ln.strip()]
        assert lines, f"no stdout; stderr={self.stderr}"
        out: dict[str, Any] = json.loads(lines[-1])
        return out


def cli_env(api_key: str | None, base_url: str | None) -> dict[str, str]:
    """This process's environment without REEVO_*, plus the given key and base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEVO_")}
    env["PYTHONUNBUFFERED"] = "1"
    if api_key is not None:
        env["REEVO_API_KEY"] = api_key
    if base_url is not None:
        env["REEVO_BASE_URL"] = base_url
    return env


def private_env(workdir: Path) -> dict[str, str]:
    """HOME, XDG_DATA_HOME, SYNCER_HOME and SYNCER_LEDGER inside ``workdir``: a CLI run that
    never touches the real home and keeps its ledger beside the test's files."""
    home = workdir / "home"
    return {
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "SYNCER_HOME": str(home / "syncer"),
        "SYNCER_LEDGER": str(workdir / "ledger.db"),
    }


#: ``SYNCER_TEST_PROCESS=1`` runs every :func:`syncer` call in a subprocess (to prove a test
#: file passes both ways after moving it in-process)
FORCE_PROCESS = os.environ.get("SYNCER_TEST_PROCESS", "") == "1"


def syncer(
    *args: str | Path,
    cwd: Path,
    api_key: str | None = None,
    base_url: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,  # a hang guard: a 10,000-row run took over 120 s on a busy machine
    process: bool = False,
) -> CliResult:
    """Run ``syncer ARGS`` in ``cwd`` with the key/base URL in the environment.

    By default the CLI's entry point runs in this process (argv, cwd, environment, stdin/stdout/
    stderr and signal handlers as a ``python -m syncer`` process has them, restored after): a new
    interpreter costs ~1 s of CPU importing syncer, and the suite runs hundreds of commands.
    ``process=True`` (signals, kills, what another process sees) or a call off the main thread
    runs ``python -m syncer`` in a subprocess; ``timeout`` guards only that one (pytest-timeout
    guards the test)."""
    full_env = cli_env(api_key, base_url)
    full_env.update(env or {})
    argv = [str(a) for a in args]
    if process or FORCE_PROCESS or threading.current_thread() is not threading.main_thread():
        proc = subprocess.run(
            [sys.executable, "-m", "syncer", *argv],
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result = CliResult(proc.returncode, proc.stdout, proc.stderr)
    else:
        result = _in_process(argv, cwd, full_env)
    assert "Traceback" not in result.stderr or "--debug" in argv, result.stderr
    return result


def _in_process(argv: list[str], cwd: Path, env: dict[str, str]) -> CliResult:
    """What ``python -m syncer ARGV`` does (:func:`syncer.cli.app.main`), in this process."""
    from click.testing import CliRunner

    import syncer.__main__ as entry
    from syncer.cli.app import STATE, _on_sigterm, cli

    STATE.debug = False  # a new process's state: --debug and --api-key-file keys forgotten
    STATE.secrets.clear()
    with _process_like(cwd, [entry.__file__, *argv], env):
        signal.signal(signal.SIGTERM, _on_sigterm)  # as main() does
        res = CliRunner().invoke(cli, argv, catch_exceptions=False, prog_name="syncer")
    return CliResult(res.exit_code, res.stdout, res.stderr)


@contextlib.contextmanager
def _process_like(cwd: Path, argv: list[str], env: dict[str, str]) -> Iterator[None]:
    """``cwd``, ``sys.argv``, ``os.environ`` (the C library's and tzlocal's time zone with it)
    and the SIGINT/SIGTERM handlers of one command, then back."""
    old_cwd, old_argv, old_env = os.getcwd(), sys.argv, dict(os.environ)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    os.chdir(cwd)
    sys.argv = argv
    _set_environ(env)
    try:
        yield
    finally:
        _set_environ(old_env)
        sys.argv = old_argv
        os.chdir(old_cwd)
        for sig, handler in handlers.items():
            if handler is not None:  # None: set outside Python, cannot be put back
                signal.signal(sig, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def terminal_signals() -> None:
    """Give this (main) thread SIGINT and SIGTERM as a shell gives a command it starts:
    Python's default handlers, neither blocked. A child started next inherits an ignored
    signal and the blocked mask, so a test that signals a child calls this first: whatever
    an earlier in-process command left, the child then sees the signal like a terminal's."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT, signal.SIGTERM])


def _set_environ(env: dict[str, str]) -> None:
    for key in [k for k in os.environ if k not in env]:
        del os.environ[key]
    os.environ.update({k: v for k, v in env.items() if os.environ.get(k) != v})
    time.tzset()  # local time follows TZ as in a new process
    zones = sys.modules.get("tzlocal.unix")
    if zones is not None:  # tzlocal caches the zone it found for the process
        zones._cache_tz = zones._cache_tz_name = None  # type: ignore[attr-defined]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """Write a small CSV with the stdlib writer (quotes what needs quoting)."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def read_results(path: Path) -> list[dict[str, str]]:
    """A results or failures CSV as a list of dicts (stdlib reader: independent of our own
    reader). Results files follow the source's encoding and delimiter: a byte-order mark names
    the encoding, else UTF-8 or, failing that, latin-1; the delimiter is the one between
    ``source_row`` and ``status`` in a results header, else the one the stdlib sniffer finds."""
    import codecs
    import csv
    import io

    data = path.read_bytes()
    marks = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"))
    marks += ((codecs.BOM_UTF16_BE, "utf-16"),)
    encoding = next((enc for bom, enc in marks if data.startswith(bom)), None)
    if encoding is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:  # a source's single-byte encoding: enough for the columns
            text = data.decode("latin-1")
    else:
        text = data.decode(encoding)
    own = [d for d in ",;\t|" if text.startswith(f"source_row{d}status{d}")]
    sniffed = "" if own else csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
    delimiter = own[0] if own else sniffed
    # a cell may be as large as the file (test_hostile_input's 5 MB cell): the stdlib's 128 KiB
    # limit is process-wide, and whether a test before this one raised it depended on the order
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
