"""syncer.inbox.alerts: which events a run raises, the text a person reads, and real delivery
(apprise ``json://``/``form://`` and httpx webhooks, healthchecks pings) to a local receiver."""

from __future__ import annotations

import ast
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import http_receiver
import pytest
from http_receiver import Receiver

from syncer.errors import ConfigError
from syncer.inbox import alerts
from syncer.inbox.alerts import (
    DEFAULT_NOTIFY_ON,
    EVENTS,
    alert_text,
    alerts_on,
    deliver,
    events_for,
    parse_notify_on,
    ping,
)
from syncer.inbox.report import ROW_KEYS, FileReport, FileStatus, InboxReport, InboxStatus

KEY = "sk-live-SECRET-api-key-0123456789"
INBOX = "/data/vendor-drop"


# --- a local HTTP receiver (tests/http_receiver.py) --------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    return http_receiver.closed_port()


# --- reports -----------------------------------------------------------------------------------


def _file(name: str, status: FileStatus, **counts: int) -> FileReport:
    f = FileReport(name=name, status=status, sha256="ab" * 32)
    f.counts = {k: counts.get(k, 0) for k in ROW_KEYS}
    if status is FileStatus.PARTIAL:
        f.failures = f"/data/vendor-drop/archive/processed/2024-06-01/7-{name[:-4]}.failures.csv"
    return f


def _report(*files: FileReport, **kw: Any) -> InboxReport:
    return InboxReport(inbox=INBOX, files=list(files), run_id=7, **kw)


DONE = _file("done.csv", FileStatus.DONE, rows=100, succeeded=90, unchanged=10)
PARTIAL = _file("part.csv", FileStatus.PARTIAL, rows=100, succeeded=89, invalid=6, failed=5)
FAILED = _file("binary.csv", FileStatus.FAILED)
ABORTED = _file("big.csv", FileStatus.ABORTED, rows=1000, succeeded=400, not_attempted=600)
DUP = _file("again.csv", FileStatus.SKIPPED_DUPLICATE)
WAITING = _file("young.csv", FileStatus.NOT_READY)


# --- --notify-on -------------------------------------------------------------------------------


def test_parse_notify_on() -> None:
    assert parse_notify_on("failure,partial") == {"failure", "partial"}
    assert parse_notify_on(" Failure , stuck ") == {"failure", "stuck"}
    assert parse_notify_on("always") == set(EVENTS)
    assert parse_notify_on(",".join(sorted(DEFAULT_NOTIFY_ON))) == DEFAULT_NOTIFY_ON
    assert {"failure", "partial", "recovery", "missing"} == DEFAULT_NOTIFY_ON


@pytest.mark.parametrize(
    ("text", "bad"), [("failures,partial", "unknown event 'failures'"), ("", "names no event")]
)
def test_parse_notify_on_refuses_unknown_words(text: str, bad: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_notify_on(text)
    assert str(err.value) == (
        f"--notify-on {text!r}: {bad}; use a comma-separated list of failure, partial, "
        "recovery, missing, stuck, or 'always'"
    )


# --- events ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("report", "previously_failed", "max_rate", "events"),
    [
        (_report(DONE), False, None, []),
        (_report(DONE, DUP, WAITING), False, 5.0, []),
        (_report(), False, None, []),
        (_report(DONE), True, None, ["recovery"]),
        (_report(DUP), True, None, ["recovery"]),  # clean: nothing wrong this time
        (_report(PARTIAL, exit_code=1), False, None, ["partial"]),
        (_report(PARTIAL, exit_code=1), True, None, ["partial"]),  # not clean: no recovery
        (_report(PARTIAL, FAILED, exit_code=2), False, None, ["failure"]),
        (_report(ABORTED, exit_code=3), True, None, ["failure"]),
        (_report(DONE, exit_code=2), False, None, ["failure"]),  # exit >= 2 on its own
        # 11 of 100 rows rejected: over 10 %, not over 11 %
        (_report(PARTIAL, exit_code=1), False, 10.0, ["failure"]),
        (_report(PARTIAL, exit_code=1), False, 11.0, ["partial"]),
        (_report(status=InboxStatus.MISSING, exit_code=5), False, None, ["missing"]),
        (_report(status=InboxStatus.MISSING, exit_code=5), True, None, ["missing"]),
        (_report(FAILED, status=InboxStatus.MISSING, exit_code=5), False, None,
         ["failure", "missing"]),
        (_report(status=InboxStatus.STUCK, exit_code=4), False, None, ["stuck"]),
        (_report(status=InboxStatus.BUSY), True, None, []),  # the other run will tell
        (_report(FAILED, exit_code=2, dry_run=True), True, None, []),  # sent nothing
    ],
)  # fmt: skip
def test_events_for(
    report: InboxReport, previously_failed: bool, max_rate: float | None, events: list[str]
) -> None:
    got = events_for(report, previously_failed=previously_failed, max_reject_rate=max_rate)
    assert got == events


