"""Ledger benchmark (issue 5): what remembering every row costs, next to the same push without it.

One invocation pushes the same generated file through ``syncer.runner.sync`` in three ways,
interleaved over ``--rounds`` rounds against ONE sandbox in a separate process
(``python -m syncer sandbox``, so client and server do not share a GIL):

- ``none``: ``Settings(ledger=None)`` (no lookups, no records, no run history);
- ``cold``: a fresh ledger (every key looked up and missed, every success recorded);
- ``warm``: the cold round's ledger again with ``full=True`` (every key found, then re-sent and
  its row updated: the nightly re-run that changed everything).

Each run is paced at ``--rate`` requests per second (default 1,000). Reported per mode: median
wall time, rows/s reached, client CPU (this process only; the sandbox is another process) and
its change over ``none``, and the time spent INSIDE the Ledger methods sync() calls (this
thread's CPU, and wall, which also catches any blocking I/O and OS preemption), per row and as
a share of the per-row budget at the rate (1,000 µs at 1,000 req/s): the ledger's cost in the
run itself, free of the run-to-run noise of the totals. A second part times the ledger alone on
``--keys`` keys (record + batched commit, lookup; inserts, then updates), the 1M-row case.

    .venv/bin/python bench/bench_ledger.py                     # 3,000 rows x 5 rounds, 1M keys
    .venv/bin/python bench/bench_ledger.py --rows 20000 --rounds 5 --json bench/out/ledger.json
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncer.ledger import Ledger, snapshot, write_count  # noqa: E402
from syncer.models import RowOutcome, RowStatus  # noqa: E402
from syncer.push import PushSettings  # noqa: E402
from syncer.runner import Settings, sync  # noqa: E402

MAPPING = """\
target: account_contact
columns:
  email: Email
  first_name: First Name
  last_name: Last Name
  company: Company
  title: Job Title
dedupe: {keep: last}
"""
MODES = ("none", "cold", "warm")
from sandbox_process import Sandbox  # noqa: E402

KEY = "bench-ledger-key-0123456789"


def write_file(path: Path, rows: int) -> None:
    """``rows`` distinct leads (5 columns)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Email", "First Name", "Last Name", "Company", "Job Title"])
        for i in range(rows):
            w.writerow([f"lead{i:07d}@example{i % 50}.com", f"F{i}", f"L{i}", f"Co {i % 50}", "VP"])


class _InLedger:
    """Time spent inside the Ledger methods sync() calls (wall and this thread's CPU).

    The wrapped methods never call one another, so nothing is counted twice.
    """

    METHODS = ("__init__", "start_run", "lookup", "record", "finish_run", "close")

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0
        self.by_method: dict[str, float] = {}  # CPU seconds
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> _InLedger:
        for name in self.METHODS:
            fn = self._saved[name] = getattr(Ledger, name)
            setattr(Ledger, name, self._timed(name, fn))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, fn in self._saved.items():
            setattr(Ledger, name, fn)

    def _timed(self, name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kw: Any) -> Any:
            w, c = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kw)
            finally:
                cpu = time.thread_time() - c
                self.wall += time.perf_counter() - w
                self.cpu += cpu
                self.by_method[name] = self.by_method.get(name, 0.0) + cpu

        return wrapper


def one_run(work: Path, sandbox: Sandbox, mode: str, rnd: int, rate: float) -> dict[str, Any]:
    """One paced sync() of the file in ``mode``; wall and client CPU seconds, time in ledger."""
    ledger = None if mode == "none" else work / f"ledger-{rnd}.db"
    settings = Settings(
        base_url=sandbox.base_url,
        api_key=KEY,
        ledger=ledger,
        full=mode == "warm",
        preflight=False,
        results=work / f"{mode}-{rnd}.results.csv",
        push=PushSettings(concurrency=32, max_rate=rate, initial_rate=rate),
    )
    sandbox.configure()
    with _InLedger() as inside:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        summary = sync(work / "leads.csv", work / "leads.yaml", settings)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    sent = summary.counts.get("succeeded", 0)
    assert sent == summary.rows, f"{mode}: {summary.counts}"
    return {
        "mode": mode,
        "round": rnd,
        "rows": sent,
        "wall_s": wall,
        "cpu_s": cpu,
        "in_ledger_wall_s": inside.wall,
        "in_ledger_cpu_s": inside.cpu,
        "in_ledger_cpu_by_method_s": inside.by_method,
    }


def ledger_alone(keys: int, work: Path, *, counted: bool = True) -> dict[str, float]:
    """µs per row (wall; and this thread's CPU for the records) on ``keys`` keys: record +
    batched commit, then lookup in batches of 500, first into an empty ledger (inserts,
    misses) then again (updates, hits). ``counted`` False: without the write count's triggers
    (the ledger before them). Counted, also the seconds to write the snapshot of those keys
    (what a run that changed rows pays at its end)."""
    names = [f"lead{i:07d}@example{i % 50}.com" for i in range(keys)]
    ok = RowOutcome(0, RowStatus.SUCCEEDED, contact_id="c" * 36, account_id="a" * 36)
    out: dict[str, float] = {"keys": keys}
    path = work / f"alone-{counted}.db"
    with Ledger(path) as led:
        if not counted:
            for trigger in write_count.TRIGGERS:
                led.connection.execute(f"DROP TRIGGER {trigger}")
        for phase in ("insert", "update"):
            t, c = time.perf_counter(), time.thread_time()
            for name in names:
                led.record("org", "account_contact", 1, name, "f" * 64, ok)
            led.flush()
            out[f"{phase}_record_us_per_row"] = (time.perf_counter() - t) / keys * 1e6
            out[f"{phase}_record_cpu_us_per_row"] = (time.thread_time() - c) / keys * 1e6
            t = time.perf_counter()
            found = sum(
                len(led.lookup("org", "account_contact", names[i : i + 500]))
                for i in range(0, keys, 500)
            )
            out[f"{phase}_lookup_us_per_row"] = (time.perf_counter() - t) / keys * 1e6
            assert found == keys
    if counted:
        t = time.perf_counter()
        snapshot.refresh(path, "org", "account_contact", ["contact_id", "account_id"])
        out["snapshot_write_s"] = time.perf_counter() - t
    for file in path.parent.glob(f"{path.name}*"):
        if file.is_file():
            file.unlink()
    return out


