"""A snapshot of an org's memory of a target (:func:`read_synced`'s frame: key, body hash, run,
time and the target's ids) kept as a Parquet file beside the ledger, so an unchanged re-run of a
big file reads it in ~0.2 s instead of ~2 s from SQLite.

It is a cache the ledger vouches for: written when a run finishes (:func:`refresh`), and used
only while the ledger's write count of that org and target (:mod:`syncer.ledger.write_count`,
kept by triggers) is still the one it was written at and the file's sha256 is the one the
ledger recorded with it. Anything else (a write since, by any code; a file of another ledger or
of an older state; a torn, truncated or edited file; a ledger without the triggers) makes the
caller read the ledger itself. It holds no secret (keys are the file's dedupe values, as in the
ledger), takes the ledger file's permissions, and is written atomically (a temporary file,
then a rename; one a killed writer left is removed by a later write).

Targets with fewer than :data:`SNAPSHOT_FROM` rows get none (SQLite is fast enough there); a
target that shrinks below it loses its file. A run that changed a few rows renews it from the
old one and those rows (:class:`~syncer.ledger.write_count.Chain`), not by reading the whole
target again.

Its rows are in the order of the file that last put them in order (``order`` of :func:`refresh`):
a re-run of that file lines them up with its own rows instead of joining on the keys.

Files: ``<ledger>.snapshots/<sha256 of org and target>.parquet`` (~40 bytes per row, zstd).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from syncer.atomic import remove_stale_temporaries, write_atomic
from syncer.ledger import write_count
from syncer.ledger.synced import read_synced

#: a target with at least this many rows of an org gets a snapshot
SNAPSHOT_FROM = 50_000


def snapshot_dir(ledger: Path) -> Path:
    """The folder beside ``ledger`` that holds its snapshots."""
    return ledger.with_name(f"{ledger.name}.snapshots")


def snapshot_path(ledger: Path, org: str, target: str) -> Path:
    """The snapshot file of ``org``'s memory of ``target`` (its name reveals neither)."""
    name = hashlib.sha256(f"{org}\0{target}".encode()).hexdigest()[:32]
    return snapshot_dir(ledger) / f"{name}.parquet"


def read(
    db: sqlite3.Connection,
    ledger: Path,
    org: str,
    target: str,
    id_names: Iterable[str],
    *,
    max_rows: int | None = None,
) -> pl.DataFrame | None:
    """The snapshot's frame (as :func:`read_synced` gives it, ``id_names``' columns), if the
    ledger on ``db`` vouches for it (see the module docstring); None: read the ledger.

    ``max_rows``: None as well when the snapshot holds more rows (the caller looks keys up)."""
    count = write_count.read(db, org, target)
    if count is None or not count.snapshot_current:
        return None
    if max_rows is not None and (count.snapshot_rows or 0) > max_rows:
        return None
    return _load(snapshot_path(ledger, org, target), count, _columns(id_names))


def refresh(
    ledger: Path,
    org: str,
    target: str,
    id_names: Iterable[str],
    written: write_count.Chain | None = None,
    order: pl.Series | None = None,
) -> bool:
    """Write the snapshot of ``org``'s memory of ``target`` unless the current one holds
    (removing it for a target below :data:`SNAPSHOT_FROM` rows); returns whether one was
    written. Reads the count and the rows in one read transaction, records the file's sha256
    in the ledger only if nothing was written since; a failure leaves no trusted snapshot.

    ``written``: the writes of the caller's Ledger since the snapshot it may have found; when
    they are all the ledger saw since, that snapshot is merged with those keys read again
    instead of reading the whole target (its rows keep their places).

    ``order``: a run's keys in the order of its file, when the snapshot it read was in another:
    the snapshot is written with those keys first, in that order (rewritten even if current),
    so that the next run of the file lines up with it row by row; ignored for a file of less
    than half the target's keys (its order is not the one to keep)."""
    names = list(id_names)
    path = snapshot_path(ledger, org, target)
    db = sqlite3.connect(str(ledger), timeout=120, isolation_level=None)
    try:
        db.execute("BEGIN")  # one read transaction: the count and the rows agree
        try:
            count = write_count.read(db, org, target)
            if count is None:
                return False
            if order is not None and order.len() * 2 < (count.snapshot_rows or 0):
                order = None
            frame = None
            if count.snapshot_current and (
                count.snapshot_sha256 is None or _holds(path, count.snapshot_sha256)
            ):
                if order is None or count.snapshot_sha256 is None:
                    return False
                frame = _load(path, count, _columns(names))  # only to put it in order
            if frame is None:
                frame = _merged(db, path, count, org, target, names, written)
            if frame is None:
                rows = _rows(db, org, target)
                frame = read_synced(db, org, target, names) if rows >= SNAPSHOT_FROM else None
            else:
                rows = frame.height
        finally:
            db.execute("COMMIT")
        if frame is not None and frame.height < SNAPSHOT_FROM:
            frame = None
        if frame is not None and order is not None and order.len() * 2 >= frame.height:
            frame = _ordered(frame, order)
        sha256 = _write(ledger, path, frame) if frame is not None else None
        if sha256 is None:
            with contextlib.suppress(OSError):
                path.unlink()
        db.execute("BEGIN IMMEDIATE")
        try:
            recorded = write_count.record_snapshot(db, org, target, count.n, sha256, rows)
        finally:
            db.execute("COMMIT")
        return recorded and sha256 is not None
    finally:
        db.close()


