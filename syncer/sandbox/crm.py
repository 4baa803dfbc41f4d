"""The CRM behaviour behind the endpoints: upserts, lookups, checks. No HTTP here.

Functions take the :class:`Store` and a validated body, return JSON-able dicts, and raise
:class:`SandboxHTTPError` (422 with FastAPI-style entries, 404, 409) for requests Reevo refuses.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from syncer.sandbox import schemas as s
from syncer.sandbox.records import CONTACT_MAP, new_account, new_contact
from syncer.sandbox.seed import HELP_PAGE_FIELDS
from syncer.sandbox.store import Obj, Store
from syncer.sandbox.util import (
    FREE_MAIL,
    SandboxHTTPError,
    domain_of_email,
    domain_of_website,
    e164,
    invalid,
    issue,
    not_found,
    now_iso,
)

Errors = list[dict[str, Any]]

ACCOUNT_FIELDS = (
    "id", "name", "status", "official_website", "domain_name", "linkedin_url", "facebook_url",
    "zoominfo_url", "x_url", "owner_email", "custom_fields",
)  # fmt: skip

ACCOUNT_MAP = {
    "account_linkedin_url": "linkedin_url",
    "account_facebook_url": "facebook_url",
    "account_zoominfo_url": "zoominfo_url",
    "account_x_url": "x_url",
    "account_owner_email": "owner_email",
    "account_website": "official_website",
}


# -- shared checks ---------------------------------------------------------------------------------
def check_owner(store: Store, email: str | None, loc: tuple[str, ...], errors: Errors) -> None:
    """An owner e-mail must be a user of the organisation (422 naming it)."""
    if email and store.user_by(email) is None:
        errors.append(issue(loc, f"No user with email {email!r} in this organisation", email))


def check_custom_fields(
    store: Store, values: dict[str, Any] | None, obj: str, loc: tuple[str, ...], errors: Errors
) -> dict[str, Any]:
    """Validate custom field names/values; returns them keyed by API name."""
    if not values:
        return {}
    meta = store.get("meta", "custom_fields_mode")
    strict = meta is not None and meta["value"] == "strict"
    defs = {f["name"]: f for f in store.all("custom_fields")}
    defs.update({f["id"]: f for f in store.all("custom_fields")})
    out: dict[str, Any] = {}
    for key, value in values.items():
        here = (*loc, key)
        field = defs.get(key)
        if field is None:
            if not strict and (key.startswith("cus_field__") or key in HELP_PAGE_FIELDS):
                out[key] = value
            else:
                errors.append(issue(here, f"Unknown custom field {key!r}: create it first", key))
            continue
        if field["object"] not in ("any", obj):
            errors.append(issue(here, f"Custom field {key!r} belongs to {field['object']}s"))
            continue
        problem = _check_field_value(field, value)
        if problem:
            errors.append(issue(here, problem, value))
        else:
            out[field["name"]] = value
    return out


def _check_field_value(field: Obj, value: Any) -> str | None:
    kind, options = field["type"], field["options"]
    if value == "" or value == []:
        return None  # clears the field
    if kind == "multi_select":
        items = value if isinstance(value, list) else [value]
        bad = [v for v in items if options and v not in options]
        return f"Invalid option(s) {bad} for {field['name']!r}; allowed: {options}" if bad else None
    if isinstance(value, list):
        return f"Custom field {field['name']!r} takes one value, not a list"
    if kind == "single_select" and options and value not in options:
        return f"Invalid option {value!r} for {field['name']!r}; allowed: {options}"
    if kind == "number":
        try:
            Decimal(value)
        except ArithmeticError:
            return f"Custom field {field['name']!r} needs a number, got {value!r}"
    return None


def merge_custom(current: dict[str, Any] | None, update: dict[str, Any]) -> dict[str, Any]:
    """Apply an update: an empty string or list clears a field, anything else sets it."""
    merged = dict(current or {})
    for k, v in update.items():
        if v == "" or v == []:
            merged.pop(k, None)
        else:
            merged[k] = v
    return merged


def set_text(obj: Obj, key: str, value: str | None) -> bool:
    """Omitted/None leaves the value, ``""`` clears it. True when something changed."""
    if value is None:
        return False
    new = value if value != "" else None
    if obj.get(key) == new:
        return False
    obj[key] = new
    return True


# -- views -----------------------------------------------------------------------------------------
def account_view(acc: Obj) -> Obj:
    """An account as the API returns it (custom_fields null when empty, as the help page shows)."""
    out = {k: acc.get(k) for k in ACCOUNT_FIELDS}
    out["custom_fields"] = acc.get("custom_fields") or None
    out["created_at"], out["updated_at"] = acc.get("created_at"), acc.get("updated_at")
    return out


def contact_view(store: Store, c: Obj) -> Obj:
    """A contact with its owner, custom fields, account and opportunity links."""
    hidden = ("phone_e164", "upsert_count")
    out = {k: v for k, v in c.items() if k not in hidden}
    first, last = c.get("first_name"), c.get("last_name")
    out["display_name"] = " ".join(x for x in (first, last) if x) or c["email"]
    out["custom_fields"] = c.get("custom_fields") or None
    acc = store.get("accounts", c["account_id"]) if c.get("account_id") else None
    out["account"] = (
        {"id": acc["id"], "name": acc["name"], "domain_name": acc["domain_name"]} if acc else None
    )
    email = c["email"].lower()
    out["opportunity_ids"] = [
        o["id"]
        for o in store.all("opportunities")
        if (o.get("primary_contact_email") or "").lower() == email
        or email in [e.lower() for e in o.get("additional_contact_emails") or []]
    ]
    return out


# -- account_contact -------------------------------------------------------------------------------
def upsert_account_contact(store: Store, body: s.AccountContactIn) -> Obj:
    """Upsert the contact by e-mail and resolve/create/update its account."""
    errors: Errors = []
    check_owner(store, body.contact_owner_email, ("body", "contact_owner_email"), errors)
    check_owner(store, body.account_owner_email, ("body", "account_owner_email"), errors)
    ccf = check_custom_fields(
        store, body.contact_custom_fields, "contact", ("body", "contact_custom_fields"), errors
    )
    acf = check_custom_fields(
        store, body.account_custom_fields, "account", ("body", "account_custom_fields"), errors
    )
    if errors:
        raise invalid(errors)
    now = now_iso()
    contact = store.contact_by(body.email)
    contact_created = contact is None

    # resolve the account: website domain, else e-mail domain unless free-mail, else company name
    domain = domain_of_website(body.account_website) if body.account_website else None
    if domain is None:
        email_domain = domain_of_email(body.email)
        domain = None if email_domain in FREE_MAIL else email_domain
    account = store.account_by_domain(domain) if domain else None
    if account is None and body.company:
        account = store.account_by_name(body.company)
    account_created = False
    if account is None and (domain or body.company):
        account_created = True
        account = new_account(body.company or domain or "", domain, now)
        if body.account_website:
            account["official_website"] = body.account_website
    if account is None and contact is not None and contact.get("account_id"):
        account = store.get("accounts", contact["account_id"])
    if account is not None:
        account = dict(account)
        changed = account_created
        for src, dst in ACCOUNT_MAP.items():
            changed |= set_text(account, dst, getattr(body, src))
        if acf:
            account["custom_fields"] = merge_custom(account.get("custom_fields"), acf)
            changed = True
        if changed:
            account["updated_at"] = now
            store.put("accounts", account)

    contact = new_contact(body.email, now) if contact is None else dict(contact)
    for src, dst in CONTACT_MAP.items():
        set_text(contact, dst, getattr(body, src))
    contact["phone_e164"] = e164(contact.get("phone_number"))
    if ccf:
        contact["custom_fields"] = merge_custom(contact.get("custom_fields"), ccf)
    if account is not None:
        contact["account_id"] = account["id"]
    contact["upsert_count"] = contact.get("upsert_count", 0) + 1
    contact["updated_at"] = now
    store.put("contacts", contact)
    return {
        "contact_id": contact["id"],
        "account_id": contact.get("account_id"),
        "contact_created": contact_created,
        "account_created": account_created,
        "email": contact["email"],
    }


# -- accounts --------------------------------------------------------------------------------------
def create_account(store: Store, body: s.AccountIn) -> Obj:
    """POST accounts. The domain defaults to the website's."""
    errors: Errors = []
    check_owner(store, body.owner_email, ("body", "owner_email"), errors)
    cf = check_custom_fields(
        store, body.custom_fields, "account", ("body", "custom_fields"), errors
    )
    if errors:
        raise invalid(errors)
    now = now_iso()
    domain = body.domain_name or (
        domain_of_website(body.official_website) if body.official_website else None
    )
    acc = new_account(body.name, domain.lower() if domain else None, now)
    for key in ("owner_email", "official_website", "linkedin_url", "facebook_url"):
        acc[key] = getattr(body, key) or None
    for key in ("zoominfo_url", "x_url"):
        acc[key] = getattr(body, key) or None
    acc["custom_fields"] = merge_custom({}, cf)
    store.put("accounts", acc)
    return account_view(acc)


