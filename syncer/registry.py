"""The inbox's file registry and run history, kept in the ledger's database.

Files are keyed by the sha256 of their content (per org and target): a name can repeat and an
mtime can lie, content cannot. A file whose content finished (``done`` or ``partial``) is never
imported again; the same name with new content is a new file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from syncer.ledger import Ledger, now_iso, pid_alive

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    org          TEXT NOT NULL,
    target       TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    name         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    inbox        TEXT NOT NULL,
    status       TEXT NOT NULL,
    counts       TEXT,
    run_id       INTEGER,
    inbox_run    INTEGER,
    results_path TEXT,
    failures_path TEXT,
    archive_path TEXT,
    error        TEXT,
    first_seen   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (org, target, sha256)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox_runs (
    id          INTEGER PRIMARY KEY,
    inbox       TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    command     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL DEFAULT 'running',
    exit_code   INTEGER,
    report      TEXT
);
CREATE INDEX IF NOT EXISTS files_inbox_updated ON files (inbox, updated_at);
"""

#: file statuses whose content is finished: the same content again is a duplicate
FINISHED = ("done", "partial")


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What the registry remembers about one file content."""

    sha256: str
    name: str
    status: str
    run_id: int | None
    inbox_run: int | None
    archive_path: str | None
    updated_at: str


@dataclass(frozen=True, slots=True)
class InboxRunRecord:
    """One ``syncer inbox`` run."""

    id: int
    inbox: str
    pid: int
    started_at: str
    finished_at: str | None
    status: str
    exit_code: int | None
    report: dict[str, Any]

    @property
    def display_status(self) -> str:
        """'interrupted' for a run still marked running whose process is gone (killed)."""
        if self.status == "running" and not pid_alive(self.pid):
            return "interrupted"
        return self.status


class Registry:
    """The file registry and inbox runs of one ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._db = ledger.connection
        self._db.executescript(_SCHEMA)

    # -- files --------------------------------------------------------------------
    def file(self, org: str, target: str, sha256: str) -> FileRecord | None:
        """The registry's memory of this content, if any."""
        row = self._db.execute(
            "SELECT sha256, name, status, run_id, inbox_run, archive_path, updated_at FROM files "
            "WHERE org=? AND target=? AND sha256=?",
            (org, target, sha256),
        ).fetchone()
        return FileRecord(*row) if row else None

    def record_file(
        self,
        *,
        org: str,
        target: str,
        sha256: str,
        name: str,
        size: int,
        inbox: str,
        status: str,
        inbox_run: int | None,
        run_id: int | None = None,
        counts: dict[str, int] | None = None,
        results: str | None = None,
        failures: str | None = None,
        archive: str | None = None,
        error: str | None = None,
    ) -> None:
        """Insert or update one file's outcome (committed before the file is moved)."""
        now = now_iso()
        with self.ledger.transaction():
            self._db.execute(
                """INSERT INTO files (org, target, sha256, name, size, inbox, status, counts,
                       run_id, inbox_run, results_path, failures_path, archive_path, error,
                       first_seen, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (org, target, sha256) DO UPDATE SET
                       name=excluded.name, size=excluded.size, inbox=excluded.inbox,
                       status=excluded.status, counts=excluded.counts, run_id=excluded.run_id,
                       inbox_run=excluded.inbox_run, results_path=excluded.results_path,
                       failures_path=excluded.failures_path,
                       archive_path=COALESCE(excluded.archive_path, files.archive_path),
                       error=excluded.error, updated_at=excluded.updated_at""",
                (
                    org,
                    target,
                    sha256,
                    name,
                    size,
                    inbox,
                    status,
                    json.dumps(counts) if counts is not None else None,
                    run_id,
                    inbox_run,
                    results,
                    failures,
                    archive,
                    error,
                    now,
                    now,
                ),
            )

    def set_archived(self, org: str, target: str, sha256: str, archive: str) -> None:
        """Remember where a file was moved."""
        with self.ledger.transaction():
            self._db.execute(
                "UPDATE files SET archive_path=?, updated_at=? WHERE org=? AND target=? "
                "AND sha256=?",
                (archive, now_iso(), org, target, sha256),
            )

    def processed_since(self, inbox: str, since_iso: str) -> int:
        """Files of ``inbox`` imported (done, partial, failed, aborted) since ``since_iso``."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM files WHERE inbox=? AND updated_at >= ? AND status IN "
            "('done', 'partial', 'failed', 'aborted')",
            (inbox, since_iso),
        ).fetchone()
        return int(row[0])

    # -- inbox runs -----------------------------------------------------------------
    def start_inbox_run(self, inbox: str, command: str) -> int:
        """Record the start of an inbox run and return its id."""
        with self.ledger.transaction():
            cur = self._db.execute(
                "INSERT INTO inbox_runs (inbox, pid, command, started_at) VALUES (?, ?, ?, ?)",
                (inbox, os.getpid(), command, now_iso()),
            )
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    def finish_inbox_run(
        self, run_id: int, *, status: str, exit_code: int, report: dict[str, Any]
    ) -> None:
        """Record how an inbox run ended, with its ``--json`` report."""
        with self.ledger.transaction():
            self._db.execute(
                "UPDATE inbox_runs SET finished_at=?, status=?, exit_code=?, report=? WHERE id=?",
                (now_iso(), status, exit_code, json.dumps(report, default=str), run_id),
            )

    def last_inbox_run(self, inbox: str, before: int | None = None) -> InboxRunRecord | None:
        """The newest finished run of ``inbox`` (before run ``before``)."""
        row = self._db.execute(
            f"{_INBOX_SELECT} WHERE inbox=? AND finished_at IS NOT NULL AND id < ? "
            "ORDER BY id DESC LIMIT 1",
            (inbox, before if before is not None else 1 << 62),
        ).fetchone()
        return _inbox_record(row) if row else None

    def inbox_runs(self, limit: int = 20) -> list[InboxRunRecord]:
        """The most recent inbox runs, newest first."""
        cur = self._db.execute(f"{_INBOX_SELECT} ORDER BY id DESC LIMIT ?", (limit,))
        return [_inbox_record(row) for row in cur]

    def meta_flag(self, name: str) -> bool:
        """Set ``name`` in the meta table; True if it was not set before (once-a-day alerts)."""
        with self.ledger.transaction():
            cur = self._db.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)", (name, now_iso())
            )
        return cur.rowcount == 1


_INBOX_SELECT = (
    "SELECT id, inbox, pid, started_at, finished_at, status, exit_code, report FROM inbox_runs"
)


def _inbox_record(row: tuple[Any, ...]) -> InboxRunRecord:
    values = list(row)
    values[7] = json.loads(values[7]) if values[7] else {}
    return InboxRunRecord(*values)
