"""Opportunities, tasks, manual activities, users, mailboxes and sequence enrollments."""

from __future__ import annotations

import random
import uuid
from typing import Any

from syncer.sandbox import schemas as s
from syncer.sandbox.crm import (
    Errors,
    check_custom_fields,
    check_owner,
    conflict,
    get_account,
    merge_custom,
    set_text,
)
from syncer.sandbox.store import Obj, Store
from syncer.sandbox.util import invalid, issue, not_found, now_iso


def _pipeline(store: Store, name: str | None) -> Obj | None:
    pipelines = store.all("pipelines")
    if name is None:
        return pipelines[0] if pipelines else None
    return next((p for p in pipelines if p["name"].lower() == name.strip().lower()), None)


def _check_contacts(store: Store, emails: list[str], loc: tuple[Any, ...], errors: Errors) -> None:
    for i, email in enumerate(emails):
        if store.contact_by(email) is None:
            at = (*loc[:-1], i) if loc and loc[-1] == "*" else loc
            errors.append(issue(at, f"No contact with email {email!r}", email))


def opportunity_view(o: Obj) -> Obj:
    """An opportunity as the API returns it."""
    out = dict(o)
    out["amount"] = float(o["amount"]) if o.get("amount") is not None else None
    out["custom_fields"] = o.get("custom_fields") or None
    return out


def get_opportunity(store: Store, opp_id: uuid.UUID | str) -> Obj:
    """The stored opportunity or a 404."""
    o = store.get("opportunities", str(opp_id))
    if o is None:
        raise not_found("Opportunity", str(opp_id))
    return o


def create_opportunity(store: Store, body: s.OpportunityIn) -> Obj:
    """POST opportunities: on an existing account, first open stage of the pipeline."""
    account = get_account(store, body.account_id)
    errors: Errors = []
    check_owner(store, body.owner_email, ("body", "owner_email"), errors)
    if body.primary_contact_email:
        _check_contacts(
            store, [body.primary_contact_email], ("body", "primary_contact_email"), errors
        )
    pipeline = _pipeline(store, body.pipeline_name)
    if pipeline is None:
        names = [p["name"] for p in store.all("pipelines")]
        msg = f"Unknown pipeline {body.pipeline_name!r}; known: {names}"
        errors.append(issue(("body", "pipeline_name"), msg, body.pipeline_name))
    cf = check_custom_fields(
        store, body.custom_fields, "opportunity", ("body", "custom_fields"), errors
    )
    if errors or pipeline is None:
        raise invalid(errors)
    stage = next(st for st in pipeline["stages"] if st["type"] == "open")
    now = now_iso()
    opp = {
        "id": str(uuid.uuid4()),
        "display_name": body.display_name,
        "account_id": account["id"],
        "owner_email": body.owner_email or None,
        "primary_contact_email": body.primary_contact_email or None,
        "additional_contact_emails": [],
        "amount": str(body.amount) if body.amount is not None else None,
        "pipeline_id": pipeline["id"],
        "pipeline_name": pipeline["name"],
        "stage_id": stage["id"],
        "stage_name": stage["name"],
        "status": stage["status"],
        "closed_reason_names": None,
        "closed_reason_custom_detail": None,
        "next_step_details": None,
        "next_step_due_at": None,
        "custom_fields": merge_custom({}, cf),
        "created_at": now,
        "updated_at": now,
    }
    store.put("opportunities", opp)
    return opportunity_view(opp)


def update_opportunity(store: Store, opp_id: uuid.UUID, body: s.OpportunityPatch) -> Obj:
    """PATCH opportunities/{id}: anything but the stage."""
    opp = dict(get_opportunity(store, opp_id))
    if body.account_id is not None:
        opp["account_id"] = get_account(store, body.account_id)["id"]
    errors: Errors = []
    check_owner(store, body.owner_email, ("body", "owner_email"), errors)
    if body.primary_contact_email:
        _check_contacts(
            store, [body.primary_contact_email], ("body", "primary_contact_email"), errors
        )
    if body.additional_contact_emails:
        loc = ("body", "additional_contact_emails", "*")
        _check_contacts(store, body.additional_contact_emails, loc, errors)
    cf = check_custom_fields(
        store, body.custom_fields, "opportunity", ("body", "custom_fields"), errors
    )
    if errors:
        raise invalid(errors)
    for key in ("display_name", "owner_email", "primary_contact_email", "next_step_details"):
        set_text(opp, key, getattr(body, key))
    if body.additional_contact_emails is not None:
        opp["additional_contact_emails"] = list(body.additional_contact_emails)
    if body.amount is not None:
        opp["amount"] = str(body.amount)
    if body.next_step_due_at is not None:
        opp["next_step_due_at"] = body.next_step_due_at.isoformat()
    if cf:
        opp["custom_fields"] = merge_custom(opp.get("custom_fields"), cf)
    opp["updated_at"] = now_iso()
    store.put("opportunities", opp)
    return opportunity_view(opp)


def search_opportunities(store: Store, body: s.OpportunitySearch) -> list[Obj]:
    """Every filter given must match: name contains, the rest exact (case-insensitive)."""
    name = body.display_name.lower() if body.display_name else None
    owner = body.owner_email.lower() if body.owner_email else None
    stage = body.stage_name.lower() if body.stage_name else None
    acc = str(body.account_id) if body.account_id else None
    hits = [
        o
        for o in store.all("opportunities")
        if (name is None or name in o["display_name"].lower())
        and (acc is None or o["account_id"] == acc)
        and (owner is None or (o.get("owner_email") or "").lower() == owner)
        and (body.status is None or o["status"] == body.status.value)
        and (stage is None or o["stage_name"].lower() == stage)
    ]
    return [opportunity_view(o) for o in hits[body.offset : body.offset + body.limit]]


