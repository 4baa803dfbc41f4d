"""Adaptive pacing: a token bucket whose rate follows Reevo's 429s, plus a shared gate.

Modelled on botocore's adaptive retry mode (``ClientRateLimiter`` + ``CubicCalculator``):

* **Start gently**: the bucket starts at ``initial_rate`` and, until the first 429, grows by
  ``slow_start_gain`` requests/s per answered request (TCP-style slow start: the rate roughly
  triples each second while everything succeeds).
* **Cut on 429**: multiplicative decrease, at most once per ``cut_window_s`` so one burst of 429s
  from requests already in flight cuts once. ``w_max`` is the lower of the current rate and the
  rate of answers that were *not* 429 over the last second (what the server demonstrably took).
  When that measurement exists the cut is to ``known_beta * w_max`` (0.9); when it does not
  (no full second of answers yet) it is botocore's blind ``beta * w_max`` (0.7). The shared
  gate already drains the server's bucket, so a deeper cut only wastes quota time.
* **Rise again**: cubic growth ``C * (t - K)**3 + w_max`` (C=0.4, K=cbrt(w_max*(1-b)/C)): fast
  back up towards ``w_max`` -- but held at ``settle * w_max`` (0.96) for ``hold_s`` before probing
  beyond it. Each cut that finds the same limit again (within 15 %) doubles the hold (up to
  ``max_hold_s``), so a steady limit is probed rarely: each 429 costs a whole Retry-After of
  silence for every worker, which is what decides how close to the limit a run gets.
* **Never raise while using less than half**: the rate is capped at twice the measured send
  rate, so an idle or concurrency-bound run does not bank a huge rate it never tested.
* **Gate**: a 429 with ``Retry-After`` holds *every* caller of :meth:`acquire` until that moment
  plus a little jitter; the bucket is emptied so the reopening is not a burst.
* **Resume** (:meth:`resume`): a run may start near what an earlier run of the same org learned
  (:meth:`measurement`; the runner keeps it in the ledger) instead of at ``initial_rate``: from a
  limit a 429 found, as just after a measured cut there (``known_beta`` x it, the cubic climb,
  then the hold) but held at ``resume_settle`` x it (0.97; chosen in bench/bench_pacing_sim.py
  among 0.96-1.0). The limit kept is the highest one the run's measured cuts found (see
  :meth:`measurement`). From a floor (no 429 was seen), slow start from it. The first 429 still
  cuts, and from then on the run paces as any other.

The rate is changeable at run time (:meth:`set_max_rate`). Clock, sleep and random are injectable
so tests drive it with a fake clock. Each cut and each change of the cap is a
:class:`syncer.events.PacerRateChanged` event; a rise is one at most every ``rise_event_s`` and
only once the rate moved 5 % since the last event (it rises on every answer).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from syncer import events


class PacingClosed(Exception):
    """Raised by :meth:`RateController.acquire` once the run is stopping."""


class _RateMeter:
    """Events per second, smoothed over half-second buckets (botocore's RateClocker)."""

    def __init__(self, now: float, bucket_s: float = 0.5, smoothing: float = 0.8) -> None:
        self.bucket_s = bucket_s
        self.smoothing = smoothing
        self.rate = 0.0
        self._count = 0
        self._bucket = int(now / bucket_s)

    def record(self, now: float, n: int = 1) -> float:
        bucket = int(now / self.bucket_s)
        if bucket > self._bucket:
            current = self._count / ((bucket - self._bucket) * self.bucket_s)
            self.rate = current * self.smoothing + self.rate * (1 - self.smoothing)
            self._count = 0
            self._bucket = bucket
        self._count += n
        return self.rate


@dataclass(frozen=True, slots=True)
class Measurement:
    """What a run learned of the server's rate (:meth:`RateController.measurement`)."""

    rate: float  # requests per second
    #: True: a 429 capped it (the limit found); False: no 429 was seen, only a floor
    capped: bool
    #: the hold before probing past the limit that the run ended with (None for a floor)
    hold_s: float | None = None


class RateController:
    """Paces requests for all workers of one run. Not thread-safe: use from one event loop."""

    def __init__(
        self,
        initial_rate: float = 10.0,
        max_rate: float | None = None,
        *,
        min_rate: float = 0.5,
        beta: float = 0.7,
        scale: float = 0.4,
        slow_start_gain: float = 2.0,
        known_beta: float = 0.9,
        settle: float = 0.96,
        resume_settle: float = 0.97,
        hold_s: float = 8.0,
        max_hold_s: float = 120.0,
        burst_s: float = 0.2,
        cut_window_s: float = 1.0,
        gate_jitter_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if initial_rate <= 0:
            raise ValueError("initial_rate must be > 0")
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._max_rate = max_rate
        self.min_rate = min_rate
        self.beta = beta
        self.scale = scale
        self.slow_start_gain = slow_start_gain
        self.burst_s = burst_s
        self.known_beta = known_beta
        self.settle = settle
        self.resume_settle = resume_settle
        self.initial_hold_s = hold_s
        self.max_hold_s = max_hold_s
        self.hold_s = hold_s
        self.cut_window_s = cut_window_s
        self.gate_jitter_s = gate_jitter_s
        now = clock()
        self._rate = self._clamp(initial_rate)
        self._tokens = 1.0
        self._last_refill = now
        self.gate_until = 0.0
        self.slow_start = True
        self._w_max = self._rate
        self._k = 0.0
        self._last_cut = -1e18
        self._curve_t0 = -1e18  # when the cubic climb towards w_max started (a cut, a resume)
        self._limit_known = False  # w_max is a limit a 429 found (in this run or remembered)
        self._on_memory = False  # w_max is a remembered limit this run has not cut at yet
        self._cut_measured = False  # the last cut's w_max was measured (not blind)
        #: the highest limit a measured cut found once past slow start (whose half-window
        #: measurement counts the server's burst too), or None
        self._best_limit: float | None = None
        self.resumed: Measurement | None = None  # what :meth:`resume` started from
        self.peak_accepted = 0.0  # the highest accepted_rate() seen (sampled every 0.5 s)
        self._next_sample = now
        self._sent = _RateMeter(now)
        self._accepted = _RateMeter(now)
        self._answers: deque[float] = deque()  # times of non-429 answers, last window_s
        self.window_s = 2.0
        self._first_answer: float | None = None
        self._lock = asyncio.Lock()
        self.cuts = 0
        self.throttles = 0
        self.closed = False
        self.max_wait_s = 0.25  # longest single sleep, so close() takes effect quickly
        self.rise_event_s = 1.0
        self._logged = (now, self._rate)  # (when, rate) of the last rate event: events only

    # -- configuration -------------------------------------------------------------------
    @property
    def rate(self) -> float:
        """The current target rate in requests per second."""
        return self._rate

    @property
    def max_rate(self) -> float | None:
        """The user's cap (``--max-rate``), or None."""
        return self._max_rate

    def set_max_rate(self, max_rate: float | None) -> None:
        """Change the cap at run time; the current rate drops to it at once if above."""
        old = self._rate
        self._max_rate = max_rate
        self._rate = self._clamp(self._rate)
        self._rate_event(old, "max_rate", self._clock())

    def _clamp(self, rate: float) -> float:
        rate = max(self.min_rate, rate)
        if self._max_rate is not None:
            rate = min(rate, self._max_rate)
        return rate

    # -- sending -------------------------------------------------------------------------
    def close(self) -> None:
        """Stop handing out tokens: every waiting and later :meth:`acquire` raises PacingClosed."""
        self.closed = True

    async def acquire(self) -> None:
        """Wait until the gate is open and a token is available, then take it."""
        async with self._lock:
            while True:
                if self.closed:
                    raise PacingClosed
                now = self._clock()
                if now < self.gate_until:
                    await self._sleep(min(self.max_wait_s, self.gate_until - now))
                    continue
                self._refill(now)
                if self._tokens >= 1.0 - 1e-9:  # float dust must not spin the loop
                    self._tokens = max(0.0, self._tokens - 1.0)
                    self._sent.record(now)
                    return
                await self._sleep(min(self.max_wait_s, (1.0 - self._tokens) / self._rate))

    def _refill(self, now: float) -> None:
        capacity = max(1.0, self._rate * self.burst_s)
        elapsed = max(0.0, now - self._last_refill)
        self._tokens = min(capacity, self._tokens + elapsed * self._rate)
        self._last_refill = now

    # -- feedback ------------------------------------------------------------------------
    def accepted_rate(self, now: float) -> float | None:
        """Non-429 answers per second over the last ``window_s``; None before a full window
        or when a gate was closed during it (the silence would read as a low capacity)."""
        answers = self._answers
        while answers and answers[0] <= now - self.window_s:
            answers.popleft()
        # while the rate still climbs (slow start) only the last half window is representative
        window = self.window_s / 2 if self.slow_start else self.window_s
        start = now - window
        if self._first_answer is None or self._first_answer > start:
            return None
        if self.gate_until > start:
            return None
        return (
            sum(1 for t in answers if t > start) / window
            if window != self.window_s
            else (len(answers) / window)
        )

    def on_success(self) -> None:
        """Record an answer that was not a throttle (any 2xx/4xx/5xx other than 429)."""
        now = self._clock()
        self._refill(now)
        answers = self._answers
        answers.append(now)
        while answers[0] <= now - self.window_s:  # keep only the last window (bounded memory)
            answers.popleft()
        if self._first_answer is None:
            self._first_answer = now
        accepted = self._accepted.record(now)
        sent = self._sent.record(now, 0)
        if now >= self._next_sample:
            self._next_sample = now + 0.5
            measured = self.accepted_rate(now)
            if measured is not None and measured > self.peak_accepted:
                self.peak_accepted = measured
        if self.slow_start:
            new = self._rate + self.slow_start_gain
        else:
            t = now - self._curve_t0
            if t < self._k + self.hold_s:
                cubic = self.scale * min(0.0, t - self._k) ** 3 + self._w_max
                settle = self.resume_settle if self._on_memory else self.settle
                new = min(cubic, settle * self._w_max)
            else:
                new = self.scale * (t - self.hold_s - self._k) ** 3 + self._w_max
        if sent > 0 and new > self._rate:
            # never raise while using less than half of the rate
            new = max(self._rate, min(new, 2.0 * max(sent, accepted)))
        self._rate = self._clamp(new)
        last_at, last_rate = self._logged
        if now - last_at >= self.rise_event_s and abs(self._rate - last_rate) >= 0.05 * last_rate:
            self._rate_event(last_rate, "rise", now)

    def on_throttle(self, retry_after: float | None = None) -> None:
        """Record a 429: cut the rate (once per window) and close the gate for ``retry_after``."""
        now = self._clock()
        self.throttles += 1
        self._refill(now)
        self._tokens = 0.0
        self._cut(now)
        if retry_after is not None and retry_after > 0:
            until = now + retry_after + self._rng() * self.gate_jitter_s
            self.gate_until = max(self.gate_until, until)

    def _cut(self, now: float) -> None:
        if now - self._last_cut < self.cut_window_s:  # one cut per window
            return
        measured = self.accepted_rate(now)
        w_max = max(self.min_rate, min(self._rate, measured) if measured else self._rate)
        if self._limit_known and abs(w_max - self._w_max) <= 0.15 * self._w_max:
            self.hold_s = min(self.max_hold_s, self.hold_s * 2)  # same limit again: probe less
        else:
            self.hold_s = self.initial_hold_s
        beta = self.known_beta if measured else self.beta
        self._w_max = w_max
        self._k = (w_max * (1.0 - beta) / self.scale) ** (1.0 / 3.0)
        self._last_cut = self._curve_t0 = now
        self._limit_known = True
        self._on_memory = False
        self._cut_measured = bool(measured)
        if measured and not self.slow_start:
            self._best_limit = max(self._best_limit or 0.0, w_max)
        self.slow_start = False
        self.cuts += 1
        old = self._rate
        self._rate = self._clamp(w_max * beta)
        self._rate_event(old, "cut", now)

    # -- memory across runs --------------------------------------------------------------
    def resume(self, rate: float, *, capped: bool, hold_s: float | None = None) -> None:
        """Start near ``rate``, a rate the server accepted in an earlier run (call it before
        the first :meth:`acquire`). ``capped`` (a 429 found that limit): as just after a
        measured cut at ``rate`` -- start at ``known_beta * rate``, climb to ``resume_settle *
        rate`` and hold there for twice ``hold_s`` (the hold that run ended with: the limit is found
        again, as when a cut finds the same limit) before probing beyond. Not capped (only a
        floor): slow start from ``rate``. ``max_rate`` still caps; the first 429 still cuts.
        """
        if rate <= 0:
            raise ValueError("rate must be > 0")
        now = self._clock()
        old = self._rate
        self.resumed = Measurement(rate, capped, hold_s if capped else None)
        if capped:
            self._w_max = rate
            self._k = (rate * (1.0 - self.known_beta) / self.scale) ** (1.0 / 3.0)
            self._curve_t0 = now
            self._limit_known = self._on_memory = True
            self.slow_start = False
            held = (hold_s or self.initial_hold_s) * 2
            self.hold_s = min(self.max_hold_s, max(self.initial_hold_s, held))
            self._rate = self._clamp(self.known_beta * rate)
        else:
            self._rate = self._w_max = self._clamp(max(rate, self._rate))
        self._rate_event(old, "resume", now)

    def measurement(self) -> Measurement | None:
        """What this run learned, for the next one to :meth:`resume` from. After a 429: the
        highest limit a measured cut found past slow start (capped: a limit measured low -- a
        429 from a stall of the server or of this process -- would hold the next run below
        the limit for its whole hold, one measured high costs it one 429); without one, the
        limit the last cut found (a blind cut's -- the rate the 429 came at -- no higher than
        ``peak_accepted`` when one was measured). Without a 429: a remembered limit
        this run ran close to (``peak_accepted`` >= 0.9 x it: capped, confirmed), else the
        highest rate the server was seen to accept (a floor), or None when no clean
        measurement exists (no full window of answers: a short or early-stopped run)."""
        if self._best_limit is not None:
            return Measurement(self._best_limit, True, self.hold_s)
        if self.cuts:
            limit = self._w_max
            if not self._cut_measured and self.peak_accepted > 0:
                limit = min(limit, self.peak_accepted)
            return Measurement(limit, True, self.hold_s)
        resumed = self.resumed
        if resumed is not None and resumed.capped and self.peak_accepted >= 0.9 * resumed.rate:
            return Measurement(resumed.rate, True, self.hold_s)
        if self.peak_accepted > 0:
            return Measurement(self.peak_accepted, False)
        return None

    def _rate_event(self, old: float, reason: str, now: float) -> None:
        """Tell listeners the rate moved from ``old`` (no event when it did not)."""
        if self._rate != old:
            self._logged = (now, self._rate)
            events.emit(events.PacerRateChanged(round(old, 3), round(self._rate, 3), reason))
