"""Key-based dedupe: among ``ready`` rows with the same key one wins; the rest are ``duplicate``.

The key is the target's key field, normalised as the target says (for account_contact the
e-mail: trimmed, NFC, lowercased, as Reevo matches e-mails case-insensitively; see
:mod:`syncer.targets`). Invalid rows take no part. Vectorised (``is_last_distinct`` / ``over``).
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from syncer.models import KEY_COLUMN

__all__ = ["mark_duplicates"]

#: what joins the parts of a key made of several (``Target.key_of``: a deal's name and account)
KEY_SEP = "\x1f"


def mark_duplicates(
    frame: pl.DataFrame, keep: Literal["first", "last"] = "last", *, key_label: str = "key"
) -> pl.DataFrame:
    """Mark every losing ready row ``duplicate`` with an error naming the winning source_row
    and the key (``same <key_label> <key>``: the target's ``key_label``, e.g. ``e-mail``).

    ``frame`` needs ``source_row``, ``status``, ``error``, ``error_code`` and ``__key`` and must be
    in file order.
    """
    ready = pl.col("status") == "ready"
    # A 64-bit hash finds the few candidate rows cheaply (the ready rows whose hash another
    # ready row has); the exact work runs on those only. The repeated hashes are found by
    # sorting them (a million: ~35 ms, half what a hash table of them costs)
    hashes = frame.select(pl.when(ready).then(pl.col(KEY_COLUMN).hash()).alias("h")).to_series()
    ordered = hashes.drop_nulls().sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    if len(repeated) == 0:
        return frame
    candidates = hashes.is_in(repeated.implode()).fill_null(False).arg_true()
    sub = frame[candidates].select("source_row", "status", "error", "error_code", KEY_COLUMN)
    key = pl.col(KEY_COLUMN)
    if keep == "last":
        loser = ~key.is_last_distinct()
        winner = pl.col("source_row").last().over(key)
    else:
        loser = ~key.is_first_distinct()
        winner = pl.col("source_row").first().over(key)
    message = pl.format(
        "duplicate of row {}: same {} {} (dedupe keep: {})",
        winner,
        pl.lit(key_label),
        key.str.replace_all(KEY_SEP, " on ", literal=True),  # a key of parts: name on parent
        pl.lit(keep),
    )
    marked = sub.select(
        status=pl.when(loser).then(pl.lit("duplicate")).otherwise(pl.col("status")),
        error=pl.when(loser).then(message).otherwise(pl.col("error")),
        error_code=pl.when(loser).then(pl.lit("duplicate")).otherwise(pl.col("error_code")),
    )
    out = frame.clone()
    columns = []
    for name in ("status", "error", "error_code"):
        col = out[name].clone()
        col.scatter(candidates, marked[name])
        columns.append(col)
    return out.with_columns(columns)
