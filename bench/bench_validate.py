"""`syncer validate FILE` end to end against the I/O floor (issue 15, goal 2: <= 3x).

Both contenders run as fresh processes, interleaved, so the machine's load hits them alike:

- **validate**: ``python -m syncer validate FILE --mapping M --results R`` (process start,
  imports, read, normalise, validate, dedupe, results and failures files written);
- **floor**: ``python -c`` importing polars, ``pl.read_csv(FILE, infer_schema=False)`` and
  ``write_csv`` of the same frame to a file in the same folder.

The ratio is validate's wall time over the floor's, per round and of the best and the median.
Peak RSS (``ru_maxrss`` of the child) and CPU time (user + system of all its threads) are
printed beside each: on a loaded machine the CPU time is the steadier measure.

Each checkout's ``syncer`` package is byte-compiled first (``compileall``), as an installed
package is: with ``PYTHONDONTWRITEBYTECODE`` set (this project's machine sets it) Python would
otherwise compile its ~70 modules from source in every run, ~0.1-0.2 s that users never pay
(``--no-compile``: leave that as it is). Usage:

    .venv/bin/python bench/bench_validate.py [--rows 1000000] [--repeat 5] [--json FILE]

The input is bench_pipeline's generated lead list (bench/out/leads_<rows>.csv, cached,
gitignored); the output files go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_pipeline import MAPPING, OUT, generate  # noqa: E402

#: ``syncer validate ARGS`` from another checkout (--before): its code, not the installed one
BEFORE = (
    "import sys\n"
    "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f)]\n"
    "sys.path.insert(0, {root!r})\n"
    "from syncer.cli import main\n"
    "sys.argv = ['syncer', 'validate', *sys.argv[1:]]\n"
    "main()\n"
)
FLOOR = (
    "import sys, polars as pl\n"
    "frame = pl.read_csv(sys.argv[1], infer_schema=False)\n"
    "frame.write_csv(sys.argv[2])\n"
)


def child_rss(cmd: list[str]) -> tuple[float, int, float]:
    """(wall seconds, peak RSS MB, CPU seconds) of a child, from its own rusage (os.wait4)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=False
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, 1):  # validate exits 1 when some row is invalid
        sys.exit(f"{' '.join(cmd[:4])} failed ({proc.returncode}):\n{err}")
    return wall, usage.ru_maxrss // 1024, usage.ru_utime + usage.ru_stime


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5, help="rounds (one run of each per round)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument(
        "--no-compile",
        action="store_true",
        help="do not byte-compile the checkouts first (each run compiles them from source when "
        "PYTHONDONTWRITEBYTECODE is set)",
    )
    ap.add_argument(
        "--before",
        type=Path,
        help="also time validate from this checkout of syncer (e.g. a `git worktree` of the "
        "commit before a change), interleaved with the others",
    )
    args = ap.parse_args()
    csv_path = OUT / f"leads_{args.rows}.csv"
    if not csv_path.exists():
        t = time.perf_counter()
        generate(args.rows, csv_path)
        print(f"generated {csv_path} in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    size_mb = csv_path.stat().st_size / 1e6
    print(f"input: {csv_path.name}, {args.rows:,} rows x 12 columns, {size_mb:.0f} MB")
    py = sys.executable
    if not args.no_compile:
        for root in [ROOT, *([args.before.resolve()] if args.before else [])]:
            subprocess.run([py, "-m", "compileall", "-q", str(root / "syncer")], check=True)
    rounds: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        mapping = Path(tmp) / "mapping.yaml"
        mapping.write_text(MAPPING, encoding="utf-8")
        validate = [py, "-m", "syncer", "validate", str(csv_path), "--mapping", str(mapping)]
        validate += ["--results", str(Path(tmp) / "leads.results.csv")]
        floor = [py, "-c", FLOOR, str(csv_path), str(Path(tmp) / "floor.csv")]
        contenders = [("validate", validate), ("floor", floor)]
        if args.before:
            # the other checkout's code, not this one's editable install
            before = BEFORE.format(root=str(args.before.resolve()))
            argv = [*validate[4:-1], str(Path(tmp) / "before.results.csv")]
            contenders.append(("before", [py, "-c", before, *argv]))
        for i in range(args.repeat):
            at = load()
            # rotate which goes first, so none always runs on a warmer cache
            order = contenders[i % len(contenders) :] + contenders[: i % len(contenders)]
            got = {name: child_rss(cmd) for name, cmd in order}
            row: dict[str, object] = {"load": at}
            for name, (wall, mb, cpu) in got.items():
                row.update({f"{name}_s": round(wall, 3), f"{name}_mb": mb})
                row[f"{name}_cpu_s"] = round(cpu, 3)
                row[f"{name}_ratio"] = round(wall / got["floor"][0], 2)
            rounds.append(row)
            print(
                f"round {i + 1}: "
                + ", ".join(
                    f"{n} {got[n][0]:.2f} s (CPU {got[n][2]:.2f} s, {got[n][1]} MB)"
                    for n, _ in contenders
                )
                + f"; validate / floor {row['validate_ratio']:.2f}x"
                + (f", before / floor {row['before_ratio']:.2f}x" if args.before else "")
                + f"; load {at}"
            )
    f = [float(r["floor_s"]) for r in rounds]  # type: ignore[arg-type]
    summary: dict[str, object] = {"rounds": rounds}
    for name in ["validate", "before"] if args.before else ["validate"]:
        v = [float(r[f"{name}_s"]) for r in rounds]  # type: ignore[arg-type]
        best = min(v) / min(f)
        median = statistics.median(v) / statistics.median(f)
        ratios = sorted(float(r[f"{name}_ratio"]) for r in rounds)  # type: ignore[arg-type]
        cpu = statistics.median(float(r[f"{name}_cpu_s"]) for r in rounds)  # type: ignore[arg-type]
        summary[name] = {"best": round(best, 2), "median": round(median, 2), "cpu_s": cpu}
        print(
            f"{name}: best {min(v):.2f} s / floor {min(f):.2f} s = {best:.2f}x; median "
            f"{statistics.median(v):.2f} s / {statistics.median(f):.2f} s = {median:.2f}x; "
            f"per round {', '.join(f'{x:.2f}' for x in ratios)} (goal <= 3x); median CPU "
            f"{cpu:.2f} s"
        )
    floor_cpu = statistics.median(float(r["floor_cpu_s"]) for r in rounds)  # type: ignore[arg-type]
    summary["floor"] = {"cpu_s": floor_cpu}
    print(f"floor: median CPU {floor_cpu:.2f} s")
    print(f"load now {load()}")
    if args.json:
        args.json.write_text(json.dumps(summary))


if __name__ == "__main__":
    main()
