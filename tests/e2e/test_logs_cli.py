"""Issue 13 item 5: ``--log-file PATH`` (JSON lines) and ``-v`` (readable, stderr) of ``run``,
``retry`` and ``inbox``, checked against the sandbox's own counts and the ``--json`` summary.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

from syncer import events
from syncer.events import FileMoved, Logged, Retry, RunFinished, RunStarted, Throttled

from .cli_helpers import private_env, syncer
from .ledger_helpers import ENDPOINT, sandbox, write_leads, write_mapping
from .robust_helpers import invoke

#: a key that must appear in no file a run writes, nor in its output
KEY = "sk-live-0123456789abcdef-LOG-CANARY"


def _read_log(path: Path) -> list[Logged]:
    """Every line of a --log-file, each checked for its shape and read back typed."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        assert list(data)[:4] == ["time", "level", "event", "logger"], data
        assert datetime.fromisoformat(data["time"]).utcoffset() is not None, data["time"]
        logged = events.read_line(line)
        assert logged is not None, line
        out.append(logged)
    return out


def _files_holding(root: Path, secret: str) -> list[Path]:
    needle = secret.encode()
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_a_faulty_run_logs_one_line_per_retry_and_per_429_and_never_the_key(
    tmp_path: Path,
) -> None:
    source = write_leads(tmp_path / "leads.csv", 100)
    mapping = write_mapping(tmp_path / "leads.yaml")
    log = tmp_path / "logs" / "nightly" / "syncer.jsonl"  # its folders do not exist yet
    with sandbox(api_key=KEY, fail_rate=0.1, rate_limit=40, rate_burst=2) as sb:
        res = syncer(
            "run", source, "--mapping", mapping, "--log-file", log, "-v", "--json", "-q",
            "--concurrency", "4",
            cwd=tmp_path, api_key=KEY, base_url=sb.base_url, env=private_env(tmp_path),
        )  # fmt: skip
        answered = Counter(sb.admin.stats()["by_path_status"][ENDPOINT])
    summary = res.json
    assert res.code == 0, res.stderr
    assert summary["succeeded"] == 100 and summary["failed"] == 0
    logged = _read_log(log)
    names = Counter(e.name for e in logged)
    retries = [e.event for e in logged if isinstance(e.event, Retry)]
    throttles = [e.event for e in logged if isinstance(e.event, Throttled)]
    fives = sum(n for status, n in answered.items() if status.startswith("5"))
    # the faults happened, and each is exactly one line
    assert answered["429"] > 0 and fives > 0, answered
    assert len(throttles) == summary["throttled"] == answered["429"]
    assert len(retries) == summary["retries"] == answered["429"] + fives
    assert Counter(r.status for r in retries if r.status and r.status >= 500).total() == fives
    assert {r.reason for r in retries if r.status == 429} == {"throttled"}
    assert all(r.row >= 2 and r.attempt >= 1 and r.delay_s >= 0 for r in retries)
    assert names["run_started"] == names["run_finished"] == names["preflight"] == 1
    assert names["pacer_rate_changed"] >= 1  # at least the cut after the first 429
    (started,) = (e.event for e in logged if isinstance(e.event, RunStarted))
    assert started.run_id == summary["run_id"] and started.settings["concurrency"] == 4
    (finished,) = (e.event for e in logged if isinstance(e.event, RunFinished))
    assert (finished.retries, finished.throttled) == (summary["retries"], summary["throttled"])
    assert (finished.outcome, finished.exit_code) == ("finished", 0)
    # -v: the same events readably on stderr; stdout keeps only the report and the JSON line
    assert res.stderr.count(" retry: row ") == len(retries)
    assert res.stderr.count(" throttled: row ") == len(throttles)
    assert "retry" not in res.stdout.replace('"retries"', "").replace('"retry_at"', "")
    # never the key: not in any file the run wrote (log, results, ledger, kept copies, home)
    assert _files_holding(tmp_path, KEY) == []
    assert KEY not in res.stdout + res.stderr


def test_log_file_appends_and_a_failed_command_logs_why(tmp_path: Path) -> None:
    source = write_leads(tmp_path / "leads.csv", 3)
    mapping = write_mapping(tmp_path / "leads.yaml")
    log = tmp_path / "syncer.jsonl"
    log.write_text('{"earlier": "line"}\n', encoding="utf-8")
    res = invoke("run", source, "--mapping", mapping, "--log-file", log, "--json")
    assert res.code == 2  # no API key
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines[0] == '{"earlier": "line"}'  # appended, not replaced
    failed = events.read_line(lines[-1])
    assert failed is not None and isinstance(failed.event, events.Failed)
    assert failed.event.exit_code == 2 and "no API key" in failed.event.error
    assert failed.level == "ERROR"


def test_an_unwritable_log_file_is_a_usage_error_naming_the_flag(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    source = write_leads(tmp_path / "leads.csv", 3)
    mapping = write_mapping(tmp_path / "leads.yaml")
    res = invoke(
        "run", source, "--mapping", mapping, "--log-file", blocker / "x.jsonl", "--json",
        api_key=KEY, base_url="http://127.0.0.1:9",
    )  # fmt: skip
    assert res.code == 2
    assert res.json["error"]["message"].startswith(f"cannot write the log file {blocker}")
    assert "--log-file PATH" in res.json["error"]["message"]
    assert not (tmp_path / "leads.results.csv").exists()  # refused before the run


def test_inbox_logs_each_file_moved_and_each_run(tmp_path: Path) -> None:
    inbox = tmp_path / "drop"
    inbox.mkdir()
    write_leads(inbox / "a.csv", 4)
    write_leads(inbox / "b.csv", 5)
    mapping = write_mapping(tmp_path / "leads.yaml")
    log = tmp_path / "inbox.jsonl"
    with sandbox(api_key=KEY) as sb:
        res = syncer(
            "inbox", inbox, "--mapping", mapping, "--min-age", "0", "--settle", "0",
            "--log-file", log, "--json", "-q",
            cwd=tmp_path, api_key=KEY, base_url=sb.base_url, env=private_env(tmp_path),
        )  # fmt: skip
    assert res.code == 0, res.stderr
    logged = _read_log(log)
    moved = [e.event for e in logged if isinstance(e.event, FileMoved)]
    assert sorted(Path(m.source).name for m in moved) == ["a.csv", "b.csv"]
    for m in moved:
        assert Path(m.dest).is_file() and m.bucket == "processed"
        assert Path(m.dest).is_relative_to(inbox / "archive" / "processed")
    finished = [e.event for e in logged if isinstance(e.event, RunFinished)]
    assert sorted(f.rows for f in finished) == [4, 5]
    assert _files_holding(tmp_path, KEY) == []
