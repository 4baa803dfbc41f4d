"""The SQLite ledger: what syncer already sent to which Reevo org, and the history of runs.

Per org (base URL + a fingerprint of the key, or a label the user chooses) and target it keeps,
for each dedupe key, the hash of the exact request body last accepted by Reevo, the ids Reevo
returned, the last status and when. It stores no row data beyond that, and never the key.

Durability: WAL mode with ``synchronous=NORMAL``; results are buffered and committed by one
writer in small batches (every ``batch_rows`` rows or ``batch_seconds``), so after ``kill -9``
only the last uncommitted batch is sent again on resume.

Schema version: ``meta.schema_version`` (:data:`SCHEMA_VERSION`) covers the whole file, the
inbox registry's tables (syncer.registry) included. Opening a ledger reads it: an older ledger is
migrated in place, one step per version (:data:`_MIGRATIONS`), inside one write transaction (a
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

import hashlib
import json
import operator
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from syncer.errors import ConfigError, LedgerTooNew
from syncer.models import RowOutcome, RowStatus

#: the ledger layout this code reads and writes (see the module docstring for each version)
SCHEMA_VERSION = 3

#: the rate an org last accepted per endpoint (``POST account_contact``...): ``capped`` 1 when a
#: 429 found that limit, 0 when it is only a floor; the base URL and key fingerprint it was
#: measured with (never the key); created by the first write: older ledgers need no migration
_RATES_TABLE = """
CREATE TABLE IF NOT EXISTS accepted_rates (
    org             TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    rate            REAL NOT NULL,
    capped          INTEGER NOT NULL,
    hold_s          REAL,
    base_url        TEXT NOT NULL,
    key_fingerprint TEXT NOT NULL,
    run_id          INTEGER,
    measured_at     TEXT NOT NULL,
    PRIMARY KEY (org, endpoint)
) WITHOUT ROWID
"""

_SCHEMA = f"""
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
{_RATES_TABLE};
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
    ids = "".join(f', {_id_sql(n)} AS "id:{n}"' for n in names)
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


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def body_hash(body: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a request body (stable across versions and machines)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def key_fingerprint(api_key: str) -> str:
    """A short, one-way fingerprint of an API key: identifies the org, reveals nothing."""
    return hashlib.sha256(b"syncer-key-fingerprint\0" + api_key.encode("utf-8")).hexdigest()[:16]


def org_id(base_url: str, *, api_key: str | None = None, label: str | None = None) -> str:
    """The ledger's name for a Reevo org: base URL plus a label or the key's fingerprint."""
    base = base_url.rstrip("/").lower()
    if label:
        return f"{base}#{label}"
    return f"{base}#key:{key_fingerprint(api_key or '')}"


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
        if name in _ID_COLUMNS:
            return operator.attrgetter(name)
        return lambda row: row.ids().get(name)


class AcceptedRate(NamedTuple):
    """A request rate an org accepted (``accepted_rates``)."""

    rate: float  # requests per second
    capped: bool  # True: a 429 found this limit; False: only a floor (no 429 was seen)
    hold_s: float | None  # the pacer's hold before probing past the limit (None: a floor)
    base_url: str
    key_fingerprint: str  # :func:`key_fingerprint` of the key it was measured with
    measured_at: str  # UTC ISO 8601
    run_id: int | None = None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One row of the runs table."""

    id: int
    org: str
    target: str
    source: str
    mapping: str
    command: str
    pid: int
    started_at: str
    finished_at: str | None
    outcome: str
    exit_code: int | None
    rows: int | None
    counts: dict[str, int]
    requests: int | None
    message: str | None
    results_path: str | None
    failures_path: str | None
    #: this run's own copies of its results / failures files (the stable names hold the latest)
    kept_results: str | None = None
    kept_failures: str | None = None
    #: the run whose results file this one retried (``syncer retry``), else None
    parent_run: int | None = None
    retries: int | None = None
    throttled: int | None = None
    #: when Reevo said its quota resets (UTC ISO 8601), for a run it stopped on its quota
    retry_at: str | None = None

    @property
    def display_outcome(self) -> str:
        """'interrupted' for a run that is marked running but whose process is gone."""
        if self.outcome == "running" and not pid_alive(self.pid):
            return "interrupted"
        return self.outcome


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Ledger:
    """The ledger database. Use as a context manager; one writer per process."""

    def __init__(self, path: Path, *, batch_rows: int = 200, batch_seconds: float = 1.0) -> None:
        self.path = path
        self.batch_rows = batch_rows
        self.batch_seconds = batch_seconds
        self._pending: list[tuple[Any, ...]] = []
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
        are asked for, looks ``keys`` up in batches instead. Sees what is committed
        (:meth:`flush` first), through a connection of its own."""
        db = sqlite3.connect(str(self.path), timeout=120)
        try:
            if len(keys) >= SCAN_FROM:
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
        if ids is None and not outcome.ids.keys() <= _ID_COLUMNS:
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
        where = _id_sql(id_name)
        if id_name in _ID_COLUMNS:
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
            self._db.executemany(_UPSERT_SYNCED, rows)
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
    ) -> None:
        """Record how a run ended (commits pending outcomes first)."""
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

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The most recent runs, newest first."""
        cur = self._db.execute(f"{_RUN_SELECT} ORDER BY id DESC LIMIT ?", (limit,))
        return [_run_record(row) for row in cur]

    def run(self, run_id: int) -> RunRecord | None:
        """One run by id."""
        row = self._db.execute(f"{_RUN_SELECT} WHERE id=?", (run_id,)).fetchone()
        return _run_record(row) if row else None

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
            f"{_RUN_SELECT} WHERE ? IN (results_path, failures_path, kept_results, kept_failures)"
            " ORDER BY id DESC LIMIT 1",
            (resolved,),
        ).fetchone()
        return _run_record(row) if row else None

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
        has = " OR ".join(f"{_id_sql(name)} IS NOT NULL" for name in id_names) or "0"
        cur = self._db.execute(
            "SELECT org, MAX(updated_at) AS last FROM synced WHERE substr(org, 1, ?) = ? "
            f"AND ({has}) GROUP BY org ORDER BY last DESC",
            (len(base) + 1, f"{base}#"),
        )
        return [str(row[0]) for row in cur]

    def sample_ids(self, org: str, id_name: str, n: int = 3) -> list[str]:
        """Up to ``n`` ids called ``id_name`` (``contact_id``...) Reevo returned for ``org``,
        newest first."""
        column = _id_sql(id_name)
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
        try:
            row = self._db.execute(
                "SELECT rate, capped, hold_s, base_url, key_fingerprint, measured_at, run_id "
                "FROM accepted_rates WHERE org=? AND endpoint=?",
                (org, endpoint),
            ).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        if row is None:
            return None
        return AcceptedRate(float(row[0]), bool(row[1]), *row[2:])

    def remember_rate(self, org: str, endpoint: str, rate: AcceptedRate) -> None:
        """Keep ``rate`` as the one ``org`` last accepted on ``endpoint`` (replacing any)."""
        with self._transaction() as db:
            db.execute(_RATES_TABLE)
            db.execute(
                "INSERT OR REPLACE INTO accepted_rates (org, endpoint, rate, capped, hold_s, "
                "base_url, key_fingerprint, run_id, measured_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (org, endpoint, rate.rate, int(rate.capped), rate.hold_s, rate.base_url,
                 rate.key_fingerprint, rate.run_id, rate.measured_at),
            )  # fmt: skip

    # -- stale files -------------------------------------------------------------
    def earlier_import(self, org: str, target: str, source_sha256: str) -> RunRecord | None:
        """The newest earlier run that imported a file with this checksum (not a dry run)."""
        row = self._db.execute(
            f"{_RUN_SELECT} WHERE org=? AND target=? AND source_sha256=? ORDER BY id DESC LIMIT 1",
            (org, target, source_sha256),
        ).fetchone()
        return _run_record(row) if row else None

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
        version = _schema_version(db)
        if version == SCHEMA_VERSION:
            return
        _refuse_newer(self.path, version)
        with self._transaction():
            version = _schema_version(db)
            _refuse_newer(self.path, version)
            for statement in _SCHEMA.split(";"):  # not executescript: it would COMMIT first
                if statement.strip():
                    db.execute(statement)  # CREATE ... IF NOT EXISTS: the tables a file lacks
            for step in range(version or SCHEMA_VERSION, SCHEMA_VERSION):
                _MIGRATIONS[step](db)
            db.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        if version is not None and version != SCHEMA_VERSION:
            self.migrated_from = version


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


def _schema_version(db: sqlite3.Connection) -> int | None:
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


def _refuse_newer(path: Path, version: int | None) -> None:
    if version is not None and version > SCHEMA_VERSION:
        raise LedgerTooNew(
            f"the ledger {path} was written by a newer syncer (ledger schema version "
            f"{version}; this syncer reads up to {SCHEMA_VERSION}) and is left as it is: "
            "upgrade syncer (pip install --upgrade syncer) to use it, or choose another "
            "ledger with --ledger PATH."
        )


def _add_columns(db: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    """``ALTER TABLE table ADD COLUMN`` for each of ``columns`` (name -> type) it lacks."""
    have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    for name, kind in columns.items():
        if name not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


#: the ids ``synced`` has a column for (account_contact's): their ``ids`` JSON is built from the
#: columns in SQL (:data:`_IDS_FROM_COLUMNS`)
_ID_COLUMNS = frozenset({"contact_id", "account_id"})


def _id_sql(name: str) -> str:
    """SQL for the id ``name`` of a ``synced`` row: its column, else its member of ``ids``."""
    if name in _ID_COLUMNS:
        return name
    if not name.isidentifier():
        raise ValueError(f"not an id name: {name!r}")
    return f"json_extract(ids, '$.{name}')"


#: SQL: the ``ids`` JSON of a contact id and an account id (NULL when both are; json_patch drops
#: a null member). Built in SQLite, not with json.dumps per row: the ledger records every row.
_IDS_FROM_COLUMNS = (
    "NULLIF(json_patch('{{}}', json_object('account_id', {account}, 'contact_id', {contact})), "
    "'{{}}')"
)
_IDS_5_6 = _IDS_FROM_COLUMNS.format(contact="?5", account="?6")

#: one buffered outcome into ``synced`` (parameters as Ledger.record buffers them; ?7: explicit
#: ids JSON, else built from ?5/?6)
_UPSERT_SYNCED = f"""
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