# --- texts -------------------------------------------------------------------------------------


def test_partial_text_names_the_inbox_each_file_and_the_failures_file() -> None:
    title, body = alert_text(_report(DONE, PARTIAL, DUP, WAITING, exit_code=1), "partial")
    assert title == f"syncer inbox partial: {INBOX} (1 done, 1 partial, 1 skipped_duplicate)"
    assert body == "\n".join(
        [
            f"Inbox: {INBOX} (run 7)",
            "- done.csv: done, 100 rows, 90 succeeded, 10 unchanged",
            "- part.csv: partial, 100 rows, 89 succeeded, 6 invalid, 5 failed",
            "- again.csv: skipped_duplicate",
            "1 file(s) not ready yet (left for a later run)",
            "Failures files:",
            f"  {PARTIAL.failures}",
            "To do: Fix the rows in 7-part.failures.csv and drop it into the inbox again "
            "(rows Reevo already accepted are not sent again).",
        ]
    )


def test_failure_texts_say_the_one_thing_to_do() -> None:
    aborted = _file("big.csv", FileStatus.ABORTED, rows=1000, succeeded=400, not_attempted=600)
    aborted.error = (
        "Reevo refused the API key: it has expired. Create a new key in Reevo (Settings > "
        "Integrations > API keys)."
    )
    _, body = alert_text(_report(aborted, exit_code=3), "failure")
    assert "- big.csv: aborted, 1000 rows, 400 succeeded, 600 not attempted" in body
    assert body.endswith(
        "To do: Reevo refused the API key: it has expired. Create a new key in Reevo (Settings "
        "> Integrations > API keys). big.csv stays in the inbox: the next run resumes it (rows "
        "Reevo already accepted are not sent again)."
    )

    failed = _file("binary.csv", FileStatus.FAILED)
    failed.error = "binary.csv is not a CSV or Excel file (it holds binary data)"
    failed.archived = "/data/vendor-drop/archive/failed/2024-06-01/7-binary.csv"
    _, body = alert_text(_report(failed, DONE, exit_code=2), "failure")
    assert (
        "- binary.csv: failed\n  error: binary.csv is not a CSV or Excel file (it holds binary "
        f"data)\n  moved to: {failed.archived}\n- done.csv: done" in body
    )
    assert body.endswith(
        "To do: binary.csv is not a CSV or Excel file (it holds binary data). Then drop the "
        "fixed binary.csv into the inbox again."
    )

    _, body = alert_text(_report(PARTIAL, exit_code=1), "failure", max_reject_rate=10)
    assert body.endswith(
        "To do: 11% of part.csv's rows were rejected (over --max-reject-rate 10%): check the "
        "file and the mapping, fix the rows in 7-part.failures.csv and drop it into the inbox "
        "again."
    )


def test_missing_stuck_and_recovery_texts() -> None:
    msg = "no new file was processed today by 06:00 (Europe/Paris)"
    title, body = alert_text(_report(status=InboxStatus.MISSING, message=msg), "missing")
    assert title == f"syncer inbox missing: {INBOX}"
    assert body.count(msg) == 1
    assert body.endswith(f"To do: Check the vendor's upload: {msg}.")

    held = "held by pid 4242 on host1 since 2024-06-01 01:00"
    _, body = alert_text(_report(status=InboxStatus.STUCK, message=held), "stuck")
    assert f"To do: Another inbox run has held the lock too long ({held})" in body

    _, body = alert_text(_report(DONE), "recovery")
    assert body.endswith("To do: Nothing: this run finished cleanly after the last failed one.")


def test_a_long_inbox_is_cut_for_a_phone() -> None:
    files = [_file(f"f{i:02}.csv", FileStatus.DONE, rows=1, succeeded=1) for i in range(40)]
    _, body = alert_text(_report(*files), "recovery")
    assert "- f14.csv: done" in body
    assert "f15.csv" not in body
    assert "... and 25 more files (see `syncer runs`)" in body


# --- delivery for real -------------------------------------------------------------------------


