"""`syncer run` end to end: the real CLI in a subprocess against the sandbox on a loopback port."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from syncer.sandbox import SandboxHandle

from .cli_helpers import read_results, syncer, write_csv

ROOT = Path(__file__).resolve().parents[2]
HEADER = [
    "Email",
    "First Name",
    "Last Name",
    "Phone",
    "Company",
    "Website",
    "Owner",
    "Source",
    "Tags",
]
MAPPING = """\
target: account_contact
columns:
  email: Email
  first_name: First Name
  last_name: Last Name
  phone_number: {column: Phone, format: e164, default_region: US}
  company: Company
  account_website: Website
  contact_owner_email: Owner
contact_custom_fields:
  cus_field__Lead_Source: Source
  cus_field__Tags: {column: Tags, split: ";"}
"""
ROWS = [
    [
        "zoe@acme.com",
        "Zoë",
        "Ng",
        "(415) 555-0101",
        "Acme",
        "acme.com",
        "owner@acme.com",
        "Web",
        "a;b",
    ],
    ["JOSE@globex.io", "José", "Álvarez", "", "Globex", "", "john.doe@acme.com", "", "vip"],
    ["lukasz@initech.pl", "Łukasz", "Wójcik", "+48 22 555 01 02", "Initech", "", "", "Fair", ""],
    ["not-an-email", "Bad", "Row", "", "", "", "", "", ""],
    [" Zoe@Acme.com ", "Zoë", "Ng-Smith", "", "Acme", "", "owner@acme.com", "Web", "c"],
]


def _contacts(handle: SandboxHandle) -> dict[str, dict[str, Any]]:
    """Contacts written through account_contact (the seed's example contacts left out)."""
    return {c["email"].lower(): c for c in handle.admin.dump()["contacts"] if c.get("upsert_count")}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "map.yaml").write_text(MAPPING, encoding="utf-8")
    write_csv(tmp_path / "leads.csv", HEADER, ROWS)
    return tmp_path


def _run(workdir: Path, handle: SandboxHandle, *extra: str, key: str | None = None) -> Any:
    return syncer(
        "run",
        "leads.csv",
        "--mapping",
        "map.yaml",
        "--json",
        "--quiet",
        *extra,
        cwd=workdir,
        api_key=key or handle.api_key,
        base_url=handle.base_url,
    )


def test_run_stores_exact_contacts_and_reports_every_row(
    workdir: Path, live_sandbox: SandboxHandle
) -> None:
    res = _run(workdir, live_sandbox)
    assert res.code == 1, res.stderr  # one invalid row
    out = res.json
    assert out["rows"] == 5
    assert (out["succeeded"], out["duplicate"], out["invalid"]) == (3, 1, 1)
    assert out["failed"] == out["not_attempted"] == out["unchanged"] == 0
    assert out["issues"] == {"invalid_email": 1}
    assert "to fix: 1 invalid_email" in res.stdout
    assert (
        sum(
            out[s]
            for s in ("succeeded", "unchanged", "duplicate", "invalid", "failed", "not_attempted")
        )
        == out["rows"]
    )
    stats = live_sandbox.admin.stats()
    assert out["requests"] >= 3

    stored = _contacts(live_sandbox)
    assert set(stored) == {"zoe@acme.com", "jose@globex.io", "lukasz@initech.pl"}
    zoe = stored["zoe@acme.com"]
    # keep: last -> the later row (Ng-Smith, tags c) won; Unicode intact
    assert (zoe["first_name"], zoe["last_name"]) == ("Zoë", "Ng-Smith")
    assert zoe["custom_fields"] == {"cus_field__Lead_Source": "Web", "cus_field__Tags": ["c"]}
    assert stored["lukasz@initech.pl"]["phone_number"] == "+48225550102"
    assert stored["jose@globex.io"]["first_name"] == "José"
    assert stored["jose@globex.io"]["owner_email"] == "john.doe@acme.com"
    assert stats["writes_applied"] >= 3 if "writes_applied" in stats else True

    results = read_results(workdir / "leads.results.csv")
    assert [r["source_row"] for r in results] == ["2", "3", "4", "5", "6"]
    by_row = {r["source_row"]: r for r in results}
    assert by_row["2"]["status"] == "duplicate" and "6" in by_row["2"]["error"]
    assert by_row["5"]["status"] == "invalid" and by_row["5"]["error"]
    assert by_row["6"]["status"] == "succeeded" and by_row["6"]["reevo_contact_id"] == zoe["id"]
    assert by_row["6"]["reevo_account_id"]
    assert list(results[0])[:4] == ["source_row", "status", "error", "warnings"]
    assert list(results[0])[4 : 4 + len(HEADER)] == HEADER
    failures = read_results(workdir / "leads.failures.csv")
    assert [f["Email"] for f in failures] == ["not-an-email"]