def _v1_to_v2(db: sqlite3.Connection) -> None:
    """The runs columns an early version-1 ledger lacks; ``synced.ids``, filled from
    ``contact_id``/``account_id``."""
    _add_columns(db, "runs", {"kept_results": "TEXT", "kept_failures": "TEXT"})
    _add_columns(db, "synced", {"ids": "TEXT"})
    ids = _IDS_FROM_COLUMNS.format(contact="contact_id", account="account_id")
    db.execute(f"UPDATE synced SET ids = {ids}")


def _v2_to_v3(db: sqlite3.Connection) -> None:
    """``runs.parent_run``, ``retries``, ``throttled``, ``retry_at`` (NULL for older runs)."""
    _add_columns(
        db,
        "runs",
        {"parent_run": "INTEGER", "retries": "INTEGER", "throttled": "INTEGER", "retry_at": "TEXT"},
    )


#: schema version N -> the step that makes a version-N ledger version N + 1 (in one transaction)
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3}


_RUN_SELECT = """SELECT id, org, target, source, mapping, command, pid, started_at, finished_at,
                        outcome, exit_code, rows, counts, requests, message, results_path,
                        failures_path, kept_results, kept_failures, parent_run, retries,
                        throttled, retry_at FROM runs"""


def _run_record(row: tuple[Any, ...]) -> RunRecord:
    values = list(row)
    values[12] = json.loads(values[12]) if values[12] else {}
    return RunRecord(*values)


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
