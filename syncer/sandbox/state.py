"""The running sandbox's mutable state: store, keys, limits, faults and request statistics."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from syncer.sandbox.keys import KeyRing
from syncer.sandbox.limits import Limiter
from syncer.sandbox.seed import apply_seed, build_seed, load_seed_file
from syncer.sandbox.settings import FaultSettings, SandboxSettings
from syncer.sandbox.store import Store
from syncer.sandbox.util import now_iso

#: what ``Stats.by_route`` strips from a route template (targets name paths without it)
PUBLIC_PATH = "/api/v1/public/"


@dataclass(slots=True)
class Stats:
    """Counters of public requests (admin requests are not counted)."""

    total: int = 0
    writes: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_path_status: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    #: by method and route, the path as a target names it: ``PATCH opportunities/{opportunity_id}``
    by_route: Counter[str] = field(default_factory=Counter)
    by_route_status: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )

    def record(self, path: str, status: str, method: str = "") -> None:
        """Count one finished request (status is the code, or ``reset`` for a dropped one);
        ``path`` is the route template, ``method`` the request's (counted by route too)."""
        self.total += 1
        self.by_path[path] += 1
        self.by_status[status] += 1
        self.by_path_status[path][status] += 1
        if method:
            route = f"{method} {path.removeprefix(PUBLIC_PATH)}"
            self.by_route[route] += 1
            self.by_route_status[route][status] += 1

    def as_dict(self, quota_used: int) -> dict[str, Any]:
        """The ``GET /_sandbox/stats`` body."""
        return {
            "total_requests": self.total,
            "writes_applied": self.writes,
            "rate_limited": self.by_status.get("429", 0),
            "resets": self.by_status.get("reset", 0),
            "quota_used": quota_used,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "by_path": dict(self.by_path),
            "by_status": dict(self.by_status),
            "by_path_status": {p: dict(c) for p, c in self.by_path_status.items()},
            "by_route": dict(self.by_route),
            "by_route_status": {r: dict(c) for r, c in self.by_route_status.items()},
        }


class SandboxState:
    """Everything one sandbox app holds. Mutated only on the server's event loop."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        assert settings.api_key is not None
        self.api_key: str = settings.api_key
        self.rng = random.Random(settings.random_seed)
        self.faults: FaultSettings = settings.faults()
        problems = self.faults.problems()
        if problems:
            from syncer.errors import ConfigError

            raise ConfigError("invalid sandbox settings: " + "; ".join(problems), problems)
        file_seed = load_seed_file(settings.seed_path) if settings.seed_path else None
        self.seed = build_seed(file_seed, settings.example_data)
        self.keys = KeyRing(self.api_key)
        self.limiter = Limiter(
            self.faults.rate_limit, self.faults.daily_quota, self.faults.rate_burst
        )
        self.stats = Stats()
        self.store = Store(settings.db_path)
        if not self.store.load():
            apply_seed(self.store, self.seed, now_iso())

    def reset(self) -> None:
        """Back to the seed: data, extra keys, stats and limit counters (faults are kept)."""
        self.store.clear()
        apply_seed(self.store, self.seed, now_iso())
        self.keys.reset()
        in_flight = self.stats.in_flight  # requests still running finish on the new counters
        self.stats = Stats(in_flight=in_flight, max_in_flight=in_flight)
        self.limiter.reset()

    def set_faults(self, changes: dict[str, Any]) -> list[str]:
        """Apply fault/limit changes atomically; returns problems (nothing applied if any)."""
        unknown = [k for k in changes if k not in FaultSettings.names()]
        if unknown:
            return [f"unknown fault setting(s) {unknown}; known: {sorted(FaultSettings.names())}"]
        merged = {**self.faults.as_dict(), **changes}
        problems = []
        for name, value in changes.items():
            nullable = name in ("rate_limit", "rate_burst", "daily_quota")
            if name in ("commit_then_fail_mode", "fault_routes"):
                ok = isinstance(value, str)
            elif value is None:
                ok = nullable
            else:
                ok = isinstance(value, int | float) and not isinstance(value, bool)
                ok = ok and (name != "daily_quota" or float(value).is_integer())
            if not ok:
                problems.append(f"{name}: bad value {value!r}")
        if problems:
            return problems
        if merged["daily_quota"] is not None:
            merged["daily_quota"] = int(merged["daily_quota"])
        candidate = FaultSettings(**merged)
        problems = candidate.problems()
        if problems:
            return problems
        self.faults = candidate
        self.limiter.configure(candidate.rate_limit, candidate.daily_quota, candidate.rate_burst)
        return []
