"""Finding accounts and opportunities that already exist: the exact-match searches and the
account lookup the create-or-update targets share (each distinct value asked once per run)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from syncer.errors import Retryable, RowRejected
from syncer.targets.base import RowContext

if TYPE_CHECKING:  # pure expression methods: polars is not loaded here
    import polars as pl

__all__ = [
    "ACCOUNTS",
    "NAMES",
    "differs",
    "domain_expr",
    "exact_accounts",
    "exact_opportunities",
    "ids_of",
    "name_key",
    "normal_domain",
    "pick",
    "resolve_account",
    "search_pages",
]

#: the accounts target's name (its ledger rows are what account lookups read first)
ACCOUNTS = "accounts"
#: where the ledger keeps account names (key: :func:`name_key`) for ``account: {name: ...}``:
#: apart from the accounts' own keys, so a name never owns an id the domain key holds
NAMES = "accounts:name"
_PAGE = 100
_SCHEME = r"^[a-z][a-z0-9+.\-]*://"


def domain_expr(value: pl.Expr) -> pl.Expr:
    """A web domain's normal form: lowercased, no scheme, no ``www.``, no port or path, no
    trailing dot (``https://WWW.Acme.com/about`` -> ``acme.com``)."""
    return (
        value.str.strip_chars()
        .str.to_lowercase()
        .str.replace(_SCHEME, "")
        .str.replace(r"^[^/@]*@", "")  # user@ in a URL
        .str.replace(r"^www\d*\.", "")
        .str.replace(r"[/?#:].*$", "")
        .str.strip_chars(".")
    )


def normal_domain(text: str) -> str:
    """:func:`domain_expr` for one value (what an answer's ``domain_name`` is compared as)."""
    d = text.strip().lower()
    d = re.sub(_SCHEME, "", d)
    d = re.sub(r"^[^/@]*@", "", d)
    d = re.sub(r"^www\d*\.", "", d)
    d = re.sub(r"[/?#:].*$", "", d)
    return d.strip(".")


def name_key(name: str) -> str:
    """The ledger key (of :data:`NAMES`) under which an account's name is remembered."""
    return " ".join(name.split()).casefold()


async def search_pages(ctx: RowContext, path: str, body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every item of a paged search (``limit``/``offset``), a read, safe to repeat."""
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = await ctx.request(
            "POST", path, json={**body, "limit": _PAGE, "offset": offset}, idempotent=True
        )
        items = page if isinstance(page, list) else (page or {}).get("data") or []
        out += [i for i in items if isinstance(i, dict)]
        if len(items) < _PAGE:
            return out
        offset += _PAGE


async def exact_accounts(ctx: RowContext, domain: str) -> list[dict[str, Any]]:
    """The accounts whose domain is exactly ``domain`` (``accounts/search`` matches any
    domain *containing* it: ``acme.com`` also finds ``notacme.com`` and ``acme.com.au``)."""
    hits = await search_pages(ctx, "accounts/search", {"domain_name": domain})
    return [a for a in hits if normal_domain(str(a.get("domain_name") or "")) == domain]


async def exact_opportunities(ctx: RowContext, name: str, account_id: str) -> list[dict[str, Any]]:
    """The opportunities on ``account_id`` named exactly ``name`` (any case)."""
    hits = await search_pages(
        ctx, "opportunities/search", {"display_name": name, "account_id": account_id}
    )
    wanted = name.strip().casefold()
    return [
        o
        for o in hits
        if str(o.get("display_name") or "").strip().casefold() == wanted
        and str(o.get("account_id") or account_id) == account_id
    ]


def ids_of(found: list[dict[str, Any]]) -> list[str]:
    """The ids of objects a search found."""
    return [str(o["id"]) for o in found if o.get("id") is not None]


def pick(
    ctx: RowContext,
    found: list[dict[str, Any]],
    id_name: str,
    what: str,
    *,
    first: bool = False,
) -> dict[str, Any] | None:
    """The one object a search found that no other key owns: None when there is none;
    several fail the row (``ambiguous_match``, the candidates named) unless ``first``."""
    free = [o for o in found if o.get("id") is not None and not ctx.taken(id_name, str(o["id"]))]
    if len(free) > 1 and not first:
        shown = ids_of(free)
        raise RowRejected(
            f"{len(free)} {what} match: {', '.join(shown[:10])}"
            f"{' ...' if len(free) > 10 else ''}. Merge them in Reevo, or give the key column, "
            "or set on_ambiguous: first to take the first",
            status=409,
            code="ambiguous_match",
        )
    return free[0] if free else None


def differs(existing: Mapping[str, Any], field: str, value: Any) -> bool:
    """Whether ``value`` (as the row would send it) differs from what Reevo holds in
    ``existing`` (a search's answer): an object adopted is PATCHed only where it differs.
    A field the answer lacks counts as different; custom fields compare the ones sent."""
    if field not in existing:
        return True
    have = existing[field]
    if field == "custom_fields" and isinstance(value, Mapping):
        held = have if isinstance(have, Mapping) else {}
        return any(k not in held or bool(held[k] != v) for k, v in value.items())
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, str) and isinstance(have, str) and "@" in value:
            return value.casefold() != have.casefold()  # e-mail addresses: any case
        if isinstance(value, str) and isinstance(have, str) and value.endswith(("Z", ":00")):
            return bool(_instant(value) != _instant(have))
        return bool(have != value)
    try:
        return abs(float(have) - float(value)) > 1e-9
    except (TypeError, ValueError):
        return True


def _instant(text: str) -> Any:
    """A timestamp as an instant (so ``Z`` and ``+00:00`` compare equal), else the text."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return text


async def resolve_account(
    ctx: RowContext, ref: Mapping[str, str], *, create: bool, remembered: bool = True
) -> str:
    """The id of the account ``ref`` (``{"domain": d}`` or ``{"name": n}``) names: the
    ledger (what an accounts import created; not with ``remembered=False``, when that id
    proved gone), else Reevo (exact domain, once per run per value); none is a row failure
    ``missing_account`` unless ``create`` (created once)."""
    if "domain" in ref:
        domain = ref["domain"]
        known = ctx.known_ids(ACCOUNTS, domain).get("account_id") if remembered else None
        if known:
            return known

        async def by_domain() -> list[str]:
            return ids_of(await exact_accounts(ctx, domain))

        found: list[str] = await ctx.once(("account", "domain", domain), by_domain)
        if len(found) > 1:
            raise RowRejected(
                f"account domain {domain!r} matches {len(found)} accounts in Reevo: "
                f"{', '.join(found[:10])}; merge them, or give account_id",
                status=409,
                code="ambiguous_match",
            )
        if found:
            return found[0]
        what, body = f"domain {domain!r}", {"name": domain, "domain_name": domain}
        store, key = ACCOUNTS, domain
    else:
        name = ref["name"]
        store, key = NAMES, name_key(name)
        alias = ctx.known_ids(NAMES, key)
        if alias.get("ambiguous"):
            raise RowRejected(
                f"account name {name!r} is the name of several accounts syncer imported "
                f"({alias['ambiguous'].replace(',', ', ')}); look the account up by "
                "domain, or give account_id",
                status=409,
                code="ambiguous_match",
            )
        if alias.get("account_id") and remembered:
            return alias["account_id"]
        what, body = f"name {name!r}", {"name": name}
    if not create:
        how = (
            ""
            if "domain" in ref
            else " (Reevo cannot search accounts by name: a name finds the accounts syncer "
            "imported or created; look them up by domain where the file has one)"
        )
        raise RowRejected(
            f"no account with {what} in Reevo{how}. Import the account first, or set "
            "on_missing_account: create",
            status=404,
            code="missing_account",
        )

    async def make() -> str | None:
        """The new account's id; None when the create failed in a way that may have been
        applied and no single exact match shows it was (then no row creates it again)."""
        try:
            data = await ctx.request("POST", ACCOUNTS, json=body, idempotent=False)
        except Retryable:
            found = await exact_accounts(ctx, body["domain_name"]) if "domain" in ref else []
            if len(found) != 1:
                return None
            new = ids_of(found)[0]
        else:
            new = str((data or {}).get("id") or "")
            if not new:
                raise RowRejected("Reevo created the account but gave no id", status=502)
        ctx.remember_other(store, key, {"account_id": new})
        ctx.warn("account_created", f"created account {what} (on_missing_account: create)")
        return new

    created: str | None = await ctx.once(("account", "create", key), make)
    if created is None:
        raise RowRejected(
            f"creating the missing account {what} failed in a way that may have been applied "
            "(a timeout, a reset or a 5xx), and Reevo cannot show whether it was"
            f"{'' if 'domain' in ref else ' (accounts cannot be searched by name)'}: "
            "check Reevo for it before running again (import it with an accounts mapping, "
            "or give account_id)",
            status=502,
            code="reevo_ambiguous",
        )
    return created
