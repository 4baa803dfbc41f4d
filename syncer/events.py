"""Typed run events, sent through the standard :mod:`logging` hierarchy.

Every event is a frozen dataclass (:class:`RunStarted`, :class:`Retry`, :class:`Throttled`...).
:func:`emit` logs it on its logger (``syncer.run``, ``syncer.push``, ``syncer.pacing``,
``syncer.inbox``) with a readable message and, in ``extra=``, ``event`` (its name),
``fields`` (its fields as a JSON-able dict) and ``syncer_event`` (the dataclass itself). So any
:class:`logging.Handler` consumes them; :func:`read` gives a record's event back typed (or
None for a record that is not one), :func:`read_line` does the same for a line written by
:class:`JsonLinesFormatter`.

Emitting is observation only: it reads the values it is given and never changes run state.
The library installs no handler and never prints; without one attached, an event costs one
``isEnabledFor`` check. No event carries the API key (settings are passed field by field).

A library user::

    logging.getLogger("syncer").addHandler(handler)  # all events
    logging.getLogger("syncer").setLevel(logging.INFO)
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

#: the root of syncer's loggers
ROOT = "syncer"
# a library's only handler (logging HOWTO): with none configured, Python's last-resort handler
# would print WARNING events to stderr
logging.getLogger(ROOT).addHandler(logging.NullHandler())


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event: ``name`` (stable, in the JSON lines), ``logger`` and ``level``."""

    name: ClassVar[str] = "event"
    logger: ClassVar[str] = ROOT
    level: ClassVar[int] = logging.INFO

    def message(self) -> str:
        """One readable line (what ``-v`` shows)."""
        return self.name

    def fields(self) -> dict[str, Any]:
        """The event's fields, JSON-able (a deep copy: a handler may change it freely)."""
        return dataclasses.asdict(self)


# -- a run (syncer.run) ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RunStarted(Event):
    """A run began sending (after the lock and the ledger's run row)."""

    name: ClassVar[str] = "run_started"
    logger: ClassVar[str] = "syncer.run"

    run_id: int | None
    command: str
    source: str
    mapping: str
    target: str
    base_url: str
    org: str
    rows: int  # ready rows to consider
    settings: dict[str, Any]  # concurrency, max_rate, timeout_s, ... (never the key)

    def message(self) -> str:
        run = f"run #{self.run_id}" if self.run_id is not None else "run"
        return (
            f"{run} started: {self.source} -> {self.target} at {self.base_url} ({self.rows} rows)"
        )


@dataclass(frozen=True, slots=True)
class Preflight(Event):
    """The checks before the first row: ``ok`` or the error that stopped the run."""

    name: ClassVar[str] = "preflight"
    logger: ClassVar[str] = "syncer.run"

    ok: bool
    notes: list[str]
    error: str | None = None

    def message(self) -> str:
        if not self.ok:
            return f"preflight failed: {self.error}"
        return "preflight ok" + "".join(f"; {n}" for n in self.notes)


@dataclass(frozen=True, slots=True)
class Aborted(Event):
    """The run stopped early: Reevo refused it (401/403/quota), the retry budget or the
    circuit breaker (``reason``)."""

    name: ClassVar[str] = "aborted"
    logger: ClassVar[str] = "syncer.run"
    level: ClassVar[int] = logging.ERROR

    reason: str
    status: int | None
    error: str
    retry_after_s: float | None = None

    def message(self) -> str:
        return f"run aborted ({self.reason}): {self.error}"


@dataclass(frozen=True, slots=True)
class Interrupted(Event):
    """Ctrl-C / SIGTERM stopped the run."""

    name: ClassVar[str] = "interrupted"
    logger: ClassVar[str] = "syncer.run"
    level: ClassVar[int] = logging.WARNING

    reason: str

    def message(self) -> str:
        return f"run interrupted ({self.reason})"


