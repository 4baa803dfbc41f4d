"""The rate an org last accepted (issue 15 goal 4): kept in the ledger per org and endpoint, and
where the next run's pacer starts (syncer.runner.rates)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncer.ledger import AcceptedRate, Ledger, key_fingerprint, org_id
from syncer.push import PushSettings
from syncer.reevo.pacing import RateController
from syncer.runner.rates import endpoint_of, remember, start_pacer

URL = "https://api.reevo.ai"
KEY = "sk-test-rates-0123456789"
ORG = org_id(URL, api_key=KEY)
ENDPOINT = "POST account_contact"


def _kept(rate: float, capped: bool, *, days_ago: float = 0, key: str = KEY) -> AcceptedRate:
    when = datetime.now(UTC) - timedelta(days=days_ago)
    return AcceptedRate(
        rate, capped, 16.0 if capped else None, URL, key_fingerprint(key),
        when.replace(microsecond=0).isoformat(), 1,
    )  # fmt: skip


def _start(ledger: Ledger | None, org: str = ORG, **push: object) -> tuple[RateController, str]:
    settings = PushSettings(**push)  # type: ignore[arg-type]
    pacer = RateController(settings.initial_rate, settings.max_rate)
    start = start_pacer(
        pacer, ledger, org, "account_contact", base_url=URL, api_key=KEY, settings=settings
    )
    assert start.rate == pacer.rate
    return pacer, f"{start.source}: {start.note}"


def test_endpoint_names_the_targets_write_route() -> None:
    assert endpoint_of("account_contact") == ENDPOINT


def test_a_remembered_limit_starts_at_0_9_of_it_and_says_so(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as ledger:
        ledger.remember_rate(ORG, ENDPOINT, _kept(200.0, True))
        pacer, why = _start(ledger)
    assert pacer.rate == pytest.approx(180.0)
    day = datetime.now(UTC).date().isoformat()
    assert why == (
        f"limit: started at 180 req/s: 0.9 x the 200 req/s this org accepted on {day} "
        "(a 429 found that limit)"
    )


def test_a_remembered_floor_slow_starts_from_it(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as ledger:
        ledger.remember_rate(ORG, ENDPOINT, _kept(120.0, False))
        pacer, why = _start(ledger)
    assert pacer.rate == 120.0 and pacer.slow_start and why.startswith("floor: ")


@pytest.mark.parametrize(
    ("kept", "org", "push", "reason"),
    [
        (_kept(200.0, True), org_id(URL, label="other"), {}, "None"),  # another org: none
        (_kept(200.0, True, key="another-key"), ORG, {}, "with another API key"),
        (_kept(200.0, True, days_ago=8), ORG, {}, "older than 7 days"),
        (_kept(200.0, True), ORG, {"rate_memory": False}, "(--no-rate-memory)"),
    ],
)
def test_a_memory_of_another_org_key_or_week_or_switched_off_is_not_used(
    tmp_path: Path, kept: AcceptedRate, org: str, push: dict[str, object], reason: str
) -> None:
    with Ledger(tmp_path / "l.db") as ledger:
        ledger.remember_rate(ORG, ENDPOINT, kept)
        pacer, why = _start(ledger, org, **push)
    assert pacer.rate == 10.0 and pacer.slow_start
    assert why.startswith("default: ") and reason in why


def test_max_rate_caps_a_remembered_limit(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as ledger:
        ledger.remember_rate(ORG, ENDPOINT, _kept(200.0, True))
        pacer, why = _start(ledger, max_rate=50.0)
    assert pacer.rate == 50.0 and "--max-rate (below the 200 req/s" in why


def test_no_ledger_changes_nothing() -> None:
    pacer, why = _start(None)
    assert (pacer.rate, pacer.slow_start, why) == (10.0, True, "default: None")


def _measured(rate: float, capped: bool) -> RateController:
    """A pacer whose measurement() is ``rate`` (a limit when ``capped``, else a floor)."""
    clock = [1000.0]
    pacer = RateController(rate, rate, clock=lambda: clock[0])
    for _ in range(int(rate * 3)):
        clock[0] += 1.0 / rate
        pacer.on_success()
    if capped:
        pacer.on_throttle(1.0)
    measured = pacer.measurement()
    assert measured is not None and measured.capped is capped
    return pacer


def _remember(ledger: Ledger, pacer: RateController) -> AcceptedRate | None:
    before = ledger.accepted_rate(ORG, ENDPOINT)
    return remember(
        pacer, ledger, ORG, "account_contact", base_url=URL, api_key=KEY, run_id=7, before=before
    )


def test_what_a_run_measured_is_kept_per_org_and_endpoint_never_the_key(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger(path) as ledger:
        kept = _remember(ledger, _measured(40.0, capped=True))
        assert kept is not None and kept.capped and kept.rate == pytest.approx(40.0, rel=0.1)
        assert ledger.accepted_rate(ORG, ENDPOINT) == kept
        assert ledger.accepted_rate(ORG, "POST accounts") is None
        assert ledger.accepted_rate(org_id(URL, label="other"), ENDPOINT) is None
    assert KEY.encode() not in path.read_bytes()


def test_a_floor_below_a_remembered_limit_keeps_the_limit(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as ledger:
        ledger.remember_rate(ORG, ENDPOINT, _kept(200.0, True))
        assert _remember(ledger, _measured(50.0, capped=False)) is None  # e.g. --max-rate 50
        assert ledger.accepted_rate(ORG, ENDPOINT) == _kept(200.0, True)._replace(
            measured_at=ledger.accepted_rate(ORG, ENDPOINT).measured_at  # type: ignore[union-attr]
        )
        higher = _remember(ledger, _measured(250.0, capped=False))  # the limit went up
        assert higher is not None and not higher.capped and higher.rate == pytest.approx(250, 0.1)
        lower = _remember(ledger, _measured(150.0, capped=True))  # a new limit replaces it
        assert lower is not None and lower.capped and lower.rate < 200.0


def test_a_stale_memory_is_replaced_even_by_a_lower_floor(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as ledger:
        ledger.remember_rate(ORG, ENDPOINT, _kept(200.0, True, days_ago=30))
        kept = _remember(ledger, _measured(50.0, capped=False))
    assert kept is not None and kept.rate == pytest.approx(50.0, rel=0.1)


def test_a_ledger_without_the_table_opens_remembers_nothing_then_keeps_a_rate(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    with Ledger(path):
        pass
    db = sqlite3.connect(path)
    db.execute("DROP TABLE accepted_rates")  # as a ledger written before the table existed
    db.commit()
    db.close()
    with Ledger(path) as ledger:
        assert ledger.accepted_rate(ORG, ENDPOINT) is None
        pacer, why = _start(ledger)
        assert (pacer.rate, why) == (10.0, "default: None")
        assert _remember(ledger, _measured(40.0, capped=True)) is not None
    with Ledger(path) as ledger:
        kept = ledger.accepted_rate(ORG, ENDPOINT)
    assert kept is not None and kept.capped
