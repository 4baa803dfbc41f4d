"""The tasks and manual_activities targets' real push against the in-process sandbox (the
helpers of test_target_push.py: a real ReevoClient, every request checked against the routes
the target declares and their schemas, a :class:`Book` ledger carried from run to run).
Bodies are made by the pipeline where it matters (times around DST changes)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from test_target_push import Book, Item, api_post, dump, faults, ok, push

from syncer.runner import prepare
from syncer.sandbox import (
    EXAMPLE_ACCOUNT_ID,
    EXAMPLE_CONTACT_ID,
    SandboxApp,
    SandboxSettings,
    create_app,
)

KEY = "test-key-all-permissions"
OWNER = "owner@acme.com"
JANE, CASEY = "jane.doe@acme.com", "contact@acme.com"  # the seed's contacts at acme.com
RETRIEVAL = "GET account_and_contact_retrieval"


@pytest.fixture
def app() -> SandboxApp:
    return create_app(SandboxSettings(port=0, api_key=KEY, random_seed=7))


def task(row: int, title: str, **fields: Any) -> Item:
    return (row, f"task-{row}", {"title": title, "owner_email": OWNER, **fields})


def activity(row: int, subject: str, **fields: Any) -> Item:
    body = {
        "activity_time": "2026-01-05T10:00:00+01:00",
        "subject": subject,
        "description": "logged by syncer",
        **fields,
    }
    return (row, f"activity-{row}", body)


def deal(app: SandboxApp, name: str) -> dict[str, Any]:
    """An opportunity on the seed's Acme account, made straight in the sandbox."""
    return api_post(app, "opportunities", {"display_name": name, "account_id": EXAMPLE_ACCOUNT_ID})


def failed(outcomes: dict[int, Any]) -> dict[int, tuple[str | None, str | None]]:
    return {r: (o.code, o.error) for r, o in outcomes.items() if o.status != "succeeded"}


# -- tasks -----------------------------------------------------------------------------------------
def test_tasks_are_created_with_their_account_looked_up_once(app: SandboxApp) -> None:
    items = [
        task(
            i,
            f"Follow up {i}",
            priority="HIGH",
            status="OPEN",
            type="VOICE_CALL",
            contact_emails=[JANE],
            account={"domain": "acme.com"},
        )
        for i in range(2, 6)
    ]
    pushed = push(app, "tasks", items)
    outcomes = ok(pushed)
    assert pushed.routes == {"POST accounts/search": 1, "POST tasks": 4}
    stored = {t["id"]: t for t in dump(app)["tasks"]}
    assert len(stored) == 4
    for row in range(2, 6):
        made = stored[outcomes[row].ids["task_id"]]
        assert made["title"] == f"Follow up {row}" and made["priority"] == "HIGH"
        assert made["account_id"] == EXAMPLE_ACCOUNT_ID == outcomes[row].ids["account_id"]
        assert made["contact_emails"] == [JANE]


def test_a_task_on_an_unknown_account_is_missing_account_and_not_sent(app: SandboxApp) -> None:
    pushed = push(app, "tasks", [task(2, "T", account={"domain": "nowhere.example"})])
    assert failed(pushed.outcomes)[2][0] == "missing_account"
    assert "POST tasks" not in pushed.routes and dump(app)["tasks"] == []


def test_a_task_created_before_is_never_created_again(app: SandboxApp) -> None:
    """The plan does not send a key the ledger holds; should one reach the push (not --full),
    it is cannot_update with the existing id, never a second task."""
    book = Book()
    first = push(app, "tasks", [task(2, "Once")], book=book)
    made = ok(first)[2].ids["task_id"]
    again = push(app, "tasks", [task(2, "Once, changed")], book=book)
    code, error = failed(again.outcomes)[2]
    assert code == "cannot_update" and made in (error or "")
    assert "POST tasks" not in again.routes and len(dump(app)["tasks"]) == 1


