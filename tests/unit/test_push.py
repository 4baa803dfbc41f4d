"""The worker pool against the real sandbox: in-process (ASGITransport) and over loopback."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncer.errors import Retryable
from syncer.models import RowOutcome, RowStatus
from syncer.push import (
    CODE_AMBIGUOUS,
    CODE_REJECTED,
    CODE_RETRIES_EXHAUSTED,
    CODE_STOPPED,
    PushReport,
    PushSettings,
    _RowState,
    _Run,
    make_client,
    push_rows,
)
from syncer.reevo.pacing import RateController
from syncer.reevo.retry import Action
from syncer.sandbox import SandboxApp, SandboxHandle
from syncer.targets import registered
from syncer.targets.base import FieldKind, IdColumn, Row, RowContext, Target

TEST_KEY = "test-key-all-permissions"  # the conftest sandbox key

FAST = {"backoff_base_s": 0.01, "backoff_cap_s": 0.1}


def rows(n: int, **extra: Any) -> list[tuple[int, str, dict[str, Any]]]:
    return [
        (i + 2, f"p{i}@example.org", {"email": f"p{i}@example.org", "first_name": f"P{i}", **extra})
        for i in range(n)
    ]


def push(
    items: list[tuple[int, str, dict[str, Any]]],
    settings: PushSettings,
    *,
    app: SandboxApp | None = None,
    base_url: str = "http://127.0.0.1",
    key: str = TEST_KEY,
    target: str = "account_contact",
    each: Any = None,
) -> tuple[PushReport, list[RowOutcome]]:
    outcomes: list[RowOutcome] = []

    def on_outcome(o: RowOutcome) -> None:
        outcomes.append(o)
        if each is not None:
            each(outcomes)

    async def go() -> PushReport:
        transport = httpx.ASGITransport(app=app) if app is not None else None
        async with make_client(key, settings, base_url=base_url, transport=transport) as client:
            return await push_rows(client, target, iter(items), settings, on_outcome)

    report = asyncio.run(go())
    assert sorted(o.source_row for o in outcomes) == sorted(i[0] for i in items)
    assert sum(report.counts.values()) == len(items)  # one outcome per row
    return report, outcomes


def statuses(outcomes: list[RowOutcome]) -> Counter[str]:
    return Counter(o.status.value for o in outcomes)


def stored(app: SandboxApp) -> list[dict[str, Any]]:
    async def go() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return (await c.get("/_sandbox/dump")).json()

    return asyncio.run(go())  # type: ignore[no-any-return]


def test_every_row_succeeds_with_ids(sandbox_app: SandboxApp) -> None:
    tasks_seen: list[int] = []
    report, outcomes = push(
        rows(300),
        PushSettings(concurrency=8, initial_rate=1000),
        app=sandbox_app,
        each=lambda _o: tasks_seen.append(len(asyncio.all_tasks())),
    )
    assert statuses(outcomes) == {"succeeded": 300}
    assert all(o.contact_id and o.attempts == 1 for o in outcomes)
    assert report.requests == 300 and report.retries == 0 and report.aborted is None
    assert max(tasks_seen) <= 8 + 2  # a fixed pool, never one task per row
    emails = {c["email"] for c in stored(sandbox_app)["contacts"]}
    assert {f"p{i}@example.org" for i in range(300)} <= emails


def test_twenty_percent_faults_every_row_still_succeeds(sandbox_app: SandboxApp) -> None:
    sandbox_app.sandbox.set_faults({"fail_rate": 0.2, "reset_rate": 0.05})
    report, outcomes = push(
        rows(300), PushSettings(concurrency=16, initial_rate=1000, **FAST), app=sandbox_app
    )
    assert statuses(outcomes) == {"succeeded": 300}
    assert report.retries > 30 and report.requests == 300 + report.retries
    dump = stored(sandbox_app)
    mine = [c for c in dump["contacts"] if c["email"].startswith("p")]
    assert len(mine) == 300  # each stored exactly once


def test_rejected_row_keeps_reevo_message(sandbox_app: SandboxApp) -> None:
    items = rows(5)
    items.insert(2, (99, "bad", {"email": "x@y.org", "contact_owner_email": "nobody@nowhere.org"}))
    _, outcomes = push(items, PushSettings(concurrency=4, **FAST), app=sandbox_app)
    (bad,) = [o for o in outcomes if o.source_row == 99]
    assert bad.status is RowStatus.FAILED and bad.code == CODE_REJECTED
    assert bad.http_status == 422 and "contact_owner_email" in bad.error
    assert statuses(outcomes)["succeeded"] == 5


def test_expired_key_mid_run_stops_within_one_round(sandbox_app: SandboxApp) -> None:
    keys = sandbox_app.sandbox.keys

    def expire_after_50(outcomes: list[RowOutcome]) -> None:
        if len(outcomes) == 50:
            key = keys.get(TEST_KEY)
            assert key is not None
            key.expired = True

    report, outcomes = push(
        rows(2000),
        PushSettings(concurrency=8, initial_rate=2000),
        app=sandbox_app,
        each=expire_after_50,
    )
    assert report.aborted is not None and report.aborted.reason == "expired"
    assert "create a new API key" in report.aborted.message
    counts = statuses(outcomes)
    assert counts["succeeded"] >= 50 and counts["not_attempted"] > 1900
    assert counts["succeeded"] + counts["not_attempted"] == 2000
    assert report.requests <= counts["succeeded"] + 8  # at most one round of 401s
    assert all(o.code == CODE_STOPPED for o in outcomes if o.status is RowStatus.NOT_ATTEMPTED)


def test_missing_permission_aborts_before_more_rows(sandbox_app: SandboxApp) -> None:
    from syncer.sandbox.keys import ApiKey

    sandbox_app.sandbox.keys.add(ApiKey("read-only-key", "ro", {"contacts": "read"}))
    report, outcomes = push(
        rows(100), PushSettings(concurrency=4), app=sandbox_app, key="read-only-key"
    )
    assert report.aborted is not None and report.aborted.reason == "permission"
    assert "contacts:write" in report.aborted.message
    assert statuses(outcomes) == {"not_attempted": 100}
    assert report.requests <= 4


def test_quota_exhausted_mid_run(sandbox_app: SandboxApp) -> None:
    sandbox_app.sandbox.set_faults({"daily_quota": 40})
    report, outcomes = push(
        rows(200), PushSettings(concurrency=4, initial_rate=1000, **FAST), app=sandbox_app
    )
    assert report.aborted is not None and report.aborted.reason == "quota"
    counts = statuses(outcomes)
    assert counts == {"succeeded": 40, "not_attempted": 160}


def test_circuit_breaker_stops_on_the_same_rejection(sandbox_app: SandboxApp) -> None:
    items = rows(500, contact_custom_fields={"no_such_field": "x"})
    report, outcomes = push(
        items, PushSettings(concurrency=4, breaker_threshold=25), app=sandbox_app
    )
    assert report.aborted is not None and report.aborted.reason == "circuit_breaker"
    assert "no_such_field" in report.aborted.message
    counts = statuses(outcomes)
    assert 25 <= counts["failed"] <= 25 + 4
    assert counts["not_attempted"] == 500 - counts["failed"]


def test_breaker_disarmed_by_a_success(sandbox_app: SandboxApp) -> None:
    items = rows(1) + rows(60, contact_custom_fields={"no_such_field": "x"})[1:]
    items = [(i + 2, k, b) for i, (_, k, b) in enumerate(items)]
    report, outcomes = push(
        items, PushSettings(concurrency=1, initial_rate=1000, breaker_threshold=10), app=sandbox_app
    )
    assert report.aborted is None
    assert statuses(outcomes) == {"succeeded": 1, "failed": 59}


def test_sick_server_spends_the_retry_budget_and_stops(sandbox_app: SandboxApp) -> None:
    sandbox_app.sandbox.set_faults({"fail_rate": 1.0})
    report, outcomes = push(
        rows(1000),
        PushSettings(concurrency=8, initial_rate=1000, retry_budget=40, **FAST),
        app=sandbox_app,
    )
    assert report.aborted is not None and report.aborted.reason == "retry_budget"
    assert report.requests <= 40 + 8 * 2 + 8
    assert statuses(outcomes)["not_attempted"] > 900


async def _create_account(ctx: RowContext, row: Row) -> None:
    data = await ctx.request("POST", "accounts", json=row.body, idempotent=False)
    ctx.remember({"account_id": str(data["id"])})


#: a target that only creates (not shipped): one POST accounts per row, never repeated
CREATE_ACCOUNTS = Target(
    name="test_account_creates",
    summary="creates an account",
    fields={"name": FieldKind.TEXT},
    required=("name",),
    key_field="name",
    key_label="name",
    custom=(),
    endpoint=("POST", "accounts"),
    idempotent=False,
    write_permissions=("Accounts Write",),
    read_permissions=(),
    id_columns=(IdColumn("account_id", "reevo_account_id", key="id"),),
    probes=(),
    push=_create_account,
)


def test_creates_are_not_resent_after_an_ambiguous_failure(sandbox_app: SandboxApp) -> None:
    sandbox_app.sandbox.set_faults({"commit_then_fail_rate": 0.3})
    items = [(i + 2, f"acct{i}", {"name": f"Acct {i}"}) for i in range(100)]
    with registered(CREATE_ACCOUNTS):
        _, outcomes = push(
            items,
            PushSettings(concurrency=8, initial_rate=1000, **FAST),
            app=sandbox_app,
            target=CREATE_ACCOUNTS.name,
        )
    ambiguous = [o for o in outcomes if o.code == CODE_AMBIGUOUS]
    assert ambiguous and all(o.attempts == 1 for o in ambiguous)
    assert "may have been applied" in ambiguous[0].error
    names = Counter(a["name"] for a in stored(sandbox_app)["accounts"])
    assert all(names[f"Acct {i}"] == 1 for i in range(100))  # applied once, never twice


class SpyPacer(RateController):
    """The run's rate controller, noting when each token was taken and each gate closed."""

    def __init__(self, initial_rate: float) -> None:
        super().__init__(initial_rate)
        self.tokens: list[float] = []
        self.gates: list[tuple[float, float]] = []  # (closed at, open again at)

    async def acquire(self) -> None:
        await super().acquire()
        self.tokens.append(time.monotonic())  # same loop step as the token: exact order

    def on_throttle(self, retry_after: float | None = None) -> None:
        closed = time.monotonic()  # before the controller reads its clock: closed <= its "now"
        super().on_throttle(retry_after)
        self.gates.append((closed, self.gate_until))


