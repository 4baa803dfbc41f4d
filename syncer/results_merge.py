"""The results file's outcome columns: every prepared row's, the run's outcome over the rows it
lists (:class:`Merged`), a slice of rows at a time.

A run's outcomes (source_row, status, error, error_code and the target's id columns) replace the
prepared status, error, error_code and ids of the rows they list. Both sides are in file order
(source_row ascending) as the runner makes them: the outcomes of a slice are found by binary
search (those pushed out of order through one ``arg_sort``, not a sorted copy) and joined as
sorted keys (a merge, ~10x cheaper than hashing a million keys); other orders take a hash join.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

__all__ = ["Merged"]

#: the outcome columns that replace the prepared row's (before the ids)
_REPLACED = ("status", "error", "error_code")
#: the outcome columns' prefix in a joined frame
_O = "__o_"


class Merged:
    """``base`` (the prepared rows: source_row, status, error, error_code...) with the outcomes
    over the rows they list and an id column per name of ``ids`` (null for the rows listed by
    no outcome); :meth:`slice` gives its rows a slice at a time, without building them all."""

    def __init__(
        self, base: pl.DataFrame, outcomes: pl.DataFrame | None, ids: Sequence[str]
    ) -> None:
        self.ids = list(ids)
        self.base = base
        #: the columns of every slice
        self.columns = [*base.columns, *(c for c in self.ids if c not in base.columns)]
        self.cols = [*_REPLACED, *self.ids]
        self._got: pl.DataFrame | None = None
        #: ``base`` is in source_row order (else a hash join)
        self._sorted = False
        #: the outcomes' source_rows ascending, and the order that gives them (None: theirs)
        self._rows = pl.Series(dtype=pl.Int64)
        self._order: pl.Series | None = None
        if outcomes is None or outcomes.height == 0:
            return

        def outcome(c: str) -> pl.Expr:
            value = pl.col(c).cast(pl.String)
            blank = c in ("error", "error_code")  # a listed row's null message is ""
            return (value.fill_null("") if blank else value).alias(_O + c)

        got = outcomes.select(
            pl.col("source_row").cast(pl.Int64),
            *[outcome(c) for c in self.cols if c in outcomes.columns],
        )
        if "status" not in outcomes.columns:
            return
        # an outcome without a status lists no row; each other one's values replace the row's
        got = got.filter(pl.col(_O + "status").is_not_null())
        self._got = got
        self._sorted = bool(base.get_column("source_row").is_sorted())
        if not self._sorted:
            return
        rows = got.get_column("source_row")
        if not rows.is_sorted():
            self._order = rows.arg_sort()
            rows = rows.gather(self._order)
        self._rows = rows

    @property
    def height(self) -> int:
        """Rows (the prepared ones)."""
        return self.base.height

    def slice(self, start: int, length: int) -> pl.DataFrame:
        """Rows ``start`` to ``start + length`` with their outcomes (:attr:`columns`)."""
        part = self.base.slice(start, length)
        # as text (a large file's prepared status and error_code are an Enum, a Categorical)
        text = [pl.col(c).cast(pl.String) for c in _REPLACED if c in part.columns]
        nulls = [pl.lit(None, dtype=pl.String).alias(c) for c in self.ids if c not in part.columns]
        part = part.with_columns(*text, *nulls)
        got = self._got
        if got is None or part.height == 0:
            return part
        rows = part.get_column("source_row")
        if not self._sorted:
            lo, hi = rows.min(), rows.max()
            return self._joined(part, got.filter(pl.col("source_row").is_between(lo, hi)))
        first, last = rows[0], rows[-1]
        begin = int(self._rows.search_sorted(first, side="left"))
        end = int(self._rows.search_sorted(last, side="right"))
        if self._order is None:
            window = got.slice(begin, end - begin)
        else:
            window = got[self._order.slice(begin, end - begin)]
        return self._joined(
            part.with_columns(pl.col("source_row").set_sorted()),
            window.with_columns(pl.col("source_row").set_sorted()),
        )

    def whole(self, size: int) -> pl.DataFrame:
        """Every row, merged ``size`` rows at a time (a 5M-row join at once held ~1.8 GB
        more)."""
        if self.height <= size:
            return self.slice(0, self.height)
        return pl.concat([self.slice(s, size) for s in range(0, self.height, size)])

    def _joined(self, part: pl.DataFrame, got: pl.DataFrame) -> pl.DataFrame:
        """``part`` with the outcomes in ``got`` (``__o_<column>``) over the rows they list:
        a listed row's status, error and error_code are never null there (so each is
        ``coalesce(outcome's, row's)``), an unlisted row's ids are null (so they are the
        outcome's)."""
        joined = part.select("source_row").join(
            got, on="source_row", how="left", maintain_order="left"
        )
        updates = []
        for c in self.cols:
            if _O + c not in joined.columns:
                continue
            new = pl.col(_O + c)
            updates.append((pl.coalesce(new, pl.col(c)) if c in _REPLACED else new).alias(c))
        # one with_columns: polars merges the columns side by side
        both = part.hstack(joined.drop("source_row").get_columns())
        return both.with_columns(updates).select(self.columns)