@pytest.mark.parametrize(("target", "path"), [("tasks", "tasks"), ("manual_activities", "")])
def test_a_create_applied_then_failed_is_ambiguous_and_stored_once(
    app: SandboxApp, target: str, path: str
) -> None:
    route = f"POST {path or target}"
    faults(app, commit_then_fail_rate=1.0, commit_then_fail_mode="mixed", fault_routes=route)
    item = task(2, "Maybe") if target == "tasks" else activity(2, "Maybe")
    pushed = push(app, target, [item])
    assert failed(pushed.outcomes)[2][0] == "reevo_ambiguous"
    assert pushed.routes[route] == 1  # never sent again once it may have been applied
    stored = dump(app)["tasks" if target == "tasks" else "activities"]
    assert len(stored) == 1


# -- manual activities -----------------------------------------------------------------------------
def test_attendees_are_looked_up_once_each_and_sent_as_contact_ids(app: SandboxApp) -> None:
    items = [
        activity(i, f"Call {i}", category="CALL", contacts={"email": [JANE, CASEY.upper()]})
        for i in range(2, 7)
    ]
    pushed = push(app, "manual_activities", items)
    outcomes = ok(pushed)
    assert pushed.routes == {RETRIEVAL: 2, "POST manual_activities": 5}
    stored = {a["id"]: a for a in dump(app)["activities"]}
    made = stored[outcomes[2].ids["activity_id"]]
    assert made["metadata"]["subject"] == "Call 2" and made["metadata"]["category"] == "CALL"
    assert made["contact_ids"][0] == EXAMPLE_CONTACT_ID and len(made["contact_ids"]) == 2


def test_the_ledger_knows_contacts_an_import_created_without_a_lookup(app: SandboxApp) -> None:
    book = Book()
    book.claim("account_contact", JANE, {"contact_id": EXAMPLE_CONTACT_ID})
    pushed = push(
        app, "manual_activities", [activity(2, "S", contacts={"email": [JANE]})], book=book
    )
    ok(pushed)
    assert RETRIEVAL not in pushed.routes
    assert dump(app)["activities"][0]["contact_ids"] == [EXAMPLE_CONTACT_ID]


def test_an_unknown_attendee_fails_the_row_naming_it(app: SandboxApp) -> None:
    items = [
        activity(2, "S", contacts={"email": [JANE, "ghost@acme.com"]}),
        activity(3, "S", contacts={"email": ["ghost@acme.com"]}),
    ]
    pushed = push(app, "manual_activities", items)
    bad = failed(pushed.outcomes)
    assert {r: code for r, (code, _) in bad.items()} == {2: "unknown_contact", 3: "unknown_contact"}
    assert "ghost@acme.com" in (bad[2][1] or "") and "on_missing_contact: skip" in (bad[2][1] or "")
    assert pushed.routes == {RETRIEVAL: 2}  # ghost asked once; nothing written
    assert dump(app)["activities"] == []


def test_on_missing_contact_skip_drops_the_attendee_with_a_warning(app: SandboxApp) -> None:
    items = [activity(2, "S", contacts={"email": [JANE, "ghost@acme.com"]})]
    pushed = push(app, "manual_activities", items, options={"on_missing_contact": "skip"})
    (warning,) = ok(pushed)[2].warnings
    assert warning.code == "unknown_contact" and "ghost@acme.com" in warning.message
    assert dump(app)["activities"][0]["contact_ids"] == [EXAMPLE_CONTACT_ID]


def test_the_opportunity_is_looked_up_by_its_exact_name_once(app: SandboxApp) -> None:
    made = deal(app, "Renewal")
    deal(app, "Renewal 2027")  # its name contains the other's: not a match
    items = [activity(i, "S", opportunity={"name": "renewal"}) for i in range(2, 5)]
    items.append(activity(5, "S", opportunity={"name": "Nope"}))
    pushed = push(app, "manual_activities", items)
    bad = failed(pushed.outcomes)
    assert list(bad) == [5] and bad[5][0] == "unknown_opportunity" and "'Nope'" in (bad[5][1] or "")
    assert pushed.routes == {"POST opportunities/search": 2, "POST manual_activities": 3}
    assert {a["pipeline_id"] for a in dump(app)["activities"]} == {made["id"]}