@dataclass(frozen=True, slots=True)
class RunFinished(Event):
    """A run ended (results written, ledger updated)."""

    name: ClassVar[str] = "run_finished"
    logger: ClassVar[str] = "syncer.run"

    run_id: int | None
    outcome: str  # finished / aborted / interrupted / dry_run
    exit_code: int
    rows: int
    counts: dict[str, int]
    requests: int
    retries: int
    throttled: int
    elapsed_s: float
    results: str | None
    failures: str | None

    def message(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts.items() if n) or "no rows"
        run = f"run #{self.run_id}" if self.run_id is not None else "run"
        return (
            f"{run} {self.outcome} (exit {self.exit_code}): {counts}; {self.requests} requests, "
            f"{self.retries} retries, {self.throttled} throttled, {self.elapsed_s:.1f} s"
        )


@dataclass(frozen=True, slots=True)
class Failed(Event):
    """A command ended on an error before or instead of a run's own end (the CLI logs it)."""

    name: ClassVar[str] = "failed"
    logger: ClassVar[str] = "syncer.cli"
    level: ClassVar[int] = logging.ERROR

    exit_code: int
    code: str  # the --json error code, e.g. locked, config, usage
    error: str

    def message(self) -> str:
        return f"exit {self.exit_code} ({self.code}): {self.error}"


# -- the worker pool (syncer.push) and the pacer (syncer.pacing) -------------------------------
@dataclass(frozen=True, slots=True)
class Retry(Event):
    """One row is sent again after ``delay_s`` (one event per retry)."""

    name: ClassVar[str] = "retry"
    logger: ClassVar[str] = "syncer.push"
    level: ClassVar[int] = logging.WARNING

    row: int
    attempt: int  # the attempt that failed (1-based); the next one is attempt + 1
    reason: str  # "throttled" (after a 429) or "retry" (5xx, timeout, connection)
    status: int | None  # HTTP status, None for a timeout or connection error
    error: str
    delay_s: float

    def message(self) -> str:
        status = self.status if self.status is not None else "no answer"
        return (
            f"row {self.row}: retry in {self.delay_s:.2f} s after attempt {self.attempt} "
            f"({self.reason}, {status}): {self.error}"
        )


@dataclass(frozen=True, slots=True)
class Throttled(Event):
    """Reevo answered 429 (one event per 429 answer)."""

    name: ClassVar[str] = "throttled"
    logger: ClassVar[str] = "syncer.push"
    level: ClassVar[int] = logging.WARNING

    row: int
    attempt: int
    retry_after_s: float | None

    def message(self) -> str:
        after = f"{self.retry_after_s:g} s" if self.retry_after_s is not None else "not given"
        return f"row {self.row}: 429 throttled on attempt {self.attempt} (Retry-After {after})"


@dataclass(frozen=True, slots=True)
class PacerRateChanged(Event):
    """The pacer's target rate moved: ``cut`` after a 429, ``max_rate`` set at run time,
    ``resume`` (it starts near the rate the org last accepted), or ``rise`` (at most once a
    second and after a 5 % move: the rate rises on every answer; ``old`` is then the rate of
    the previous event)."""

    name: ClassVar[str] = "pacer_rate_changed"
    logger: ClassVar[str] = "syncer.pacing"

    old: float
    new: float
    reason: str

    def message(self) -> str:
        return f"pacer rate {self.old:.1f} -> {self.new:.1f} requests/s ({self.reason})"


# -- inbox (syncer.inbox) ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FileMoved(Event):
    """An inbox file (or its marker) was moved to the archive."""

    name: ClassVar[str] = "file_moved"
    logger: ClassVar[str] = "syncer.inbox"

    source: str
    dest: str
    bucket: str  # processed / failed / duplicates

    def message(self) -> str:
        return f"moved {self.source} -> {self.dest} ({self.bucket})"


