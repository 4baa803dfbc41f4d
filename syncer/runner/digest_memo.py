"""Body digests remembered by the values they were made of, so an unchanged re-run of a large
file does not build and hash a million canonical bodies again (~1.3 s of CPU per million rows;
hashing the values, :func:`syncer.canonical.values_hash`, takes ~0.2 s).

A cache of a pure function: a row's digest is the sha256 of its canonical body, and the body
is a function of the row's body values and of :func:`syncer.canonical.body_recipe` (the
mapping's body fields, the columns' types, the canonical text's version, polars' version). The
memo maps a 128-bit hash of the values to the digest, under one recipe; it says nothing about
what Reevo holds (the ledger says that) and is never needed: without a memo of the recipe that
polars can read, every digest is computed as before. A run writes one when it computed some
digest for a file of at least :data:`MEMO_FROM` ready rows: the pairs of that file's rows (the
memo of the last such file, not a growing history). A dry run writes none.

File: ``<ledger>.snapshots/<the snapshot's name>.digests.parquet`` (``__h1``, ``__h2``
UInt64, ``digest`` hex, and the ``recipe`` in every row: one read gives the pairs and what they
are valid for; ~84 bytes a row, uncompressed: read in ~0.05 s per million rows, in a thread
while the file is prepared), a row per ready row in file order (the same file again is matched
row by row, without a join), written atomically with the ledger's permissions. It holds no
secret and no value, only hashes. It needs no checksum: a damaged digest only makes its row
be sent again (and the memo be forgotten: the text sent hashes otherwise), and damaged hashes
match no row's values.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO

import polars as pl

from syncer.atomic import remove_stale_temporaries, write_atomic
from syncer.background import in_background_joined
from syncer.ledger.snapshot import snapshot_path
from syncer.models import RowStatus
from syncer.runner.prepared import Prepared

__all__ = ["MEMO_FROM", "DigestMemo", "Remembered", "digests_of"]

#: a file with at least this many ready rows uses (and keeps) a memo
MEMO_FROM = 50_000
_HASHES = ["__h1", "__h2"]
_SUFFIX = ".digests.parquet"


@dataclass(frozen=True, slots=True)
class Remembered:
    """A file's digests and what :meth:`DigestMemo.keep` would write of them."""

    #: source_row, key, digest of every ready row, in file order (:meth:`Prepared.digests`)
    digests: pl.DataFrame
    #: rows whose digest was computed (not found in the memo)
    computed: int
    #: the rows' value hashes (``__h1``, ``__h2``), beside :attr:`digests`' rows; None: no
    #: memo was used
    hashes: pl.DataFrame | None = None
    #: the recipe the hashes are valid under
    recipe: str = ""


def digests_of(prepared: Prepared, memo: DigestMemo | None) -> Remembered:
    """Every ready row's digest (:meth:`Prepared.digests`), through ``memo`` for a file of at
    least :attr:`DigestMemo.min_rows` ready rows whose values are not spilled."""
    ready = prepared.counts()[RowStatus.READY.value]
    if memo is not None and prepared.values is None and ready >= memo.min_rows:
        return memo.digests(prepared)
    if memo is not None:
        memo.release()
    digests = prepared.digests()
    return Remembered(digests, digests.height)


