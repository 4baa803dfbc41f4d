"""Push benchmark (issue 4): how close syncer gets to Reevo's rate limit, and its own ceiling.

The sandbox runs in a SEPARATE process (``python -m syncer sandbox``) so client and server do not
share a GIL. For each rate limit: push ROWS account_contact upserts against a sandbox with
LATENCY ms per request, report achieved rate / limit (goal >= 0.95) and the share of requests
answered 429 (goal <= 1 %). ``--rates 0`` (the default includes it) measures the client's
ceiling: no limit, no latency; the client's CPU seconds per request give the rate at which the
client itself would saturate one core.

Runnable in parts (a shell command here is limited to 10 minutes)::

    .venv/bin/python bench/bench_push.py --rates 200 --rows 5000
    .venv/bin/python bench/bench_push.py --rates 50,200,1000,0 --rows 20000 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox_process import Sandbox  # noqa: E402

from syncer.models import RowOutcome, RowStatus  # noqa: E402
from syncer.push import PushSettings, make_client, push_rows  # noqa: E402

KEY = "bench-key-0123456789"


def concurrency_for(limit: float, latency_ms: float) -> int:
    """Little's law x 2, bounded: enough requests in flight to reach the limit."""
    if limit <= 0:
        return 64
    return max(8, min(256, math.ceil(limit * (latency_ms / 1000 + 0.01) * 2)))


async def one_run(base_url: str, rows: int, settings: PushSettings, tag: str) -> dict[str, Any]:
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
        report = await push_rows(client, "account_contact", items, settings, on_outcome)
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
    args = ap.parse_args()
    sandbox = Sandbox(KEY)
    try:
        for raw in args.rates.split(","):
            limit = float(raw)
            latency = args.latency_ms if limit > 0 else 0.0
            sandbox.configure(rate_limit=limit or None, latency_ms=latency)
            conc = args.concurrency or concurrency_for(limit, latency)
            settings = PushSettings(concurrency=conc, timeout_s=30.0)
            tag = f"r{int(limit)}x{os.getpid()}t{int(time.time())}n"
            loop_factory = None
            if args.uvloop:
                import uvloop

                loop_factory = uvloop.new_event_loop
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                result = runner.run(one_run(sandbox.base_url, args.rows, settings, tag))
            result["uvloop"] = args.uvloop
            stats = sandbox.stats()
            result.update(
                limit=limit or None,
                latency_ms=latency,
                concurrency=conc,
                server_requests=stats["total_requests"],
                server_429=stats["rate_limited"],
                share_429=round(stats["rate_limited"] / max(1, stats["total_requests"]), 4),
            )
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
    finally:
        sandbox.close()


if __name__ == "__main__":
    main()
