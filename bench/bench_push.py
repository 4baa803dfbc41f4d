"""Push benchmark (issue 4): how close syncer gets to Reevo's rate limit, and its own ceiling.

The sandbox runs in a SEPARATE process (``python -m syncer sandbox``) so client and server do not
share a GIL. For each rate limit: push ROWS account_contact upserts against a sandbox with
LATENCY ms per request, report achieved rate / limit (goal >= 0.95) and the share of requests
answered 429 (goal <= 1 %). ``--rates 0`` (the default includes it) measures the client's
ceiling: no limit, no latency; the client's CPU seconds per request give the rate at which the
client itself would saturate one core.

``--pair`` (issue 15): two runs per limit sharing one ledger (a fresh temporary file), as
``syncer run`` pairs them: the first starts at 10 req/s and climbs, and its measured rate is
kept in the ledger (:mod:`syncer.runner.rates`); the second starts near it. The sandbox's
store and stats are reset between them, so each run's 429 share is its own.

Runnable in parts (a shell command here is limited to 10 minutes)::

    .venv/bin/python bench/bench_push.py --rates 200 --rows 5000
    .venv/bin/python bench/bench_push.py --rates 50,200,1000,0 --rows 20000 --json out.json
    .venv/bin/python bench/bench_push.py --rates 200 --rows 20000 --pair --uvloop
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox_process import Sandbox  # noqa: E402

from syncer import events  # noqa: E402
from syncer.ledger import Ledger, org_id  # noqa: E402
from syncer.models import RowOutcome, RowStatus  # noqa: E402
from syncer.push import PushSettings, make_client, push_rows  # noqa: E402
from syncer.reevo.pacing import RateController  # noqa: E402
from syncer.runner.rates import remember, start_pacer  # noqa: E402

KEY = "bench-key-0123456789"


def concurrency_for(limit: float, latency_ms: float) -> int:
    """Little's law x 2, bounded: enough requests in flight to reach the limit."""
    if limit <= 0:
        return 64
    return max(8, min(256, math.ceil(limit * (latency_ms / 1000 + 0.01) * 2)))


async def one_run(
    base_url: str,
    rows: int,
    settings: PushSettings,
    tag: str,
    pacer: RateController | None = None,
) -> dict[str, Any]:
    done_at: list[float] = []

    def on_outcome(o: RowOutcome) -> None:
        if o.status is RowStatus.SUCCEEDED:
            done_at.append(time.monotonic())

    items = (
        (i, f"{tag}{i}@bench.example.org", {"email": f"{tag}{i}@bench.example.org"})
        for i in range(rows)
    )
    cpu0 = time.process_time()
    async with make_client(KEY, settings, base_url=base_url) as client:
        report = await push_rows(
            client, "account_contact", items, settings, on_outcome, pacer=pacer
        )
    cpu = time.process_time() - cpu0
    half = done_at[len(done_at) // 2 :]
    steady = (len(half) - 1) / (half[-1] - half[0]) if len(half) > 1 else 0.0
    return {
        "rows": rows,
        "succeeded": len(done_at),
        "requests": report.requests,
        "throttled": report.throttled,
        "elapsed_s": round(report.elapsed_s, 2),
        "accepted_rate": round(report.accepted_rate, 1),
        "steady_rate": round(steady, 1),
        "final_pacer_rate": round(report.final_rate, 1),
        "client_cpu_s": round(cpu, 2),
        "client_cpu_ms_per_request": round(1000 * cpu / max(1, report.requests), 3),
        "aborted": report.aborted.reason if report.aborted else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="50,200,1000,0", help="limits in req/s; 0 = no limit")
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, default=None, help="default: Little's law x 2")
    ap.add_argument("--uvloop", action="store_true", help="run the client on uvloop")
    ap.add_argument("--json", type=Path, default=None, help="append results (JSON lines)")
    ap.add_argument(
        "--pair",
        action="store_true",
        help="two runs per limit sharing a ledger: the second starts near the first's rate",
    )
    args = ap.parse_args()
    sandbox = Sandbox(KEY)
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if args.uvloop:
        import uvloop

        loop_factory = uvloop.new_event_loop
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for raw in args.rates.split(","):
                limit = float(raw)
                latency = args.latency_ms if limit > 0 else 0.0
                conc = args.concurrency or concurrency_for(limit, latency)
                settings = PushSettings(concurrency=conc, timeout_s=30.0)
                ledger = Ledger(Path(tmp) / f"pair{int(limit)}.db") if args.pair else None
                for run in (1, 2) if args.pair else (1,):
                    sandbox.configure(rate_limit=limit or None, latency_ms=latency)
                    tag = f"r{int(limit)}x{os.getpid()}t{int(time.time())}n{run}n"
                    with asyncio.Runner(loop_factory=loop_factory) as runner:
                        result = runner.run(
                            measured(sandbox, args.rows, settings, tag, ledger, run)
                        )
                    result.update(uvloop=args.uvloop, limit=limit or None, latency_ms=latency)
                    result.update(concurrency=conc, **server_share(sandbox))
                    if limit:
                        result["achieved_over_limit"] = round(result["accepted_rate"] / limit, 3)
                        result["steady_over_limit"] = round(result["steady_rate"] / limit, 3)
                    else:
                        per_req = result["client_cpu_ms_per_request"] / 1000
                        result["client_cpu_ceiling_rps"] = round(1 / per_req) if per_req else None
                    line = json.dumps(result)
                    print(line, flush=True)
                    if args.json:
                        with args.json.open("a", encoding="utf-8") as fh:
                            fh.write(line + "\n")
                if ledger is not None:
                    ledger.close()
    finally:
        sandbox.close()


