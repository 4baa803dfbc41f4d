"""Opportunities, shift_stage, tasks, activities, users, mailboxes, enrollments."""

from __future__ import annotations

from typing import Any

import pytest

from syncer.sandbox import DEMO_SEQUENCE_ID, EXAMPLE_ACCOUNT_ID, EXAMPLE_CONTACT_ID

UNKNOWN = "0b9c0c6e-1111-4111-8111-111111111111"


def locs(resp: Any) -> list[list[Any]]:
    assert resp.status_code == 422, resp.text
    return [e["loc"] for e in resp.json()["detail"]]


@pytest.fixture
def opp(api: Any) -> dict[str, Any]:
    body = {"display_name": "Big Deal", "account_id": EXAMPLE_ACCOUNT_ID, "amount": "1200.50"}
    resp = api.post("opportunities", json=body)
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


def test_new_opportunity_starts_in_the_first_open_stage(opp: dict[str, Any]) -> None:
    assert (opp["pipeline_name"], opp["stage_name"], opp["status"]) == (
        "Default Pipeline",
        "Prospecting",
        "PROSPECT",
    )
    assert opp["amount"] == 1200.5


def test_opportunity_needs_an_existing_account_and_pipeline(api: Any) -> None:
    resp = api.post("opportunities", json={"display_name": "X", "account_id": UNKNOWN})
    assert resp.status_code == 404 and UNKNOWN in resp.json()["detail"]
    body = {"display_name": "X", "account_id": EXAMPLE_ACCOUNT_ID, "pipeline_name": "Nope"}
    assert locs(api.post("opportunities", json=body)) == [["body", "pipeline_name"]]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"account_id": EXAMPLE_ACCOUNT_ID}, ["body", "display_name"]),
        ({"display_name": "X"}, ["body", "account_id"]),
        ({"display_name": "X", "account_id": "abc"}, ["body", "account_id"]),
        (
            {"display_name": "X", "account_id": EXAMPLE_ACCOUNT_ID, "amount": "lots"},
            ["body", "amount"],
        ),
        (
            {
                "display_name": "X",
                "account_id": EXAMPLE_ACCOUNT_ID,
                "owner_email": "ghost@acme.com",
            },
            ["body", "owner_email"],
        ),
        (
            {
                "display_name": "X",
                "account_id": EXAMPLE_ACCOUNT_ID,
                "primary_contact_email": "no@x.com",
            },
            ["body", "primary_contact_email"],
        ),
    ],
)
def test_create_opportunity_422s(api: Any, body: Any, loc: list[Any]) -> None:
    assert loc in locs(api.post("opportunities", json=body))


def test_patch_updates_but_never_the_stage(api: Any, opp: dict[str, Any]) -> None:
    path = f"opportunities/{opp['id']}"
    body = {
        "amount": 95000.00,
        "next_step_details": "Send proposal",
        "next_step_due_at": "2024-02-20T10:00:00+02:00",
        "additional_contact_emails": ["contact@acme.com"],
    }
    out = api.patch(path, json=body).json()
    assert out["amount"] == 95000.0 and out["next_step_due_at"] == "2024-02-20T10:00:00+02:00"
    assert out["additional_contact_emails"] == ["contact@acme.com"]
    resp = api.patch(path, json={"stage_name": "Qualified"})
    assert resp.status_code == 422 and "shift_stage" in resp.json()["detail"][0]["msg"]
    assert api.get(path).json()["stage_name"] == "Prospecting"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"next_step_due_at": "2024-02-20T10:00:00"}, ["body", "next_step_due_at"]),
        ({"account_id": "x"}, ["body", "account_id"]),
        (
            {"additional_contact_emails": ["contact@acme.com", "ghost@x.com"]},
            ["body", "additional_contact_emails", 1],
        ),
        ({"custom_fields": {"nope": "1"}}, ["body", "custom_fields", "nope"]),
    ],
)
def test_patch_opportunity_422s(api: Any, opp: dict[str, Any], body: Any, loc: list[Any]) -> None:
    resp = api.patch(f"opportunities/{opp['id']}", json=body)
    assert loc in locs(resp)
    if "next_step_due_at" in body:
        assert resp.json()["detail"][0]["type"] == "timezone_aware"


