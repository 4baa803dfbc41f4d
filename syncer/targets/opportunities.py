"""``opportunities``: create or update a deal on its account, and move it to its stage
(Reevo endpoints 7, 8, 10, 11).

The account comes from ``account_id`` or an ``account:`` lookup (``{domain: ...}`` or
``{name: ...}``: the ledger first, then Reevo, each distinct value once per run). The deal is
found by the ledger, else by ``opportunities/search`` (its exact name on that account, not
owned by another key); it is created with POST (then PATCHed with what POST does not take),
updated with PATCH (only the fields that changed) and moved with ``shift_stage`` when its stage
differs. A closed stage without reasons never reaches Reevo (``missing_closed_reason``, a row
check); a deal created or updated whose stage move failed is ``stage_not_set``, its id is
remembered and a re-run only retries the move.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from syncer.errors import Retryable, RowRejected
from syncer.targets.base import (
    CustomSection,
    FieldKind,
    IdColumn,
    Probe,
    ReadBack,
    Row,
    RowContext,
    SideWrite,
    Target,
    digest,
    field_digests,
)
from syncer.targets.lookups import differs, exact_opportunities, pick, resolve_account

if TYPE_CHECKING:
    import polars as pl

__all__ = ["STAGE_FIELDS", "TARGET"]

_K = FieldKind
FIELDS = {
    "display_name": _K.TEXT,
    "account": _K.LOOKUP,
    "account_id": _K.TEXT,
    "owner_email": _K.OWNER_EMAIL,
    "primary_contact_email": _K.CONTACT_EMAIL,
    "additional_contact_emails": _K.CONTACT_EMAILS,
    "amount": _K.DECIMAL,
    "pipeline_name": _K.TEXT,
    "stage": _K.TEXT,
    "closed_reasons": _K.TEXT_LIST,
    "closed_reason_custom_detail": _K.TEXT,
    "next_step_details": _K.TEXT,
    "next_step_due_at": _K.DATETIME,
}
#: the mapping's stage fields -> their names in a shift_stage request
STAGE_FIELDS = {
    "stage": "target_stage_name",
    "closed_reasons": "closed_reason_names",
    "closed_reason_custom_detail": "closed_reason_custom_detail",
}
CREATE = frozenset(
    {
        "display_name",
        "account_id",
        "owner_email",
        "primary_contact_email",
        "amount",
        "pipeline_name",
        "custom_fields",
    }
)
PATCHABLE = frozenset(
    {
        "display_name",
        "account_id",
        "owner_email",
        "primary_contact_email",
        "additional_contact_emails",
        "amount",
        "next_step_details",
        "next_step_due_at",
        "custom_fields",
    }
)
IDS = (
    IdColumn("opportunity_id", "reevo_opportunity_id", key="id", nested="opportunity"),
    IdColumn("account_id", "reevo_account_id", key="account_id"),
)
_STAGE = "f:stage"  # the digest of the last stage move that succeeded


def key_of(values: Mapping[str, pl.Expr]) -> pl.Expr:
    """The lowercased name and the account it is on: its id, or the lookup's
    ``domain:acme.com`` / ``name:acme inc`` (how the pipeline gives a LOOKUP field here)."""
    if "display_name" not in values:
        raise ValueError("opportunities: map display_name, or give key: {column: ...}")
    name = values["display_name"].str.to_lowercase()
    if "account_id" in values and "account" in values:
        parent = values["account_id"].str.to_lowercase().fill_null(values["account"])
    elif "account_id" in values:
        parent = values["account_id"].str.to_lowercase()
    elif "account" in values:
        parent = values["account"]
    else:
        raise ValueError("opportunities: map account or account_id")
    return name + "\x1f" + parent


async def push(ctx: RowContext, row: Row) -> None:
    """Find or create the deal on its account, PATCH what changed, move it to its stage.

    A 404 on the way is checked (one GET): an account the ledger remembered that Reevo no
    longer has (deleted, merged) is looked up again; so is a deal."""
    body = dict(row.body)
    ref = body.pop("account", None) or {}
    stage = {STAGE_FIELDS[f]: body.pop(f) for f in list(body) if f in STAGE_FIELDS}
    given = "account_id" in body
    create = ctx.options.get("on_missing_account") == "create"
    if not given:
        body["account_id"] = await resolve_account(ctx, ref, create=create)
    ctx.remember({"account_id": str(body["account_id"])})
    try:
        await _upsert(ctx, row, body, stage)
    except RowRejected as exc:
        gone = str(body["account_id"])
        if exc.status != 404 or given or await _exists(ctx, f"accounts/{gone}"):
            raise
        body["account_id"] = await resolve_account(ctx, ref, create=create, remembered=False)
        ctx.warn(
            "account_gone",
            f"account {gone} remembered for this deal's company is no longer in Reevo "
            f"(deleted or merged): found {body['account_id']} instead",
        )
        ctx.remember({"account_id": str(body["account_id"])})
        await _upsert(ctx, row, body, stage)


async def _exists(ctx: RowContext, path: str) -> bool:
    """Whether Reevo still has the object at ``path`` (a GET; 404: no)."""
    try:
        await ctx.request("GET", path, idempotent=True)
    except RowRejected as exc:
        if exc.status == 404:
            return False
        raise
    return True


async def _upsert(ctx: RowContext, row: Row, body: dict[str, Any], stage: dict[str, Any]) -> None:
    """The deal the ledger remembers (PATCH the changed fields, move), else the one found on
    the account, else a new one."""
    opp_id = row.known.get("opportunity_id")
    if opp_id is not None:
        changed = row.changed(body)
        pending = {k: body[k] for k in changed if k in PATCHABLE}
        if "pipeline_name" in changed and row.known.get("f:pipeline_name"):
            ctx.warn(
                "pipeline_not_updated",
                f"pipeline_name {body['pipeline_name']!r} is not sent: Reevo's API cannot move "
                "a deal to another pipeline (move it in Reevo)",
            )
        try:
            await _save(ctx, opp_id, pending, body)
            await _move(ctx, row, opp_id, stage, None)
            return
        except RowRejected as exc:
            if exc.status != 404 or await _exists(ctx, f"opportunities/{opp_id}"):
                raise
        ctx.warn(
            "opportunity_gone",
            f"opportunity {opp_id} that this key was imported as is no longer in Reevo "
            "(deleted or merged): looked up again",
        )
        row = replace(row, known={})
    # a deal found on the account (or made now) is PATCHed only where it differs from Reevo's
    found = await _find(ctx, body) or await _create(ctx, body)
    opp_id = str(found["id"])
    pending = {k: v for k, v in body.items() if k in PATCHABLE and differs(found, k, v)}
    await _save(ctx, opp_id, pending, body)
    at_stage = found.get("stage_name")
    await _move(ctx, row, opp_id, stage, str(at_stage) if at_stage else None)


async def _save(
    ctx: RowContext, opp_id: str, pending: Mapping[str, Any], body: Mapping[str, Any]
) -> None:
    """Remember the deal's id, PATCH ``pending`` (when any), remember the body's fields."""
    ctx.remember({"opportunity_id": opp_id})
    if pending:
        await ctx.request("PATCH", f"opportunities/{opp_id}", json=pending, idempotent=True)
    ctx.remember(field_digests(body))


async def _find(ctx: RowContext, body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The one deal of that name on that account no other key owns (None: none)."""
    name, account_id = str(body["display_name"]), str(body["account_id"])
    found = await exact_opportunities(ctx, name, account_id)
    return pick(ctx, found, "opportunity_id", f"opportunities named {name!r} on the account")


