"""The fault matrix: `syncer run` against the sandbox on a loopback socket, under injected faults.

Every case ends with every valid row stored exactly once in the sandbox (its dump) and every
input row accounted for in the results file (exactly once, with a status and a reason).
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from wait_helpers import wait_for_stats

from syncer.sandbox import SandboxHandle, SandboxSettings, serve_in_thread

from .robust_helpers import (
    Leads,
    Result,
    assert_accounted,
    assert_stored_once,
    invoke,
    make_leads,
    path_status,
    results_rows,
    spawn,
    wait_idle,
    write_mapping,
)

# a hang guard: the module's first test also sets up five runs at once (31 s on a busy machine)
pytestmark = pytest.mark.timeout(300)

CONCURRENCY = 4


@pytest.fixture
def sb(live_sandbox: SandboxHandle) -> Iterator[SandboxHandle]:
    yield live_sandbox
    wait_idle(live_sandbox.admin)  # a slow request must not land in the next test's store


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # .syncer/ (retry files) lands here
    return tmp_path


def baseline(sb: SandboxHandle) -> int:
    return len(sb.admin.dump()["contacts"])


def run(sb: SandboxHandle, work: Path, leads: Leads, *extra: str, key: str | None = None) -> Result:
    return invoke(
        "run", leads.path, "--mapping", write_mapping(work), "--ledger", work / "ledger.db",
        "--json", "--quiet", "--concurrency", str(CONCURRENCY), *extra,
        api_key=key or sb.api_key, base_url=sb.base_url,
    )  # fmt: skip


def assert_complete(sb: SandboxHandle, leads: Leads, res: Result, base: int) -> None:
    """The run finished: every valid row succeeded and is stored once; all rows accounted."""
    assert res.code == 1, res.stderr  # the file has 2 invalid rows on purpose
    results = leads.path.with_name("leads.results.csv")
    counts = assert_accounted(results, leads.row_numbers)
    failed = [r["error"] for r in results_rows(results) if r["status"] == "failed"]
    assert counts == {"succeeded": len(leads.valid), "duplicate": 1, "invalid": 2}, failed
    assert res.json["aborted"] is None
    wait_idle(sb.admin)
    assert_stored_once(sb.admin, leads.valid, base)


#: case -> (sandbox fault knobs, extra CLI flags, valid rows)
TRANSIENT: dict[str, tuple[dict[str, float], tuple[str, ...], int]] = {
    "20pct-5xx": ({"fail_rate": 0.2}, (), 120),
    "connection-resets": ({"reset_rate": 0.1}, (), 120),
    "commit-then-fail": ({"commit_then_fail_rate": 0.25}, (), 120),
    "slower-than-timeout": ({"slow_rate": 0.1, "slow_ms": 1500}, ("--timeout", "0.3"), 120),
    # 429 with Retry-After (whole seconds) once over 30 requests/s
    "429-storm-retry-after": ({"rate_limit": 30, "rate_burst": 1}, (), 60),
}


@dataclass
class Case:
    sandbox: SandboxHandle
    folder: Path
    leads: Leads
    base: int
    result: Result


@pytest.fixture(scope="module")
def transient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Case]]:
    """Every transient-fault case at once: one sandbox and one `syncer run` subprocess each
    (they mostly wait on backoff and pacing, so running them side by side saves wall time)."""
    with contextlib.ExitStack() as stack:
        started = {}
        for i, (name, (knobs, extra, rows)) in enumerate(TRANSIENT.items()):
            folder = tmp_path_factory.mktemp(name)
            handle = stack.enter_context(serve_in_thread(SandboxSettings(port=0, random_seed=i)))
            handle.admin.set_faults(**knobs)
            leads = make_leads(folder, rows)
            base = len(handle.admin.dump()["contacts"])
            proc = spawn(
                "run", leads.path, "--mapping", write_mapping(folder), "--ledger",
                folder / "ledger.db", "--json", "--quiet", "--concurrency", str(CONCURRENCY),
                *extra, cwd=folder, api_key=handle.api_key, base_url=handle.base_url,
            )  # fmt: skip
            started[name] = (handle, folder, leads, base, proc)
        cases = {
            name: Case(handle, folder, leads, base, _finish(proc))
            for name, (handle, folder, leads, base, proc) in started.items()
        }
        yield cases


@pytest.mark.parametrize("name", list(TRANSIENT))
def test_transient_faults_end_with_every_row_stored_once(
    transient: dict[str, Case], name: str
) -> None:
    case = transient[name]
    sb, leads, res = case.sandbox, case.leads, case.result
    assert_complete(sb, leads, res, case.base)
    # the fault really happened: some rows needed more than one request
    assert res.json["requests"] > len(leads.valid) + 1, path_status(sb.admin)
    answered = path_status(sb.admin)
    if name == "429-storm-retry-after":
        assert answered.get("429", 0) > 0
        assert res.json["requests"] < 1.5 * len(leads.valid)  # paced, not hammering


def _run_until(
    sb: SandboxHandle, work: Path, leads: Leads, key: str, writes: int, *extra: str
) -> tuple[subprocess.Popen[str], int]:
    """Start a run in a subprocess; return it once the sandbox applied ``writes`` writes."""
    proc = spawn(
        "run", leads.path, "--mapping", write_mapping(work), "--ledger", work / "ledger.db",
        "--json", "--quiet", "--concurrency", str(CONCURRENCY), "--org", "acme", *extra,
        cwd=work, api_key=key, base_url=sb.base_url,
    )  # fmt: skip
    stats = wait_for_stats(
        sb.admin.stats,
        lambda s: s["writes_applied"] >= writes,
        f"the run to apply {writes} writes",
        proc=proc,
    )
    return proc, stats["writes_applied"]


def _finish(proc: subprocess.Popen[str]) -> Result:
    out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    return Result(proc.returncode, out, err)


def _assert_stopped(res: Result, leads: Leads, reason: str) -> dict[str, int]:
    assert res.code == 3, res.stderr
    assert res.json["abort_reason"] == reason
    counts = assert_accounted(leads.path.with_name("leads.results.csv"), leads.row_numbers)
    assert counts.get("not_attempted", 0) > 0
    assert counts.get("failed", 0) == 0  # stopped rows are not_attempted, not failed
    assert "run stopped:" in res.stderr
    return counts


def test_key_expired_mid_run_stops_within_one_round_and_rerun_completes(
    sb: SandboxHandle, work: Path
) -> None:
    base = baseline(sb)
    leads = make_leads(work, 200)
    sb.admin.set_faults(latency_ms=20)
    key = sb.admin.create_key()
    proc, _ = _run_until(sb, work, leads, key, 40)
    sb.admin.expire_key(key)
    res = _finish(proc)
    counts = _assert_stopped(res, leads, "expired")
    assert "expired" in res.stderr and "new API key" in res.stderr
    # one round of in-flight requests at most was answered 401 after the key expired
    assert path_status(sb.admin).get("401", 0) <= CONCURRENCY
    stored = {r["Email"].lower() for r in results_rows(work / "leads.results.csv")
              if r["status"] == "succeeded"}  # fmt: skip
    assert len(stored) == counts["succeeded"] >= 40

    sb.admin.set_faults(latency_ms=0)
    new_key = sb.admin.create_key()
    again = run(sb, work, leads, "--org", "acme", key=new_key)
    assert again.code == 1, again.stderr
    counts2 = assert_accounted(work / "leads.results.csv", leads.row_numbers)
    # the rows stored before the key expired are not sent again
    assert counts2 == {
        "unchanged": counts["succeeded"],
        "succeeded": len(leads.valid) - counts["succeeded"],
        "duplicate": 1,
        "invalid": 2,
    }
    assert_stored_once(sb.admin, leads.valid, base)


def test_daily_quota_exhausted_mid_run_stops_and_retry_completes(
    sb: SandboxHandle, work: Path
) -> None:
    base = baseline(sb)
    leads = make_leads(work, 200)
    sb.admin.set_faults(daily_quota=61)  # the preflight probe + 60 rows
    res = run(sb, work, leads)
    counts = _assert_stopped(res, leads, "quota")
    assert "quota" in res.stderr
    assert counts["succeeded"] == 60
    assert path_status(sb.admin).get("429", 0) <= CONCURRENCY

    sb.admin.set_faults(daily_quota=None)  # the quota resets
    again = invoke(
        "retry", work / "leads.results.csv", "--mapping", work / "mapping.yaml",
        "--ledger", work / "ledger.db", "--json", "--quiet",
        api_key=sb.api_key, base_url=sb.base_url,
    )  # fmt: skip
    assert again.code == 0, again.stderr
    retried = [int(r["source_row"]) for r in results_rows(work / "leads.results.csv")
               if r["status"] == "not_attempted"]  # fmt: skip
    done = assert_accounted(work / "leads.retry.results.csv", retried)
    assert done == {"succeeded": len(retried)}
    assert_stored_once(sb.admin, leads.valid, base)


# ---------------------------------------------------------------------------------------------
# preflight: exit 3, one clear message, zero rows sent
# ---------------------------------------------------------------------------------------------

OWNER_MAPPING = """\
target: account_contact
columns:
  email: Email
  first_name: First Name
  contact_owner_email: Owner
