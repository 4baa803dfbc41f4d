"""The pacer alone, in virtual time (issue 15 goal 4): what :mod:`syncer.reevo.pacing` reaches
against a model of the sandbox's limit, with no CPU in the way.

bench_push.py measures the whole client against a real sandbox process; on a shared 2-core
machine its figures move with the load. This runs the real :class:`RateController` on an
event loop whose clock jumps to the next timer (no waiting, no CPU limit): WORKERS workers
send ROWS requests through it to a token bucket of LIMIT req/s holding 0.2 s of tokens (the
sandbox's default), answered after LATENCY ms, 429 with ``Retry-After: 1`` (whole seconds,
>= 1) when the bucket is empty; a throttled request is sent again after Retry-After. With
``--pair`` the second run starts where the first left off, through the same functions and a
ledger file as ``syncer run`` (:mod:`syncer.runner.rates`).

    .venv/bin/python bench/bench_pacing_sim.py --rates 50,200,1000 --rows 20000 --pair --seeds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncer.ledger import Ledger, org_id  # noqa: E402
from syncer.push import PushSettings  # noqa: E402
from syncer.reevo.pacing import RateController  # noqa: E402
from syncer.runner.rates import remember, start_pacer  # noqa: E402

URL = "https://sim.invalid"
KEY = "sim-key"


class VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer when nothing is ready."""

    def __init__(self) -> None:
        super().__init__()
        self._now = 0.0

    def time(self) -> float:
        return self._now

    def _run_once(self) -> None:
        ready, scheduled = self._ready, self._scheduled  # type: ignore[attr-defined]
        if not ready and scheduled:
            self._now = max(self._now, scheduled[0].when())
        super()._run_once()  # type: ignore[misc]


class Bucket:
    """The sandbox's limiter: ``rate`` tokens a second, ``burst`` at most."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate, self.burst = rate, max(1.0, 0.2 * rate)
        self.tokens, self.at = self.burst, now

    def take(self, now: float) -> int:
        """0: admitted; else the Retry-After in whole seconds."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - self.tokens) / self.rate))


async def one_run(
    limit: float, rows: int, workers: int, latency_s: float, pacer: RateController, seed: int
) -> dict[str, Any]:
    """Push ``rows`` requests through ``pacer`` to a :class:`Bucket` of ``limit`` req/s."""
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    bucket = Bucket(limit, loop.time())
    todo = list(range(rows))
    counts = {"requests": 0, "throttled": 0}
    start = loop.time()

    async def worker() -> None:
        while todo:
            todo.pop()
            while True:
                await pacer.acquire()
                counts["requests"] += 1
                # the request reaches the server after a little jitter, the answer after latency
                await asyncio.sleep(rng.uniform(0.0, 0.004))
                retry_after = bucket.take(loop.time())
                await asyncio.sleep(latency_s)
                if not retry_after:
                    pacer.on_success()
                    break
                counts["throttled"] += 1
                pacer.on_throttle(float(retry_after))
                await asyncio.sleep(retry_after)

    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = loop.time() - start
    accepted = (counts["requests"] - counts["throttled"]) / elapsed
    return {
        "elapsed_s": round(elapsed, 1),
        **counts,
        "achieved_over_limit": round(accepted / limit, 3),
        "share_429": round(counts["throttled"] / counts["requests"], 5),
        "cuts": pacer.cuts,
    }


def simulated(
    limit: float, rows: int, latency_s: float, ledger: Ledger, run: int, seed: int
) -> dict[str, Any]:
    """One run on a :class:`VirtualLoop`, its pacer started and remembered as syncer run's."""
    workers = max(8, min(256, math.ceil(limit * (latency_s + 0.01) * 2)))
    settings = PushSettings(concurrency=workers)
    org = org_id(URL, api_key=KEY)
    loop = VirtualLoop()
    try:
        rng = random.Random(seed * 10 + run)
        pacer = RateController(
            settings.initial_rate, settings.max_rate, clock=loop.time, rng=rng.random
        )
        start = start_pacer(
            pacer, ledger, org, "account_contact", base_url=URL, api_key=KEY, settings=settings
        )
        result = loop.run_until_complete(
            one_run(limit, rows, workers, latency_s, pacer, seed * 10 + run)
        )
    finally:
        loop.close()
    kept = remember(
        pacer, ledger, org, "account_contact", base_url=URL, api_key=KEY, run_id=run,
        before=start.remembered,
    )  # fmt: skip
    result.update(
        limit=limit, seed=seed, run=run, workers=workers, start=round(start.rate, 1),
        kept=round(kept.rate, 1) if kept else None,
    )  # fmt: skip
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="50,200,1000")
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--pair", action="store_true", help="a second run starts near the first's")
    ap.add_argument("--seeds", type=int, default=3, help="runs (pairs) per limit")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for raw in args.rates.split(","):
            for seed in range(args.seeds):
                with Ledger(Path(tmp) / f"sim{raw}-{seed}.db") as ledger:
                    for run in (1, 2) if args.pair else (1,):
                        result = simulated(
                            float(raw), args.rows, args.latency_ms / 1000, ledger, run, seed
                        )
                        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
