"""Issue 13 item 7: ``syncer runs`` / ``runs show`` read like a report (counts as an aligned
table, ``latest``, retries linked to the run they retried, a quota stop as a local clock time),
and the progress line counts retries and 429s.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syncer import events
from syncer.cli.session import Progress

from .cli_helpers import CliResult, private_env, syncer
from .ledger_helpers import sandbox, write_leads, write_mapping
from .robust_helpers import invoke

ZONE = "America/New_York"  # the runs below are shown on this clock


def _expected_clock(now: datetime) -> tuple[str, float]:
    """What 'retry after ...' must say for the sandbox's quota, which resets at UTC midnight:
    the local clock time (with the day when that is not today there) and the seconds left."""
    zone = ZoneInfo(ZONE)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    when, today = midnight.astimezone(zone), now.astimezone(zone)
    fmt = "%H:%M %Z" if when.date() == today.date() else "%a %d %b %H:%M %Z"
    return when.strftime(fmt), (midnight - now).total_seconds()


def _assert_retry_after(text: str, now: datetime) -> None:
    clock, seconds = _expected_clock(now)
    found = re.search(r"retry after (.+?) \(in ([\d,]+) s\)", text)
    assert found is not None, text
    assert found.group(1) == clock
    assert abs(int(found.group(2).replace(",", "")) - seconds) <= 30


def _column_ends(header: str, line: str, name: str) -> None:
    """The number under ``name`` ends where its (right-aligned) header ends."""
    end = header.index(name) + len(name)
    assert line[end - 1].isdigit() and line[end : end + 1] in ("", " "), (header, line)


def test_quota_stop_then_retry_read_like_a_report(tmp_path: Path) -> None:
    source = write_leads(tmp_path / "leads.csv", 30)
    mapping = write_mapping(tmp_path / "leads.yaml")
    env = {**private_env(tmp_path), "TZ": ZONE}

    def cli(*args: str | Path) -> CliResult:
        return syncer(*args, cwd=tmp_path, api_key=sb.api_key, base_url=sb.base_url, env=env)

    with sandbox(daily_quota=11) as sb:  # the preflight probe + 10 rows
        log = tmp_path / "run.jsonl"
        stopped = cli(
            "run", source, "--mapping", mapping, "--json", "-q", "--concurrency", "2",
            "--log-file", log,
        )  # fmt: skip
        now = datetime.now(UTC)
        assert stopped.code == 3, stopped.stderr
        assert stopped.json["abort_reason"] == "quota" and stopped.json["succeeded"] == 10
        _assert_retry_after(stopped.stderr, now)  # the run's own message
        assert stopped.json["retry_at"] is not None and stopped.json["parent_run"] is None
        (aborted,) = [
            e.event
            for e in map(events.read_line, log.read_text(encoding="utf-8").splitlines())
            if e is not None and isinstance(e.event, events.Aborted)
        ]
        assert (aborted.reason, aborted.status) == ("quota", 429)
        assert aborted.retry_after_s is not None
        assert abs(aborted.retry_after_s - _expected_clock(now)[1]) <= 30

        sb.admin.set_faults(daily_quota=None)  # the quota resets
        again = cli("retry", tmp_path / "leads.results.csv", "--json", "-q")
        assert again.code == 0, again.stderr
        assert again.json["succeeded"] == 20 and again.json["parent_run"] == 1

    listed = cli("runs")
    assert listed.code == 0, listed.stderr
    header, second, first, *rest = listed.stdout.splitlines()
    assert header.split()[:4] == [
        "run",
        "started",
        f"({datetime.now(ZoneInfo(ZONE)):%Z})",
        "outcome",
    ]
    assert second.startswith("#2 ") and first.startswith("#1 ")
    for name, line, value in [
        ("succeeded", first, "10"),
        ("succeeded", second, "20"),
        ("not_attempted", first, "20"),
        ("not_attempted", second, "0"),
        ("rows", second, "20"),
    ]:
        _column_ends(header, line, name)
        end = header.index(name) + len(name)
        assert line[:end].split()[-1] == value, (name, line)
    assert second.endswith("retry of #1") and first.endswith("retried by #2")
    assert "429s" in header and "retries" in header
    (quota_line,) = rest
    assert quota_line.startswith("#1 stopped on Reevo's quota: retry after ")
    _assert_retry_after(quota_line, now)

    latest = cli("runs", "show", "latest", "--json")
    assert latest.code == 0, latest.stderr
    assert latest.stdout.startswith("run #2  (a retry of run #1)\n")
    assert re.search(r"^  succeeded +20$", latest.stdout, re.M), latest.stdout
    assert latest.json["id"] == 2 and latest.json["parent_run"] == 1
    assert latest.json["retried_by"] == [] and latest.json["retries"] == 0

    parent = cli("runs", "show", "1", "--json")
    assert re.search(r"^retried by: +#2  \(syncer runs show 2\)$", parent.stdout, re.M)
    assert re.search(r"^  not_attempted +20$", parent.stdout, re.M), parent.stdout
    assert re.search(r"^message: +the organisation's quota", parent.stdout, re.M)
    _assert_retry_after(parent.stdout, now)
    assert parent.json["retried_by"] == [2] and parent.json["retry_at"] is not None
    assert "kept_results:" in parent.stdout  # the file lines stay


def test_latest_needs_a_run_and_a_run_id_is_a_number(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.db"
    from syncer.ledger import Ledger

    Ledger(ledger).close()
    empty = invoke("runs", "--ledger", ledger, "show", "latest", "--json")
    assert empty.code == 2 and "nothing is latest" in empty.json["error"]["message"]
    bad = invoke("runs", "--ledger", ledger, "show", "last", "--json")
    assert bad.code == 2 and "or latest" in bad.json["error"]["message"]


def test_the_progress_line_counts_retries_and_429s(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(quiet=False)
    progress.start(4)
    try:
        progress.period_s = 0.0
        events.emit(events.Retry(2, 1, "retry", 503, "down", 0.1))
        events.emit(events.Throttled(3, 1, 1.0))
        events.emit(events.Retry(3, 1, "throttled", 429, "slow down", 1.0))
        progress(1)
    finally:
        progress.close()
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("syncer: 1/4 rows (")
    assert line.endswith("; 2 retries, 1 throttled (429))")
    events.emit(events.Retry(4, 1, "retry", 503, "down", 0.1))  # closed: no longer counted
    assert (progress.retries, progress.throttled) == (2, 1)
