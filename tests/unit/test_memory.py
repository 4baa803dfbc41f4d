"""The ledger as a create-or-update target's memory (syncer.runner.ledger_memory): what a push finds
of earlier runs and steps, which key owns an id, and ids committed the moment a create gets
them (a run killed right after a create must not create again)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from syncer.ledger import Ledger
from syncer.models import RowOutcome, RowStatus
from syncer.runner.ledger_memory import LedgerMemory
from syncer.targets.base import Row, field_digests

ORG = "http://127.0.0.1:1#test"


def _run(led: Ledger, tmp_path: Path, target: str) -> int:
    return led.start_run(
        org=ORG,
        base_url="http://127.0.0.1:1",
        target=target,
        source=tmp_path / "x.csv",
        mapping=None,
        command="syncer run",
    )


def _committed(path: Path, target: str, key: str) -> tuple[str, dict[str, str]] | None:
    """(last_status, ids JSON) of a key as another connection sees it: what survives a kill."""
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT last_status, ids FROM synced WHERE org=? AND target=? AND key=?",
            (ORG, target, key),
        ).fetchone()
    return (str(row[0]), json.loads(row[1])) if row else None


def test_a_claimed_id_is_committed_at_once_and_found_by_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger(path, batch_rows=10_000, batch_seconds=3600) as led:
        run = _run(led, tmp_path, "opportunities")
        memory = LedgerMemory(led, ORG, run, {}, "opportunities")
        memory.claim("opportunities", "deal-1", {"opportunity_id": "o-1"})
        # not waiting for a batch: a kill -9 now still finds the id next time
        assert _committed(path, "opportunities", "deal-1") == (
            "in_progress",
            {"opportunity_id": "o-1"},
        )
        assert memory.owner("opportunities", "opportunity_id", "o-1") == "deal-1"
        # a later run (a new memory) finds the owner in the ledger
        later = LedgerMemory(led, ORG, run, {}, "opportunities")
        assert later.owner("opportunities", "opportunity_id", "o-1") == "deal-1"
        assert later.owner("opportunities", "opportunity_id", "o-2") is None
        # the row's outcome then replaces in_progress, keeping the id
        led.record(
            ORG,
            "opportunities",
            run,
            "deal-1",
            "h1",
            RowOutcome(1, RowStatus.SUCCEEDED, ids={"opportunity_id": "o-1", "f:amount": "d"}),
        )
        led.flush()
        assert _committed(path, "opportunities", "deal-1") == (
            "succeeded",
            {"opportunity_id": "o-1", "f:amount": "d"},
        )


def test_another_targets_keys_are_read_from_the_ledger_and_kept_objects_recorded(
    tmp_path: Path,
) -> None:
    path = tmp_path / "l.db"
    with Ledger(path) as led:
        run = _run(led, tmp_path, "accounts")
        led.record(
            ORG,
            "accounts",
            run,
            "acme.com",
            "h",
            RowOutcome(1, RowStatus.SUCCEEDED, ids={"account_id": "a-1"}),
        )
        led.flush()
        memory = LedgerMemory(led, ORG, run, {}, "opportunities")
        assert memory.known("accounts", "acme.com")["account_id"] == "a-1"
        assert memory.known("accounts", "acme.com.au") == {}
        # an account id held in the account_id column is found by its owner too
        assert memory.owner("accounts", "account_id", "a-1") == "acme.com"
        memory.keep("accounts", "name:acme", {"account_id": "a-2"})
        assert memory.known("accounts", "name:acme") == {"account_id": "a-2"}
        led.flush()
        assert _committed(path, "accounts", "name:acme") == (
            "succeeded",
            {"account_id": "a-2"},
        )
        # kept with no body hash: an accounts import of that key later sends it (PATCH)
        row = led.lookup(ORG, "accounts", ["name:acme"])["name:acme"]
        assert row.body_sha256 is None


def test_row_changed_lists_only_fields_whose_digest_differs() -> None:
    body = {"amount": 10, "display_name": "Deal", "custom_fields": {"a": "1"}}
    known = {"opportunity_id": "o", **field_digests(body)}
    assert Row(1, "k", body, known).changed() == []
    assert Row(1, "k", {**body, "amount": 11}, known).changed() == ["amount"]
    assert Row(1, "k", {**body, "custom_fields": {"a": "2"}}, known).changed() == ["custom_fields"]
    assert Row(1, "k", body, {}).changed() == list(body)  # nothing known: every field
    assert Row(1, "k", body, known, full=True).changed() == list(body)  # --full
