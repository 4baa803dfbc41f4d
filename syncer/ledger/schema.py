"""The ledger's tables and their versions.

Schema version: ``meta.schema_version`` (:data:`SCHEMA_VERSION`) covers the whole file, the
inbox registry's tables (syncer.registry) included. Opening a ledger reads it: an older ledger is
migrated in place, one step per version (:data:`MIGRATIONS`), inside one write transaction (a
second process opening it at the same time waits, then finds it done); a ledger from a NEWER
syncer is refused (:class:`LedgerTooNew`, exit 2), never downgraded. Versions:

1. syncer 0.1.0: ``runs`` (``kept_results``/``kept_failures`` were added to it later, still
   as version 1), ``synced`` with ``contact_id``/``account_id``, ``org_links``, ``meta``. Its
   ``schema_version`` was written but never read.
2. ``synced.ids``: the ids Reevo gave the key as one JSON object, e.g.
   ``{"contact_id": ..., "account_id": ...}``, keyed by the names of the target's id columns
   (:mod:`syncer.targets`; ``opportunity_id``... for later targets). Migrating fills it from
   ``contact_id``/``account_id``.
   Both are written from then on: ``ids`` is where every target's ids live, and the two
   columns stay filled for ``account_contact`` so syncer 0.1.0, which does not check the
   version, still reads and writes a migrated ledger correctly (``contact_id``/``account_id``
   are what :class:`SyncedRow` reports for them). A new id merges into ``ids`` (JSON merge
   patch); an outcome without ids keeps the ones remembered.
3. ``runs.parent_run`` (the run whose results file a ``syncer retry`` read), ``runs.retries``
   and ``runs.throttled`` (requests repeated, 429 answers) and ``runs.retry_at`` (UTC ISO time
   Reevo named for a quota reset). Older runs keep them NULL.

A table added without a version step: ``accepted_rates`` (the request rate each org last
accepted per endpoint, :meth:`Ledger.accepted_rate`), created by its first write; a ledger
without it remembers no rate.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from syncer.errors import LedgerTooNew
from syncer.ledger.rates import RATES_TABLE
from syncer.ledger.synced import IDS_FROM_COLUMNS

#: the ledger layout this code reads and writes (see the module docstring for each version)
SCHEMA_VERSION = 3

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id            INTEGER PRIMARY KEY,
    org           TEXT NOT NULL,
    base_url      TEXT NOT NULL,
    target        TEXT NOT NULL,
    source        TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    mapping       TEXT NOT NULL,
    mapping_sha256 TEXT NOT NULL,
    command       TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    outcome       TEXT NOT NULL DEFAULT 'running',
    exit_code     INTEGER,
    rows          INTEGER,
    counts        TEXT,
    requests      INTEGER,
    message       TEXT,
    results_path  TEXT,
    failures_path TEXT,
    kept_results  TEXT,
    kept_failures TEXT,
    parent_run    INTEGER,
    retries       INTEGER,
    throttled     INTEGER,
    retry_at      TEXT
);
CREATE TABLE IF NOT EXISTS synced (
    org         TEXT NOT NULL,
    target      TEXT NOT NULL,
    key         TEXT NOT NULL,
    body_sha256 TEXT,
    contact_id  TEXT,
    account_id  TEXT,
    ids         TEXT,
    last_status TEXT NOT NULL,
    last_error  TEXT,
    run_id      INTEGER,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (org, target, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS org_links (
    alias      TEXT PRIMARY KEY,
    org        TEXT NOT NULL,
    linked_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_source_sha256 ON runs (org, target, source_sha256);
{RATES_TABLE};
"""


def schema_version(db: sqlite3.Connection) -> int | None:
    """The file's ledger schema version; None for a file with no ledger tables yet."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "meta" in tables:
        row = db.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
        if row is not None:
            try:
                return int(row[0])
            except ValueError:
                raise sqlite3.DatabaseError(
                    f"its schema_version {row[0]!r} is not a number"
                ) from None
    return 1 if tables & {"runs", "synced"} else None


def refuse_newer(path: Path, version: int | None) -> None:
    """Raise :class:`LedgerTooNew` for a ledger of a newer syncer."""
    if version is not None and version > SCHEMA_VERSION:
        raise LedgerTooNew(
            f"the ledger {path} was written by a newer syncer (ledger schema version "
            f"{version}; this syncer reads up to {SCHEMA_VERSION}) and is left as it is: "
            "upgrade syncer (pip install --upgrade syncer) to use it, or choose another "
            "ledger with --ledger PATH."
        )


def add_columns(db: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    """``ALTER TABLE table ADD COLUMN`` for each of ``columns`` (name -> type) it lacks."""
    have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    for name, kind in columns.items():
        if name not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def _v1_to_v2(db: sqlite3.Connection) -> None:
    """The runs columns an early version-1 ledger lacks; ``synced.ids``, filled from
    ``contact_id``/``account_id``."""
    add_columns(db, "runs", {"kept_results": "TEXT", "kept_failures": "TEXT"})
    add_columns(db, "synced", {"ids": "TEXT"})
    ids = IDS_FROM_COLUMNS.format(contact="contact_id", account="account_id")
    db.execute(f"UPDATE synced SET ids = {ids}")


def _v2_to_v3(db: sqlite3.Connection) -> None:
    """``runs.parent_run``, ``retries``, ``throttled``, ``retry_at`` (NULL for older runs)."""
    add_columns(
        db,
        "runs",
        {"parent_run": "INTEGER", "retries": "INTEGER", "throttled": "INTEGER", "retry_at": "TEXT"},
    )


#: schema version N -> the step that makes a version-N ledger version N + 1 (in one transaction)
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3}
