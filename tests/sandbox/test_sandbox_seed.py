"""--seed YAML (typed custom fields, own users and pipelines) and SQLite persistence."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from syncer.errors import ConfigError
from syncer.sandbox import SandboxSettings, create_app
from syncer.sandbox.seed import stable_id

SEED = """
users:
  - email: boss@corp.com
    first_name: Boss
    mailboxes: [boss@corp.com, outreach@corp.com]
pipelines:
  - name: Sales
    stages:
      - {name: New, type: open}
      - {name: Won, type: won, reasons: [Great fit]}
      - {name: Lost, type: lost, reasons: [Too pricey]}
custom_fields:
  - {name: cus_field__Industry, object: account, type: single_select, options: [Tech, Retail]}
  - {name: cus_field__Tags, type: multi_select, options: [a, b]}
  - {name: cus_field__Score, type: number, object: contact}
  - {name: cus_field__Note, id: 3f1c2b9d-0000-4000-8000-000000000001}
"""


@pytest.fixture
def seeded(tmp_path: Path, make_client: Any) -> Any:
    path = tmp_path / "seed.yaml"
    path.write_text(SEED, encoding="utf-8")
    app = create_app(SandboxSettings(api_key="k", seed_path=path))
    return make_client(app, "k")


def test_seed_replaces_users_and_pipelines(seeded: Any) -> None:
    assert seeded.post("users/search", json={"email": "boss@corp.com"}).json()
    assert seeded.post("users/search", json={"email": "john.doe@acme.com"}).json() == []
    dump = seeded.admin("GET", "dump")
    assert [p["name"] for p in dump["pipelines"]] == ["Sales"]
    assert dump["contacts"] == [] and dump["accounts"] == []  # no example data
    assert len(dump["mailboxes"]) == 2 and dump["sequences"][0]["name"] == "Demo Outreach"


def _ac(seeded: Any, **extra: Any) -> Any:
    return seeded.post("account_contact", json={"email": "p@corp.com", **extra})


def test_declared_fields_are_accepted_by_name_or_id(seeded: Any) -> None:
    resp = _ac(
        seeded,
        account_custom_fields={"cus_field__Industry": "Tech", "cus_field__Tags": ["a", "b"]},
        contact_custom_fields={
            "cus_field__Score": "4.5",
            "3f1c2b9d-0000-4000-8000-000000000001": "hi",
        },
    )
    assert resp.status_code == 200, resp.text
    contact = seeded.admin("GET", "dump")["contacts"][0]
    assert contact["custom_fields"] == {"cus_field__Score": "4.5", "cus_field__Note": "hi"}


@pytest.mark.parametrize(
    ("fields", "where", "fragment"),
    [
        ({"cus_field__Industry": "Food"}, "account_custom_fields", "Invalid option 'Food'"),
        ({"cus_field__Tags": ["a", "z"]}, "account_custom_fields", "Invalid option(s) ['z']"),
        ({"cus_field__Lead_Source": "web"}, "account_custom_fields", "Unknown custom field"),
        ({"industry": "Tech"}, "account_custom_fields", "Unknown custom field"),
        ({"cus_field__Industry": "Tech"}, "contact_custom_fields", "belongs to accounts"),
        ({"cus_field__Score": "high"}, "contact_custom_fields", "needs a number"),
        ({"cus_field__Note": ["x"]}, "contact_custom_fields", "not a list"),
    ],
)
def test_strict_fields_422_naming_them(seeded: Any, fields: Any, where: str, fragment: str) -> None:
    resp = _ac(seeded, **{where: fields})
    assert resp.status_code == 422, resp.text
    detail = resp.json()["detail"][0]
    assert detail["loc"] == ["body", where, next(iter(fields))]
    assert fragment in detail["msg"]


def test_seed_pipeline_drives_opportunities(seeded: Any) -> None:
    acc = seeded.post("accounts", json={"name": "Corp", "owner_email": "boss@corp.com"}).json()
    opp = seeded.post("opportunities", json={"display_name": "D", "account_id": acc["id"]}).json()
    assert (opp["pipeline_name"], opp["stage_name"]) == ("Sales", "New")
    path = f"opportunities/{opp['id']}/shift_stage"
    body = {"target_stage_name": "Lost", "closed_reason_names": ["Too pricey"]}
    assert seeded.post(path, json=body).json()["stage_name"] == "Lost"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("users: [", "not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ("people: []\n", "unknown top-level key 'people'"),
        ("custom_fields:\n  - {name: x, type: colour}\n", "custom_fields[0].type"),
    ],
)
def test_bad_seed_is_a_config_error(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        create_app(SandboxSettings(seed_path=path))
    assert any(fragment in p for p in err.value.problems)


def test_cli_reports_a_bad_seed_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text("people: []\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "syncer", "sandbox", "--port", "0", "--seed", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "unknown top-level key 'people'" in proc.stderr


def test_bad_fault_settings_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="fail_rate must be between 0 and 1"):
        create_app(SandboxSettings(fail_rate=2))


def test_sqlite_file_keeps_data_across_restarts(tmp_path: Path, make_client: Any) -> None:
    db = str(tmp_path / "sandbox.db")
    app = create_app(SandboxSettings(api_key="k", db_path=db))
    client = make_client(app, "k")
    first = client.post("account_contact", json={"email": "keep@corp.io"}).json()
    client.post("account_contact", json={"email": "keep@corp.io", "title": "CEO"})
    app.sandbox.store.close()

    again = create_app(SandboxSettings(api_key="k", db_path=db))
    client = make_client(again, "k")
    dump = client.admin("GET", "dump")
    kept = [c for c in dump["contacts"] if c["email"] == "keep@corp.io"]
    assert len(kept) == 1 and kept[0]["upsert_count"] == 2 and kept[0]["title"] == "CEO"
    assert len(dump["users"]) == 5  # the seed was not applied twice
    out = client.post("account_contact", json={"email": "other@corp.io"}).json()
    assert out["account_id"] == first["account_id"]  # indexes were rebuilt
    client.admin("POST", "reset")
    assert not [c for c in client.admin("GET", "dump")["contacts"] if "corp.io" in c["email"]]
    again.sandbox.store.close()


def test_stable_seed_ids() -> None:
    app = create_app(SandboxSettings())
    ids = {s["id"] for s in app.sandbox.store.all("sequences")}
    assert ids == {stable_id("sequence", "Demo Outreach")}
