"""`syncer init` on a 1M-row lead CSV: it reads only the top of the file (a sample), so it
should take about as long on a million rows as on a thousand. Goal: <= 2 s wall, imports and
the process start included.

Each measurement is a fresh `python -m syncer init` process (what a user runs). Usage:

    .venv/bin/python bench/bench_init.py [--rows 1000000] [--repeat 3] [--json FILE]

The input is bench_pipeline's generated lead list (bench/out/leads_<rows>.csv, cached,
gitignored); the proposed mapping goes to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_pipeline import OUT, generate  # noqa: E402


def run_once(source: Path, out_dir: Path) -> tuple[float, int, str]:
    """(wall seconds, exit code, first stdout line) of one `syncer init` process."""
    mapping = out_dir / "proposed.yaml"
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "syncer", "init", str(source), "-o", str(mapping), "--force"],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"syncer init failed ({proc.returncode}): {proc.stderr}")
    return wall, proc.returncode, proc.stdout.splitlines()[0] if proc.stdout else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    sizes = sorted({1_000, args.rows})
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sizes:
            source = OUT / f"leads_{rows}.csv"
            if not source.exists():
                generate(rows, source)
            walls = []
            for _ in range(args.repeat):
                wall, code, first = run_once(source, Path(tmp))
                walls.append(wall)
            mb = source.stat().st_size / 1e6
            best = min(walls)
            results[str(rows)] = {"walls_s": [round(w, 3) for w in walls], "best_s": round(best, 3)}
            print(
                f"{rows:>9,} rows ({mb:,.0f} MB): best {best:.2f} s "
                f"(runs: {', '.join(f'{w:.2f}' for w in walls)}); exit {code}; {first}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
