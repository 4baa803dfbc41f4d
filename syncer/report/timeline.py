"""The run's timeline: per-second buckets of requests, rows succeeded, 429s, retries and the
pacer's rate, recorded while the rows are pushed.

Each event is one bucket update (an index from the clock and one increment). Memory is bounded:
when a run outlasts ``max_buckets`` buckets, neighbouring buckets are merged in pairs and the
bucket doubles its width (2 s, 4 s...), so a day-long run keeps at most ``max_buckets`` of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: the most buckets a timeline keeps (one hour at one second each)
MAX_BUCKETS = 3600


@dataclass
class TimelineData:
    """A finished timeline: ``bucket_s``-wide buckets from ``started_at`` (epoch seconds).

    ``requests``, ``succeeded``, ``throttled`` (429 answers) and ``retries`` are counts per
    bucket; ``rate`` is the pacer's rate (requests per second) at the end of each bucket.
    """

    started_at: float
    bucket_s: float = 1.0
    requests: list[int] = field(default_factory=list)
    succeeded: list[int] = field(default_factory=list)
    throttled: list[int] = field(default_factory=list)
    retries: list[int] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)

    @property
    def buckets(self) -> int:
        """How many buckets there are."""
        return len(self.requests)

    @property
    def duration_s(self) -> float:
        """Seconds the timeline covers."""
        return self.buckets * self.bucket_s

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (read back by :meth:`from_json`)."""
        return {
            "started_at": self.started_at,
            "bucket_s": self.bucket_s,
            "requests": self.requests,
            "succeeded": self.succeeded,
            "throttled": self.throttled,
            "retries": self.retries,
            "rate": [round(r, 3) for r in self.rate],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TimelineData:
        """The timeline :meth:`to_json` wrote; series of unequal length are cut to the shortest."""
        series = {k: list(data.get(k) or []) for k in _SERIES}
        n = min(len(v) for v in series.values())
        return cls(
            started_at=float(data.get("started_at", 0.0)),
            bucket_s=float(data.get("bucket_s", 1.0)) or 1.0,
            requests=[int(v) for v in series["requests"][:n]],
            succeeded=[int(v) for v in series["succeeded"][:n]],
            throttled=[int(v) for v in series["throttled"][:n]],
            retries=[int(v) for v in series["retries"][:n]],
            rate=[float(v) for v in series["rate"][:n]],
        )


_SERIES = ("requests", "succeeded", "throttled", "retries", "rate")


class Timeline:
    """Records a run's events into per-second buckets (see the module docstring).

    Not thread-safe: call it from the run's event loop. ``clock`` is monotonic seconds,
    ``wall`` epoch seconds (the start shown in the report); both injectable for tests.
    """

    __slots__ = (
        "_clock",
        "_last_rate",
        "_scale",
        "_t0",
        "bucket_s",
        "max_buckets",
        "rate",
        "requests",
        "retries",
        "started_at",
        "succeeded",
        "throttled",
    )

    def __init__(
        self,
        *,
        max_buckets: int = MAX_BUCKETS,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if max_buckets < 2:
            raise ValueError("max_buckets must be at least 2")
        self._clock = clock
        self._t0 = clock()
        self.started_at = wall()
        self.max_buckets = max_buckets
        self.bucket_s = 1.0
        self._scale = 1.0  # 1 / bucket_s
        self._last_rate = 0.0
        self.requests: list[int] = []
        self.succeeded: list[int] = []
        self.throttled: list[int] = []
        self.retries: list[int] = []
        self.rate: list[float] = []

    # -- events (one bucket update each) -------------------------------------------------
    def request(self, rate: float) -> None:
        """One HTTP request is sent; ``rate``: the pacer's rate now."""
        i = self._index()
        self.requests[i] += 1
        self.rate[i] = self._last_rate = rate

    def row_succeeded(self) -> None:
        """One row was accepted by Reevo."""
        self.succeeded[self._index()] += 1

    def throttle(self) -> None:
        """One answer was a 429."""
        self.throttled[self._index()] += 1

    def retry(self) -> None:
        """One row is sent again."""
        self.retries[self._index()] += 1

    # -- reading -------------------------------------------------------------------------
    def data(self) -> TimelineData:
        """A copy of what was recorded so far."""
        return TimelineData(
            started_at=self.started_at,
            bucket_s=self.bucket_s,
            requests=list(self.requests),
            succeeded=list(self.succeeded),
            throttled=list(self.throttled),
            retries=list(self.retries),
            rate=list(self.rate),
        )

    # -- buckets -------------------------------------------------------------------------
    def _index(self) -> int:
        i = int((self._clock() - self._t0) * self._scale)
        if i < len(self.requests):
            return i
        while i >= self.max_buckets:
            self._coarsen()
            i = int((self._clock() - self._t0) * self._scale)
        grow = i + 1 - len(self.requests)
        if grow > 0:
            zeros = [0] * grow
            self.requests += zeros
            self.succeeded += zeros
            self.throttled += zeros
            self.retries += zeros
            self.rate += [self._last_rate] * grow  # the rate holds while nothing happens
        return i

    def _coarsen(self) -> None:
        """Merge neighbouring buckets in pairs; each bucket is twice as wide after."""
        for name in ("requests", "succeeded", "throttled", "retries"):
            old: list[int] = getattr(self, name)
            setattr(self, name, [sum(old[j : j + 2]) for j in range(0, len(old), 2)])
        self.rate = [self.rate[min(j + 1, len(self.rate) - 1)] for j in range(0, len(self.rate), 2)]
        self.bucket_s *= 2
        self._scale = 1.0 / self.bucket_s
