"""The ``synced`` table: what the ledger remembers per (org, target, key): one row
(:class:`SyncedRow`), many as a frame (:func:`read_synced`), and the upsert that records them."""

from __future__ import annotations

import json
import operator
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import polars as pl

#: the ids ``synced`` has a column for (account_contact's): their ``ids`` JSON is built from the
#: columns in SQL (:data:`IDS_FROM_COLUMNS`)
ID_COLUMNS = frozenset({"contact_id", "account_id"})


def id_sql(name: str) -> str:
    """SQL for the id ``name`` of a ``synced`` row: its column, else its member of ``ids``."""
    if name in ID_COLUMNS:
        return name
    if not name.isidentifier():
        raise ValueError(f"not an id name: {name!r}")
    return f"json_extract(ids, '$.{name}')"


#: SQL: the ``ids`` JSON of a contact id and an account id (NULL when both are; json_patch drops
#: a null member). Built in SQLite, not with json.dumps per row: the ledger records every row.
IDS_FROM_COLUMNS = (
    "NULLIF(json_patch('{{}}', json_object('account_id', {account}, 'contact_id', {contact})), "
    "'{{}}')"
)
_IDS_5_6 = IDS_FROM_COLUMNS.format(contact="?5", account="?6")

#: one buffered outcome into ``synced`` (parameters as Ledger.record buffers them; ?7: explicit
#: ids JSON, else built from ?5/?6)
UPSERT_SYNCED = f"""
INSERT INTO synced (org, target, key, body_sha256, contact_id, account_id,
                    ids, last_status, last_error, run_id, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, COALESCE(?7, {_IDS_5_6}), ?8, ?9, ?10, ?11)
ON CONFLICT (org, target, key) DO UPDATE SET
    body_sha256 = COALESCE(excluded.body_sha256, synced.body_sha256),
    contact_id  = COALESCE(excluded.contact_id, synced.contact_id),
    account_id  = COALESCE(excluded.account_id, synced.account_id),
    ids         = CASE WHEN excluded.ids IS NULL THEN synced.ids
                       ELSE json_patch(COALESCE(synced.ids, '{{}}'), excluded.ids)
                  END,
    last_status = excluded.last_status,
    last_error  = excluded.last_error,
    run_id      = CASE WHEN excluded.body_sha256 IS NULL THEN synced.run_id
                       ELSE excluded.run_id END,
    updated_at  = excluded.updated_at
"""


#: the columns of :meth:`Ledger.synced_frame` (before the ids it is asked for)
_SYNCED_SCHEMA: dict[str, Any] = {
    "key": pl.String,
    "body_sha256": pl.String,
    "run_id": pl.Int64,
    "updated_at": pl.String,
}


#: from this many keys on, :meth:`Ledger.synced_frame` reads the whole target (looking keys up
#: costs ~5 µs each; reading a row ~2 µs, but also the rows of keys not asked for)
SCAN_FROM = 20_000


def read_synced(
    db: sqlite3.Connection,
    org: str,
    target: str,
    id_names: Iterable[str] = (),
    *,
    keys: pl.Series | None = None,
    give_up: Callable[[int], bool] | None = None,
) -> pl.DataFrame | None:
    """:meth:`Ledger.synced_frame`'s columns for ``keys`` (looked up in batches), or for every
    key of ``target`` (read in chunks; None once ``give_up(rows read)`` says so)."""
    names = list(id_names)
    ids = "".join(f', {id_sql(n)} AS "id:{n}"' for n in names)
    schema = {**_SYNCED_SCHEMA, **{f"id:{n}": pl.String for n in names}}
    select = f"SELECT {', '.join(_SYNCED_SCHEMA)}{ids} FROM synced WHERE org=? AND target=?"
    if keys is not None:
        rows: list[tuple[Any, ...]] = []
        for batch in iter_chunks(keys.unique().to_list(), 900):
            marks = ",".join("?" * len(batch))
            rows.extend(db.execute(f"{select} AND key IN ({marks})", (org, target, *batch)))
        return pl.DataFrame(rows, schema=schema, orient="row")
    cur = db.execute(select, (org, target))
    parts: list[pl.DataFrame] = []
    rows_read = 0
    while chunk := cur.fetchmany(50_000):
        parts.append(pl.DataFrame(chunk, schema=schema, orient="row"))
        rows_read += len(chunk)
        if len(chunk) == 50_000 and give_up is not None and give_up(rows_read):
            cur.close()
            return None
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


class SyncedRow(NamedTuple):
    """What the ledger remembers about one key (a tuple: built ~4x faster than a dataclass,
    which matters when a 1M-row re-run looks up every key)."""

    key: str
    body_sha256: str | None
    contact_id: str | None
    account_id: str | None
    last_status: str
    run_id: int | None
    updated_at: str
    ids_json: str | None = None  # every id Reevo gave the key, as JSON (see ids())

    def ids(self) -> dict[str, str]:
        """The ids Reevo gave this key, by name (``contact_id``, ``account_id``...)."""
        return dict(json.loads(self.ids_json)) if self.ids_json else {}

    def get_id(self, name: str) -> str | None:
        """One id by name (see :meth:`id_getter`)."""
        return SyncedRow.id_getter(name)(self)

    @staticmethod
    def id_getter(name: str) -> Callable[[SyncedRow], str | None]:
        """A function reading one id by name from a row: its column when ``synced`` has one
        (no JSON to read: a 1M-row re-run reads one per unchanged row), else :meth:`ids`."""
        if name in ID_COLUMNS:
            return operator.attrgetter(name)
        return lambda row: row.ids().get(name)


def iter_chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Yield lists of at most ``size`` items."""
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
