"""Peak memory of `syncer validate` and `syncer run` on a 1M- and a 5M-row file (issue 15, goal 3:
memory that does not grow with the file; <= 2.5 GB at 5M rows).

Each command runs as a fresh child process; its peak RSS is its own ``ru_maxrss`` (``os.wait4``).

- **validate**: ``syncer validate FILE`` (results and failures files written);
- **run**: ``syncer run FILE`` against a sandbox in its own process (``python -m syncer
  sandbox``), with a ledger already holding every ready row as a first run of the file would
  leave it (written through the Ledger API, not timed): every row is unchanged, nothing is sent,
  the results files are written. So ``run`` here is prepare + plan (every body built and
  hashed, the ledger read) + preflight + results, without the push.

The inputs are bench_pipeline's generated lead lists (``bench/out/leads_<rows>.csv``, 12
columns, made when missing; gitignored). ``--keep-ledgers DIR`` keeps each filled ledger in
DIR (``ledger_<rows>.db``) and runs on a copy of it, next time too (the 5M fill takes ~270 s);
the sandbox then listens on a fixed port, as the ledger names the org by its URL. Usage:

    .venv/bin/python bench/bench_memory.py [--rows 1000000 5000000] [--only validate] [--json F]
        [--keep-ledgers bench/out/memory-ledgers] [--malloc-conf CONF ...] [--repeat N] [--stages]
        [--changed-every N [--max-rate R]] [--syncer-path OLDER_CHECKOUT]

``--changed-every N``: ``run`` takes a copy of the file with every N-th row's title changed
(bench_rerun's ``change_rows``): those rows are sent at ``--max-rate`` and the ledger's
snapshot is renewed from them when the run finishes (a nightly re-drop with a few changes).

``--malloc-conf CONF`` (repeatable) sets ``_RJEM_MALLOC_CONF`` (polars' jemalloc) for the
children, each setting once a round, interleaved; ``''`` is jemalloc's own defaults.
Each line also gives the child's CPU time (user + system). ``--stages`` runs each child through
memory_stages.py and prints its RSS stage by stage (prepare, ledger read, plan, results...).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: the caller's own polars allocator setting: importing polars here (below) sets one in
#: os.environ that the children would otherwise inherit in place of syncer's
CALLER_MALLOC_CONF = os.environ.get("_RJEM_MALLOC_CONF")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from bench_pipeline import MAPPING, OUT, generate  # noqa: E402
from bench_rerun import change_rows, fill_ledger  # noqa: E402  (the ledger a first run leaves)
from sandbox_process import Sandbox  # noqa: E402

KEY = "bench-memory-key-0123456789"
#: the sandbox's port when ledgers are kept (their org is named by the base URL)
KEPT_PORT = 18917


def measured(
    argv: list[str], env: dict[str, str], cwd: Path, *, stages: bool = False
) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds, the child's own peak RSS in MB, its last stdout line);
    ``stages``: run through memory_stages.py, its lines printed (RSS stage by stage)."""
    t0 = time.perf_counter()
    how = [str(HERE / "memory_stages.py")] if stages else ["-m", "syncer"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, *how, *argv], cwd=cwd, env=env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        text, problem = out.read().decode(), err.read().decode()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"syncer {argv[0]} failed ({proc.returncode}): {problem[-2000:]}")
    if stages:
        print("\n".join(f"    {line}" for line in problem.splitlines() if " MB" in line))
    lines = text.strip().splitlines()
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss // 1024, lines[-1] if lines else ""


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--only", choices=["validate", "run"])
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--keep-ledgers", type=Path, help="keep the filled ledgers here, reuse them")
    ap.add_argument(
        "--syncer-path", type=Path, help="measure the syncer package found here (an older checkout)"
    )
    ap.add_argument(
        "--malloc-conf",
        action="append",
        metavar="CONF",
        help="run each command with _RJEM_MALLOC_CONF=CONF (polars' jemalloc; '' = its defaults);\n"
        "repeat the flag to interleave several settings in each round",
    )
    ap.add_argument("--repeat", type=int, default=1, help="rounds (each setting once a round)")
    ap.add_argument(
        "--changed-every",
        type=int,
        metavar="N",
        help="run a copy of the file with every N-th row's title changed (1 %% at 100): those\n"
        "rows are sent (--max-rate), and finish_run renews the ledger's snapshot from them",
    )
    ap.add_argument("--max-rate", type=float, default=1000.0, help="the changed run's rate")
    ap.add_argument(
        "--stages",
        action="store_true",
        help="run each command through memory_stages.py: RSS sampled in-process, stage by\n"
        "stage (the sampler adds a little; compare peaks without it)",
    )
    args = ap.parse_args()
    variants: list[str | None] = list(args.malloc_conf or [None])
    figures: list[dict[str, object]] = []
    for rows in args.rows:
        source = OUT / f"leads_{rows}.csv"
        if not source.exists():
            t = time.perf_counter()
            generate(rows, source)
            print(f"generated {source} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        size_mb = source.stat().st_size / 1e6
        with tempfile.TemporaryDirectory(prefix="bench-memory-", dir=OUT) as tmp:
            work = Path(tmp)
            mapping = work / "mapping.yaml"
            mapping.write_text(MAPPING, encoding="utf-8")
            env = {**os.environ, "HOME": str(work), "XDG_DATA_HOME": str(work / "data")}
            env.pop("_RJEM_MALLOC_CONF", None)
            if CALLER_MALLOC_CONF is not None:
                env["_RJEM_MALLOC_CONF"] = CALLER_MALLOC_CONF
            if args.syncer_path:
                env["PYTHONPATH"] = str(args.syncer_path.resolve())
            results = ["--results", str(work / "leads.results.csv"), "--json"]
            common = [str(source), "--mapping", str(mapping), *results]
            run_common = common
            if args.changed_every and args.only != "validate":
                changed = work / "leads_changed.csv"
                n = change_rows(source, changed, args.changed_every)
                print(f"{changed.name}: {n:,} rows changed", file=sys.stderr)
                run_common = [str(changed), *common[1:], "--max-rate", str(args.max_rate)]
            sandbox = None
            try:
                if args.only in (None, "run"):
                    kept = args.keep_ledgers
                    if kept:
                        _port_free(KEPT_PORT)
                    sandbox = Sandbox(KEY, port=KEPT_PORT if kept else None)
                    from syncer.ledger import org_id

                    ledger = kept.resolve() / f"ledger_{rows}.db" if kept else work / "ledger.db"
                    org = org_id(sandbox.base_url, api_key=KEY)
                    t = time.perf_counter()
                    filled = _filled(ledger, source, mapping, org, sandbox.base_url)
                    fill_s = time.perf_counter() - t
                    print(f"ledger: {filled:,} rows, filled in {fill_s:.0f} s", file=sys.stderr)
                    env.update(REEVO_API_KEY=KEY, REEVO_BASE_URL=sandbox.base_url)
                for _ in range(args.repeat):
                    for variant in variants:
                        venv = dict(env)
                        if variant is not None:
                            venv["_RJEM_MALLOC_CONF"] = variant
                        label = "" if variant is None else f"  conf {variant!r}"
                        base = {"rows": rows, "file_mb": round(size_mb), "malloc_conf": variant}
                        if args.only in (None, "validate"):
                            at = load()
                            wall, cpu, mb, _ = measured(
                                ["validate", *common], venv, work, stages=args.stages
                            )
                            figures.append({**base, "command": "validate", "peak_mb": mb})
                            figures[-1].update(wall_s=round(wall, 1), cpu_s=round(cpu, 1), load=at)
                            print(
                                f"{rows:>9,} rows  validate  peak {mb:>6,} MB  {wall:6.1f} s  "
                                f"cpu {cpu:6.1f} s  load {at}{label}",
                                flush=True,
                            )
                        if sandbox is not None:
                            at = load()
                            with tempfile.TemporaryDirectory(dir=work) as copy_dir:
                                # a copy as filled: no run of this file yet (no stale check)
                                copy = _copied(ledger, Path(copy_dir))
                                argv = ["run", *run_common, "-q", "--ledger", str(copy)]
                                wall, cpu, mb, last = measured(argv, venv, work, stages=args.stages)
                            sent = (
                                json.loads(last).get("requests") if last.startswith("{") else None
                            )
                            figures.append({**base, "command": "run", "peak_mb": mb})
                            figures[-1].update(wall_s=round(wall, 1), cpu_s=round(cpu, 1), load=at)
                            figures[-1].update(ledger_rows=filled, requests=sent)
                            print(
                                f"{rows:>9,} rows  run       peak {mb:>6,} MB  {wall:6.1f} s  "
                                f"cpu {cpu:6.1f} s  load {at}  requests {sent}{label}",
                                flush=True,
                            )
            finally:
                if sandbox is not None:
                    sandbox.close()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


def _port_free(port: int) -> None:
    """Refuse to go on when ``port`` is taken (the admin API would answer from that server)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a server binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise SystemExit(f"port {port} is taken: stop what listens there") from None


def _copied(ledger: Path, folder: Path) -> Path:
    """A copy of ``ledger`` (and the files beside it that name it) in ``folder``."""
    for near in ledger.parent.glob(ledger.name + "*"):
        if near.name.endswith(".rows") or near.name.endswith(".locks"):
            continue
        copy = shutil.copytree if near.is_dir() else shutil.copy2
        copy(near, folder / near.name)
    return folder / ledger.name


def _filled(ledger: Path, source: Path, mapping: Path, org: str, base_url: str) -> int:
    """The rows of a kept ledger (``<ledger>.rows`` beside it), else fill it now."""
    count = ledger.with_name(ledger.name + ".rows")
    if ledger.exists() and count.exists():
        return int(count.read_text())
    ledger.parent.mkdir(parents=True, exist_ok=True)
    for stale in (ledger, ledger.with_name(ledger.name + "-wal")):
        stale.unlink(missing_ok=True)
    # in a child: a child forked from this process counts this process's memory at the fork in
    # its own ru_maxrss (the first figures after a fill here read ~1.4 GB at 1M rows)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        filled = int(pool.apply(fill_ledger, (ledger, source, mapping, org, base_url)))
    count.write_text(str(filled))
    return filled


if __name__ == "__main__":
    main()
