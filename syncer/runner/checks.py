"""Checks before any row is sent, and what a circuit-breaker stop points at in the mapping."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from syncer.errors import Retryable, RowRejected, RunAborted
from syncer.mapping import (
    FIELD_SECTIONS,
    FieldKind,
    FieldSpec,
    Mapping,
    load_mapping,
)
from syncer.models import RowStatus
from syncer.push import make_client, run_async
from syncer.reevo.client import TARGETS, ReevoClient
from syncer.runner.prepared import Prepared, prepare
from syncer.runner.settings import Settings, api_key_of, base_url_of
from syncer.transform import MappedField

#: how many distinct owner e-mails preflight looks up at most
PREFLIGHT_MAX_OWNERS = 100
#: attempts of the preflight probe when Reevo answers 5xx/429 or does not answer
PREFLIGHT_ATTEMPTS = 3


@dataclass
class PreflightResult:
    """What preflight checked: requests it made, and checks it could not make."""

    requests: int = 0
    notes: list[str] = field(default_factory=list)
    key_checked: bool = True  # False: Reevo could not be reached to check the key


async def preflight(
    client: ReevoClient, target: str, owners: dict[str, MappedField]
) -> PreflightResult:
    """Before any row is sent: the key is accepted and not expired, it may write ``target``,
    and every owner e-mail in ``owners`` is a user of the org (when the key may read users).

    The permission probe sends an empty body, which Reevo must refuse as invalid (422) after
    checking the key and its permissions: nothing is written. Raises RunAborted saying what to
    fix; returns the requests made and notes about checks it could not make.
    """
    spec = TARGETS[target]
    result = PreflightResult()
    for attempt in range(1, PREFLIGHT_ATTEMPTS + 1):
        result.requests += 1
        try:
            await client.request(spec.method, spec.path, json={})
        except RowRejected:
            break  # 4xx about the body: the key, its expiry and its permissions are fine
        except RunAborted as exc:
            raise _preflight_failed(exc) from None
        except Retryable as exc:
            if attempt < PREFLIGHT_ATTEMPTS:
                await asyncio.sleep(max(exc.retry_after or 0.0, 0.3 * attempt))
                continue
            result.key_checked = False
            result.notes.append(f"could not check the key before sending ({exc.detail})")
            return result
        else:
            break
    missing: dict[str, MappedField] = {}
    for email in list(owners)[:PREFLIGHT_MAX_OWNERS]:
        result.requests += 1
        try:
            found = await client.search_users(email)
        except RunAborted as exc:
            if exc.reason == "permission":
                result.notes.append("owner e-mails were not checked: the key may not read Users")
                return result
            raise _preflight_failed(exc) from None
        except (RowRejected, Retryable):
            continue
        if not found:
            missing[email] = owners[email]
    if len(owners) > PREFLIGHT_MAX_OWNERS:
        result.notes.append(
            f"only the first {PREFLIGHT_MAX_OWNERS} of {len(owners)} owner e-mails were checked"
        )
    if missing:
        where = "; ".join(
            sorted({f"{f.section}.{f.name} (column {f.label}{_line(f)})" for f in missing.values()})
        )
        shown = ", ".join(sorted(missing)[:10]) + (" ..." if len(missing) > 10 else "")
        raise RunAborted(
            f"preflight failed, no row was sent: {len(missing)} owner e-mail(s) are not users "
            f"of this Reevo org: {shown}. Add them as users in Reevo, or fix {where} in the file "
            "or the mapping, then re-run.",
            reason="unknown_owner",
        )
    return result


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
            return await preflight(client, mapping.target, owners)

    result = run_async(go())
    if not result.key_checked:
        raise RunAborted(
            f"{result.notes[-1]}: no usable answer from Reevo at {base_url}. Check --base-url "
            "and the network, then run syncer check again.",
            reason="unreachable",
        )
    return result


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
    for section in FIELD_SECTIONS:
        block: dict[str, FieldSpec] = getattr(mapping, section)
        for name, fs in block.items():
            if name.lower() in words:
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
