"""Issue 13, item 4: unknown owners do not stop the import, through the real CLI and sandbox.

Preflight looks each distinct owner e-mail up once (users/search); a row whose owner is not a
user of the org is handled as the mapping's ``owners: {unknown: invalid | abort | omit}`` says
(default ``invalid``). The sandbox's seeded users are owner@acme.com, jane.smith@acme.com,
john.doe@acme.com, new.owner@acme.com and sales.rep@acme.com (syncer/sandbox/seed.py).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from syncer.sandbox import SandboxHandle

from .cli_helpers import CliResult, private_env, read_results, syncer, write_csv

PUBLIC = "/api/v1/public/"
CONTACTS = PUBLIC + "account_contact"
USERS = PUBLIC + "users/search"
MAPPING = """\
target: account_contact
columns:
  email: Email
  first_name: First Name
  contact_owner_email: Owner
"""
#: rows 2..101 of the file: 3 rows of two owners who are not users, 97 of three who are
GHOSTS = {7: "ghost.one@acme.com", 40: "GHOST.one@acme.com", 77: "ghost.two@acme.com"}
USERS_OF_ROWS = ["owner@acme.com", "Jane.Smith@ACME.com", "sales.rep@acme.com"]
#: distinct owner e-mails of the file (ghost.one twice in two cases: one lookup)
DISTINCT_OWNERS = 5


def _rows() -> list[list[str]]:
    out = []
    for row in range(2, 102):
        owner = GHOSTS.get(row, USERS_OF_ROWS[row % 3])
        out.append([f"p{row}@firm.example", f"P{row}", owner])
    return out


def _cli(workdir: Path, *args: str | Path, key: str, handle: SandboxHandle) -> CliResult:
    return syncer(
        *args,
        cwd=workdir,
        api_key=key,
        base_url=handle.base_url,
        env=private_env(workdir),
    )


def _setup(workdir: Path, policy: str | None) -> None:
    extra = f"owners: {{unknown: {policy}}}\n" if policy else ""
    (workdir / "map.yaml").write_text(MAPPING + extra, encoding="utf-8")
    write_csv(workdir / "leads.csv", ["Email", "First Name", "Owner"], _rows())


def _run(workdir: Path, handle: SandboxHandle, key: str | None = None) -> CliResult:
    """``syncer run leads.csv --mapping map.yaml --json`` (the sandbox's key by default)."""
    args = ("run", "leads.csv", "--mapping", "map.yaml", "--json")
    return _cli(workdir, *args, key=key or handle.api_key, handle=handle)


def _by_status(handle: SandboxHandle, path: str) -> dict[str, int]:
    by: dict[str, dict[str, int]] = handle.admin.stats()["by_path_status"]
    return {str(k): int(v) for k, v in by.get(path, {}).items()}


def _stored(handle: SandboxHandle) -> dict[str, dict[str, Any]]:
    return {c["email"].lower(): c for c in handle.admin.dump()["contacts"] if c.get("upsert_count")}


def _results(workdir: Path) -> dict[int, dict[str, str]]:
    return {int(r["source_row"]): r for r in read_results(workdir / "leads.results.csv")}


@pytest.mark.parametrize("policy", [None, "invalid"])
def test_unknown_owners_are_invalid_and_the_other_97_rows_are_sent(
    tmp_path: Path, live_sandbox: SandboxHandle, policy: str | None
) -> None:
    _setup(tmp_path, policy)
    res = _run(tmp_path, live_sandbox)
    assert res.code == 1, res.stderr  # invalid rows: exit 1, not 3
    out = res.json
    assert (out["succeeded"], out["invalid"], out["not_attempted"]) == (97, 3, 0), res.stderr
    assert out["issues"] == {"unknown_owner": 3}
    assert out["abort_reason"] is None and out["warnings"] == {}
    # exactly 97 rows sent and stored (the one 422 is preflight's empty-body probe); one
    # users/search per distinct owner e-mail, whatever its case
    assert _by_status(live_sandbox, CONTACTS) == {"200": 97, "422": 1}
    assert sum(_by_status(live_sandbox, USERS).values()) == DISTINCT_OWNERS
    stored = _stored(live_sandbox)
    assert len(stored) == 97 and not {f"p{r}@firm.example" for r in GHOSTS} & set(stored)

    rows = _results(tmp_path)
    for row, ghost in GHOSTS.items():
        r = rows[row]
        assert (r["status"], r["error_code"]) == ("invalid", "unknown_owner"), r
        assert f'Owner "{ghost.lower()}" (columns.contact_owner_email)' in r["error"]
        assert "not a user of this Reevo org" in r["error"]
    assert sum(r["status"] == "succeeded" for r in rows.values()) == 97
    assert (
        "2 owner e-mail(s) in columns.contact_owner_email (column Owner, mapping line 5) are not "
        "users of this Reevo org: ghost.one@acme.com, ghost.two@acme.com; their rows are invalid"
    ) in res.stderr
    # the failures file is in the source's own layout (comma-separated here)
    with (tmp_path / "leads.failures.csv").open(newline="", encoding="utf-8") as fh:
        failures = list(csv.DictReader(fh))
    assert sorted(r["Email"] for r in failures) == sorted(f"p{r}@firm.example" for r in GHOSTS)


def test_omit_sends_those_rows_without_the_owner_and_warns(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    _setup(tmp_path, "omit")
    res = _run(tmp_path, live_sandbox)
    assert res.code == 0, res.stderr
    out = res.json
    assert (out["succeeded"], out["invalid"]) == (100, 0)
    assert out["warnings"] == {"unknown_owner": 3} and out["issues"] == {}
    assert "3 rows have warnings (unknown_owner 3)" in res.stderr
    assert _by_status(live_sandbox, CONTACTS) == {"200": 100, "422": 1}

    stored = _stored(live_sandbox)
    for row in GHOSTS:
        assert stored[f"p{row}@firm.example"].get("owner_email") is None
    assert stored["p2@firm.example"]["owner_email"] == "sales.rep@acme.com"
    rows = _results(tmp_path)
    warned = {row for row, r in rows.items() if r["warnings"]}
    assert warned == set(GHOSTS)
    assert rows[77]["warnings"] == (
        'unknown_owner: Owner "ghost.two@acme.com" (columns.contact_owner_email): not a user '
        "of this Reevo org, so the row was sent without contact_owner_email (owners: unknown: "
        "omit)"
    )
    assert all(r["status"] == "succeeded" for r in rows.values())


def test_abort_stops_the_run_before_any_row_is_sent(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    _setup(tmp_path, "abort")
    res = _run(tmp_path, live_sandbox)
    assert res.code == 3, res.stderr
    assert (res.json["abort_reason"], res.json["not_attempted"]) == ("unknown_owner", 100)
    assert "ghost.one@acme.com, ghost.two@acme.com" in res.stderr
    assert _by_status(live_sandbox, CONTACTS) == {"422": 1}  # the probe only
    assert sum(_by_status(live_sandbox, USERS).values()) == DISTINCT_OWNERS


def test_a_key_that_may_not_read_users_skips_the_check_with_a_note(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    _setup(tmp_path, None)
    key = live_sandbox.admin.create_key({"contacts": "write", "accounts": "write"})
    res = _run(tmp_path, live_sandbox, key)
    assert (
        "owner e-mails were not checked: the key may not read Users (rows are sent with their "
        "owners as they are)"
    ) in res.stderr
    assert sum(_by_status(live_sandbox, USERS).values()) == 1  # one try, then no more
    # every row is sent; Reevo itself refuses the three whose owner is not a user
    out = res.json
    assert (out["succeeded"], out["failed"], out["invalid"]) == (97, 3, 0), res.stderr


def test_check_names_the_unknown_owners_and_passes_unless_abort(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    _setup(tmp_path, None)
    args = ("check", "leads.csv", "--mapping", "map.yaml", "--json")
    res = _cli(tmp_path, *args, key=live_sandbox.api_key, handle=live_sandbox)
    assert res.code == 0, res.stderr
    assert "ghost.one@acme.com, ghost.two@acme.com" in res.stderr
    assert "their rows are invalid (unknown_owner) and not sent" in res.stderr
    _setup(tmp_path, "abort")
    res = _cli(tmp_path, *args, key=live_sandbox.api_key, handle=live_sandbox)
    assert res.code == 3 and res.json["error"]["code"] == "unknown_owner", res.stderr


def test_a_bad_policy_is_a_mapping_error_at_its_line(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    _setup(tmp_path, None)
    (tmp_path / "map.yaml").write_text(
        MAPPING + "owners:\n  Jane Smith: jane.smith@acme.com\n  unknown: skip\n", "utf-8"
    )
    res = _run(tmp_path, live_sandbox)
    assert res.code == 2
    assert "map.yaml:8: owners.unknown: 'skip' is not a policy" in res.stderr
    assert "invalid" in res.stderr and "abort" in res.stderr and "omit" in res.stderr
    assert live_sandbox.admin.stats()["by_path"] == {}
