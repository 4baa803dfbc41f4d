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

from pathlib import Path

from syncer.errors import SourceError
from syncer.sources._table import (
    EXCEL_EXTENSIONS,
    NEUTRALISED,
    READ_ISSUE,
    SOURCE_ROW,
    SourceTable,
    unique_headers,
    unneutralise,
)
from syncer.sources.excel import read_excel
from syncer.sources.text import read_text, sniff_delimiter

__all__ = [
    "NEUTRALISED",
    "READ_ISSUE",
    "SOURCE_ROW",
    "SourceTable",
    "read_source",
    "sniff_delimiter",
    "unique_headers",
    "unneutralise",
]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_source(
    path: Path | str,
    *,
    sheet: str | int | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    head_rows: int | None = None,
) -> SourceTable:
    """Read a CSV/TSV/TXT/XLSX/XLS file into a :class:`SourceTable` of text.

    ``head_rows``: read only the first rows (about that many; ``syncer init``'s sample), not
    the whole file. Raises :class:`SourceError` naming the file and what to do when it cannot
    be used.
    """
    path = Path(path)
    size = _check_file(path)
    with path.open("rb") as fh:
        head = fh.read(8)
    kind = _detect_kind(path, head)
    if kind in ("xlsx", "xls"):
        return read_excel(path, kind, sheet, head_rows)
    if size == 0:
        raise SourceError(f"{path} is empty (0 bytes): export the list again.", path=str(path))
    if head_rows is not None:
        try:
            return read_text(path, encoding, delimiter, head_rows)
        except SourceError:
            pass  # the cut may have split a quoted cell: read the whole file, as validate does
    return read_text(path, encoding, delimiter)


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
        raise SourceError(
            f"{path} cannot be read ({exc}): check its permissions, or copy it somewhere readable.",
            path=str(path),
        ) from exc


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
