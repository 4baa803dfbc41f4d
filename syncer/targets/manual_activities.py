"""``manual_activities``: log an activity that happened outside Reevo (Reevo endpoint 13).
Create-only: the API has no update.

The mapping's fields are flat; ``activity_time``, ``subject``, ``description`` and
``category`` are sent under the request's ``metadata``. Attendees are looked up by e-mail
(``contacts: {email: Attendees, split: ";"}`` -> ``contact_ids``: the ledger's
``account_contact`` rows first, else ``account_and_contact_retrieval``, each address once per
run); an unknown one is ``unknown_contact`` (the row is not sent), or with
``on_missing_contact: skip`` left out with a row warning. ``account: {domain: ...}`` ->
``account_id`` (``missing_account``), ``opportunity: {name: Deal}`` -> ``pipeline_id``
(``unknown_opportunity``, ``ambiguous_match``). The key is ``key: {column: ...}``, else a
stable hash of the time, subject, attendees and account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from syncer.errors import RowRejected
from syncer.targets.base import FieldKind, IdColumn, Probe, Row, RowContext, Target
from syncer.targets.lookups import resolve_account
from syncer.targets.related import create_once, hashed_key, resolve_contacts, resolve_opportunity

if TYPE_CHECKING:
    import polars as pl

__all__ = ["METADATA", "TARGET"]

_K = FieldKind
FIELDS = {
    "activity_time": _K.DATETIME,
    "subject": _K.TEXT,
    "description": _K.TEXT,
    "category": _K.ENUM,
    "contacts": _K.LOOKUP_LIST,
    "contact_ids": _K.TEXT_LIST,
    "account": _K.LOOKUP,
    "account_id": _K.TEXT,
    "opportunity": _K.LOOKUP,
    "pipeline_id": _K.TEXT,
    "sequence_id": _K.TEXT,
}
#: the mapping's fields sent under the request's ``metadata`` object
METADATA = ("activity_time", "subject", "description", "category")
ENUMS = {
    "category": (
        "TEXT",
        "LINKEDIN",
        "SOCIAL_MEDIA",
        "EVENT",
        "CONFERENCE",
        "WEBINAR",
        "CALL",
        "OTHER",
    )
}
KEY_FIELDS = ("activity_time", "subject", "contacts", "account")
IDS = (
    IdColumn("activity_id", "reevo_activity_id", key="id", nested="activity"),
    IdColumn("account_id", "reevo_account_id", key="account_id"),
)


def key_of(values: Mapping[str, pl.Expr]) -> pl.Expr:
    """A stable hash of :data:`KEY_FIELDS` (attendees given as ``contact_ids`` or looked up,
    the account as ``account_id`` or looked up)."""
    values = dict(values)
    for own, given in (("contacts", "contact_ids"), ("account", "account_id")):
        if own in values and given in values:
            values[own] = values[given].fill_null(values[own])
        elif given in values:
            values[own] = values[given]
    return hashed_key(values, KEY_FIELDS, lists=("contacts",))


async def _contact_ids(ctx: RowContext, ref: Mapping[str, Any], given: list[str]) -> list[str]:
    """The attendees' ids: ``contact_ids`` given, then each e-mail looked up."""
    emails = ref.get("email") or []
    ids, missing = await resolve_contacts(ctx, [emails] if isinstance(emails, str) else emails)
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        if ctx.options.get("on_missing_contact") != "skip":
            raise RowRejected(
                f"no contact with e-mail {shown} in Reevo. Import the contacts first (an "
                "account_contact mapping), fix the address, or set on_missing_contact: skip "
                "to log the activity without them",
                status=404,
                code="unknown_contact",
            )
        ctx.warn("unknown_contact", f"attendee(s) left out, no such contact in Reevo: {shown}")
    return list(dict.fromkeys([*given, *ids]))


async def push(ctx: RowContext, row: Row) -> None:
    """Look up the account, the attendees and the opportunity, then POST the activity once."""
    flat = dict(row.body)
    account = flat.pop("account", None)
    contacts = flat.pop("contacts", None)
    opportunity = flat.pop("opportunity", None)
    body: dict[str, Any] = {"metadata": {f: flat.pop(f) for f in METADATA if f in flat}}
    body.update(flat)
    if account and "account_id" not in body:
        body["account_id"] = await resolve_account(ctx, account, create=False)
    if contacts:
        given = [str(c) for c in body.get("contact_ids") or []]
        attendees = await _contact_ids(ctx, contacts, given)
        if attendees:
            body["contact_ids"] = attendees
        else:
            body.pop("contact_ids", None)
    if opportunity and "pipeline_id" not in body:
        name = str(opportunity["name"])
        body["pipeline_id"] = await resolve_opportunity(ctx, name, body.get("account_id"))
    await create_once(ctx, TARGET, row, body, "activity")


TARGET = Target(
    name="manual_activities",
    summary="logs an activity that happened outside Reevo (create-only: logged once)",
    fields=FIELDS,
    required=("activity_time", "subject", "description"),
    key_field="subject",
    key_label="activity",
    custom=(),
    endpoint=("POST", "manual_activities"),
    idempotent=False,
    write_permissions=("Activities Write",),
    read_permissions=("Accounts Read", "Contacts Read", "Opportunities Read"),
    id_columns=IDS,
    probes=(
        Probe("POST", "manual_activities"),
        Probe("POST", "accounts/search", when="account"),
        Probe("GET", "account_and_contact_retrieval", when="contacts"),
        Probe("POST", "opportunities/search", {"limit": 0}, when="opportunity"),
    ),
    push=push,
    key_of=key_of,
    key_missing="no activity time and subject to key the activity by (or give key: {column: ...})",
    key_text="a hash of activity_time, subject, contacts, account (default)",
    external_key=True,
    lookups={"account": ("domain", "name"), "contacts": ("email",), "opportunity": ("name",)},
    options={"on_missing_contact": ("fail", "skip")},
    updatable=False,
    reads=(
        ("POST", "accounts/search"),
        ("GET", "account_and_contact_retrieval"),
        ("POST", "opportunities/search"),
    ),
    wire={
        **{f: f"metadata.{f}" for f in METADATA},
        "account": None,
        "contacts": None,
        "opportunity": None,
    },
    enums=ENUMS,
)
