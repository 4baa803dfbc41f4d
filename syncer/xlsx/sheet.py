"""A data sheet rendered by polars expressions, a chunk of rows at a time.

Each column becomes one expression that renders its cells' XML; a chunk's rows are written
with polars' CSV writer (no quoting) and deflated in a thread while polars renders the next
chunk, so memory stays bounded by two chunks and a million rows take seconds, not the minutes
of a cell-by-cell writer (openpyxl's write-only mode manages ~35,000 cells a second here).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO

import polars as pl

from syncer.formulas import FORMULA_LIKE, formula_like, is_formula_like
from syncer.xlsx import parts
from syncer.xlsx.zipstream import TooLarge, ZipStream

__all__ = ["MAX_ROWS", "Sheet", "TooLarge", "write_workbook"]

#: data rows a sheet holds at most (Excel's 1,048,576 rows, less the header)
MAX_ROWS = 1_048_575
#: columns a sheet holds, and characters a cell holds, at most
MAX_COLUMNS = 16_384
MAX_CELL = 32_767
#: rows rendered at a time (bounds memory: ~40 MB of XML for 20 columns)
CHUNK_ROWS = 50_000
#: rows looked at to guess which columns repeat, and distinct values a shared column holds
_SAMPLE_ROWS = 10_000
_MAX_SHARED = 65_536
#: a number as the reader renders one (polars' float text); anything else stays text
_NUMBER = r"^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+\-]?[0-9]+)?$"
_SPECIAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\r\x{fffe}\x{ffff}]|" + parts.EXCEL_ESCAPE
_EDGE_SPACE = r"^\s|\s$"
_EPOCH = pl.datetime(1899, 12, 30, time_unit="ms")
_FIRST_DATE = pl.datetime(1900, 3, 1, time_unit="ms")  # Excel's serials are off before it
_MS_PER_DAY = 86_400_000


@dataclass(frozen=True, slots=True)
class Sheet:
    """One data sheet.

    ``types``: column -> ``number``, ``date`` or ``bool``, for the columns the source had as
    such (a cell is typed only when its text is what the reader makes of such a cell, so it
    reads back the same; else it is text); ``status``: the column whose cells are filled by
    status; ``marks``: column -> each row's comment (null: the cell is not marked), as long as
    ``frame``. Numeric columns of ``frame`` are numbers; every other cell is text.
    """

    name: str
    frame: pl.DataFrame
    types: Mapping[str, str] = field(default_factory=dict)
    status: str | None = None
    marks: Mapping[str, pl.Series] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Text:
    """What a text column needs beyond plain cells."""

    xml: bool = False  # & < > to escape
    special: bool = False  # control characters, CR, or text like Excel's _xHHHH_ escape
    preserve: bool = False  # leading or trailing white space
    formulas: bool = False  # formula-like cells: the quote prefix


def _text_needs(frame: pl.DataFrame, columns: Sequence[str]) -> dict[str, _Text]:
    """One scan per column finds the (few) columns that need more than plain cells."""
    out = dict.fromkeys(columns, _Text())
    if not columns:
        return out
    rough = rf"[&<>]|{_SPECIAL}|{_EDGE_SPACE}|{FORMULA_LIKE[0]}"
    hits = frame.select(pl.col(c).str.contains(rough).any() for c in columns).row(0)
    needy = [c for c, hit in zip(columns, hits, strict=True) if hit]
    if needy:
        flags = frame.select(
            pl.struct(
                pl.col(c).str.contains(r"[&<>]").any().alias("x"),
                pl.col(c).str.contains(_SPECIAL).any().alias("s"),
                pl.col(c).str.contains(_EDGE_SPACE).any().alias("p"),
                formula_like(pl.col(c)).any().alias("f"),
            ).alias(c)
            for c in needy
        ).row(0)
        for c, f in zip(needy, flags, strict=True):
            out[c] = _Text(bool(f["x"]), bool(f["s"]), bool(f["p"]), bool(f["f"]))
    return out


def _escaped(value: pl.Expr, needs: _Text) -> pl.Expr:
    """Cell text as element content (see :func:`syncer.xlsx.parts.escape`)."""
    if needs.xml:
        for ch, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
            value = value.str.replace_all(ch, entity, literal=True)
    if needs.special:
        value = value.str.replace_all(parts.EXCEL_ESCAPE, "_x005F_$1")
        for ch in parts.SPECIAL_CHARS:
            value = value.str.replace_all(ch, f"_x{ord(ch):04X}_", literal=True)
    return value


def _attr(style: int) -> str:
    return f' s="{style}"' if style else ""


def _style(kind: str, marked: pl.Expr | None) -> str | pl.Expr:
    """The ``s`` attribute of a cell of ``kind`` (with the "bad" fill where ``marked``)."""
    plain = _attr(parts.STYLE[(kind, False)])
    if marked is None:
        return plain
    return pl.when(marked).then(pl.lit(_attr(parts.STYLE[(kind, True)]))).otherwise(pl.lit(plain))


def _either(cond: pl.Expr, yes: str | pl.Expr, no: str | pl.Expr) -> pl.Expr:
    def expr(x: str | pl.Expr) -> pl.Expr:
        return x if isinstance(x, pl.Expr) else pl.lit(x)

    return pl.when(cond).then(expr(yes)).otherwise(expr(no))


def _joined(*pieces: str | pl.Expr) -> pl.Expr:
    """The pieces concatenated, neighbouring literals merged first (fewer pieces, less work
    per cell); null where an expression is null (written as ``<c/>``)."""
    merged: list[str | pl.Expr] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in merged])


def _typed(value: pl.Expr, kind: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(the cell can be typed, its ``<v>`` text, date or datetime) for a typed column."""
    if kind == "number":
        return value.str.contains(_NUMBER), value, pl.lit(False)
    if kind == "bool":
        bit = pl.when(value == "TRUE").then(pl.lit("1")).otherwise(pl.lit("0"))
        return value.is_in(["TRUE", "FALSE"]), bit, pl.lit(False)
    # dates: the reader renders midnight as YYYY-MM-DD, whole seconds without a fraction and
    # milliseconds otherwise; only text of exactly that shape becomes a date again
    unit = pl.Datetime("ms")
    day = value.str.strptime(unit, "%Y-%m-%d", strict=False)
    sec = value.str.strptime(unit, "%Y-%m-%dT%H:%M:%S", strict=False)
    frac = value.str.strptime(unit, "%Y-%m-%dT%H:%M:%S%.3f", strict=False)
    at = pl.coalesce(day, sec, frac)
    midnight = at.dt.truncate("1d") == at
    exact = (
        day.is_not_null()
        | (sec.is_not_null() & ~midnight & (value.str.len_bytes() == 19))
        | (frac.is_not_null() & (at.dt.truncate("1s") != at) & (value.str.len_bytes() == 23))
    )
    ms = (at - _EPOCH).dt.total_milliseconds()
    serial = (
        pl.when(midnight)
        .then((ms // _MS_PER_DAY).cast(pl.String))
        .otherwise((ms.cast(pl.Float64) / _MS_PER_DAY).cast(pl.String))
    )
    return exact & (at >= _FIRST_DATE), serial, ~midnight


def _cell(value: pl.Expr, kind: str, needs: _Text, marked: pl.Expr | None) -> pl.Expr:
    """The XML of a column's cells (null for a null cell: the writer makes it ``<c/>``). Cells
    carry no reference: every row holds every column, in order."""
    space = ' xml:space="preserve"' if needs.preserve else ""
    style = _style("text", marked)
    if needs.formulas:
        style = _either(formula_like(value), _style("quoted", marked), style)
    escaped = _escaped(value, needs)
    cell = _joined("<c", style, f' t="inlineStr"><is><t{space}>', escaped, "</t></is></c>")
    if kind != "text":
        ok, v, with_time = _typed(value, kind)
        style = _style("number", marked)
        if kind == "date":
            style = _either(with_time, _style("datetime", marked), _style("date", marked))
        t = ' t="b"' if kind == "bool" else ""
        cell = pl.when(ok).then(_joined("<c", style, f"{t}><v>", v, "</v></c>")).otherwise(cell)
    return cell


def _status_cell(value: pl.Expr) -> pl.Expr:
    styles = {s: _attr(parts.STYLE[("status", s)]) for s in parts.STATUS_STYLE}
    style = value.replace_strict(list(styles), list(styles.values()), default="")
    return _joined("<c", style, ' t="inlineStr"><is><t>', value, "</t></is></c>")


def _repeating(frame: pl.DataFrame, columns: Sequence[str]) -> dict[str, list[str]]:
    """The columns whose values repeat (at most one distinct value in four rows, and at most
    :data:`_MAX_SHARED` of them; guessed from the first rows, then checked on all), with their
    distinct values."""
    if not columns or frame.height < 10:
        return {}
    top = frame.head(_SAMPLE_ROWS)
    few = top.select(pl.col(c).n_unique() for c in columns).row(0)
    likely = [c for c, n in zip(columns, few, strict=True) if n <= top.height // 2]
    if not likely:
        return {}
    limit = min(_MAX_SHARED, frame.height // 4)
    found = frame.select(pl.col(c).drop_nulls().unique().head(limit + 1).implode() for c in likely)
    return {c: v for c, v in zip(likely, found.row(0), strict=True) if len(v) <= limit}


def _plan(sheet: Sheet, marked: Mapping[str, str]) -> tuple[list[pl.Expr], list[str]]:
    """The expressions that render a row, and the shared strings their cells point to.

    A text column whose values repeat (status, title, country...) goes to the shared strings
    table: each distinct value is escaped and styled once, and a cell is a lookup of its
    finished XML (``<c t="s"><v>7</v></c>``), a third the size of an inline string."""
    frame = sheet.frame
    texts = [c for c, t in frame.schema.items() if t == pl.String]
    shared: list[str] = []
    lookups: dict[str, pl.Expr] = {}
    plain = [c for c in texts if c not in marked and c not in sheet.types]
    for c, values in _repeating(frame, plain).items():
        styles = {s: _attr(parts.STYLE[("status", s)]) for s in parts.STATUS_STYLE}
        quoted = _attr(parts.STYLE[("quoted", False)])
        cells = []
        for v in values:
            style = styles.get(v, "") if c == sheet.status else quoted * is_formula_like(v)
            cells.append(f'<c{style} t="s"><v>{len(shared)}</v></c>')
            shared.append(v)
        lookups[c] = pl.col(c).replace_strict(values, cells, default=None, return_dtype=pl.String)
    needs = _text_needs(frame, [c for c in texts if c not in lookups and c != sheet.status])
    exprs: list[pl.Expr] = []
    for c, dtype in frame.schema.items():
        flag = pl.col(marked[c]) if c in marked else None
        value = pl.col(c).cast(pl.String)
        if c in lookups:
            exprs.append(lookups[c])
        elif c == sheet.status:
            exprs.append(_status_cell(value))
        elif dtype.is_numeric():
            exprs.append(_cell(value, "number", _Text(), flag))
        else:
            exprs.append(_cell(value, sheet.types.get(c, "text"), needs.get(c, _Text()), flag))
    # a row starts in its first cell's field and ends in the CSV writer's line terminator
    start = pl.format('<row r="{}">', pl.col("__row"))
    exprs[:1] = [pl.concat_str(start, exprs[0].fill_null("<c/>")) if exprs else start]
    return [e.alias(f"__x{i}") for i, e in enumerate(exprs)], shared


def _write_rows(out: IO[bytes], sheet: Sheet) -> list[str]:
    """Write the data rows; return the shared strings they point to."""
    frame = sheet.frame
    marked = {c: f"__m{i}" for i, c in enumerate(sheet.marks) if c in frame.columns}
    work = frame.with_columns(
        pl.Series(name, sheet.marks[c].is_not_null()) for c, name in marked.items()
    )
    exprs, shared = _plan(sheet, marked)

    def emit(cells: pl.DataFrame) -> None:
        buf = io.BytesIO()
        cells.write_csv(
            buf,
            include_header=False,
            separator=" ",
            line_terminator="</row>\n",
            quote_style="never",
            null_value="<c/>",
        )
        out.write(buf.getbuffer())

    # a thread writes out and deflates one chunk while polars renders the next (both release
    # the GIL): at most two chunks are held at once
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[None] | None = None
        for start in range(0, frame.height, CHUNK_ROWS):
            chunk = work.slice(start, CHUNK_ROWS)
            first = start + 2  # the header is row 1
            rows = pl.int_range(first, first + chunk.height, dtype=pl.Int64)
            cells = chunk.with_columns(rows.alias("__row")).select(exprs)
            if pending is not None:
                pending.result()
            pending = pool.submit(emit, cells)
        if pending is not None:
            pending.result()
    return shared


def _widths(frame: pl.DataFrame) -> list[float]:
    """Column widths from the header and the first 1,000 rows (at most 60 characters)."""
    top = frame.head(1000)
    if not top.width:
        return []
    longest = top.select(
        pl.col(c).cast(pl.String).str.len_chars().max().fill_null(0) for c in top.columns
    ).row(0)
    return [min(max(len(c), int(n)) + 2, 60) for c, n in zip(top.columns, longest, strict=True)]


def _comments(sheet: Sheet) -> tuple[str, str] | None:
    """(comments part, VML drawing) of the marked cells, or None when none is marked."""
    columns = sheet.frame.columns
    found = [
        pl.DataFrame({"text": series}, schema={"text": pl.String})
        .with_row_index("row")
        .filter(pl.col("text").is_not_null())
        .with_columns(col=pl.lit(columns.index(c), dtype=pl.Int64))
        for c, series in sheet.marks.items()
        if c in columns
    ]
    hits = pl.concat(found).sort("row", "col") if found else pl.DataFrame()
    if hits.height == 0:
        return None
    letters = pl.Series([parts.column_letter(i) for i in range(len(columns))], dtype=pl.String)
    needs = _text_needs(hits, ["text"])["text"]
    text = _escaped(pl.col("text"), _Text(True, needs.special))
    ref = pl.concat_str(pl.lit(letters).gather(pl.col("col")), (pl.col("row") + 2).cast(pl.String))
    body = hits.select(pl.format(parts.COMMENT, ref, text).str.join("")).item()
    shapes = (
        hits.with_row_index("n")
        .select(
            pl.format(
                parts.SHAPE, pl.col("n") + parts.FIRST_SHAPE, pl.col("row") + 1, pl.col("col")
            ).str.join("")
        )
        .item()
    )
    return parts.comments_xml(body), parts.vml_drawing(shapes)


def _check_limits(frame: pl.DataFrame) -> None:
    """:class:`TooLarge` beyond Excel's limits: :data:`MAX_ROWS` rows, :data:`MAX_COLUMNS`
    columns, :data:`MAX_CELL` characters in a cell (Excel would cut the text)."""
    if frame.height > MAX_ROWS:
        raise TooLarge(f"{frame.height:,} rows: a sheet holds at most {MAX_ROWS:,}")
    if frame.width > MAX_COLUMNS:
        raise TooLarge(f"{frame.width:,} columns: a sheet holds at most {MAX_COLUMNS:,}")
    texts = [c for c, t in frame.schema.items() if t == pl.String]
    if not texts:
        return
    longest = frame.select(pl.col(c).str.len_bytes().max() for c in texts).row(0)
    for c, n in zip(texts, longest, strict=True):  # bytes first: cheap, and >= characters
        if n is not None and n > MAX_CELL:
            chars = frame.get_column(c).str.len_chars().max()
            if isinstance(chars, int) and chars > MAX_CELL:
                raise TooLarge(
                    f"a cell of column {c!r} holds {chars:,} characters: a cell holds at most "
                    f"{MAX_CELL:,}"
                )


def write_workbook(fh: IO[bytes], sheet: Sheet, summary: Sequence[tuple[str, object]]) -> None:
    """Write a workbook of ``sheet`` and a ``Summary`` sheet of ``summary`` rows to ``fh``
    (a seekable file). Raises :class:`TooLarge` when Excel cannot hold the sheet (see
    :func:`_check_limits`) or a part is over 4 GiB."""
    _check_limits(sheet.frame)
    summary_name = "Summary" if sheet.name.casefold() != "summary" else "Summary (syncer)"
    notes = _comments(sheet)
    with ZipStream(fh) as z:
        for name, text in parts.package([sheet.name, summary_name], notes is not None).items():
            z.add(name, text)
        out = z.open("xl/worksheets/sheet1.xml")
        head = parts.sheet_head(sheet.frame.columns, sheet.frame.height, _widths(sheet.frame))
        out.write(head.encode("utf-8"))
        shared = _write_rows(out, sheet)  # type: ignore[arg-type]
        out.write(parts.sheet_tail(notes is not None).encode())
        z.close_entry(out)
        z.add("xl/sharedStrings.xml", parts.shared_strings(shared))
        z.add("xl/worksheets/sheet2.xml", parts.summary_xml(summary))
        if notes is not None:
            z.add("xl/comments1.xml", notes[0])
            z.add("xl/drawings/vmlDrawing1.vml", notes[1])
