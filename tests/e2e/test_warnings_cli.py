"""Issue 13, item 3: row warnings through the real CLI against the sandbox.

A file with phone extensions, a repeated header whose second column says something else, a
punycode e-mail domain and owners who are not Reevo users (``owners: {unknown: omit}``): the
rows go through, the results file's ``warnings`` column says what changed, and ``--json`` of
``validate``, ``run`` and ``retry`` counts the rows per warning code exactly.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from syncer.sandbox import SandboxHandle

from .cli_helpers import CliResult, private_env, read_results, syncer, write_csv

MAPPING = """\
target: account_contact
columns:
  email: Email
  first_name: First Name
  phone_number: {column: Phone, format: e164, default_region: US}
  contact_owner_email: Owner
owners: {unknown: omit}
"""
HEADER = ["Email", "First Name", "Phone", "Owner", "Phone"]  # Phone twice: read from the first
ROWS = [
    ["ann@firm.example", "Ann", "+1 415 555 0100 x23", "owner@acme.com", "+1 415 555 0100 x23"],
    ["bob@firm.example", "Bob", "(415) 555-0132", "owner@acme.com", "(415) 555-0199"],
    ["cy@xn--bcher-kva.de", "Cy", "415 555 0100", "ghost@acme.com", ""],
    ["dee@firm.example", "Dee", "+1 415 555 0100 ext. 7", "Ghost@ACME.com", "+1 415 555 0100 ext. 7"],  # noqa: E501
    ["eve@firm.example", "Eve", "n/a", "owner@acme.com", ""],
    ["fay@firm.example", "Fay", "415 555 0100", "sales.rep@acme.com", " 415 555 0100 "],
]  # fmt: skip
#: rows per warning code the file gives without the network, and with it
OFFLINE = {"phone_extension_dropped": 2, "email_normalised": 1, "repeated_header_ignored": 1}
ONLINE = {**OFFLINE, "unknown_owner": 2}


def _cli(workdir: Path, *args: str | Path, key: str | None, handle: SandboxHandle) -> CliResult:
    return syncer(
        *args, cwd=workdir, api_key=key, base_url=handle.base_url, env=private_env(workdir)
    )


def _codes_in(path: Path) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
    """Rows per warning code as the results file's warnings column says, and rows by e-mail."""
    rows = read_results(path)
    counted: Counter[str] = Counter()
    for r in rows:
        codes = {part.split(":", 1)[0] for part in r["warnings"].split("; ") if ":" in part}
        counted.update(codes)
    return dict(counted), {r["Email"]: r for r in rows}


def _stored(handle: SandboxHandle) -> dict[str, dict[str, Any]]:
    return {c["email"].lower(): c for c in handle.admin.dump()["contacts"] if c.get("upsert_count")}


def test_validate_and_run_count_every_warning_exactly(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    (tmp_path / "map.yaml").write_text(MAPPING, encoding="utf-8")
    write_csv(tmp_path / "leads.csv", HEADER, ROWS)

    checked = _cli(
        tmp_path, "validate", "leads.csv", "--mapping", "map.yaml", "--json",
        key=None, handle=live_sandbox,
    )  # fmt: skip
    assert checked.code == 0, checked.stderr
    assert checked.json["warnings"] == OFFLINE and checked.json["ready"] == 6
    assert _codes_in(tmp_path / "leads.results.csv")[0] == OFFLINE
    assert "4 rows have warnings (phone_extension_dropped 2, " in checked.stderr

    res = _cli(
        tmp_path, "run", "leads.csv", "--mapping", "map.yaml", "--json",
        key=live_sandbox.api_key, handle=live_sandbox,
    )  # fmt: skip
    assert res.code == 0, res.stderr
    assert res.json["succeeded"] == 6 and res.json["warnings"] == ONLINE
    assert "4 rows have warnings (phone_extension_dropped 2, unknown_owner 2, " in res.stderr
    counted, rows = _codes_in(tmp_path / "leads.results.csv")
    assert counted == ONLINE
    assert rows["ann@firm.example"]["warnings"] == (
        'phone_extension_dropped: Phone "+1 415 555 0100 x23" is sent as +14155550100: its '
        "extension 23 is left out (E.164 has none)"
    )
    assert rows["bob@firm.example"]["warnings"] == (
        'repeated_header_ignored: the file has more than one "Phone" column: the first is read '
        '("(415) 555-0132"), not "Phone_2" ("(415) 555-0199")'
    )
    assert rows["cy@xn--bcher-kva.de"]["warnings"] == (
        'email_normalised: Email "cy@xn--bcher-kva.de" is sent as "cy@bücher.de"; '
        'unknown_owner: Owner "ghost@acme.com" (columns.contact_owner_email): not a user of '
        "this Reevo org, so the row was sent without contact_owner_email (owners: unknown: omit)"
    )
    assert rows["dee@firm.example"]["warnings"].count("; ") == 1  # extension, then owner
    assert rows["eve@firm.example"]["warnings"] == rows["fay@firm.example"]["warnings"] == ""

    stored = _stored(live_sandbox)
    assert stored["ann@firm.example"]["phone_number"] == "+14155550100"
    assert stored["bob@firm.example"]["phone_number"] == "+14155550132"  # the first column
    assert stored["dee@firm.example"].get("owner_email") is None
    assert "cy@bücher.de" in stored


def test_retry_counts_the_warnings_of_the_rows_it_sends(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    (tmp_path / "map.yaml").write_text(MAPPING, encoding="utf-8")
    write_csv(tmp_path / "leads.csv", HEADER, ROWS)
    # a key that may not read users: owners are not checked, Reevo refuses the two ghosts
    blind = live_sandbox.admin.create_key({"contacts": "write", "accounts": "write"})
    first = _cli(
        tmp_path, "run", "leads.csv", "--mapping", "map.yaml", "--json",
        key=blind, handle=live_sandbox,
    )  # fmt: skip
    assert first.code == 1 and (first.json["succeeded"], first.json["failed"]) == (4, 2)
    assert first.json["warnings"] == OFFLINE  # no owner was found unknown

    again = _cli(
        tmp_path, "retry", "leads.results.csv", "--mapping", "map.yaml", "--json",
        key=live_sandbox.api_key, handle=live_sandbox,
    )  # fmt: skip
    assert again.code == 0, again.stderr
    assert (again.json["rows"], again.json["succeeded"]) == (2, 2)
    expected = {"unknown_owner": 2, "email_normalised": 1, "phone_extension_dropped": 1}
    assert again.json["warnings"] == expected
    assert _codes_in(tmp_path / "leads.retry.results.csv")[0] == expected
