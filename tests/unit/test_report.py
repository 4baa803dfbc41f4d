"""The HTML run report (issue 13 item 2): the timeline recorder, the data, the page.

The page must show every text from a file or a server as text (a company named
``<script>alert(1)</script>`` stays that), reference nothing outside itself, and say the right
numbers; a run's report is written again from the ledger and its results files. The browser
check of the same page is tests/e2e/test_report_browser.py.
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import re
import threading
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from syncer import events
from syncer.errors import SourceError
from syncer.push import PushSettings
from syncer.report import (
    ErrorGroup,
    Example,
    FileLine,
    PreflightInfo,
    Report,
    RunSection,
    Timeline,
    TimelineData,
    next_steps,
    render_report,
    write_report,
)
from syncer.report.charts import duration_text, nice_ceiling, status_bar, timeline_charts
from syncer.runner import Settings, sync
from syncer.runner.reporting import (
    SECTION_FILE,
    EventTap,
    RecordingPacer,
    error_groups,
    report_path,
    rewrite_report,
    runs_folder,
    tapping,
)
from syncer.sandbox import SandboxApp

TEST_KEY = "test-key-all-permissions"  # the conftest sandbox key

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the timeline ---------------------------------------------------------------------------
def test_each_event_lands_in_its_second_and_the_rate_holds_through_a_silence() -> None:
    clock = FakeClock()
    t = Timeline(clock=clock, wall=lambda: 5.0)
    t.request(10.0)
    t.request(12.0)
    t.row_succeeded()
    clock.now += 1.2
    t.throttle()
    t.retry()
    t.retry()
    clock.now += 2.0  # nothing happens in second 2: it is zero, at the last rate
    t.request(8.0)
    data = t.data()
    assert data.started_at == 5.0 and data.bucket_s == 1.0
    assert data.requests == [2, 0, 0, 1]
    assert data.succeeded == [1, 0, 0, 0]
    assert data.throttled == [0, 1, 0, 0]
    assert data.retries == [0, 2, 0, 0]
    assert data.rate == [12.0, 12.0, 12.0, 8.0]


def test_a_long_run_merges_buckets_and_keeps_every_count() -> None:
    clock = FakeClock()
    t = Timeline(clock=clock, max_buckets=8)
    for second in range(40):
        clock.now = 1000.0 + second + 0.5
        t.request(float(second))
        t.row_succeeded()
    data = t.data()
    assert data.buckets <= 8 and data.bucket_s == 8.0  # 1 -> 2 -> 4 -> 8 s
    assert sum(data.requests) == sum(data.succeeded) == 40
    assert data.requests[0] == 8 and data.duration_s >= 40
    assert data.rate[0] == 7.0  # a merged bucket keeps its later rate


def test_timeline_and_section_round_trip_through_json() -> None:
    data = TimelineData(1.5, 2.0, [1, 2], [1, 1], [0, 1], [0, 3], [10.0, 7.5])
    assert TimelineData.from_json(json.loads(json.dumps(data.to_json()))) == data
    section = _section()
    again = RunSection.from_json(json.loads(json.dumps(section.to_json())))
    assert again == section


# -- recording during a run -------------------------------------------------------------------
def test_the_recording_pacer_counts_each_request_it_lets_through() -> None:
    timeline = Timeline()
    pacer = RecordingPacer(timeline, PushSettings(initial_rate=1000.0))

    async def go() -> None:
        for _ in range(5):
            await pacer.acquire()

    asyncio.run(go())
    data = timeline.data()
    assert sum(data.requests) == 5 and data.rate[-1] == pacer.rate


def test_the_event_tap_counts_this_threads_retries_and_429s_only() -> None:
    timeline = Timeline()
    retry = events.Retry(row=2, attempt=1, reason="retry", status=503, error="x", delay_s=0.1)
    throttled = events.Throttled(row=3, attempt=1, retry_after_s=1.0)
    with tapping(timeline):
        events.emit(retry)
        events.emit(throttled)
        events.emit(throttled)
        other = threading.Thread(target=events.emit, args=(retry,))  # another run's thread
        other.start()
        other.join()
    events.emit(retry)  # after the run: not counted
    data = timeline.data()
    assert (sum(data.retries), sum(data.throttled)) == (1, 2)
    assert not any(isinstance(h, EventTap) for h in logging.getLogger("syncer.push").handlers)


# -- the page ---------------------------------------------------------------------------------
class _Tags(HTMLParser):
    """Every start tag and its attributes, and the text a reader sees."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._style = False

    def handle_data(self, data: str) -> None:
        if not self._style:
            self.text.append(data)


