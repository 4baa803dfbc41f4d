"""Unchanged re-run benchmark (issue 15 goal 1): ``syncer run`` of a file whose every row the
ledger already holds, next to ``syncer validate`` of the same file, in one invocation.

The input is bench_pipeline.py's generated lead file (``bench/out/leads_<rows>.csv``, 12
columns, made by its generator when missing) and mapping. Setup (not timed): a sandbox in a
child process (``python -m syncer sandbox``), and a ledger holding every ready row as the first
run of the file would leave it, written directly through the Ledger API (``start_run``, one
``record`` per row with the sha256 of its canonical body, ``finish_run``: a million real
requests would take ~20 minutes here). Then, interleaved over ``--repeat`` rounds, each a fresh
``python -m syncer`` process:

- ``validate``: ``syncer validate FILE`` (results file written);
- ``rerun``: ``syncer run FILE`` on that ledger: every row unchanged, nothing sent (the same
  file again, so its stale-file check runs too);
- ``changed``: ``syncer run`` of a copy with 1 % of the rows changed (every 100th row's title),
  on a copy of the ledger: only those rows are sent (``--max-rate``), plus preflight.

Printed: median wall times, rerun ÷ validate (goal ≤ 1.5), and the changed run's requests and
its time over the unchanged re-run.

    .venv/bin/python bench/bench_rerun.py                 # 1,000,000 rows, 3 rounds
    .venv/bin/python bench/bench_rerun.py --rows 20000 --repeat 1
    .venv/bin/python bench/bench_rerun.py --syncer-path /tmp/old   # a worktree of older code
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from bench_pipeline import MAPPING, OUT, generate  # noqa: E402
from sandbox_process import Sandbox  # noqa: E402

from syncer.ledger import Ledger, org_id  # noqa: E402
from syncer.models import RowOutcome, RowStatus  # noqa: E402
from syncer.runner import prepare  # noqa: E402

KEY = "bench-rerun-key-0123456789"


def fill_ledger(path: Path, source: Path, mapping: Path, org: str, base_url: str) -> int:
    """The ledger a successful first run of ``source`` leaves: every ready row's body hash
    and two ids. Returns the rows recorded."""
    prepared = prepare(source, mapping)
    digests = prepared.digests()
    with Ledger(path, batch_rows=50_000, batch_seconds=60) as led:
        target = prepared.mapping.target
        run = led.start_run(
            org=org, base_url=base_url, target=target, source=source, mapping=mapping,
            command="bench fill",
        )  # fmt: skip
        for i, (row, key, digest) in enumerate(digests.iter_rows()):
            ids = {"contact_id": f"c-{i:09d}", "account_id": f"a-{i % 5000:09d}"}
            outcome = RowOutcome(row, RowStatus.SUCCEEDED, **ids)
            led.record(org, target, run, key, digest, outcome)
        counts = {"succeeded": digests.height}
        led.finish_run(
            run, outcome="finished", exit_code=0, rows=prepared.frame.height, counts=counts,
            requests=digests.height, message=None, results_path=None, failures_path=None,
        )  # fmt: skip
    return digests.height


def change_rows(source: Path, out: Path, every: int) -> int:
    """A copy of ``source`` with every ``every``-th row's title changed; returns how many."""
    frame = pl.read_csv(source, infer_schema=False)
    hit = pl.int_range(pl.len()) % every == every - 1
    frame = frame.with_columns(
        pl.when(hit).then(pl.col("Job Title") + " (changed)").otherwise(pl.col("Job Title"))
    )
    frame.write_csv(out)
    return int(frame.select(hit.sum()).item())


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, dict[str, Any]]:
    """Wall seconds of ``python -m syncer ARGV`` and its --json summary (if any)."""
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "syncer", *argv],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        raise SystemExit(f"syncer {argv[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    return wall, json.loads(lines[-1]) if lines else {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="rounds of validate + rerun")
    ap.add_argument("--max-rate", type=float, default=1000.0, help="the changed run's rate")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    ap.add_argument(
        "--syncer-path",
        type=Path,
        help="time the syncer of this checkout (PYTHONPATH), e.g. a worktree of older code",
    )
    args = ap.parse_args()

    source = OUT / f"leads_{args.rows}.csv"
    mapping = OUT / "bench_mapping.yaml"
    if not source.exists():
        generate(args.rows, source)
    mapping.write_text(MAPPING, encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="bench-rerun-") as tmp:
        work = Path(tmp)
        env = {
            **os.environ,
            "REEVO_API_KEY": KEY,
            "HOME": str(work),
            "XDG_DATA_HOME": str(work / "data"),
        }
        if args.syncer_path:
            env["PYTHONPATH"] = str(args.syncer_path.resolve())
        sandbox = Sandbox(KEY)
        try:
            env["REEVO_BASE_URL"] = sandbox.base_url
            org = org_id(sandbox.base_url, api_key=KEY)
            ledger = work / "ledger.db"
            t = time.perf_counter()
            filled = fill_ledger(ledger, source, mapping, org, sandbox.base_url)
            fill_s = time.perf_counter() - t
            changed_src = work / "leads_changed.csv"
            changed_n = change_rows(source, changed_src, 100)
            common = ["--mapping", str(mapping), "--json"]
            run_args = ["-q", "--ledger", str(ledger), "--max-rate", str(args.max_rate)]
            walls: dict[str, list[float]] = {"validate": [], "rerun": []}
            summaries: dict[str, dict[str, Any]] = {}
            for rnd in range(args.repeat):
                order = ("validate", "rerun") if rnd % 2 == 0 else ("rerun", "validate")
                for mode in order:
                    out = ["--results", str(work / f"{mode}.results.csv")]
                    argv = ["validate", str(source), *common, *out]
                    if mode == "rerun":
                        argv = ["run", str(source), *common, *run_args, *out]
                    wall, summaries[mode] = timed(argv, env, work)
                    walls[mode].append(wall)
            shutil.copy(ledger, work / "changed.db")
            sandbox.configure()
            changed_args = [*run_args[:2], str(work / "changed.db"), *run_args[3:]]
            out = ["--results", str(work / "changed.results.csv")]
            changed_wall, summaries["changed"] = timed(
                ["run", str(changed_src), *common, *changed_args, *out], env, work
            )
            served = sandbox.stats()
        finally:
            sandbox.close()

    med = {mode: statistics.median(w) for mode, w in walls.items()}
    rerun = summaries["rerun"]
    changed = summaries["changed"]
    assert rerun["unchanged"] == filled and rerun["requests"] == 0, rerun
    sent = int(changed["succeeded"])  # the changed rows that are ready (not invalid/duplicate)
    assert sent + changed["unchanged"] == filled and 0 < sent <= changed_n, changed
    ratio = med["rerun"] / med["validate"]
    served_n = served.get("total_requests")
    extra = changed_wall - med["rerun"]
    print(
        f"input: {source.name}, {args.rows:,} rows; "
        f"ledger filled with {filled:,} rows in {fill_s:.0f} s"
    )
    print("| run | wall (median) | all rounds | vs validate |")
    print("|---|---|---|---|")
    for mode in ("validate", "rerun"):
        rounds = ", ".join(f"{w:.2f}" for w in walls[mode])
        print(f"| {mode} | {med[mode]:.2f} s | {rounds} | {med[mode] / med['validate']:.2f}× |")
    print(
        f"| changed (1 %: {changed_n:,} rows) | {changed_wall:.2f} s | 1 round | "
        f"{changed_wall / med['validate']:.2f}× |"
    )
    print(f"rerun ÷ validate = {ratio:.2f} (goal ≤ 1.5): {'met' if ratio <= 1.5 else 'NOT met'}")
    print(
        f"changed run: {changed['requests']:,} requests ({sent:,} changed ready rows + preflight), "
        f"{extra:.1f} s over the unchanged re-run, {sent / max(extra, 1e-9):.0f} rows/s "
        f"for the sent rows (--max-rate {args.max_rate:g}); the sandbox saw {served_n}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rows": args.rows,
                    "walls": walls,
                    "median": med,
                    "ratio": ratio,
                    "changed_rows": changed_n,
                    "changed_wall": changed_wall,
                    "changed_requests": changed["requests"],
                    "fill_s": fill_s,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