@pytest.mark.timeout(60)
def test_429_storm_over_loopback_honours_retry_after(live_sandbox: SandboxHandle) -> None:
    live_sandbox.admin.set_faults(rate_limit=40)
    settings = PushSettings(concurrency=16, initial_rate=200, **FAST)
    pacer = SpyPacer(settings.initial_rate)
    outcomes: list[RowOutcome] = []

    async def go() -> PushReport:
        async with make_client(TEST_KEY, settings, base_url=live_sandbox.base_url) as client:
            return await push_rows(
                client, "account_contact", rows(80), settings, outcomes.append, pacer=pacer
            )

    report = asyncio.run(go())
    assert statuses(outcomes) == {"succeeded": 80}
    assert report.throttled == live_sandbox.admin.stats()["rate_limited"] >= 1
    # each 429 (Retry-After: 1) closes the gate for every worker for at least 1 s: no token is
    # taken while it is closed (requests already past it may still go out: they took theirs
    # before). Ordered by the run's own event loop, so a busy machine cannot blur it.
    assert pacer.gates and all(until >= closed + 1 for closed, until in pacer.gates)
    during = [t for t in pacer.tokens for closed, until in pacer.gates if closed < t < until]
    assert during == [], f"{len(during)} tokens taken while the gate was closed"
    assert report.throttled <= report.requests // 2, report