def _parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def _section(**kw: Any) -> RunSection:
    base: dict[str, Any] = {
        "name": f"leads {HOSTILE}.csv",
        "source": f"/data/leads {HOSTILE}.csv",
        "mapping": "/data/leads.yaml",
        "command": f"syncer run 'leads {HOSTILE}.csv'",
        "run_id": 7,
        "target": "account_contact",
        "started_at": "2026-12-01T22:00:00+00:00",
        "elapsed_s": 12.5,
        "rows": 10,
        "counts": {"succeeded": 6, "invalid": 2, "failed": 1, "not_attempted": 1},
        "requests": 12,
        "retries": 3,
        "throttled": 2,
        "exit_code": 1,
        "issues": {"invalid_email": 2, "reevo_rejected": 1, "run_aborted": 1},
        "errors": [
            ErrorGroup(
                "invalid_email",
                2,
                "invalid",
                [Example(4, HOSTILE, f'Email "{HOSTILE}" is not a valid e-mail address')],
            ),
            ErrorGroup(
                "reevo_rejected", 1, "failed", [Example(9, "a@x.org", f"company: {HOSTILE}")]
            ),
        ],
        "timeline": TimelineData(0.0, 1.0, [5, 7], [4, 2], [0, 2], [0, 3], [10.0, 7.0]),
        "preflight": PreflightInfo("passed", 2, [f"owner {HOSTILE} checked"]),
        "notes": [f"a note about {HOSTILE}"],
        "results": f"/data/leads {HOSTILE}.results.csv",
        "failures": "/data/leads.failures.csv",
        "failures_xlsx": "/data/leads.failures.xlsx",
        "warnings": {"extension_dropped": 2},
        "key_column": "Email",
    }
    base.update(kw)
    return RunSection(**base)


def test_hostile_text_from_files_and_servers_is_shown_as_text() -> None:
    section = _section(
        message=f"stopped: {HOSTILE}",
        outcome="aborted",
        exit_code=3,
        retry_at="2026-12-03T00:00:00+00:00",
    )
    page = render_report(
        Report(
            title=f"Inbox {HOSTILE}",
            sections=[section],
            exit_code=3,
            kind="inbox",
            files=[FileLine(f"{HOSTILE}.csv", "partial", 10, f"note {HOSTILE}")],
            message=HOSTILE,
        )
    )
    assert HOSTILE not in page and "<script" not in page.lower()
    assert page.count(ESCAPED) >= 12  # name, value, messages, notes, paths, the command...
    parsed = _parse(page)
    text = "".join(parsed.text)
    assert f'Email "{HOSTILE}" is not a valid e-mail address' in text  # readable as it was
    assert f"a note about {HOSTILE}" in text and f"stopped: {HOSTILE}" in text
    assert "Reevo said to try again after 2026-12-0" in text  # the quota's reset, local time


