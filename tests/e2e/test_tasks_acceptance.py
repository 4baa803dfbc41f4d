"""Acceptance (issue 14): tasks and logged activities through the real CLI against the sandbox,
at scale, with exact counts from the sandbox's dump and stats.

The export is tests/data/tasks_generate.py's: 150 contacts (an ``account_contact`` step: one
account per firm domain), 15 deals, 1,000 tasks (Europe/Berlin), 1,000 activities and 60 more
with ``on_missing_contact: skip`` (America/Chicago), as one job. Its truth says what every row
becomes; the stored times are compared with zoneinfo's. A second run writes nothing. Under
commit-then-fail and resets no task or activity is stored twice (by its key's content), every
write the sandbox failed is a ``reevo_ambiguous`` row, and ``--force-ambiguous`` sends only
those rows again (so it is for rows the user checked: the ones Reevo did apply are then
duplicated, which the test shows).
"""

from __future__ import annotations

import csv
import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from wait_helpers import wait_idle

from syncer.runner.checks import PREFLIGHT_ATTEMPTS
from syncer.sandbox import SandboxHandle

from .cli_helpers import CliResult, private_env, read_results, syncer

ROOT = Path(__file__).resolve().parents[2]
RATE = "5000"  # --max-rate: the sandbox is local
TASKS, ACTIVITIES = "POST tasks", "POST manual_activities"

pytestmark = pytest.mark.timeout(600)


def _generator() -> ModuleType:
    """tests/data/tasks_generate.py (tests/data is not a package)."""
    name = "tasks_generate"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "tests/data/tasks_generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


gen = _generator()


def cli(sb: SandboxHandle, folder: Path, *args: str | Path) -> CliResult:
    """``syncer ARGS --json -q --max-rate`` in ``folder``, its ledger and home inside it."""
    return syncer(
        *args, "--json", "-q", "--max-rate", RATE,
        cwd=folder, api_key=sb.api_key, base_url=sb.base_url, env=private_env(folder),
    )  # fmt: skip


def writes(stats: dict[str, Any]) -> Counter[str]:
    """Requests Reevo accepted (2xx) that write, by route: every POST but the searches."""
    by: dict[str, dict[str, int]] = stats["by_route_status"]
    return Counter(
        {
            route: sum(n for status, n in answers.items() if status.startswith("2"))
            for route, answers in by.items()
            if route.startswith(("POST", "PATCH")) and not route.endswith("/search")
        }
    )


def answers(stats: dict[str, Any], route: str) -> Counter[str]:
    """The sandbox's answers to ``route`` by status ("reset": a dropped connection), without
    preflight's probe (an empty body, refused 422)."""
    got = Counter({str(k): int(v) for k, v in stats["by_route_status"].get(route, {}).items()})
    got.pop("422", None)
    return got


def results(folder: Path, step: str) -> dict[int, dict[str, str]]:
    return {int(r["source_row"]): r for r in read_results(folder / f"{step}.results.csv")}


def not_succeeded(rows: dict[int, dict[str, str]]) -> dict[int, tuple[str, str]]:
    return {
        n: (r["status"], r["error_code"]) for n, r in rows.items() if r["status"] != "succeeded"
    }


