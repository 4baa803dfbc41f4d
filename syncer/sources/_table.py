"""Shared pieces of the readers: the :class:`SourceTable` result, header naming, blank rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from syncer.errors import SourceError

SOURCE_ROW = "source_row"
READ_ISSUE = "__read_issue"

DELIMITERS = (",", ";", "\t", "|")
TEXT_EXTENSIONS = {".csv": ",", ".txt": ",", ".tsv": "\t", ".tab": "\t", ".psv": "|", ".ssv": ";"}
EXCEL_EXTENSIONS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls"}
#: Prefixes our results writer neutralises with a leading apostrophe (OWASP CSV injection).
NEUTRALISED = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00")


@dataclass
class SourceTable:
    """A source file read as text: ``frame`` holds ``source_row`` then one String column per
    header cell (then ``__read_issue`` when some row is malformed)."""

    path: Path
    frame: pl.DataFrame
    columns: list[str]
    blank_rows: int
    format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    #: every sheet of the workbook (Excel only), to name the others when the read one is wrong
    sheets: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        """Number of non-blank data rows."""
        return self.frame.height


@dataclass
class _Raw:
    """Parsed cells before the header is picked: generic column names, 1-based line numbers."""

    frame: pl.DataFrame
    names: list[str]
    issues: list[str | None] | None


# --------------------------------------------------------------------------- shared finish


def unique_headers(raw: Sequence[str | None]) -> list[str]:
    """Header names made usable: blanks become ``column_N`` (1-based position), repeats (after
    trimming, ignoring case) get ``_2``, ``_3``...; names are otherwise kept exactly."""
    seen = {SOURCE_ROW, READ_ISSUE}
    out: list[str] = []
    for i, cell in enumerate(raw, 1):
        name = cell if cell is not None and cell.strip() else f"column_{i}"
        name = unneutralise(name)
        candidate, k = name, 1
        while candidate.strip().casefold() in seen:
            k += 1
            candidate = f"{name.strip()}_{k}"
        seen.add(candidate.strip().casefold())
        out.append(candidate)
    return out


def unneutralise(value: str) -> str:
    """Undo the leading apostrophe syncer adds to formula-like cells in results files."""
    if len(value) > 1 and value[0] == "'" and value[1] in NEUTRALISED:
        return value[1:]
    return value


def _unneutralise(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    pattern = r"^'[=+\-@\t\r\n\x00]"  # the NEUTRALISED prefixes behind an apostrophe
    if not names:
        return frame
    quoted = frame.select(pl.col(n).str.starts_with("'").any() for n in names).row(0)
    return frame.with_columns(
        pl.when(pl.col(n).str.contains(pattern))
        .then(pl.col(n).str.slice(1))
        .otherwise(pl.col(n))
        .alias(n)
        for n, has in zip(names, quoted, strict=True)
        if has
    )


def _blank_expr(names: Iterable[str]) -> pl.Expr:
    names = list(names)
    if not names:
        return pl.lit(True)
    return pl.all_horizontal(
        pl.col(n).is_null() | (pl.col(n).str.strip_chars().str.len_bytes() == 0) for n in names
    )


def blank_mask(frame: pl.DataFrame, names: list[str]) -> pl.Series:
    """True for rows whose cells are all null or whitespace. A cheap test on the first column
    settles almost every row; the exact test runs only on the rest."""
    if not names or frame.height == 0:
        return pl.Series("b", [True] * frame.height, dtype=pl.Boolean)
    first = pl.col(names[0])
    sure = frame.select(
        (first.is_not_null() & ~first.str.contains(r"^\s*$")).fill_null(False).alias("s")
    )["s"]
    blank = pl.Series("b", [False] * frame.height, dtype=pl.Boolean)
    rest = (~sure).arg_true()
    if len(rest):
        exact = frame[rest].select(_blank_expr(names).alias("b"))["b"]
        blank = blank.scatter(rest, exact)
    return blank


def _finish(
    path: Path,
    raw: _Raw,
    fmt: str,
    enc: str | None,
    delim: str | None,
    sheet: str | None,
) -> SourceTable:
    """Pick the header (first non-blank row), name columns, drop and count blank rows."""
    frame = raw.frame
    if raw.issues is not None:
        frame = frame.with_columns(pl.Series(READ_ISSUE, raw.issues, dtype=pl.String))
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(READ_ISSUE))
    blank = blank_mask(frame, raw.names)
    nonblank = (~blank).arg_true()
    if len(nonblank) == 0:
        raise SourceError(
            f"{path} has no header row (every row is blank): export the list again.",
            path=str(path),
        )
    h = int(nonblank[0])
    header_cells = frame.row(h, named=True)
    names = unique_headers([header_cells[n] for n in raw.names])
    body = frame.slice(h + 1).with_columns(blank.slice(h + 1).alias("__blank"))
    blank_rows = int(body["__blank"].sum())
    body = body.filter(~pl.col("__blank")).drop("__blank")
    body = body.rename(dict(zip(raw.names, names, strict=True)))
    body = _unneutralise(body, names)
    keep = [SOURCE_ROW, *names]
    if body[READ_ISSUE].null_count() < body.height:
        keep.append(READ_ISSUE)
    return SourceTable(
        path=path,
        frame=body.select(keep),
        columns=names,
        blank_rows=blank_rows,
        format=fmt,
        encoding=enc,
        delimiter=delim,
        sheet=sheet,
    )
