"""Run ``syncer ARGS`` in this process with its RSS sampled every 10 ms, stage by stage: where a
command's peak memory is (issue 15 goal 3). bench_memory.py ``--stages`` runs its children
through this; alone:

    .venv/bin/python bench/memory_stages.py run FILE --mapping M --ledger L ... [2> stages.txt]

Each stage is a function of the runner wrapped here (prepare, the ledger read, the plan, the
outcomes frame, the results files, finish_run with its snapshot refresh, the report); a line per
stage as it ends goes to stderr (``SYNCER_STAGES_OUT``: that file instead): the RSS when it
began and ended and its peak (nested stages count in their parent's too), in MB.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

HERE = Path(__file__).resolve().parent
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """This process's resident set now, in MB."""
    with open("/proc/self/statm", "rb") as fh:
        return int(fh.read().split()[1]) * PAGE / 1e6


class Sampler(threading.Thread):
    """RSS every ``every`` seconds; the peak of each open stage."""

    def __init__(self, out: TextIO, every: float = 0.01) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.out = out
        self.every = every
        self.open: list[list[Any]] = []  # [name, start MB, peak MB, t0]
        self.peak = 0.0
        #: where the peak was: the open stages then, and the seconds since the start
        self.peak_at = ""
        self.t0 = time.perf_counter()
        self.lock = threading.Lock()

    def run(self) -> None:
        while True:
            self._sample()
            time.sleep(self.every)

    def _sample(self) -> float:
        now = rss_mb()
        with self.lock:
            if now > self.peak:
                self.peak = now
                where = " > ".join(str(s[0]) for s in self.open) or "between stages"
                self.peak_at = f"{time.perf_counter() - self.t0:.1f} s, in {where}"
            for stage in self.open:
                stage[2] = max(stage[2], now)
        return now

    def wrap(self, owner: Any, name: str, label: str) -> None:
        """Make ``owner.name`` a stage called ``label``."""
        inner: Callable[..., Any] = getattr(owner, name)

        @functools.wraps(inner)
        def staged(*args: Any, **kwargs: Any) -> Any:
            start = self._sample()
            entry = [label, start, start, time.perf_counter()]
            with self.lock:
                self.open.append(entry)
            try:
                return inner(*args, **kwargs)
            finally:
                end = self._sample()
                with self.lock:
                    self.open.remove(entry)
                took = time.perf_counter() - entry[3]
                at = entry[3] - self.t0
                depth = "  " * len(self.open)
                print(
                    f"{at:7.1f} s {depth}{label:<28} start {start:6.0f}  end {end:6.0f}  "
                    f"peak {entry[2]:6.0f} MB  ({took:.1f} s)",
                    file=self.out,
                    flush=True,
                )

        setattr(owner, name, staged)


def main() -> None:
    from syncer.cli.app import MALLOC_CONF

    os.environ.setdefault("_RJEM_MALLOC_CONF", MALLOC_CONF)  # as syncer's main(), before polars
    target = os.environ.get("SYNCER_STAGES_OUT")
    out = open(target, "a", encoding="utf-8") if target else sys.stderr  # noqa: SIM115
    sampler = Sampler(out)
    sampler.start()

    from syncer.ledger import Ledger
    from syncer.results import write_outputs  # noqa: F401  (wrapped where syncing calls it)
    from syncer.runner import plan, prepared, syncing

    sampler.wrap(syncing, "prepare", "prepare")
    sampler.wrap(plan.Plan, "_known_frame", "ledger read")
    sampler.wrap(plan.Plan, "_planned", "plan")
    sampler.wrap(plan.Collected, "frame", "outcomes frame")
    sampler.wrap(prepared.Prepared, "add_warnings", "add_warnings")
    sampler.wrap(syncing, "write_outputs", "results files")
    sampler.wrap(Ledger, "finish_run", "finish_run")
    sampler.wrap(Ledger, "_refresh_snapshot", "snapshot refresh")
    sampler.wrap(syncing, "report_run", "report")
    sampler.wrap(syncing, "issue_counts", "issue_counts")
    sampler.wrap(syncing, "_keep_run_files", "keep run files")
    sampler.wrap(syncing, "sync", "sync")
    from syncer.cli.app import main as syncer_main

    sys.argv = ["syncer", *sys.argv[1:]]
    try:
        syncer_main()
    finally:
        print(f"process peak {sampler.peak:.0f} MB ({sampler.peak_at})", file=out, flush=True)


if __name__ == "__main__":
    main()