def _merged(
    db: sqlite3.Connection,
    path: Path,
    count: write_count.WriteCount,
    org: str,
    target: str,
    names: list[str],
    written: write_count.Chain | None,
) -> pl.DataFrame | None:
    """The target now as the last snapshot with ``written``'s keys read again, when the count
    says those were the only writes since it (else None)."""
    if written is None or count.n != written.end or count.snapshot_n != written.start:
        return None
    old = _load(path, count._replace(n=written.start), _columns(names))
    if old is None:
        return None
    keys = pl.Series("key", sorted(written.keys), dtype=pl.String)
    fresh = read_synced(db, org, target, names, keys=keys)
    assert fresh is not None  # keys given: never given up
    # each key read again takes its old place (a new one goes after): the snapshot keeps the
    # order of the file it was put in (see :func:`_ordered`)
    places = old.with_row_index("__at")
    fresh = fresh.join(places.select("key", "__at"), on="key", how="left")
    kept = places.filter(~pl.col("key").is_in(keys.implode()))
    merged = pl.concat([kept, fresh.select(kept.columns)])
    return merged.sort("__at", nulls_last=True, maintain_order=True).drop("__at")


def _ordered(frame: pl.DataFrame, order: pl.Series) -> pl.DataFrame:
    """``frame`` with the keys of ``order`` first, in that order, then the others as they were."""
    at = order.alias("key").to_frame().unique("key", keep="first", maintain_order=True)
    placed = frame.join(at.with_row_index("__at"), on="key", how="left", maintain_order="left")
    return placed.sort("__at", nulls_last=True, maintain_order=True).drop("__at")


def _load(path: Path, count: write_count.WriteCount, columns: list[str]) -> pl.DataFrame | None:
    """``path``'s frame (``columns``), if it is the file ``count`` records at its count."""
    if count.snapshot_sha256 is None or count.snapshot_n != count.n:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != count.snapshot_sha256:
        return None
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except Exception:  # a file that passed its checksum but polars cannot read
        return None
    if not set(columns) <= set(frame.columns) or frame.height != count.snapshot_rows:
        return None
    return frame.select(columns)


def _rows(db: sqlite3.Connection, org: str, target: str) -> int:
    row = db.execute(
        "SELECT count(*) FROM synced WHERE org=? AND target=?", (org, target)
    ).fetchone()
    return int(row[0])


def _holds(path: Path, sha256: str) -> bool:
    """True when ``path`` is the file of that sha256 (read a block at a time)."""
    try:
        with path.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest() == sha256
    except OSError:
        return False


def _write(ledger: Path, path: Path, frame: pl.DataFrame) -> str:
    """Write ``frame`` to ``path`` atomically, with the ledger's permissions; its sha256.

    Written to its temporary file and hashed from there a block at a time: a 5M-row snapshot
    (~200 MB) is never held in memory beside the frame."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)

    def write(fh: io.BufferedRandom) -> str:
        frame.write_parquet(fh, compression="zstd", compression_level=1)
        fh.flush()
        fh.seek(0)
        return hashlib.file_digest(fh, "sha256").hexdigest()

    return write_atomic(path, write, mode=ledger.stat().st_mode & 0o666)


def _columns(id_names: Iterable[str]) -> list[str]:
    return ["key", "body_sha256", "run_id", "updated_at", *(f"id:{n}" for n in id_names)]
