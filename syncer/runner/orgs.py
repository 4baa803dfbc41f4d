"""Which ledger org a run belongs to, and keeping history across key rotations.

An org is named by ``--org`` or by the base URL plus a one-way fingerprint of the key. When a
key is new to the ledger while the ledger already knows an org at the same base URL, syncer reads
back a few ids it remembers for that org, as the targets say (their ``read_back``; for
account_contact ``GET contacts/{id}``, read permission only): if the new key sees them, it is the
same org, and the new key's fingerprint is linked to it so its history (change detection,
resume) carries on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from syncer.errors import ReevoError, RowRejected, RunAborted
from syncer.ledger import Ledger
from syncer.reevo.client import ReevoClient
from syncer.targets import every
from syncer.targets.base import ReadBack

#: known orgs checked at most, and ids read back per org
MAX_CANDIDATES = 3
SAMPLE = 3


@dataclass
class OrgChoice:
    """The org a run records under, and what to tell the user about it."""

    org: str
    notes: list[str] = field(default_factory=list)


async def resolve_org(
    client: ReevoClient | None, ledger: Ledger | None, org: str, *, explicit: bool
) -> OrgChoice:
    """``org`` itself, the org it was linked to earlier, or the known org a rotated key
    belongs to (checked by reading back ids remembered for it with ``client``)."""
    if explicit or ledger is None:
        return OrgChoice(org)
    linked = ledger.canonical_org(org)
    if linked != org or ledger.knows_org(org) or client is None:
        return OrgChoice(linked)
    base = org.split("#", 1)[0]
    notes: list[str] = []
    read_backs = list(dict.fromkeys(t.read_back for t in every() if t.read_back is not None))
    names = [rb.id_name for rb in read_backs]
    for known in [o for o in ledger.orgs_at(base, names) if o != org][:MAX_CANDIDATES]:
        rb, ids = _sample(ledger, known, read_backs)
        try:
            seen = await _sees_all(client, rb, ids)
        except RunAborted as exc:
            if exc.reason != "permission":
                return OrgChoice(org)  # bad or expired key: the preflight says so
            notes.append(
                f"this API key is new to the ledger and cannot read {rb.what}, so syncer could "
                "not tell whether it belongs to the org the ledger already knows at this URL; "
                "it is treated as a new org. If it is the same org, name it with --org NAME "
                "on every run so unchanged rows are not sent again"
            )
            return OrgChoice(org, notes)
        except ReevoError:
            continue  # not answerable now: treat as not the same org
        if seen:
            ledger.link_org(org, known)
            notes.append(
                f"this API key is new to the ledger; it reads back {len(ids)} {rb.what} the "
                "ledger remembers for this Reevo org, so it is the same org (a rotated key): "
                "its history is kept and unchanged rows are not sent again"
            )
            return OrgChoice(known, notes)
    return OrgChoice(org, notes)


def _sample(ledger: Ledger, org: str, read_backs: list[ReadBack]) -> tuple[ReadBack, list[str]]:
    """A few ids remembered for ``org``, of the first kind it has (by target order), and how
    to read them back."""
    for rb in read_backs:
        ids = ledger.sample_ids(org, rb.id_name, SAMPLE)
        if ids:
            return rb, ids
    return read_backs[0], []


async def _sees_all(client: ReevoClient, rb: ReadBack, ids: list[str]) -> bool:
    """True when the client can read every id as ``rb`` says; False at the first 404."""
    if not ids:
        return False
    for id_ in ids:
        try:
            await client.request("GET", rb.path_for(id_))
        except RowRejected:
            return False
    return True