async def _create(ctx: RowContext, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST the deal and return it as Reevo answered; after a failure that may have been
    applied, the one it made (found by the same search), else the failure."""
    create = {k: v for k, v in body.items() if k in CREATE}
    try:
        data = await ctx.request("POST", "opportunities", json=create, idempotent=False)
    except Retryable:
        found = await _find(ctx, body)
        if found is None:
            raise
        return found
    ids = TARGET.ids_in(data)
    if "opportunity_id" not in ids:
        raise RowRejected("Reevo created the opportunity but gave no id", status=502)
    answer = data if isinstance(data, dict) and "id" in data else {}
    return {**answer, "id": ids["opportunity_id"]}


async def _move(
    ctx: RowContext, row: Row, opp_id: str, stage: dict[str, Any], at_stage: str | None
) -> None:
    """shift_stage when the row's stage (with its reasons) differs from where the deal is."""
    target = stage.get("target_stage_name")
    if not target:
        return
    wanted = digest(stage)
    if at_stage is not None and at_stage.casefold() == str(target).casefold():
        ctx.remember({_STAGE: wanted})
        return
    if at_stage is None and not row.full and row.known.get(_STAGE) == wanted:
        return
    try:
        await ctx.request(
            "POST", f"opportunities/{opp_id}/shift_stage", json=stage, idempotent=True
        )
    except RowRejected as exc:
        raise RowRejected(
            f"stage not set: the opportunity was saved but moving it to {target!r} failed: "
            f"{exc.message}. Fix the stage: entry (values:) or the stage in Reevo; a re-run "
            "only retries the move",
            status=exc.status,
            detail=exc.detail,
            code="stage_not_set",
        ) from exc
    ctx.remember({_STAGE: wanted})


TARGET = Target(
    name="opportunities",
    summary="creates or updates a deal on its account and moves it to its stage",
    fields=FIELDS,
    required=("display_name",),
    key_field="display_name",
    key_label="deal",
    custom=(
        CustomSection(
            "custom_fields",
            "custom_fields",
            "opportunity",
            "Opportunity custom field API name (cus_field__...) or UUID: source.",
        ),
    ),
    endpoint=("POST", "opportunities"),
    idempotent=False,
    write_permissions=("Opportunities Write",),
    read_permissions=("Accounts Read", "Opportunities Read"),
    id_columns=IDS,
    probes=(
        Probe("POST", "opportunities"),
        Probe("POST", "accounts/search", when="account"),
        Probe("POST", "accounts", when="on_missing_account=create"),
    ),
    push=push,
    read_back=ReadBack(
        "opportunity_id", "opportunities/{id}", "opportunities", "Opportunities Read"
    ),
    key_of=key_of,
    key_missing="no deal name and account to key it by (or give key: {column: ...})",
    key_text="display_name + account (default)",
    external_key=True,
    lookups={"account": ("domain", "name")},
    one_of=((("account", "account_id"), "missing_account"),),
    options={"on_missing_account": ("fail", "create")},
    reads=(
        ("POST", "accounts/search"),
        ("POST", "opportunities/search"),
        ("GET", "accounts/{account_id}"),
        ("GET", "opportunities/{opportunity_id}"),
    ),
    side_writes=(
        SideWrite("POST", "accounts", "Accounts Write", when="on_missing_account=create"),
    ),
    endpoints=(
        ("POST", "opportunities"),
        ("PATCH", "opportunities/{opportunity_id}"),
        ("POST", "opportunities/{opportunity_id}/shift_stage"),
    ),
    wire={
        "account": None,
        "stage": "target_stage_name",
        "closed_reasons": "closed_reason_names",
    },
)
