"""Checks before any row is sent, and what a circuit-breaker stop points at in the mapping.

Preflight looks every distinct owner e-mail of the ready rows up once (users/search, paced);
an owner who is not a user of the org is handled as the mapping's ``owners: {unknown: ...}``
says: ``abort`` stops the run before any row is sent, ``invalid`` makes the rows that name it
``invalid`` (code ``unknown_owner``) and ``omit`` sends them without that owner field, with an
``unknown_owner`` row warning (:func:`screen_owners`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from syncer.errors import Retryable, RowRejected, RunAborted
from syncer.ledger import body_hash
from syncer.mapping import (
    FIELD_SECTIONS,
    FieldKind,
    FieldSpec,
    Mapping,
    load_mapping,
)
from syncer.models import RowOutcome, RowStatus, RowWarning
from syncer.owners import UnknownPolicy
from syncer.push import Item, PushSettings, make_client, run_async
from syncer.reevo.client import ReevoClient
from syncer.reevo.pacing import PacingClosed, RateController
from syncer.runner.plan import Plan
from syncer.runner.prepared import Prepared, prepare
from syncer.runner.settings import Settings, api_key_of, base_url_of
from syncer.targets import TARGETS
from syncer.targets.base import Probe
from syncer.transform import MappedField

#: owner e-mails looked up at the same time (after the first, alone; each waits for the pacer)
OWNER_LOOKUPS_AT_ONCE = 4
#: attempts of the preflight probe when Reevo answers 5xx/429 or does not answer
PREFLIGHT_ATTEMPTS = 3


@dataclass
class PreflightResult:
    """What preflight checked: requests it made, and checks it could not make."""

    requests: int = 0
    notes: list[str] = field(default_factory=list)
    key_checked: bool = True  # False: Reevo could not be reached to check the key
    #: owner e-mails (lower case) that are not users of the org, with the field naming each
    unknown: dict[str, MappedField] = field(default_factory=dict)


async def preflight(
    client: ReevoClient,
    target: str,
    owners: dict[str, MappedField],
    *,
    policy: UnknownPolicy = "abort",
    push: PushSettings | None = None,
    mapping: Mapping | None = None,
) -> PreflightResult:
    """Before any row is sent: the key is accepted and not expired, it may write ``target``
    (and read what its lookups read), and every owner e-mail in ``owners`` is a user of the
    org (when the key may read users). ``mapping``: which of the target's conditional probes
    apply (a lookup field mapped, an option given); None: all of them.

    The target's permission probes (an empty body to the endpoint it writes, for
    account_contact) are bodies Reevo must refuse as invalid (422) after checking the key and
    its permissions: nothing is written. Each owner e-mail is looked up
    once, paced as ``push`` says (the first alone: a key that may not read users costs one
    lookup). Raises RunAborted saying what to fix (owners that are not users only with
    ``policy="abort"``); returns the requests made, notes about checks it could not make and
    the unknown owners.
    """
    result = PreflightResult()
    mapped = set(mapping.columns) if mapping is not None else None
    options = mapping.target_options() if mapping is not None else {}
    for probe in TARGETS[target].probes:
        if mapped is not None and not probe.needed(mapped, options):
            continue
        if not await _probe(client, probe, result):
            return result
    if not owners:
        return result
    lookup = _OwnerLookup(client, push or PushSettings(), result)
    try:
        answers = await lookup.run(list(owners))
    except _NoUsersPermission:
        result.notes.append(
            "owner e-mails were not checked: the key may not read Users (rows are sent with "
            "their owners as they are)"
        )
        return result
    unchecked = sorted(e for e, known in answers.items() if known is None)
    if unchecked:
        result.notes.append(
            f"{len(unchecked)} owner e-mail(s) could not be checked ({_shown(unchecked)}): their "
            "rows are sent and Reevo decides"
        )
    missing = {e: owners[e] for e, known in sorted(answers.items()) if known is False}
    result.unknown = missing
    if not missing:
        return result
    where = "; ".join(
        sorted({f"{f.section}.{f.name} (column {f.label}{_line(f)})" for f in missing.values()})
    )
    if policy == "abort":
        raise RunAborted(
            f"preflight failed, no row was sent: {len(missing)} owner e-mail(s) are not users "
            f"of this Reevo org: {_shown(list(missing))}. Add them as users in Reevo, or fix "
            f"{where} in the file or the mapping, then re-run.",
            reason="unknown_owner",
        )
    what = (
        "their rows are invalid (unknown_owner) and not sent: add the owners as users in "
        "Reevo, or fix them in the failures file, and run it again"
        if policy == "invalid"
        else "their rows are sent without that owner (owners: unknown: omit)"
    )
    result.notes.append(
        f"{len(missing)} owner e-mail(s) in {where} are not users of this Reevo org: "
        f"{_shown(list(missing))}; {what}"
    )
    return result


def _shown(emails: list[str]) -> str:
    return ", ".join(emails[:10]) + (f" and {len(emails) - 10} more" if len(emails) > 10 else "")


class _NoUsersPermission(Exception):
    """The key may not read users: owners are not checked."""


class _OwnerLookup:
    """Looks owner e-mails up with users/search, one request each (plus retries of answers
    that ask for it), paced by a rate controller of the run's settings."""

    def __init__(self, client: ReevoClient, push: PushSettings, result: PreflightResult) -> None:
        self.client = client
        self.result = result
        self.pacer = RateController(push.initial_rate, push.max_rate)
        self.at_once = max(1, min(OWNER_LOOKUPS_AT_ONCE, push.concurrency))
        self.answers: dict[str, bool | None] = {}
        self.stop: BaseException | None = None

    async def run(self, emails: list[str]) -> dict[str, bool | None]:
        """email -> True (a user), False (not a user), None (could not be checked).

        Raises _NoUsersPermission, or RunAborted for a key Reevo refuses."""
        await self.one(emails[0])  # alone: a key that may not read users stops here
        queue = iter(emails[1:])
        async with asyncio.TaskGroup() as tg:
            for _ in range(min(self.at_once, len(emails) - 1)):
                tg.create_task(self.worker(queue))
        if self.stop is not None:
            raise self.stop
        return self.answers

    async def worker(self, queue: Iterator[str]) -> None:
        for email in queue:
            if self.stop is not None:
                return
            try:
                await self.one(email)
            except (RunAborted, _NoUsersPermission) as exc:
                self.stop = exc
                self.pacer.close()
            except PacingClosed:
                return

    async def one(self, email: str) -> None:
        for attempt in range(1, PREFLIGHT_ATTEMPTS + 1):
            await self.pacer.acquire()
            self.result.requests += 1
            try:
                found = await self.client.search_users(email)
            except RunAborted as exc:
                if exc.reason == "permission":
                    raise _NoUsersPermission from None
                raise _preflight_failed(exc) from None
            except RowRejected:
                break
            except Retryable as exc:
                if exc.status == 429:
                    self.pacer.on_throttle(exc.retry_after)
                elif attempt < PREFLIGHT_ATTEMPTS:
                    await asyncio.sleep(0.3 * attempt)
                continue
            self.pacer.on_success()
            self.answers[email] = _is_user(found, email)
            return
        self.answers[email] = None