@pytest.mark.timeout(60)
def test_slow_responses_past_the_timeout_are_retried(live_sandbox: SandboxHandle) -> None:
    live_sandbox.admin.set_faults(slow_rate=0.2, slow_ms=1500)
    report, outcomes = push(
        rows(40),
        PushSettings(concurrency=16, initial_rate=1000, timeout_s=0.4, **FAST),
        base_url=live_sandbox.base_url,
    )
    assert statuses(outcomes) == {"succeeded": 40}
    assert report.retries >= 1


# -- the per-row retry loop, against a scripted client -----------------------------------------
E503 = Retryable("503", status=503, maybe_applied=True)
T429 = Retryable("429", status=429)


class ScriptedClient:
    """Answers each request with the next scripted error, then {"contact_id": "c"} forever."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = list(errors)
        self.sent = 0

    async def request(self, method: str, path: str, **_: Any) -> dict[str, str]:
        self.sent += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"contact_id": "c"}


def scripted_run(errors: list[Exception], **settings: Any) -> tuple[_Run, list[RowOutcome]]:
    """A pool of one row's worth, over ``errors``; returns it and its outcomes once pushed."""
    outcomes: list[RowOutcome] = []
    knobs = {"backoff_base_s": 0.0, "max_attempts": 4, **settings}

    async def go() -> _Run:
        run = _Run(
            ScriptedClient(errors),  # type: ignore[arg-type]
            "account_contact",
            PushSettings(**knobs),
            outcomes.append,
            None,
            RateController(1000),
        )
        await run.push_one((2, "k", {"email": "a@x.org"}))
        return run

    return asyncio.run(go()), outcomes


