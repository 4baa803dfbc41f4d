"""The sequence_enrollments target's real push, the ``then: enroll`` step's pieces and the
mailbox preflight against the in-process sandbox (the helpers of test_target_push.py: a real
ReevoClient, every request checked against the routes the target declares and their schemas).
The seed's john.doe@acme.com has the mailboxes john.doe@acme.com and sender@yourcompany.com."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from test_target_push import Book, Item, dump, ok, push

from syncer.errors import RunAborted
from syncer.models import RowOutcome, RowStatus
from syncer.push import PushSettings, make_client
from syncer.runner import prepare
from syncer.runner.checks import PreflightResult, check_mailboxes
from syncer.runner.enroll import CREATED, Enroll, failed_enrollments
from syncer.sandbox import DEMO_SEQUENCE_ID, SandboxApp, SandboxSettings, create_app
from syncer.sandbox.keys import ApiKey
from syncer.targets.sequence_enrollments import enrollment_key

KEY = "test-key-all-permissions"
OWNER, SENDER = "john.doe@acme.com", "sender@yourcompany.com"
ENROLL = "POST sequence_enrollments"


@pytest.fixture
def app() -> SandboxApp:
    return create_app(SandboxSettings(port=0, api_key=KEY, random_seed=7))


def contacts(app: SandboxApp, emails: list[str], book: Book | None = None) -> dict[int, Any]:
    """Upsert ``emails`` as account_contact rows 2, 3, ... (owned by john.doe)."""
    items = [(i + 2, e, {"email": e, "contact_owner_email": OWNER}) for i, e in enumerate(emails)]
    return ok(push(app, "account_contact", items, book=book))


def enrollment(row: int, email: str, **fields: Any) -> Item:
    body = {"contact_email": email, "sequence_id": DEMO_SEQUENCE_ID, **fields}
    return (row, enrollment_key(email, DEMO_SEQUENCE_ID), body)


def test_each_row_is_one_enrollment_and_its_id_is_kept(app: SandboxApp) -> None:
    emails = [f"lead{i}@firm.example" for i in range(6)]
    contacts(app, emails)
    items = [enrollment(i + 2, e, mailbox_email=SENDER) for i, e in enumerate(emails)]
    pushed = push(app, "sequence_enrollments", items)
    outcomes = ok(pushed)
    assert pushed.routes == {ENROLL: 6}
    stored = {e["contact_email"]: e for e in dump(app)["enrollments"]}
    assert len(stored) == 6
    for row, email, _ in ((i + 2, e, None) for i, e in enumerate(emails)):
        assert outcomes[row].ids["enrollment_id"] == stored[email]["id"]
        assert stored[email]["mailbox_email"] == SENDER


def test_a_contact_already_in_the_sequence_succeeds_with_a_warning_and_is_not_enrolled_again(
    app: SandboxApp,
) -> None:
    contacts(app, ["a@firm.example", "b@firm.example"])
    ok(push(app, "sequence_enrollments", [enrollment(2, "a@firm.example")]))
    # an earlier attempt whose answer was lost, or an enrollment made in Reevo's UI
    pushed = push(
        app,
        "sequence_enrollments",
        [enrollment(2, "A@firm.example"), enrollment(3, "b@firm.example")],
    )
    outcomes = ok(pushed)
    assert [w.code for w in outcomes[2].warnings] == ["already_enrolled"]
    assert "enrollment_id" not in outcomes[2].ids and "enrollment_id" in outcomes[3].ids
    assert len(dump(app)["enrollments"]) == 2


def test_an_unknown_contact_or_mailbox_fails_its_row_only(app: SandboxApp) -> None:
    contacts(app, ["a@firm.example", "b@firm.example"])
    items = [
        enrollment(2, "a@firm.example"),
        enrollment(3, "nobody@firm.example"),
        enrollment(4, "b@firm.example", mailbox_email="nobody@yourcompany.com"),
    ]
    pushed = push(app, "sequence_enrollments", items)
    o = pushed.outcomes
    assert o[2].status is RowStatus.SUCCEEDED
    assert (o[3].status, o[3].code, o[3].http_status) == (RowStatus.FAILED, "reevo_rejected", 404)
    assert (o[4].status, o[4].http_status) == (RowStatus.FAILED, 422)
    assert "nobody@yourcompany.com" in o[4].error
    assert pushed.routes == {ENROLL: 3}  # a 4xx is not retried


def test_account_contact_notes_the_contacts_it_created_and_enroll_takes_the_note_off(
    app: SandboxApp, tmp_path: Path
) -> None:
    contacts(app, ["old@firm.example"])
    items = [
        (2, "old@firm.example", {"email": "old@firm.example"}),
        (3, "new@firm.example", {"email": "new@firm.example"}),
    ]
    outcomes = ok(push(app, "account_contact", items))
    assert CREATED not in outcomes[2].ids and outcomes[3].ids[CREATED] == "yes"

    then = f"then:\n  enroll: {{sequence_id: {{value: {DEMO_SEQUENCE_ID}}}}}\n"
    (tmp_path / "m.yaml").write_text("columns:\n  email: Email\n" + then)
    (tmp_path / "d.csv").write_text("Email\nold@firm.example\nnew@firm.example\n")
    step = Enroll.of(prepare(tmp_path / "d.csv", tmp_path / "m.yaml"))
    assert step is not None
    seen: list[RowOutcome] = []
    job = SimpleNamespace(on_outcome=seen.append, ledger=None, org="o", run_id=None)
    watch = step.watch(job)  # type: ignore[arg-type]  # the fields watch reads
    for o in outcomes.values():
        watch(o)
    assert step.created == {3}
    assert all(CREATED not in o.ids for o in seen)  # the ledger keeps ids only
    assert seen[1].ids["contact_id"] == outcomes[3].ids["contact_id"]


def _check(app: SandboxApp, wanted: dict[tuple[str, str], str], key: str = KEY) -> PreflightResult:
    result = PreflightResult()

    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        settings = PushSettings(initial_rate=1000.0)
        async with make_client(
            key, settings, base_url="http://127.0.0.1", transport=transport
        ) as c:
            await check_mailboxes(c, wanted, settings, result)

    asyncio.run(go())
    return result


def test_the_mailbox_check_asks_once_per_owner_and_names_every_wrong_mailbox(
    app: SandboxApp,
) -> None:
    where = "then.enroll.mailbox_email: column Sender, m.yaml line 7"
    good = {(OWNER, SENDER): where, (OWNER, OWNER): where}
    result = _check(app, good)
    assert result.requests == 1 and result.notes == []
    assert app.sandbox.stats.writes == 0

    bad = {**good, (OWNER, "nobody@yourcompany.com"): where, ("owner@acme.com", SENDER): where}
    with pytest.raises(RunAborted) as info:
        _check(app, bad)
    assert info.value.reason == "unknown_mailbox"
    message = info.value.message
    assert f"nobody@yourcompany.com ({where}) is not a mailbox of {OWNER}" in message
    assert f"{SENDER} ({where}) is not a mailbox of owner@acme.com" in message
    assert message.startswith("preflight failed, nothing was sent: 2 mailbox e-mail(s)")


def test_a_key_that_may_not_read_mailboxes_is_a_note_not_a_stop(app: SandboxApp) -> None:
    app.sandbox.keys.add(ApiKey("no-mailboxes", "t", {"contacts": "write"}))
    result = _check(app, {(OWNER, "nobody@yourcompany.com"): "x"}, key="no-mailboxes")
    assert result.notes == [
        "mailbox e-mails were not checked: the key may not read Mailbox (give it Mailbox Read "
        "to check them before sending)"
    ]


def test_retry_knows_the_failed_enrollments_by_the_results_columns() -> None:
    import polars as pl

    frame = pl.DataFrame(
        {
            "source_row": [2, 3, 4, 5, 6],
            "status": ["succeeded", "unchanged", "succeeded", "failed", "succeeded"],
            "enrolled": ["no", "no", "yes", "no", None],
        }
    )
    assert failed_enrollments(frame) == [2, 3]  # a failed contact is retried anyway
    assert failed_enrollments(frame.drop("enrolled")) == []


def test_the_created_note_never_reaches_the_ledger(app: SandboxApp, tmp_path: Path) -> None:
    """With or without then: enroll, the ledger keeps ids only (one JSON-free row per plain
    contact), and then: enroll notes the created contacts apart (sequence_enrollments:created)."""
    import sqlite3

    from syncer import sync
    from syncer.runner.settings import Settings

    (tmp_path / "d.csv").write_text("Email\na@firm.example\nb@firm.example\n")
    plain = tmp_path / "plain.yaml"
    plain.write_text("columns:\n  email: Email\n")
    enroll = tmp_path / "enroll.yaml"
    then = f"then:\n  enroll: {{sequence_id: {{value: {DEMO_SEQUENCE_ID}}}}}\n"
    owner = f"  contact_owner_email: {{value: {OWNER}}}\n"  # Reevo picks a mailbox of theirs
    enroll.write_text("columns:\n  email: Email\n" + owner + then)
    ledger = tmp_path / "ledger.db"
    settings = Settings(
        api_key=KEY,
        base_url="http://127.0.0.1",
        transport=httpx.ASGITransport(app=app),
        ledger=ledger,
        results=tmp_path / "out.csv",
    )
    assert sync(tmp_path / "d.csv", plain, settings).counts["succeeded"] == 2
    with sqlite3.connect(ledger) as db:
        rows = db.execute("SELECT target, key, ids FROM synced ORDER BY target, key").fetchall()
    assert [(t, k) for t, k, _ in rows] == [
        ("account_contact", "a@firm.example"),
        ("account_contact", "b@firm.example"),
    ]
    assert all(CREATED not in (ids or "") for _, _, ids in rows)

    (tmp_path / "d.csv").write_text("Email\na@firm.example\nc@firm.example\n")
    summary = sync(tmp_path / "d.csv", enroll, settings)
    assert summary.counts["succeeded"] == 2  # a's owner is new: sent, not created
    with sqlite3.connect(ledger) as db:
        rows = db.execute("SELECT target, key, ids FROM synced ORDER BY target, key").fetchall()
    assert all(CREATED not in (ids or "") for _, _, ids in rows)
    key = enrollment_key("c@firm.example", DEMO_SEQUENCE_ID)
    assert {(t, k) for t, k, _ in rows} >= {
        ("sequence_enrollments", key),
        ("sequence_enrollments:created", key),
    }
    assert [e["contact_email"] for e in dump(app)["enrollments"]] == ["c@firm.example"]
