"""Inbox benchmark (issue 10): what ``syncer inbox`` costs per file, and listing a big folder.

Part ``files``: FILES small lead files (ROWS rows each, distinct e-mails) imported four ways,
side by side in one invocation, against ``python -m syncer sandbox`` in a separate process
(bench/sandbox_process.py; reset before each contender, so each sends the same requests):

- ``cli_runs``: one ``python -m syncer run FILE`` per file (a new process each time);
- ``cli_inbox``: one ``python -m syncer inbox DIR`` for all of them;
- ``lib_sync``: in this process, ``syncer.sync()`` once per file: the imports themselves;
- ``lib_inbox``: in this process, ``run_inbox()`` over the same files, with the time spent inside
  its ``sync()`` calls measured, so the inbox's own work (lock, scan, sha256, file registry,
  moves, archive folders) is ``wall - time in sync``.

Goal: the inbox costs <= 50 ms per file beyond the imports themselves.

Part ``scan``: SCAN_FILES young files (none ready): ``scan()`` alone, ``run_inbox()`` in this
process (lock, ledger, scan, report) and the whole ``python -m syncer inbox`` command. Goal: <= 1 s.

Wall and CPU seconds are both reported (on a shared machine CPU is the steadier measure).
``bench/bench_inbox_scan.py`` times ``scan()`` alone in more detail. Every contender gets its own
fresh ledger; HOME, XDG_DATA_HOME and SYNCER_HOME point into a temporary folder, so the user's
own syncer data is never touched::

    .venv/bin/python bench/bench_inbox.py                       # both parts, 200 files, 10,000
    .venv/bin/python bench/bench_inbox.py --part files --rounds 2 --json bench/out/inbox.jsonl
    .venv/bin/python bench/bench_inbox.py --part files --reverse   # the contenders in reverse
    .venv/bin/python bench/bench_inbox.py --part scan --scan-files 10000
    .venv/bin/python bench/bench_inbox.py --part files --profile   # where lib_inbox's time goes
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import json
import os
import pstats
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox_process import Sandbox  # noqa: E402

KEY = "bench-inbox-key-0123456789"
MAPPING = """\
target: account_contact
columns:
  email: Email
  first_name: First Name
  last_name: Last Name
  company: Company
dedupe: {keep: last}
"""
GOAL_PER_FILE_MS = 50.0
GOAL_SCAN_S = 1.0


def write_files(folder: Path, files: int, rows: int) -> list[Path]:
    """``files`` lead files of ``rows`` distinct e-mails each, oldest first (mtimes 1 s apart)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    start = time.time() - 3600
    for f in range(files):
        path = folder / f"drop-{f:04d}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["Email", "First Name", "Last Name", "Company"])
            for r in range(rows):
                w.writerow(
                    [f"f{f}r{r}@bench{f % 20}.example.org", f"F{r}", f"L{f}", f"Co {f % 20}"]
                )
        os.utime(path, (start + f, start + f))
        paths.append(path)
    return paths


def child_env(home: Path, sandbox: Sandbox) -> dict[str, str]:
    """The environment of a CLI child: the sandbox's key and URL, a private HOME."""
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        SYNCER_HOME=str(home / "syncer"),
        REEVO_API_KEY=KEY,
        REEVO_BASE_URL=sandbox.base_url,
    )
    env.pop("SYNCER_LEDGER", None)
    return env


