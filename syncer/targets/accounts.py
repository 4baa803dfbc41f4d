"""``accounts``: create or update an account, keyed by its domain (Reevo endpoints 2, 3, 5).

Reevo has no upsert for accounts: syncer makes one on the client. The key is the normalised
domain (``domain_name``, else ``official_website``'s) or an external-id column
(``key: {column: ...}``). A key the ledger knows is PATCHed (only the fields that changed);
an unknown one is searched (``accounts/search``, a *contains* match of which only exact domains
count): none -> POST, one -> PATCH it and remember it, several -> ``ambiguous_match`` (or the
first, ``on_ambiguous: first``). After a create that may have been applied (a timeout, a reset,
a 5xx) the domain is searched before anything is created again.
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
    Target,
    field_digests,
)
from syncer.targets.lookups import (
    NAMES,
    differs,
    domain_expr,
    exact_accounts,
    name_key,
    normal_domain,
    pick,
)

if TYPE_CHECKING:
    import polars as pl

__all__ = ["TARGET"]

_K = FieldKind
FIELDS = {
    "name": _K.TEXT,
    "domain_name": _K.DOMAIN,
    "official_website": _K.URL,
    "owner_email": _K.OWNER_EMAIL,
    "linkedin_url": _K.URL,
    "facebook_url": _K.URL,
    "zoominfo_url": _K.URL,
    "x_url": _K.URL,
}
#: what PATCH accounts/{id} takes (not domain_name: an account's domain cannot be changed)
PATCHABLE = frozenset(FIELDS) - {"domain_name"} | {"custom_fields"}
IDS = (IdColumn("account_id", "reevo_account_id", key="id", nested="account"),)


def key_of(values: Mapping[str, pl.Expr]) -> pl.Expr:
    """The domain of ``domain_name``, else of ``official_website``."""
    found = [domain_expr(values[f]) for f in ("domain_name", "official_website") if f in values]
    if not found:
        raise ValueError("accounts: map domain_name or official_website, or give key: {column:}")
    key = found[0]
    for other in found[1:]:
        key = key.fill_null(other)
    return key.replace("", None)


def _domain(row: Row) -> str | None:
    """The row's normalised domain, when it has one (the key may be an external id)."""
    for f in ("domain_name", "official_website"):
        value = row.body.get(f)
        if isinstance(value, str) and normal_domain(value):
            return normal_domain(value)
    return None


async def _find(ctx: RowContext, row: Row) -> dict[str, Any] | None:
    """The one account of the row's domain no other key owns (None: none, or no domain)."""
    domain = _domain(row)
    if domain is None:
        return None
    first = ctx.options.get("on_ambiguous") == "first"
    return pick(ctx, await exact_accounts(ctx, domain), "account_id", "accounts", first=first)


async def push(ctx: RowContext, row: Row) -> None:
    """PATCH the known or found account (changed fields only), else POST a new one."""
    known = row.known.get("account_id")
    if known:
        try:
            await _update(ctx, row, known)
            return
        except RowRejected as exc:
            if exc.status != 404:
                raise
            ctx.warn(
                "account_gone",
                f"account {known} that this key was imported as is no longer in Reevo "
                "(deleted or merged): looked up again",
            )
            row = replace(row, known={})
    found = await _find(ctx, row)
    if found is not None:
        await _update(ctx, replace(row, known={}), str(found["id"]), found)
        return
    try:
        data = await ctx.request("POST", "accounts", json=row.body, idempotent=False)
    except Retryable:
        adopted = await _find(ctx, row)  # it may have been created: adopt it
        if adopted is None:
            raise
        await _update(ctx, row, str(adopted["id"]), adopted)
        return
    ids = TARGET.ids_in(data)
    ctx.remember(ids)
    if "account_id" in ids:
        remember_name(ctx, row, ids["account_id"])
    ctx.remember(field_digests(row.body))


async def _update(
    ctx: RowContext, row: Row, account_id: str, found: Mapping[str, Any] | None = None
) -> None:
    """Remember ``account_id`` for the row and PATCH the fields that changed since the last
    accepted body; for an account a search ``found``, the fields that differ from it."""
    body = row.body
    ctx.remember({"account_id": account_id})
    remember_name(ctx, row, account_id)
    changed = row.changed()
    if found is not None:
        changed = [k for k in changed if differs(found, k, body[k])]
    patch = {k: body[k] for k in changed if k in PATCHABLE}
    if "domain_name" in changed and row.known.get("f:domain_name"):
        ctx.warn(
            "domain_not_updated",
            f"domain_name {body['domain_name']!r} is not sent: Reevo's API cannot change an "
            "account's domain (change it in Reevo)",
        )
    if patch:
        await ctx.request("PATCH", f"accounts/{account_id}", json=patch, idempotent=True)
    ctx.remember(field_digests(body))


def remember_name(ctx: RowContext, row: Row, account_id: str) -> None:
    """Let ``account: {name: ...}`` lookups find this account: the ledger keeps its name
    (under :data:`~syncer.targets.lookups.NAMES`); two accounts of one name make the name
    ambiguous."""
    name = row.body.get("name")
    if not isinstance(name, str) or not name.strip():
        return
    key = name_key(name)
    known = ctx.known_ids(NAMES, key).get("account_id")
    if known and known != account_id:
        ctx.remember_other(NAMES, key, {"account_id": "", "ambiguous": f"{known},{account_id}"})
    elif not known:
        ctx.remember_other(NAMES, key, {"account_id": account_id})


TARGET = Target(
    name="accounts",
    summary="creates or updates an account, keyed by its domain",
    fields=FIELDS,
    required=("name",),
    key_field="domain_name",
    key_label="domain",
    custom=(
        CustomSection(
            "custom_fields",
            "custom_fields",
            "account",
            "Account custom field API name (cus_field__...) or UUID: source.",
        ),
    ),
    endpoint=("POST", "accounts"),
    idempotent=False,
    write_permissions=("Accounts Write",),
    read_permissions=("Accounts Read",),
    id_columns=IDS,
    # empty bodies: Reevo checks the key and the permission, then refuses them (422)
    probes=(Probe("POST", "accounts"), Probe("POST", "accounts/search")),
    push=push,
    read_back=ReadBack("account_id", "accounts/{id}", "accounts", "Accounts Read"),
    key_of=key_of,
    key_missing="no domain: map domain_name or official_website (or give key: {column: ...})",
    key_names=("domain",),
    external_key=True,
    options={"on_ambiguous": ("fail", "first")},
    endpoints=(("POST", "accounts"), ("PATCH", "accounts/{account_id}")),
    reads=(("POST", "accounts/search"),),
)