def _is_user(answer: Any, email: str) -> bool:
    """Whether a users/search answer holds the user ``email`` (an answer of another shape
    counts as yes: Reevo then decides about the rows)."""
    users = answer.get("data", answer) if isinstance(answer, dict) else answer
    if not isinstance(users, list):
        return True
    return any(
        isinstance(u, dict) and str(u.get("email", "")).strip().lower() == email for u in users
    )


async def check_mailboxes(
    client: ReevoClient,
    wanted: dict[tuple[str, str], str],
    push: PushSettings,
    result: PreflightResult,
) -> None:
    """Each ``(owner e-mail, mailbox e-mail)`` of ``wanted`` (lowercased; the value says where
    the mailbox comes from, for the message): the mailbox is one of the owner's, as
    ``mailboxes/search`` lists them (one request per distinct owner, paced, retried on
    5xx/429). RunAborted (reason ``unknown_mailbox``) naming every mailbox that is not, before
    anything is written; a key that may not read Mailbox, or an owner Reevo does not answer
    for, is a note in ``result`` (those rows are sent and Reevo decides)."""
    pacer = RateController(push.initial_rate, push.max_rate)
    boxes: dict[str, set[str] | None] = {}
    for owner in sorted({o for o, _ in wanted}):
        boxes[owner] = None
        for attempt in range(1, PREFLIGHT_ATTEMPTS + 1):
            await pacer.acquire()
            result.requests += 1
            try:
                found = await client.search_mailboxes(owner)
            except RunAborted as exc:
                if exc.reason != "permission":
                    raise _preflight_failed(exc) from None
                result.notes.append(
                    "mailbox e-mails were not checked: the key may not read Mailbox (give it "
                    "Mailbox Read to check them before sending)"
                )
                return
            except RowRejected:
                boxes[owner] = set()  # Reevo refuses the owner itself: none of its mailboxes
                break
            except Retryable as exc:
                if exc.status == 429:
                    pacer.on_throttle(exc.retry_after)
                elif attempt < PREFLIGHT_ATTEMPTS:
                    await asyncio.sleep(0.3 * attempt)
                continue
            pacer.on_success()
            items = found.get("data", found) if isinstance(found, dict) else found
            boxes[owner] = {
                str(m.get("email", "")).strip().lower()
                for m in (items if isinstance(items, list) else [])
                if isinstance(m, dict)
            }
            break
    unchecked = sorted(o for o, b in boxes.items() if b is None)
    if unchecked:
        result.notes.append(
            f"the mailboxes of {len(unchecked)} owner(s) could not be checked "
            f"({_shown(unchecked)}): their rows are sent and Reevo decides"
        )
    wrong = [
        f"{box} ({where}) is not a mailbox of {owner}"
        for (owner, box), where in sorted(wanted.items())
        if boxes.get(owner) is not None and box not in (boxes[owner] or set())
    ]
    if wrong:
        raise RunAborted(
            f"preflight failed, nothing was sent: {len(wrong)} mailbox e-mail(s) are not "
            f"mailboxes of the contact's owner in Reevo: {'; '.join(wrong[:10])}"
            f"{' and more' if len(wrong) > 10 else ''}. Fix the mailbox (or the owner) in the "
            "file or the mapping, or leave mailbox_email out to let Reevo pick the owner's "
            "mailbox, then re-run.",
            reason="unknown_mailbox",
        )


