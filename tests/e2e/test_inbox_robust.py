"""Issue 10, the rest of the acceptance: ``syncer inbox`` left running unattended.

``kill -9`` at random moments and one more run, alerts to a local HTTP receiver, two syncer
processes on one ledger, a crash between the ledger commit and the move, and an archive on
another filesystem. Through the real CLI against ``syncer sandbox`` in its own process (one per
module, reset before each test), so the sandbox keeps its own CPU and outlives killed clients.
"""

from __future__ import annotations

import contextlib
import csv
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_receiver import Receiver, Request, closed_port
from wait_helpers import wait_for_stats, wait_idle, wait_until

from syncer.sandbox import AdminClient, FaultSettings

from .cli_helpers import CliResult, syncer
from .ledger_helpers import ENDPOINT, HEADER, committed_keys, contacts, lead, write_mapping
from .robust_helpers import spawn
from .test_inbox import FAST, _archived, _inbox, _only

#: a key nobody could mistake for anything else: it must appear in no alert, webhook or ping
KEY = "sk-inbox-RECOGNISABLE-key-0f9e8d7c6b5a"


# --- a sandbox in its own process ----------------------------------------------------------------


@dataclass(frozen=True)
class Sandbox:
    """``syncer sandbox`` in a child process: where it listens, a key, its admin API."""

    base_url: str
    api_key: str
    admin: AdminClient


