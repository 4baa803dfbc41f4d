"""`syncer run --job` / `syncer validate --job` end to end: the real CLI in a subprocess against
the sandbox on a loopback port (issue 12, "One job for a whole migration")."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
from wait_helpers import wait_until

import syncer as syncer_lib
from syncer.sandbox import SandboxHandle

from .cli_helpers import CliResult, private_env, read_results, syncer, write_csv
from .ledger_helpers import ENDPOINT, endpoint_requests
from .robust_helpers import spawn

HEADER = ["Email", "First Name", "Company"]
MAPPING = """\
target: account_contact
columns:
  email: Email
  first_name: First Name
  company: Company
"""
#: step 1: three people; step 2: two people and a row without a valid e-mail
FIRST = [["ann@acme.com", "Ann", "Acme"], ["bob@acme.com", "Bob", "Acme"]]
FIRST += [["cy@globex.io", "Cy", "Globex"]]
SECOND = [["dee@initech.pl", "Dee", "Initech"], ["eve@initech.pl", "Eve", "Initech"]]
SECOND += [["not-an-email", "Bad", "Initech"]]
JOB = """\
steps:   # paths are relative to this file
  - {name: first, source: first.csv, mapping: people.yaml}
  - source: second.csv
    mapping: people.yaml
"""


def _migration(root: Path, job: str = JOB, **extra: list[list[str]]) -> Path:
    """A folder ``mig`` with the job file, its mapping and sources (``extra``: more sources by
    stem); returns the job file."""
    folder = root / "mig"
    folder.mkdir()
    (folder / "people.yaml").write_text(MAPPING, encoding="utf-8")
    for stem, rows in {"first": FIRST, "second": SECOND, **extra}.items():
        write_csv(folder / f"{stem}.csv", HEADER, rows)
    path = folder / "migration.job.yaml"
    path.write_text(job, encoding="utf-8")
    return path


def _elsewhere(root: Path) -> Path:
    """A working folder that is not the job file's: its paths must not be read from here."""
    out = root / "elsewhere"
    out.mkdir(exist_ok=True)
    return out


def _syncer(handle: SandboxHandle, root: Path, *args: str | Path, key: str | None = None) -> Any:
    return syncer(
        *args,
        cwd=_elsewhere(root),
        api_key=key or handle.api_key,
        base_url=handle.base_url,
        env=private_env(root),
    )


def _upserted(handle: SandboxHandle) -> set[str]:
    """E-mails written through account_contact (the seed's example contacts left out)."""
    return {c["email"] for c in handle.admin.dump()["contacts"] if c.get("upsert_count")}