def alone_rounds(keys: int, work: Path, rounds: int) -> dict[str, dict[str, float]]:
    """:func:`ledger_alone` with and without the write count, interleaved: medians."""
    got: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    for rnd in range(rounds):
        for counted in (True, False) if rnd % 2 == 0 else (False, True):
            got[counted].append(ledger_alone(keys, work, counted=counted))
    return {
        "counted" if counted else "uncounted": {
            name: statistics.median(r[name] for r in results) for name in results[0]
        }
        for counted, results in got.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rate", type=float, default=1000.0, help="max requests per second")
    ap.add_argument("--keys", type=int, default=1_000_000, help="ledger-alone part (0: skip)")
    ap.add_argument("--alone-rounds", type=int, default=1, help="rounds of the ledger-alone part")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    args = ap.parse_args()

    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        work = Path(tmp)
        write_file(work / "leads.csv", args.rows)
        (work / "leads.yaml").write_text(MAPPING, encoding="utf-8")
        sandbox = Sandbox(KEY) if args.rounds else None
        try:
            if sandbox is not None:  # warm-up: imports, connections
                one_run(work, sandbox, "none", -1, args.rate)
            for rnd in range(args.rounds):
                for mode in MODES if rnd % 2 == 0 else reversed(MODES):
                    if mode == "warm" and rnd % 2:
                        continue  # warm needs this round's cold ledger: run it after cold
                    runs.append(one_run(work, sandbox, mode, rnd, args.rate))
                if rnd % 2:
                    runs.append(one_run(work, sandbox, "warm", rnd, args.rate))
        finally:
            if sandbox is not None:
                sandbox.close()
        alone = alone_rounds(args.keys, work, args.alone_rounds) if args.keys else None

    budget_us = 1e6 / args.rate
    rows = args.rows
    table: dict[str, dict[str, float]] = {}
    if runs:
        table = print_runs(runs, rows, args.rounds, args.rate, budget_us)
    if alone:
        print(
            f"ledger alone, {args.keys:,} keys (µs per row; median of {args.alone_rounds}; "
            "uncounted: without the write count's triggers):"
        )
        for phase in ("insert", "update"):
            counted, uncounted = alone["counted"], alone["uncounted"]
            c, u = counted[phase + "_record_us_per_row"], uncounted[phase + "_record_us_per_row"]
            cc = counted[phase + "_record_cpu_us_per_row"]
            uc = uncounted[phase + "_record_cpu_us_per_row"]
            print(
                f"  {phase}: record+commit {c:.1f} (uncounted {u:.1f}, {c / u - 1:+.0%}), "
                f"its CPU {cc:.1f} (uncounted {uc:.1f}, {cc / uc - 1:+.0%}), "
                f"lookup {counted[phase + '_lookup_us_per_row']:.1f} "
                f"(uncounted {uncounted[phase + '_lookup_us_per_row']:.1f})"
            )
        print(f"  snapshot of the {args.keys:,} keys: {alone['counted']['snapshot_write_s']:.2f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "args": vars(args) | {"json": str(args.json)},
                    "runs": runs,
                    "medians": table,
                    "alone": alone,
                },
                indent=1,
            )
        )


def print_runs(
    runs: list[dict[str, Any]], rows: int, rounds: int, rate: float, budget_us: float
) -> dict[str, dict[str, float]]:
    """Print the push part's table; its medians by mode."""
    print(f"{rows} rows per run, paced at {rate:g} req/s, {rounds} rounds")
    print(
        "| mode | wall (median) | rows/s | client CPU (median, min) | CPU vs none (median)", end=""
    )
    print(" | in ledger: CPU µs/row | share of 1/rate | wall µs/row |")
    print("|---|---|---|---|---|---|---|---|")
    table: dict[str, dict[str, float]] = {}
    for mode in MODES:
        mine = [r for r in runs if r["mode"] == mode]
        t = table[mode] = {
            key: statistics.median(r[key] for r in mine)
            for key in ("wall_s", "cpu_s", "in_ledger_wall_s", "in_ledger_cpu_s")
        }
        t["cpu_min_s"] = min(r["cpu_s"] for r in mine)
        t["rate"] = statistics.median(r["rows"] / r["wall_s"] for r in mine)
        t["in_ledger_cpu_us_per_row"] = t["in_ledger_cpu_s"] / rows * 1e6
        t["in_ledger_wall_us_per_row"] = t["in_ledger_wall_s"] / rows * 1e6
        vs = t["cpu_s"] / table["none"]["cpu_s"] - 1
        print(
            f"| {mode} | {t['wall_s']:.2f} s | {t['rate']:.0f} "
            f"| {t['cpu_s']:.2f} s, {t['cpu_min_s']:.2f} s | {vs:+.1%} "
            f"| {t['in_ledger_cpu_us_per_row']:.1f} "
            f"| {t['in_ledger_cpu_us_per_row'] / budget_us:.2%} "
            f"| {t['in_ledger_wall_us_per_row']:.1f} |"
        )
    return table


if __name__ == "__main__":
    main()
