"""How a results or failures CSV is written: the source's delimiter and, when every character
fits, its encoding and byte-order mark (else UTF-8 with a byte-order mark); formula-like cells
(:mod:`syncer.formulas`) behind a ``'``."""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

import polars as pl

from syncer.formulas import FORMULA_LIKE, formula_like

if TYPE_CHECKING:
    from syncer.sources import SourceTable

__all__ = ["CsvStyle", "csv_style", "excel_safe", "write_csv", "write_csv_parts"]


def excel_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with a ``'`` before each formula-like text cell. Only the cells that start with
    a trigger character (:func:`_trigger_rows`) are tested further; a column whose such cells
    are all plain data, like ``+1 415 ...`` phone numbers, is left as it is."""
    changed = []
    for name, rows in _trigger_rows(frame).items():
        cells = frame.get_column(name).gather(rows)
        risky = cells.to_frame("c").select(formula_like(pl.col("c")).fill_null(False)).to_series()
        hit = rows.filter(risky)
        if len(hit) == 0:
            continue
        column = frame.get_column(name).clone()
        quoted = cells.filter(risky).to_frame("c").select(pl.lit("'") + pl.col("c"))
        column.scatter(hit, quoted.to_series())
        changed.append(column)
    return frame.with_columns(changed) if changed else frame


#: the first bytes of a formula-like cell (:data:`syncer.formulas.FORMULA_LIKE`), all below 0x41
_TRIGGERS = b"=+-@\t\r\n\x00"


def _trigger_rows(frame: pl.DataFrame) -> dict[str, pl.Series]:
    """The rows of each text column whose cell starts with a trigger character (columns with
    none left out). Every cell of a column lies between its least and greatest cell in byte
    order, and so does its first byte: a column whose range of first bytes holds no trigger
    (names, e-mails, "ready"...) needs no scan of its cells; the least cells come first (every
    trigger is below ``A``), the greatest only where those are not enough."""
    texts = [c for c, t in frame.schema.items() if t == pl.String]
    if not texts:
        return {}
    lows = frame.select(pl.col(c).min() for c in texts).row(0)
    low = {c: _first_byte(v) for c, v in zip(texts, lows, strict=True) if v is not None}
    unsure = [c for c, b in low.items() if b <= max(_TRIGGERS)]
    highs = frame.select(pl.col(c).max() for c in unsure).row(0) if unsure else ()
    scan = [
        c
        for c, v in zip(unsure, highs, strict=True)
        if any(low[c] <= t <= _first_byte(v) for t in _TRIGGERS)
    ]
    if not scan:
        return {}
    starts = frame.select(
        pl.col(c).str.contains(FORMULA_LIKE[0]).fill_null(False).alias(c) for c in scan
    )
    rows = {c: starts.get_column(c).arg_true() for c in scan}
    return {c: r for c, r in rows.items() if len(r)}


def _first_byte(value: str) -> int:
    """The first byte of ``value`` in UTF-8 (-1 for "", which sorts before every other)."""
    return value.encode("utf-8")[0] if value else -1


@dataclass(frozen=True, slots=True)
class CsvStyle:
    """How a CSV file is written: delimiter, encoding, byte-order mark."""

    delimiter: str = ","
    encoding: str = "utf-8"
    bom: bool = False


def csv_style(source: SourceTable, utf8: bool = False) -> CsvStyle:
    """The source's own delimiter, encoding and byte-order mark (a workbook's: commas, UTF-8);
    ``utf8``: commas and UTF-8 without a byte-order mark, whatever the source."""
    if utf8 or source.format != "csv":
        return CsvStyle()
    return CsvStyle(source.delimiter or ",", source.encoding or "utf-8", source.bom)


#: rows encoded at a time when a CSV is not UTF-8
_ENCODE_ROWS = 100_000


def _codec(style: CsvStyle) -> tuple[str, bytes]:
    """(codec, byte-order mark) to write ``style.encoding`` with: UTF-16 and UTF-32 always carry
    their mark (that is how readers know them), UTF-8 when the source had one."""
    name = codecs.lookup(style.encoding).name
    if name == "utf-8":
        return name, codecs.BOM_UTF8 if style.bom else b""
    if name in ("utf-16", "utf-32"):
        name += "-le"
    marks = {
        "utf-16-le": codecs.BOM_UTF16_LE,
        "utf-16-be": codecs.BOM_UTF16_BE,
        "utf-32-le": codecs.BOM_UTF32_LE,
        "utf-32-be": codecs.BOM_UTF32_BE,
    }
    return name, marks.get(name, b"")


def write_csv(frame: pl.DataFrame, fh: IO[bytes], style: CsvStyle) -> str | None:
    """Write ``frame`` as ``style`` says; a character the encoding cannot hold makes the whole
    file UTF-8 with a byte-order mark instead, and is returned (else None)."""
    return write_csv_parts(lambda: [frame], fh, style)


def write_csv_parts(
    parts: Callable[[], Iterable[pl.DataFrame]], fh: IO[bytes], style: CsvStyle
) -> str | None:
    """:func:`write_csv` of the rows of ``parts()`` (frames of the same columns, in order; the
    header once): the same bytes as the frames concatenated. ``parts`` is called again when the
    file is rewritten in UTF-8."""
    codec, bom = _codec(style)
    fh.write(bom)
    first = True
    for part in parts():
        safe = excel_safe(part)
        if codec == "utf-8":
            safe.write_csv(fh, include_header=first, separator=style.delimiter, null_value="")
            first = False
            continue
        for start in range(0, max(safe.height, 1), _ENCODE_ROWS):
            buf = io.BytesIO()
            safe.slice(start, _ENCODE_ROWS).write_csv(
                buf, include_header=first, separator=style.delimiter, null_value=""
            )
            first = False
            text = buf.getvalue().decode("utf-8")
            try:
                fh.write(text.encode(codec))
            except UnicodeEncodeError as exc:
                fh.seek(0)
                fh.truncate()
                write_csv_parts(parts, fh, CsvStyle(style.delimiter, "utf-8", bom=True))
                return exc.object[exc.start : exc.end]
    return None
