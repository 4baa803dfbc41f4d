"""Charts as plain geometry: SVG path data computed from numbers only (no text from a file or a
server ever reaches a path), drawn by the template in a ``viewBox`` of
:data:`WIDTH` x :data:`HEIGHT` stretched to the page's width."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from syncer.report.timeline import TimelineData

WIDTH = 1000
HEIGHT = 100
#: the most points a series is drawn with (longer timelines are averaged into this many)
MAX_POINTS = 400


@dataclass
class Series:
    """One drawn series: ``kind`` area or line, its CSS class and its legend label."""

    label: str
    css: str
    kind: str  # "area" | "line"
    path: str
    total: float
    peak: float  # per second


@dataclass
class Chart:
    """A chart: its series, the top of its y axis and the seconds it covers."""

    title: str
    unit: str
    y_max: float
    duration_s: float
    series: list[Series] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when every series is zero throughout."""
        return all(s.peak == 0 for s in self.series)


@dataclass
class Segment:
    """One status of the status bar."""

    status: str
    count: int
    percent: float


def status_bar(counts: dict[str, int], order: tuple[str, ...]) -> list[Segment]:
    """The non-empty statuses in ``order`` with their share of all rows (percent)."""
    total = sum(counts.get(s, 0) for s in order)
    if total == 0:
        return []
    return [
        Segment(s, counts[s], round(100.0 * counts[s] / total, 3))
        for s in order
        if counts.get(s, 0) > 0
    ]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is at least ``value`` (1 for 0)."""
    if value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        top = step * 10.0**exp
        if top >= value - 1e-9:
            return top
    return 10.0 ** (exp + 1)  # pragma: no cover - 10.0 above always matches


def _per_second(counts: list[int], bucket_s: float, group: int) -> list[float]:
    return [
        sum(counts[i : i + group]) / (bucket_s * len(counts[i : i + group]))
        for i in range(0, len(counts), group)
    ]


def _last(values: list[float], group: int) -> list[float]:
    return [values[min(i + group, len(values)) - 1] for i in range(0, len(values), group)]


def _steps(values: list[float], y_max: float, area: bool) -> str:
    """Step-shaped path data: each value held across its bucket's width."""
    n = len(values)
    if n == 0:
        return ""
    dx = WIDTH / n
    parts = [f"M0 {HEIGHT}" if area else ""]
    for i, v in enumerate(values):
        y = HEIGHT - min(v, y_max) / y_max * HEIGHT
        x0, x1 = i * dx, (i + 1) * dx
        verb = "L" if area or i else "M"
        parts.append(f"{verb}{x0:.1f} {y:.2f}L{x1:.1f} {y:.2f}")
    if area:
        parts.append(f"L{WIDTH} {HEIGHT}Z")
    return "".join(parts)


def _series(
    label: str, css: str, values: list[float], top: float, total: float, *, area: bool = False
) -> Series:
    kind = "area" if area else "line"
    return Series(label, css, kind, _steps(values, top, area), total, max(values))


def timeline_charts(data: TimelineData) -> list[Chart]:
    """Two charts: requests, rows succeeded and the pacer's rate per second; 429s and retries
    per second. A timeline longer than :data:`MAX_POINTS` buckets is averaged into that many."""
    n = data.buckets
    if n == 0:
        return []
    group = max(1, math.ceil(n / MAX_POINTS))
    bucket = data.bucket_s
    requests = _per_second(data.requests, bucket, group)
    succeeded = _per_second(data.succeeded, bucket, group)
    rate = _last(data.rate, group)
    throttled = _per_second(data.throttled, bucket, group)
    retries = _per_second(data.retries, bucket, group)
    duration = data.duration_s

    top = nice_ceiling(max([*requests, *succeeded, *rate]))
    traffic = Chart("Requests per second", "requests/s", top, duration)
    traffic.series = [
        _series("requests for rows", "s-requests", requests, top, sum(data.requests), area=True),
        _series("rows succeeded", "s-succeeded", succeeded, top, sum(data.succeeded)),
        _series("pacer's rate", "s-rate", rate, top, rate[-1]),  # its total: the last rate
    ]
    top = nice_ceiling(max([*throttled, *retries]))
    trouble = Chart("429s and retries per second", "per second", top, duration)
    trouble.series = [
        _series("429 answers", "s-throttled", throttled, top, sum(data.throttled), area=True),
        _series("retries", "s-retries", retries, top, sum(data.retries)),
    ]
    return [traffic, trouble]


def duration_text(seconds: float) -> str:
    """``0.4 s``, ``42 s``, ``3 min 05 s``, ``2 h 01 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def number(value: float) -> str:
    """``12``, ``3.5``, ``1,234``: what an axis or a total shows."""
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}" if value >= 10 else f"{value:.2g}"
