"""Inbox scan benchmark (issue 10): how long one look at a crowded drop folder takes.

Makes ``--files`` small files in a temporary folder (plus as many names the patterns do not
take, and temporary names) and times :func:`syncer.inbox.scan.scan` over ``--rounds`` rounds:

- ``not_ready``: every file is younger than ``--min-age`` (the issue's goal: 10,000 such files
  in <= 1 s). No second look, so no sleep.
- ``ready``: every file old enough, so each is looked at twice; the settle wait itself is
  replaced by a no-op sleep (only the work is timed, not the 2 s the real run waits once).

    .venv/bin/python bench/bench_inbox_scan.py                 # 10,000 files x 5 rounds
    .venv/bin/python bench/bench_inbox_scan.py --files 50000 --json bench/out/inbox_scan.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncer.inbox.scan import Readiness, scan  # noqa: E402


def make_inbox(folder: Path, files: int) -> None:
    body = b"email\na@x.org\n"
    for i in range(files):
        (folder / f"leads-{i:06d}.csv").write_bytes(body)
        (folder / f"notes-{i:06d}.json").write_bytes(body)  # a name no pattern takes
    for i in range(files // 10):
        (folder / f"upload-{i:06d}.csv.part").write_bytes(body)  # temporary names


def no_sleep(seconds: float) -> None:
    """The settle wait, skipped: the bench times the looks, not the wait."""


def time_scan(
    folder: Path, rounds: int, min_age_s: float, expect_ready: int
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (this process, system calls included) of each round."""
    wall, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        got = scan(folder, readiness=Readiness(min_age_s=min_age_s), sleep=no_sleep)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        assert len(got.ready) == expect_ready, (len(got.ready), expect_ready)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory(prefix="syncer-bench-inbox-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        make_inbox(folder, args.files)
        made = time.perf_counter() - start
        entries = len(os.listdir(folder))
        print(f"{entries:,} entries ({args.files:,} matching files) made in {made:.1f} s")
        cases = {
            "not_ready": (1e9, 0),  # a min age no file reaches
            "ready": (0.0, args.files),
        }
        for case, (min_age_s, expect_ready) in cases.items():
            times, cpu = time_scan(folder, args.rounds, min_age_s, expect_ready)
            median = statistics.median(times)
            results[case] = {
                "files": args.files,
                "entries": entries,
                "rounds": args.rounds,
                "median_s": round(median, 4),
                "max_s": round(max(times), 4),
                "us_per_file": round(median / args.files * 1e6, 2),
                "cpu_median_s": round(statistics.median(cpu), 4),
            }
            print(
                f"{case:>9}: median {median * 1000:.1f} ms, max {max(times) * 1000:.1f} ms "
                f"({median / args.files * 1e6:.1f} µs per file; CPU "
                f"{statistics.median(cpu) * 1000:.1f} ms) over {args.rounds} rounds"
            )
    goal = results["not_ready"]["median_s"]
    verdict = "ok" if goal <= 1.0 else "OVER"
    print(f"goal: {args.files:,} not-ready files listed in <= 1 s: {goal:.3f} s ({verdict})")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