def screen_owners(
    plan: Plan, unknown: dict[str, MappedField], items: Iterable[Item]
) -> Iterable[Item]:
    """The rows to send, as the mapping's ``owners: {unknown: invalid | omit}`` says for rows
    whose owner e-mail is in ``unknown``: ``invalid`` records them as invalid
    (``unknown_owner``, naming the e-mail and the field) and leaves them out; ``omit`` sends
    them without that owner field and adds an ``unknown_owner`` row warning. The plan's body
    hashes follow the bodies really sent."""
    if not unknown:
        return items
    prepared = plan.prepared
    ready = prepared.frame.filter(pl.col("status") == RowStatus.READY.value)
    hits: dict[int, list[tuple[MappedField, str]]] = {}
    for f in prepared.fields:
        if f.kind is not FieldKind.OWNER_EMAIL:
            continue
        email = pl.col(f.out).str.strip_chars().str.to_lowercase()
        rows = ready.filter(email.is_in(list(unknown))).select("source_row", email.alias("e"))
        for row, value in rows.iter_rows():
            hits.setdefault(int(row), []).append((f, str(value)))
    if not hits:
        return items
    return _screened(plan, hits, items)


def _screened(
    plan: Plan, hits: dict[int, list[tuple[MappedField, str]]], items: Iterable[Item]
) -> Iterator[Item]:
    omit = plan.prepared.mapping.unknown_owners == "omit"
    for row, key, body in items:
        found = hits.get(row)
        if found is None:
            yield row, key, body
            continue
        said = [f'{f.label} "{email}" ({f.section}.{f.name})' for f, email in found]
        if not omit:
            plan.collected.add(
                RowOutcome(
                    row,
                    RowStatus.INVALID,
                    error=f"{' and '.join(said)}: not a user of this Reevo org. Add them as a user "
                    "in Reevo, or fix the owner, then run the failures file again",
                    code="unknown_owner",
                )
            )
            plan.hashes.pop(row, None)
            plan.to_send -= 1
            if plan.progress is not None:
                plan.progress(1)
            continue
        body = {k: v for k, v in body.items() if k not in {f.name for f, _ in found}}
        if row in plan.hashes:
            plan.hashes[row] = (key, body_hash(body))
        plan.collected.warn(
            row,
            RowWarning(
                "unknown_owner",
                f"{' and '.join(said)}: not a user of this Reevo org, so the row was sent "
                f"without {', '.join(f.name for f, _ in found)} (owners: unknown: omit)",
            ),
        )
        yield row, key, body


def owner_emails(prepared: Prepared) -> dict[str, MappedField]:
    """Distinct owner e-mails (lowercased) the ready rows use, with the field they come from."""
    ready = prepared.frame.filter(pl.col("status") == RowStatus.READY.value)
    wanted: dict[str, MappedField] = {}
    for f in prepared.fields:
        if f.kind is FieldKind.OWNER_EMAIL:
            for value in ready.get_column(f.out).drop_nulls().unique().sort().to_list():
                wanted.setdefault(str(value).strip().lower(), f)
    return wanted


