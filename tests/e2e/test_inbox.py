"""Issue 10: ``syncer inbox`` through the real CLI against a sandbox on a loopback port.

Every test asserts exact numbers from the outside: exit codes, the ``--json`` report, the files
on disk and the sandbox's own counts of what it was sent.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from wait_helpers import wait_until

from .cli_helpers import read_results, syncer
from .ledger_helpers import ENDPOINT, HEADER, lead, sandbox, write_leads, write_mapping

FAST = ("--min-age", "0", "--settle", "0")


def _answered(sb: Any, status: str = "200") -> int:
    return int(sb.admin.stats()["by_path_status"].get(ENDPOINT, {}).get(status, 0))


def _inbox(inbox: Path, mapping: Path, sb: Any, *extra: str | Path, cwd: Path) -> Any:
    return syncer(
        "inbox", inbox, "--mapping", mapping, "--json", "-q", *FAST, *extra,
        cwd=cwd, api_key=sb.api_key, base_url=sb.base_url,
    )  # fmt: skip


def _archived(archive: Path) -> list[Path]:
    return sorted(p for p in archive.rglob("*") if p.is_file())


def test_three_nights_send_only_what_changed_and_never_a_file_twice(tmp_path: Path) -> None:
    inbox, archive = tmp_path / "drop", tmp_path / "drop" / "archive"
    inbox.mkdir()
    mapping = write_mapping(tmp_path / "leads.yaml")
    with sandbox() as sb:
        write_leads(inbox / "night1.csv", 1000)
        first = _inbox(inbox, mapping, sb, cwd=tmp_path)
        assert first.code == 0, first.stderr
        report = first.json
        assert [f["status"] for f in report["files"]] == ["done"]
        assert report["files"][0]["succeeded"] == 1000 and report["processed"] == 1
        assert _answered(sb) == 1000

        # night 2: 900 rows the same, 50 changed, 50 new
        rows = [lead(i) for i in range(900)] + [lead(i, 2) for i in range(900, 950)]
        rows += [lead(i) for i in range(2000, 2050)]
        with (inbox / "night2.csv").open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([HEADER, *rows])
        second = _inbox(inbox, mapping, sb, cwd=tmp_path)
        assert second.code == 0, second.stderr
        night2 = second.json["files"][0]
        assert (night2["succeeded"], night2["unchanged"]) == (100, 900)
        assert _answered(sb) == 1100, "exactly 100 upserts on night 2"

        # night 3: night 2's content again under a third name
        (inbox / "night3.csv").write_bytes(_only(archive, "night2.csv").read_bytes())
        before = sb.admin.stats()["total_requests"]
        third = _inbox(inbox, mapping, sb, cwd=tmp_path)
        assert third.code == 0, third.stderr
        assert [f["status"] for f in third.json["files"]] == ["skipped_duplicate"]
        assert third.json["requests"] == 0
        assert sb.admin.stats()["total_requests"] == before, "a duplicate file sent requests"

    history = syncer("runs", "--json", cwd=tmp_path).json["inbox_runs"]
    assert [[f["status"] for f in r["files"]] for r in history] == [
        ["skipped_duplicate"],
        ["done"],
        ["done"],
    ]
    left = [p.name for p in inbox.iterdir() if p.is_file()]
    assert left == [], f"files left in the inbox: {left}"
    for name in ("night1.csv", "night2.csv", "night3.csv"):
        _only(archive, name)
    for name in ("night1.results.csv", "night2.results.csv"):
        assert len(read_results(_only(archive, name))) == 1000


def _only(archive: Path, name: str) -> Path:
    found = [p for p in _archived(archive) if p.name.endswith(f"-{name}")]
    assert len(found) == 1, (name, [str(p) for p in _archived(archive)])
    return found[0]


def test_only_settled_files_are_taken(tmp_path: Path) -> None:
    inbox = tmp_path / "drop"
    inbox.mkdir()
    mapping = write_mapping(tmp_path / "leads.yaml")
    for name in (".hidden.csv", "~$open.xlsx", "upload.csv.part", "x.tmp", "y.crdownload"):
        (inbox / name).write_text("Email\na@b.example\n", encoding="utf-8")
    growing = inbox / "growing.csv"
    write_leads(growing, 10)
    stop = threading.Event()

    def append() -> None:  # another process's upload, still going on
        i = 10
        with growing.open("a", newline="", encoding="utf-8") as fh:
            while not stop.wait(0.1):
                csv.writer(fh).writerow(lead(i))
                fh.flush()
                i += 1

    writer = threading.Thread(target=append)
    with sandbox() as sb:
        writer.start()
        try:
            res = syncer(
                "inbox", inbox, "--mapping", mapping, "--json", "-q", "--min-age", "0",
                "--settle", "1s", cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url,
            )  # fmt: skip
        finally:
            stop.set()
            writer.join()
        assert res.code == 0, res.stderr
        assert [(f["name"], f["status"]) for f in res.json["files"]] == [
            ("growing.csv", "not_ready")
        ]
        assert _answered(sb) == 0
        rows = sum(1 for _ in growing.open(encoding="utf-8")) - 1
        done = _inbox(inbox, mapping, sb, cwd=tmp_path)
        assert [f["status"] for f in done.json["files"]] == ["done"]
        assert done.json["files"][0]["succeeded"] == rows
        temp = sorted(p.name for p in inbox.iterdir() if p.is_file())
        assert temp == [".hidden.csv", "upload.csv.part", "x.tmp", "y.crdownload", "~$open.xlsx"]

        write_leads(inbox / "marked.csv", 5)
        waiting = _inbox(inbox, mapping, sb, "--ready-marker", ".done", cwd=tmp_path)
        assert [f["status"] for f in waiting.json["files"]] == ["not_ready"]
        (inbox / "marked.csv.done").write_text("", encoding="utf-8")
        marked = _inbox(inbox, mapping, sb, "--ready-marker", ".done", cwd=tmp_path)
        assert [f["status"] for f in marked.json["files"]] == ["done"]
        assert not (inbox / "marked.csv.done").exists(), "the marker was not archived"


def test_a_bad_file_goes_to_failed_and_the_others_are_imported(tmp_path: Path) -> None:
    inbox, archive = tmp_path / "drop", tmp_path / "drop" / "archive"
    inbox.mkdir()
    mapping = write_mapping(tmp_path / "leads.yaml")
    write_leads(inbox / "a.csv", 20)
    (inbox / "b.csv").write_bytes(bytes(range(256)) * 64)  # binary, named .csv
    write_leads(inbox / "c.csv", 30)
    os.utime(inbox / "a.csv", (1, 1))  # oldest first
    with sandbox() as sb:
        res = _inbox(inbox, mapping, sb, cwd=tmp_path)
        assert res.code == 2, res.stderr
        by_name = {f["name"]: f for f in res.json["files"]}
        assert by_name["a.csv"]["status"] == by_name["c.csv"]["status"] == "done"
        assert by_name["b.csv"]["status"] == "failed" and by_name["b.csv"]["error"]
        assert res.json["error"]["code"].startswith("file_")
        assert _answered(sb) == 30  # c.csv repeats a.csv's 20 leads: only its 10 new ones are sent
    failed = [p for p in _archived(archive / "failed")]
    assert sorted(p.name.split("-", 1)[1] for p in failed) == ["b.csv", "b.csv.error.txt"]
    note = next(p for p in failed if p.name.endswith(".error.txt")).read_text(encoding="utf-8")
    assert "b.csv" in note and "What to do" in note


def test_quota_mid_file_keeps_it_for_the_next_run(tmp_path: Path) -> None:
    inbox, archive = tmp_path / "drop", tmp_path / "drop" / "archive"
    inbox.mkdir()
    mapping = write_mapping(tmp_path / "leads.yaml")
    write_leads(inbox / "big.csv", 120)
    with sandbox(daily_quota=60) as sb:
        stopped = _inbox(inbox, mapping, sb, cwd=tmp_path)
        assert stopped.code == 3, stopped.stderr
        assert [f["status"] for f in stopped.json["files"]] == ["aborted"]
        assert (inbox / "big.csv").exists()
        sent = _answered(sb)
        assert 0 < sent < 120
        sb.admin.set_faults(daily_quota=None)
        done = _inbox(inbox, mapping, sb, cwd=tmp_path)
        assert done.code == 0, done.stderr
        report = done.json["files"][0]
        assert report["status"] == "done" and report["unchanged"] == sent
        assert report["succeeded"] == 120 - sent
        assert _answered(sb) == 120, "a row whose success was committed was sent again"
    assert not (inbox / "big.csv").exists()
    _only(archive, "big.csv")


def test_two_inbox_runs_at_once_one_works_the_other_is_busy_or_stuck(tmp_path: Path) -> None:
    inbox = tmp_path / "drop"
    inbox.mkdir()
    mapping = write_mapping(tmp_path / "leads.yaml")
    write_leads(inbox / "slow.csv", 40)
    with sandbox(latency_ms=500) as sb:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REEVO_")}
        env.update(REEVO_API_KEY=sb.api_key, REEVO_BASE_URL=sb.base_url)
        args = [sys.executable, "-m", "syncer", "inbox", str(inbox), "--mapping", str(mapping)]
        first = subprocess.Popen(
            [*args, "-q", *FAST, "--concurrency", "2"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_until(lambda: sb.admin.stats()["in_flight"] >= 1, "the first inbox run's requests")
        busy = _inbox(inbox, mapping, sb, cwd=tmp_path)
        assert busy.code == 0, busy.stderr
        assert busy.json["status"] == "busy" and busy.json["files"] == []
        assert f"pid {first.pid}" in busy.stderr
        # stuck: held longer than --max-runtime. The first run took the lock before the request
        # seen in flight above, so it has held it for more than 1 ms by now (a 0.2 s limit was
        # a race once this call ran in-process, well within 0.2 s of that request)
        stuck = _inbox(inbox, mapping, sb, "--max-runtime", "1ms", cwd=tmp_path)
        assert stuck.code == 4, stuck.stderr
        assert stuck.json["status"] == "stuck" and "stuck" in stuck.json["events"]
        sb.admin.set_faults(latency_ms=0)
        _out, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        assert _answered(sb) == 40


def test_dry_run_lists_and_moves_nothing(tmp_path: Path) -> None:
    inbox = tmp_path / "drop"
    inbox.mkdir()
    mapping = write_mapping(tmp_path / "leads.yaml")
    write_leads(inbox / "a.csv", 5)
    with sandbox() as sb:
        res = _inbox(inbox, mapping, sb, "--dry-run", cwd=tmp_path)
        assert res.code == 0, res.stderr
        assert [(f["name"], f["status"], f["rows"]) for f in res.json["files"]] == [
            ("a.csv", "ready", 5)
        ]
        assert sb.admin.stats()["total_requests"] == 0
    assert sorted(p.name for p in inbox.iterdir()) == ["a.csv"]
    assert json.loads(res.stdout.strip().splitlines()[-1])["dry_run"] is True


@pytest.mark.parametrize("flag", ["--route", "--mapping"])
def test_routes_pick_the_mapping_and_unrouted_files_stay(tmp_path: Path, flag: str) -> None:
    inbox = tmp_path / "drop"
    inbox.mkdir()
    mapping = write_mapping(tmp_path / "leads.yaml")
    write_leads(inbox / "hubspot-1.csv", 3)
    write_leads(inbox / "other.csv", 2)
    with sandbox() as sb:
        how = ["--route", f"hubspot-*.csv={mapping}"] if flag == "--route" else []
        res = syncer(
            "inbox", inbox, *(how or ["--mapping", mapping]), "--json", "-q", *FAST,
            cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url,
        )  # fmt: skip
        assert res.code == 0, res.stderr
        statuses = {f["name"]: f["status"] for f in res.json["files"]}
        if flag == "--route":
            assert statuses == {"hubspot-1.csv": "done", "other.csv": "unrouted"}
            assert (inbox / "other.csv").exists()
        else:
            assert statuses == {"hubspot-1.csv": "done", "other.csv": "done"}


def test_a_file_imported_but_not_yet_moved_is_archived_by_the_next_run(tmp_path: Path) -> None:
    """--keep leaves an imported file in place, as a run killed between its ledger commit and
    the move does: the next run without --keep finishes the move, sending nothing."""
    inbox, archive = tmp_path / "drop", tmp_path / "drop" / "archive"
    inbox.mkdir()
    mapping = write_mapping(tmp_path / "leads.yaml")
    write_leads(inbox / "a.csv", 10)
    with sandbox() as sb:
        kept = _inbox(inbox, mapping, sb, "--keep", cwd=tmp_path)
        assert [f["status"] for f in kept.json["files"]] == ["done"]
        assert (inbox / "a.csv").exists()
        requests = sb.admin.stats()["total_requests"]
        moved = _inbox(inbox, mapping, sb, cwd=tmp_path)
        assert moved.code == 0, moved.stderr
        assert [f["status"] for f in moved.json["files"]] == ["done"]
        assert sb.admin.stats()["total_requests"] == requests
    assert not (inbox / "a.csv").exists()
    archived = _only(archive, "a.csv")
    assert archived.parent.parent.name == "processed"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", archived.parent.name), archived  # YYYY-MM-DD


def test_an_alert_url_that_can_never_work_is_refused_before_any_import(tmp_path: Path) -> None:
    inbox = tmp_path / "drop"
    inbox.mkdir()
    mapping = write_mapping(tmp_path / "leads.yaml")
    write_leads(inbox / "a.csv", 3)
    with sandbox() as sb:
        res = _inbox(inbox, mapping, sb, "--webhook", "http://hooks.example.com/x", cwd=tmp_path)
        assert res.code == 2, res.stderr
        assert "--webhook" in res.stderr and res.json["error"]["code"] == "config"
        assert sb.admin.stats()["total_requests"] == 0
    assert (inbox / "a.csv").exists()
