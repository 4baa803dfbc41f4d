"""What an inbox run did: one :class:`FileReport` per file seen, one :class:`InboxReport` per run.

Statuses and keys are a contract (``syncer inbox --json``, the ``--webhook`` body).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FileStatus(StrEnum):
    """What happened to one file of the inbox."""

    DONE = "done"  # every row succeeded, unchanged or duplicate
    PARTIAL = "partial"  # some rows to fix (invalid, failed, not attempted)
    FAILED = "failed"  # unusable: unreadable, bad mapping (exit 2 for that file)
    ABORTED = "aborted"  # Reevo stopped the run (key, quota, breaker): stays in the inbox
    SKIPPED_DUPLICATE = "skipped_duplicate"  # this content was already imported
    NOT_READY = "not_ready"  # too young, still changing, or waiting for its ready marker
    UNROUTED = "unrouted"  # no --route matches its name: left in place
    READY = "ready"  # --dry-run: would be imported
    INTERRUPTED = "interrupted"  # Ctrl-C / SIGTERM during its import: stays in the inbox


class InboxStatus(StrEnum):
    """The run as a whole."""

    OK = "ok"
    BUSY = "busy"  # another inbox run holds the lock (exit 0)
    STUCK = "stuck"  # ... and has held it longer than --max-runtime (exit 4)
    MISSING = "missing"  # no new file processed today by --expect-by (exit 5)


#: the row counts every file report carries (always all present)
ROW_KEYS = ("rows", "succeeded", "unchanged", "duplicate", "invalid", "failed", "not_attempted")


@dataclass
class FileReport:
    """One file of the inbox and what happened to it."""

    name: str
    status: FileStatus
    sha256: str | None = None
    counts: dict[str, int] = field(default_factory=dict)  # ROW_KEYS
    requests: int = 0
    results: str | None = None
    failures: str | None = None
    archived: str | None = None
    error: str | None = None
    exit_code: int = 0
    run_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The ``files[]`` entry of ``--json``."""
        return {
            "name": self.name,
            "sha256": self.sha256,
            "status": self.status.value,
            **{k: self.counts.get(k, 0) for k in ROW_KEYS},
            "requests": self.requests,
            "results": self.results,
            "failures": self.failures,
            "archived": self.archived,
            "error": self.error,
        }


@dataclass
class InboxReport:
    """One ``syncer inbox`` run."""

    inbox: str
    status: InboxStatus = InboxStatus.OK
    files: list[FileReport] = field(default_factory=list)
    exit_code: int = 0
    run_id: int | None = None
    dry_run: bool = False
    message: str | None = None  # busy / stuck / missing: who holds the lock, since when...
    events: list[str] = field(default_factory=list)  # alert events that happened
    notify_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    report: str | None = None  # the run's HTML report (one section per file)
    unreachable: bool = False  # a remote inbox's store stopped answering (exit 3; message)

    def count(self, *statuses: FileStatus) -> int:
        """Files with one of ``statuses``."""
        return sum(f.status in statuses for f in self.files)

    @property
    def requests(self) -> int:
        """HTTP requests made over every file."""
        return sum(f.requests for f in self.files)

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` object (the ``--webhook`` body adds ``event``)."""
        return {
            "command": "inbox",
            "inbox": self.inbox,
            "status": self.status.value,
            "files": [f.as_json() for f in self.files],
            "processed": self.count(
                FileStatus.DONE, FileStatus.PARTIAL, FileStatus.FAILED, FileStatus.ABORTED
            ),
            "skipped_duplicate": self.count(FileStatus.SKIPPED_DUPLICATE),
            "not_ready": self.count(FileStatus.NOT_READY),
            "unrouted": self.count(FileStatus.UNROUTED),
            "requests": self.requests,
            "exit_code": self.exit_code,
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "events": self.events,
            "notify_errors": self.notify_errors,
            "report": self.report,
        }