def test_judging_a_failure_is_pure() -> None:
    """The policy step of the loop changes nothing: the same question twice, the same answer,
    and the row, the budget and the report as they were."""
    run, _ = scripted_run([], retry_budget=1)

    def snapshot(state: _RowState) -> tuple[Any, ...]:
        return (
            state.attempts, state.failures, state.throttles, state.decision,
            run.budget.spent, run.budget.left, run.report.retries, run.report.requests,
        )  # fmt: skip

    for failures, throttles, error in [(1, 0, E503), (0, 2, T429), (4, 0, E503)]:
        state = _RowState()
        state.failures, state.throttles = failures, throttles
        before = snapshot(state)
        first, second = run.judge(state, error, 0.5), run.judge(state, error, 0.5)
        assert first == second and snapshot(state) == before
    run.budget.spend()  # an empty budget: judged as abort, still without spending anything
    state = _RowState()
    state.failures = 1
    assert run.judge(state, E503, 0.5).action is Action.ABORT
    assert run.judge(state, E503, 0.5).action is Action.ABORT and run.budget.spent == 1


def test_budget_is_spent_once_per_retry_and_never_for_a_429() -> None:
    run, (outcome,) = scripted_run([E503, T429, E503, T429, E503])
    assert outcome.status is RowStatus.SUCCEEDED and outcome.attempts == 6
    assert run.report.retries == 5 and run.report.requests == 6 and run.report.throttled == 2
    assert run.budget.spent == 3  # the three 503s; the 429s are paced, not budgeted


def test_a_row_that_gives_up_spends_nothing_for_its_last_failure() -> None:
    run, (outcome,) = scripted_run([E503] * 10, max_attempts=3)
    assert outcome.status is RowStatus.FAILED and outcome.code == CODE_RETRIES_EXHAUSTED
    assert outcome.attempts == 3 and outcome.error.startswith("gave up after 3 attempts")
    assert run.budget.spent == run.report.retries == 2  # two retries, then the policy said stop


def test_an_empty_budget_stops_the_run_after_exactly_its_retries() -> None:
    run, (outcome,) = scripted_run([E503] * 10, max_attempts=10, retry_budget=2)
    assert outcome.status is RowStatus.FAILED and outcome.attempts == 3
    assert run.budget.spent == run.report.retries == 2
    assert run.report.aborted is not None and run.report.aborted.reason == "retry_budget"
    assert "2 retries spent" in run.report.aborted.message


def test_rows_left_at_an_abort_go_to_rest_in_one_call_and_are_not_taken(
    sandbox_app: SandboxApp,
) -> None:
    """With ``rest``, a run that stops hands the rows it has not taken to the caller at once
    (with the error and code each would have had), and takes no more from ``items``: a
    stopped run of millions of rows does not build each body only to say it was not sent."""
    sandbox_app.sandbox.set_faults({"daily_quota": 40})
    items = rows(2000)
    taken: list[int] = []
    rested: list[tuple[str, str, int]] = []
    outcomes: list[RowOutcome] = []

    def source() -> Iterator[tuple[int, str, dict[str, Any]]]:
        for item in items:
            taken.append(item[0])
            yield item

    def rest(error: str, code: str) -> int:
        left = len(items) - len(taken)
        rested.append((error, code, left))
        return left

    settings = PushSettings(concurrency=4, initial_rate=1000, **FAST)

    async def go() -> PushReport:
        transport = httpx.ASGITransport(app=sandbox_app)
        async with make_client(
            TEST_KEY, settings, base_url="http://127.0.0.1", transport=transport
        ) as client:
            return await push_rows(
                client, "account_contact", source(), settings, outcomes.append, rest=rest
            )

    report = asyncio.run(go())
    assert report.aborted is not None and report.aborted.reason == "quota"
    assert len(rested) == 1
    error, code, left = rested[0]
    assert (error, code) == (report.aborted.message, CODE_STOPPED)
    assert len(taken) < 100  # the rest were never built or taken
    assert sorted(o.source_row for o in outcomes) == sorted(taken)  # one outcome each
    assert left == len(items) - len(taken)
    assert report.counts["not_attempted"] == len(taken) - 40 + left
    assert sum(report.counts.values()) == len(items)
