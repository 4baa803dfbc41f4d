"""Adaptive pacing: a token bucket whose rate follows Reevo's 429s, plus a shared gate.

Modelled on botocore's adaptive retry mode (``ClientRateLimiter`` + ``CubicCalculator``):

* **Start gently**: the bucket starts at ``initial_rate`` and, until the first 429, grows by
  ``slow_start_gain`` requests/s per answered request (TCP-style slow start: the rate roughly
  triples each second while everything succeeds).
* **Cut on 429**: multiplicative decrease ``rate = beta * w_max`` where ``w_max`` is the lower of
  the current rate and the measured rate of accepted answers (what the server really took), at
  most once per ``cut_window_s`` so one burst of 429s from requests already in flight cuts once.
* **Rise again**: cubic growth ``C * (t - K)**3 + w_max`` (C=0.4, K=cbrt(w_max*(1-beta)/C)): fast
  back up to ``w_max``, flat around it, then probing beyond.
* **Never raise while using less than half**: the rate is capped at twice the measured send
  rate, so an idle or concurrency-bound run does not bank a huge rate it never tested.
* **Gate**: a 429 with ``Retry-After`` holds *every* caller of :meth:`acquire` until that moment
  plus a little jitter; the bucket is emptied so the reopening is not a burst.

The rate is changeable at run time (:meth:`set_max_rate`). Clock, sleep and random are injectable
so tests drive it with a fake clock.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable


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
        self._sent = _RateMeter(now)
        self._accepted = _RateMeter(now)
        self._lock = asyncio.Lock()
        self.cuts = 0
        self.throttles = 0
        self.closed = False
        self.max_wait_s = 0.25  # longest single sleep, so close() takes effect quickly

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
        self._max_rate = max_rate
        self._rate = self._clamp(self._rate)

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
    def on_success(self) -> None:
        """Record an answer that was not a throttle (any 2xx/4xx/5xx other than 429)."""
        now = self._clock()
        self._refill(now)
        accepted = self._accepted.record(now)
        sent = self._sent.record(now, 0)
        if self.slow_start:
            new = self._rate + self.slow_start_gain
        else:
            new = self.scale * (now - self._last_cut - self._k) ** 3 + self._w_max
        if sent > 0 and new > self._rate:
            # never raise while using less than half of the rate
            new = max(self._rate, min(new, 2.0 * max(sent, accepted)))
        self._rate = self._clamp(new)

    def on_throttle(self, retry_after: float | None = None) -> None:
        """Record a 429: cut the rate (once per window) and close the gate for ``retry_after``."""
        now = self._clock()
        self.throttles += 1
        self._refill(now)
        self._tokens = 0.0
        if retry_after is not None and retry_after > 0:
            until = now + retry_after + self._rng() * self.gate_jitter_s
            self.gate_until = max(self.gate_until, until)
        if now - self._last_cut < self.cut_window_s:
            return
        accepted = self._accepted.record(now, 0)
        w_max = min(self._rate, accepted) if accepted > 0 else self._rate
        self._w_max = max(self.min_rate, w_max)
        self._k = (self._w_max * (1.0 - self.beta) / self.scale) ** (1.0 / 3.0)
        self._last_cut = now
        self.slow_start = False
        self.cuts += 1
        self._rate = self._clamp(self._w_max * self.beta)
