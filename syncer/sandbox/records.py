"""Blank stored records: what a new account or contact holds before any field is set.

Shared by the API (crm) and the seed, so both store objects of one shape.
"""

from __future__ import annotations

import uuid

from syncer.sandbox.store import Obj

# account_contact body key -> stored contact key
CONTACT_MAP = {
    "first_name": "first_name",
    "last_name": "last_name",
    "middle_name": "middle_name",
    "phone_number": "phone_number",
    "company": "company",
    "title": "title",
    "department": "department",
    "contact_linkedin_url": "linkedin_url",
    "contact_facebook_url": "facebook_url",
    "contact_zoominfo_url": "zoominfo_url",
    "contact_x_url": "x_url",
    "contact_owner_email": "owner_email",
}


def new_account(name: str, domain: str | None, now: str) -> Obj:
    """A fresh account dict (not stored yet)."""
    return {
        "id": str(uuid.uuid4()),
        "name": name,
        "status": "PROSPECT",
        "official_website": None,
        "domain_name": domain,
        "linkedin_url": None,
        "facebook_url": None,
        "zoominfo_url": None,
        "x_url": None,
        "owner_email": None,
        "custom_fields": {},
        "created_at": now,
        "updated_at": now,
    }


def new_contact(email: str, now: str) -> Obj:
    """A fresh contact dict (not stored yet)."""
    return {
        "id": str(uuid.uuid4()),
        "email": email,
        **{dst: None for dst in CONTACT_MAP.values()},
        "custom_fields": {},
        "account_id": None,
        "upsert_count": 0,
        "created_at": now,
        "updated_at": now,
    }
