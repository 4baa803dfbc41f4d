"""Which ledger org a run belongs to, and keeping history across key rotations.

An org is named by ``--org`` or by the base URL plus a one-way fingerprint of the key. When a
key is new to the ledger while the ledger already knows an org at the same base URL, syncer reads
back a few contacts it remembers for that org (``GET contacts/{id}``, read permission only): if
the new key sees them, it is the same org, and the new key's fingerprint is linked to it so its
history (change detection, resume) carries on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from syncer.errors import ReevoError, RowRejected, RunAborted
from syncer.ledger import Ledger
from syncer.reevo.client import ReevoClient

#: known orgs checked at most, and contacts read back per org
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
    belongs to (checked by reading back remembered contacts with ``client``)."""
    if explicit or ledger is None:
        return OrgChoice(org)
    linked = ledger.canonical_org(org)
    if linked != org or ledger.knows_org(org) or client is None:
        return OrgChoice(linked)
    base = org.split("#", 1)[0]
    notes: list[str] = []
    for known in [o for o in ledger.orgs_at(base) if o != org][:MAX_CANDIDATES]:
        ids = ledger.sample_contact_ids(known, SAMPLE)
        try:
            seen = await _sees_all(client, ids)
        except RunAborted as exc:
            if exc.reason != "permission":
                return OrgChoice(org)  # bad or expired key: the preflight says so
            notes.append(
                "this API key is new to the ledger and cannot read contacts, so syncer could "
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
                f"this API key is new to the ledger; it reads back {len(ids)} contacts the "
                "ledger remembers for this Reevo org, so it is the same org (a rotated key): "
                "its history is kept and unchanged rows are not sent again"
            )
            return OrgChoice(known, notes)
    return OrgChoice(org, notes)


async def _sees_all(client: ReevoClient, ids: list[str]) -> bool:
    """True when every id is a contact the client can read; False at the first 404."""
    if not ids:
        return False
    for contact_id in ids:
        try:
            await client.get_contact(contact_id)
        except RowRejected:
            return False
    return True