def test_deliver_sends_apprise_notifications_and_webhooks(receiver: Receiver) -> None:
    failed = _file("binary.csv", FileStatus.FAILED)
    failed.error = f"could not read binary.csv (key {KEY} was never sent)"  # a leak to scrub
    report = _report(DONE, PARTIAL, failed, exit_code=2, events=["failure"])
    errors = deliver(
        report,
        ["failure", "partial"],  # partial is not in this --notify-on
        notify=[receiver.url("/apprise/json", "json"), receiver.url("/apprise/form", "form")],
        webhooks=[receiver.url("/hook")],
        notify_on=frozenset({"failure"}),
        secrets=[KEY],
    )
    assert errors == []
    got = {r.path: r for r in receiver.seen(3)}
    assert sorted(got) == ["/apprise/form", "/apprise/json", "/hook"]
    assert all(r.method == "POST" for r in got.values())
    assert all(KEY not in r.body.decode() for r in got.values())
    assert all("SECRET" not in r.body.decode() for r in got.values())

    title, body = alert_text(report, "failure")
    note = got["/apprise/json"].json()  # apprise's own JSON envelope: apprise sent it
    assert note["version"] == "1.0" and note["type"] == "failure"
    assert note["title"] == title
    assert "- part.csv: partial, 100 rows, 89 succeeded, 6 invalid, 5 failed" in note["message"]
    assert "error: could not read binary.csv (key *** was never sent)" in note["message"]
    assert note["message"] == body.replace(KEY, "***")
    form = got["/apprise/form"].form()
    assert form["title"] == title and form["type"] == "failure"

    hook = got["/hook"]
    assert hook.headers["Content-Type"] == "application/json"
    sent = hook.json()
    assert set(sent) == set(report.as_json()) | {"event"}
    assert sent["event"] == "failure"
    assert (sent["command"], sent["inbox"], sent["exit_code"], sent["run_id"]) == (
        "inbox",
        INBOX,
        2,
        7,
    )
    assert sent["processed"] == 3 and sent["requests"] == 0
    by_name = {f["name"]: f for f in sent["files"]}
    assert by_name["part.csv"] | {} == PARTIAL.as_json()
    assert by_name["done.csv"]["succeeded"] == 90 and by_name["done.csv"]["unchanged"] == 10
    assert by_name["binary.csv"]["error"] == "could not read binary.csv (key *** was never sent)"
    assert len(receiver.requests) == 3  # deliver returned: nothing for "partial" came later


def test_a_stuck_lock_alerts_wherever_failure_does() -> None:
    assert alerts_on("stuck", DEFAULT_NOTIFY_ON)
    assert alerts_on("stuck", frozenset({"stuck"}))
    assert not alerts_on("stuck", frozenset({"partial", "recovery"}))
    assert not alerts_on("partial", frozenset({"failure"}))


def test_events_outside_notify_on_send_nothing(receiver: Receiver) -> None:
    report = _report(PARTIAL, exit_code=1)
    errors = deliver(
        report,
        ["partial"],
        notify=[receiver.url("/n", "json")],
        webhooks=[receiver.url("/hook")],
        notify_on=frozenset({"failure"}),
    )
    assert errors == []
    assert receiver.requests == []  # deliver is synchronous: anything sent has arrived
    deliver(
        report, [], notify=[receiver.url("/n", "json")], webhooks=[], notify_on=DEFAULT_NOTIFY_ON
    )
    assert receiver.requests == []


def test_an_undeliverable_alert_is_an_error_line_never_an_exception(
    receiver: Receiver, closed_port: int
) -> None:
    report = _report(FAILED, exit_code=2)
    down = f"127.0.0.1:{closed_port}"
    errors = deliver(
        report,
        ["failure"],
        notify=[
            f"json://{down}/notify/tok-abcdef123",
            receiver.url("/fail/apprise", "json"),
            "slack://",  # apprise rejects it
        ],
        webhooks=[
            f"http://{down}/hooks/SECRETTOKEN123?sig=abcdef123",
            receiver.url("/fail/hook"),
            "http://hooks.example.com/services/T0/B0/XYZSECRET",  # plain http off loopback
        ],
        notify_on=DEFAULT_NOTIFY_ON,
        secrets=[KEY],
        timeout_s=5,
    )
    assert errors == [
        f"notify json://{down}/***: not sent: A Connection error occurred sending JSON "
        "notification to 127.0.0.1.",
        f"notify json://127.0.0.1:{receiver.port}/***: not sent: Failed to send JSON POST "
        "notification: Internal server error., error=500.",
        "notify slack://***: apprise does not accept this URL (check its form in apprise's "
        "list of services)",
        f"webhook http://{down}/***: could not connect ([Errno 111] Connection refused)",
        f"webhook http://127.0.0.1:{receiver.port}/***: answered HTTP 500",
        "webhook http://hooks.example.com/***: not https, so the report would travel in clear "
        "text; use https (plain http is allowed only for localhost/127.0.0.1)",
    ]
    assert sorted(r.path for r in receiver.seen(2)) == ["/fail/apprise", "/fail/hook"]
    assert not any("SECRET" in e or "tok-abcdef" in e or "abcdef123" in e for e in errors)


