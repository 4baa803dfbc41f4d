"""Acceptance (issue 12): a HubSpot migration (companies, contacts, deals) as one job, through
the real CLI against the sandbox, with the shipped mappings and job file (mappings/hubspot_*).

The export is tests/data/hubspot/generate.py's (its truth says where every deal must end and
which rows fail with which code). Counts come from the sandbox's dump and stats: one account per
domain (acme.com, acme.com.au and notacme.com each their own), one opportunity per deal, each
on its account in its stage; a re-run writes nothing; changed amounts and stages are exactly one
PATCH / shift_stage each; faults and kill -9 change none of it.
"""

from __future__ import annotations

import importlib.util
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from wait_helpers import wait_for_stats, wait_idle

from syncer.sandbox import SandboxHandle, SandboxSettings, serve_in_thread

from .cli_helpers import CliResult, cli_env, private_env, read_results, syncer

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [
    "hubspot_companies.yaml",
    "hubspot_contacts.yaml",
    "hubspot_deals.yaml",
    "hubspot_migration.job.yaml",
]
JOB = "hubspot_migration.job.yaml"
STEPS = ("companies", "contacts", "deals")
#: codes of rows a re-run may still get through (Reevo failed, not the row)
RETRYABLE = {"reevo_unavailable", "reevo_ambiguous", "run_aborted", "interrupted",
             "interrupted_in_flight"}  # fmt: skip
#: the routes that read (lookups); every other POST and every PATCH writes
READS = {"POST accounts/search", "POST opportunities/search", "POST users/search",
         "GET account_and_contact_retrieval"}  # fmt: skip
RATE = "2000"  # --max-rate: fast, the sandbox is local

pytestmark = pytest.mark.timeout(600)


def _generator() -> ModuleType:
    """tests/data/hubspot/generate.py (tests/data is not a package)."""
    name = "hubspot_generate"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, ROOT / "tests" / "data" / "hubspot" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


gen = _generator()


def make_folder(folder: Path, **sizes: int) -> Any:
    """The generated export and a copy of the shipped mappings and job beside it (what the job
    file's comment tells a user to do)."""
    export = gen.generate(folder, **sizes)
    for name in SHIPPED:
        shutil.copy(ROOT / "mappings" / name, folder / name)
    return export


def run_job(sb: SandboxHandle, folder: Path, *extra: str, command: str = "run") -> CliResult:
    """``syncer run --job`` (or validate) in ``folder``, its ledger and home inside it."""
    args = [command, "--job", folder / JOB, "--json", "-q", *extra]
    if command == "run":
        args += ["--max-rate", RATE]
    return syncer(
        *args, cwd=folder, api_key=sb.api_key, base_url=sb.base_url, env=private_env(folder)
    )


def results(folder: Path, step: str) -> list[dict[str, str]]:
    return read_results(folder / f"{step}.results.csv")


def writes(stats: dict[str, Any]) -> Counter[str]:
    """Write requests Reevo accepted (2xx), by route (``PATCH opportunities/{opportunity_id}``);
    preflight's probes are refused (422) and write nothing."""
    by: dict[str, dict[str, int]] = stats["by_route_status"]
    return Counter(
        {
            route: sum(n for status, n in answers.items() if status.startswith("2"))
            for route, answers in by.items()
            if route not in READS and route.split()[0] != "GET"
        }
    )


def lookups(stats: dict[str, Any]) -> Counter[str]:
    by: dict[str, int] = stats["by_route"]
    return Counter({r: n for r, n in by.items() if r in READS and r != "POST users/search"})


def normal(domain: str | None) -> str:
    return (domain or "").strip().lower()


@dataclass
class Baseline:
    """What the sandbox held before the job (the seed's accounts, e.g. acme.com)."""

    domains: set[str]
    accounts: int
    opportunities: int


def baseline(sb: SandboxHandle) -> Baseline:
    dump = sb.admin.dump()
    return Baseline(
        {normal(a.get("domain_name")) for a in dump["accounts"]} - {""},
        len(dump["accounts"]),
        len(dump.get("opportunities", [])),
    )