class Reevo:
    """The sandbox's dump, read as the truth reads: tasks by title, activities by subject,
    e-mails of contact ids, domains of account ids, deal names of opportunity ids."""

    def __init__(self, sb: SandboxHandle) -> None:
        wait_idle(sb.admin.stats)
        dump = sb.admin.dump()
        self.email = {c["id"]: str(c["email"]).lower() for c in dump["contacts"]}
        self.domain = {a["id"]: a.get("domain_name") for a in dump["accounts"]}
        self.deal = {o["id"]: o["display_name"] for o in dump.get("opportunities", [])}
        self.tasks: list[dict[str, Any]] = dump.get("tasks", [])
        self.activities: list[dict[str, Any]] = dump.get("activities", [])

    def task(self, t: dict[str, Any]) -> dict[str, object]:
        return {
            "owner_email": t["owner_email"],
            "due_at": t["due_at"],
            "status": t["status"],
            "priority": t["priority"],
            "type": t["type"],
            "contact_emails": t["contact_emails"],
            "domain": self.domain.get(t["account_id"]),
        }

    def activity(self, a: dict[str, Any]) -> dict[str, object]:
        return {
            "activity_time": a["metadata"]["activity_time"],
            "category": a["metadata"]["category"],
            "contact_emails": [self.email[c] for c in a.get("contact_ids") or []],
            "domain": self.domain.get(a["account_id"]),
            "deal": self.deal.get(a.get("pipeline_id") or ""),
        }

    def task_keys(self) -> Counter[tuple[Any, ...]]:
        """Stored tasks by their key's content (what the default key hashes)."""
        return Counter(
            (t["title"].lower(), t["owner_email"], t["due_at"],
             tuple(sorted(t["contact_emails"] or ())), t["account_id"])
            for t in self.tasks
        )  # fmt: skip

    def activity_keys(self) -> Counter[tuple[Any, ...]]:
        return Counter(
            (a["metadata"]["activity_time"], a["metadata"]["subject"],
             tuple(sorted(a.get("contact_ids") or ())), a["account_id"])
            for a in self.activities
        )  # fmt: skip


# -- 1,000 tasks and 1,000 activities, then again ----------------------------------------------


