"""The worker pool: rows in, exactly one :class:`RowOutcome` per row out.

A fixed number of worker tasks take rows from a bounded :class:`asyncio.Queue` (never one task
per row). Each row is pushed by its target (:attr:`syncer.targets.base.Target.push`), which
makes one request or several (search, create, patch...) through a :class:`_RowContext`: the
pool knows no endpoint. Every attempt first takes a token from the shared
:class:`RateController`. Each request's retries are one explicit loop, :meth:`_Run.send`
(the row's counts and cap span its requests; whether one may be repeated after Reevo may have
applied it is the request's own ``idempotent``): after a retryable error it counts the error
on the row, asks the pure policy (:func:`syncer.reevo.retry.decide`, through :meth:`_Run.judge`)
what now, and on a retry spends it (the run's retry budget, for a non-429) and sleeps the
policy's delay. Nothing else changes a row's retry state or the budget. A :class:`RunAborted`
(401/403/quota, the retry budget, the circuit breaker) closes the pacer: requests in flight
finish, every row not yet sent becomes ``not_attempted`` and the iterator is drained (or the
rows left are handed to the caller's ``rest`` at once) so every input row is accounted for.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from syncer import events
from syncer.errors import ReevoError, Retryable, RowRejected, RunAborted
from syncer.memory import AMBIGUOUS, Memory, NoMemory
from syncer.models import RowOutcome, RowStatus, RowWarning
from syncer.reevo.classify import normalise_error
from syncer.reevo.client import ReevoClient
from syncer.reevo.pacing import PacingClosed, RateController
from syncer.reevo.retry import Action, Decision, RetryBudget, RetryPolicy, budget_message, decide
from syncer.stopping import StopRequest
from syncer.targets import TARGETS
from syncer.targets.base import Row

Item = tuple[int, str, dict[str, Any]]

#: Stable ``RowOutcome.code`` values written by the pool.
CODE_REJECTED = "reevo_rejected"  # Reevo refused the row (4xx): fix the data
CODE_RETRIES_EXHAUSTED = "reevo_unavailable"  # retries ran out (5xx/timeouts/429s)
CODE_AMBIGUOUS = "reevo_ambiguous"  # a create failed after it may have been applied
CODE_STOPPED = "run_aborted"  # not sent because the run stopped
CODE_INTERRUPTED = "interrupted"  # not sent because the run was interrupted (Ctrl-C, SIGTERM)
CODE_IN_FLIGHT = "interrupted_in_flight"  # its request was abandoned by a forced stop


@dataclass
class PushSettings:
    """Knobs of :func:`push_rows` (the CLI's --concurrency, --max-rate, ...)."""

    concurrency: int = 16
    max_rate: float | None = None
    initial_rate: float = 10.0
    #: start near the rate the org last accepted (kept in the ledger; --no-rate-memory: False)
    rate_memory: bool = True
    timeout_s: float = 30.0
    max_attempts: int = 10
    retry_budget: int | None = None  # None: adaptive (50 + one per answered request)
    breaker_threshold: int = 25  # first N answered rows all rejected alike -> stop (0: off)
    max_throttles: int = 30
    backoff_base_s: float = 0.2
    backoff_cap_s: float = 20.0

    def policy(self) -> RetryPolicy:
        """The retry policy these settings describe."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            max_throttles=self.max_throttles,
            base_s=self.backoff_base_s,
            cap_s=self.backoff_cap_s,
        )


@dataclass
class PushReport:
    """What :func:`push_rows` did."""

    requests: int = 0  # HTTP requests made, retries included
    retries: int = 0  # requests that repeated an earlier one (incl. after 429)
    throttled: int = 0  # answers that were 429
    aborted: RunAborted | None = None
    interrupted: bool = False  # a StopRequest stopped the run
    elapsed_s: float = 0.0
    achieved_rate: float = 0.0  # requests per second
    accepted_rate: float = 0.0  # requests per second not answered 429
    final_rate: float = 0.0  # the pacer's rate at the end
    counts: dict[str, int] = field(default_factory=dict)


def make_client(
    api_key: str,
    settings: PushSettings,
    *,
    base_url: str | None = None,
    transport: Any = None,
) -> ReevoClient:
    """A ReevoClient whose connection pool matches ``settings.concurrency``."""
    kwargs: dict[str, Any] = {} if base_url is None else {"base_url": base_url}
    return ReevoClient(
        api_key,
        transport=transport,
        timeout_s=settings.timeout_s,
        max_connections=settings.concurrency,
        pool_timeout_s=settings.timeout_s * 2,
        **kwargs,
    )


class _Stopped(Exception):
    """The run is stopping; this row is not sent (again)."""


class _Abandoned(Exception):
    """A forced stop abandoned this row's request in flight."""


class _Breaker:
    """Trips when the first ``threshold`` answered rows are all rejected with one error."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.armed = threshold > 0
        self.count = 0
        self.key = ""
        self.error: RowRejected | None = None

    def success(self) -> None:
        self.armed = False

    def rejected(self, error: RowRejected) -> bool:
        if not self.armed:
            return False
        key = f"{error.status}:{normalise_error(error.message)}"
        if self.count == 0:
            self.key, self.error = key, error
        elif key != self.key:
            self.armed = False
            return False
        self.count += 1
        if self.count >= self.threshold:
            self.armed = False
            return True
        return False

    def abort(self) -> RunAborted:
        err = self.error
        assert err is not None
        return RunAborted(
            f"stopped early: the first {self.count} rows Reevo answered were all rejected with "
            f"the same error: {err.message}. Fix the mapping entry (or the data) behind it and "
            "re-run; the remaining rows were not sent.",
            status=err.status,
            detail=err.message,
            reason="circuit_breaker",
        )


class _RowState:
    """One row's retry state; changed only by :meth:`_Run.attempt` (attempts) and
    :meth:`_Run.send` (failures, throttles, decision, and whether the request in hand may be
    repeated once Reevo may have applied it)."""

    __slots__ = ("attempts", "decision", "failures", "idempotent", "row", "throttles")

    def __init__(self, row: int = 0) -> None:
        self.row = row  # the source row (for events)
        self.attempts = 0
        self.failures = 0
        self.throttles = 0
        self.decision: Decision | None = None
        self.idempotent = True


class _RowContext:
    """The :class:`~syncer.targets.base.RowContext` of one row: its requests go through the
    run's retry loop, the ids and warnings it gathers go on the row's outcome."""

    __slots__ = ("ids", "key", "run", "state", "warnings")

    def __init__(self, run: _Run, state: _RowState, key: str = "") -> None:
        self.run = run
        self.state = state
        self.key = key
        self.ids: dict[str, str] = {}
        self.warnings: list[RowWarning] = []

    @property
    def options(self) -> Mapping[str, str]:
        return self.run.options

    def known_ids(self, target: str, key: str) -> Mapping[str, str]:
        return self.run.memory.known(target, key)

    def taken(self, id_name: str, id_: str) -> bool:
        owner = self.run.memory.owner(self.run.target.name, id_name, id_)
        return owner is not None and owner != self.key

    async def once(self, key: Hashable, make: Callable[[], Awaitable[Any]]) -> Any:
        return await self.run.once(key, make)

    def remember_other(self, target: str, key: str, ids: Mapping[str, str]) -> None:
        self.run.memory.keep(target, key, ids)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool,
    ) -> Any:
        client = self.run.client
        query = dict(params) if params is not None else None

        def call() -> Awaitable[Any]:
            return client.request(method, path, json=json, params=query)

        return await self.run.send(self.state, call, idempotent=idempotent)

    def remember(self, ids: Mapping[str, str]) -> None:
        self.ids.update(ids)
        if self.key and not self.run.target.idempotent:  # claim what this key now holds
            names = {c.name for c in self.run.target.id_columns}
            held = {k: v for k, v in ids.items() if k in names}
            if held:
                self.run.memory.claim(self.run.target.name, self.key, held)

    def warn(self, code: str, message: str) -> None:
        self.warnings.append(RowWarning(code, message))


class _Run:
    def __init__(
        self,
        client: ReevoClient,
        target: str,
        settings: PushSettings,
        on_outcome: Callable[[RowOutcome], None],
        progress: Callable[[int], None] | None,
        pacer: RateController,
        memory: Memory | None = None,
        options: Mapping[str, str] | None = None,
        full: bool = False,
    ) -> None:
        self.client = client
        self.memory: Memory = memory if memory is not None else NoMemory()
        self.options: Mapping[str, str] = options or {}
        self.full = full
        self.pending: dict[Hashable, asyncio.Future[Any]] = {}
        self.answers: dict[Hashable, Any] = {}
        self.target = TARGETS[target]  # how a row is pushed (push_rows checked the name)
        self.settings = settings
        self.policy = settings.policy()
        self.on_outcome = on_outcome
        self.progress = progress
        self.pacer = pacer
        self.budget = RetryBudget(fixed=settings.retry_budget)
        self.breaker = _Breaker(settings.breaker_threshold)
        self.report = PushReport()
        self.stopping = False
        self.stop_reason = ""  # e.g. "SIGINT" once interrupted
        self.in_flight: set[asyncio.Task[Any]] = set()

    # -- outcomes ------------------------------------------------------------------------
    def emit(self, outcome: RowOutcome) -> None:
        counts = self.report.counts
        counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
        self.on_outcome(outcome)
        if self.progress is not None:
            self.progress(1)

    def unsent(self) -> tuple[str, str]:
        """The error and code of a row not sent because the run stopped."""
        err = self.report.aborted
        if err is not None:
            return err.message, CODE_STOPPED
        if self.report.interrupted:
            error = (
                f"not sent: the run was interrupted ({self.stop_reason}) before this row was "
                "sent; run the same command again (or syncer retry) to send it"
            )
            return error, CODE_INTERRUPTED
        return "the run stopped before this row was sent", CODE_STOPPED

    def rested(self, rest: Callable[[str, str], int]) -> None:
        """Hand the rows not yet taken to ``rest`` (push_rows' argument), counted as
        ``not_attempted``."""
        n = rest(*self.unsent())
        counts = self.report.counts
        counts[RowStatus.NOT_ATTEMPTED.value] = counts.get(RowStatus.NOT_ATTEMPTED.value, 0) + n
        if self.progress is not None and n:
            self.progress(n)

    def not_attempted(
        self, source_row: int, attempts: int = 0, ids: dict[str, str] | None = None
    ) -> None:
        error, code = self.unsent()
        outcome = RowOutcome(
            source_row, RowStatus.NOT_ATTEMPTED, error, code, attempts=attempts, ids=ids or {}
        )
        self.emit(outcome)

    def abandoned(self, source_row: int, attempts: int, ids: dict[str, str]) -> None:
        self.emit(
            RowOutcome(
                source_row,
                RowStatus.NOT_ATTEMPTED,
                error=f"interrupted ({self.stop_reason}) while its request was in flight: Reevo "
                "may or may not have applied it; run the same command again (or syncer retry) "
                "to send it again",
                code=CODE_IN_FLIGHT,
                attempts=attempts,
                ids=ids,
            )
        )

    def interrupt(self, forced: bool, reason: str) -> None:
        """Stop feeding rows (requests in flight finish); ``forced``: abandon those too."""
        self.report.interrupted = True
        self.stop_reason = reason
        self.stopping = True
        self.pacer.close()
        if forced:
            for task in list(self.in_flight):
                task.cancel()

    def abort(self, error: RunAborted) -> None:
        if self.report.aborted is None:
            self.report.aborted = error
        self.stopping = True
        self.pacer.close()

    async def once(self, key: Hashable, make: Callable[[], Awaitable[Any]]) -> Any:
        """``make()``'s answer for ``key``, made once per run (failures are not kept)."""
        if key in self.answers:
            return self.answers[key]
        waiting = self.pending.get(key)
        if waiting is not None:
            return await asyncio.shield(waiting)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[key] = future
        try:
            answer = await make()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a failure no other row waited for is not logged
            raise
        else:
            self.answers[key] = answer
            future.set_result(answer)
            return answer
        finally:
            del self.pending[key]

    # -- retry plumbing ------------------------------------------------------------------
    async def sleep(self, seconds: float) -> None:
        """Backoff sleep that ends early (raising _Stopped) when the run stops."""
        deadline = time.monotonic() + seconds
        while True:
            if self.stopping:
                raise _Stopped
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.25))

    def judge(self, state: _RowState, error: Retryable, rand: float) -> Decision:
        """What follows ``error``, the row's latest failure (already counted in ``state``).
        Pure: reads the row's counts and the budget, changes nothing."""
        return decide(
            error,
            failures=state.failures,
            throttles=state.throttles,
            policy=self.policy,
            budget_left=self.budget.left,
            idempotent=state.idempotent,
            rand=rand,
        )

    async def send(
        self, state: _RowState, call: Callable[[], Awaitable[Any]], *, idempotent: bool
    ) -> Any:
        """Send one request of a row (``call`` sends it once) until Reevo answers it or the
        policy stops trying; return the answer. ``idempotent``: it may be sent again after Reevo
        may have applied it (a timeout, a reset, a 5xx).

        Per failed attempt, in this order and only here: count the error on the row (a 429 as a
        throttle, anything else as a failure), judge it, then either re-raise it (give up or
        abort: the caller reads ``state.decision``) or spend one retry (``report.retries``, and
        one unit of the budget unless it was a 429) and sleep the decision's delay. Errors that
        are not :class:`Retryable` (rejections, aborts, a stopping run) propagate at once.
        """
        state.idempotent = idempotent
        while True:
            try:
                return await self.attempt(state, call)
            except Retryable as exc:
                if exc.status == 429:
                    state.throttles += 1
                else:
                    state.failures += 1
                state.decision = self.judge(state, exc, random.random())
                if state.decision.action is not Action.RETRY:
                    raise
                self.report.retries += 1
                why, delay = state.decision.reason, state.decision.delay_s
                events.emit(
                    events.Retry(state.row, state.attempts, why, exc.status, exc.message, delay)
                )
                if exc.status != 429:
                    self.budget.spend()
            await self.sleep(state.decision.delay_s)

    # -- one row -------------------------------------------------------------------------
    async def push_one(self, item: Item) -> None:
        source_row, key, body = item
        state = _RowState(source_row)
        ctx = _RowContext(self, state, key)
        # an upsert needs nothing remembered; a create-or-update finds its ids there
        known = {} if self.target.idempotent else self.memory.known(self.target.name, key)
        try:
            await self.target.push(ctx, Row(source_row, key, body, known, self.full))
        except (_Stopped, PacingClosed):
            self.not_attempted(source_row, state.attempts, ctx.ids)
            return
        except _Abandoned:
            self.abandoned(source_row, state.attempts, ctx.ids)
            return
        except RunAborted as exc:
            self.abort(exc)
            self.not_attempted(source_row, state.attempts, ctx.ids)
            return
        except RowRejected as exc:
            code = exc.code if exc.code != RowRejected.code else CODE_REJECTED
            self.emit(self.failed(source_row, state, exc, code, ctx))
            if self.breaker.rejected(exc):
                self.abort(self.breaker.abort())
            return
        except Retryable as exc:
            decision = state.decision
            if decision is not None and decision.action is Action.ABORT:
                self.abort(
                    RunAborted(
                        budget_message(self.budget.spent, exc),
                        status=exc.status,
                        detail=exc.detail,
                        reason="retry_budget",
                    )
                )
            code = (
                CODE_AMBIGUOUS
                if decision is not None and decision.reason == "ambiguous"
                else CODE_RETRIES_EXHAUSTED
            )
            if code == CODE_AMBIGUOUS and not self.target.updatable:
                ctx.ids[AMBIGUOUS] = "1"  # the plan holds it back until --force-ambiguous
            self.emit(self.failed(source_row, state, exc, code, ctx))
            return
        self.budget.success()
        self.breaker.success()
        if not self.target.updatable:
            ctx.ids[AMBIGUOUS] = ""  # created: an earlier ambiguous create is settled
        self.emit(
            RowOutcome(
                source_row,
                RowStatus.SUCCEEDED,
                http_status=200,
                attempts=state.attempts,
                warnings=tuple(ctx.warnings),
                ids=ctx.ids,
            )
        )

    def failed(
        self, source_row: int, state: _RowState, exc: ReevoError, code: str, ctx: _RowContext
    ) -> RowOutcome:
        """A failed row's outcome; it keeps the ids its earlier requests got."""
        message = exc.message
        if code == CODE_AMBIGUOUS and self.target.updatable and not self.target.idempotent:
            message = (
                f"{exc.message} — the request may have been applied, and Reevo's search did not "
                "show it yet: the next run (or syncer retry) searches again before it creates"
            )
        elif code == CODE_AMBIGUOUS:
            message = (
                f"{exc.message} — the request may have been applied; check Reevo before "
                "sending this row again"
            )
        elif code == CODE_RETRIES_EXHAUSTED:
            message = f"gave up after {state.attempts} attempts: {exc.message}"
        return RowOutcome(
            source_row,
            RowStatus.FAILED,
            error=message,
            code=code,
            http_status=exc.status,
            attempts=state.attempts,
            warnings=tuple(ctx.warnings),
            ids=ctx.ids,
        )

    async def attempt(self, state: _RowState, call: Callable[[], Awaitable[Any]]) -> Any:
        if self.stopping:
            raise _Stopped
        await self.pacer.acquire()
        state.attempts += 1
        self.report.requests += 1
        request = asyncio.ensure_future(call())
        self.in_flight.add(request)
        try:
            data = await request
        except asyncio.CancelledError:
            if request.cancelled() and self.report.interrupted:
                raise _Abandoned from None
            raise
        except Retryable as exc:
            if exc.status == 429:
                self.report.throttled += 1
                events.emit(events.Throttled(state.row, state.attempts, exc.retry_after))
                self.pacer.on_throttle(exc.retry_after)
            raise
        except RowRejected:
            self.pacer.on_success()
            self.budget.success()
            raise
        finally:
            self.in_flight.discard(request)
        self.pacer.on_success()
        return data

    # -- the pool ------------------------------------------------------------------------
    async def worker(self, queue: asyncio.Queue[Item | None]) -> None:
        while True:
            item = await queue.get()
            if item is None:
                return
            if self.stopping:
                self.not_attempted(item[0])
            else:
                await self.push_one(item)