class DigestMemo:
    """The memo file of one org's target in a ledger's folder (see the module docstring)."""

    def __init__(
        self, path: Path, mode: int, writable: bool = True, min_rows: int = MEMO_FROM
    ) -> None:
        #: the file (``<the snapshot's name>.digests.parquet``)
        self.path = path
        #: the permission bits a written memo gets (the ledger's)
        self.mode = mode
        #: False: read it, never write it (a dry run)
        self.writable = writable
        #: files with fewer ready rows neither use nor keep a memo
        self.min_rows = min_rows
        #: the file read in a thread (:meth:`read_early`), whatever its recipe
        self._early: Future[pl.DataFrame | None] | None = None

    @classmethod
    def beside(cls, ledger: Path, org: str, target: str, *, writable: bool) -> DigestMemo:
        """The memo of ``org``'s ``target`` beside ``ledger`` (a file that exists)."""
        mode = ledger.stat().st_mode & 0o666
        path = snapshot_path(ledger, org, target).with_suffix(_SUFFIX)
        return cls(path, mode, writable, MEMO_FROM)

    def read_early(self) -> DigestMemo:
        """Begin reading the file in a thread (while the source is prepared: the recipe is
        known only after); :meth:`digests` takes what it read. Returns self."""
        self._early = in_background_joined(self._read)
        return self

    def digests(self, prepared: Prepared) -> Remembered:
        """Every ready row's digest: the memo's where it knows the row's values, else built
        and hashed (:meth:`Prepared.digests`)."""
        hashed, recipe = prepared.value_hashes()
        hashes = hashed.select(_HASHES)
        kept = self._early.result() if self._early is not None else self._read()
        self._early = None
        if kept is not None and not kept.get_column("recipe").eq(recipe).all():
            kept = None  # the digests of other bodies
        found = _found(hashes, kept.drop("recipe")) if kept is not None else None
        del kept
        if found is None or found.null_count() == found.len():
            digests = prepared.digests()
            return Remembered(digests, digests.height, hashes, recipe)
        missing = found.is_null()
        computed = 0
        if missing.any():
            where = missing.arg_true()
            fresh = prepared.digests(hashed.get_column("source_row").gather(where))
            assert fresh.height == where.len(), "a ready row without a body"
            found = found.scatter(where, fresh.get_column("digest"))
            computed = fresh.height
        digests = hashed.select("source_row", "key").with_columns(found.alias("digest"))
        return Remembered(digests, computed, hashes, recipe)

    def release(self) -> None:
        """Let go of what :meth:`read_early` read (the file is not used)."""
        self._early = None

    def keep(self, remembered: Remembered) -> bool:
        """Write the memo of ``remembered``'s rows when it computed some digest of a file of
        at least :attr:`min_rows` ready rows (else the memo read holds them all already);
        returns whether it wrote. A memo that cannot be written is no failure: the next run
        computes the digests."""
        rows, hashes = remembered.digests.height, remembered.hashes
        if not self.writable or hashes is None or rows < self.min_rows or not remembered.computed:
            return False
        pairs = hashes.with_columns(
            remembered.digests.get_column("digest"), recipe=pl.lit(remembered.recipe)
        )
        try:
            if self.path.parent.is_dir():
                remove_stale_temporaries(self.path.parent)
            write_atomic(self.path, partial(_write, pairs), mode=self.mode)
        except (OSError, pl.exceptions.PolarsError):  # a full disk, a folder it cannot write
            return False
        return True

    def forget(self) -> None:
        """Remove the memo: the next run computes every digest."""
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)

    def _read(self) -> pl.DataFrame | None:
        """The memo's pairs (``__h1``, ``__h2``, ``digest``) and their ``recipe``, or None
        (no file, or one polars cannot read as a memo)."""
        try:
            pairs = pl.read_parquet(self.path)
        except (OSError, pl.exceptions.PolarsError):
            return None
        want = {"__h1": pl.UInt64, "__h2": pl.UInt64, "digest": pl.String, "recipe": pl.String}
        return pairs if dict(pairs.schema) == want else None


def _write(pairs: pl.DataFrame, fh: IO[bytes]) -> None:
    pairs.write_parquet(fh, compression="uncompressed", statistics=False)


#: rows found in place (:func:`_found`) past which the others are taken as changed, not moved
_IN_PLACE = 0.9


def _found(hashes: pl.DataFrame, kept: pl.DataFrame) -> pl.Series:
    """The digest ``kept`` (the memo's pairs, in the order of the file it was written for)
    holds for each row of ``hashes``, or null. The same file again, with rows changed in
    place or added at its end, is matched row by row (no join); the rows of a file whose rows
    moved are looked up by their hashes."""
    n = min(hashes.height, kept.height)
    here, there = hashes.head(n), kept.head(n)
    same = (here["__h1"] == there["__h1"]) & (here["__h2"] == there["__h2"])
    found = there.select(pl.when(same).then(pl.col("digest"))).to_series()
    found = found.extend(pl.repeat(None, hashes.height - n, dtype=pl.String, eager=True))
    if same.sum() >= _IN_PLACE * n:
        return found
    pairs = kept.unique(_HASHES, keep="first")
    looked = hashes.join(pairs, on=_HASHES, how="left", maintain_order="left")
    return looked.get_column("digest")
