"""Excel workbooks (.xlsx/.xlsm/.xls) through fastexcel (calamine), rendered as text."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from syncer.errors import SourceError
from syncer.sources._table import SOURCE_ROW, SourceTable, _blank_expr, _finish, _Raw, unneutralise

_HEADER_SCAN_ROWS = 200


def _excel_error(path: Path, exc: Exception) -> SourceError:
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return SourceError(
        f"{path} cannot be opened as an Excel workbook ({detail}). If it is password-protected, "
        "remove the password; otherwise open it in Excel and save it again as .xlsx or CSV.",
        path=str(path),
    )


def read_excel(
    path: Path, kind: str, sheet: str | int | None, n_rows: int | None = None
) -> SourceTable:
    """Read a workbook sheet as text; ``n_rows``: at most that many rows after the header."""
    import fastexcel

    logging.getLogger("fastexcel").setLevel(logging.ERROR)
    try:
        reader = fastexcel.read_excel(path)
        sheets: list[str] = list(reader.sheet_names)
    except Exception as exc:  # calamine raises several error types for broken/encrypted files
        raise _excel_error(path, exc) from exc
    listed = ", ".join(repr(s) for s in sheets) or "none"
    try:
        idx, top = _pick_sheet(path, reader, sheets, sheet, listed)
        if top is None:
            raise SourceError(
                f"{path}: sheet {sheets[idx]!r} is empty. The workbook has sheets: {listed}; "
                "pick one with data with `source: {sheet: NAME}` in the mapping.",
                path=str(path),
            )
        h, header = top
        # skip_rows=0 makes header_row an absolute row index (else leading blank rows are skipped)
        try:
            typed = reader.load_sheet(
                idx, header_row=h, skip_rows=0, n_rows=n_rows, schema_sample_rows=None
            ).to_polars()
            typed = _mixed_as_text(reader, idx, h, n_rows, typed)
        except Exception:  # mixed types or error cells the typed reader refuses: plain text
            typed = reader.load_sheet(
                idx, header_row=h, skip_rows=0, n_rows=n_rows, dtypes="string"
            ).to_polars()
            typed = typed.with_columns(_iso_text(pl.col(c)) for c in typed.columns)
    except SourceError:
        raise
    except Exception as exc:
        raise _excel_error(path, exc) from exc
    raw_names = [f"c{j}" for j in range(typed.width)]
    header = (header + [None] * typed.width)[: typed.width]
    frame = typed.select(
        _excel_text(typed.get_column(c)).alias(raw_names[j]) for j, c in enumerate(typed.columns)
    )
    # the header row itself goes first so _finish can pick it as the first non-blank row
    head = pl.DataFrame(
        [pl.Series(raw_names[j], [header[j]], dtype=pl.String) for j in range(typed.width)]
    )
    frame = pl.concat([head, frame]) if typed.width else head
    frame = frame.with_columns(
        pl.int_range(h + 1, h + 1 + frame.height, dtype=pl.Int64).alias(SOURCE_ROW)
    )
    table = _finish(path, _Raw(frame, raw_names, None), kind, None, None, sheets[idx])
    table.sheets = tuple(sheets)
    names = dict(zip(raw_names, table.columns, strict=True))
    table.types = {
        names[raw_names[j]]: t
        for j, dtype in enumerate(typed.dtypes)
        if (t := _cell_type(dtype)) is not None
    }
    return table


def _mixed_as_text(
    reader: object, idx: int, h: int, n_rows: int | None, typed: pl.DataFrame
) -> pl.DataFrame:
    """A typed column some of whose cells are not of its type (``n/a`` or a ``+49 ...`` text
    among numbers) comes back as text: the typed reader gives those cells as null. Only the
    typed columns are read a second time, as text, to find them."""
    odd = [j for j, dtype in enumerate(typed.dtypes) if dtype not in (pl.String, pl.Null)]
    if not odd or typed.height == 0:
        return typed
    text = reader.load_sheet(  # type: ignore[attr-defined]
        idx, header_row=h, skip_rows=0, n_rows=n_rows, use_columns=odd, dtypes="string"
    ).to_polars()
    names = [typed.columns[j] for j in odd]
    mixed = {
        c: t
        for c, t in zip(names, text.columns, strict=True)
        if (typed.get_column(c).is_null() & text.get_column(t).is_not_null()).any()
    }
    if not mixed:
        return typed
    return typed.with_columns(_iso_text(text.get_column(t).alias(c)) for c, t in mixed.items())


def _cell_type(dtype: pl.DataType) -> str | None:
    """``number``, ``date`` or ``bool`` for a typed column (text and empty ones: None)."""
    if dtype.is_numeric():
        return "number"
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return "date"
    return "bool" if dtype == pl.Boolean else None


def _header_row(reader: object, idx: int) -> tuple[int, list[str | None]] | None:
    """Absolute 0-based index and cells of the first non-blank row of a sheet, or None."""
    for n_rows in (_HEADER_SCAN_ROWS, None):
        raw = reader.load_sheet(  # type: ignore[attr-defined]
            idx, header_row=None, skip_rows=0, n_rows=n_rows, dtypes="string"
        ).to_polars()
        if raw.width == 0:
            return None
        blank = raw.select(_blank_expr(raw.columns).alias("b"))["b"]
        hits = (~blank).arg_true()
        if len(hits):
            h = int(hits[0])
            return h, [unneutralise(v) if v else None for v in raw.row(h)]
        if n_rows is not None and raw.height < n_rows:
            return None
    return None


def _pick_sheet(
    path: Path, reader: object, sheets: list[str], sheet: str | int | None, listed: str
) -> tuple[int, tuple[int, list[str | None]] | None]:
    if not sheets:
        raise SourceError(f"{path}: the workbook has no worksheets.", path=str(path))
    if sheet is None:
        first: tuple[int, tuple[int, list[str | None]] | None] | None = None
        for i in range(len(sheets)):
            top = _header_row(reader, i)
            if first is None:
                first = (i, top)
            if top is not None:
                return i, top
        assert first is not None
        return first
    if isinstance(sheet, int) or (
        isinstance(sheet, str) and sheet.strip().isdigit() and sheet not in sheets
    ):
        i = int(sheet)
        if not 0 <= i < len(sheets):
            raise SourceError(
                f"{path}: there is no sheet number {i} (sheets are numbered from 0). "
                f"The workbook has sheets: {listed}.",
                path=str(path),
            )
        return i, _header_row(reader, i)
    if sheet in sheets:
        i = sheets.index(sheet)
    else:
        folded = [s.strip().casefold() for s in sheets]
        if sheet.strip().casefold() not in folded:
            raise SourceError(
                f"{path}: sheet {sheet!r} not found. The workbook has sheets: {listed}.",
                path=str(path),
            )
        i = folded.index(sheet.strip().casefold())
    return i, _header_row(reader, i)


def _iso_text(col: pl.Expr) -> pl.Expr:
    """fastexcel renders dates in text columns as ``2024-03-01 00:00:00``: make them ISO."""
    return col.str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", "$1").str.replace(
        r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)$", "${1}T$2"
    )


def _excel_text(s: pl.Series) -> pl.Series:
    """Render one typed Excel column as text a person would recognise, without mangling."""
    dt = s.dtype
    if dt == pl.String:  # a text column may hold date cells too: calamine renders them
        return pl.select(_iso_text(pl.lit(s))).to_series().alias(s.name)
    if dt == pl.Null:
        return s.cast(pl.String)
    if dt == pl.Boolean:
        return pl.select(
            pl.when(s).then(pl.lit("TRUE")).when(~s).then(pl.lit("FALSE")).otherwise(None)
        ).to_series()
    if dt.is_float():
        integral = (s == s.round(0)) & (s.abs() < 1e15)
        return pl.select(
            pl.when(integral)
            .then(s.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(s.cast(pl.String))
        ).to_series()
    if dt.is_integer():
        return s.cast(pl.String)
    if dt == pl.Date:
        return s.dt.strftime("%Y-%m-%d")
    if isinstance(dt, pl.Datetime):
        midnight = s.dt.truncate("1d") == s
        whole = s.dt.truncate("1s") == s
        return pl.select(
            pl.when(midnight)
            .then(s.dt.strftime("%Y-%m-%d"))
            .when(whole)
            .then(s.dt.strftime("%Y-%m-%dT%H:%M:%S"))
            .otherwise(s.dt.strftime("%Y-%m-%dT%H:%M:%S%.3f"))
        ).to_series()
    return s.cast(pl.String)