"""


def _preflight_run(
    sb: SandboxHandle, work: Path, key: str, owner: str, mapping: str = OWNER_MAPPING
) -> Result:
    src = work / "owners.csv"
    lines = ["Email,First Name,Owner"]
    lines += [f"p{i}@firm.example,P{i},{owner if i % 5 == 0 else 'owner@acme.com'}"
              for i in range(50)]  # fmt: skip
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return invoke(
        "run", src, "--mapping", write_mapping(work, mapping), "--ledger",
        work / "ledger.db", "--json", "--quiet", api_key=key, base_url=sb.base_url,
    )  # fmt: skip


@pytest.mark.parametrize("case", ["expired", "permission", "unknown_owner"])
def test_preflight_failure_sends_no_row(sb: SandboxHandle, work: Path, case: str) -> None:
    owner = "owner@acme.com"
    if case == "expired":
        key = sb.admin.create_key(expired=True)
    elif case == "permission":
        key = sb.admin.create_key({"contacts": "write", "users": "read"})
    else:
        key, owner = sb.api_key, "ghost.owner@acme.com"
    # an unknown owner stops the run only with owners: {unknown: abort} (default: invalid rows)
    abort = "owners: {unknown: abort}\n" if case == "unknown_owner" else ""
    res = _preflight_run(sb, work, key, owner, OWNER_MAPPING + abort)
    assert res.code == 3, res.stderr
    assert res.json["abort_reason"] == case
    stats = sb.admin.stats()
    assert stats["writes_applied"] == 0
    assert sum(path_status(sb.admin).values()) <= 1  # only the empty-body probe
    message = [ln for ln in res.stderr.splitlines() if ln.startswith("run stopped:")]
    assert len(message) == 1 and "preflight failed, no row was sent" in message[0]
    hint = {
        "expired": "new api key",
        "permission": "accounts",
        "unknown_owner": "ghost.owner@acme.com",
    }
    assert hint[case] in message[0].lower()
    if case == "unknown_owner":
        assert "mapping line 5" in message[0] or "line 5" in message[0]
    counts = assert_accounted(work / "owners.results.csv", list(range(2, 52)))
    assert counts == {"not_attempted": 50}


def test_check_command_reports_the_same_problem(sb: SandboxHandle, work: Path) -> None:
    key = sb.admin.create_key(expired=True)
    res = invoke(
        "check", "--mapping", write_mapping(work), "--json", api_key=key, base_url=sb.base_url
    )
    assert res.code == 3
    assert res.stderr.count("error:") == 1 and "expired" in res.stderr
    assert sb.admin.stats()["writes_applied"] == 0


# ---------------------------------------------------------------------------------------------
# circuit breaker: a custom field the org does not have
# ---------------------------------------------------------------------------------------------

SEED = """\
custom_fields:
  - {name: cus_field__Lead_Source, type: text, object: contact}
