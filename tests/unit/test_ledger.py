"""The SQLite ledger: change detection memory, run history, durability, no secrets."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from syncer.errors import ConfigError
from syncer.ledger import Ledger, body_hash, key_fingerprint, org_id
from syncer.models import RowOutcome, RowStatus

KEY = "sk_live_VERY_SECRET_0123456789abcdef"


def _ok(row: int, cid: str = "c1") -> RowOutcome:
    return RowOutcome(source_row=row, status=RowStatus.SUCCEEDED, contact_id=cid, account_id="a1")


def test_body_hash_is_canonical_and_stable() -> None:
    a = {
        "email": "a@x.com",
        "first_name": "Zoë",
        "contact_custom_fields": {"b": ["1", "2"], "a": "x"},
    }
    b = {
        "contact_custom_fields": {"a": "x", "b": ["1", "2"]},
        "first_name": "Zoë",
        "email": "a@x.com",
    }
    assert body_hash(a) == body_hash(b)
    # pinned: hashlib over canonical JSON must never change between versions
    assert body_hash({"email": "a@x.com"}) == (
        "54cf71c1710295b2b59d138dc6e693b04f760d6335e0f51735723700b9672c57"
    )
    assert body_hash(a) != body_hash({**a, "first_name": "Zoe"})


def test_org_id_never_contains_the_key() -> None:
    org = org_id("https://api.reevo.ai/", api_key=KEY)
    assert KEY not in org and key_fingerprint(KEY) in org
    assert org != org_id("https://api.reevo.ai", api_key=KEY + "x")
    assert org_id("https://api.reevo.ai", label="prod") == "https://api.reevo.ai#prod"


def test_record_lookup_and_failure_keeps_last_success(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    org = org_id("http://127.0.0.1:1", api_key=KEY)
    with Ledger(path) as led:
        run = led.start_run(
            org=org,
            base_url="http://127.0.0.1:1",
            target="account_contact",
            source=tmp_path / "missing.csv",
            mapping=None,
            command="syncer run",
        )
        led.record(org, "account_contact", run, "a@x.com", "h1", _ok(2))
        led.record(org, "account_contact", run, "b@x.com", "h2", _ok(3, "c2"))
        led.flush()
        failed = RowOutcome(source_row=2, status=RowStatus.FAILED, error="boom")
        led.record(org, "account_contact", run, "a@x.com", "h9", failed)
        led.flush()
        got = led.lookup(org, "account_contact", ["a@x.com", "b@x.com", "c@x.com"])
    assert set(got) == {"a@x.com", "b@x.com"}
    assert got["a@x.com"].body_sha256 == "h1"  # the failure did not erase the last success
    assert got["a@x.com"].last_status == "failed"
    assert got["a@x.com"].contact_id == "c1"
    assert got["b@x.com"].body_sha256 == "h2"


def test_runs_history_roundtrip(tmp_path: Path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text("Email\na@x.com\n")
    with Ledger(tmp_path / "l.db") as led:
        rid = led.start_run(
            org="o",
            base_url="http://127.0.0.1:1",
            target="account_contact",
            source=src,
            mapping=None,
            command="syncer run leads.csv",
        )
        assert led.run(rid) is not None and led.run(rid).outcome == "running"  # type: ignore[union-attr]
        led.finish_run(
            rid,
            outcome="finished",
            exit_code=0,
            rows=1,
            counts={"succeeded": 1},
            requests=1,
            message=None,
            results_path=(tmp_path / "r.csv").resolve(),
            failures_path=None,
        )
        rec = led.runs()[0]
        assert rec.id == rid and rec.counts == {"succeeded": 1} and rec.exit_code == 0
        assert led.run_for_results(tmp_path / "r.csv") == rec


def test_committed_batches_survive_kill9(tmp_path: Path) -> None:
    """A batch that was committed is there after the writer is SIGKILLed; the rest is not."""
    path = tmp_path / "l.db"
    code = f"""
import os, signal
from pathlib import Path
from syncer.ledger import Ledger
from syncer.models import RowOutcome, RowStatus
led = Ledger(Path({str(path)!r}), batch_rows=10, batch_seconds=3600)
for i in range(25):
    led.record("o", "t", 1, f"k{{i}}", "h", RowOutcome(i, RowStatus.SUCCEEDED))
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", code], check=False)
    assert proc.returncode == -9
    with Ledger(path) as led:
        got = led.lookup("o", "t", [f"k{i}" for i in range(25)])
    assert len(got) == 20  # two full batches committed, the last 5 were only buffered


def test_unwritable_ledger_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="--ledger"):
        Ledger(blocker / "sub" / "l.db")


def test_ledger_file_holds_no_key(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    org = org_id("http://127.0.0.1:1", api_key=KEY)
    with Ledger(path) as led:
        led.record(org, "account_contact", 1, "a@x.com", "h", _ok(2))
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert KEY.encode() not in raw
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