def test_shift_stage_open_then_closed_with_reasons(api: Any, opp: dict[str, Any]) -> None:
    path = f"opportunities/{opp['id']}/shift_stage"
    out = api.post(path, json={"target_stage_name": "Qualified"}).json()
    assert (out["stage_name"], out["status"]) == ("Qualified", "DEAL")
    resp = api.post(path, json={"target_stage_name": "Closed Won"})
    assert locs(resp) == [["body", "closed_reason_names"]]
    assert "Product fit" in resp.json()["detail"][0]["msg"]
    resp = api.post(
        path, json={"target_stage_name": "Closed Won", "closed_reason_names": ["No budget"]}
    )
    assert locs(resp) == [["body", "closed_reason_names"]]  # a lost reason on a won stage
    body = {
        "target_stage_name": "closed won",
        "closed_reason_names": ["Price", "Product fit"],
        "closed_reason_custom_detail": "beat them on price",
    }
    out = api.post(path, json=body).json()
    assert out["stage_name"] == "Closed Won" and out["closed_reason_names"] == [
        "Price",
        "Product fit",
    ]
    resp = api.post(path, json={"target_stage_name": "Negotiation"})
    assert locs(resp) == [["body", "target_stage_name"]]
    assert (
        api.post(
            f"opportunities/{UNKNOWN}/shift_stage", json={"target_stage_name": "Qualified"}
        ).status_code
        == 404
    )
    assert locs(api.post(path, json={})) == [["body", "target_stage_name"]]


def test_search_opportunities_by_every_filter(api: Any, opp: dict[str, Any]) -> None:
    other = api.post(
        "opportunities",
        json={
            "display_name": "Small Deal",
            "account_id": EXAMPLE_ACCOUNT_ID,
            "owner_email": "sales.rep@acme.com",
        },
    ).json()
    api.post(f"opportunities/{other['id']}/shift_stage", json={"target_stage_name": "Proposal"})

    def names(**filters: Any) -> list[str]:
        resp = api.post("opportunities/search", json=filters)
        assert resp.status_code == 200, resp.text
        return [o["display_name"] for o in resp.json()]

    assert names() == ["Big Deal", "Small Deal"]
    assert names(display_name="big") == ["Big Deal"]
    assert names(account_id=EXAMPLE_ACCOUNT_ID) == ["Big Deal", "Small Deal"]
    assert names(account_id=UNKNOWN) == []
    assert names(owner_email="SALES.REP@acme.com") == ["Small Deal"]
    assert names(status="DEAL") == ["Small Deal"]
    assert names(status="PROSPECT", stage_name="prospecting") == ["Big Deal"]
    assert names(limit=1, offset=1) == ["Small Deal"]
    assert locs(api.post("opportunities/search", json={"status": "WON"})) == [["body", "status"]]
    assert locs(api.post("opportunities/search", json={"owner_email": "x"})) == [
        ["body", "owner_email"]
    ]


def test_task_defaults_and_links(api: Any, opp: dict[str, Any]) -> None:
    body = {
        "title": "Call",
        "owner_email": "john.doe@acme.com",
        "account_id": EXAMPLE_ACCOUNT_ID,
        "contact_emails": ["jane.doe@acme.com"],
        "opportunity_name": "Big Deal",
        "due_at": "2026-03-18T14:30:00Z",
    }
    task = api.post("tasks", json=body).json()
    assert (task["status"], task["priority"], task["type"]) == ("OPEN", "MEDIUM", "REMINDER")
    assert task["opportunity_id"] == opp["id"]


@pytest.mark.parametrize(
    ("extra", "loc"),
    [
        ({"title": None}, ["body", "title"]),
        ({"owner_email": "not-an-email"}, ["body", "owner_email"]),
        ({"owner_email": "ghost@acme.com"}, ["body", "owner_email"]),
        ({"status": "DONE"}, ["body", "status"]),
        ({"priority": "P1"}, ["body", "priority"]),
        ({"type": "MEETING"}, ["body", "type"]),
        ({"due_at": "2026-03-18T14:30:00"}, ["body", "due_at"]),
        ({"account_id": "nope"}, ["body", "account_id"]),
        ({"contact_emails": ["bad"]}, ["body", "contact_emails", 0]),
        ({"contact_emails": ["ghost@nowhere.com"]}, ["body", "contact_emails", 0]),
        ({"opportunity_name": "No Such Deal"}, ["body", "opportunity_name"]),
    ],
)
def test_task_422s(api: Any, extra: Any, loc: list[Any]) -> None:
    body = {"title": "T", "owner_email": "john.doe@acme.com", **extra}
    assert loc in locs(api.post("tasks", json=body))


def test_task_on_unknown_account_is_404(api: Any) -> None:
    body = {"title": "T", "owner_email": "john.doe@acme.com", "account_id": UNKNOWN}
    assert api.post("tasks", json=body).status_code == 404