"""

BREAKER_MAPPING = """\
target: account_contact
columns:
  email: Email
  first_name: First Name
contact_custom_fields:
  cus_field__Region: Company
"""


def test_circuit_breaker_names_the_field_and_mapping_line(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED, encoding="utf-8")
    settings = SandboxSettings(port=0, seed_path=seed, random_seed=7)
    with serve_in_thread(settings) as strict:
        leads = make_leads(tmp_path, 150)
        res = invoke(
            "run", leads.path, "--mapping", write_mapping(tmp_path, BREAKER_MAPPING),
            "--ledger", tmp_path / "ledger.db", "--json", "--quiet", "--concurrency", "4",
            api_key=strict.api_key, base_url=strict.base_url,
        )  # fmt: skip
        assert res.code == 3, res.stderr
        assert res.json["abort_reason"] == "circuit_breaker"
        stopped = res.stderr
        assert "cus_field__Region" in stopped
        assert "contact_custom_fields.cus_field__Region (line 6)" in stopped
        counts = assert_accounted(tmp_path / "leads.results.csv", leads.row_numbers)
        assert counts["failed"] >= 25
        assert counts["not_attempted"] >= len(leads.valid) - 25 - 2 * 4
        assert strict.admin.stats()["writes_applied"] == 0
        # the rows that were sent carry the server's reason
        failed = [
            r for r in results_rows(tmp_path / "leads.results.csv") if r["status"] == "failed"
        ]
        assert all("cus_field__Region" in r["error"] for r in failed)
