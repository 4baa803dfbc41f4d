"""Results files of a 1M-row import: the workbooks (results + failures .xlsx) against the CSV
files, written side by side from the same prepared rows in one process. Goal: the workbooks in
<= 2x the time of the CSV files.

Both sides do the whole of ``syncer.results.write_outputs`` for their format: merge the rows'
outcomes, write the results file and the failures file (1 % of the rows are invalid: their
offending cells are marked, with comments, in the workbooks). The contenders alternate, so load
on this shared machine hits both alike; wall time, this process's CPU time and the extra peak
RSS while writing (sampled every 10 ms) are reported. Usage:

    .venv/bin/python bench/bench_results.py [--rows 1000000] [--repeat 3] [--json FILE]

The input is bench_pipeline's generated lead list (bench/out/leads_<rows>.csv, cached,
gitignored); the files go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_pipeline import MAPPING, OUT, generate  # noqa: E402


class PeakRss:
    """The highest resident set size seen while the block runs (psutil, every 10 ms)."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self.start = self.proc.memory_info().rss
        self.peak = self.start
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(write: Callable[[], object]) -> dict[str, float]:
    """Wall and CPU seconds of ``write()``, and the RSS it added at its peak (MB)."""
    with PeakRss() as rss:
        wall, cpu = time.perf_counter(), time.process_time()
        write()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall_s": wall, "cpu_s": cpu, "extra_rss_mb": (rss.peak - rss.start) / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()

    from syncer.results import OutputFiles, write_outputs
    from syncer.runner import prepare

    OUT.mkdir(exist_ok=True)
    source = OUT / f"leads_{args.rows}.csv"
    if not source.exists():
        generate(args.rows, source)
    mapping = OUT / "bench_mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    started = time.perf_counter()
    prepared = prepare(source, mapping)
    print(f"prepared {prepared.frame.height:,} rows in {time.perf_counter() - started:.1f} s")
    runs: dict[str, list[dict[str, float]]] = {"csv": [], "xlsx": []}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {
            "csv": OutputFiles(csv=(folder / "r.results.csv", folder / "r.failures.csv")),
            "xlsx": OutputFiles(xlsx=(folder / "r.results.xlsx", folder / "r.failures.xlsx")),
        }
        for i in range(args.repeat):
            for kind, out in files.items():
                got = measure(lambda out=out: write_outputs(prepared, None, out))
                runs[kind].append(got)
                print(
                    f"round {i + 1} {kind:4s}: {got['wall_s']:.2f} s wall, "
                    f"{got['cpu_s']:.2f} s CPU, +{got['extra_rss_mb']:.0f} MB RSS at peak",
                    flush=True,
                )
        for out in files.values():
            for path in out.paths:
                sizes[path.name] = path.stat().st_size
    best = {k: min(r["wall_s"] for r in v) for k, v in runs.items()}
    median = {k: statistics.median(r["wall_s"] for r in v) for k, v in runs.items()}
    ratios = [x["wall_s"] / c["wall_s"] for c, x in zip(runs["csv"], runs["xlsx"], strict=True)]
    summary = {
        "rows": prepared.frame.height,
        "runs": runs,
        "best_wall_s": best,
        "median_wall_s": median,
        "ratio_best": best["xlsx"] / best["csv"],
        "ratio_median": median["xlsx"] / median["csv"],
        "ratio_per_round": ratios,
        "sizes_mb": {name: round(size / 1e6, 1) for name, size in sizes.items()},
    }
    print(
        f"best: csv {best['csv']:.2f} s, xlsx {best['xlsx']:.2f} s -> {summary['ratio_best']:.2f}x"
        f"; median {summary['ratio_median']:.2f}x; per round "
        + ", ".join(f"{r:.2f}x" for r in ratios)
    )
    print("sizes:", ", ".join(f"{n} {s} MB" for n, s in summary["sizes_mb"].items()))
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
