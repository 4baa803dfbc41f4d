"""Per-organisation limits: a token-bucket rate limit and a daily request quota.

Both take a ``clock`` so tests can drive time by hand. Each check is O(1).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

#: Default bucket size as seconds of the rate (100 rps -> 20 requests of burst).
DEFAULT_BURST_S = 0.2


@dataclass(frozen=True, slots=True)
class Verdict:
    """Result of a limit check: allowed, or refused with a Retry-After in whole seconds."""

    allowed: bool
    retry_after: int = 0
    reason: str = ""  # "rate_limited" | "quota_exceeded"


ALLOW = Verdict(True)


class TokenBucket:
    """A token bucket whose rate and size can be changed at run time."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate * DEFAULT_BURST_S)
        self.tokens = self.burst
        self._last = clock()

    def configure(self, rate: float, burst: float | None = None) -> None:
        """Change the rate (and size); keeps the tokens already earned, capped at the new size."""
        self._refill()
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate * DEFAULT_BURST_S)
        self.tokens = min(self.tokens, self.burst)

    def _refill(self) -> None:
        now = self._clock()
        self.tokens = min(self.burst, self.tokens + (now - self._last) * self.rate)
        self._last = now

    def take(self) -> float:
        """Take one token: 0.0 when granted, else the seconds until one is available."""
        self._refill()
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class DailyQuota:
    """Counts public requests per UTC day."""

    def __init__(self, limit: int, now: Callable[[], datetime] | None = None) -> None:
        self.limit = limit
        self._now = now or (lambda: datetime.now(UTC))
        self._day = self._now().date()
        self.used = 0

    def take(self) -> int:
        """Count one request: 0 when allowed, else seconds until the quota resets (>= 1)."""
        now = self._now()
        if now.date() != self._day:
            self._day, self.used = now.date(), 0
        if self.used >= self.limit:
            midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
            return max(1, math.ceil((midnight - now).total_seconds()))
        self.used += 1
        return 0


class Limiter:
    """The organisation's limits. ``None`` means unlimited; both can change at run time."""

    def __init__(
        self,
        rate_limit: float | None = None,
        daily_quota: int | None = None,
        rate_burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._clock = clock
        self._now = now
        self.bucket: TokenBucket | None = None
        self.quota: DailyQuota | None = None
        self.configure(rate_limit, daily_quota, rate_burst)

    def configure(
        self, rate_limit: float | None, daily_quota: int | None, rate_burst: float | None = None
    ) -> None:
        """Apply new limits, keeping the current bucket level and the quota used today."""
        if rate_limit is None:
            self.bucket = None
        elif self.bucket is None:
            self.bucket = TokenBucket(rate_limit, rate_burst, self._clock)
        else:
            self.bucket.configure(rate_limit, rate_burst)
        if daily_quota is None:
            self.quota = None
        elif self.quota is None:
            self.quota = DailyQuota(daily_quota, self._now)
        else:
            self.quota.limit = daily_quota

    def reset(self) -> None:
        """Refill the bucket and zero today's quota."""
        if self.bucket is not None:
            self.bucket.tokens = self.bucket.burst
        if self.quota is not None:
            self.quota.used = 0

    def check(self) -> Verdict:
        """Admit one request or say why not. A rate-limited request does not use quota."""
        if self.bucket is not None:
            wait = self.bucket.take()
            if wait > 0:
                return Verdict(False, max(1, math.ceil(wait)), "rate_limited")
        if self.quota is not None:
            wait_s = self.quota.take()
            if wait_s:
                return Verdict(False, wait_s, "quota_exceeded")
        return ALLOW

    @property
    def quota_used(self) -> int:
        """Requests counted against today's quota (0 when there is none)."""
        return self.quota.used if self.quota is not None else 0
