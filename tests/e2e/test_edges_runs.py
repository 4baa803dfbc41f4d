"""Issue 9, rows 4-8: interrupted runs report, one history per user, history across key
rotation, one writer per org, and a stale file is not imported again by mistake.

Each test drives the real CLI in a subprocess against a sandbox on a loopback port (in this
process, so it outlives the CLI) and checks the outcome from the outside: exit codes, results
files, the sandbox's own counts.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from wait_helpers import wait_until

from .cli_helpers import read_results, syncer
from .ledger_helpers import (
    ENDPOINT,
    contacts,
    endpoint_requests,
    sandbox,
    write_leads,
    write_mapping,
)
from .robust_helpers import spawn


def _read_stderr_until(proc: subprocess.Popen[str], needle: str, deadline_s: float = 60) -> str:
    """Read the child's stderr (raw, unbuffered) until ``needle`` shows up."""
    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    seen = b""
    end = time.monotonic() + deadline_s
    while needle.encode() not in seen:
        left = end - time.monotonic()
        if left <= 0:
            pytest.fail(f"no {needle!r} on stderr within {deadline_s} s: {seen!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                pytest.fail(f"stderr closed before {needle!r}: {seen!r}")
            seen += chunk
    return seen.decode()


# ------------------------------------------------------------------------------ row 4


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_run_writes_every_row_and_the_rerun_sends_only_the_rest(
    tmp_path: Path, sig: signal.Signals
) -> None:
    seed = int(os.environ.get("SYNCER_SIGNAL_SEED", time.time_ns() % 10**9))
    rows = 400
    src = write_leads(tmp_path / "leads.csv", rows)
    mapping = write_mapping(tmp_path / "leads.yaml")
    with sandbox() as sb:
        at = random.Random(seed).randint(1, rows // 2)  # a random moment in the first half
        args = ["run", src, "--mapping", mapping, "--json", "-q", "--max-rate", "80"]
        proc = spawn(
            *args, "--concurrency", "4", cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url
        )
        wait_until(lambda: sb.admin.stats()["writes_applied"] >= at, f"{at} writes", timeout=60)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 128 + sig, f"seed {seed}: {err}"
        summary = json.loads(out.strip().splitlines()[-1])
        assert summary["interrupted"] == sig.name
        assert summary["exit_code"] == 128 + sig

        results = read_results(tmp_path / "leads.results.csv")
        assert [int(r["source_row"]) for r in results] == list(range(2, rows + 2))
        statuses = Counter(r["status"] for r in results)
        assert set(statuses) <= {"succeeded", "not_attempted"}, statuses
        assert statuses["not_attempted"] > 0, f"seed {seed}: the run ended before the signal"
        assert summary["succeeded"] == statuses["succeeded"]
        unsent = [r for r in results if r["status"] == "not_attempted"]
        assert all(r["error_code"] == "interrupted" for r in unsent)
        failures = read_results(tmp_path / "leads.failures.csv")
        assert len(failures) == len(unsent)
        assert "run the same command again" in err

        runs = syncer("runs", "--json", cwd=tmp_path).json["runs"]
        assert runs[0]["outcome"] == "interrupted"
        assert runs[0]["counts"]["succeeded"] == statuses["succeeded"]

        again = syncer(*args, cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url)
        assert again.code == 0, again.stderr
        assert again.json["succeeded"] == statuses["not_attempted"]
        assert again.json["unchanged"] == statuses["succeeded"]
        counts = {k: int(c["upsert_count"]) for k, c in contacts(sb).items()}
        assert len(counts) == rows and set(counts.values()) == {1}, "a row was sent twice"


def test_second_ctrl_c_abandons_requests_in_flight_and_still_writes_results(
    tmp_path: Path,
) -> None:
    rows = 200
    src = write_leads(tmp_path / "leads.csv", rows)
    mapping = write_mapping(tmp_path / "leads.yaml")
    with sandbox(latency_ms=3000) as sb:
        args = ["run", src, "--mapping", mapping, "--json", "--no-preflight", "--concurrency", "8"]
        proc = spawn(*args, cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url)
        wait_until(lambda: sb.admin.stats()["in_flight"] >= 1, "a request in flight")
        proc.send_signal(signal.SIGINT)
        _read_stderr_until(proc, "stopping")
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "abandoning the requests in flight" in err
        results = read_results(tmp_path / "leads.results.csv")
        assert len(results) == rows
        codes = Counter(r["error_code"] for r in results if r["status"] == "not_attempted")
        assert codes["interrupted_in_flight"] >= 1, codes
        assert sum(codes.values()) + sum(r["status"] == "succeeded" for r in results) == rows


# ------------------------------------------------------------------------------ row 5


def test_one_history_wherever_the_command_is_started(tmp_path: Path) -> None:
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    src = write_leads(work / "leads.csv", 30)
    mapping = write_mapping(work / "leads.yaml")
    with sandbox() as sb:
        first = syncer(
            "run", src, "--mapping", mapping, "--json", "-q",
            cwd=work, api_key=sb.api_key, base_url=sb.base_url,
        )  # fmt: skip
        assert first.code == 0, first.stderr
        assert "started a new ledger at" in first.stderr
        assert not (work / ".syncer").exists()
        # cron: another working directory, a relative path
        second = syncer(
            "run", "../work/leads.csv", "--mapping", "../work/leads.yaml", "--json", "-q",
            cwd=elsewhere, api_key=sb.api_key, base_url=sb.base_url,
        )  # fmt: skip
        assert second.code == 0, second.stderr
        assert second.json["unchanged"] == 30 and second.json["requests"] == 0
        assert "new ledger" not in second.stderr
        assert not (elsewhere / ".syncer").exists()


def test_a_ledger_in_the_old_default_place_is_found_and_used(tmp_path: Path) -> None:
    src = write_leads(tmp_path / "leads.csv", 10)
    mapping = write_mapping(tmp_path / "leads.yaml")
    with sandbox() as sb:
        old = syncer(
            "run", src, "--mapping", mapping, "--ledger", ".syncer/ledger.db", "-q",
            cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url,
        )  # fmt: skip
        assert old.code == 0, old.stderr
        now = syncer(
            "run", src, "--mapping", mapping, "--json", "-q",
            cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url,
        )  # fmt: skip
        assert now.json["unchanged"] == 10, now.stderr
        assert "old default" in now.stderr and "SYNCER_LEDGER" in now.stderr


def test_the_library_uses_the_same_default_ledger(tmp_path: Path, monkeypatch) -> None:
    import syncer as lib

    monkeypatch.setenv("SYNCER_LEDGER", str(tmp_path / "env.db"))
    assert lib.Settings().ledger == tmp_path / "env.db"
    monkeypatch.delenv("SYNCER_LEDGER")
    monkeypatch.chdir(tmp_path)
    assert lib.Settings().ledger == Path(os.environ["SYNCER_HOME"]) / "ledger.db"


# ------------------------------------------------------------------------------ row 6


def test_a_rotated_key_keeps_the_history_and_an_expired_one_says_what_to_do(
    tmp_path: Path,
) -> None:
    src = write_leads(tmp_path / "leads.csv", 40)
    mapping = write_mapping(tmp_path / "leads.yaml")
    args = ["run", src, "--mapping", mapping, "--json", "-q"]
    with sandbox() as sb:
        first = syncer(*args, cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url)
        assert first.code == 0, first.stderr
        new_key = sb.admin.create_key()
        before = endpoint_requests(sb)
        rotated = syncer(*args, cwd=tmp_path, api_key=new_key, base_url=sb.base_url)
        assert rotated.code == 0, rotated.stderr
        assert rotated.json["unchanged"] == 40
        assert endpoint_requests(sb) == before, "rows were sent again after a key rotation"
        assert "same org" in rotated.stderr

        sb.admin.expire_key(new_key)
        expired = syncer(*args, "--full", cwd=tmp_path, api_key=new_key, base_url=sb.base_url)
        assert expired.code == 3
        assert "--org" in expired.stderr and "syncer retry" in expired.stderr


def test_a_key_that_cannot_see_the_remembered_contacts_is_a_new_org(tmp_path: Path) -> None:
    src = write_leads(tmp_path / "leads.csv", 20)
    mapping = write_mapping(tmp_path / "leads.yaml")
    args = ["run", src, "--mapping", mapping, "--json", "-q"]
    with sandbox() as sb:
        assert syncer(*args, cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url).code == 0
        sb.admin.reset()  # another org: none of the remembered contacts exist there
        other = sb.admin.create_key()
        fresh = syncer(*args, cwd=tmp_path, api_key=other, base_url=sb.base_url)
        assert fresh.code == 0, fresh.stderr
        assert fresh.json["succeeded"] == 20
        assert "same org" not in fresh.stderr


# ------------------------------------------------------------------------------ row 7


def test_a_second_run_on_the_same_org_waits_or_stops(tmp_path: Path) -> None:
    rows = 200
    src = write_leads(tmp_path / "leads.csv", rows)
    mapping = write_mapping(tmp_path / "leads.yaml")
    args = ["run", src, "--mapping", mapping, "--json", "-q", "--concurrency", "2"]
    # slow answers hold the first run mid-push for as long as the test needs
    with sandbox(latency_ms=1000) as sb:
        first = spawn(*args, cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url)
        wait_until(lambda: sb.admin.stats()["in_flight"] >= 1, "the first run's requests")
        second = syncer(*args, cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url)
        assert second.code == 2, second.stderr
        assert f"pid {first.pid}" in second.stderr and "--wait" in second.stderr
        assert second.json["error"]["code"] == "locked"
        waiting = spawn(
            *args, "--wait", "5m", cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url
        )
        sb.admin.set_faults(latency_ms=0)  # let the first run finish
        _out, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        w_out, w_err = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, w_err
        assert '"unchanged": 200' in w_out
        answered = sb.admin.stats()["by_path_status"][ENDPOINT]
        assert answered["200"] == rows, f"a row was sent by both runs: {answered}"


# ------------------------------------------------------------------------------ row 8


def test_an_old_file_again_is_refused_unless_again(tmp_path: Path) -> None:
    night1 = write_leads(tmp_path / "night1.csv", 100)
    night3 = write_leads(tmp_path / "night3.csv", 100, changed={i: 3 for i in range(16)})
    mapping = write_mapping(tmp_path / "leads.yaml")
    with sandbox() as sb:
        env = {"cwd": tmp_path, "api_key": sb.api_key, "base_url": sb.base_url}
        assert syncer("run", night1, "--mapping", mapping, "-q", **env).code == 0
        assert syncer("run", night3, "--mapping", mapping, "-q", **env).code == 0
        sent = endpoint_requests(sb, ENDPOINT)
        stale = syncer("run", night1, "--mapping", mapping, "--json", "-q", **env)
        assert stale.code == 2, stale.stderr
        assert "16 rows" in stale.stderr and "--again" in stale.stderr
        assert stale.json["error"]["code"] == "stale_source"
        assert endpoint_requests(sb, ENDPOINT) == sent, "the stale file was sent"
        forced = syncer("run", night1, "--mapping", mapping, "--json", "-q", "--again", **env)
        assert forced.code == 0, forced.stderr
        assert forced.json["succeeded"] == 16 and forced.json["unchanged"] == 84
        assert "16 rows went back" in forced.stderr