def test_a_hanging_receiver_times_out(receiver: Receiver) -> None:
    started = time.monotonic()
    errors = deliver(
        _report(FAILED, exit_code=2),
        ["failure"],
        notify=[receiver.url("/hang/apprise", "json")],
        webhooks=[receiver.url("/hang/hook")],
        notify_on=DEFAULT_NOTIFY_ON,
        timeout_s=0.5,
    )
    took = time.monotonic() - started
    assert errors == [
        f"notify json://127.0.0.1:{receiver.port}/***: timed out after 0.5 s",
        f"webhook http://127.0.0.1:{receiver.port}/***: timed out after 0.5 s",
    ]
    assert sorted(r.path for r in receiver.seen(2)) == ["/hang/apprise", "/hang/hook"]
    assert took < 10, f"two 0.5 s timeouts took {took:.1f} s"


def test_ping_hits_start_and_the_exit_code(receiver: Receiver, closed_port: int) -> None:
    check = receiver.url("/ping/0f8e6c1a-uuid-secret")
    assert ping(check, "start") is None
    assert ping(check + "/", "3", body=f"1 failed (key {KEY})", secrets=[KEY]) is None
    assert ping(None, "start") is None
    first, second = receiver.seen(2)
    assert (first.method, first.path, first.body) == (
        "POST",
        "/ping/0f8e6c1a-uuid-secret/start",
        b"",
    )
    assert (second.path, second.body) == ("/ping/0f8e6c1a-uuid-secret/3", b"1 failed (key ***)")

    down = f"http://127.0.0.1:{closed_port}/ping/0f8e6c1a-uuid-secret"
    assert ping(down, "0", timeout_s=5) == (
        f"ping http://127.0.0.1:{closed_port}/*** (0): could not connect ([Errno 111] "
        "Connection refused)"
    )
    assert ping(receiver.url("/fail/0f8e6c1a-uuid-secret"), "start") == (
        f"ping http://127.0.0.1:{receiver.port}/*** (start): answered HTTP 500"
    )
    assert ping("http://hc.example.com/0f8e6c1a", "start") == (
        "ping http://hc.example.com/*** (start): not https, so the report would travel in clear "
        "text; use https (plain http is allowed only for localhost/127.0.0.1)"
    )


# --- URLs and secrets --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/***"),
        ("https://user:pw@hc-ping.com:8443/uuid?rid=1", "https://hc-ping.com:8443/***"),
        ("json://127.0.0.1:8080", "json://127.0.0.1:8080"),
        ("mailto://user:pass@gmail.com", "mailto://gmail.com"),
        ("slack://T1234ABCD/B5678EFGH/abcdefghijklmnopqrstuvwx", "slack://***"),
        ("tgram://123456789:ABCdefGHI/12345", "tgram://***"),
        ("http://[::1]:9/x", "http://[::1]:9/***"),
    ],
)
def test_safe_url_shows_no_password_path_or_token(url: str, shown: str) -> None:
    assert alerts.safe_url(url) == shown


def test_check_alert_urls_collects_every_problem() -> None:
    alerts.check_alert_urls(
        notify=["json://127.0.0.1:9/x", "slack://T1234ABCD/B5678EFGH/abcdefghijklmnopqrstuvwx"],
        webhooks=["https://hooks.example.com/x", "http://localhost:9/x"],
        ping_url="https://hc-ping.com/uuid",
    )
    with pytest.raises(ConfigError) as err:
        alerts.check_alert_urls(
            notify=["nope://secret-token"],
            webhooks=["ftp://files.example.com/x"],
            ping_url="http://hc-ping.com/uuid",
        )
    assert err.value.problems == [
        "--notify nope://***: apprise does not accept this URL; check its form in apprise's list "
        "of services (e.g. slack://TokenA/TokenB/TokenC, mailto://user:pass@host)",
        "--webhook ftp://files.example.com/***: not an http(s) URL; use https://host/path",
        "--ping http://hc-ping.com/***: not https, so the report would travel in clear text; use "
        "https (plain http is allowed only for localhost/127.0.0.1)",
    ]


def test_alerts_imports_no_ledger_runner_or_reevo() -> None:
    tree = ast.parse(Path(alerts.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("syncer")
    } | {
        a.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for a in node.names
        if a.name.startswith("syncer")
    }
    allowed = {"syncer.errors", "syncer.events", "syncer.models", "syncer.hosts"}
    assert imported <= allowed | {"syncer.inbox.report"}, imported
