"""Start where the org left off: the rate an org last accepted, kept in the ledger per org and
endpoint, is where the next run's pacer starts (:meth:`RateController.resume`), and what the
run learned (:meth:`RateController.measurement`) is kept for the one after.

A remembered rate is used only for the same org id, base URL and key (its fingerprint), and only
while it is younger than :data:`MAX_AGE`; ``PushSettings.rate_memory`` False (``--no-rate-memory``)
starts at ``initial_rate`` all the same. A new limit (a 429 capped it) replaces the remembered
one; a floor (no 429) replaces only a lower floor, or a limit it reached or passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from syncer.ledger import AcceptedRate, Ledger, key_fingerprint, now_iso
from syncer.push import PushSettings
from syncer.reevo.pacing import RateController
from syncer.targets import TARGETS

#: a remembered rate older than this is not used (the org's limit may have changed)
MAX_AGE = timedelta(days=7)


def endpoint_of(target: str) -> str:
    """The endpoint a target's rows write, as the ledger names it: ``POST account_contact``."""
    method, path = TARGETS[target].endpoint
    return f"{method} {path}"


@dataclass(frozen=True)
class Start:
    """Where a run's pacer started, and why (``RunSummary.pacing_start``)."""

    rate: float  # requests per second
    #: ``default`` (initial_rate), ``limit`` (0.9 x a remembered limit), ``floor`` (slow start
    #: from a remembered floor)
    source: str
    remembered: AcceptedRate | None = None  # the memory it started from, or set aside
    note: str | None = None  # for the summary, when a memory was used or set aside

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form (``pacing_start``)."""
        mem = self.remembered
        return {
            "rate": round(self.rate, 1),
            "source": self.source,
            "remembered_rate": round(mem.rate, 1) if mem else None,
            "remembered_capped": mem.capped if mem else None,
            "measured_at": mem.measured_at if mem else None,
        }


def start_pacer(
    pacer: RateController,
    ledger: Ledger | None,
    org: str,
    target: str,
    *,
    base_url: str,
    api_key: str,
    settings: PushSettings,
    now: datetime | None = None,
) -> Start:
    """Resume ``pacer`` from the rate ``org`` last accepted on ``target``'s endpoint, when the
    ledger remembers a usable one; say where it started either way."""
    default = Start(pacer.rate, "default")
    if ledger is None:
        return default
    mem = ledger.accepted_rate(org, endpoint_of(target))
    if mem is None:
        return default
    day = mem.measured_at[:10]
    what = f"{_rps(mem.rate)} req/s this org accepted on {day}"
    initial = f"started at {_rps(pacer.rate)} req/s"
    if not settings.rate_memory:
        return Start(pacer.rate, "default", mem, f"{initial} (--no-rate-memory), not at the {what}")
    why = _unusable(mem, base_url, api_key, now or datetime.now(UTC))
    if why:
        return Start(pacer.rate, "default", mem, f"{initial}, not near the {what}: {why}")
    pacer.resume(mem.rate, capped=mem.capped, hold_s=mem.hold_s)
    started = f"started at {_rps(pacer.rate)} req/s"
    if mem.capped:
        how = f"{pacer.known_beta:g} x the {what} (a 429 found that limit)"
        source = "limit"
    else:
        how = f"the {what} (no 429 was seen: it climbs from there)"
        source = "floor"
    if settings.max_rate is not None and pacer.rate >= settings.max_rate:
        how = f"--max-rate (below the {what})"
    return Start(pacer.rate, source, mem, f"{started}: {how}")


def remember(
    pacer: RateController,
    ledger: Ledger | None,
    org: str,
    target: str,
    *,
    base_url: str,
    api_key: str,
    run_id: int | None,
    before: AcceptedRate | None,
) -> AcceptedRate | None:
    """Keep what ``pacer`` learned as the rate ``org`` accepted on ``target``'s endpoint, unless
    the run measured nothing clean or only a floor below what is remembered (``before``); the
    rate kept, or None."""
    measured = pacer.measurement()
    if ledger is None or measured is None:
        return None
    fingerprint = key_fingerprint(api_key)
    usable = before is not None and not _unusable(before, base_url, api_key, datetime.now(UTC))
    if not measured.capped and usable and before is not None and before.rate > measured.rate:
        return None  # a floor below a usable remembered rate says nothing new
    rate = AcceptedRate(
        round(measured.rate, 3),
        measured.capped,
        measured.hold_s,
        base_url,
        fingerprint,
        now_iso(),
        run_id,
    )
    ledger.remember_rate(org, endpoint_of(target), rate)
    return rate


def _unusable(mem: AcceptedRate, base_url: str, api_key: str, now: datetime) -> str:
    """Why a remembered rate may not be used ('' when it may)."""
    if mem.base_url != base_url:
        return f"it was measured at {mem.base_url}"
    if mem.key_fingerprint != key_fingerprint(api_key):
        return "it was measured with another API key"
    try:
        measured = datetime.fromisoformat(mem.measured_at)
    except ValueError:
        return "its date is unreadable"
    if measured.tzinfo is None:
        measured = measured.replace(tzinfo=UTC)
    if now - measured > MAX_AGE:
        return f"it is older than {MAX_AGE.days} days"
    return ""


def _rps(rate: float) -> str:
    """A rate for people: 180, 12.5, 0.5."""
    return f"{rate:.0f}" if rate >= 20 else f"{rate:.3g}"
