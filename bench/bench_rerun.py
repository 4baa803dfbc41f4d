"""Unchanged re-run benchmark (issue 15 goal 1): ``syncer run`` of a file whose every row the
ledger already holds, next to ``syncer validate`` of the same file, in one invocation.

The input is bench_pipeline.py's generated lead file (``bench/out/leads_<rows>.csv``, 12
columns, made by its generator when missing) and mapping. Setup (not timed): a sandbox in a
child process (``python -m syncer sandbox``), and a ledger holding every ready row as the first
run of the file would leave it, written directly through the Ledger API (``start_run``, one
``record`` per row with the sha256 of its canonical body, ``finish_run``, and the memo of
those digests a first run keeps, :mod:`syncer.runner.digest_memo`: a million real requests
would take ~20 minutes here). Then, interleaved over ``--repeat`` rounds, each a fresh
``python -m syncer`` process:

- ``validate``: ``syncer validate FILE`` (results file written);
- ``rerun``: ``syncer run FILE`` on that ledger: every row unchanged, nothing sent (the same
  file again, so its stale-file check runs too);
- ``changed``: ``syncer run`` of a copy with 1 % of the rows changed (every 100th row's title),
  on a copy of the ledger: only those rows are sent (``--max-rate``), plus preflight.

With ``--compare PATH`` (a checkout of other code, e.g. a worktree of an older commit) each
round also times that code's ``validate`` and ``rerun`` (``PYTHONPATH``), on the same ledger,
and its changed run on its own copy: before and after, side by side under the same load.

Printed: median wall times, rerun ÷ validate (goal ≤ 1.5), and the changed run's requests and
its time over the unchanged re-run; the size of the ledger and of its snapshots. Each
checkout's ``syncer`` is byte-compiled first, as an installed package is (this machine sets
``PYTHONDONTWRITEBYTECODE``: every run would compile the modules it imports, and a run imports
more of them than validate).

    .venv/bin/python bench/bench_rerun.py                 # 1,000,000 rows, 3 rounds
    .venv/bin/python bench/bench_rerun.py --rows 20000 --repeat 1
    .venv/bin/python bench/bench_rerun.py --syncer-path /tmp/old   # a worktree of older code
    .venv/bin/python bench/bench_rerun.py --compare /tmp/old       # this code and older code
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
from syncer.ledger.snapshot import snapshot_dir  # noqa: E402
from syncer.models import RowOutcome, RowStatus  # noqa: E402
from syncer.runner import prepare  # noqa: E402
from syncer.runner.digest_memo import DigestMemo, digests_of  # noqa: E402
from syncer.runner.streamed import large_enough  # noqa: E402

KEY = "bench-rerun-key-0123456789"


def fill_ledger(path: Path, source: Path, mapping: Path, org: str, base_url: str) -> int:
    """The ledger a successful first run of ``source`` leaves: every ready row's body hash
    and two ids, and the memo of its digests. Returns the rows recorded."""
    prepared = prepare(source, mapping)
    with Ledger(path, batch_rows=50_000, batch_seconds=60) as led:
        target = prepared.mapping.target
        memo = DigestMemo.beside(path, org, target, writable=True)
        remembered = digests_of(prepared, memo)  # every digest computed, as a first run does
        memo.keep(remembered)
        digests = remembered.digests
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
            # as a first run's plan gives it (a file read in batches is planned a batch at a
            # time, joined: no order)
            key_order=None if large_enough(source) else digests.get_column("key"),
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


#: CPU seconds (user + system) of each command :func:`timed` ran, in order
LAST_CPU: list[float] = []


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, dict[str, Any]]:
    """Wall seconds of ``python -m syncer ARGV`` and its --json summary (if any); its CPU
    seconds are appended to :data:`LAST_CPU`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "syncer", *argv],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
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
    ap.add_argument(
        "--compare",
        type=Path,
        help="also time the syncer of this checkout in the same rounds (e.g. older code)",
    )
    args = ap.parse_args()

    source = OUT / f"leads_{args.rows}.csv"
    mapping = OUT / "bench_mapping.yaml"
    if not source.exists():
        generate(args.rows, source)
    mapping.write_text(MAPPING, encoding="utf-8")
    codes: dict[str, Path | None] = {"": args.syncer_path}
    if args.compare:
        codes["old "] = args.compare
    for path in codes.values():  # as installed: byte-compiled (see bench_validate.py)
        package = (path.resolve() if path else ROOT) / "syncer"
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    with tempfile.TemporaryDirectory(prefix="bench-rerun-") as tmp:
        work = Path(tmp)
        base_env = {
            **os.environ,
            "REEVO_API_KEY": KEY,
            "HOME": str(work),
            "XDG_DATA_HOME": str(work / "data"),
        }
        envs = {
            code: {**base_env, **({"PYTHONPATH": str(path.resolve())} if path else {})}
            for code, path in codes.items()
        }
        sandbox = Sandbox(KEY)
        try:
            for env in envs.values():
                env["REEVO_BASE_URL"] = sandbox.base_url
            org = org_id(sandbox.base_url, api_key=KEY)
            ledger = work / "ledger.db"
            t = time.perf_counter()
            filled = fill_ledger(ledger, source, mapping, org, sandbox.base_url)
            fill_s = time.perf_counter() - t
            sizes = _sizes(ledger)
            changed_src = work / "leads_changed.csv"
            changed_n = change_rows(source, changed_src, 100)
            common = ["--mapping", str(mapping), "--json"]
            run_args = ["-q", "--ledger", str(ledger), "--max-rate", str(args.max_rate)]
            modes = [f"{code}{mode}" for code in codes for mode in ("validate", "rerun")]
            walls: dict[str, list[float]] = {mode: [] for mode in modes}
            cpus: dict[str, list[float]] = {mode: [] for mode in modes}
            summaries: dict[str, dict[str, Any]] = {}
            for rnd in range(args.repeat):
                for mode in modes if rnd % 2 == 0 else modes[::-1]:
                    code = mode.removesuffix("validate").removesuffix("rerun")
                    out = ["--results", str(work / f"{mode}.results.csv")]
                    argv = ["validate", str(source), *common, *out]
                    if mode.endswith("rerun"):
                        argv = ["run", str(source), *common, *run_args, *out]
                    wall, summaries[mode] = timed(argv, envs[code], work)
                    walls[mode].append(wall)
                    cpus[mode].append(LAST_CPU[-1])
            changed_walls: dict[str, float] = {}
            for code, env in envs.items():
                db = work / f"{code.strip() or 'new'}-changed.db"
                shutil.copy(ledger, db)
                kept = snapshot_dir(ledger)
                if kept.is_dir():
                    shutil.copytree(kept, snapshot_dir(db))
                sandbox.configure()
                changed_args = [*run_args[:2], str(db), *run_args[3:]]
                out = ["--results", str(work / f"{code}changed.results.csv")]
                changed_walls[code], summaries[f"{code}changed"] = timed(
                    ["run", str(changed_src), *common, *changed_args, *out], env, work
                )
            served = sandbox.stats()
        finally:
            sandbox.close()

    med = {mode: statistics.median(w) for mode, w in walls.items()}
    cpu = {mode: statistics.median(c) for mode, c in cpus.items()}
    print(
        f"input: {source.name}, {args.rows:,} rows; ledger filled with {filled:,} rows in "
        f"{fill_s:.0f} s (first run's snapshot included); ledger {sizes[0] / 1e6:.0f} MB, "
        f"snapshots {sizes[1] / 1e6:.0f} MB"
    )
    print(
        "| code | run | wall (median) | all rounds | vs its validate | CPU (median) | CPU ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for code in codes:
        base = med[f"{code}validate"]
        for mode in ("validate", "rerun"):
            rounds = ", ".join(f"{w:.2f}" for w in walls[f"{code}{mode}"])
            m, c = med[f"{code}{mode}"], cpu[f"{code}{mode}"]
            print(
                f"| {code or 'this'} | {mode} | {m:.2f} s | {rounds} | {m / base:.2f}× "
                f"| {c:.2f} s | {c / cpu[f'{code}validate']:.2f}× |"
            )
        wall = changed_walls[code]
        print(
            f"| {code or 'this'} | changed (1 %: {changed_n:,} rows) | {wall:.2f} s | 1 round | "
            f"{wall / base:.2f}× | | |"
        )
    for code in codes:
        rerun, changed = summaries[f"{code}rerun"], summaries[f"{code}changed"]
        assert rerun["unchanged"] == filled and rerun["requests"] == 0, rerun
        sent = int(changed["succeeded"])  # the changed rows that are ready
        assert sent + changed["unchanged"] == filled and 0 < sent <= changed_n, changed
        ratio = med[f"{code}rerun"] / med[f"{code}validate"]
        extra = changed_walls[code] - med[f"{code}rerun"]
        print(
            f"{code or 'this '}code: rerun ÷ validate = {ratio:.2f} (goal ≤ 1.5): "
            f"{'met' if ratio <= 1.5 else 'NOT met'}; changed run: {changed['requests']:,} "
            f"requests ({sent:,} changed ready rows + preflight), {extra:.1f} s over the "
            f"unchanged re-run, {sent / max(extra, 1e-9):.0f} rows/s for the sent rows "
            f"(--max-rate {args.max_rate:g})"
        )
    print(f"the sandbox saw {served.get('total_requests')} requests in the last changed run")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "rows": args.rows,
                    "walls": walls,
                    "median": med,
                    "cpu": cpus,
                    "cpu_median": cpu,
                    "ratio": {
                        code or "this": med[f"{code}rerun"] / med[f"{code}validate"]
                        for code in codes
                    },
                    "changed_rows": changed_n,
                    "changed_wall": changed_walls,
                    "fill_s": fill_s,
                    "ledger_bytes": sizes[0],
                    "snapshot_bytes": sizes[1],
                },
                indent=1,
            )
        )


def _sizes(ledger: Path) -> tuple[int, int]:
    """Bytes of the ledger (with its WAL) and of its snapshots."""
    files = [ledger, ledger.with_name(ledger.name + "-wal")]
    kept = snapshot_dir(ledger)
    snaps = list(kept.iterdir()) if kept.is_dir() else []
    return sum(f.stat().st_size for f in files if f.exists()), sum(f.stat().st_size for f in snaps)


if __name__ == "__main__":
    main()