def test_blank_cells_do_not_erase_stored_values(workdir: Path, live_sandbox: SandboxHandle) -> None:
    assert _run(workdir, live_sandbox).code == 1
    # second drop: same people, most cells blank, one value changed
    write_csv(
        workdir / "leads.csv",
        HEADER,
        [
            ["zoe@acme.com", "", "", "", "", "", "", "", ""],
            ["jose@globex.io", "", "Alvarez-Ruiz", "", "", "", "", "", ""],
        ],
    )
    res = _run(workdir, live_sandbox)
    assert res.code == 0, res.stderr
    stored = _contacts(live_sandbox)
    assert stored["zoe@acme.com"]["last_name"] == "Ng-Smith"
    assert stored["zoe@acme.com"]["custom_fields"]["cus_field__Tags"] == ["c"]
    assert stored["jose@globex.io"]["first_name"] == "José"
    assert stored["jose@globex.io"]["last_name"] == "Alvarez-Ruiz"


def test_on_empty_clear_sends_empty_strings(workdir: Path, live_sandbox: SandboxHandle) -> None:
    assert _run(workdir, live_sandbox).code == 1
    (workdir / "map.yaml").write_text(MAPPING + "on_empty: clear\n", encoding="utf-8")
    write_csv(workdir / "leads.csv", HEADER, [["zoe@acme.com", "Zoë", "", "", "", "", "", "", ""]])
    assert _run(workdir, live_sandbox).code == 0
    zoe = _contacts(live_sandbox)["zoe@acme.com"]
    assert zoe["first_name"] == "Zoë"
    assert zoe["last_name"] in ("", None)


def test_dry_run_sends_nothing(workdir: Path, live_sandbox: SandboxHandle) -> None:
    res = _run(workdir, live_sandbox, "--dry-run")
    assert res.code == 1
    assert res.json["requests"] == 0 and res.json["ready"] == 3
    assert _contacts(live_sandbox) == {} or all(
        e not in _contacts(live_sandbox) for e in ("zoe@acme.com", "jose@globex.io")
    )


@pytest.mark.parametrize(
    ("permissions", "expired", "reason"),
    [
        ("all", True, "expired"),
        ({"contacts": "write", "users": "read"}, False, "permission"),
    ],
)
def test_expired_key_or_missing_permission_aborts_with_exit_3(
    workdir: Path, live_sandbox: SandboxHandle, permissions: Any, expired: bool, reason: str
) -> None:
    key = live_sandbox.admin.create_key(permissions, expired=expired)
    res = _run(workdir, live_sandbox, key=key)
    assert res.code == 3, res.stdout + res.stderr
    out = res.json
    assert out["abort_reason"] == reason
    assert out["not_attempted"] == 3 and out["succeeded"] == 0
    assert out["invalid"] == 1 and out["duplicate"] == 1
    assert _contacts(live_sandbox).keys().isdisjoint({"zoe@acme.com", "jose@globex.io"})
    msg = res.stderr.lower()
    assert ("expired" in msg) if expired else ("accounts" in msg and "permission" in msg)
    statuses = {r["status"] for r in read_results(workdir / "leads.results.csv")}
    assert statuses == {"not_attempted", "invalid", "duplicate"}


def test_fail_rate_20_percent_every_valid_row_succeeds(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    (tmp_path / "map.yaml").write_text(MAPPING, encoding="utf-8")
    rows = [[f"user{i}@example.org", f"N{i}", "L", "", "", "", "", "", ""] for i in range(150)]
    write_csv(tmp_path / "leads.csv", HEADER, rows)
    live_sandbox.admin.set_faults(fail_rate=0.2)
    res = _run(tmp_path, live_sandbox)
    assert res.code == 0, res.stderr
    assert res.json["succeeded"] == 150
    assert res.json["requests"] > 150  # retries were needed and counted
    assert len(_contacts(live_sandbox).keys() & {r[0] for r in rows}) == 150


def test_unusable_input_exit_2_one_line(workdir: Path, live_sandbox: SandboxHandle) -> None:
    res = syncer(
        "run",
        "missing.csv",
        "--mapping",
        "map.yaml",
        cwd=workdir,
        api_key=live_sandbox.api_key,
        base_url=live_sandbox.base_url,
    )
    assert res.code == 2 and "missing.csv" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    res = syncer(
        "run", "leads.csv", "--mapping", "map.yaml", cwd=workdir, base_url=live_sandbox.base_url
    )
    assert res.code == 2 and "REEVO_API_KEY" in res.stderr


def test_sandbox_flag_imports_sample_data(tmp_path: Path) -> None:
    shutil.copy(ROOT / "sample_data" / "leads.csv", tmp_path / "leads.csv")
    shutil.copy(ROOT / "mappings" / "leads.yaml", tmp_path / "leads.yaml")
    res = syncer(
        "run",
        "leads.csv",
        "--mapping",
        "leads.yaml",
        "--sandbox",
        "--json",
        "--quiet",
        cwd=tmp_path,
        process=True,  # the embedded sandbox's start and stop in a process of its own
    )
    assert res.code in (0, 1), res.stderr
    out = res.json
    assert out["succeeded"] > 150 and out["failed"] == 0 and out["not_attempted"] == 0
    again = syncer(
        "run",
        "leads.csv",
        "--mapping",
        "leads.yaml",
        "--sandbox",
        "--json",
        "--quiet",
        cwd=tmp_path,
    )
    assert again.json["unchanged"] == out["succeeded"] and again.json["requests"] == 0