def test_a_thousand_tasks_and_activities_are_imported_once_with_their_offsets(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    truth = gen.generate(tmp_path)
    sb = live_sandbox
    first = cli(sb, tmp_path, "run", "--job", tmp_path / "import.job.yaml")
    assert first.code == 1, first.stderr  # rows to fix on purpose, nothing else
    steps = {s["name"]: s for s in first.json["steps"]}
    assert list(steps) == list(gen.STEPS) and all(s["aborted"] is None for s in steps.values())
    counted = {
        "contacts": Counter(succeeded=len(truth.contacts)),
        "deals": Counter(succeeded=len(truth.deals)),
        "tasks": Counter(s for s, _ in truth.task_rows.values())
        + Counter(succeeded=len(truth.tasks)),
        "activities": Counter(s for s, _ in truth.activity_rows.values())
        + Counter(succeeded=len(truth.activities)),
        "activities_skip": Counter(succeeded=len(truth.skipped)),
    }
    for name, want in counted.items():
        got = {k: steps[name][k] for k in ("succeeded", "invalid", "failed") if steps[name][k]}
        assert got == dict(want), name
    stats = wait_idle(sb.admin.stats)
    assert writes(stats)[TASKS] == len(truth.tasks)
    assert writes(stats)[ACTIVITIES] == len(truth.activities) + len(truth.skipped)

    reevo = Reevo(sb)
    assert {t["title"]: reevo.task(t) for t in reevo.tasks} == truth.tasks
    logged = {a["metadata"]["subject"]: reevo.activity(a) for a in reevo.activities}
    assert {s: v for s, v in logged.items() if s.startswith("Activity")} == truth.activities
    assert {s: v for s, v in logged.items() if s.startswith("Skip")} == truth.skipped
    # the DST cells as literals too (the truth computes them with zoneinfo)
    got = {t["title"]: t["due_at"] for t in reevo.tasks}
    assert [got[f"Task {i:04d}"] for i in (0, 1, 3, 4, 13)] == [
        "2026-03-29T01:30:00+01:00",
        "2026-03-29T03:30:00+02:00",  # 02:30 is skipped: moved forward by the gap
        "2026-10-25T02:30:00+02:00",  # 02:30 is repeated: the earlier
        "2026-10-25T03:30:00+01:00",
        "2026-10-25T00:00:00+02:00",  # a date alone
    ]
    when = {s: v["activity_time"] for s, v in logged.items()}
    assert [when[f"Activity {i:04d}"] for i in (0, 1, 10, 11, 12)] == [
        "2026-03-08T01:30:00-06:00",
        "2026-03-08T03:30:00-05:00",  # skipped: moved forward
        "2026-11-01T01:30:00-05:00",  # repeated: the earlier
        "2026-11-01T02:30:00-06:00",
        "2026-11-01T00:00:00-05:00",
    ]
    assert not reevo.task_keys() - Counter(set(reevo.task_keys()))  # none twice

    # every row's status and code in the results files, as the truth says
    tasks = results(tmp_path, "tasks")
    assert not_succeeded(tasks) == truth.task_rows
    enum_row = min(n for n, v in truth.task_rows.items() if v[1] == "invalid_enum")
    assert "URGENT, HIGH, MEDIUM, LOW" in tasks[enum_row]["error"]
    acts = results(tmp_path, "activities")
    assert not_succeeded(acts) == truth.activity_rows
    for n, (_, code) in truth.activity_rows.items():
        if code == "unknown_contact":
            assert f"ghost{n - 2}@" in acts[n]["error"], acts[n]
        elif code == "invalid_enum":
            assert "WEBINAR, CALL, OTHER" in acts[n]["error"], acts[n]
    skip = results(tmp_path, "activities_skip")
    warned = {n: r["warnings"].split(":", 1)[0] for n, r in skip.items() if r["warnings"]}
    assert warned == {n: code for n, (_, code) in truth.skip_rows.items()}
    assert {r["status"] for r in skip.values()} == {"succeeded"}

    # the same job again: nothing written, every stored row unchanged
    again = cli(sb, tmp_path, "run", "--job", tmp_path / "import.job.yaml")
    assert again.code == 1, again.stderr  # the same rows to fix
    after = wait_idle(sb.admin.stats)
    assert writes(after) - writes(stats) == Counter()
    assert after["writes_applied"] == stats["writes_applied"]
    unchanged = {s["name"]: s["unchanged"] for s in again.json["steps"]}
    assert unchanged == {name: want["succeeded"] for name, want in counted.items()}
    assert len(Reevo(sb).tasks) == len(truth.tasks)


# -- commit-then-fail and resets at 10 % each ----------------------------------------------------


def _first_run_with_faults(
    sb: SandboxHandle, folder: Path, step: str, route: str, bad: dict[int, tuple[str, str]]
) -> set[int]:
    """Run ``step`` once under the faults; return its ambiguous rows. Every answer the sandbox
    failed for the create route is one reevo_ambiguous row (a create is never re-sent); every
    200 is a succeeded row; the rows to fix (``bad``) are as without faults (lookups are
    retried)."""
    before = answers(sb.admin.stats(), route)
    res = cli(sb, folder, "run", f"{step}.csv", "--mapping", f"{step}.yaml")
    assert res.code == 1, res.stderr
    got = answers(wait_idle(sb.admin.stats), route) - before
    rows = results(folder, step)
    codes = Counter((r["status"], r["error_code"]) for r in rows.values())
    ambiguous = {n for n, r in rows.items() if r["error_code"] == "reevo_ambiguous"}
    assert codes[("succeeded", "")] == got["200"] == res.json["succeeded"]
    # preflight's probe of the route (refused 422, left out) may be dropped too, then re-sent
    probe_resets = range(PREFLIGHT_ATTEMPTS)
    assert got["reset"] - (len(ambiguous) - got["500"]) in probe_resets, (codes, got)
    others = {n: v for n, v in not_succeeded(rows).items() if n not in ambiguous}
    assert others == bad
    assert got["500"] > 0 and got["reset"] > 0  # both kinds happened
    assert all("check Reevo" in rows[n]["error"] for n in ambiguous)
    return ambiguous


def test_faults_store_nothing_twice_and_ambiguous_rows_wait_for_force_ambiguous(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    sb = live_sandbox
    truth = gen.generate(tmp_path, tasks=300, activities=300, skip=0)
    for step in ("contacts", "deals"):
        done = cli(sb, tmp_path, "run", f"{step}.csv", "--mapping", f"{step}.yaml")
        assert done.code == 0, done.stderr
    # commit-then-fail answers 500 after applying; a reset is dropped before (both ambiguous)
    sb.admin.set_faults(commit_then_fail_rate=0.1, commit_then_fail_mode="500", reset_rate=0.1)
    held_tasks = _first_run_with_faults(sb, tmp_path, "tasks", TASKS, truth.task_rows)
    held_acts = _first_run_with_faults(sb, tmp_path, "activities", ACTIVITIES, truth.activity_rows)
    sb.admin.set_faults(commit_then_fail_rate=0.0, reset_rate=0.0)
    stats = wait_idle(sb.admin.stats)
    reevo = Reevo(sb)
    assert not reevo.task_keys() - Counter(set(reevo.task_keys()))
    assert not reevo.activity_keys() - Counter(set(reevo.activity_keys()))
    # stored = succeeded + ambiguous-and-applied (the 500s: applied, then failed)
    task_rows, act_rows = results(tmp_path, "tasks"), results(tmp_path, "activities")
    titles = {t["title"] for t in reevo.tasks}
    applied = {n for n in held_tasks if task_rows[n]["Subject"] in titles}
    assert len(reevo.tasks) == answers(stats, TASKS)["200"] + len(applied)
    assert len(applied) == answers(stats, TASKS)["500"]
    subjects = {a["metadata"]["subject"] for a in reevo.activities}
    applied_acts = {n for n in held_acts if act_rows[n]["Subject"] in subjects}
    assert len(reevo.activities) == answers(stats, ACTIVITIES)["200"] + len(applied_acts)
    assert len(applied_acts) == answers(stats, ACTIVITIES)["500"]

    # a second run without --force-ambiguous sends none of them (and nothing else)
    again = (("tasks", held_tasks, truth.task_rows), ("activities", held_acts, truth.activity_rows))
    for step, held, bad in again:
        res = cli(sb, tmp_path, "run", f"{step}.csv", "--mapping", f"{step}.yaml")
        assert res.code == 1, res.stderr
        rows = results(tmp_path, step)
        assert {n for n, r in rows.items() if r["error_code"] == "reevo_ambiguous"} == held
        assert all("--force-ambiguous" in rows[n]["error"] for n in held)
        assert res.json["unchanged"] == len(rows) - len(held) - len(bad)
    assert writes(wait_idle(sb.admin.stats)) == writes(stats)

    # the user checked Reevo: the tasks it does not hold go into a failures file; retrying that
    # file with --force-ambiguous creates exactly those, once
    checked = tmp_path / "checked.failures.csv"
    held_titles = {task_rows[n]["Subject"] for n in held_tasks}
    with (tmp_path / "tasks.failures.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        kept = [r for r in reader if r["Subject"] in held_titles and r["Subject"] not in titles]
        header = list(reader.fieldnames or [])
    with checked.open("w", newline="", encoding="utf-8") as fh:
        out = csv.DictWriter(fh, header)
        out.writeheader()
        out.writerows(kept)
    assert len(kept) == len(held_tasks) - len(applied) > 0
    res = cli(sb, tmp_path, "run", checked, "--mapping", "tasks.yaml", "--force-ambiguous")
    assert res.code == 0, res.stderr
    assert res.json["succeeded"] == len(kept)
    now = wait_idle(sb.admin.stats)
    assert writes(now) - writes(stats) == Counter({TASKS: len(kept)})
    reevo = Reevo(sb)
    assert Counter(t["title"] for t in reevo.tasks) == Counter(set(truth.tasks))

    # --force-ambiguous on the whole file sends exactly the held rows: those Reevo had applied
    # are now there twice. The flag is for rows the user checked, as above.
    res = cli(sb, tmp_path, "run", "activities.csv", "--mapping", "activities.yaml",
              "--force-ambiguous")  # fmt: skip
    assert res.code == 1, res.stderr  # the rows to fix
    assert res.json["succeeded"] == len(held_acts)
    assert writes(wait_idle(sb.admin.stats)) - writes(now) == Counter({ACTIVITIES: len(held_acts)})
    twice = Counter(a["metadata"]["subject"] for a in Reevo(sb).activities)
    assert {s for s, c in twice.items() if c > 1} == {act_rows[n]["Subject"] for n in applied_acts}
    assert set(twice) == set(truth.activities)
