"""syncer.events: typed events on the logging hierarchy, read back typed, JSON lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest

from syncer import events
from syncer.events import (
    EVENTS,
    Aborted,
    JsonLinesFormatter,
    Logged,
    PacerRateChanged,
    ReadableFormatter,
    Retry,
    RunStarted,
    Throttled,
)


class Collect(logging.Handler):
    """Keeps every record."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def collected() -> Iterator[Collect]:
    handler = Collect()
    root = logging.getLogger("syncer")
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


RETRY = Retry(row=7, attempt=2, reason="retry", status=503, error="Reevo is down", delay_s=0.4)


def test_an_event_is_a_log_record_on_its_logger_with_its_fields(collected: Collect) -> None:
    events.emit(RETRY)
    (record,) = collected.records
    assert record.name == "syncer.push"
    assert record.levelno == logging.WARNING
    assert record.event == "retry"  # type: ignore[attr-defined]
    assert record.fields == {  # type: ignore[attr-defined]
        "row": 7,
        "attempt": 2,
        "reason": "retry",
        "status": 503,
        "error": "Reevo is down",
        "delay_s": 0.4,
    }
    assert "row 7" in record.getMessage() and "503" in record.getMessage()


def test_read_gives_the_event_back_typed(collected: Collect) -> None:
    events.emit(Throttled(row=3, attempt=1, retry_after_s=2.0))
    logged = events.read(collected.records[0])
    assert isinstance(logged, Logged)
    assert isinstance(logged.event, Throttled)
    assert logged.event.retry_after_s == 2.0
    assert logged.name == "throttled" and logged.level == "WARNING"
    assert logged.time == collected.records[0].created


def test_read_rebuilds_from_plain_extra_fields_and_ignores_other_records() -> None:
    plain = logging.LogRecord("syncer.push", logging.WARNING, "", 0, "x", None, None)
    assert events.read(plain) is None
    plain.event, plain.fields = "throttled", {"row": 1, "attempt": 1, "retry_after_s": None}
    logged = events.read(plain)
    assert logged is not None and logged.event == Throttled(1, 1, None)


def test_an_event_below_the_level_is_not_even_formatted(collected: Collect) -> None:
    class Loud(PacerRateChanged):
        def message(self) -> str:
            raise AssertionError("formatted")

    logging.getLogger("syncer").setLevel(logging.INFO)
    events.emit(Loud(old=1.0, new=2.0, reason="rise"), logging.DEBUG)
    assert collected.records == []


def test_every_event_type_has_a_unique_name_and_a_syncer_logger() -> None:
    assert len(EVENTS) == 11
    for name, cls in EVENTS.items():
        assert cls.name == name
        assert cls.logger.startswith("syncer.")


def test_json_line_round_trips(collected: Collect) -> None:
    started = RunStarted(
        run_id=4,
        command="syncer run a.csv",
        source="a.csv",
        mapping="m.yaml",
        target="account_contact",
        base_url="http://127.0.0.1:1",
        org="org",
        rows=10,
        settings={"concurrency": 4, "max_rate": None},
    )
    events.emit(started)
    events.emit(Aborted(reason="quota", status=429, error="quota used", retry_after_s=3540.0))
    lines = [JsonLinesFormatter().format(r) for r in collected.records]
    data = json.loads(lines[0])
    assert data["event"] == "run_started" and data["level"] == "INFO"
    assert data["fields"]["settings"] == {"concurrency": 4, "max_rate": None}
    when = datetime.fromisoformat(data["time"])
    assert when.utcoffset() is not None  # ISO 8601 with the offset
    assert abs(when.timestamp() - collected.records[0].created) < 0.001
    back = [events.read_line(line) for line in lines]
    assert back[0] is not None and back[0].event == started
    assert back[1] is not None and isinstance(back[1].event, Aborted)
    assert back[1].event.retry_after_s == 3540.0
    assert events.read_line("not json") is None
    assert events.read_line(json.dumps({"event": "nope", "fields": {}, "time": "x"})) is None


def test_a_plain_log_record_is_a_json_line_too() -> None:
    record = logging.LogRecord("syncer.x", logging.INFO, "", 0, "hello %s", ("you",), None)
    data = json.loads(JsonLinesFormatter().format(record))
    assert data["event"] == "log" and data["message"] == "hello you" and data["fields"] == {}


def test_readable_line(collected: Collect) -> None:
    events.emit(RETRY)
    line = ReadableFormatter().format(collected.records[0])
    assert " WARNING retry: row 7: retry in 0.40 s after attempt 2 (retry, 503)" in line


def test_emitting_changes_nothing_it_is_given(collected: Collect) -> None:
    settings = {"concurrency": 4}
    started = RunStarted(None, "c", "s", "m", "t", "u", "o", 0, settings)
    events.emit(started)
    collected.records[0].fields["settings"]["x"] = 1  # type: ignore[attr-defined]
    assert settings == {"concurrency": 4} and started.settings == {"concurrency": 4}


def _rate_events(collected: Collect) -> list[PacerRateChanged]:
    out = []
    for record in collected.records:
        logged = events.read(record)
        if logged is not None and isinstance(logged.event, PacerRateChanged):
            out.append(logged.event)
    return out


def test_the_pacer_tells_each_cut_and_cap_and_rises_at_most_once_a_second(
    collected: Collect,
) -> None:
    from syncer.reevo.pacing import RateController

    now = [0.0]
    pacer = RateController(10.0, clock=lambda: now[0], rng=lambda: 0.0)
    for _ in range(50):  # slow start: +2 per answer, all within 0.5 s
        now[0] += 0.01
        pacer.on_success()
    assert _rate_events(collected) == []  # less than a second since the start
    now[0] = 1.0
    pacer.on_success()
    (rise,) = _rate_events(collected)
    assert (rise.reason, rise.old, rise.new) == ("rise", 10.0, pacer.rate)
    before = pacer.rate
    pacer.on_throttle(2.0)
    pacer.on_throttle(2.0)  # the same window: no second cut, no event
    cut = _rate_events(collected)[-1]
    assert (cut.reason, cut.old, cut.new) == ("cut", round(before, 3), round(pacer.rate, 3))
    assert len(_rate_events(collected)) == 2
    pacer.set_max_rate(1.0)
    assert _rate_events(collected)[-1].reason == "max_rate"
    pacer.set_max_rate(1.0)  # no change, no event
    assert len(_rate_events(collected)) == 3


def test_the_library_prints_nothing_without_a_configured_handler() -> None:
    import subprocess
    import sys

    code = (
        "from syncer import events; "
        "events.emit(events.Retry(1, 1, 'retry', 503, 'down', 0.1)); "
        "events.emit(events.Aborted('quota', 429, 'quota used'))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert (proc.stdout, proc.stderr) == ("", "")


def test_each_alert_delivery_is_a_notified_event_without_the_url_secret(
    collected: Collect,
) -> None:
    import socket

    from syncer.events import Notified
    from syncer.inbox import alerts

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/ping/secret-token-123"
    problem = alerts.ping(url, "start", timeout_s=2)
    assert problem is not None
    (logged,) = [e for e in map(events.read, collected.records) if e is not None]
    event = logged.event
    assert isinstance(event, Notified)
    assert (event.channel, event.target, event.ok) == (
        "ping start",
        f"http://127.0.0.1:{port}/***",
        False,
    )
    assert event.error and "could not connect" in event.error
    assert "secret-token-123" not in JsonLinesFormatter().format(collected.records[0])
