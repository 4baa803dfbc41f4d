"""``tasks``: create a task (Reevo endpoint 12). Create-only: the API has no update.

The key is ``key: {column: Task ID}``, else a stable hash of the title, owner, due time,
contacts and account (:func:`~syncer.targets.related.hashed_key`): the ledger remembers each
key's task id, so a re-run sends nothing for a task it created (the plan refuses a changed
body: ``cannot_update``). ``status``, ``priority`` and ``type`` are checked against the values
Reevo takes before anything is sent (``invalid_enum``). The account comes from ``account_id``
or an ``account:`` lookup (``{domain: ...}`` or ``{name: ...}``, each distinct value once per
run; none is ``missing_account``); ``opportunity_name`` is sent as written (Reevo matches it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from syncer.targets.base import FieldKind, IdColumn, Probe, Row, RowContext, Target
from syncer.targets.lookups import resolve_account
from syncer.targets.related import create_once, hashed_key

if TYPE_CHECKING:
    import polars as pl

__all__ = ["TARGET"]

_K = FieldKind
FIELDS = {
    "title": _K.TEXT,
    "owner_email": _K.OWNER_EMAIL,
    "status": _K.ENUM,
    "priority": _K.ENUM,
    "type": _K.ENUM,
    "due_at": _K.DATETIME,
    "note": _K.TEXT,
    "contact_emails": _K.CONTACT_EMAILS,
    "account": _K.LOOKUP,
    "account_id": _K.TEXT,
    "opportunity_name": _K.TEXT,
}
ENUMS = {
    "status": ("OPEN", "IN_PROGRESS", "BLOCKED", "COMPLETED", "CLOSED"),
    "priority": ("URGENT", "HIGH", "MEDIUM", "LOW"),
    "type": (
        "ACTION_ITEM",
        "LINKEDIN_MESSAGE",
        "REMINDER",
        "SCHEDULING",
        "EMAIL",
        "VOICE_CALL",
        "LINKEDIN_CONNECT_REQUEST",
        "SMS_MESSAGE",
        "CUSTOM_TASK",
    ),
}
#: what the default key hashes (the account: its id, else the lookup's ``domain:acme.com``)
KEY_FIELDS = ("title", "owner_email", "due_at", "contact_emails", "account")
IDS = (
    IdColumn("task_id", "reevo_task_id", key="id", nested="task"),
    IdColumn("account_id", "reevo_account_id", key="account_id"),
)


def key_of(values: Mapping[str, pl.Expr]) -> pl.Expr:
    """A stable hash of :data:`KEY_FIELDS` (the account given as ``account_id`` or looked up)."""
    values = dict(values)
    if "account" not in values and "account_id" in values:
        values["account"] = values["account_id"].str.to_lowercase()
    elif "account" in values and "account_id" in values:
        values["account"] = values["account_id"].str.to_lowercase().fill_null(values["account"])
    return hashed_key(values, KEY_FIELDS, lists=("contact_emails",))


async def push(ctx: RowContext, row: Row) -> None:
    """Resolve the account (when looked up), then POST the task (the plan never sends a
    task it created again)."""
    body = dict(row.body)
    ref = body.pop("account", None)
    if ref and "account_id" not in body:
        body["account_id"] = await resolve_account(ctx, ref, create=False)
    await create_once(ctx, TARGET, row, body, "task")


TARGET = Target(
    name="tasks",
    summary="creates a task (create-only: a task created before is not sent again)",
    fields=FIELDS,
    required=("title", "owner_email"),
    key_field="title",
    key_label="task",
    custom=(),
    endpoint=("POST", "tasks"),
    idempotent=False,
    write_permissions=("Tasks Write",),
    read_permissions=("Accounts Read",),
    id_columns=IDS,
    probes=(Probe("POST", "tasks"), Probe("POST", "accounts/search", when="account")),
    push=push,
    key_of=key_of,
    key_missing="no title to key the task by (or give key: {column: ...})",
    key_text="a hash of title, owner_email, due_at, contact_emails, account (default)",
    external_key=True,
    lookups={"account": ("domain", "name")},
    updatable=False,
    reads=(("POST", "accounts/search"),),
    wire={"account": None},
    enums=ENUMS,
)
