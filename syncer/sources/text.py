"""Text files: decoding (BOMs, UTF-8, charset-normalizer), delimiter sniffing, parsing.

A fast polars parse is used when the file is regular; anything odd (ragged rows, stray quotes,
quoted newlines, CR-only or mixed line ends) goes through Python's csv module, which knows the
line each record starts on and reports unterminated quotes.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from pathlib import Path

import polars as pl

from syncer.errors import SourceError
from syncer.sources._table import (
    DELIMITERS,
    SOURCE_ROW,
    TEXT_EXTENSIONS,
    SourceTable,
    _finish,
    _Raw,
)

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


def read_text(
    path: Path, encoding: str | None, delimiter: str | None, head_rows: int | None = None
) -> SourceTable:
    """Read a delimited text file (``head_rows``: only about the first that many lines).

    A UTF-8 file goes to polars as bytes (polars validates the UTF-8, nothing is decoded twice);
    any other encoding is decoded once and re-encoded as UTF-8 for polars.
    """
    data = path.read_bytes() if head_rows is None else _head_bytes(path, head_rows)
    table = _read_bytes(path, data, encoding, delimiter)
    table.bom = any(data.startswith(bom) for bom, _ in _BOMS)
    return table


def _read_bytes(
    path: Path, data: bytes, encoding: str | None, delimiter: str | None
) -> SourceTable:
    if _maybe_utf8(data, encoding):
        bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
        body = data[bom:] if bom else data
        head = body[:_SNIFF_CHARS].decode("utf-8", errors="ignore")
        delim = _check_head(path, head, delimiter, len(data) <= _SNIFF_CHARS)
        raw = _parse_fast(body, delim)
        if raw is not None:
            return _finish(path, raw, "csv", "utf-8", delim, None)
    text, used = _decode(path, data, encoding)
    delim = _check_head(path, text[:_SNIFF_CHARS], delimiter, True)
    raw = None
    if used != "utf-8":
        raw = _parse_fast(text.encode("utf-8"), delim)
    if raw is None:
        raw = _parse_python(path, text, delim)
    return _finish(path, raw, "csv", used, delim, None)


def _head_bytes(path: Path, lines: int) -> bytes:
    """The file's first whole lines, at least ``lines`` of them when it has that many (the
    whole file when it is shorter, or when a UTF-16/32 byte-order mark makes lines unsplittable
    by byte)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        data = fh.read(1 << 20)
        while len(data) < size and data.count(b"\n") <= lines:
            more = fh.read(len(data))
            if not more:
                break
            data += more
    if len(data) >= size or any(data.startswith(b) for b, n in _BOMS if n != "utf-8"):
        return data if len(data) >= size else path.read_bytes()
    return data[: data.rfind(b"\n") + 1] or data


def _maybe_utf8(data: bytes, encoding: str | None) -> bool:
    if encoding is not None:
        try:
            return codecs.lookup(encoding).name == "utf-8"
        except LookupError:
            return False
    if any(data.startswith(bom) for bom, name in _BOMS if name != "utf-8"):
        return False
    return not _looks_binary(data[:8192])


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
    from charset_normalizer import from_bytes  # ~40 ms to import: only for non-UTF-8 files

    sample = data[:_ENCODING_SAMPLE]
    # Western exports are by far the most common: take cp1252 whenever it reads cleanly, since
    # charset-normalizer cannot tell cp1252 from cp1250/cp932 on a few accented bytes.
    western = from_bytes(sample, cp_isolation=["cp1252"]).best()
    guess = from_bytes(sample).best()
    best_chaos = guess.chaos if guess is not None else 1.0
    candidates: list[str] = []
    if western is not None and western.chaos <= max(0.1, best_chaos + 0.05):
        candidates.append("cp1252")
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
        if counts[0] > 1:  # it splits the header: rank by the rows that agree with the header
            # (a short file whose one-cell footer lines outnumber its rows is still comma-split)
            score = (True, round(counts.count(counts[0]) / len(counts), 2), counts[0], -rank)
        if best is None or score > best:
            best, chosen = score, delim
    return chosen