def test_steps_run_in_order_from_another_folder_and_a_second_run_writes_nothing(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    job = _migration(tmp_path)
    first = _syncer(live_sandbox, tmp_path, "run", "--job", job, "--json", "--quiet")
    assert first.code == 1, first.stderr  # step 2's invalid row: a row to fix, not a stop
    out = first.json
    assert (out["command"], out["job"], out["exit_code"], out["error"]) == (
        "run",
        str(job),
        1,
        None,
    )
    assert [(s["step"], s["name"], s["exit_code"]) for s in out["steps"]] == [
        (1, "first", 0),
        (2, "second.csv", 1),
    ]
    assert out["not_run"] == [] and out["stopped_at"] is None and out["interrupted"] is None
    one, two = out["steps"]
    assert (one["succeeded"], two["succeeded"], two["invalid"]) == (3, 2, 1)
    assert (out["rows"], out["succeeded"], out["invalid"], out["not_run_rows"]) == (6, 5, 1, 0)
    assert out["requests"] == one["requests"] + two["requests"]
    assert _upserted(live_sandbox) == {r[0] for r in FIRST + SECOND[:2]}
    assert live_sandbox.admin.stats()["writes_applied"] == 5
    upserts = endpoint_requests(live_sandbox, ENDPOINT)  # the writes and the preflight probes
    # each step's own results files, beside its source (not in the working folder)
    mig = job.parent
    assert one["results"] == str(mig / "first.results.csv") and one["failures"] is None
    assert two["failures"] == str(mig / "second.failures.csv")
    assert [r["status"] for r in read_results(mig / "first.results.csv")] == ["succeeded"] * 3
    assert [r["Email"] for r in read_results(mig / "second.failures.csv")] == ["not-an-email"]
    assert not list(_elsewhere(tmp_path).glob("*.csv"))
    # the human summary: a section per step, then the job's total
    text = _syncer(live_sandbox, tmp_path, "run", "--job", job, "--quiet")
    assert text.code == 1, text.stderr
    assert "== step 1/2 first: exit 0 ==" in text.stdout
    assert "== step 2/2 second.csv: exit 1 ==" in text.stdout
    assert "2 of 2 steps run, 6 rows: 5 unchanged, 1 invalid, 0 requests; exit 1" in text.stdout
    # the second run: every row unchanged, nothing sent
    assert live_sandbox.admin.stats()["writes_applied"] == 5
    assert endpoint_requests(live_sandbox, ENDPOINT) == upserts
    # each step is a run of its own in the ledger
    runs = _syncer(live_sandbox, tmp_path, "runs", "--json").json["runs"]
    assert [Path(r["source"]).name for r in runs] == ["second.csv", "first.csv"] * 2


def test_a_bad_mapping_in_step_2_stops_the_job_before_step_1_sends_anything(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    job = _migration(
        tmp_path,
        JOB + "  - {source: third.csv, mapping: typo.yaml}\n",
        third=[["fay@x.org", "Fay", "X"]],
    )
    (job.parent / "typo.yaml").write_text(
        MAPPING.replace("email: Email", "email: E-mail"), encoding="utf-8"
    )
    job.write_text(
        job.read_text(encoding="utf-8").replace("mapping: people.yaml\n", "mapping: typo.yaml\n"),
        encoding="utf-8",
    )  # step 2 (its mapping: line 4) and step 3 (line 5) name the broken mapping
    res = _syncer(live_sandbox, tmp_path, "run", "--job", job, "--json")
    assert res.code == 2, res.stderr
    assert res.json["error"]["code"] == "job"
    assert f"{job}:4: step 2 (second.csv): " in res.stderr
    assert f"{job}:5: step 3 (third.csv): " in res.stderr
    assert "column 'E-mail' not found in the file; did you mean 'Email'?" in res.stderr
    assert "Nothing was sent or written." in res.stderr
    assert live_sandbox.admin.stats()["total_requests"] == 0
    assert not (job.parent / "first.results.csv").exists()


def test_unknown_keys_and_missing_files_in_the_job_file_are_named_by_line(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    job = _migration(
        tmp_path,
        "steps:\n  - {source: first.csv, mapping: people.yaml}\n"
        "  - {source: nope.csv, mapping: people.yaml}\n"
        "  - {source: second.csv, mapping: people.yaml, result: x.csv}\n"
        "  - {source: first.csv, mapping: people.yaml}\n"
        "stepz: []\n",
    )
    res = _syncer(live_sandbox, tmp_path, "validate", "--job", job)
    assert res.code == 2, res.stderr
    assert f"{job}:3: step 2: source {job.parent / 'nope.csv'} does not exist" in res.stderr
    assert f"{job}:4: unknown key 'result'; did you mean 'results'?" in res.stderr
    first = job.parent / "first.results.csv"
    assert f"{job}:5: step 4 (first.csv): writes {first}, as step 1 (first.csv) does" in res.stderr
    assert f"{job}:6: unknown key 'stepz'; did you mean 'steps'?" in res.stderr
    assert not (job.parent / "first.results.csv").exists()


@pytest.mark.parametrize(
    ("command", "extra", "named"),
    [
        ("run", ["first.csv"], "SOURCE (first.csv)"),
        ("run", ["--mapping", "people.yaml"], "--mapping"),
        ("validate", ["first.csv", "--mapping", "people.yaml"], "SOURCE (first.csv) and --mapping"),
        ("run", ["--results", "x.csv"], "--results names one results file"),
    ],
)
def test_job_with_a_source_mapping_or_results_is_a_usage_error(
    tmp_path: Path, live_sandbox: SandboxHandle, command: str, extra: list[str], named: str
) -> None:
    job = _migration(tmp_path)
    res = _syncer(live_sandbox, tmp_path, command, "--job", job, *extra, "--json")
    assert res.code == 2, res.stderr
    assert res.json["error"]["code"] == "usage"
    assert named in res.json["error"]["message"]
    assert "--job" in res.json["error"]["message"]
    assert live_sandbox.admin.stats()["total_requests"] == 0


def test_validate_job_checks_every_step_without_sending(tmp_path: Path) -> None:
    job = _migration(tmp_path)
    out_dir = tmp_path / "checked"
    res = syncer(
        "validate", "--job", job, "--results-dir", out_dir, "--json",
        cwd=_elsewhere(tmp_path), env=private_env(tmp_path), base_url="http://127.0.0.1:9",
    )  # fmt: skip
    assert res.code == 1, res.stderr  # step 2 has an invalid row
    out = res.json
    assert out["command"] == "validate" and out["error"] is None
    assert [(s["step"], s["ready"], s["invalid"], s["exit_code"]) for s in out["steps"]] == [
        (1, 3, 0, 0),
        (2, 2, 1, 1),
    ]
    assert (out["rows"], out["ready"], out["invalid"]) == (6, 5, 1)
    assert out["steps"][1]["results"] == str(out_dir / "second.results.csv")
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "first.results.csv",
        "second.failures.csv",
        "second.results.csv",
    ]
    assert not (tmp_path / "ledger.db").exists()  # no run was recorded: nothing was sent


def test_a_step_stopped_by_the_quota_stops_the_job_and_lists_the_steps_not_run(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    third = [["gus@x.org", "Gus", "X"], ["hal@x.org", "Hal", "X"]]
    job = _migration(tmp_path, JOB + "  - {name: last, source: third.csv, mapping: people.yaml}\n",
                     third=third)  # fmt: skip
    # how many requests step 1 takes on its own (a job of step 1 only, its own ledger)
    alone = job.with_name("first.job.yaml")
    alone.write_text("steps:\n  - {source: first.csv, mapping: people.yaml}\n", encoding="utf-8")
    calib = _syncer(live_sandbox, tmp_path, "run", "--job", alone, "--json", "--ledger",
                    tmp_path / "calibration.db")  # fmt: skip
    assert calib.code == 0, calib.stderr
    step1 = live_sandbox.admin.stats()["total_requests"]
    live_sandbox.admin.reset()
    live_sandbox.admin.set_faults(daily_quota=step1 + 1)  # step 2 gets one request, then none

    res = _syncer(live_sandbox, tmp_path, "run", "--job", job, "--json", "--quiet")
    assert res.code == 3, res.stderr
    out = res.json
    assert out["exit_code"] == 3 and out["error"]["code"] == "quota"
    assert out["stopped_at"] == 2
    one, two = out["steps"]
    assert (one["exit_code"], one["succeeded"]) == (0, 3)
    assert (two["exit_code"], two["abort_reason"]) == (3, "quota")
    assert two["not_attempted"] + two["succeeded"] + two["invalid"] == 3
    assert out["not_run"] == [
        {
            "step": 3,
            "name": "last",
            "source": str(job.parent / "third.csv"),
            "mapping": str(job.parent / "people.yaml"),
            "rows": 2,
        }
    ]
    assert out["rows"] == 6 and out["not_run_rows"] == 2  # step 3's rows are not counted
    assert not (job.parent / "third.results.csv").exists()
    assert not {"gus@x.org", "hal@x.org"} & _upserted(live_sandbox)
    assert (
        "not run: 1 step(s), 2 rows (not counted above): step 2 (second.csv) stopped the job"
        in (res.stderr)
    )
    runs = _syncer(live_sandbox, tmp_path, "runs", "--json").json["runs"]
    assert [(Path(r["source"]).name, r["outcome"]) for r in runs] == [
        ("second.csv", "aborted"),
        ("first.csv", "finished"),
    ]


def test_ctrl_c_during_a_step_ends_it_as_an_interrupted_run_and_stops_the_job(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    many = [[f"p{i:04d}@big.example", f"P{i}", "Big"] for i in range(300)]
    job = _migration(tmp_path, "steps:\n  - {source: many.csv, mapping: people.yaml}\n"
                     "  - {source: first.csv, mapping: people.yaml}\n", many=many)  # fmt: skip
    ledger = tmp_path / "ledger.db"
    proc = spawn(
        "run", "--job", job, "--json", "-q", "--max-rate", "60", "--concurrency", "2",
        "--ledger", ledger, cwd=_elsewhere(tmp_path), api_key=live_sandbox.api_key,
        base_url=live_sandbox.base_url,
    )  # fmt: skip
    wait_until(lambda: live_sandbox.admin.stats()["writes_applied"] >= 10, "10 writes", proc=proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    out = CliResult(proc.returncode, stdout, stderr).json
    assert out["exit_code"] == 130 and out["error"]["code"] == "interrupted"
    (step,) = out["steps"]
    assert step["interrupted"] == "SIGINT" and step["not_attempted"] > 0
    assert [n["source"] for n in out["not_run"]] == [str(job.parent / "first.csv")]
    statuses = {r["status"] for r in read_results(job.parent / "many.results.csv")}
    assert statuses == {"succeeded", "not_attempted"}
    assert not {r[0] for r in FIRST} & _upserted(live_sandbox)
    runs = syncer("runs", "--json", "--ledger", ledger, cwd=tmp_path).json["runs"]
    assert [r["outcome"] for r in runs] == ["interrupted"]


ACCOUNTS = "target: accounts\ncolumns:\n  name: Company\n  domain_name: Domain\n"
DEALS = "target: opportunities\ncolumns:\n  display_name: Deal\n  account: {domain: Domain}\n"
COMPANIES = [["Jobtest One", "jobtest-one.com"], ["Jobtest Two", "jobtest-two.com"]]
DEAL_ROWS = [["Deal A", "jobtest-one.com"], ["Deal B", "jobtest-two.com"]]
DEAL_ROWS += [["Deal C", "jobtest-one.com"]]
MIGRATION = """\
steps:
  - {name: companies, source: companies.csv, mapping: accounts.yaml}
  - {name: deals, source: deals.csv, mapping: deals.yaml}
  - {name: people, source: first.csv, mapping: people.yaml}
"""


def _crm_migration(root: Path) -> Path:
    job = _migration(root, MIGRATION)
    (job.parent / "accounts.yaml").write_text(ACCOUNTS, encoding="utf-8")
    (job.parent / "deals.yaml").write_text(DEALS, encoding="utf-8")
    write_csv(job.parent / "companies.csv", ["Company", "Domain"], COMPANIES)
    write_csv(job.parent / "deals.csv", ["Deal", "Domain"], DEAL_ROWS)
    return job


def _found(handle: SandboxHandle, route: str) -> int:
    """Answered (200) requests on ``route`` ('POST accounts/search'): not the preflight's
    probes, which are refused on purpose."""
    return int(handle.admin.stats()["by_route_status"].get(route, {}).get("200", 0))


def test_deals_find_the_accounts_an_earlier_step_created_through_the_ledger(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    job = _crm_migration(tmp_path)
    res = _syncer(live_sandbox, tmp_path, "run", "--job", job, "--json", "--quiet")
    assert res.code == 0, res.stderr
    assert [(s["name"], s["succeeded"]) for s in res.json["steps"]] == [
        ("companies", 2),
        ("deals", 3),
        ("people", 3),
    ]
    dump = live_sandbox.admin.dump()
    ids = {
        a["domain_name"]: a["id"] for a in dump["accounts"] if "jobtest" in str(a["domain_name"])
    }
    assert sorted(ids) == ["jobtest-one.com", "jobtest-two.com"]  # one account per domain
    on = {o["display_name"]: o["account_id"] for o in dump["opportunities"]}
    assert {d: on.get(d) for d, _ in DEAL_ROWS} == {d: ids[dom] for d, dom in DEAL_ROWS}
    # step 1 searched for its two new domains; step 2 found them in the ledger, no search
    assert _found(live_sandbox, "POST accounts/search") == 2
    again = _syncer(live_sandbox, tmp_path, "run", "--job", job, "--json", "--quiet")
    assert again.code == 0, again.stderr
    assert [s["unchanged"] for s in again.json["steps"]] == [2, 3, 3]
    assert again.json["succeeded"] == 0
    assert _found(live_sandbox, "POST accounts/search") == 2


def test_a_key_without_a_step_s_permission_stops_the_job_at_that_step(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    job = _crm_migration(tmp_path)
    key = live_sandbox.admin.create_key({"accounts": "write"})  # no opportunities, no contacts
    res = _syncer(live_sandbox, tmp_path, "run", "--job", job, "--json", "--quiet", key=key)
    assert res.code == 3, res.stderr
    out = res.json
    assert out["stopped_at"] == 2 and out["error"]["code"] == "permission"
    one, two = out["steps"]
    assert (one["succeeded"], one["exit_code"]) == (2, 0)
    assert (two["not_attempted"], two["abort_reason"], two["exit_code"]) == (3, "permission", 3)
    assert [(n["name"], n["rows"]) for n in out["not_run"]] == [("people", 3)]
    deals = {o["display_name"] for o in live_sandbox.admin.dump()["opportunities"]}
    assert not deals & {d for d, _ in DEAL_ROWS}
    assert not {r[0] for r in FIRST} & _upserted(live_sandbox)


def test_a_stop_requested_as_a_step_ends_leaves_the_next_steps_not_run(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    """The library: ``run_job`` checks the stop request between steps (exit 130)."""
    job = _migration(tmp_path)
    stop = syncer_lib.StopRequest()
    done: list[int] = []

    def progress(n: int) -> None:  # the last row of step 1 is done: Ctrl-C now
        done.append(n)
        if sum(done) == len(FIRST):
            stop.request()

    settings = syncer_lib.Settings(
        base_url=live_sandbox.base_url,
        api_key=live_sandbox.api_key,
        ledger=tmp_path / "ledger.db",
        stop=stop,
        progress=progress,
    )
    summary = syncer_lib.run_job(job, settings)
    assert summary.exit_code == 130 and summary.interrupted == "SIGINT"
    (step,) = summary.steps
    assert step.summary is not None and step.summary.counts["succeeded"] == len(FIRST)
    assert [(n.step.number, n.rows) for n in summary.not_run] == [(2, len(SECOND))]
    out = summary.to_dict()
    assert (out["rows"], out["not_run_rows"], out["exit_code"]) == (3, 3, 130)
    assert not {r[0] for r in SECOND} & _upserted(live_sandbox)
