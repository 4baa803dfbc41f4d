"""The demo organisation the sandbox starts with, and ``--seed FILE`` YAML replacing parts.

A seed file has any of the top-level keys ``users``, ``pipelines``, ``sequences``,
``custom_fields``, ``accounts``, ``contacts``; each key given replaces the default's. Ids are
stable (uuid5 of the name) unless the file gives one.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml

from syncer.errors import ConfigError
from syncer.sandbox.records import new_account, new_contact
from syncer.sandbox.store import Store
from syncer.sandbox.util import e164

NS = uuid.UUID("5b1d0c38-6f0e-4d0a-9a43-7e3f1c2b9d10")

#: The help page's example ids, seeded so its curl examples work as printed.
EXAMPLE_ACCOUNT_ID = "01abc234-de56-7890-abcd-ef1234567890"
EXAMPLE_CONTACT_ID = "02bcd345-ef67-8901-bcde-f23456789012"

#: Custom field API names the help page's examples use (accepted in the default, open mode).
HELP_PAGE_FIELDS = (
    "industry",
    "employee_count",
    "deal_source",
    "probability",
    "deal_stage",
    "Your_Custom_Field_API_Name_1",
    "Your_Custom_Field_API_Name_2",
)

DEFAULT_SEED: dict[str, Any] = {
    "users": [
        {
            "email": "john.doe@acme.com",
            "first_name": "John",
            "last_name": "Doe",
            "mailboxes": ["john.doe@acme.com", "sender@yourcompany.com"],
        },
        {"email": "owner@acme.com", "first_name": "Olivia", "last_name": "Owner"},
        {"email": "new.owner@acme.com", "first_name": "Nate", "last_name": "Owner"},
        {"email": "jane.smith@acme.com", "first_name": "Jane", "last_name": "Smith"},
        {"email": "sales.rep@acme.com", "first_name": "Sam", "last_name": "Rep"},
    ],
    "sequences": [{"name": "Demo Outreach"}],
    "pipelines": [
        {
            "name": "Default Pipeline",
            "stages": [
                {"name": "Prospecting", "type": "open", "status": "PROSPECT"},
                {"name": "Qualified", "type": "open", "status": "DEAL"},
                {"name": "Proposal", "type": "open", "status": "DEAL"},
                {
                    "name": "Closed Won",
                    "type": "won",
                    "reasons": ["Price", "Product fit", "Relationship"],
                },
                {
                    "name": "Closed Lost",
                    "type": "lost",
                    "reasons": ["Price", "Lost to competitor", "No budget", "No decision"],
                },
            ],
        }
    ],
    "custom_fields": None,  # None = open mode (cus_field__* and the help page's names)
}

EXAMPLE_DATA: dict[str, Any] = {
    "accounts": [
        {
            "id": EXAMPLE_ACCOUNT_ID,
            "name": "Acme Corporation",
            "status": "CUSTOMER",
            "official_website": "https://www.acme.com",
            "domain_name": "acme.com",
            "linkedin_url": "https://www.linkedin.com/company/acme-corp",
            "owner_email": "owner@acme.com",
        }
    ],
    "contacts": [
        {
            "id": EXAMPLE_CONTACT_ID,
            "email": "jane.doe@acme.com",
            "first_name": "Jane",
            "last_name": "Doe",
            "phone_number": "+14151234567",
            "owner_email": "john.doe@acme.com",
            "account_domain": "acme.com",
        },
        {
            "email": "contact@acme.com",
            "first_name": "Casey",
            "last_name": "Contact",
            "owner_email": "owner@acme.com",
            "account_domain": "acme.com",
        },
        {
            "email": "jane.doe@prospect.com",
            "first_name": "Jane",
            "last_name": "Prospect",
            "owner_email": "john.doe@acme.com",
        },
    ],
}

FIELD_TYPES = ("text", "number", "date", "single_select", "multi_select")
FIELD_OBJECTS = ("account", "contact", "opportunity", "any")


def stable_id(kind: str, name: str) -> str:
    """A uuid5 id that stays the same for the same kind and name."""
    return str(uuid.uuid5(NS, f"{kind}:{name.lower()}"))


def load_seed_file(path: Path) -> dict[str, Any]:
    """Read a seed YAML file. Raises ConfigError naming every problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read seed file {path}: {exc.strerror}; check the path") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"seed file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"seed file {path} must be a mapping with keys like users, pipelines")
    known = {"users", "pipelines", "sequences", "custom_fields", "accounts", "contacts"}
    problems = [f"{path}: unknown top-level key {k!r}" for k in data if k not in known]
    for i, f in enumerate(data.get("custom_fields") or []):
        if not isinstance(f, dict) or not f.get("name"):
            problems.append(f"{path}: custom_fields[{i}] needs a name")
            continue
        if f.get("type", "text") not in FIELD_TYPES:
            problems.append(f"{path}: custom_fields[{i}].type must be one of {FIELD_TYPES}")
        if f.get("object", "any") not in FIELD_OBJECTS:
            problems.append(f"{path}: custom_fields[{i}].object must be one of {FIELD_OBJECTS}")
    if problems:
        raise ConfigError(problems[0] if len(problems) == 1 else "bad seed file", problems)
    return data


