"""Settings of the local Reevo sandbox: where it listens, its limits and its fault knobs."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

#: Commit-then-fail modes: answer 500 after the write, drop the connection, or pick one at random.
COMMIT_FAIL_MODES = ("500", "drop", "mixed")
#: the methods a ``fault_routes`` entry may name
ROUTE_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


def new_api_key() -> str:
    """A fresh random sandbox API key."""
    return "rv_sbx_" + secrets.token_urlsafe(24)


@dataclass(slots=True)
class FaultSettings:
    """Knobs that can be changed while the sandbox runs (``PUT /_sandbox/faults``)."""

    latency_ms: float = 0.0  # added to every public request
    jitter_ms: float = 0.0  # plus uniform(0, jitter_ms)
    fail_rate: float = 0.0  # share answered 500/502/503 before anything is applied
    reset_rate: float = 0.0  # share whose connection is dropped before anything is applied
    slow_rate: float = 0.0  # share delayed by slow_ms (slower than a client timeout)
    slow_ms: float = 30_000.0
    commit_then_fail_rate: float = 0.0  # share of writes applied, then answered 500 / dropped
    commit_then_fail_mode: str = "mixed"  # "500" | "drop" | "mixed"
    #: the routes the failures above hit, comma-separated as stats' ``by_route`` names them
    #: (``POST accounts, POST opportunities``); empty: every route
    fault_routes: str = ""
    rate_limit: float | None = None  # requests per second per organisation; None = unlimited
    rate_burst: float | None = None  # bucket size in requests; None = max(1, 0.2 s of rate)
    daily_quota: int | None = None  # public requests per UTC day; None = unlimited

    def problems(self) -> list[str]:
        """Every invalid value, as readable messages (empty when all are fine)."""
        out: list[str] = []
        for name in ("fail_rate", "reset_rate", "slow_rate", "commit_then_fail_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                out.append(f"{name} must be between 0 and 1, got {value}")
        if self.fail_rate + self.reset_rate + self.slow_rate > 1.0:
            out.append("fail_rate + reset_rate + slow_rate must not exceed 1")
        for name in ("latency_ms", "jitter_ms", "slow_ms"):
            if getattr(self, name) < 0:
                out.append(f"{name} must be >= 0")
        if self.rate_limit is not None and self.rate_limit <= 0:
            out.append("rate_limit must be > 0 (or null for unlimited)")
        if self.rate_burst is not None and self.rate_burst < 1:
            out.append("rate_burst must be >= 1 (or null for the default)")
        if self.daily_quota is not None and self.daily_quota < 0:
            out.append("daily_quota must be >= 0 (or null for unlimited)")
        if self.commit_then_fail_mode not in COMMIT_FAIL_MODES:
            out.append(f"commit_then_fail_mode must be one of {', '.join(COMMIT_FAIL_MODES)}")
        for route in self.routes():
            method, _, path = route.partition(" ")
            if method not in ROUTE_METHODS or not path or " " in path or path.startswith("/"):
                out.append(
                    f"fault_routes: {route!r} is not a route like 'POST accounts' or "
                    "'PATCH opportunities/{opportunity_id}'"
                )
        return out

    def routes(self) -> frozenset[str]:
        """The routes of :attr:`fault_routes` (empty: the failures hit every route)."""
        return frozenset(r.strip() for r in self.fault_routes.split(",") if r.strip())

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every knob."""
        return asdict(self)

    @classmethod
    def names(cls) -> set[str]:
        """The names of every knob."""
        return {f.name for f in fields(cls)}


@dataclass(slots=True)
class SandboxSettings:
    """How to start a sandbox. ``api_key=None`` generates one; ``db_path=None`` = in memory.

    The settings' ``api_key`` has every permission. Fault knobs here are the starting values;
    all of them can be changed at run time through ``PUT /_sandbox/faults``.
    """

    host: str = "127.0.0.1"
    port: int = 8765
    db_path: str | None = None
    api_key: str | None = None
    rate_limit: float | None = None
    daily_quota: int | None = None
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    fail_rate: float = 0.0
    seed_path: Path | None = None
    reset_rate: float = 0.0
    slow_rate: float = 0.0
    slow_ms: float = 30_000.0
    commit_then_fail_rate: float = 0.0
    commit_then_fail_mode: str = "mixed"
    fault_routes: str = ""
    rate_burst: float | None = None
    random_seed: int | None = None  # makes fault decisions reproducible
    example_data: bool = True  # seed the help page's example account/contacts
    organisation: str = "Acme Demo"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.api_key is None:
            self.api_key = new_api_key()

    def faults(self) -> FaultSettings:
        """The starting fault/limit knobs."""
        return FaultSettings(**{n: getattr(self, n) for n in FaultSettings.names()})
