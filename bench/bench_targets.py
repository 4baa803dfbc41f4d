"""Accounts and opportunities bench (issue 12): what a re-run costs, counted by the sandbox.

A HubSpot-like export (tests/data/hubspot/generate.py: companies, a few contacts, deals) goes
through the shipped job (mappings/hubspot_migration.job.yaml) with ``syncer run --job`` against
``python -m syncer sandbox`` in a separate process. Then 1 % of the company rows (a LinkedIn
page) and 1 % of the deal rows (two thirds an amount, one third a stage) change and the job runs
again. From the sandbox's ``/_sandbox/stats`` (answers by route):

- **writes per changed row** on the re-run: accepted POST/PATCH/shift_stage ÷ changed rows
  (goal ≤ 1.05);
- **lookups per distinct parent** on the re-run (``accounts/search``,
  ``account_and_contact_retrieval``) ÷ the distinct accounts the changed deals are on
  (goal ≤ 1; the ledger knows them, so 0 is expected);
- and, cold: the deals alone with ``account: {domain: ...}`` and a **new ledger** (nothing
  known: every account must be found in Reevo), parent lookups ÷ distinct parent domains
  (goal ≤ 1: each account asked once per run, however many deals it has).

Runnable in one command (a shell command here is limited to 10 minutes)::

    .venv/bin/python bench/bench_targets.py --companies 1000 --deals 3000
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox_process import Sandbox  # noqa: E402

KEY = "bench-key-0123456789"
JOB = "hubspot_migration.job.yaml"
SHIPPED = ["hubspot_companies.yaml", "hubspot_contacts.yaml", "hubspot_deals.yaml", JOB]
#: the routes that find a parent account
PARENT_LOOKUPS = ("POST accounts/search", "GET account_and_contact_retrieval")
READS = {*PARENT_LOOKUPS, "POST opportunities/search", "POST users/search"}


def generator() -> ModuleType:
    """tests/data/hubspot/generate.py, loaded by path (tests/data is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "hubspot_generate", ROOT / "tests" / "data" / "hubspot" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def accepted_writes(stats: dict[str, Any]) -> Counter[str]:
    """2xx answers on write routes (preflight's probes are refused: not writes)."""
    return Counter(
        {
            route: sum(n for status, n in answers.items() if status.startswith("2"))
            for route, answers in stats["by_route_status"].items()
            if route not in READS and not route.startswith("GET ")
        }
    )


def by_route_status(after: dict[str, Any], before: dict[str, Any]) -> dict[str, int]:
    """Answers between two stats snapshots, as ``"PATCH accounts/{account_id} 200": n``."""
    out: Counter[str] = Counter()
    for snap, sign in ((after, 1), (before, -1)):
        for route, answers in snap["by_route_status"].items():
            for status, n in answers.items():
                out[f"{route} {status}"] += sign * n
    return {k: v for k, v in sorted(out.items()) if v}


def parent_lookups(stats: dict[str, Any]) -> int:
    """Answered parent lookups (2xx: preflight's probe of accounts/search is refused, 422)."""
    by: dict[str, dict[str, int]] = stats["by_route_status"]
    return sum(
        n for r in PARENT_LOOKUPS for status, n in by.get(r, {}).items() if status.startswith("2")
    )


def syncer(*args: str | Path, cwd: Path, sb: Sandbox, ledger: Path) -> dict[str, Any]:
    """Run the CLI; return its ``--json`` object (with ``_cpu_s``, the child's CPU seconds)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEVO_")}
    env.update(REEVO_API_KEY=KEY, REEVO_BASE_URL=sb.base_url, SYNCER_HOME=str(cwd / "home"))
    before = os.times()
    proc = subprocess.run(
        [sys.executable, "-m", "syncer", *map(str, args), "--ledger", str(ledger), "--json", "-q"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    after = os.times()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"syncer {args[0]} exited {proc.returncode}: {proc.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["_cpu_s"] = round(
        after.children_user + after.children_system - before.children_user
        - before.children_system,
        2,
    )  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--companies", type=int, default=1000)
    ap.add_argument("--deals", type=int, default=3000)
    ap.add_argument("--contacts", type=int, default=20)
    ap.add_argument("--changed", type=float, default=0.01, help="share of rows changed")
    ap.add_argument("--max-rate", default="2000")
    ap.add_argument("--json", type=Path, help="append the result as one JSON line here")
    args = ap.parse_args()
    gen = generator()
    folder = Path(tempfile.mkdtemp(prefix="bench-targets-"))
    sb = Sandbox(KEY)
    try:
        export = gen.generate(
            folder, companies=args.companies, contacts=args.contacts, deals=args.deals
        )
        for name in SHIPPED:
            shutil.copy(ROOT / "mappings" / name, folder / name)
        ledger = folder / "ledger.db"
        job = ["run", "--job", folder / JOB, "--max-rate", args.max_rate]

        t0 = time.monotonic()
        first = syncer(*job, cwd=folder, sb=sb, ledger=ledger)
        first_s = time.monotonic() - t0
        s1 = sb.stats()

        n_companies = max(1, round(args.companies * args.changed))
        n_deals = max(3, round(args.deals * args.changed))
        domains = gen.change_companies(export, n_companies)
        stages = n_deals // 3
        amounts, moved = gen.change_deals(export, amounts=n_deals - stages, stages=stages)
        changed_deals = [export.truth.deals[r] for r in amounts + moved]
        parents = {d.domain for d in changed_deals}

        t0 = time.monotonic()
        rerun = syncer(*job, cwd=folder, sb=sb, ledger=ledger)
        rerun_s = time.monotonic() - t0
        s2 = sb.stats()
        writes = accepted_writes(s2) - accepted_writes(s1)
        changed_rows = len(domains) + len(changed_deals)
        rerun_lookups = parent_lookups(s2) - parent_lookups(s1)

        # cold: the deals alone, looked up by domain, with a ledger that knows nothing
        rows = [[*r, "Company Domain Name" if i == 0 else ""] for i, r in enumerate(export.deals)]
        for d in export.truth.deals.values():
            rows[d.row - 1][-1] = d.domain or ""
        gen.write_csv(folder / "deals_by_domain.csv", rows)
        mapping = (folder / "hubspot_deals.yaml").read_text(encoding="utf-8")
        mapping = mapping.replace(
            "account: {name: Associated Company}", "account: {domain: Company Domain Name}"
        )
        (folder / "deals_by_domain.yaml").write_text(mapping, encoding="utf-8")
        sent_to = {
            d.domain for d in export.truth.deals.values() if d.domain and d.status != "invalid"
        }
        t0 = time.monotonic()
        cold = syncer(
            "run", folder / "deals_by_domain.csv", "--mapping", folder / "deals_by_domain.yaml",
            "--max-rate", args.max_rate, cwd=folder, sb=sb, ledger=folder / "cold.db",
        )  # fmt: skip
        cold_s = time.monotonic() - t0
        s3 = sb.stats()
        cold_lookups = parent_lookups(s3) - parent_lookups(s2)
    finally:
        sb.close()
        shutil.rmtree(folder, ignore_errors=True)

    result = {
        "companies": args.companies,
        "contacts": args.contacts,
        "deals": args.deals,
        "first_run": {
            "wall_s": round(first_s, 1),
            "client_cpu_s": first["_cpu_s"],
            "requests": s1["total_requests"],
            "writes": sum(accepted_writes(s1).values()),
        },
        "rerun": {
            "changed_companies": len(domains),
            "changed_deals": len(changed_deals),
            "stage_moves": len(moved),
            "wall_s": round(rerun_s, 1),
            "client_cpu_s": rerun["_cpu_s"],
            "requests": s2["total_requests"] - s1["total_requests"],
            "by_route_status": by_route_status(s2, s1),
            "writes": dict(writes),
            "writes_per_changed_row": round(sum(writes.values()) / changed_rows, 3),
            "parent_lookups": rerun_lookups,
            "distinct_parents": len(parents),
            "lookups_per_distinct_parent": round(rerun_lookups / len(parents), 3),
        },
        "cold_deals_by_domain": {
            "wall_s": round(cold_s, 1),
            "client_cpu_s": cold["_cpu_s"],
            "requests": s3["total_requests"] - s2["total_requests"],
            "by_route_status": by_route_status(s3, s2),
            "parent_lookups": cold_lookups,
            "distinct_parents": len(sent_to),
            "lookups_per_distinct_parent": round(cold_lookups / len(sent_to), 3),
        },
    }
    r, c = result["rerun"], result["cold_deals_by_domain"]
    print(
        f"first run: {result['first_run']['requests']} requests in "
        f"{result['first_run']['wall_s']} s\n"
        f"re-run, {r['changed_companies']} companies + {r['changed_deals']} deals changed "
        f"({r['stage_moves']} stage moves): writes {r['writes']}\n"
        f"  writes per changed row:      {r['writes_per_changed_row']}  (goal <= 1.05)\n"
        f"  lookups per distinct parent: {r['lookups_per_distinct_parent']}  (goal <= 1; "
        f"{r['parent_lookups']} for {r['distinct_parents']} accounts)\n"
        f"cold deals by domain, new ledger: {c['parent_lookups']} parent lookups for "
        f"{c['distinct_parents']} accounts = {c['lookups_per_distinct_parent']} per parent "
        f"(goal <= 1), {c['requests']} requests in {c['wall_s']} s"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        with args.json.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
