"""The sandbox's data: plain dicts in memory, indexed, optionally written through to SQLite.

Objects are JSON-able dicts keyed by kind and id. With a ``db_path`` every ``put`` is also an
``INSERT OR REPLACE`` into one SQLite table (WAL, synchronous=NORMAL), and the store is reloaded
from it on start; without one, nothing touches the disk.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from typing import Any

KINDS = (
    "users",
    "mailboxes",
    "sequences",
    "pipelines",
    "custom_fields",
    "accounts",
    "contacts",
    "opportunities",
    "tasks",
    "activities",
    "enrollments",
    "meta",
)

Obj = dict[str, Any]


class Store:
    """All objects of the one sandbox organisation, with the lookups the API needs."""

    def __init__(self, db_path: str | None = None) -> None:
        self.db_path = db_path
        self._db: sqlite3.Connection | None = None
        if db_path:
            self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS objects ("
                " kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL,"
                " PRIMARY KEY (kind, id))"
            )
        self._seq = 0
        if self._db is not None:
            (top,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM objects").fetchone()
            self._seq = int(top)
        self.clear(persist=False)

    # -- lifecycle -----------------------------------------------------------------------------
    def clear(self, *, persist: bool = True) -> None:
        """Forget every object (and delete them from the database when ``persist``)."""
        self.objects: dict[str, dict[str, Obj]] = {k: {} for k in KINDS}
        self.contact_by_email: dict[str, str] = {}
        self.contacts_by_phone: dict[str, list[str]] = defaultdict(list)
        self.accounts_by_domain: dict[str, list[str]] = defaultdict(list)
        self.accounts_by_name: dict[str, list[str]] = defaultdict(list)
        self.user_by_email: dict[str, str] = {}
        self.mailbox_by_email: dict[str, str] = {}
        self.enrolled: set[tuple[str, str]] = set()
        if persist and self._db is not None:
            self._db.execute("DELETE FROM objects")

    def load(self) -> bool:
        """Reload every object from the database. False when there is none or it is empty."""
        if self._db is None:
            return False
        rows = self._db.execute("SELECT kind, data FROM objects ORDER BY seq").fetchall()
        for kind, data in rows:
            self.put(kind, json.loads(data), persist=False)
        return bool(rows)

    def close(self) -> None:
        """Close the database, if any."""
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- writes --------------------------------------------------------------------------------
    def put(self, kind: str, obj: Obj, *, persist: bool = True) -> Obj:
        """Insert or replace one object (it must have an ``id``) and keep the indexes current."""
        old = self.objects[kind].get(obj["id"])
        if old is not None:
            self._unindex(kind, old)
        self.objects[kind][obj["id"]] = obj
        self._index(kind, obj)
        if persist and self._db is not None:
            self._seq += 1
            self._db.execute(
                "INSERT INTO objects (kind, id, seq, data) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data",
                (kind, obj["id"], self._seq, json.dumps(obj, default=str)),
            )
        return obj

    def delete(self, kind: str, obj_id: str) -> bool:
        """Remove one object (as deleting or merging it in Reevo's UI would); False if none."""
        old = self.objects[kind].pop(obj_id, None)
        if old is None:
            return False
        self._unindex(kind, old)
        if self._db is not None:
            self._db.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, obj_id))
        return True

    def _index(self, kind: str, obj: Obj) -> None:
        if kind == "contacts":
            self.contact_by_email[obj["email"].lower()] = obj["id"]
            if obj.get("phone_e164"):
                self.contacts_by_phone[obj["phone_e164"]].append(obj["id"])
        elif kind == "accounts":
            if obj.get("domain_name"):
                self.accounts_by_domain[obj["domain_name"].lower()].append(obj["id"])
            if obj.get("name"):
                self.accounts_by_name[obj["name"].strip().lower()].append(obj["id"])
        elif kind == "users":
            self.user_by_email[obj["email"].lower()] = obj["id"]
        elif kind == "mailboxes":
            self.mailbox_by_email[obj["email"].lower()] = obj["id"]
        elif kind == "enrollments":
            self.enrolled.add((obj["contact_id"], obj["sequence_id"]))

    def _unindex(self, kind: str, obj: Obj) -> None:
        if kind == "contacts":
            self.contact_by_email.pop(obj["email"].lower(), None)
            if obj.get("phone_e164"):
                _discard(self.contacts_by_phone, obj["phone_e164"], obj["id"])
        elif kind == "accounts":
            if obj.get("domain_name"):
                _discard(self.accounts_by_domain, obj["domain_name"].lower(), obj["id"])
            if obj.get("name"):
                _discard(self.accounts_by_name, obj["name"].strip().lower(), obj["id"])
        elif kind == "users":
            self.user_by_email.pop(obj["email"].lower(), None)
        elif kind == "mailboxes":
            self.mailbox_by_email.pop(obj["email"].lower(), None)
        elif kind == "enrollments":
            self.enrolled.discard((obj["contact_id"], obj["sequence_id"]))

    # -- reads ---------------------------------------------------------------------------------
    def get(self, kind: str, obj_id: str) -> Obj | None:
        """One object by id, or None."""
        return self.objects[kind].get(obj_id)

    def all(self, kind: str) -> list[Obj]:
        """Every object of a kind, oldest first."""
        return list(self.objects[kind].values())

    def contact_by(self, email: str) -> Obj | None:
        """The contact with this e-mail (case-insensitive), or None."""
        cid = self.contact_by_email.get(email.lower())
        return self.objects["contacts"][cid] if cid else None

    def user_by(self, email: str) -> Obj | None:
        """The organisation user with this e-mail (case-insensitive), or None."""
        uid = self.user_by_email.get(email.lower())
        return self.objects["users"][uid] if uid else None

    def account_by_domain(self, domain: str) -> Obj | None:
        """The oldest account with exactly this domain (case-insensitive), or None."""
        ids = self.accounts_by_domain.get(domain.lower())
        return self.objects["accounts"][ids[0]] if ids else None

    def account_by_name(self, name: str) -> Obj | None:
        """The oldest account with exactly this name (case-insensitive, trimmed), or None."""
        ids = self.accounts_by_name.get(name.strip().lower())
        return self.objects["accounts"][ids[0]] if ids else None

    def dump(self) -> dict[str, list[Obj]]:
        """Every stored object, by kind."""
        return {k: list(v.values()) for k, v in self.objects.items() if k != "meta"}


def _discard(index: dict[str, list[str]], key: str, obj_id: str) -> None:
    ids = index.get(key)
    if ids and obj_id in ids:
        ids.remove(obj_id)
        if not ids:
            del index[key]