@pytest.fixture(scope="module")
def _sandbox_process() -> Iterator[Sandbox]:
    key = "inbox-robust-all-permissions"
    cmd = [sys.executable, "-m", "syncer", "sandbox", "--port", "0", "--api-key", key]
    proc = subprocess.Popen(
        [*cmd, "--no-examples"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Reevo sandbox on "), first
        base_url = first.split()[3]
        admin = AdminClient(base_url)

        def answers() -> bool:
            try:
                admin.stats()
            except httpx.HTTPError:
                return False
            return True

        wait_until(answers, "the sandbox process answers", proc=proc)
        yield Sandbox(base_url, key, admin)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def sb(_sandbox_process: Sandbox) -> Sandbox:
    """The module's sandbox, empty, with fresh stats and no faults."""
    _sandbox_process.admin.set_faults(**FaultSettings().as_dict())
    _sandbox_process.admin.reset()
    return _sandbox_process


def _leads(path: Path, numbers: range) -> Path:
    """A clean CSV of the leads ``numbers`` (:func:`lead` rows)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([HEADER, *(lead(i) for i in numbers)])
    return path


def _binary(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 64)  # not a CSV, whatever its name says
    return path


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


# --- kill -9 at random moments -------------------------------------------------------------------

FILES, ROWS, KILLS = 4, 300, 10


def test_sigkill_at_random_moments_then_one_more_run_archives_every_file_once(
    tmp_path: Path, sb: Sandbox
) -> None:
    seed = int(os.environ.get("SYNCER_KILL_SEED", time.time_ns() % 10**9))
    rng = random.Random(seed)
    inbox, archive, ledger = tmp_path / "drop", tmp_path / "drop" / "archive", tmp_path / "l.db"
    inbox.mkdir()
    mapping = write_mapping(tmp_path / "leads.yaml")
    old = time.time() - 3600
    for k in range(FILES):  # oldest first: f0, f1, f2, f3
        _leads(inbox / f"f{k}.csv", range(k * ROWS, (k + 1) * ROWS))
        os.utime(inbox / f"f{k}.csv", (old + k, old + k))
    total = FILES * ROWS
    args = ["inbox", inbox, "--mapping", mapping, "--ledger", ledger, "-q", *FAST]
    seen: dict[str, int] = {}  # key -> upsert_count when its success was first seen committed
    # moments spread over the whole job by the ledger's progress, not the wall clock (a busy
    # machine stretches start-up and sending alike): kills 1, 5 and 9 within the first second
    # (start-up, scan, lock, preflight); each other one once the ledger has committed a random
    # share of the rows (up to 3/4: the last run still has work), then 0-100 writes more, so
    # it lands mid-push, mid-file or between two files
    shares = iter(sorted(rng.sample(range(total * 3 // 4), KILLS - (KILLS + 3) // 4)))
    for kill in range(KILLS):
        proc = spawn(*args, "--max-rate", "200", cwd=tmp_path, api_key=sb.api_key,
                     base_url=sb.base_url)  # fmt: skip
        try:
            if kill % 4 == 0:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=rng.uniform(0.0, 1.0))
            else:
                share = next(shares)
                wait_until(
                    lambda at=share: len(committed_keys(ledger)) >= at,
                    f"{share} rows committed before kill #{kill + 1} (seed {seed})",
                    proc=proc,
                    timeout=60,
                    interval=0.05,
                )
                more = sb.admin.stats()["writes_applied"] + rng.randint(0, 100)
                wait_for_stats(
                    sb.admin.stats,
                    lambda s, at=more: s["writes_applied"] >= at,
                    f"{more} writes before kill #{kill + 1} (seed {seed})",
                    proc=proc,
                    timeout=60,
                )
            assert proc.poll() is None, f"the run ended before kill #{kill + 1} (seed {seed})"
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.communicate()
        wait_idle(sb.admin.stats)  # every request the killed run had sent is answered
        now = contacts(sb)
        for key in committed_keys(ledger):
            assert key in now, f"the ledger says {key} succeeded, the sandbox lacks it ({seed})"
            count = int(now[key]["upsert_count"])
            assert seen.setdefault(key, count) == count, (
                f"{key} was sent again after its success was committed (seed {seed})"
            )
    assert len(seen) < total, f"the killed runs did everything (seed {seed})"

    last = _inbox(inbox, mapping, sb, "--ledger", ledger, cwd=tmp_path)
    assert last.code == 0, last.stderr
    assert last.json["status"] == "ok", "a killed run left the inbox lock held"
    final = contacts(sb)
    stats = sb.admin.stats()

    assert [p.name for p in inbox.iterdir()] == ["archive"], "files left in the inbox"
    data = [p.name.split("-", 1)[1] for p in _archived(archive) if not _is_output(p)]
    assert Counter(data) == {f"f{k}.csv": 1 for k in range(FILES)}, (seed, _archived(archive))
    archived = [p for p in _archived(archive) if not _is_output(p)]  # reports/ holds reports
    assert all(p.relative_to(archive).parts[0] == "processed" for p in archived), (seed, archived)
    expected = {lead(i)[0]: lead(i) for i in range(total)}
    assert set(final) == set(expected)
    for email, (_, first, last_name, company, title) in expected.items():
        c = final[email]
        assert (c["first_name"], c["last_name"], c["company"], c["title"]) == (
            first,
            last_name,
            company,
            title,
        )
    resent = {k: (n, final[k]["upsert_count"]) for k, n in seen.items()}
    resent = {k: v for k, v in resent.items() if v[0] != v[1]}
    assert not resent, f"sent again after commit (seed {seed}): {list(resent.items())[:5]}"
    assert sum(int(c["upsert_count"]) for c in final.values()) == int(
        stats["by_path_status"][ENDPOINT].get("200", 0)
    )
    db = sqlite3.connect(ledger)
    try:
        files = db.execute("SELECT name, status FROM files ORDER BY name").fetchall()
    finally:
        db.close()
    assert files == [(f"f{k}.csv", "done") for k in range(FILES)]
    history = syncer("runs", "--ledger", ledger, "--limit", "100", "--json", cwd=tmp_path)
    statuses = Counter(r["status"] for r in history.json["inbox_runs"])
    assert statuses["ok"] >= 1 and statuses["interrupted"] >= 1 and not statuses["running"]


def _is_output(path: Path) -> bool:
    """A file syncer wrote (results, failures, a run report), not one it archived."""
    return path.name.endswith((".results.csv", ".failures.csv", ".report.html"))


# --- a crash between the ledger commit and the move ----------------------------------------------


def test_a_crash_between_the_ledger_commit_and_the_move_is_finished_by_the_next_run(
    tmp_path: Path, sb: Sandbox
) -> None:
    inbox, archive = tmp_path / "drop", tmp_path / "drop" / "archive"
    inbox.mkdir()
    mapping = write_mapping(tmp_path / "leads.yaml")
    ledger = tmp_path / "l.db"
    _leads(inbox / "a.csv", range(20))
    _leads(inbox / "b.csv", range(20, 30))
    first = _inbox(inbox, mapping, sb, "--ledger", ledger, cwd=tmp_path)
    assert first.code == 0, first.stderr
    moved = [_only(archive, "a.csv"), _only(archive, "b.csv")]
    # what a kill -9 right after a file's outcome was committed leaves: the registry says done
    # but not where the file went, and the file is still in the inbox (a: killed before the
    # move), or in both places (b: the archive's hard link made, the inbox's name not removed)
    moved[0].rename(inbox / "a.csv")
    os.link(moved[1], inbox / "b.csv")
    db = sqlite3.connect(ledger)
    with db:
        db.execute("UPDATE files SET archive_path = NULL")
    db.close()
    sent = sb.admin.stats()["total_requests"]

    again = _inbox(inbox, mapping, sb, "--ledger", ledger, cwd=tmp_path)
    assert again.code == 0, again.stderr
    assert [(f["name"], f["status"], f["archived"]) for f in again.json["files"]] == [
        ("a.csv", "done", str(moved[0])),
        ("b.csv", "done", str(moved[1])),
    ]
    assert sb.admin.stats()["total_requests"] == sent, "a file was sent again"
    assert _files(inbox) == []
    assert [p for p in _archived(archive) if not _is_output(p)] == moved, "not archived once"
    buckets = {p.relative_to(archive).parts[0] for p in _archived(archive)}
    assert buckets - {"reports"} == {"processed"}  # reports/: each inbox run's HTML report


# --- alerts to a local receiver ------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _with_key(sb: Sandbox) -> Sandbox:
    """The sandbox seen through a second, recognisable key (``KEY``)."""
    httpx.post(sb.admin.url + "/keys", json={"api_key": KEY}, timeout=30).raise_for_status()
    return replace(sb, api_key=KEY)


def _paths(got: list[Request]) -> list[str]:
    return [r.path for r in got]


def _hook(got: list[Request]) -> dict[str, Any]:
    hooks = [r for r in got if r.path == "/hook"]
    assert len(hooks) == 1, _paths(got)
    body: dict[str, Any] = hooks[0].json()
    return body


def _report(res: CliResult) -> dict[str, Any]:
    """The ``--json`` report as the webhook carries it (the CLI adds ``error`` as it prints)."""
    return {k: v for k, v in res.json.items() if k != "error"}


def _no_key(got: list[Request]) -> None:
    for r in got:
        seen = " ".join([r.path, r.body.decode("utf-8", "replace"), *r.headers.values()])
        assert KEY not in seen and "RECOGNISABLE" not in seen, r


def test_alerts_failure_then_recovery_and_nothing_on_a_clean_night(
    tmp_path: Path, sb: Sandbox, receiver: Receiver
) -> None:
    inbox = tmp_path / "drop"
    inbox.mkdir()
    mapping = write_mapping(tmp_path / "leads.yaml")
    user = _with_key(sb)
    alerting = ["--webhook", receiver.url("/hook"), "--notify", receiver.url("/notify", "json")]
    alerting += ["--ping", receiver.url("/ping/check-0f8e")]
    everything: list[Request] = []

    def night() -> tuple[CliResult, list[Request]]:
        res = _inbox(inbox, mapping, user, *alerting, cwd=tmp_path)
        got = receiver.take()  # the CLI waited for each answer: all it sent has arrived
        everything.extend(got)
        assert res.json["notify_errors"] == [], res.json
        return res, got

    _leads(inbox / "a.csv", range(10))
    res, got = night()
    assert res.code == 0, res.stderr
    assert _paths(got) == ["/ping/check-0f8e/start", "/ping/check-0f8e/0"], "alerted"

    _binary(inbox / "bad.csv")
    _leads(inbox / "b.csv", range(100, 120))
    res, got = night()
    assert res.code == 2, res.stderr
    assert sorted(_paths(got)) == sorted(
        ["/ping/check-0f8e/start", "/notify", "/hook", "/ping/check-0f8e/2"]
    )
    hook = _hook(got)
    assert hook.pop("event") == "failure"
    assert hook == _report(res)
    files = {f["name"]: f for f in hook["files"]}
    assert files["bad.csv"]["status"] == "failed" and files["bad.csv"]["error"]
    assert (files["b.csv"]["status"], files["b.csv"]["rows"], files["b.csv"]["succeeded"]) == (
        "done",
        20,
        20,
    )
    assert (hook["processed"], hook["exit_code"], hook["events"]) == (2, 2, ["failure"])
    note = next(r for r in got if r.path == "/notify").json()
    assert note["type"] == "failure"
    assert "- bad.csv: failed" in note["message"]
    assert "- b.csv: done, 20 rows, 20 succeeded" in note["message"]

    _leads(inbox / "c.csv", range(200, 205))
    res, got = night()
    assert res.code == 0, res.stderr
    hook = _hook(got)
    assert hook.pop("event") == "recovery" and hook == _report(res)
    assert [(f["name"], f["status"], f["succeeded"]) for f in hook["files"]] == [
        ("c.csv", "done", 5)
    ]
    assert next(r for r in got if r.path == "/notify").json()["type"] == "success"
    assert _paths(got)[-1] == "/ping/check-0f8e/0"

    # a clean, unchanged night: a.csv's rows again (another order, so other content)
    with (inbox / "d.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([HEADER, *(lead(i) for i in reversed(range(10)))])
    res, got = night()
    assert res.code == 0, res.stderr
    assert [(f["status"], f["unchanged"], f["requests"]) for f in res.json["files"]] == [
        ("done", 10, 0)
    ]
    assert _paths(got) == ["/ping/check-0f8e/start", "/ping/check-0f8e/0"], "alerted"
    _no_key(everything)


def test_missing_after_expect_by_alerts_once_a_day(
    tmp_path: Path, sb: Sandbox, receiver: Receiver
) -> None:
    inbox = tmp_path / "drop"
    inbox.mkdir()
    mapping = write_mapping(tmp_path / "leads.yaml")
    user = _with_key(sb)
    # 00:00 UTC has always passed today
    args = ["--expect-by", "00:00", "--tz", "UTC", "--webhook", receiver.url("/hook")]

    first = _inbox(inbox, mapping, user, *args, cwd=tmp_path)
    assert first.code == 5, first.stderr
    assert (first.json["status"], first.json["error"]["code"]) == ("missing", "missing")
    got = receiver.take()
    _no_key(got)
    hook = _hook(got)
    assert (hook.pop("event"), hook["status"], hook["processed"], hook["exit_code"]) == (
        "missing",
        "missing",
        0,
        5,
    )
    assert hook == _report(first)
    second = _inbox(inbox, mapping, user, *args, cwd=tmp_path)
    assert second.code == 5 and second.json["status"] == "missing", second.stderr
    assert receiver.take() == [], "missing was alerted twice on one day"

    _leads(inbox / "late.csv", range(3))
    late = _inbox(inbox, mapping, user, *args, cwd=tmp_path)
    assert late.code == 0, late.stderr
    assert late.json["status"] == "ok" and late.json["processed"] == 1
    assert receiver.take() == [], "alerted, though no run had failed"


def test_with_the_receiver_down_the_import_keeps_its_exit_code(tmp_path: Path, sb: Sandbox) -> None:
    inbox, archive = tmp_path / "drop", tmp_path / "drop" / "archive"
    inbox.mkdir()
    mapping = write_mapping(tmp_path / "leads.yaml")
    user = _with_key(sb)
    down = f"127.0.0.1:{closed_port()}"
    alerting = ["--webhook", f"http://{down}/hook", "--notify", f"json://{down}/notify"]
    alerting += ["--ping", f"http://{down}/ping/check-0f8e", "--notify-on", "always"]

    _binary(inbox / "bad.csv")
    _leads(inbox / "b.csv", range(10, 20))
    failed = _inbox(inbox, mapping, user, *alerting, cwd=tmp_path)
    assert failed.code == 2, failed.stderr
    assert {f["name"]: f["status"] for f in failed.json["files"]} == {
        "bad.csv": "failed",
        "b.csv": "done",
    }
    errors = failed.json["notify_errors"]
    assert [e.split(" ", 2)[:2] for e in errors] == [
        ["ping", f"http://{down}/***"],
        ["notify", f"json://{down}/***:"],
        ["webhook", f"http://{down}/***:"],
        ["ping", f"http://{down}/***"],
    ]
    assert errors[0].endswith("(start): could not connect ([Errno 111] Connection refused)")
    assert "Connection error" in errors[1]
    assert errors[2].endswith("could not connect ([Errno 111] Connection refused)")
    assert errors[3].startswith(f"ping http://{down}/*** (2): could not connect")
    assert failed.stderr.count("warning: alert not delivered") == 4
    assert KEY not in failed.stdout + failed.stderr
    assert _files(inbox) == []
    _only(archive, "b.csv")


# --- two syncer processes on one ledger ----------------------------------------------------------


def _holds_open(pid: int, path: Path) -> bool:
    """True when process ``pid`` has ``path`` open (Linux /proc)."""
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if Path(os.readlink(fd)) == path:
                    return True
    return False


@pytest.mark.parametrize("how", ["two_orgs", "same_org_wait"])
def test_two_runs_on_one_ledger_both_finish_and_keep_every_record(
    tmp_path: Path, sb: Sandbox, how: str
) -> None:
    if how == "same_org_wait" and not Path("/proc/self/fd").is_dir():
        pytest.skip("watches the waiting run's open lock file through /proc")
    ledger = tmp_path / "shared.db"
    mapping = write_mapping(tmp_path / "leads.yaml")
    a = _leads(tmp_path / "a.csv", range(0, 200))
    b = _leads(tmp_path / "b.csv", range(200, 400))
    common = ["--mapping", mapping, "--ledger", ledger, "-q", "--concurrency", "2"]
    env = {"cwd": tmp_path, "api_key": sb.api_key, "base_url": sb.base_url}
    sb.admin.set_faults(latency_ms=1000)  # holds the runs mid-push until the test lets go
    if how == "two_orgs":
        first = spawn("run", a, *common, "--org", "alpha", **env)
        second = spawn("run", b, *common, "--org", "beta", **env)
        # each sends at most 2 at once: 4 in flight means both are pushing
        wait_for_stats(sb.admin.stats, lambda s: s["in_flight"] >= 4, "both runs pushing")
    else:
        first = spawn("run", a, *common, **env)
        wait_for_stats(sb.admin.stats, lambda s: s["in_flight"] >= 1, "the first run pushing")
        second = spawn("run", b, *common, "--wait", "5m", **env)
        locks = list((tmp_path / "shared.db.locks").glob("account_contact-*.lock"))
        assert len(locks) == 1, locks
        lock = locks[0].resolve()
        wait_until(lambda: _holds_open(second.pid, lock), "the second run waits", proc=second)
    sb.admin.set_faults(latency_ms=0)
    for proc in (first, second):
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "database is locked" not in err

    db = sqlite3.connect(ledger)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        synced = dict(
            db.execute(
                "SELECT org, COUNT(*) FROM synced WHERE body_sha256 IS NOT NULL GROUP BY org"
            ).fetchall()
        )
        runs = db.execute(
            "SELECT org, source, outcome, exit_code, rows, started_at, finished_at FROM runs "
            "ORDER BY id"
        ).fetchall()
    finally:
        db.close()
    assert sorted((Path(r[1]).name, r[2], r[3], r[4]) for r in runs) == [
        ("a.csv", "finished", 0, 200),
        ("b.csv", "finished", 0, 200),
    ]
    if how == "two_orgs":
        # --org NAME is kept per base URL: "<base url>#NAME"
        assert synced == {f"{sb.base_url}#alpha": 200, f"{sb.base_url}#beta": 200}
        assert {r[0] for r in runs} == set(synced)
    else:
        assert list(synced.values()) == [400] and len({r[0] for r in runs}) == 1
        assert runs[1][5] >= runs[0][6], "the second run started before the first finished"
    assert len(contacts(sb)) == 400
    assert sb.admin.stats()["by_path_status"][ENDPOINT]["200"] == 400, "a row sent twice"


# --- an archive on another filesystem ------------------------------------------------------------


@pytest.fixture
def other_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A fresh folder on another filesystem than ``tmp_path`` (/dev/shm), removed after."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second filesystem (/dev/shm) here")
    folder = shm / f"syncer-inbox-{os.getpid()}-{tmp_path.name}"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_an_archive_on_another_filesystem_gets_a_copy_then_the_inbox_loses_it(
    tmp_path: Path, sb: Sandbox, other_filesystem: Path
) -> None:
    inbox, archive = tmp_path / "drop", other_filesystem
    inbox.mkdir()
    mapping = write_mapping(tmp_path / "leads.yaml")
    content = _leads(inbox / "a.csv", range(20)).read_bytes()
    _binary(inbox / "bad.csv")
    res = _inbox(inbox, mapping, sb, "--archive", archive, cwd=tmp_path)
    assert res.code == 2, res.stderr
    assert _files(inbox) == [] and list(inbox.iterdir()) == []
    done = _only(archive, "a.csv")
    assert done.read_bytes() == content
    assert done.stat().st_dev != inbox.stat().st_dev
    assert done.parent.parent.name == "processed"
    failed = sorted(p.name.split("-", 1)[1] for p in _archived(archive / "failed"))
    assert failed == ["bad.csv", "bad.csv.error.txt"]
    hidden = [p for p in archive.rglob(".*")]
    assert hidden == [], f"copies left half-way: {hidden}"