@dataclass(frozen=True, slots=True)
class Notified(Event):
    """An alert, webhook or ping was sent (``ok``) or could not be (``error``)."""

    name: ClassVar[str] = "notified"
    logger: ClassVar[str] = "syncer.inbox"

    channel: str  # notify / webhook / ping
    target: str  # where to (an URL without its query, or an address)
    ok: bool
    error: str | None = None

    def message(self) -> str:
        if self.ok:
            return f"{self.channel} sent to {self.target}"
        return f"{self.channel} to {self.target} failed: {self.error}"


#: every event type by name (what :func:`read_line` and :func:`read` rebuild)
EVENTS: dict[str, type[Event]] = {
    cls.name: cls
    for cls in (
        RunStarted,
        Preflight,
        Aborted,
        Interrupted,
        RunFinished,
        Failed,
        Retry,
        Throttled,
        PacerRateChanged,
        FileMoved,
        Notified,
    )
}


def emit(event: Event, level: int | None = None) -> None:
    """Log ``event`` on its logger (observation only: nothing else happens)."""
    logger = logging.getLogger(event.logger)
    level = event.level if level is None else level
    if logger.isEnabledFor(level):
        logger.log(
            level,
            event.message(),
            extra={"event": event.name, "fields": event.fields(), "syncer_event": event},
        )


@dataclass(frozen=True, slots=True)
class Logged:
    """One event as logged: when (epoch seconds), at which level, and the typed event."""

    time: float
    level: str
    event: Event

    @property
    def name(self) -> str:
        """The event's name, e.g. ``retry``."""
        return self.event.name

    @property
    def fields(self) -> dict[str, Any]:
        """The event's fields."""
        return self.event.fields()


def read(record: logging.LogRecord) -> Logged | None:
    """The event a log record carries, typed; None for any other record."""
    event = getattr(record, "syncer_event", None)
    if not isinstance(event, Event):
        name, fields = getattr(record, "event", None), getattr(record, "fields", None)
        if not isinstance(name, str) or not isinstance(fields, dict):
            return None
        event = _build(name, fields)
        if event is None:
            return None
    return Logged(record.created, record.levelname, event)


def read_line(line: str) -> Logged | None:
    """The event of one line written by :class:`JsonLinesFormatter`; None for another line."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
        return None
    event = _build(str(data.get("event")), data["fields"])
    if event is None:
        return None
    when = datetime.fromisoformat(str(data["time"])).timestamp()
    return Logged(when, str(data.get("level", "")), event)


def _build(name: str, fields: dict[str, Any]) -> Event | None:
    cls = EVENTS.get(name)
    if cls is None:
        return None
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in fields.items() if k in known})


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (ISO 8601 with the local offset, milliseconds),
    ``level``, ``event`` (``log`` for a record that is no event), ``fields``, and ``message``."""

    def format(self, record: logging.LogRecord) -> str:
        logged = read(record)
        when = datetime.fromtimestamp(record.created).astimezone()
        out: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "event": logged.name if logged else "log",
            "logger": record.name,
            "fields": logged.fields if logged else {},
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["fields"] = {**out["fields"], "traceback": self.formatException(record.exc_info)}
        return json.dumps(out, default=str, ensure_ascii=False)


class ReadableFormatter(logging.Formatter):
    """``14:05:03 WARNING retry: row 12: retry in 0.40 s ...`` (local time)."""

    def format(self, record: logging.LogRecord) -> str:
        logged = read(record)
        when = datetime.fromtimestamp(record.created).astimezone().strftime("%H:%M:%S")
        name = logged.name if logged else record.name
        return f"{when} {record.levelname:<7} {name}: {record.getMessage()}"


__all__ = [
    "EVENTS",
    "ROOT",
    "Aborted",
    "Event",
    "Failed",
    "FileMoved",
    "Interrupted",
    "JsonLinesFormatter",
    "Logged",
    "Notified",
    "PacerRateChanged",
    "Preflight",
    "ReadableFormatter",
    "Retry",
    "RunFinished",
    "RunStarted",
    "Throttled",
    "emit",
    "read",
    "read_line",
]
