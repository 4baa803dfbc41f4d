"""Acceptance (issue 5): ``syncer retry`` re-sends exactly the failed / not attempted rows.

Two ways a run ends with rows to retry: Reevo rejects some rows (an owner e-mail that is not
a user of the org: 422), or the key expires mid-run (401: the run stops, unsent rows are
``not_attempted``). Retries keep the rows' numbers in the original file; a corrected failures
file works as input for ``syncer retry`` and ``syncer run``; ``syncer runs`` lists it all.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

from wait_helpers import wait_for_stats, wait_idle

from syncer.sandbox import SandboxHandle

from .cli_helpers import read_results, syncer
from .ledger_helpers import ENDPOINT, HEADER, MAPPING, contacts, lead, sandbox

GHOST = "ghost@acme.com"  # not a user of the sandbox org: Reevo answers 422
OWNER = "owner@acme.com"
OWNED_MAPPING = MAPPING.replace(
    "  title: Job Title\n", "  title: Job Title\n  contact_owner_email: Owner\n"
)


def _write(path: Path, n: int, ghosts: Collection[int] = ()) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([*HEADER, "Owner"])
        w.writerows([*lead(i), GHOST if i in ghosts else OWNER] for i in range(n))
    return path


def _ok_200s(sb: SandboxHandle) -> dict[str, int]:
    out: dict[str, int] = sb.admin.stats()["by_path_status"].get(ENDPOINT, {})
    return dict(out)


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def test_retry_resends_exactly_the_rejected_rows_and_a_fixed_failures_file_works(
    tmp_path: Path,
) -> None:
    n = 200
    ghosts = set(range(3, n, 10))  # 20 rows, spread out (no circuit-breaker stop)
    src = _write(tmp_path / "leads.csv", n, ghosts)
    mapping = tmp_path / "leads.yaml"
    mapping.write_text(OWNED_MAPPING, encoding="utf-8")
    common = ("--ledger", tmp_path / "ledger.db", "--json", "-q", "--no-preflight")
    with sandbox() as sb:

        def cli(*args: object) -> dict[str, object]:
            res = syncer(
                *map(str, args), *common, cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url
            )
            out = res.json
            assert res.code == out["exit_code"], res.stderr
            return out

        first = cli("run", src, "--mapping", mapping)
        assert (first["succeeded"], first["failed"], first["exit_code"]) == (n - 20, 20, 1)
        results = tmp_path / "leads.results.csv"
        failed_rows = {
            int(r["source_row"]) for r in read_results(results) if r["status"] == "failed"
        }
        assert failed_rows == {i + 2 for i in ghosts}  # header is line 1

        # retry the results file (mapping from the ledger): exactly the 20 rows go out again
        before = _ok_200s(sb)
        again = cli("retry", results)
        assert (again["rows"], again["failed"], again["requests"]) == (20, 20, 20)
        assert _delta(before, _ok_200s(sb)) == {"422": 20}
        retried = read_results(tmp_path / "leads.retry.results.csv")
        assert {int(r["source_row"]) for r in retried} == failed_rows
        assert {r["Email"] for r in retried} == {lead(i)[0] for i in ghosts}

        # fix the failures file in place (as a user would), then retry it: all 20 succeed
        failures = tmp_path / "leads.failures.csv"
        rows = read_results(failures)
        assert len(rows) == 20 and {r["Owner"] for r in rows} == {GHOST}
        with failures.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows({**r, "Owner": OWNER} for r in rows)
        before = _ok_200s(sb)
        fixed = cli("retry", failures)
        assert (fixed["succeeded"], fixed["requests"], fixed["exit_code"]) == (20, 20, 0)
        assert _delta(before, _ok_200s(sb)) == {"200": 20}
        # ... and run as plain input it is now unchanged: nothing sent
        rerun = cli("run", failures, "--mapping", mapping)
        assert (rerun["unchanged"], rerun["requests"]) == (20, 0)

        stored = contacts(sb)
        assert set(stored) == {lead(i)[0] for i in range(n)}
        assert {stored[lead(i)[0]]["owner_email"] for i in range(n)} == {OWNER}

        # history: every run is listed, newest first, with its results paths
        listed = syncer("runs", "--ledger", tmp_path / "ledger.db", "--json", cwd=tmp_path).json
        runs = listed["runs"]
        assert [r["exit_code"] for r in runs] == [0, 0, 1, 1]
        assert [r["counts"].get("failed", 0) for r in runs] == [0, 0, 20, 20]
        assert runs[-1]["source"] == str(src.resolve())
        show = syncer(
            "runs",
            "--ledger",
            tmp_path / "ledger.db",
            "show",
            runs[-1]["id"],
            "--json",
            cwd=tmp_path,
        ).json
        assert show["results"] == str(results.resolve())
        assert show["failures"] == str(failures.resolve())
        assert show["outcome"] == "finished" and show["counts"]["succeeded"] == n - 20


def test_key_expired_mid_run_then_retry_sends_only_the_unsent_rows(tmp_path: Path) -> None:
    n = 400
    src = _write(tmp_path / "leads.csv", n)
    mapping = tmp_path / "leads.yaml"
    mapping.write_text(OWNED_MAPPING, encoding="utf-8")
    ledger = tmp_path / "ledger.db"
    with sandbox(latency_ms=15) as sb:
        doomed = sb.admin.create_key()
        env = {k: v for k, v in os.environ.items() if not k.startswith("REEVO_")}
        env.update(REEVO_API_KEY=doomed, REEVO_BASE_URL=sb.base_url)
        args = ["run", src, "--mapping", mapping, "--ledger", ledger, "--org", "acme", "-q"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "syncer", *map(str, args), "--max-rate", "100"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for_stats(
            sb.admin.stats,
            lambda s: s["by_path_status"].get(ENDPOINT, {}).get("200", 0) >= 100,
            "the run to store 100 rows",
            proc=proc,
        )
        sb.admin.expire_key(doomed)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 3, err
        assert "expired" in err

        first = read_results(tmp_path / "leads.results.csv")
        by_status: dict[str, set[int]] = {}
        for r in first:
            by_status.setdefault(r["status"], set()).add(int(r["source_row"]))
        todo = by_status.get("failed", set()) | by_status.get("not_attempted", set())
        assert len(by_status["succeeded"]) >= 100 and len(todo) >= 100
        assert len(by_status["succeeded"]) + len(todo) == n

        # a new key for the same org: retry sends exactly the unsent rows, under their numbers
        wait_idle(sb.admin.stats)  # the stopped run's last requests are all answered
        before = _ok_200s(sb)
        res = syncer(
            "retry",
            tmp_path / "leads.results.csv",
            "--ledger",
            ledger,
            "--org",
            "acme",
            "--json",
            "-q",
            cwd=tmp_path,
            api_key=sb.api_key,
            base_url=sb.base_url,
        )
        out = res.json
        assert (out["succeeded"], out["exit_code"]) == (len(todo), 0), res.stderr
        assert _delta(before, _ok_200s(sb)) == {"200": len(todo), "422": 1}  # + preflight probe
        retried = read_results(tmp_path / "leads.retry.results.csv")
        assert {int(r["source_row"]) for r in retried} == todo
        for r in retried:
            assert r["Email"] == lead(int(r["source_row"]) - 2)[0]

        stored = contacts(sb)
        assert set(stored) == {lead(i)[0] for i in range(n)}
        assert {c["upsert_count"] for c in stored.values()} == {1}  # nothing sent twice
