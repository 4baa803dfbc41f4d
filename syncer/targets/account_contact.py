"""``account_contact``: upsert a contact by e-mail, and its account (Reevo endpoint 1).

Everything syncer knows about this target: its fields (reevo-api/README.md, endpoint 1), the
key (the e-mail, lowercased), the two custom-field sections, the endpoint (one idempotent
``POST account_contact`` per row, safe to repeat), the permissions, the ids an answer gives
(``reevo_contact_id``, ``reevo_account_id``), the preflight probe and how a rotated key is
recognised (it reads back remembered contacts).
"""

from __future__ import annotations

from typing import Any

from syncer.targets.base import (
    CustomSection,
    FieldKind,
    IdColumn,
    Probe,
    ReadBack,
    Row,
    RowContext,
    Target,
    lowercase,
)

__all__ = ["TARGET", "extract_ids"]

METHOD, PATH = "POST", "account_contact"

_K = FieldKind
FIELDS = {
    "email": _K.EMAIL,
    "first_name": _K.TEXT,
    "last_name": _K.TEXT,
    "middle_name": _K.TEXT,
    "phone_number": _K.PHONE,
    "company": _K.TEXT,
    "title": _K.TEXT,
    "department": _K.TEXT,
    "contact_linkedin_url": _K.URL,
    "contact_facebook_url": _K.URL,
    "contact_zoominfo_url": _K.URL,
    "contact_x_url": _K.URL,
    "contact_owner_email": _K.OWNER_EMAIL,
    "account_linkedin_url": _K.URL,
    "account_facebook_url": _K.URL,
    "account_zoominfo_url": _K.URL,
    "account_x_url": _K.URL,
    "account_owner_email": _K.OWNER_EMAIL,
    "account_website": _K.URL,
}

IDS = (
    IdColumn("contact_id", "reevo_contact_id", key="contact_id", nested="contact"),
    IdColumn("account_id", "reevo_account_id", key="account_id", nested="account"),
)


async def push(ctx: RowContext, row: Row) -> None:
    """One upsert (safe to repeat); its answer holds the contact's and the account's ids, and
    whether the contact was created (noted as ``contact_created``: ``then: enroll`` reads it
    and takes it off the outcome)."""
    data = await ctx.request(METHOD, PATH, json=row.body, idempotent=TARGET.idempotent)
    ids = TARGET.ids_in(data)
    answer = data.get("data", data) if isinstance(data, dict) else None
    if isinstance(answer, dict) and answer.get("contact_created") is True:
        ids["contact_created"] = "yes"
    ctx.remember(ids)


TARGET = Target(
    name="account_contact",
    summary="upserts a contact by e-mail",
    fields=FIELDS,
    required=("email",),
    key_field="email",
    key_label="e-mail",
    custom=(
        CustomSection(
            "contact_custom_fields",
            "contact_custom_fields",
            "contact",
            "Contact custom field API name (cus_field__...) or UUID: source.",
        ),
        CustomSection(
            "account_custom_fields",
            "account_custom_fields",
            "account",
            "Account custom field API name (cus_field__...) or UUID: source.",
        ),
    ),
    endpoint=(METHOD, PATH),
    idempotent=True,
    write_permissions=("Accounts Write", "Contacts Write"),
    read_permissions=(),
    id_columns=IDS,
    # an empty body: Reevo checks the key and both write permissions, then refuses it (422)
    probes=(Probe(METHOD, PATH),),
    push=push,
    key_expr=lowercase,
    read_back=ReadBack("contact_id", "contacts/{id}", "contacts", "Contacts Read"),
)


def extract_ids(data: Any) -> tuple[str | None, str | None]:
    """(contact_id, account_id) found in an answer, wherever Reevo puts them."""
    ids = TARGET.ids_in(data)
    return ids.get("contact_id"), ids.get("account_id")