def test_manual_activity(api: Any, opp: dict[str, Any]) -> None:
    meta = {"activity_time": "2026-03-18T14:30:00Z", "subject": "S", "description": "D"}
    body = {
        "metadata": meta,
        "account_id": EXAMPLE_ACCOUNT_ID,
        "contact_ids": [EXAMPLE_CONTACT_ID],
        "pipeline_id": opp["id"],
        "sequence_id": DEMO_SEQUENCE_ID,
    }
    act = api.post("manual_activities", json=body).json()
    assert act["metadata"]["category"] == "OTHER"
    for key, value in (
        ("contact_ids", [UNKNOWN]),
        ("pipeline_id", UNKNOWN),
        ("sequence_id", UNKNOWN),
    ):
        assert api.post("manual_activities", json={**body, key: value}).status_code == 404


@pytest.mark.parametrize(
    ("meta", "loc"),
    [
        ({"activity_time": "2026-03-18T14:30:00"}, ["body", "metadata", "activity_time"]),
        ({"activity_time": None}, ["body", "metadata", "activity_time"]),
        ({"subject": None}, ["body", "metadata", "subject"]),
        ({"description": None}, ["body", "metadata", "description"]),
        ({"category": "EMAIL"}, ["body", "metadata", "category"]),
    ],
)
def test_manual_activity_422s(api: Any, meta: Any, loc: list[Any]) -> None:
    base = {"activity_time": "2026-03-18T14:30:00Z", "subject": "S", "description": "D"}
    metadata = {k: v for k, v in {**base, **meta}.items() if v is not None}
    assert loc in locs(api.post("manual_activities", json={"metadata": metadata}))
    assert ["body", "metadata"] in locs(api.post("manual_activities", json={}))
    assert ["body", "contact_ids", 0] in locs(
        api.post("manual_activities", json={"metadata": base, "contact_ids": ["x"]})
    )


def test_users_and_mailboxes_search(api: Any) -> None:
    users = api.post("users/search", json={"email": "JOHN.DOE@acme.com"}).json()
    assert [u["email"] for u in users] == ["john.doe@acme.com"]
    assert api.post("users/search", json={"email": "ghost@acme.com"}).json() == []
    boxes = api.post("mailboxes/search", json={"owner_user_email": "john.doe@acme.com"}).json()
    assert {b["email"] for b in boxes} == {"john.doe@acme.com", "sender@yourcompany.com"}
    for user in (
        "owner@acme.com",
        "new.owner@acme.com",
        "jane.smith@acme.com",
        "sales.rep@acme.com",
    ):
        assert api.post("mailboxes/search", json={"owner_user_email": user}).json()
    assert locs(api.post("users/search", json={})) == [["body", "email"]]
    assert locs(api.post("mailboxes/search", json={"owner_user_email": "x"})) == [
        ["body", "owner_user_email"]
    ]


def test_enrollment_defaults_to_an_owner_mailbox_and_is_once_per_sequence(api: Any) -> None:
    body = {"contact_email": "jane.doe@prospect.com", "sequence_id": DEMO_SEQUENCE_ID}
    first = api.post("sequence_enrollments", json=body)
    assert first.status_code == 200
    assert first.json()["mailbox_email"] in {"john.doe@acme.com", "sender@yourcompany.com"}
    again = api.post(
        "sequence_enrollments", json={**body, "mailbox_email": "sender@yourcompany.com"}
    )
    assert again.status_code == 409 and "already enrolled" in again.json()["detail"]


def test_enrollment_refusals(api: Any) -> None:
    base = {"contact_email": "contact@acme.com", "sequence_id": DEMO_SEQUENCE_ID}
    assert (
        api.post("sequence_enrollments", json={**base, "sequence_id": UNKNOWN}).status_code == 404
    )
    assert (
        api.post("sequence_enrollments", json={**base, "contact_email": "no@x.com"}).status_code
        == 404
    )
    assert locs(
        api.post("sequence_enrollments", json={**base, "mailbox_email": "x@nowhere.com"})
    ) == [["body", "mailbox_email"]]
    assert ["body", "sequence_id"] in locs(
        api.post("sequence_enrollments", json={**base, "sequence_id": "your-sequence-uuid"})
    )
    assert ["body", "contact_email"] in locs(
        api.post("sequence_enrollments", json={"sequence_id": DEMO_SEQUENCE_ID})
    )
    api.post(
        "account_contact", json={"email": "orphan@yahoo.com"}
    )  # no owner -> no default mailbox
    resp = api.post("sequence_enrollments", json={**base, "contact_email": "orphan@yahoo.com"})
    assert locs(resp) == [["body", "mailbox_email"]]