def assert_state(sb: SandboxHandle, export: Any, base: Baseline, *, by_name: bool = False) -> None:
    """Exactly one account per domain and no other; exactly one opportunity per good deal, on
    its account, in its stage, with its reasons and amount. ``by_name``: accounts without a
    domain named as a company may exist too (see the fault test)."""
    wait_idle(sb.admin.stats)
    dump = sb.admin.dump()
    truth = export.truth
    accounts = dump["accounts"]
    per_domain = Counter(normal(a.get("domain_name")) for a in accounts)
    per_domain.pop("", None)
    twice = {d: n for d, n in per_domain.items() if n > 1}
    assert not twice, f"domains with several accounts: {twice}"
    missing = set(truth.accounts) - set(per_domain)
    assert not missing, f"no account for {sorted(missing)[:10]}"
    assert {"acme.com", "acme.com.au", "notacme.com"} <= set(per_domain)
    extra = [a for a in accounts if not normal(a.get("domain_name"))]
    names = set(truth.accounts.values())
    assert not extra or (by_name and {a["name"] for a in extra} <= names), (
        f"accounts without a domain: {extra[:5]}"
    )
    assert len(accounts) - len(extra) == len(base.domains | set(truth.accounts))

    domain_of = {a["id"]: normal(a.get("domain_name")) for a in accounts}
    opps = dump.get("opportunities", [])
    deal_names = Counter(o["display_name"] for o in opps)
    twice = {n: c for n, c in deal_names.items() if c > 1}
    assert not twice, f"deals created several times: {dict(list(twice.items())[:5])}"
    good = truth.good_deals
    assert len(opps) == base.opportunities + len(good)
    by_name = {o["display_name"]: o for o in opps}
    wrong = []
    for d in good.values():
        o = by_name.get(d.name)
        if o is None:
            wrong.append((d.record_id, d.name, "not in Reevo"))
            continue
        amount = Decimal(str(o["amount"])) if o.get("amount") is not None else None
        got = (domain_of[o["account_id"]], o["stage_name"], tuple(o["closed_reason_names"] or ()))
        want = (d.domain, d.stage, d.reasons)
        if got != want or amount != d.amount:
            wrong.append((d.record_id, (*got, amount), (*want, d.amount)))
    assert not wrong, f"{len(wrong)} deals not as exported, e.g. {wrong[:5]}"
    for d in truth.bad_deals.values():
        assert d.name not in by_name, f"deal {d.record_id} ({d.code}) reached Reevo"


def assert_rows(folder: Path, export: Any, *, rerun: bool = False) -> None:
    """Every row's status and error code in the step's results file, as the truth says (after
    a ``rerun``, a good row may be unchanged: an earlier run sent it)."""
    truth = export.truth
    fine = {"succeeded", "unchanged"} if rerun else {"succeeded"}
    for step, bad in (("companies", truth.company_rows), ("contacts", truth.contact_rows)):
        got = {int(r["source_row"]): (r["status"], r["error_code"]) for r in results(folder, step)}
        wrong = {
            row: (got.get(row), want)
            for row, want in bad.items()
            if got.get(row, ("", ""))[0] != want[0] or (want[1] and got[row][1] != want[1])
        }
        assert not wrong, f"{step}: rows not as expected (got, want): {wrong}"
        others = Counter(s for row, (s, _) in got.items() if row not in bad)
        assert set(others) <= fine, f"{step}: {others}"
    deals = {r["Record ID"]: r for r in results(folder, "deals")}
    assert len(deals) == len(truth.deals)
    wrong_deals = []
    for rid, d in truth.deals.items():
        r = deals[rid]
        want = ("succeeded", "") if d.code is None else (d.status, d.code)
        if d.code is None and r["status"] in fine:
            continue
        if (r["status"], r["error_code"]) != want:
            wrong_deals.append((rid, (r["status"], r["error_code"], r["error"][:120]), want))
    assert not wrong_deals, f"{len(wrong_deals)} deal rows wrong, e.g. {wrong_deals[:8]}"


# -- the shipped mappings validate against the export ------------------------------------------


