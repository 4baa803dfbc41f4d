"""Reading a results file back (``syncer retry``, the run report): the source's columns and
syncer's own, from a CSV in any delimiter or encoding or from a workbook."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from syncer.errors import SourceError
from syncer.results import ENROLL_COLUMNS, RESULT_HEAD, SOURCE_SUFFIX, result_tail
from syncer.targets import every

if TYPE_CHECKING:
    from syncer.sources import SourceTable

#: the head of results files written before the ``warnings`` column
_OLD_HEAD = RESULT_HEAD[:3]


def read_results(path: Path) -> tuple[list[str], pl.DataFrame]:
    """Read a results file back: (the source's column names as written, frame of text with
    ``source_row`` as Int64). Cells are un-neutralised."""
    columns, frame, _ = results_table(path)
    return columns, frame


def _own(name: str, want: str) -> bool:
    """True when the reader's ``name`` is a results file's own column ``want``: the reader
    calls it ``want (source)`` (``_2``... when the source had that name too)."""
    return re.fullmatch(re.escape(want + SOURCE_SUFFIX) + r"(_\d+)?", name) is not None


def results_table(path: Path) -> tuple[list[str], pl.DataFrame, SourceTable]:
    """:func:`read_results`, and the file as the source reader read it (its format, delimiter,
    encoding, sheet and typed columns). A CSV in any delimiter or encoding and a workbook are
    read alike; SourceError when ``path`` is not a results file."""
    from syncer.sources import read_source  # the reader names its columns with source_names

    path = Path(path)
    hint = "Give the results file (.results.csv or .results.xlsx) a run wrote."
    try:
        table = read_source(path)
    except SourceError as exc:
        raise SourceError(f"cannot read results file {path} ({exc.message}) {hint}") from exc
    cols = table.columns
    n = len(RESULT_HEAD) if len(cols) > 3 and _own(cols[3], RESULT_HEAD[3]) else len(_OLD_HEAD)
    tail = _tail_of(cols)
    own = [*range(n), *range(len(cols) - len(tail), len(cols))]
    names = [*RESULT_HEAD[:n], *tail]
    if len(cols) < len(own) or not all(
        _own(cols[i], want) for i, want in zip(own, names, strict=True)
    ):
        raise SourceError(
            f"{path} is not a syncer results file (its first columns must be "
            f"{', '.join(RESULT_HEAD)}). {hint}",
            path=str(path),
        )
    renames = {cols[i]: want for i, want in zip(own, names, strict=True)}
    frame = (
        table.frame.drop("source_row")  # the reader's line numbers, not the rows' own
        .rename(renames)
        .select(*[renames.get(c, c) for c in cols])
        .with_columns(pl.col("source_row").cast(pl.Int64))
    )
    return cols[n : len(cols) - len(tail)], frame, table


def _tail_of(cols: Sequence[str]) -> tuple[str, ...]:
    """The registered target's :func:`result_tail` the columns end with (the longest; the
    first target's when none does: the caller then refuses the file), with ``then: enroll``'s
    :data:`ENROLL_COLUMNS` after it when the file has them."""
    tails = sorted({result_tail(t.name) for t in every()}, key=len, reverse=True)
    for tail in [(*t, *ENROLL_COLUMNS) for t in tails] + tails:
        ends = cols[max(len(cols) - len(tail), 0) :]
        if len(ends) == len(tail) and all(map(_own, ends, tail)):
            return tail
    return result_tail(every()[0].name)
