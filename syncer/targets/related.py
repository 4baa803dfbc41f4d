"""What the create-only targets (``tasks``, ``manual_activities``) share: the contacts and
opportunities a row names, looked up once per distinct value per run, and a default key that
is a stable hash of the fields that tell one row from another.

Contacts are found by e-mail: the ledger first (what an ``account_contact`` import created),
else ``GET account_and_contact_retrieval?contact_email=...`` (404: none). Opportunities are
found by their exact name (``opportunities/search``, a *contains* match of which only exact
names count, on the row's account when it has one): none is ``unknown_opportunity``, several
``ambiguous_match``. Accounts are :func:`syncer.targets.lookups.resolve_account`'s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from syncer.errors import RowRejected
from syncer.targets.base import Row, RowContext, Target
from syncer.targets.lookups import search_pages

if TYPE_CHECKING:  # pure expression methods: polars is not loaded here
    import polars as pl

__all__ = ["CONTACTS", "create_once", "hashed_key", "resolve_contacts", "resolve_opportunity"]

#: the target whose ledger rows (key: the lowercased e-mail) hold contacts' ids
CONTACTS = "account_contact"
#: how many hex digits of the sha256 a hashed key keeps (128 bits)
_DIGITS = 32
#: joins a list's items while they are lowercased (no e-mail or text cell holds it)
_SEP = "\x1e"


def _sha(values: pl.Series) -> pl.Series:
    """Each text's sha256, hex, :data:`_DIGITS` long (nulls stay null)."""
    return values.map_elements(
        lambda v: hashlib.sha256(v.encode()).hexdigest()[:_DIGITS], return_dtype=values.dtype
    )


def hashed_key(
    values: Mapping[str, pl.Expr], names: Sequence[str], *, lists: Sequence[str] = ()
) -> pl.Expr:
    """A key that is the sha256 (hashlib: stable across versions, unlike polars' ``hash``)
    of ``names``' normal values: ``name=value`` joined by ``\x1f``, texts lowercased, each
    list (``lists``) lowercased, sorted and joined by ``;``, an absent or blank one empty.
    Null when the first of ``names`` (a required field) is.

    ValueError (naming what to map) when the first of ``names`` is not mapped. Expression
    methods only: polars is not imported here."""
    if names[0] not in values:
        raise ValueError(f"map {names[0]}, or give key: {{column: ...}}")
    joined = f"{names[0]}=" + values[names[0]].str.to_lowercase()
    for name in names[1:]:
        value = values.get(name)
        joined = joined + f"\x1f{name}="
        if value is None:
            continue
        if name in lists:
            text = value.list.join(_SEP).str.to_lowercase().str.split(_SEP).list.sort()
            value = text.list.join(";")
        else:
            value = value.str.to_lowercase()
        joined = joined + value.fill_null("")
    return joined.map_batches(_sha)


async def resolve_contacts(ctx: RowContext, emails: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the ids of the contacts ``emails`` name, in order, each once; the e-mails no contact
    has). Each e-mail: the ledger's ``account_contact`` row, else Reevo, once per run."""
    ids: list[str] = []
    missing: list[str] = []
    for email in dict.fromkeys(e.strip().lower() for e in emails if e and e.strip()):
        known = ctx.known_ids(CONTACTS, email).get("contact_id")
        found = known or await ctx.once(("contact", "email", email), _by_email(ctx, email))
        if found is None:
            missing.append(email)
        elif found not in ids:
            ids.append(str(found))
    return ids, missing


def _by_email(ctx: RowContext, email: str) -> Any:
    async def look() -> str | None:
        try:
            data = await ctx.request(
                "GET",
                "account_and_contact_retrieval",
                params={"contact_email": email},
                idempotent=True,
            )
        except RowRejected as exc:
            if exc.status == 404:
                return None
            raise
        contacts = (data or {}).get("contacts") if isinstance(data, dict) else None
        for contact in contacts or []:
            if isinstance(contact, dict) and str(contact.get("email", "")).lower() == email:
                return str(contact["id"])
        return None

    return look


async def resolve_opportunity(ctx: RowContext, name: str, account_id: str | None) -> str:
    """The id of the one opportunity named exactly ``name`` (any case), on ``account_id``
    when given: ``unknown_opportunity`` when none, ``ambiguous_match`` when several."""
    wanted = " ".join(name.split()).casefold()

    async def search() -> list[str]:
        body: dict[str, Any] = {"display_name": name.strip()}
        if account_id:
            body["account_id"] = account_id
        hits = await search_pages(ctx, "opportunities/search", body)
        return [
            str(o["id"])
            for o in hits
            if " ".join(str(o.get("display_name") or "").split()).casefold() == wanted
            and o.get("id") is not None
        ]

    found: list[str] = await ctx.once(("opportunity", "name", wanted, account_id or ""), search)
    where = " on the row's account" if account_id else ""
    if not found:
        raise RowRejected(
            f"no opportunity named {name!r}{where} in Reevo. Import the deal first (an "
            "opportunities mapping), or fix the name",
            status=404,
            code="unknown_opportunity",
        )
    if len(found) > 1:
        raise RowRejected(
            f"{len(found)} opportunities are named {name!r}{where}: {', '.join(found[:10])}"
            f"{' ...' if len(found) > 10 else ''}. Rename or merge them in Reevo, give the "
            "row's account, or give pipeline_id",
            status=409,
            code="ambiguous_match",
        )
    return found[0]


async def create_once(
    ctx: RowContext, target: Target, row: Row, body: Mapping[str, Any], what: str
) -> None:
    """POST a create-only row's ``body`` to ``target.endpoint`` (never repeated once Reevo may
    have applied it) and remember the object's own id, with the account it went on: a row
    remembering its own id counts as created. The plan sends no such row again; one that
    reaches here anyway (a caller of push_rows without the plan) is ``cannot_update``, unless
    ``--full``."""
    own = target.id_columns[0].name
    made = row.known.get(own)
    if made and not row.full:
        raise RowRejected(
            f"{what} {made} was created for this key before and Reevo's API cannot update "
            f"{target.name}: change it in Reevo, or pass --full to create another",
            status=409,
            code="cannot_update",
        )
    method, path = target.endpoint
    data = await ctx.request(method, path, json=body, idempotent=False)
    ids = target.ids_in(data)
    if own not in ids:
        raise RowRejected(f"Reevo created the {what} but gave no id", code="reevo_rejected")
    if "account_id" in body:
        ids["account_id"] = str(body["account_id"])
    ctx.remember(ids)