def check_access(
    mapping: Mapping | Path, settings: Settings | None = None, source: Path | None = None
) -> PreflightResult:
    """``syncer check``: preflight a mapping (and optionally a file's owners) without sending.

    Raises RunAborted with what to fix, ConfigError/MappingError/SourceError for bad input.
    """
    settings = settings or Settings()
    prepared: Prepared | None = None
    if source is not None:
        # prepare reads the mapping file itself: its problems and the columns SOURCE lacks
        # are listed in one error
        prepared = prepare(source, mapping)
        mapping = prepared.mapping
        owners = owner_emails(prepared)
    else:
        mapping = mapping if isinstance(mapping, Mapping) else load_mapping(Path(mapping))
        owners = {}
        for name, fs in mapping.columns.items():
            if mapping.spec.fields.get(name) is FieldKind.OWNER_EMAIL and fs.value:
                field_ = MappedField("columns", name, FieldKind.OWNER_EMAIL, fs, None)
                owners.setdefault(fs.value.strip().lower(), field_)
    base_url = base_url_of(settings)
    api_key = api_key_of(settings)

    async def go() -> PreflightResult:
        client = make_client(
            api_key, settings.push, base_url=base_url, transport=settings.transport
        )
        async with client:
            checked = await preflight(
                client,
                mapping.target,
                owners,
                policy=mapping.unknown_owners,
                push=settings.push,
                mapping=mapping,
            )
            if mapping.enroll is not None and checked.key_checked:  # then: enroll's checks
                from syncer.runner.enroll import check_enroll  # it imports this module

                await check_enroll(client, mapping, prepared, settings.push, checked)
            return checked

    result = run_async(go())
    if not result.key_checked:
        raise RunAborted(
            f"{result.notes[-1]}: no usable answer from Reevo at {base_url}. Check --base-url "
            "and the network, then run syncer check again.",
            reason="unreachable",
        )
    return result


async def _probe(client: ReevoClient, probe: Probe, result: PreflightResult) -> bool:
    """Send one permission probe (retried on 5xx/429/no answer); False when Reevo could not
    be asked (a note says so). RunAborted when the key is refused."""
    for attempt in range(1, PREFLIGHT_ATTEMPTS + 1):
        result.requests += 1
        try:
            await client.request(probe.method, probe.path, json=dict(probe.json))
        except RowRejected:
            return True  # 4xx about the body: the key, its expiry and its permissions are fine
        except RunAborted as exc:
            raise _preflight_failed(exc) from None
        except Retryable as exc:
            if attempt < PREFLIGHT_ATTEMPTS:
                await asyncio.sleep(max(exc.retry_after or 0.0, 0.3 * attempt))
                continue
            result.notes.append(f"could not check the key before sending ({exc.detail})")
            result.key_checked = False
            return False
        return True
    return True  # pragma: no cover - the loop always returns


def _preflight_failed(exc: RunAborted) -> RunAborted:
    return RunAborted(
        f"preflight failed, no row was sent: {exc.message}",
        status=exc.status,
        detail=exc.detail,
        reason=exc.reason,
    )


def _line(f: MappedField) -> str:
    return f", mapping line {f.spec.line}" if f.spec.line else ""


def explain_breaker(error: RunAborted, mapping: Mapping) -> RunAborted:
    """Name the mapping entry behind a circuit-breaker stop, when the error mentions one."""
    # Reevo names body fields ("contact_custom_fields.cus_field__Region: ..."): match whole
    # names, so "email" does not point at every field whose name merely contains it
    words = set(re.findall(r"[\w\-]+", (error.detail or error.message).lower()))
    hits: list[str] = []
    wire = mapping.spec.wire  # Reevo may name a field as its request does (target_stage_name)
    for section in FIELD_SECTIONS:
        block: dict[str, FieldSpec] = getattr(mapping, section)
        for name, fs in block.items():
            said = (
                {name.lower(), (wire.get(name) or name).lower()}
                if section == "columns"
                else {name.lower()}
            )
            if said & words:
                line = f" (line {fs.line})" if fs.line else ""
                hits.append(f"{section}.{name}{line}")
    if not hits:
        return error
    where = mapping.path or "the mapping"
    return RunAborted(
        f"{error.message} The error points at {', '.join(hits)} in {where}.",
        status=error.status,
        detail=error.detail,
        reason=error.reason,
    )
