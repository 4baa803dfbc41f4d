"""Key-based dedupe: among ``ready`` rows with the same key one wins; the rest are ``duplicate``.

The key is the normalised e-mail (trimmed, NFC, lowercased: Reevo matches e-mails
case-insensitively). Invalid rows take no part. Vectorised (``is_last_distinct`` / ``over``).
"""

from __future__ import annotations

from typing import Literal

import polars as pl

__all__ = ["mark_duplicates"]


def mark_duplicates(frame: pl.DataFrame, keep: Literal["first", "last"] = "last") -> pl.DataFrame:
    """Mark every losing ready row ``duplicate`` with an error naming the winning source_row.

    ``frame`` needs ``source_row``, ``status``, ``error``, ``error_code`` and ``key`` and must be
    in file order.
    """
    ready = pl.col("status") == "ready"
    key = pl.when(ready).then(pl.col("key"))
    if keep == "last":
        loser = ready & ~key.is_last_distinct()
        winner = pl.col("source_row").filter(ready).last().over(key)
    else:
        loser = ready & ~key.is_first_distinct()
        winner = pl.col("source_row").filter(ready).first().over(key)
    message = pl.format(
        "duplicate of row {}: same e-mail {} (dedupe keep: {})", winner, pl.col("key"), pl.lit(keep)
    )
    return frame.with_columns(
        status=pl.when(loser).then(pl.lit("duplicate")).otherwise(pl.col("status")),
        error=pl.when(loser).then(message).otherwise(pl.col("error")),
        error_code=pl.when(loser).then(pl.lit("duplicate")).otherwise(pl.col("error_code")),
    )