def run_cli(args: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> dict[str, Any]:
    """``python -m syncer ARGS``; its ``--json`` object (the last stdout line), if any."""
    proc = subprocess.run(
        [sys.executable, "-m", "syncer", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in ok:
        raise RuntimeError(f"syncer {args[0]} exited {proc.returncode}: {proc.stderr[-2000:]}")
    last = (proc.stdout.strip().splitlines() or [""])[-1]
    return dict(json.loads(last)) if last.startswith("{") else {}


def rounded(values: list[float]) -> list[float]:
    return [round(v, 3) for v in values]


def children_cpu() -> float:
    """User + system CPU seconds of every finished child process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def timed_calls(module: Any, name: str) -> Iterator[list[tuple[float, float]]]:
    """Replace ``module.name`` by a wrapper that appends each call's (wall, process CPU)."""
    real: Callable[..., Any] = getattr(module, name)
    spent: list[tuple[float, float]] = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return real(*args, **kwargs)
        finally:
            spent.append((time.perf_counter() - t0, time.process_time() - c0))

    setattr(module, name, wrapper)
    try:
        yield spent
    finally:
        setattr(module, name, real)


# ------------------------------------------------------------------------------ part: files


def contender_cli_runs(work: Path, paths: list[Path], mapping: Path, sb: Sandbox) -> dict[str, Any]:
    env = child_env(work / "home", sb)
    ledger = work / "ledger.db"
    requests = 0
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    for path in paths:
        results = work / "results" / f"{path.stem}.results.csv"
        out = run_cli(
            ["run", str(path), "--mapping", str(mapping), "--ledger", str(ledger),
             "--results", str(results), "--json", "-q"],
            env,
        )  # fmt: skip
        requests += int(out["requests"])
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "cpu_s": children_cpu() - cpu0, "requests": requests}


def contender_cli_inbox(work: Path, inbox: Path, mapping: Path, sb: Sandbox) -> dict[str, Any]:
    env = child_env(work / "home", sb)
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    out = run_cli(
        ["inbox", str(inbox), "--mapping", str(mapping), "--ledger", str(work / "ledger.db"),
         "--min-age", "0", "--settle", "0", "--json", "-q"],
        env,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    done = sum(f["status"] == "done" for f in out["files"])
    cpu = children_cpu() - cpu0
    return {"wall_s": wall, "cpu_s": cpu, "requests": out["requests"], "files_done": done}


def _settings(sb: Sandbox, ledger: Path, **kw: Any) -> Any:
    from syncer.runner.settings import Settings

    return Settings(base_url=sb.base_url, api_key=KEY, ledger=ledger, command="bench", **kw)


def contender_lib_sync(work: Path, paths: list[Path], mapping: Path, sb: Sandbox) -> dict[str, Any]:
    from syncer.mapping import load_mapping
    from syncer.runner.syncing import sync

    loaded = load_mapping(mapping)
    requests = 0
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for path in paths:
        results = work / "results" / f"{path.stem}.results.csv"
        summary = sync(path, loaded, _settings(sb, work / "ledger.db", results=results))
        requests += summary.requests
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "cpu_s": time.process_time() - cpu0, "requests": requests}


def contender_lib_inbox(
    work: Path, inbox: Path, mapping: Path, sb: Sandbox, profile: bool
) -> dict[str, Any]:
    from syncer.inbox.scan import Readiness
    from syncer.runner import inbox as runner_inbox

    options = runner_inbox.InboxOptions(
        inbox=inbox, mapping=mapping, readiness=Readiness(min_age_s=0, settle_s=0)
    )
    settings = _settings(sb, work / "ledger.db")
    prof = cProfile.Profile() if profile else None
    with timed_calls(runner_inbox, "sync") as in_sync:
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        if prof is not None:
            prof.enable()
        report = runner_inbox.run_inbox(options, settings)
        if prof is not None:
            prof.disable()
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    if prof is not None:
        print("\n# lib_inbox profile (cumulative, top 30)", file=sys.stderr)
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    done = sum(f.status.value == "done" for f in report.files)
    return {
        "wall_s": wall,
        "in_sync_s": sum(w for w, _ in in_sync),
        "cpu_s": cpu,
        "in_sync_cpu_s": sum(c for _, c in in_sync),
        "requests": report.requests,
        "files_done": done,
    }


def warm_up(work: Path, mapping: Path, sb: Sandbox) -> None:
    """Import what the in-process contenders need, and run one tiny import, before timing."""
    from syncer.runner import inbox as _inbox  # noqa: F401
    from syncer.runner.syncing import sync

    (path,) = write_files(work / "warm", 1, 2)
    sync(path, mapping, _settings(sb, work / "warm.db", results=work / "warm.results.csv"))


def part_files(args: argparse.Namespace, sb: Sandbox, tmp: Path) -> list[dict[str, Any]]:
    mapping = tmp / "bench.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    warm_up(tmp / "warm", mapping, sb)
    out = []
    for rnd in range(args.rounds):
        row: dict[str, Any] = {"part": "files", "round": rnd + 1, "files": args.files}
        row["rows_per_file"] = args.rows
        order = ["cli_runs", "cli_inbox", "lib_sync", "lib_inbox"]
        if (rnd % 2) != args.reverse:
            order.reverse()  # interleave: neither side always runs first on a warmer machine
        for name in order:
            work = tmp / f"r{rnd}-{name}"
            inbox = work / "drop"
            paths = write_files(inbox, args.files, args.rows)
            (work / "results").mkdir(parents=True)
            sb.configure()
            if name == "cli_runs":
                res = contender_cli_runs(work, paths, mapping, sb)
            elif name == "cli_inbox":
                res = contender_cli_inbox(work, inbox, mapping, sb)
            elif name == "lib_sync":
                res = contender_lib_sync(work, paths, mapping, sb)
            else:
                res = contender_lib_inbox(work, inbox, mapping, sb, args.profile)
            res["server_requests"] = sb.stats()["total_requests"]
            row[name] = {k: round(v, 3) if isinstance(v, float) else v for k, v in res.items()}
            print(f"round {rnd + 1} {name}: {row[name]}", file=sys.stderr, flush=True)
        n = args.files
        lib_inbox = row["lib_inbox"]
        own_ms = 1000 * (lib_inbox["wall_s"] - lib_inbox["in_sync_s"]) / n
        row["inbox_own_ms_per_file"] = round(own_ms, 1)
        own_cpu = 1000 * (lib_inbox["cpu_s"] - lib_inbox["in_sync_cpu_s"]) / n
        row["inbox_own_cpu_ms_per_file"] = round(own_cpu, 1)
        row["inbox_minus_sync_ms_per_file"] = round(
            1000 * (lib_inbox["wall_s"] - row["lib_sync"]["wall_s"]) / n, 1
        )
        row["inbox_minus_sync_cpu_ms_per_file"] = round(
            1000 * (lib_inbox["cpu_s"] - row["lib_sync"]["cpu_s"]) / n, 1
        )
        row["cli_runs_cpu_ms_per_file"] = round(1000 * row["cli_runs"]["cpu_s"] / n, 1)
        row["cli_inbox_cpu_ms_per_file"] = round(1000 * row["cli_inbox"]["cpu_s"] / n, 1)
        row["cli_runs_ms_per_file"] = round(1000 * row["cli_runs"]["wall_s"] / n, 1)
        row["cli_inbox_ms_per_file"] = round(1000 * row["cli_inbox"]["wall_s"] / n, 1)
        row["cli_runs_over_inbox"] = round(
            row["cli_runs"]["wall_s"] / row["cli_inbox"]["wall_s"], 2
        )
        row["goal_met"] = own_ms <= GOAL_PER_FILE_MS
        out.append(row)
    return out


# ------------------------------------------------------------------------------- part: scan


def part_scan(args: argparse.Namespace, sb: Sandbox, tmp: Path) -> list[dict[str, Any]]:
    from syncer.inbox.report import FileStatus
    from syncer.inbox.scan import DEFAULT_PATTERNS, Readiness, scan
    from syncer.runner.inbox import InboxOptions, run_inbox

    inbox = tmp / "big"
    inbox.mkdir()
    for i in range(args.scan_files):  # young files: none is ready under --min-age 1h
        (inbox / f"young-{i:05d}.csv").write_bytes(b"Email\na@b.example.org\n")
    mapping = tmp / "bench.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    young = Readiness(min_age_s=3600, settle_s=2)
    row: dict[str, Any] = {"part": "scan", "files": args.scan_files}

    times, cpu = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        found = scan(inbox, DEFAULT_PATTERNS, young, skip=[inbox / "archive"])
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    assert not found.ready and len(found.not_ready) == args.scan_files
    row["scan_s"], row["scan_cpu_s"] = rounded(times), rounded(cpu)

    times, cpu = [], []
    for i in range(3):
        options = InboxOptions(inbox=inbox, mapping=mapping, readiness=young)
        t0, c0 = time.perf_counter(), time.process_time()
        report = run_inbox(options, _settings(sb, tmp / f"scan{i}.db"))
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        assert report.count(FileStatus.NOT_READY) == args.scan_files
    row["run_inbox_s"], row["run_inbox_cpu_s"] = rounded(times), rounded(cpu)

    env = child_env(tmp / "home", sb)
    times, cpu = [], []
    for i in range(3):
        t0, c0 = time.perf_counter(), children_cpu()
        out = run_cli(
            ["inbox", str(inbox), "--mapping", str(mapping), "--ledger", str(tmp / f"cli{i}.db"),
             "--min-age", "1h", "--json"],
            env,
        )  # fmt: skip
        times.append(time.perf_counter() - t0)
        cpu.append(children_cpu() - c0)
        assert out["not_ready"] == args.scan_files, out["not_ready"]
    row["cli_s"], row["cli_cpu_s"] = rounded(times), rounded(cpu)
    t0, c0 = time.perf_counter(), children_cpu()
    run_cli(["inbox", "--help"], env)  # the interpreter and click alone, for reference
    row["cli_help_s"] = round(time.perf_counter() - t0, 3)
    row["cli_help_cpu_s"] = round(children_cpu() - c0, 3)
    row["goal_met"] = min(row["run_inbox_s"]) <= GOAL_SCAN_S
    print(f"scan: {row}", file=sys.stderr, flush=True)
    return [row]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("all", "files", "scan"), default="all")
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--rows", type=int, default=5, help="rows per file")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--scan-files", type=int, default=10_000)
    ap.add_argument("--reverse", action="store_true", help="start with the last contender")
    ap.add_argument("--profile", action="store_true", help="cProfile lib_inbox (to stderr)")
    ap.add_argument("--json", type=Path, default=None, help="append results (JSON lines)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the sandbox child is stopped
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    sandbox = Sandbox(KEY)
    rows: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-inbox-") as raw:
            tmp = Path(raw)
            os.environ.update(HOME=str(tmp / "home"), XDG_DATA_HOME=str(tmp / "home" / "data"))
            os.environ["SYNCER_HOME"] = str(tmp / "home" / "syncer")
            if args.part in ("all", "files"):
                rows += part_files(args, sandbox, tmp)
            if args.part in ("all", "scan"):
                rows += part_scan(args, sandbox, tmp)
    finally:
        sandbox.close()
    for row in rows:
        row["load_avg_1m_at_start"] = round(load, 2) if load is not None else None
        line = json.dumps(row)
        print(line, flush=True)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            with args.json.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")


if __name__ == "__main__":
    main()