def test_the_page_is_self_contained_and_loads_nothing() -> None:
    page = render_report(Report(title="leads.csv", sections=[_section()], exit_code=1))
    parsed = _parse(page)
    names = {tag for tag, _ in parsed.tags}
    assert names.isdisjoint({"script", "img", "link", "iframe", "object", "embed", "base"})
    for tag, attrs in parsed.tags:
        for attr in attrs:
            assert attr not in ("src", "href", "srcset", "action") and not attr.startswith("on"), (
                tag,
                attr,
            )
    assert re.search(r"https?://|url\(|@import", page) is None
    csp = [a["content"] for t, a in parsed.tags if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp == ["default-src 'none'; style-src 'unsafe-inline'; img-src data:"]
    assert '<meta name="viewport"' in page and "@media print" in page
    assert "@media (max-width" in page  # a phone gets its own layout


def test_the_page_says_the_numbers_and_what_to_do() -> None:
    page = render_report(Report(title="leads.csv", sections=[_section()], exit_code=1))
    text = re.sub(r"\s+", " ", "".join(_parse(page).text))
    assert "Exit code 1: some rows are invalid, failed or were not attempted." in text
    for shown in ("6 succeeded", "2 invalid", "1 failed", "1 not attempted", "12 requests",
                  "3 retries", "2 429 answers", "10 rows"):  # fmt: skip
        number, label = shown.split(" ", 1)
        assert f"{number} {label}" in text, shown
    assert "invalid_email · 2 rows (invalid)" in text
    assert "reevo_rejected · 1 row (failed)" in text and "… and 1 more" in text
    assert "Requests per second" in text and "429s and retries per second" in text
    assert "429 answers: 2 (peak 2/s)" in text and "retries: 3 (peak 3/s)" in text
    assert "Passed: the key works" in text and "2 requests" in text
    assert "syncer run /data/leads.failures.csv --mapping /data/leads.yaml" in text
    assert "syncer retry '/data/leads <script>alert(1)</script>.results.csv'" in text
    assert "extension_dropped: 2 rows" in text and "/data/leads.failures.xlsx" in text


def test_charts_are_numbers_only_and_fit_their_axis() -> None:
    data = TimelineData(0.0, 1.0, [3, 40, 7], [3, 30, 7], [0, 5, 0], [0, 6, 1], [10.0, 45.0, 9.0])
    traffic, trouble = timeline_charts(data)
    assert traffic.y_max == 50 and trouble.y_max == 10
    for chart in (traffic, trouble):
        for series in chart.series:
            assert re.fullmatch(r"[MLZ0-9. ]+", series.path), series.path
    assert [s.total for s in trouble.series] == [5, 7]
    long = TimelineData(0.0, 1.0, [1] * 5000, [1] * 5000, [0] * 5000, [0] * 5000, [1.0] * 5000)
    assert timeline_charts(long)[0].series[0].path.count("L") <= 2 * 400 + 2  # averaged
    assert timeline_charts(TimelineData(0.0)) == []
    assert [nice_ceiling(v) for v in (0, 0.3, 7, 12, 40, 2600)] == [1, 0.5, 10, 20, 50, 5000]
    assert [duration_text(s) for s in (0.4, 42, 185, 7260)] == [
        "0.4 s",
        "42 s",
        "3 min 05 s",
        "2 h 01 min",
    ]
    bar = status_bar({"succeeded": 3, "invalid": 1, "failed": 0}, ("succeeded", "invalid"))
    assert [(s.status, s.count, s.percent) for s in bar] == [
        ("succeeded", 3, 75.0),
        ("invalid", 1, 25.0),
    ]


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"counts": {"succeeded": 3}, "issues": {}}, ["Nothing to do"]),
        (
            {"counts": {"ready": 3}, "dry_run": True, "issues": {}, "outcome": "dry_run"},
            ["Nothing was sent (dry run)", "3 ready rows"],
        ),
        (
            {"counts": {"failed": 1}, "issues": {"reevo_unavailable": 1}},
            ["Send the 1 failed row again", "syncer retry"],
        ),
        (
            {"counts": {"not_attempted": 4}, "outcome": "aborted", "issues": {}},
            ["Reevo stopped the run", "syncer retry"],
        ),
        (
            {"counts": {"not_attempted": 4}, "outcome": "interrupted", "issues": {}},
            ["The run was interrupted", "syncer retry"],
        ),
        ({"outcome": "not_imported", "hint": "Fix the header."}, ["Fix the header."]),
    ],
)
def test_next_steps_follow_the_outcome(kw: dict[str, Any], expected: list[str]) -> None:
    steps = next_steps(_section(**kw))
    said = " ".join(f"{s.text} {s.command or ''}" for s in steps)
    for words in expected:
        assert words in said, said
    if kw.get("outcome") in ("aborted", "interrupted"):  # resume, not "send the failed again"
        assert "Send the" not in said


