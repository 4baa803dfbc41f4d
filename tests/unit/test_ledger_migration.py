"""The ledger's schema version: a ledger written by syncer 0.1.0 (tests/data/ledgers/v1.db, made
by make_v1.sh with that release) opens, migrates and keeps its history; a newer one is refused.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from e2e.robust_helpers import invoke

from syncer.errors import ConfigError, LedgerTooNew
from syncer.ledger import SCHEMA_VERSION, Ledger, org_id
from syncer.models import RowOutcome, RowStatus
from syncer.runner import Settings, sync
from syncer.sandbox import SandboxHandle

DATA = Path(__file__).parent.parent / "data" / "ledgers"
#: the org make_v1.sh imported into: its sandbox's base URL and key
V1_BASE_URL = "http://127.0.0.1:8799"
V1_KEY = "fixture-key"
V1_ORG = org_id(V1_BASE_URL, api_key=V1_KEY)
V1_KEYS = [
    "ada@acme.example",
    "alan@acme.example",
    "barbara@initech.example",
    "edsger@globex.example",
    "grace@globex.example",
]


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    """A copy of the 0.1.0 ledger with the files it imported beside it."""
    for name in ("v1.db", "contacts.csv", "contacts-first.csv", "contacts.yaml"):
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path / "v1.db"


def _raw(path: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_fixture_is_a_version_1_ledger() -> None:
    """Guards the fixture itself: 0.1.0 wrote schema_version 1 and had no ids column."""
    path = DATA / "v1.db"
    assert _raw(path, "SELECT value FROM meta WHERE name='schema_version'") == [("1",)]
    assert "ids" not in {r[1] for r in _raw(path, "PRAGMA table_info(synced)")}
    assert _raw(path, "SELECT COUNT(*) FROM runs") == [(2,)]


def test_v1_ledger_migrates_and_keeps_its_memory(v1: Path) -> None:
    legacy = dict(
        (str(k), (c, a))
        for k, c, a in _raw(v1, "SELECT key, contact_id, account_id FROM synced ORDER BY key")
    )
    with Ledger(v1) as led:
        assert led.migrated_from == 1
        got = led.lookup(V1_ORG, "account_contact", V1_KEYS)
        runs = led.runs()
    assert sorted(got) == V1_KEYS
    for key, row in got.items():
        contact_id, account_id = legacy[key]
        assert (row.contact_id, row.account_id) == (contact_id, account_id)
        assert row.ids() == {"contact_id": contact_id, "account_id": account_id}
        assert row.body_sha256 and row.last_status == "succeeded"
    assert got["edsger@globex.example"].run_id == 2  # the row run 2 changed
    assert [(r.id, r.outcome, r.counts["succeeded"]) for r in runs] == [
        (2, "finished", 1),
        (1, "finished", 5),
    ]
    assert _raw(v1, "SELECT value FROM meta WHERE name='schema_version'") == [
        (str(SCHEMA_VERSION),)
    ]
    with Ledger(v1) as led:  # migrated once: the next open has nothing to do
        assert led.migrated_from is None


def test_rerun_of_the_v1_file_sends_nothing(v1: Path, live_sandbox: SandboxHandle) -> None:
    """The 0.1.0 ledger's body hashes still match what this code sends: all unchanged, no
    request (the sandbox listens on another port than make_v1.sh's, so the org is given)."""
    folder = v1.parent
    settings = Settings(
        base_url=live_sandbox.base_url,
        api_key=live_sandbox.api_key,
        ledger=v1,
        org=V1_ORG,
        preflight=False,
    )
    summary = sync(folder / "contacts.csv", folder / "contacts.yaml", settings)
    assert (summary.counts["unchanged"], summary.counts["invalid"], summary.rows) == (5, 1, 6)
    assert summary.requests == 0 and live_sandbox.admin.stats()["total_requests"] == 0
    assert any("upgraded the ledger" in n and "from schema version 1" in n for n in summary.notes)
    with Ledger(v1) as led:
        assert [r.id for r in led.runs()] == [3, 2, 1]


def test_cli_on_a_v1_ledger(v1: Path) -> None:
    """Through the CLI: a dry run plans every row unchanged; `syncer runs` lists the old runs."""
    folder = v1.parent
    res = invoke(
        "run", folder / "contacts.csv", "--mapping", folder / "contacts.yaml", "--dry-run",
        "--ledger", v1, "--json", "-q", api_key=V1_KEY, base_url=V1_BASE_URL,
    )  # fmt: skip
    assert res.code == 1, res.stderr  # the invalid row
    assert (res.json["unchanged"], res.json["ready"], res.json["invalid"]) == (5, 0, 1)
    assert "note: upgraded the ledger" in res.stderr and res.json["notes"]
    runs = invoke("runs", "--ledger", v1, "--json")
    assert runs.code == 0, runs.stderr
    listed = [(r["id"], Path(r["source"]).name, r["outcome"]) for r in runs.json["runs"]]
    assert listed == [(2, "contacts.csv", "finished"), (1, "contacts-first.csv", "finished")]
    assert "#1 " in runs.stdout and "contacts-first.csv" in runs.stdout


def test_ids_merge_and_an_outcome_without_ids_keeps_them(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as led:
        ok = RowOutcome(2, RowStatus.SUCCEEDED, contact_id="c1", account_id="a1")
        led.record("o", "t", 1, "k", "h1", ok)
        led.record("o", "t", 2, "k", "h2", RowOutcome(2, RowStatus.SUCCEEDED), ids={"x_id": "x"})
        led.record("o", "t", 3, "k", "h3", RowOutcome(2, RowStatus.FAILED, error="boom"))
        led.flush()
        row = led.lookup("o", "t", ["k"])["k"]
    assert row.ids() == {"contact_id": "c1", "account_id": "a1", "x_id": "x"}
    assert (row.contact_id, row.account_id, row.body_sha256) == ("c1", "a1", "h2")


def test_new_ledger_is_current(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as led:
        assert led.migrated_from is None
    meta = _raw(tmp_path / "l.db", "SELECT value FROM meta WHERE name='schema_version'")
    assert meta == [(str(SCHEMA_VERSION),)]


def test_newer_ledger_is_refused_not_downgraded(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    Ledger(path).close()
    newer = str(SCHEMA_VERSION + 1)
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value=? WHERE name='schema_version'", (newer,))
    db.commit()
    db.close()
    with pytest.raises(LedgerTooNew, match="newer syncer") as exc:
        Ledger(path)
    assert isinstance(exc.value, ConfigError) and exc.value.exit_code == 2
    assert "upgrade syncer" in exc.value.message and str(path) in exc.value.message
    assert exc.value.code == "ledger_too_new"
    assert _raw(path, "SELECT value FROM meta WHERE name='schema_version'") == [(newer,)]
    res = invoke("runs", "--ledger", path, "--json")
    assert res.code == 2 and "upgrade syncer" in res.stderr
    assert res.json["error"]["code"] == "ledger_too_new"


def test_unreadable_version_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    Ledger(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='two' WHERE name='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(ConfigError, match="schema_version 'two' is not a number"):
        Ledger(path)


def test_two_processes_opening_an_old_ledger_migrate_it_once(v1: Path) -> None:
    """Both opens succeed; one migrates, the other finds the work done."""
    results: list[int | None] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            with Ledger(v1) as led:
                results.append(led.migrated_from)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(results, key=lambda v: v or 0) == [None, 1]
    ids = _raw(v1, "SELECT ids FROM synced ORDER BY key")
    assert len(ids) == 5 and all(json.loads(str(i[0])).keys() for i in ids)


def test_v2_ledger_gains_the_run_links_and_keeps_its_runs(tmp_path: Path) -> None:
    """Version 3 adds runs.parent_run/retries/throttled/retry_at; a version-2 run reads them
    as None and a new run writes them."""
    path = tmp_path / "l.db"
    with Ledger(path) as led:
        old = led.start_run(
            org="o", base_url="u", target="t", source=path, mapping=None, command="c"
        )
    db = sqlite3.connect(path)
    for column in ("parent_run", "retries", "throttled", "retry_at"):
        db.execute(f"ALTER TABLE runs DROP COLUMN {column}")
    db.execute("UPDATE meta SET value='2' WHERE name='schema_version'")
    db.commit()
    db.close()
    with Ledger(path) as led:
        assert led.migrated_from == 2
        rec = led.run(old)
        assert rec is not None and rec.parent_run is None and rec.retries is None
        new = led.start_run(
            org="o",
            base_url="u",
            target="t",
            source=path,
            mapping=None,
            command="c",
            parent_run=old,
        )
        led.finish_run(
            new,
            outcome="aborted",
            exit_code=3,
            rows=1,
            counts={},
            requests=1,
            message="m",
            results_path=None,
            failures_path=None,
            retries=2,
            throttled=1,
            retry_at="2025-01-01T13:05:00+00:00",
        )
        rec = led.run(new)
        assert rec is not None
        assert (rec.parent_run, rec.retries, rec.throttled) == (old, 2, 1)
        assert rec.retry_at == "2025-01-01T13:05:00+00:00"
        assert led.retries_of(old) == [new] and led.latest_run_id() == new