def build_seed(file_seed: dict[str, Any] | None, example_data: bool) -> dict[str, Any]:
    """The default seed with the file's top-level keys replacing the default's.

    The help page's example objects are added unless the file brings its own users,
    accounts or contacts (they would point at users that are not there).
    """
    seed = dict(DEFAULT_SEED)
    own_people = file_seed and any(k in file_seed for k in ("users", "accounts", "contacts"))
    if example_data and not own_people:
        seed.update(EXAMPLE_DATA)
    if file_seed:
        seed.update(file_seed)
    return seed


def apply_seed(store: Store, seed: dict[str, Any], now: str) -> None:
    """Write the seed's objects into an empty store."""
    for u in seed.get("users") or []:
        email = u["email"]
        uid = u.get("id") or stable_id("user", email)
        first, last = u.get("first_name"), u.get("last_name")
        display = " ".join(x for x in (first, last) if x) or email
        user = {"id": uid, "email": email, "first_name": first, "last_name": last}
        store.put("users", {**user, "display_name": display})
        for mb in u.get("mailboxes") or [email]:
            store.put(
                "mailboxes",
                {
                    "id": stable_id("mailbox", mb),
                    "email": mb,
                    "owner_user_id": uid,
                    "owner_user_email": email,
                    "display_name": display,
                },
            )
    for s in seed.get("sequences") or []:
        store.put("sequences", {"id": s.get("id") or stable_id("sequence", s["name"]), **s})
    for p in seed.get("pipelines") or []:
        pid = p.get("id") or stable_id("pipeline", p["name"])
        stages = []
        for st in p["stages"]:
            kind = st.get("type", "open")
            status = st.get("status") or ("PROSPECT" if kind == "open" else "DEAL")
            stages.append(
                {
                    "id": st.get("id") or stable_id("stage", f"{p['name']}/{st['name']}"),
                    "name": st["name"],
                    "type": kind,
                    "status": status,
                    "reasons": list(st.get("reasons") or []),
                }
            )
        store.put("pipelines", {"id": pid, "name": p["name"], "stages": stages})
    fields = seed.get("custom_fields")
    store.put("meta", {"id": "custom_fields_mode", "value": "open" if fields is None else "strict"})
    for f in fields or []:
        store.put(
            "custom_fields",
            {
                "id": str(f.get("id") or stable_id("field", f["name"])),
                "name": f["name"],
                "type": f.get("type", "text"),
                "object": f.get("object", "any"),
                "options": [str(o) for o in f.get("options") or []],
            },
        )
    for a in seed.get("accounts") or []:
        acc = {
            **new_account(a["name"], None, now),
            "id": a.get("id") or stable_id("account", a["name"]),
            **a,
        }
        store.put("accounts", acc)
    for c in seed.get("contacts") or []:
        c = dict(c)
        domain = c.pop("account_domain", None)
        account = store.account_by_domain(domain) if domain else None
        contact = {
            **new_contact(c["email"], now),
            "id": c.get("id") or stable_id("contact", c["email"]),
            "account_id": account["id"] if account else None,
            **c,
        }
        contact["phone_e164"] = e164(contact["phone_number"])
        store.put("contacts", contact)