def test_error_groups_pair_each_code_with_its_own_message_and_value() -> None:
    frame = pl.DataFrame(
        {
            "source_row": [2, 3, 4, 5, 6, 7, 8, 9, 10],
            "status": ["invalid"] * 7 + ["failed", "succeeded"],
            "error": [
                'Email "bad" is not a valid e-mail address; Phone "12" is not a valid phone number',
                *[f'Email "bad{i}" is not a valid e-mail address' for i in range(6)],
                "Reevo answered 422: company is too long",
                "",
            ],
            "error_code": [
                "invalid_email;invalid_phone", *["invalid_email"] * 6, "reevo_rejected", ""
            ],
            "Email": ["bad", *[f"bad{i}" for i in range(6)], "c@x.org", "d@x.org"],
        }
    )  # fmt: skip
    groups = error_groups(
        frame, {"invalid_email": 7, "invalid_phone": 1, "reevo_rejected": 1}, "Email"
    )
    assert [(g.code, g.rows, g.status, len(g.examples)) for g in groups] == [
        ("invalid_email", 7, "invalid", 5),
        ("invalid_phone", 1, "invalid", 1),
        ("reevo_rejected", 1, "failed", 1),
    ]
    assert [e.row for e in groups[0].examples] == [2, 3, 4, 5, 6]
    assert groups[0].examples[0] == Example(2, "bad", 'Email "bad" is not a valid e-mail address')
    assert groups[1].examples[0] == Example(2, "12", 'Phone "12" is not a valid phone number')
    # no value quoted: the row's key stands in
    assert groups[2].examples[0] == Example(9, "c@x.org", "Reevo answered 422: company is too long")


def test_a_report_that_cannot_be_written_says_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(SourceError, match=r"cannot write the report .* writable"):
        write_report(Report("x", [_section()], 1), blocker / "leads.report.html")
    assert report_path(Path("a/leads.retry.results.csv")) == Path("a/leads.retry.report.html")
    assert report_path(Path("out.csv")) == Path("out.report.html")


# -- a real run, in process -------------------------------------------------------------------
MAPPING = "columns:\n  email: Email\n  company: Company\n"


