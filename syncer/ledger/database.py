"""The SQLite ledger: what syncer already sent to which Reevo org, and the history of runs.

Per org (base URL + a fingerprint of the key, or a label the user chooses) and target it keeps,
for each dedupe key, the hash of the exact request body last accepted by Reevo, the ids Reevo
returned, the last status and when. It stores no row data beyond that, and never the key.

Durability: WAL mode with ``synchronous=NORMAL``; results are buffered and committed by one
writer in small batches (every ``batch_rows`` rows or ``batch_seconds``), so after ``kill -9``
only the last uncommitted batch is sent again on resume.

See :mod:`syncer.ledger.schema` for its tables and versions.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from syncer.errors import ConfigError
from syncer.ledger import snapshot, synced, write_count
from syncer.ledger.identity import file_sha256, now_iso
from syncer.ledger.rates import AcceptedRate, read_rate, write_rate
from syncer.ledger.runs import RUN_SELECT, RunRecord, run_record
from syncer.ledger.schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION, refuse_newer, schema_version
from syncer.ledger.synced import (
    ID_COLUMNS,
    UPSERT_SYNCED,
    SyncedRow,
    id_sql,
    iter_chunks,
    read_synced,
)
from syncer.models import RowOutcome, RowStatus
from syncer.targets import TARGETS


class Ledger:
    """The ledger database. Use as a context manager; one writer per process."""

    def __init__(self, path: Path, *, batch_rows: int = 200, batch_seconds: float = 1.0) -> None:
        self.path = path
        self.batch_rows = batch_rows
        self.batch_seconds = batch_seconds
        self._pending: list[tuple[Any, ...]] = []
        #: this instance's unbroken runs of writes per (org, target), for the snapshot
        self._chains: dict[tuple[str, str], write_count.Chain | None] = {}
        self._last_commit = time.monotonic()
        #: the schema version this open migrated the file from (None: it was current or new)
        self.migrated_from: int | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # a long busy timeout: two processes sharing one ledger wait for each other's short
            # write transactions instead of failing with 'database is locked'
            self._db = sqlite3.connect(str(path), timeout=120, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise _unusable(path, exc) from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._open_schema()
        except (sqlite3.Error, OSError) as exc:
            self._db.close()
            raise _unusable(path, exc) from exc
        except BaseException:
            self._db.close()
            raise

    # -- context management -------------------------------------------------
    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Commit what is pending and close the database."""
        try:
            self.flush()
        finally:
            self._db.close()

    # -- synced rows ----------------------------------------------------------
    def lookup(self, org: str, target: str, keys: Iterable[str]) -> dict[str, SyncedRow]:
        """The ledger's memory of the given keys (missing keys are absent from the result)."""
        out: dict[str, SyncedRow] = {}
        for batch in iter_chunks(keys, 900):
            marks = ",".join("?" * len(batch))
            cur = self._db.execute(
                "SELECT key, body_sha256, contact_id, account_id, last_status, run_id,"
                f" updated_at, ids FROM synced WHERE org=? AND target=? AND key IN ({marks})",
                (org, target, *batch),
            )
            out.update((row[0], SyncedRow._make(row)) for row in cur)
        return out

    def synced_frame(
        self, org: str, target: str, keys: pl.Series, id_names: Iterable[str] = ()
    ) -> pl.DataFrame:
        """What the ledger remembers of ``keys`` (and maybe of other keys of ``target``), a row
        per key: key, body_sha256, run_id, updated_at and an ``id:<name>`` column per name of
        ``id_names`` (the id :meth:`SyncedRow.get_id` reads); :meth:`lookup` has the rest.

        Reads the org's whole ``target`` in one query, a chunk at a time (a re-run of a big
        file knows most of its keys); when that holds many more keys than asked for, or few
        are asked for, looks ``keys`` up in batches instead. The whole target comes from its
        snapshot (:mod:`syncer.ledger.snapshot`) while the ledger vouches for it. Sees what is
        committed (:meth:`flush` first), through a connection of its own."""
        id_names = list(id_names)
        db = sqlite3.connect(str(self.path), timeout=120)
        try:
            if len(keys) >= synced.SCAN_FROM:
                kept = snapshot.read(db, self.path, org, target, id_names, max_rows=4 * len(keys))
                if kept is not None:
                    return kept
                whole = read_synced(db, org, target, id_names, give_up=lambda n: n > 4 * len(keys))
                if whole is not None:
                    return whole
            some = read_synced(db, org, target, id_names, keys=keys)
            assert some is not None  # keys given: never given up
            return some
        finally:
            db.close()

    def record(
        self,
        org: str,
        target: str,
        run_id: int,
        key: str,
        sent_hash: str,
        outcome: RowOutcome,
        ids: Mapping[str, str] | None = None,
    ) -> None:
        """Buffer one pushed row's outcome; committed in batches by :meth:`maybe_flush`.

        A success stores the body hash (so the same body is not sent again); a failure keeps
        the hash of the last success, so a later identical body is still re-sent. ``ids``
        (default: the outcome's, ``RowOutcome.ids``) are merged into the key's; an outcome with
        none keeps the key's ids.
        """
        ok = outcome.status == RowStatus.SUCCEEDED
        if ids is None and not outcome.ids.keys() <= ID_COLUMNS:
            ids = outcome.ids  # ids the two columns cannot hold: written as JSON
        self._pending.append(
            (
                org,
                target,
                key,
                sent_hash if ok else None,
                outcome.contact_id,
                outcome.account_id,
                json.dumps(dict(ids), sort_keys=True) if ids else None,  # None: from the ids
                outcome.status.value,
                outcome.error or None,
                run_id,
                now_iso(),
            )
        )
        self.maybe_flush()

    def keep(
        self,
        org: str,
        target: str,
        run_id: int | None,
        key: str,
        ids: Mapping[str, str],
        *,
        status: str = RowStatus.SUCCEEDED.value,
        now: bool = False,
    ) -> None:
        """Buffer ids Reevo gave a key, with no body hash (so an import of that target later
        updates it instead of creating it again): an object a row created besides its own
        (e.g. the account an opportunity's lookup created, ``succeeded``), or the id a row's
        create just got while its other requests still run (``status="in_progress"``,
        ``now``: committed at once, so a crash right after the create cannot lose it)."""
        self._pending.append(
            (
                org,
                target,
                key,
                None,
                ids.get("contact_id") or None,
                ids.get("account_id") or None,
                json.dumps(dict(ids), sort_keys=True),
                status,
                None,
                run_id,
                now_iso(),
            )
        )
        if now:
            self.flush()
        else:
            self.maybe_flush()

    def owner(self, org: str, target: str, id_name: str, id_: str) -> str | None:
        """The key of ``target`` whose remembered ``id_name`` is ``id_`` (None: no key)."""
        self.flush()
        where = id_sql(id_name)
        if id_name in ID_COLUMNS:
            where = f"({where} = ?3 OR json_extract(ids, '$.{id_name}') = ?3)"
        else:
            where = f"{where} = ?3"
        row = self._db.execute(
            f"SELECT key FROM synced WHERE org = ?1 AND target = ?2 AND {where} LIMIT 1",
            (org, target, id_),
        ).fetchone()
        return str(row[0]) if row else None

    def maybe_flush(self) -> None:
        """Commit the buffer when it is big or old enough."""
        if self._pending and (
            len(self._pending) >= self.batch_rows
            or time.monotonic() - self._last_commit >= self.batch_seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Commit every buffered outcome in one transaction."""
        if not self._pending:
            self._last_commit = time.monotonic()
            return
        rows, self._pending = self._pending, []
        with self._transaction():
            write_count.track(self._db, self._chains, rows)
            self._db.executemany(UPSERT_SYNCED, rows)
        self._last_commit = time.monotonic()

    # -- runs -------------------------------------------------------------------
    def start_run(
        self,
        *,
        org: str,
        base_url: str,
        target: str,
        source: Path | str,
        mapping: Path | None,
        command: str,
        source_sha256: str | None = None,
        parent_run: int | None = None,
    ) -> int:
        """Record the start of a run and return its id (``source``: a local file, or a remote
        SOURCE's URL, stored as given; ``source_sha256``: when known; ``parent_run``: the run
        whose results file this one retries)."""
        if source_sha256 is None:
            source_sha256 = (
                file_sha256(source) if isinstance(source, Path) and source.is_file() else ""
            )
        mapping_text = str(mapping.resolve()) if mapping else ""
        mapping_sum = file_sha256(mapping) if mapping and mapping.is_file() else ""
        with self._transaction():
            cur = self._db.execute(
                """INSERT INTO runs (org, base_url, target, source, source_sha256, mapping,
                                     mapping_sha256, command, pid, started_at, parent_run)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    org,
                    base_url,
                    target,
                    str(source.resolve()) if isinstance(source, Path) else source,
                    source_sha256,
                    mapping_text,
                    mapping_sum,
                    command,
                    os.getpid(),
                    now_iso(),
                    parent_run,
                ),
            )
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    def finish_run(
        self,
        run_id: int,
        *,
        outcome: str,
        exit_code: int,
        rows: int,
        counts: dict[str, int],
        requests: int,
        message: str | None,
        results_path: Path | None,
        failures_path: Path | None,
        kept_results: Path | None = None,
        kept_failures: Path | None = None,
        retries: int | None = None,
        throttled: int | None = None,
        retry_at: str | None = None,
        key_order: pl.Series | None = None,
    ) -> None:
        """Record how a run ended (commits pending outcomes first). ``key_order``: the run's
        keys in the order of its file, for the target's snapshot (:func:`snapshot.refresh`)."""
        self.flush()
        with self._transaction():
            self._db.execute(
                """UPDATE runs SET finished_at=?, outcome=?, exit_code=?, rows=?, counts=?,
                                   requests=?, message=?, results_path=?, failures_path=?,
                                   kept_results=?, kept_failures=?, retries=?, throttled=?,
                                   retry_at=?
                   WHERE id=?""",
                (
                    now_iso(),
                    outcome,
                    exit_code,
                    rows,
                    json.dumps(counts),
                    requests,
                    message,
                    str(results_path) if results_path else None,
                    str(failures_path) if failures_path else None,
                    str(kept_results) if kept_results else None,
                    str(kept_failures) if kept_failures else None,
                    retries,
                    throttled,
                    retry_at,
                    run_id,
                ),
            )
        self._refresh_snapshot(run_id, key_order)

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The most recent runs, newest first."""
        cur = self._db.execute(f"{RUN_SELECT} ORDER BY id DESC LIMIT ?", (limit,))
        return [run_record(row) for row in cur]

    def run(self, run_id: int) -> RunRecord | None:
        """One run by id."""
        row = self._db.execute(f"{RUN_SELECT} WHERE id=?", (run_id,)).fetchone()
        return run_record(row) if row else None

    def latest_run_id(self) -> int | None:
        """The id of the newest run, or None when none is recorded."""
        row = self._db.execute("SELECT MAX(id) FROM runs").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def retries_of(self, run_id: int) -> list[int]:
        """The ids of the runs that retried ``run_id``'s results file, oldest first."""
        cur = self._db.execute("SELECT id FROM runs WHERE parent_run=? ORDER BY id", (run_id,))
        return [int(row[0]) for row in cur]

    def run_for_results(self, path: Path) -> RunRecord | None:
        """The newest run that wrote ``path`` as its results or failures file (or its own copy
        of them)."""
        resolved = str(path.resolve())
        row = self._db.execute(
            f"{RUN_SELECT} WHERE ? IN (results_path, failures_path, kept_results, kept_failures)"
            " ORDER BY id DESC LIMIT 1",
            (resolved,),
        ).fetchone()
        return run_record(row) if row else None

    # -- orgs -------------------------------------------------------------------
    def canonical_org(self, org: str) -> str:
        """The org ``org`` was linked to (a rotated key of a known org), else ``org``."""
        row = self._db.execute("SELECT org FROM org_links WHERE alias=?", (org,)).fetchone()
        return str(row[0]) if row else org

    def knows_org(self, org: str) -> bool:
        """True when some row or run was recorded under ``org``."""
        row = self._db.execute(
            "SELECT EXISTS(SELECT 1 FROM synced WHERE org=?) OR EXISTS(SELECT 1 FROM runs "
            "WHERE org=?)",
            (org, org),
        ).fetchone()
        return bool(row[0])

    def orgs_at(self, base_url: str, id_names: Iterable[str] = ("contact_id",)) -> list[str]:
        """Orgs at ``base_url`` with remembered ids of one of ``id_names``, most recently used
        first."""
        base = base_url.rstrip("/").lower()
        has = " OR ".join(f"{id_sql(name)} IS NOT NULL" for name in id_names) or "0"
        cur = self._db.execute(
            "SELECT org, MAX(updated_at) AS last FROM synced WHERE substr(org, 1, ?) = ? "
            f"AND ({has}) GROUP BY org ORDER BY last DESC",
            (len(base) + 1, f"{base}#"),
        )
        return [str(row[0]) for row in cur]

    def sample_ids(self, org: str, id_name: str, n: int = 3) -> list[str]:
        """Up to ``n`` ids called ``id_name`` (``contact_id``...) Reevo returned for ``org``,
        newest first."""
        column = id_sql(id_name)
        cur = self._db.execute(
            f"SELECT {column} FROM synced WHERE org=? AND {column} IS NOT NULL "
            "ORDER BY updated_at DESC LIMIT ?",
            (org, n),
        )
        return [str(row[0]) for row in cur]

    def link_org(self, alias: str, org: str) -> None:
        """Record that ``alias`` (a new key's org id) is the same org as ``org``."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO org_links (alias, org, linked_at) VALUES (?, ?, ?)",
                (alias, org, now_iso()),
            )

    # -- accepted rates ----------------------------------------------------------
    def accepted_rate(self, org: str, endpoint: str) -> AcceptedRate | None:
        """The rate ``org`` last accepted on ``endpoint``; None when none is remembered (or
        the ledger predates the table)."""
        return read_rate(self._db, org, endpoint)

    def remember_rate(self, org: str, endpoint: str, rate: AcceptedRate) -> None:
        """Keep ``rate`` as the one ``org`` last accepted on ``endpoint`` (replacing any)."""
        with self._transaction() as db:
            write_rate(db, org, endpoint, rate)

    # -- stale files -------------------------------------------------------------
    def earlier_import(self, org: str, target: str, source_sha256: str) -> RunRecord | None:
        """The newest earlier run that imported a file with this checksum (not a dry run)."""
        row = self._db.execute(
            f"{RUN_SELECT} WHERE org=? AND target=? AND source_sha256=? ORDER BY id DESC LIMIT 1",
            (org, target, source_sha256),
        ).fetchone()
        return run_record(row) if row else None

    # -- for tables kept beside the ledger's own (syncer.registry) ------------------
    @property
    def connection(self) -> sqlite3.Connection:
        """The SQLite connection (autocommit; write through :meth:`transaction`)."""
        return self._db

    def transaction(self) -> _Tx:
        """``with ledger.transaction():`` BEGIN IMMEDIATE ... COMMIT."""
        return _Tx(self._db)

    # -- internals --------------------------------------------------------------
    def _transaction(self) -> _Tx:
        return _Tx(self._db)

    def _open_schema(self) -> None:
        """Create a new ledger, or check an existing one's version and migrate it.

        The version is read first without a lock (the usual case: current, nothing to write),
        then again inside BEGIN IMMEDIATE, so of two processes opening an old ledger at once
        one migrates and the other finds it done.
        """
        db = self._db
        version = schema_version(db)
        if version == SCHEMA_VERSION:
            self._count_writes()
            return
        refuse_newer(self.path, version)
        with self._transaction():
            version = schema_version(db)
            refuse_newer(self.path, version)
            for statement in SCHEMA.split(";"):  # not executescript: it would COMMIT first
                if statement.strip():
                    db.execute(statement)  # CREATE ... IF NOT EXISTS: the tables a file lacks
            for step in range(version or SCHEMA_VERSION, SCHEMA_VERSION):
                MIGRATIONS[step](db)
            db.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            write_count.ensure(db)
        if version is not None and version != SCHEMA_VERSION:
            self.migrated_from = version

    def _refresh_snapshot(self, run_id: int, order: pl.Series | None = None) -> None:
        """Write the snapshot of the run's org and target where the ledger changed since the
        last one (:func:`snapshot.refresh`); a failure only leaves it untrusted."""
        row = self._db.execute("SELECT org, target FROM runs WHERE id=?", (run_id,)).fetchone()
        spec = TARGETS.get(row[1]) if row else None
        if spec is None:
            return
        # on failure the count moves past any snapshot recorded: the next run reads the ledger
        names = [c.name for c in spec.id_columns]
        chain = self._chains.get((row[0], row[1]))
        with contextlib.suppress(sqlite3.Error, OSError, pl.exceptions.PolarsError):
            snapshot.refresh(self.path, row[0], row[1], names, chain, order)

    def _count_writes(self) -> None:
        """Add the write count's table and triggers to a current ledger that lacks them (made
        by an older syncer); a ledger that cannot be written keeps none (no snapshot is
        trusted then)."""
        if write_count.present(self._db):
            return
        try:
            with self._transaction() as db:
                write_count.ensure(db)
        except sqlite3.OperationalError:
            pass  # read-only: its snapshots are never trusted (the count is missing)


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


def _unusable(path: Path, exc: BaseException) -> ConfigError:
    return ConfigError(
        f"cannot open the ledger {path}: {exc}. "
        "Check the path is writable, or choose another with --ledger PATH."
    )