def shift_stage(store: Store, opp_id: uuid.UUID, body: s.ShiftStageIn) -> Obj:
    """Move to a stage of the opportunity's own pipeline; closed stages need valid reasons."""
    opp = dict(get_opportunity(store, opp_id))
    pipeline = store.get("pipelines", opp["pipeline_id"])
    assert pipeline is not None
    target = body.target_stage_name.strip().lower()
    stage = next((st for st in pipeline["stages"] if st["name"].lower() == target), None)
    if stage is None:
        names = [st["name"] for st in pipeline["stages"]]
        msg = (
            f"No stage {body.target_stage_name!r} in pipeline {pipeline['name']!r}; stages: {names}"
        )
        raise invalid([issue(("body", "target_stage_name"), msg, body.target_stage_name)])
    reasons = None
    if stage["type"] in ("won", "lost"):
        if not body.closed_reason_names:
            msg = (
                f"closed_reason_names is required for the closed {stage['type']} stage"
                f" {stage['name']!r}; choose from {stage['reasons']}"
            )
            raise invalid([issue(("body", "closed_reason_names"), msg)])
        bad = [r for r in body.closed_reason_names if r not in stage["reasons"]]
        if bad:
            msg = f"Unknown {stage['type']} reason(s) {bad}; choose from {stage['reasons']}"
            raise invalid([issue(("body", "closed_reason_names"), msg, bad)])
        reasons = list(body.closed_reason_names)
    opp.update(
        stage_id=stage["id"],
        stage_name=stage["name"],
        status=stage["status"],
        closed_reason_names=reasons,
        closed_reason_custom_detail=body.closed_reason_custom_detail if reasons else None,
        updated_at=now_iso(),
    )
    store.put("opportunities", opp)
    return opportunity_view(opp)


def create_task(store: Store, body: s.TaskIn) -> Obj:
    """POST tasks: the owner must be a user; linked objects must exist."""
    if body.account_id is not None:
        get_account(store, body.account_id)
    errors: Errors = []
    check_owner(store, body.owner_email, ("body", "owner_email"), errors)
    if body.contact_emails:
        _check_contacts(store, list(body.contact_emails), ("body", "contact_emails", "*"), errors)
    opp_id = None
    if body.opportunity_name:
        wanted = body.opportunity_name.strip().lower()
        opp = next(
            (o for o in store.all("opportunities") if o["display_name"].lower() == wanted), None
        )
        if opp is None:
            msg = f"No opportunity named {body.opportunity_name!r}"
            errors.append(issue(("body", "opportunity_name"), msg, body.opportunity_name))
        else:
            opp_id = opp["id"]
    if errors:
        raise invalid(errors)
    task = {
        "id": str(uuid.uuid4()),
        **body.model_dump(mode="json"),
        "opportunity_id": opp_id,
        "created_at": now_iso(),
    }
    store.put("tasks", task)
    return task


def create_activity(store: Store, body: s.ManualActivityIn) -> Obj:
    """POST manual_activities: every linked id must exist (404 otherwise)."""
    if body.account_id is not None:
        get_account(store, body.account_id)
    for cid in body.contact_ids or []:
        if store.get("contacts", str(cid)) is None:
            raise not_found("Contact", str(cid))
    if body.pipeline_id is not None:
        get_opportunity(store, body.pipeline_id)
    if body.sequence_id is not None and store.get("sequences", str(body.sequence_id)) is None:
        raise not_found("Sequence", str(body.sequence_id))
    act = {"id": str(uuid.uuid4()), **body.model_dump(mode="json"), "created_at": now_iso()}
    store.put("activities", act)
    return act


def search_users(store: Store, body: s.UserSearch) -> list[Obj]:
    """Users with this e-mail (a list of zero or one)."""
    u = store.user_by(body.email)
    return [u] if u else []


def search_mailboxes(store: Store, body: s.MailboxSearch) -> list[Obj]:
    """The mailboxes of the user with this e-mail (empty when no such user)."""
    owner = body.owner_user_email.lower()
    return [m for m in store.all("mailboxes") if m["owner_user_email"].lower() == owner]


def enroll(store: Store, body: s.EnrollmentIn, rng: random.Random) -> Obj:
    """Enroll one existing contact in an existing sequence, once."""
    contact = store.contact_by(body.contact_email)
    if contact is None:
        raise not_found("Contact with email", body.contact_email)
    sequence = store.get("sequences", str(body.sequence_id))
    if sequence is None:
        raise not_found("Sequence", str(body.sequence_id))
    if (contact["id"], sequence["id"]) in store.enrolled:
        raise conflict(f"Contact {body.contact_email} is already enrolled in this sequence")
    if body.mailbox_email is not None:
        if store.mailbox_by_email.get(body.mailbox_email.lower()) is None:
            msg = f"No mailbox {body.mailbox_email!r} in this organisation"
            raise invalid([issue(("body", "mailbox_email"), msg, body.mailbox_email)])
        mailbox = body.mailbox_email
    else:
        owner = (contact.get("owner_email") or "").lower()
        boxes = [
            m["email"] for m in store.all("mailboxes") if m["owner_user_email"].lower() == owner
        ]
        if not boxes:
            msg = "The contact's owner has no mailbox; give mailbox_email"
            raise invalid([issue(("body", "mailbox_email"), msg)])
        mailbox = rng.choice(boxes)
    enrollment = {
        "id": str(uuid.uuid4()),
        "contact_id": contact["id"],
        "contact_email": contact["email"],
        "sequence_id": sequence["id"],
        "mailbox_email": mailbox,
        "status": "ACTIVE",
        "created_at": now_iso(),
    }
    store.put("enrollments", enrollment)
    return enrollment