def _write_leads(path: Path, n: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Email", "Company"])
        for i in range(n):
            email = HOSTILE if i % 10 == 3 else f"lead{i}@example.org"
            w.writerow([email, HOSTILE if i == 1 else f"Company {i}"])
    return path


def _run(tmp_path: Path, app: SandboxApp, source: Path) -> Any:
    # 40 requests/s at first: twice the faulty sandbox's limit, so a few 429s, not a long run
    push = PushSettings(concurrency=4, initial_rate=40, backoff_base_s=0.01, backoff_cap_s=0.05)
    settings = Settings(
        base_url="http://127.0.0.1",
        api_key=TEST_KEY,
        transport=httpx.ASGITransport(app=app),
        ledger=tmp_path / "ledger.db",
        push=push,
        command="syncer run leads.csv",
    )
    return sync(source, tmp_path / "leads.yaml", settings)


def test_a_faulty_run_writes_its_report_and_keeps_what_a_rewrite_needs(
    tmp_path: Path, sandbox_app: SandboxApp
) -> None:
    (tmp_path / "leads.yaml").write_text(MAPPING, encoding="utf-8")
    source = _write_leads(tmp_path / "leads.csv", 20)
    # requests at 40/s meet a bucket of 1 refilled at 20/s: 429s for sure, and 5xx at random
    sandbox_app.sandbox.set_faults({"fail_rate": 0.25, "rate_limit": 20, "rate_burst": 1})
    summary = _run(tmp_path, sandbox_app, source)
    assert summary.report_path == tmp_path / "leads.report.html"
    assert summary.to_dict()["report"] == str(tmp_path / "leads.report.html")
    assert summary.counts["invalid"] == 2 and summary.retries > 0 and summary.throttled > 0

    kept = json.loads((runs_folder(tmp_path / "ledger.db") / "1" / SECTION_FILE).read_text())
    timeline = TimelineData.from_json(kept["timeline"])
    # every request of the push, every retry, 429 and success is in the timeline
    assert sum(timeline.requests) == summary.requests - kept["preflight"]["requests"]
    assert sum(timeline.retries) == summary.retries
    assert sum(timeline.throttled) == summary.throttled
    assert sum(timeline.succeeded) == summary.counts["succeeded"]
    assert kept["preflight"]["state"] == "passed" and kept["key_column"] == "Email"

    page = summary.report_path.read_text(encoding="utf-8")
    assert HOSTILE not in page and ESCAPED in page
    first = _parse(page)
    text = "".join(first.text)
    assert "invalid_email · 2 rows" in re.sub(r"\s+", " ", text)

    # written again from the ledger, the kept section and the run's own results
    summary.report_path.unlink()
    path, notes = rewrite_report(tmp_path / "ledger.db", 1)
    assert path == summary.report_path and notes == []
    again = _parse(path.read_text(encoding="utf-8"))
    assert _without_time(again.text) == _without_time(first.text)


def test_a_rewrite_without_kept_data_or_results_still_writes_and_says_so(
    tmp_path: Path, sandbox_app: SandboxApp
) -> None:
    (tmp_path / "leads.yaml").write_text(MAPPING, encoding="utf-8")
    source = _write_leads(tmp_path / "leads.csv", 20)
    _run(tmp_path, sandbox_app, source)
    source.write_text("Email,Company\nnew@example.org,New\n", encoding="utf-8")
    _run(tmp_path, sandbox_app, source)  # run 2 now holds leads.results.csv
    folder = runs_folder(tmp_path / "ledger.db") / "1"
    (folder / SECTION_FILE).unlink()
    path, notes = rewrite_report(tmp_path / "ledger.db", 1)
    assert path.parent == folder  # the stable name holds run 2: run 1's goes in its folder
    assert any("kept no report data" in n for n in notes)
    text = re.sub(r"\s+", " ", "".join(_parse(path.read_text(encoding="utf-8")).text))
    assert "run #1" in text and "invalid_email · 2 rows" in text  # from its kept results
    assert "Not recorded for this run." in text
    (folder / "leads.results.csv").unlink()
    _, notes = rewrite_report(tmp_path / "ledger.db", 1)
    assert any("results file is gone" in n for n in notes)


def _without_time(text: list[str]) -> str:
    joined = re.sub(r"\s+", " ", "".join(text))
    return re.sub(r"written \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+", "written", joined)


def test_an_inbox_run_writes_one_report_with_a_section_per_file(
    tmp_path: Path, sandbox_app: SandboxApp
) -> None:
    from syncer.inbox.scan import Readiness
    from syncer.runner.inbox import InboxOptions, run_inbox

    (tmp_path / "leads.yaml").write_text(MAPPING, encoding="utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _write_leads(inbox / "a.csv", 12)
    (inbox / "b.csv").write_text("Name\nno e-mail column\n", encoding="utf-8")  # not importable
    (inbox / "c.txt.part").write_text("half", encoding="utf-8")  # not taken at all
    settings = Settings(
        base_url="http://127.0.0.1",
        api_key=TEST_KEY,
        transport=httpx.ASGITransport(app=sandbox_app),
        ledger=tmp_path / "ledger.db",
        command="syncer inbox inbox",
    )
    options = InboxOptions(inbox=inbox, mapping=tmp_path / "leads.yaml", readiness=Readiness(0, 0))
    report = run_inbox(options, settings)
    assert report.report is not None and report.as_json()["report"] == report.report
    path = Path(report.report)
    assert path.parent.parent == inbox / "archive" / "reports"
    assert path.name == f"{report.run_id}-inbox.report.html"
    page = path.read_text(encoding="utf-8")
    assert HOSTILE not in page
    parsed = _parse(page)
    sections = [a for t, a in parsed.tags if t == "section"]
    assert len(sections) == 2  # a.csv imported, b.csv could not be
    text = re.sub(r"\s+", " ", "".join(parsed.text))
    assert "a.csv partial exit 1" in text and "b.csv failed exit 2" in text
    assert "invalid_email · 1 row" in text  # a.csv's own section, kept by its run
    assert "Email" in text and "the file, the mapping or the settings could not be used" in text
    # each imported file also has its own report beside its results in the archive
    (own,) = (inbox / "archive" / "processed").rglob("*-a.report.html")
    assert "a.csv" in own.read_text(encoding="utf-8")


def test_a_silenced_push_logger_is_said_not_hidden(tmp_path: Path, sandbox_app: SandboxApp) -> None:
    (tmp_path / "leads.yaml").write_text(MAPPING, encoding="utf-8")
    source = _write_leads(tmp_path / "leads.csv", 10)
    sandbox_app.sandbox.set_faults({"fail_rate": 0.5})
    logger = logging.getLogger("syncer.push")
    logger.setLevel(logging.ERROR)  # a library user who wants no warnings from syncer
    try:
        summary = _run(tmp_path, sandbox_app, source)
    finally:
        logger.setLevel(logging.NOTSET)
    assert summary.retries > 0
    kept = json.loads((runs_folder(tmp_path / "ledger.db") / "1" / SECTION_FILE).read_text())
    assert any("retries and 429s over time are incomplete" in n for n in kept["notes"])