def get_account(store: Store, account_id: uuid.UUID | str) -> Obj:
    """The stored account or a 404."""
    acc = store.get("accounts", str(account_id))
    if acc is None:
        raise not_found("Account", str(account_id))
    return acc


def update_account(store: Store, account_id: uuid.UUID, body: s.AccountPatch) -> Obj:
    """PATCH accounts/{id}: omitted/null leaves, empty string clears (not the name)."""
    acc = dict(get_account(store, account_id))
    errors: Errors = []
    check_owner(store, body.owner_email, ("body", "owner_email"), errors)
    cf = check_custom_fields(
        store, body.custom_fields, "account", ("body", "custom_fields"), errors
    )
    if errors:
        raise invalid(errors)
    for key in ("name", "owner_email", "official_website", "linkedin_url", "facebook_url"):
        set_text(acc, key, getattr(body, key))
    for key in ("zoominfo_url", "x_url"):
        set_text(acc, key, getattr(body, key))
    if cf:
        acc["custom_fields"] = merge_custom(acc.get("custom_fields"), cf)
    acc["updated_at"] = now_iso()
    store.put("accounts", acc)
    return account_view(acc)


def search_accounts(store: Store, body: s.AccountSearch) -> list[Obj]:
    """Accounts whose domain contains the string (case-insensitive), paged."""
    needle = body.domain_name.strip().lower()
    hits = [a for a in store.all("accounts") if needle in (a.get("domain_name") or "").lower()]
    return [account_view(a) for a in hits[body.offset : body.offset + body.limit]]


