"""Read CSV/TSV/TXT and Excel files into a polars frame of text, one column per header cell.

Everything is read as text (no type inference). ``source_row`` is the number a person sees:
the line number in an editor for text files (for a record spanning several lines because of a
quoted newline, the line it *starts* on), the row number in Excel for workbooks; the header is
row 1 when it sits on the first line. Blank rows are dropped and counted. Rows with more cells
than the header keep their extra values in ``__read_issue`` (never dropped silently); rows
with fewer cells are padded with null.

Text files: BOMs (UTF-8/16/32) win, then strict UTF-8, then charset-normalizer on a sample
(cp1252 preferred over latin-1). The delimiter is sniffed among ``,`` ``;`` tab ``|``.
A fast polars parse is used when the file is regular; anything odd (ragged rows, stray quotes,
quoted newlines, CR-only line ends) goes through Python's csv module, which reports lines.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from charset_normalizer import from_bytes

from syncer.errors import SourceError

__all__ = ["READ_ISSUE", "SOURCE_ROW", "SourceTable", "read_source"]

SOURCE_ROW = "source_row"
READ_ISSUE = "__read_issue"

DELIMITERS = (",", ";", "\t", "|")
TEXT_EXTENSIONS = {".csv": ",", ".txt": ",", ".tsv": "\t", ".tab": "\t", ".psv": "|", ".ssv": ";"}
EXCEL_EXTENSIONS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls"}
#: Prefixes our results writer neutralises with a leading apostrophe (OWASP CSV injection).
NEUTRALISED = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00")
_SNIFF_CHARS = 64 * 1024
_ENCODING_SAMPLE = 1024 * 1024
_FIELD_LIMIT = 1 << 30
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


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

    @property
    def rows(self) -> int:
        """Number of non-blank data rows."""
        return self.frame.height


def read_source(
    path: Path | str,
    *,
    sheet: str | int | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> SourceTable:
    """Read a CSV/TSV/TXT/XLSX/XLS file into a :class:`SourceTable` of text.

    Raises :class:`SourceError` naming the file and what to do when it cannot be used.
    """
    path = Path(path)
    size = _check_file(path)
    with path.open("rb") as fh:
        head = fh.read(8)
    kind = _detect_kind(path, head)
    if kind in ("xlsx", "xls"):
        return _read_excel(path, kind, sheet)
    if size == 0:
        raise SourceError(f"{path} is empty (0 bytes): export the list again.", path=str(path))
    data = path.read_bytes()
    text, used = _decode(path, data, encoding)
    return _read_text(path, data, text, used, delimiter)


# --------------------------------------------------------------------------- file checks


def _check_file(path: Path) -> int:
    if not path.exists():
        raise SourceError(f"{path} does not exist: check the path.", path=str(path))
    if path.is_dir():
        raise SourceError(
            f"{path} is a folder, not a file: give the path of a CSV or Excel file.", path=str(path)
        )
    try:
        return path.stat().st_size
    except OSError as exc:  # pragma: no cover - permissions races
        raise SourceError(f"{path} cannot be read ({exc}).", path=str(path)) from exc


def _detect_kind(path: Path, head: bytes) -> str:
    ext = path.suffix.lower()
    if head.startswith(_ZIP_MAGIC):
        if ext in (".ods", ".xlsb", ".numbers"):
            raise SourceError(
                f"{path}: {ext} files are not supported; save it as .xlsx or .csv and try again.",
                path=str(path),
            )
        return "xlsx"
    if head.startswith(_OLE_MAGIC):
        return "xls"
    if ext in EXCEL_EXTENSIONS:
        if not head:
            raise SourceError(
                f"{path} is empty (0 bytes): export the workbook again.", path=str(path)
            )
        raise SourceError(
            f"{path} is named {ext} but is not an Excel workbook: open it in Excel and save it "
            "again as .xlsx, or export it as CSV.",
            path=str(path),
        )
    return "csv"


# --------------------------------------------------------------------------- decoding


def _decode(path: Path, data: bytes, encoding: str | None) -> tuple[str, str]:
    """Decode the whole file once; return (text without BOM, encoding used)."""
    if encoding:
        try:
            name = codecs.lookup(encoding).name
        except LookupError as exc:
            raise SourceError(
                f"{path}: unknown encoding {encoding!r}; use e.g. utf-8, cp1252, latin-1, utf-16.",
                path=str(path),
            ) from exc
        try:
            text = data.decode(name)
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"{path} is not valid {name} (byte {exc.start}): remove the encoding setting to "
                "let syncer detect it, or give the right one.",
                path=str(path),
            ) from exc
        return text.removeprefix("\ufeff"), name
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(name), name
            except UnicodeDecodeError as exc:
                raise SourceError(
                    f"{path} starts with a {name} byte-order mark but is not valid {name}: "
                    "save it again as UTF-8 CSV.",
                    path=str(path),
                ) from exc
    sample = data[:8192]
    if _looks_binary(sample):
        for name in _utf16_guess(sample):
            try:
                text = data.decode(name)
            except UnicodeDecodeError:
                continue
            if not _looks_binary(text[:4096].encode("utf-8")):
                return text, name
        raise SourceError(
            f"{path} is not a text (CSV) file: it looks binary. Export the list as CSV or .xlsx.",
            path=str(path),
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    sample = data[:_ENCODING_SAMPLE]
    # Western exports are by far the most common: take cp1252 whenever it reads cleanly, since
    # charset-normalizer cannot tell cp1252 from cp1250/cp932 on a few accented bytes.
    western = from_bytes(sample, cp_isolation=["cp1252"]).best()
    candidates: list[str] = []
    if western is not None and western.chaos <= 0.05:
        candidates.append("cp1252")
    guess = from_bytes(sample).best()
    if guess is not None:
        candidates.append(codecs.lookup(guess.encoding).name)
    candidates += ["cp1252", "latin-1"]
    for name in candidates:
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _looks_binary(sample: bytes) -> bool:
    if not sample:
        return False
    nul = sample.count(0)
    if nul / len(sample) > 0.3:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 11, 12, 13))
    return len(sample) >= 64 and controls / len(sample) > 0.1


def _utf16_guess(sample: bytes) -> list[str]:
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    if odd > even * 4:
        return ["utf-16-le"]
    if even > odd * 4:
        return ["utf-16-be"]
    return []


# --------------------------------------------------------------------------- text parsing


def _norm_delimiter(delimiter: str) -> str:
    d = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}.get(
        delimiter.lower(), delimiter
    )
    if len(d) != 1:
        raise SourceError(
            f"delimiter {delimiter!r} must be one character (e.g. ',', ';', '|', 'tab')."
        )
    return d


def sniff_delimiter(text: str, preferred: str = ",") -> str:
    """Pick the delimiter among ``, ; tab |`` whose rows have the most consistent cell count."""
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    order = [preferred, *[d for d in DELIMITERS if d != preferred]]
    best: tuple[bool, float, int, int] | None = None
    chosen = preferred
    for rank, delim in enumerate(order):
        counts: list[int] = []
        try:
            for rec in csv.reader(io.StringIO(sample, newline=""), delimiter=delim):
                if any(cell.strip() for cell in rec):
                    counts.append(len(rec))
                if len(counts) >= 50:
                    break
        except csv.Error:
            continue
        if not counts:
            continue
        mode, hits = Counter(counts).most_common(1)[0]
        score = (mode > 1, round(hits / len(counts), 2), mode, -rank)
        if best is None or score > best:
            best, chosen = score, delim
    return chosen


def _read_text(path: Path, data: bytes, text: str, enc: str, delimiter: str | None) -> SourceTable:
    ext = path.suffix.lower()
    stripped = text.lstrip()
    if not stripped:
        raise SourceError(f"{path} has no content (only blank lines).", path=str(path))
    if ext not in TEXT_EXTENSIONS and stripped[0] in "{[<":
        raise SourceError(
            f"{path} does not look like a CSV file (it starts with {stripped[0]!r}). "
            "Give a .csv, .tsv, .txt, .xlsx or .xls file.",
            path=str(path),
        )
    delim = (
        _norm_delimiter(delimiter)
        if delimiter
        else sniff_delimiter(text, TEXT_EXTENSIONS.get(ext, ","))
    )
    if ext not in TEXT_EXTENSIONS and not delimiter and not _csv_like(text, delim):
        raise SourceError(
            f"{path} does not look like a CSV file (no consistent ',', ';', tab or '|' columns). "
            "Give a .csv/.tsv/.txt file, or set the delimiter.",
            path=str(path),
        )
    raw = _parse_fast(data, text, enc, delim)
    if raw is None:
        raw = _parse_python(path, text, delim)
    return _finish(path, raw, "csv", enc, delim, None)


def _csv_like(text: str, delim: str) -> bool:
    rows = [r for r in csv.reader(io.StringIO(text[:_SNIFF_CHARS], newline=""), delimiter=delim)]
    rows = [r for r in rows[:50] if any(c.strip() for c in r)]
    return bool(rows) and len(rows[0]) > 1


def _parse_fast(data: bytes, text: str, enc: str, delim: str) -> _Raw | None:
    """Parse a regular file with polars; None when the file needs the careful Python parser."""
    cr = text.count("\r")
    if cr and cr != text.count("\r\n"):
        return None  # CR-only or mixed line ends
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    buf = data[bom:] if enc == "utf-8" else text.encode("utf-8")
    try:
        df = pl.read_csv(
            buf,
            has_header=False,
            infer_schema=False,
            separator=delim,
            quote_char='"',
            raise_if_empty=False,
            truncate_ragged_lines=False,
        )
    except Exception:  # polars' parse errors (ragged rows, stray quotes): use the careful path
        return None
    if '"' in text and df.width:
        has_nl = df.select(pl.any_horizontal(pl.all().str.contains("\n", literal=True).any()))
        if bool(has_nl.item()):
            return None  # quoted newlines: line numbers and unterminated quotes need care
    names = df.columns
    df = df.with_columns(
        pl.when(pl.col(n).str.len_bytes() == 0).then(None).otherwise(pl.col(n)).alias(n)
        for n in names
    )
    # one record per line: row i of the frame starts on line i + 1
    df = df.with_columns(pl.int_range(1, df.height + 1, dtype=pl.Int64).alias(SOURCE_ROW))
    return _Raw(df, names, issues=None)


@dataclass
class _Raw:
    """Parsed cells before the header is picked: generic column names, 1-based line numbers."""

    frame: pl.DataFrame
    names: list[str]
    issues: list[str | None] | None


def _parse_python(path: Path, text: str, delim: str) -> _Raw:
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(lines, delimiter=delim, strict=False)
    records: list[list[str]] = []
    starts: list[int] = []
    prev = 0
    try:
        for rec in reader:
            records.append(rec)
            starts.append(prev + 1)
            prev = reader.line_num
    except csv.Error as exc:
        raise SourceError(
            f"{path}: line {prev + 1}: cannot be read as CSV ({exc}). Fix that line and try again.",
            path=str(path),
        ) from exc
    if records and any("\n" in c or "\r" in c for c in records[-1]):
        _check_closed(path, lines[starts[-1] - 1 :], delim, starts[-1], len(lines))
    header_idx = next((i for i, r in enumerate(records) if any(c.strip() for c in r)), None)
    width = len(records[header_idx]) if header_idx is not None else 0
    issues: list[str | None] = []
    cols: list[list[str | None]] = [[] for _ in range(width)]
    for rec in records:
        n = len(rec)
        issue = None
        if n > width:
            extra = rec[width:]
            if any(c.strip() for c in extra):
                shown = ", ".join(repr(c[:80]) for c in extra[:10])
                more = f" (+{len(extra) - 10} more)" if len(extra) > 10 else ""
                issue = (
                    f"row has {n} cells but the header has {width} columns; "
                    f"extra values not imported: {shown}{more}"
                )
        issues.append(issue)
        for j in range(width):
            cell = rec[j] if j < n else None
            cols[j].append(cell if cell else None)
    names = [f"c{j}" for j in range(width)]
    frame = pl.DataFrame(
        [pl.Series(names[j], cols[j], dtype=pl.String) for j in range(width)]
        + [pl.Series(SOURCE_ROW, starts, dtype=pl.Int64)]
    )
    return _Raw(frame, names, issues)


def _check_closed(path: Path, tail: list[str], delim: str, start: int, total: int) -> None:
    try:
        for _ in csv.reader(tail, delimiter=delim, strict=True):
            pass
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise SourceError(
                f"{path}: line {start}: a quoted cell opened on this line is never closed, so "
                f"the rest of the file (lines {start}-{total}) would be read as one cell. Close "
                'the quote (a quote inside a quoted cell is written twice: "") and try again.',
                path=str(path),
            ) from exc


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
            candidate = f"{name}_{k}"
        seen.add(candidate.strip().casefold())
        out.append(candidate)
    return out


def unneutralise(value: str) -> str:
    """Undo the leading apostrophe syncer adds to formula-like cells in results files."""
    if len(value) > 1 and value[0] == "'" and value[1] in NEUTRALISED:
        return value[1:]
    return value


def _unneutralise_expr(name: str) -> pl.Expr:
    col = pl.col(name)
    hit = col.str.starts_with("'") & col.str.slice(1, 1).is_in(list(NEUTRALISED))
    return pl.when(hit).then(col.str.slice(1)).otherwise(col).alias(name)


def _blank_expr(names: Iterable[str]) -> pl.Expr:
    names = list(names)
    if not names:
        return pl.lit(True)
    return pl.all_horizontal(
        pl.col(n).is_null() | (pl.col(n).str.strip_chars().str.len_bytes() == 0) for n in names
    )


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
    blank = frame.select(_blank_expr(raw.names).alias("b"))["b"]
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
    body = body.with_columns(_unneutralise_expr(n) for n in names)
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


# --------------------------------------------------------------------------- Excel

_HEADER_SCAN_ROWS = 200


def _excel_error(path: Path, exc: Exception) -> SourceError:
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    return SourceError(
        f"{path} cannot be opened as an Excel workbook ({detail}). If it is password-protected, "
        "remove the password; otherwise open it in Excel and save it again as .xlsx or CSV.",
        path=str(path),
    )


def _read_excel(path: Path, kind: str, sheet: str | int | None) -> SourceTable:
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
                "pick one with data (--sheet or source.sheet in the mapping).",
                path=str(path),
            )
        h, header = top
        # skip_rows=0 makes header_row an absolute row index (else leading blank rows are skipped)
        try:
            typed = reader.load_sheet(
                idx, header_row=h, skip_rows=0, schema_sample_rows=None
            ).to_polars()
        except Exception:  # mixed types or error cells the typed reader refuses: plain text
            typed = reader.load_sheet(idx, header_row=h, skip_rows=0, dtypes="string").to_polars()
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
    return _finish(path, _Raw(frame, raw_names, None), kind, None, None, sheets[idx])


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


def _excel_text(s: pl.Series) -> pl.Series:
    """Render one typed Excel column as text a person would recognise, without mangling."""
    dt = s.dtype
    if dt == pl.String:
        return s
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