def test_shipped_mappings_validate_against_a_hubspot_export(tmp_path: Path) -> None:
    """`syncer validate` of each step and `validate --job`: every row ready but the bad ones
    the mapping can tell without Reevo (no key, a broken e-mail, no company, a closed deal
    without reason, an amount that reads two ways), each with its code."""
    export = make_folder(tmp_path, companies=40, contacts=60, deals=80)
    truth = export.truth
    for step, mapping in zip(STEPS, SHIPPED, strict=False):
        res = syncer(
            "validate", tmp_path / f"{step}.csv", "--mapping", tmp_path / mapping, "--json",
            cwd=tmp_path, env=private_env(tmp_path),
        )  # fmt: skip
        assert res.code == 1, res.stderr  # every file has rows to fix on purpose
    local = {"invalid"}  # what validate can tell: failed rows need Reevo
    want_deals = {rid: (d.status, d.code) for rid, d in truth.deals.items() if d.status in local}
    got = {r["Record ID"]: (r["status"], r["error_code"]) for r in results(tmp_path, "deals")}
    assert {k: v for k, v in got.items() if v[0] != "ready"} == want_deals
    for step, bad in (("companies", truth.company_rows), ("contacts", truth.contact_rows)):
        rows = {
            int(r["source_row"]): (r["status"], r["error_code"]) for r in results(tmp_path, step)
        }
        not_ready = {k: v for k, v in rows.items() if v[0] != "ready"}
        assert {k: v[0] for k, v in not_ready.items()} == {k: v[0] for k, v in bad.items()}
        assert all(v[1] == bad[k][1] for k, v in not_ready.items() if bad[k][1])
    whole = syncer(
        "validate", "--job", tmp_path / JOB, "--json", cwd=tmp_path, env=private_env(tmp_path)
    )
    assert whole.code == 1, whole.stderr
    assert [s["name"] for s in whole.json["steps"]] == list(STEPS)


# -- the whole migration: 500 companies, 2,000 contacts, 800 deals ------------------------------


@dataclass
class Migration:
    sb: SandboxHandle
    folder: Path
    export: Any
    base: Baseline
    first: CliResult


def test_the_whole_migration_then_again_then_ten_amounts_and_three_stages(
    tmp_path: Path,
) -> None:
    """The job once on the full export, the same job again, then with changes: one test, in
    order, so the 3,300-row job runs once (not once per test worker)."""
    export = make_folder(tmp_path)
    with serve_in_thread(SandboxSettings(port=0, random_seed=3)) as sb:
        base = baseline(sb)
        m = Migration(sb, tmp_path, export, base, run_job(sb, tmp_path))
        _imports_every_company_contact_and_deal_once(m)
        _same_job_again_writes_nothing(m)
        _changed_amounts_and_stages_are_one_call_each(m)


def _imports_every_company_contact_and_deal_once(m: Migration) -> None:
    assert m.first.code == 1, m.first.stderr  # rows to fix on purpose, nothing else
    summary = m.first.json
    assert [s["name"] for s in summary["steps"]] == list(STEPS)
    assert all(s["aborted"] is None for s in summary["steps"]), summary
    truth = m.export.truth
    deal_statuses = Counter(d.status or "succeeded" for d in truth.deals.values())
    counted = {
        "companies": Counter(s for s, _ in truth.company_rows.values())
        + Counter(succeeded=len(truth.accounts)),
        "contacts": Counter(s for s, _ in truth.contact_rows.values())
        + Counter(succeeded=len(truth.contacts)),
        "deals": deal_statuses,
    }
    for step in summary["steps"]:
        got = {k: step[k] for k in ("succeeded", "duplicate", "invalid", "failed") if step[k]}
        assert got == dict(counted[step["name"]]), step["name"]
    assert_state(m.sb, m.export, m.base)
    assert_rows(m.folder, m.export)
    contacts = {str(c["email"]).lower() for c in m.sb.admin.dump()["contacts"]}
    assert m.export.truth.contacts <= contacts


def _same_job_again_writes_nothing(m: Migration) -> None:
    wait_idle(m.sb.admin.stats)
    before = m.sb.admin.stats()
    again = run_job(m.sb, m.folder)
    assert again.code == 1, again.stderr  # the same bad rows
    after = wait_idle(m.sb.admin.stats)
    assert writes(after) - writes(before) == Counter()
    assert after["writes_applied"] == before["writes_applied"]
    assert_state(m.sb, m.export, m.base)


def _changed_amounts_and_stages_are_one_call_each(m: Migration) -> None:
    amounts, stages = gen.change_deals(m.export, amounts=10, stages=3)
    before = wait_idle(m.sb.admin.stats)
    res = run_job(m.sb, m.folder)
    assert res.code == 1, res.stderr
    after = wait_idle(m.sb.admin.stats)
    assert writes(after) - writes(before) == Counter(
        {"PATCH opportunities/{opportunity_id}": 10,
         "POST opportunities/{opportunity_id}/shift_stage": 3}
    )  # fmt: skip
    assert_state(m.sb, m.export, m.base)
    deals = {r["Record ID"]: r["status"] for r in results(m.folder, "deals")}
    assert {deals[rid] for rid in amounts + stages} == {"succeeded"}


# -- faults: commit-then-fail and resets at 10 % each --------------------------------------------


