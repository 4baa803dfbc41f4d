"""Helpers of the robustness tests: lead files, the CLI in-process, and exactly-once checks."""

from __future__ import annotations

import csv
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner
from wait_helpers import wait_idle as shared_wait_idle

from syncer.cli import STATE, cli
from syncer.sandbox import AdminClient

from .cli_helpers import CliResult as Result
from .cli_helpers import cli_env, terminal_signals
from .cli_helpers import read_results as results_rows

PUBLIC = "/api/v1/public/"
CONTACT_PATH = PUBLIC + "account_contact"

MAPPING = """\
# a plain mapping for generated lead files
target: account_contact
columns:
  email: Email
  first_name: First Name
  last_name: Last Name
  company: Company
dedupe: {keep: last}
"""

#: statuses that are an end state of a pushed run, and those whose row needs no reason
RUN_STATUSES = {"succeeded", "unchanged", "duplicate", "invalid", "failed", "not_attempted"}
NO_REASON = {"succeeded", "unchanged", "ready"}


@dataclass
class Leads:
    """A generated lead file: its path, the e-mails that must end up in Reevo, its row count."""

    path: Path
    valid: list[str]
    rows: int

    @property
    def row_numbers(self) -> list[int]:
        """Line numbers of the data rows (header is line 1, one line per row)."""
        return list(range(2, self.rows + 2))


def make_leads(folder: Path, n: int, *, name: str = "leads.csv", tag: str = "x") -> Leads:
    """``n`` valid leads plus two invalid rows and one duplicate (an earlier copy of a lead)."""
    rows: list[list[str]] = []
    valid = [f"lead{i}.{tag}@company{i % 7}.example" for i in range(n)]
    rows.append([valid[0], "Early", "Copy", "Company 0"])  # loses to the later row (keep: last)
    for i, email in enumerate(valid):
        rows.append([email, f"First{i}", f"Last{i}", f"Company {i % 7}"])
        if i == n // 2:
            rows.append(["not-an-email", "Bad", "Row", "X"])
    rows.append(["", "No", "Email", "X"])
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Email", "First Name", "Last Name", "Company"])
        w.writerows(rows)
    return Leads(path, valid, len(rows))


def write_mapping(folder: Path, text: str = MAPPING, name: str = "mapping.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def invoke(*args: str | Path, api_key: str | None = None, base_url: str | None = None) -> Result:
    """Run the real click command in this process (the sandbox may run in a thread here)."""
    env = {"REEVO_API_KEY": api_key, "REEVO_BASE_URL": base_url}
    STATE.debug = False
    STATE.secrets.clear()
    res = CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)
    if "--debug" not in args:
        assert "Traceback" not in res.stderr, res.stderr
    return Result(res.exit_code, res.stdout, res.stderr)


def spawn(
    *args: str | Path, cwd: Path, api_key: str | None = None, base_url: str | None = None
) -> subprocess.Popen[str]:
    """Start ``python -m syncer ARGS`` in the background (for faults injected mid-run). Its
    temporary files go under ``cwd``: a process these tests kill cannot remove its own."""
    env = cli_env(api_key, base_url)
    tmp = Path(cwd) / ".tmp"
    tmp.mkdir(exist_ok=True)
    env["TMPDIR"] = str(tmp)
    if threading.current_thread() is threading.main_thread():
        terminal_signals()  # a child signalled later must not inherit an ignored SIGINT
    return subprocess.Popen(
        [sys.executable, "-m", "syncer", *map(str, args)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_accounted(path: Path, expected_rows: list[int]) -> dict[str, int]:
    """Every expected input row is in the results file exactly once, with a status and, unless
    it went through fine, a reason. Returns rows per status."""
    rows = results_rows(path)
    numbers = [int(r["source_row"]) for r in rows]
    assert sorted(numbers) == sorted(expected_rows), "rows missing or repeated in the results"
    for r in rows:
        assert r["status"] in RUN_STATUSES | {"ready"}, r
        if r["status"] not in NO_REASON:
            assert r["error"].strip(), f"row {r['source_row']} ({r['status']}) has no reason"
    return dict(Counter(r["status"] for r in rows))


def contacts_by_email(admin: AdminClient) -> Counter[str]:
    """How many stored contacts carry each e-mail."""
    return Counter(str(c["email"]).lower() for c in admin.dump().get("contacts", []))


def assert_stored_once(admin: AdminClient, emails: list[str], baseline: int) -> None:
    """Every e-mail is stored exactly once, and nothing else was added beyond ``baseline``."""
    stored = contacts_by_email(admin)
    wrong = {e: stored[e.lower()] for e in emails if stored[e.lower()] != 1}
    assert not wrong, f"not stored exactly once: {dict(list(wrong.items())[:5])}"
    assert sum(stored.values()) == baseline + len(emails)


def wait_idle(admin: AdminClient) -> None:
    """Wait until the sandbox has no public request in flight (slow requests land late)."""
    shared_wait_idle(admin.stats)


def path_status(admin: AdminClient, path: str = CONTACT_PATH) -> dict[str, int]:
    """Answers per status for one route template."""
    by: dict[str, dict[str, int]] = admin.stats()["by_path_status"]
    return dict(by.get(path, {}))
