"""Lookups bench (issue 14): lookups per run vs distinct values looked up, on a tasks and
activities import, counted by the sandbox.

tests/data/tasks_generate.py's export (contacts, deals, tasks with ``account: {domain: ...}``,
activities with attendees by e-mail, their account by domain and a deal by name; some attendees,
domains and deals unknown) against ``python -m syncer sandbox`` in a separate process. The
contacts (``account_contact``) and deals are imported first with their own ledger; then:

- **cold**: tasks and activities with a new ledger (nothing known: every attendee, account and
  deal must be found in Reevo);
- **re-run**: the same again with that ledger (nothing to send, so nothing to look up);
- **warm**: tasks and activities with the contacts' ledger (the attendees an ``account_contact``
  import created are known there).

From ``/_sandbox/stats``, answered lookups by route (preflight's probes are refused 422 and not
counted): ``account_and_contact_retrieval`` ÷ distinct attendee e-mails, ``accounts/search`` ÷
distinct domains, ``opportunities/search`` ÷ distinct (deal, account) pairs, of the rows that get
that far (not ``invalid``; an activity with an unknown attendee stops before its deal). Goal: each
ratio ≤ 1 (each distinct value asked once per run).

    .venv/bin/python bench/bench_lookups.py --tasks 1000 --activities 1000
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_targets import syncer  # noqa: E402
from sandbox_process import Sandbox  # noqa: E402

KEY = "bench-key-0123456789"
#: lookup route -> what it finds
LOOKUPS = {
    "GET account_and_contact_retrieval": "contacts by e-mail",
    "POST accounts/search": "accounts by domain",
    "POST opportunities/search": "opportunities by name",
}


def generator() -> ModuleType:
    """tests/data/tasks_generate.py, loaded by path (tests/data is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "tasks_generate", ROOT / "tests" / "data" / "tasks_generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def lookups(after: dict[str, Any], before: dict[str, Any]) -> dict[str, int]:
    """Answered lookups between two stats snapshots, by route (422: preflight's probe)."""
    out = {}
    for route in LOOKUPS:
        n = 0
        for snap, sign in ((after, 1), (before, -1)):
            answers = snap["by_route_status"].get(route, {})
            n += sign * sum(v for status, v in answers.items() if status != "422")
        out[route] = n
    return out


def sent_values(results: Path) -> dict[str, set[Any]]:
    """Distinct values the rows a run sent to Reevo (``succeeded`` or ``failed``, not
    ``invalid`` nor ``unchanged``) had to look up, by route: every such row's domain, an
    activity's attendees, and its deal when its attendees were all found."""
    out: dict[str, set[Any]] = {r: set() for r in LOOKUPS}
    with results.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["status"] not in ("succeeded", "failed"):
                continue
            domain = row["Company domain"]
            out["POST accounts/search"].add(domain)
            if "Attendees" not in row:
                continue
            out["GET account_and_contact_retrieval"].update(row["Attendees"].split(";"))
            if row["Deal"] and row["error_code"] != "unknown_contact":
                out["POST opportunities/search"].add((row["Deal"], domain))
    return out


def import_one(folder: Path, step: str, sb: Sandbox, ledger: Path, rate: str) -> dict[str, Any]:
    """One run of ``step``: wall time, rows created, requests, and per lookup route the
    answered lookups, the distinct values its sent rows needed, and their ratio."""
    before = sb.stats()
    t0 = time.monotonic()
    out = syncer(
        "run", folder / f"{step}.csv", "--mapping", folder / f"{step}.yaml",
        "--max-rate", rate, cwd=folder, sb=sb, ledger=ledger,
    )  # fmt: skip
    wall = round(time.monotonic() - t0, 1)
    after = sb.stats()
    got = lookups(after, before)
    needed = {r: len(v) for r, v in sent_values(folder / f"{step}.results.csv").items()}
    return {
        "wall_s": wall,
        "succeeded": out["succeeded"],
        "sent_rows": out["succeeded"] + out["failed"],
        "requests": after["total_requests"] - before["total_requests"],
        "lookups": {r: n for r, n in got.items() if n or needed[r]},
        "distinct": {r: n for r, n in needed.items() if n or got[r]},
        "per_distinct": {r: round(got[r] / needed[r], 3) for r in LOOKUPS if needed[r]},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--activities", type=int, default=1000)
    ap.add_argument("--contacts", type=int, default=150)
    ap.add_argument("--max-rate", default="2000")
    ap.add_argument("--json", type=Path, help="append the result as one JSON line here")
    args = ap.parse_args()
    gen = generator()
    folder = Path(tempfile.mkdtemp(prefix="bench-lookups-"))
    sb = Sandbox(KEY)
    try:
        gen.generate(
            folder, tasks=args.tasks, activities=args.activities, skip=0, contacts=args.contacts
        )
        parents = folder / "parents.db"
        for step in ("contacts", "deals"):
            syncer(
                "run", folder / f"{step}.csv", "--mapping", folder / f"{step}.yaml",
                "--max-rate", args.max_rate, cwd=folder, sb=sb, ledger=parents,
            )  # fmt: skip
        runs: dict[str, Any] = {}
        for name, ledger in (
            ("cold", folder / "cold.db"),
            ("rerun", folder / "cold.db"),
            ("warm", parents),
        ):
            for step in ("tasks", "activities"):
                runs[f"{name} {step}"] = import_one(folder, step, sb, ledger, args.max_rate)
    finally:
        sb.close()
        shutil.rmtree(folder, ignore_errors=True)

    result = {
        "tasks": args.tasks,
        "activities": args.activities,
        "contacts": args.contacts,
        "runs": runs,
    }
    print(f"{args.tasks} tasks + {args.activities} activities, {args.contacts} contacts")
    worst = 0.0
    for name, run in runs.items():
        print(
            f"{name}: {run['sent_rows']} rows sent ({run['succeeded']} created), "
            f"{run['requests']} requests in {run['wall_s']} s"
        )
        for route, ratio in run["per_distinct"].items():
            worst = max(worst, ratio)
            print(
                f"  {LOOKUPS[route]:<22} {run['lookups'][route]:>5} lookups / "
                f"{run['distinct'][route]:>4} distinct = {ratio}"
            )
    print(f"worst lookups per distinct value in a run: {worst} (goal <= 1)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        with args.json.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