def _check_head(path: Path, head: str, delimiter: str | None, whole: bool) -> str:
    """Refuse what is not a CSV (from the first 64 KB) and settle the delimiter."""
    ext = path.suffix.lower()
    stripped = head.lstrip()
    if not stripped and whole:
        raise SourceError(f"{path} has no content (only blank lines).", path=str(path))
    if ext not in TEXT_EXTENSIONS and stripped[:1] in ("{", "[", "<"):
        raise SourceError(
            f"{path} does not look like a CSV file (it starts with {stripped[0]!r}). "
            "Give a .csv, .tsv, .txt, .xlsx or .xls file.",
            path=str(path),
        )
    delim = (
        _norm_delimiter(delimiter)
        if delimiter
        else sniff_delimiter(head, TEXT_EXTENSIONS.get(ext, ","))
    )
    if ext not in TEXT_EXTENSIONS and not delimiter and not _csv_like(head, delim):
        raise SourceError(
            f"{path} does not look like a CSV file (no consistent ',', ';', tab or '|' columns). "
            "Give a .csv/.tsv/.txt file, or set the delimiter.",
            path=str(path),
        )
    return delim


def _csv_like(text: str, delim: str) -> bool:
    rows = [r for r in csv.reader(io.StringIO(text[:_SNIFF_CHARS], newline=""), delimiter=delim)]
    rows = [r for r in rows[:50] if any(c.strip() for c in r)]
    return bool(rows) and len(rows[0]) > 1


def polars_cells(data: bytes, delim: str) -> pl.DataFrame | None:
    """``data`` parsed by polars as text cells (generic column names, a quoted empty cell as
    null like an unquoted one), or None when it needs the careful Python parser: invalid UTF-8,
    ragged rows, stray quotes, quoted newlines, CR-only or mixed line ends. The whole-file fast
    parse and the large-file batches (:mod:`syncer.sources.batches`) both read with it."""
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return None
    try:
        df = pl.read_csv(
            data,
            has_header=False,
            infer_schema=False,
            separator=delim,
            quote_char='"',
            raise_if_empty=False,
            truncate_ragged_lines=False,
        )
    except Exception:  # polars' parse and UTF-8 errors: decode and/or use the careful path
        return None
    if df.width == 0 and data.strip():
        return None
    quoted = b'"' in data
    if quoted and df.width:
        has_nl = df.select(pl.any_horizontal(pl.all().str.contains("\n", literal=True).any()))
        if bool(has_nl.item()):
            return None  # quoted newlines: line numbers and unterminated quotes need care
    names = df.columns
    # quoted empty cells read as "": make every empty cell null (a scan of the columns costs
    # less than looking for "" in the bytes: ~1 ms against 150 ms per 175 MB)
    empty = (
        df.select((pl.col(n).str.len_bytes() == 0).any() for n in names).row(0)
        if quoted and names
        else ()
    )
    if any(empty):
        df = df.with_columns(
            pl.when(pl.col(n).str.len_bytes() == 0).then(None).otherwise(pl.col(n)).alias(n)
            for n, has in zip(names, empty, strict=True)
            if has
        )
    return df


def _parse_fast(data: bytes, delim: str) -> _Raw | None:
    """Parse a regular UTF-8 file with polars (:func:`polars_cells`); None when it needs the
    careful Python parser."""
    df = polars_cells(data, delim)
    if df is None:
        return None
    names = df.columns
    # one record per line: row i of the frame starts on line i + 1
    df = df.with_columns(pl.int_range(1, df.height + 1, dtype=pl.Int64).alias(SOURCE_ROW))
    # one chunk per column now, once: polars would otherwise copy the parse's chunks of every
    # column into one (their views) at each later call mixing them with ``source_row``, and
    # keep none of the copies until the last (the blank-row test, the apostrophe scan...)
    return _Raw(df.rechunk(), names, issues=None)


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
