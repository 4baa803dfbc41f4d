"""Run the real ``syncer`` CLI in a subprocess, the way a user or a scheduler does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def syncer(
    *args: str | Path,
    cwd: Path,
    api_key: str | None = None,
    base_url: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,  # a hang guard: a 10,000-row run took over 120 s on a busy machine
) -> CliResult:
    """Run ``python -m syncer ARGS`` in ``cwd`` with the key/base URL in the environment."""
    full_env = cli_env(api_key, base_url)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "syncer", *map(str, args)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert "Traceback" not in proc.stderr or "--debug" in map(str, args), proc.stderr
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


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
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