def get_contact(store: Store, contact_id: uuid.UUID | str) -> Obj:
    """The stored contact or a 404."""
    c = store.get("contacts", str(contact_id))
    if c is None:
        raise not_found("Contact", str(contact_id))
    return c


def retrieve(
    store: Store, contact_email: str | None, account_domain: str | None, phone: str | None
) -> Obj:
    """account_and_contact_retrieval: exactly one exact-match identifier."""
    given = {
        k: v
        for k, v in (
            ("contact_email", contact_email),
            ("account_domain", account_domain),
            ("contact_phone_number", phone),
        )
        if v is not None
    }
    if len(given) != 1:
        msg = "Provide exactly one of contact_email, account_domain, contact_phone_number"
        raise invalid([issue(("query", *given) if given else ("query",), msg)])
    if phone is not None:
        if not (phone.startswith("+") and phone[1:].isdigit() and 2 <= len(phone) <= 16):
            msg = "contact_phone_number must be E.164, e.g. +14151234567 (URL-encode + as %2B)"
            raise invalid([issue(("query", "contact_phone_number"), msg, phone)])
        ids = store.contacts_by_phone.get(phone, [])
        contacts = [store.objects["contacts"][i] for i in ids]
        if not contacts:
            raise not_found("Contact with phone", phone)
        return _retrieval(store, contacts[0].get("account_id"), contacts)
    if contact_email is not None:
        c = store.contact_by(contact_email.strip())
        if c is None:
            raise not_found("Contact with email", contact_email)
        return _retrieval(store, c.get("account_id"), [c])
    assert account_domain is not None
    acc = store.account_by_domain(account_domain.strip())
    if acc is None:
        raise not_found("Account with domain", account_domain)
    members = [c for c in store.all("contacts") if c.get("account_id") == acc["id"]]
    return _retrieval(store, acc["id"], members)


def _retrieval(store: Store, account_id: str | None, contacts: list[Obj]) -> Obj:
    acc = store.get("accounts", account_id) if account_id else None
    return {
        "account": account_view(acc) if acc else None,
        "contacts": [contact_view(store, c) for c in contacts],
    }


def conflict(message: str) -> SandboxHTTPError:
    """A 409."""
    return SandboxHTTPError(409, message)