def test_two_opportunities_of_one_name_are_ambiguous(app: SandboxApp) -> None:
    deal(app, "Twin")
    deal(app, "twin")
    pushed = push(app, "manual_activities", [activity(2, "S", opportunity={"name": "Twin"})])
    assert failed(pushed.outcomes)[2][0] == "ambiguous_match"
    assert dump(app)["activities"] == []


def test_the_account_and_the_opportunity_on_it(app: SandboxApp) -> None:
    made = deal(app, "On Acme")
    body = {"account": {"domain": "acme.com"}, "opportunity": {"name": "On Acme"}}
    pushed = push(app, "manual_activities", [activity(2, "S", **body)])
    assert ok(pushed)[2].ids["account_id"] == EXAMPLE_ACCOUNT_ID
    (logged,) = dump(app)["activities"]
    assert (logged["account_id"], logged["pipeline_id"]) == (EXAMPLE_ACCOUNT_ID, made["id"])


# -- times around DST changes, through the pipeline ------------------------------------------------
TASKS_MAPPING = """\
target: tasks
key: {column: ID}
columns:
  title: Title
  owner_email: Owner
  due_at: {column: Due, timezone: Europe/Berlin}
"""
ACTIVITIES_MAPPING = """\
target: manual_activities
key: {column: ID}
columns:
  activity_time: {column: When, timezone: America/Chicago}
  subject: Subject
  description: {value: imported}
  category: {column: Kind, values: {Meeting: EVENT}}
"""
#: wall-clock times around the 2026 changes -> the offset each must reach Reevo with
BERLIN = {
    "2026-03-29 01:30": "2026-03-29T01:30:00+01:00",
    "2026-03-29 02:30": "2026-03-29T03:30:00+02:00",  # skipped: moved forward by the gap
    "2026-03-29 03:30": "2026-03-29T03:30:00+02:00",
    "2026-10-25 02:30": "2026-10-25T02:30:00+02:00",  # repeated: the earlier one
    "2026-10-25 03:30": "2026-10-25T03:30:00+01:00",
    "2026-10-25T02:30:00+01:00": "2026-10-25T02:30:00+01:00",  # an offset given is kept
}
CHICAGO = {
    "2026-03-08 01:30": "2026-03-08T01:30:00-06:00",
    "2026-03-08 03:30": "2026-03-08T03:30:00-05:00",
    "11/01/2026 1:30 AM": "2026-11-01T01:30:00-05:00",
    "2026-11-01 02:30": "2026-11-01T02:30:00-06:00",
}


def _items(tmp_path: Path, mapping: str, header: str, rows: list[str]) -> list[Item]:
    (tmp_path / "m.yaml").write_text(textwrap.dedent(mapping), encoding="utf-8")
    (tmp_path / "f.csv").write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    prepared = prepare(tmp_path / "f.csv", tmp_path / "m.yaml")
    assert prepared.counts()["ready"] == len(rows), prepared.frame.select("error").to_series()
    return list(prepared.iter_bodies())


def test_times_around_dst_changes_reach_reevo_with_the_right_offsets(
    app: SandboxApp, tmp_path: Path
) -> None:
    tasks = _items(
        tmp_path,
        TASKS_MAPPING,
        "ID,Title,Owner,Due",
        [f"t{i},Task {i},{OWNER},{when}" for i, when in enumerate(BERLIN)],
    )
    ok(push(app, "tasks", tasks))
    due = {t["title"]: t["due_at"] for t in dump(app)["tasks"]}
    assert due == {f"Task {i}": iso for i, iso in enumerate(BERLIN.values())}
    activities = _items(
        tmp_path,
        ACTIVITIES_MAPPING,
        "ID,When,Subject,Kind",
        [f'a{i},"{when}",Call {i},Meeting' for i, when in enumerate(CHICAGO)],
    )
    ok(push(app, "manual_activities", activities))
    stored = {a["metadata"]["subject"]: a["metadata"] for a in dump(app)["activities"]}
    assert {s: m["activity_time"] for s, m in stored.items()} == {
        f"Call {i}": iso for i, iso in enumerate(CHICAGO.values())
    }
    assert {m["category"] for m in stored.values()} == {"EVENT"}