async def push_rows(
    client: ReevoClient,
    target: str,
    items: Iterable[Item],
    settings: PushSettings,
    on_outcome: Callable[[RowOutcome], None],
    progress: Callable[[int], None] | None = None,
    *,
    pacer: RateController | None = None,
    stop: StopRequest | None = None,
    memory: Memory | None = None,
    options: Mapping[str, str] | None = None,
    full: bool = False,
    rest: Callable[[str, str], int] | None = None,
) -> PushReport:
    """Push every item (source_row, dedupe key, JSON body) as ``target`` (a registered
    target's name: :mod:`syncer.targets`) pushes a row; one outcome each.

    ``on_outcome`` and ``progress`` (called with 1 per finished row) run on the event loop.
    ``pacer`` lets a caller share or tune the rate controller (e.g. change --max-rate live).
    A run-level stop is *returned* in ``PushReport.aborted``, not raised. ``stop`` (set from a
    signal handler or another thread) stops feeding rows; set twice, it abandons requests in
    flight too; ``PushReport.interrupted`` then says so. ``memory`` (default: this run
    only) is what a create-or-update target finds earlier runs' ids in; ``options`` the
    mapping's target options (``on_ambiguous``...); ``full``: --full. ``rest``: once the run
    stops, called once with the error and code of a row not sent, instead of taking the items
    left one by one; it records those rows' outcomes itself and returns how many (``items`` is
    not iterated after it).
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; expected one of {sorted(TARGETS)}")
    if settings.concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    pacer = pacer or RateController(settings.initial_rate, settings.max_rate)
    run = _Run(client, target, settings, on_outcome, progress, pacer, memory, options, full)
    queue: asyncio.Queue[Item | None] = asyncio.Queue(maxsize=settings.concurrency * 2)
    started = time.monotonic()
    unsubscribe = _listen(stop, run)
    # Python runs a signal handler only when the main thread runs bytecode, and uvloop waits in
    # C: while a stop may come from a signal, wake the loop every 0.1 s so it is seen promptly.
    heartbeat = asyncio.ensure_future(_heartbeat()) if stop is not None else None
    try:
        async with asyncio.TaskGroup() as tg:
            for _ in range(settings.concurrency):
                tg.create_task(run.worker(queue))
            for item in items:
                if not run.stopping:
                    await queue.put(item)
                    continue
                run.not_attempted(item[0])
                if rest is not None:
                    run.rested(rest)
                    break
            for _ in range(settings.concurrency):
                await queue.put(None)
    finally:
        unsubscribe()
        if heartbeat is not None:
            heartbeat.cancel()
    report = run.report
    report.elapsed_s = time.monotonic() - started
    if report.elapsed_s > 0:
        report.achieved_rate = report.requests / report.elapsed_s
        report.accepted_rate = (report.requests - report.throttled) / report.elapsed_s
    report.final_rate = pacer.rate
    return report


async def _heartbeat(period_s: float = 0.1) -> None:
    while True:
        await asyncio.sleep(period_s)


def _listen(stop: StopRequest | None, run: _Run) -> Callable[[], None]:
    """Forward ``stop`` requests (from any thread or a signal handler) to the event loop."""
    if stop is None:
        return lambda: None
    loop = asyncio.get_running_loop()
    reason = stop.reason

    def on_stop(forced: bool) -> None:
        loop.call_soon_threadsafe(run.interrupt, forced, stop.reason if stop else reason)

    return stop.subscribe(on_stop)


T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on uvloop where it is installed (~15 % less client CPU per
    request, measured in bench/bench_push.py), else on asyncio's default loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every platform but Windows
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)
