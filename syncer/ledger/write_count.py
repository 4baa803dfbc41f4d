"""A count of the writes to each (org, target) of the ``synced`` table, kept by SQLite itself.

``synced_writes.n`` goes up by one for every row inserted, updated or deleted in ``synced``,
by triggers in the ledger file: any writer (this syncer, an older one, a hand edit with the
``sqlite3`` shell) bumps it in the same transaction as its write, and no code can forget to.
The snapshot of an org's memory of a target (:mod:`syncer.ledger.snapshot`) is trusted only
while ``n`` is still the count it was written at (``snapshot_n``) and the file's sha256 is the
one recorded with it (``snapshot_sha256``), so a write by anything, a snapshot of another
ledger or an older state, and a torn or corrupt snapshot file all send the run back to the
ledger itself.

Added without a schema version step (older syncers read and write such a ledger as before,
and their writes are counted): created when a ledger is opened (:func:`ensure`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, NamedTuple

#: per (org, target): the writes counted; the count, sha256 and rows of its snapshot, if any
TABLE = """
CREATE TABLE IF NOT EXISTS synced_writes (
    org             TEXT NOT NULL,
    target          TEXT NOT NULL,
    n               INTEGER NOT NULL,
    snapshot_n      INTEGER,
    snapshot_sha256 TEXT,
    snapshot_rows   INTEGER,
    PRIMARY KEY (org, target)
) WITHOUT ROWID
"""

_BUMP = """INSERT INTO synced_writes (org, target, n) VALUES ({row}.org, {row}.target, 1)
    ON CONFLICT (org, target) DO UPDATE SET n = n + 1;"""

#: trigger name -> its SQL: every kind of write to ``synced`` counts (an update that moves a
#: row to another org or target counts for both)
TRIGGERS = {
    "synced_writes_insert": f"AFTER INSERT ON synced BEGIN {_BUMP.format(row='NEW')} END",
    "synced_writes_update": f"AFTER UPDATE ON synced BEGIN {_BUMP.format(row='NEW')} END",
    "synced_writes_move": (
        "AFTER UPDATE OF org, target ON synced "
        "WHEN OLD.org IS NOT NEW.org OR OLD.target IS NOT NEW.target "
        f"BEGIN {_BUMP.format(row='OLD')} END"
    ),
    "synced_writes_delete": f"AFTER DELETE ON synced BEGIN {_BUMP.format(row='OLD')} END",
}

#: the statements that add the count to a ledger (each idempotent)
STATEMENTS = [
    TABLE,
    *(f"CREATE TRIGGER IF NOT EXISTS {name} {sql}" for name, sql in TRIGGERS.items()),
]


def present(db: sqlite3.Connection) -> bool:
    """True when the ledger has the table and every trigger (a ledger made by an older
    syncer, or one whose triggers were dropped by hand, has not)."""
    names = ("synced_writes", *TRIGGERS)
    marks = ",".join("?" * len(names))
    row = db.execute(
        f"SELECT count(*) FROM sqlite_master WHERE name IN ({marks})"
        " AND type IN ('table', 'trigger')",
        names,
    ).fetchone()
    return int(row[0]) == len(names)


def ensure(db: sqlite3.Connection) -> None:
    """Add the table and triggers where missing (inside the caller's write transaction).

    Where some were missing, writes may have gone uncounted: every snapshot recorded is
    forgotten (a trigger dropped by hand, a write, the trigger back: the count alone would
    still match)."""
    if present(db):
        return
    for statement in STATEMENTS:
        db.execute(statement)
    db.execute("UPDATE synced_writes SET snapshot_n = NULL, snapshot_sha256 = NULL")


class WriteCount(NamedTuple):
    """``synced_writes``' row of one (org, target)."""

    n: int
    snapshot_n: int | None
    snapshot_sha256: str | None
    snapshot_rows: int | None

    @property
    def snapshot_current(self) -> bool:
        """True when a snapshot was recorded at the current count (no write since)."""
        return self.snapshot_n is not None and self.snapshot_n == self.n


def read(db: sqlite3.Connection, org: str, target: str) -> WriteCount | None:
    """The count of ``target``'s writes for ``org``; None without the table and triggers.

    A ledger with them but no row for the pair has had no write to it since they were added:
    its count is 0."""
    if not present(db):
        return None
    row = db.execute(
        "SELECT n, snapshot_n, snapshot_sha256, snapshot_rows FROM synced_writes "
        "WHERE org=? AND target=?",
        (org, target),
    ).fetchone()
    return WriteCount(*row) if row else WriteCount(0, None, None, None)


def record_snapshot(
    db: sqlite3.Connection, org: str, target: str, n: int, sha256: str | None, rows: int
) -> bool:
    """Record the snapshot written at count ``n`` (``sha256`` None: none is kept), in the
    caller's write transaction, only if the count is still ``n``; returns whether it was."""
    db.execute(
        "INSERT INTO synced_writes (org, target, n) VALUES (?, ?, 0) ON CONFLICT DO NOTHING",
        (org, target),
    )
    cur = db.execute(
        "UPDATE synced_writes SET snapshot_n = n, snapshot_sha256 = ?, snapshot_rows = ? "
        "WHERE org = ? AND target = ? AND n = ?",
        (sha256, rows, org, target, n),
    )
    return cur.rowcount == 1


#: a chain of more keys is dropped (reading the whole target again is as cheap as merging)
CHAIN_KEYS = 100_000


@dataclass(slots=True)
class Chain:
    """The writes one :class:`~syncer.ledger.Ledger` made to an (org, target) with no other
    write between them: the count before the first (``start``) and after the last (``end``),
    and the keys written. When the count is still ``end`` and a snapshot was recorded at
    ``start``, that snapshot with these keys read again is the target now."""

    start: int
    end: int
    keys: set[str]


def track(
    db: sqlite3.Connection, chains: dict[tuple[str, str], Chain | None], rows: list[Any]
) -> None:
    """Extend ``chains`` by ``rows`` (upserts into ``synced``: org, target and key first, each
    counted once by a trigger), called in the write transaction just before they are written.
    A pair whose count moved since its chain's end (another writer) gets None: no chain."""
    by_pair: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        by_pair.setdefault((row[0], row[1]), []).append(row[2])
    for pair, keys in by_pair.items():
        if pair in chains and chains[pair] is None:
            continue
        try:
            got = db.execute(
                "SELECT n FROM synced_writes WHERE org=? AND target=?", pair
            ).fetchone()
        except sqlite3.OperationalError:  # no count in this ledger
            chains[pair] = None
            continue
        n = int(got[0]) if got else 0
        chain = chains.get(pair)
        if chain is None:
            chain = chains[pair] = Chain(n, n, set())
        if chain.end != n:
            chains[pair] = None
            continue
        chain.end = n + len(keys)
        chain.keys.update(keys)
        if len(chain.keys) > CHAIN_KEYS:
            chains[pair] = None