async def measured(
    sandbox: Sandbox,
    rows: int,
    settings: PushSettings,
    tag: str,
    ledger: Ledger | None,
    run: int,
) -> dict[str, Any]:
    """One run; with a ledger (``--pair``) its pacer starts where the ledger says, as
    ``syncer run``'s does, and what it measured is kept for the next."""
    if ledger is None:
        return await one_run(sandbox.base_url, rows, settings, tag)
    pacer = RateController(settings.initial_rate, settings.max_rate)
    org = org_id(sandbox.base_url, api_key=KEY)
    url = sandbox.base_url
    start = start_pacer(
        pacer, ledger, org, "account_contact", base_url=url, api_key=KEY, settings=settings
    )
    changes = _PacerLog()
    logger = logging.getLogger(events.PacerRateChanged.logger)
    logger.addHandler(changes)
    logger.setLevel(logging.INFO)
    try:
        result = await one_run(url, rows, settings, tag, pacer)
    finally:
        logger.removeHandler(changes)
    kept = remember(
        pacer, ledger, org, "account_contact", base_url=url, api_key=KEY, run_id=run,
        before=start.remembered,
    )  # fmt: skip
    result.update(
        run=run,
        start=start.to_dict(),
        start_note=start.note,
        pacer_cuts=pacer.cuts,
        cuts=changes.cuts,
        kept={"rate": kept.rate, "capped": kept.capped, "hold_s": kept.hold_s} if kept else None,
    )
    return result


class _PacerLog(logging.Handler):
    """The pacer's cuts as (seconds since the run started, old rate, new rate)."""

    def __init__(self) -> None:
        super().__init__()
        self.t0 = time.monotonic()
        self.cuts: list[tuple[float, float, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "syncer_event", None)
        if isinstance(event, events.PacerRateChanged) and event.reason == "cut":
            self.cuts.append((round(time.monotonic() - self.t0, 1), event.old, event.new))


def server_share(sandbox: Sandbox) -> dict[str, Any]:
    """The sandbox's count of requests and 429s since its last reset, and their share."""
    stats = sandbox.stats()
    return {
        "server_requests": stats["total_requests"],
        "server_429": stats["rate_limited"],
        "share_429": round(stats["rate_limited"] / max(1, stats["total_requests"]), 4),
    }


if __name__ == "__main__":
    main()