def _left_to_retry(folder: Path) -> list[tuple[str, str, str]]:
    """Rows of the last run that a re-run may still get through."""
    return [
        (step, r["source_row"], r["error_code"])
        for step in STEPS
        for r in results(folder, step)
        if r["status"] in ("failed", "not_attempted") and r["error_code"] in RETRYABLE
    ]


def test_faults_leave_one_account_per_domain_and_one_deal_per_key(tmp_path: Path) -> None:
    export = make_folder(tmp_path, companies=40, contacts=12, deals=100)
    settings = SandboxSettings(port=0, random_seed=11, commit_then_fail_rate=0.1, reset_rate=0.1)
    with serve_in_thread(settings) as sb:
        base = baseline(sb)
        left: list[tuple[str, str, str]] = []
        runs = 0
        while runs < 6:  # re-run the job as a user would, until nothing is left to retry
            runs += 1
            res = run_job(sb, tmp_path)
            assert res.code in (1, 3), res.stderr
            wait_idle(sb.admin.stats)
            left = _left_to_retry(tmp_path)
            if not left:
                break
        assert not left, f"still to retry after {runs} runs: {left[:10]}"
        stats = sb.admin.stats()
        assert stats["resets"] > 0 and stats["by_status"].get("500", 0) > 0  # faults happened
        # a company row that failed in the first run has no account yet when the contacts step
        # runs (a job goes on past rows to fix): account_contact then makes an account of a
        # free-mail contact's company name, without a domain. Allowed here, named in the report.
        assert_state(sb, export, base, by_name=True)
        assert_rows(tmp_path, export, rerun=runs > 1)


# -- kill -9 at random moments, then run again ---------------------------------------------------


@pytest.mark.slow
def test_sigkill_at_random_moments_then_rerun_completes_exactly_once(tmp_path: Path) -> None:
    seed = int(os.environ.get("SYNCER_KILL_SEED", time.time_ns() % 10**9))
    rng = random.Random(seed)
    export = make_folder(tmp_path, companies=30, contacts=10, deals=80)
    args = [sys.executable, "-m", "syncer", "run", "--job", str(tmp_path / JOB), "-q"]
    args += ["--max-rate", "300"]  # killed runs are paced: a poll every 20 ms overshoots little
    with serve_in_thread(SandboxSettings(port=0, random_seed=5)) as sb:
        base = baseline(sb)
        env = cli_env(sb.api_key, sb.base_url) | private_env(tmp_path)
        for kill in range(10):
            # a moment of the job's progress, not of the wall clock: the first requests
            # (preflight, the first step) or 5-20 writes further (the job makes ~230)
            stats = sb.admin.stats()
            if kill % 4 == 0:
                target = stats["total_requests"] + rng.randint(1, 6)
                check = lambda s, t=target: s["total_requests"] >= t  # noqa: E731
            else:
                target = stats["writes_applied"] + rng.randint(5, 20)
                check = lambda s, t=target: s["writes_applied"] >= t  # noqa: E731
            proc = subprocess.Popen(
                args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            try:
                wait_for_stats(
                    sb.admin.stats, check, f"kill #{kill + 1}'s moment (seed {seed})",
                    proc=proc, timeout=120, interval=0.02,
                )  # fmt: skip
                proc.send_signal(signal.SIGKILL)
                proc.wait()
            finally:
                if proc.stderr:
                    proc.stderr.close()
            wait_idle(sb.admin.stats)
        killed_at = sb.admin.stats()["writes_applied"]
        done = run_job(sb, tmp_path)
        assert done.code == 1, f"seed {seed}: {done.stderr}"
        assert killed_at >= 35, f"seed {seed}: the kills left only {killed_at} writes"
        assert_state(sb, export, base)
        assert_rows(tmp_path, export, rerun=True)


# -- a ledger written by the current release --------------------------------------------------


def test_job_on_a_ledger_of_the_previous_release_keeps_its_history(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    make_folder(tmp_path, companies=12, contacts=10, deals=40)
    shutil.copy(ROOT / "tests" / "data" / "ledgers" / "v1.db", tmp_path / "ledger.db")
    res = run_job(live_sandbox, tmp_path)
    assert res.code == 1, res.stderr
    runs = syncer("runs", "--json", "--limit", "100", cwd=tmp_path, env=private_env(tmp_path))
    assert runs.code == 0, runs.stderr
    listed = [(r["id"], Path(r["source"]).name) for r in runs.json["runs"]]
    assert listed == [
        (5, "deals.csv"),
        (4, "contacts.csv"),
        (3, "companies.csv"),
        (2, "contacts.csv"),
        (1, "contacts-first.csv"),
    ]
