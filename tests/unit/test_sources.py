"""read_source: text files (encodings, delimiters, quoting, line ends, ragged rows) and Excel."""

from __future__ import annotations

import codecs
import datetime as dt
import time
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from syncer.errors import SourceError
from syncer.sources import READ_ISSUE, SOURCE_ROW, read_source, sniff_delimiter, unique_headers


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def rows(path: Path, **kw: object) -> list[tuple[object, ...]]:
    return read_source(path, **kw).frame.rows()  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- text basics


def test_everything_is_text_and_source_row_is_the_editor_line(tmp_path: Path) -> None:
    p = write(tmp_path, "a.csv", "Id,Phone,Amount\n007,4155551234,1.50\n,,\n008,+1 415,2\n")
    st = read_source(p)
    assert st.columns == ["Id", "Phone", "Amount"]
    assert st.frame.columns == [SOURCE_ROW, "Id", "Phone", "Amount"]
    assert all(t == pl.String for t in st.frame.dtypes[1:])
    assert st.frame[SOURCE_ROW].dtype == pl.Int64
    assert st.frame.rows() == [(2, "007", "4155551234", "1.50"), (4, "008", "+1 415", "2")]
    assert st.blank_rows == 1
    assert (st.format, st.encoding, st.delimiter, st.sheet) == ("csv", "utf-8", ",", None)


def test_header_only_file_has_zero_rows(tmp_path: Path) -> None:
    st = read_source(write(tmp_path, "h.csv", "Email,Name\n"))
    assert st.frame.height == 0 and st.columns == ["Email", "Name"]


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delim: str) -> None:
    body = delim.join(["Email", "Name", "Tags"]) + "\n"
    body += delim.join(["a@x.com", '"Doe, Jane"', "x"]) + "\n"
    st = read_source(write(tmp_path, "d.txt", body))
    assert st.delimiter == delim
    assert st.frame.row(0) == (2, "a@x.com", "Doe, Jane", "x")


def test_semicolon_file_with_decimal_commas_is_not_read_as_commas() -> None:
    text = "Name;Price;Qty\nA;1,5;2\nB;2,75;3\nC;3;4\n"
    assert sniff_delimiter(text) == ";"


def test_explicit_delimiter_wins(tmp_path: Path) -> None:
    p = write(tmp_path, "x.csv", "a;b,c\n1;2,3\n")
    assert read_source(p, delimiter=";").columns == ["a", "b,c"]
    assert read_source(p, delimiter="comma").columns == ["a;b", "c"]
    with pytest.raises(SourceError, match="one character"):
        read_source(p, delimiter=";;")


# ----------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", b""),
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("cp1252", b""),
    ],
)
def test_encodings_are_detected(tmp_path: Path, encoding: str, bom: bytes) -> None:
    text = "Name,City,Note\nJosé Álvarez,Zürich,café – 5€\nRenée,Köln,naïve\n"
    p = write(tmp_path, "e.csv", bom + text.encode(encoding))
    st = read_source(p)
    assert st.columns == ["Name", "City", "Note"]  # BOM stripped from the first header
    assert st.frame.rows() == [
        (2, "José Álvarez", "Zürich", "café – 5€"),
        (3, "Renée", "Köln", "naïve"),
    ]
    assert st.encoding == ("cp1252" if encoding == "cp1252" else encoding)


def test_explicit_encoding_and_bad_encoding(tmp_path: Path) -> None:
    p = write(tmp_path, "l.csv", "Name\nGrüße\n".encode("latin-1"))
    assert rows(p, encoding="latin-1") == [(2, "Grüße")]
    with pytest.raises(SourceError, match="not valid utf-8"):
        read_source(p, encoding="utf-8")
    with pytest.raises(SourceError, match="unknown encoding"):
        read_source(p, encoding="klingon")


# ----------------------------------------------------------------------------- quoting, lines


def test_quoted_newlines_give_the_starting_line(tmp_path: Path) -> None:
    body = 'Email,Note\na@x.com,"line one\nline two\nline three"\nb@x.com,plain\n\nc@x.com,"x"\n'
    st = read_source(write(tmp_path, "q.csv", body))
    assert st.frame.rows() == [
        (2, "a@x.com", "line one\nline two\nline three"),
        (5, "b@x.com", "plain"),
        (7, "c@x.com", "x"),
    ]
    assert st.blank_rows == 1


@pytest.mark.parametrize("eol", ["\r\n", "\r"])
def test_crlf_and_cr_only_line_ends(tmp_path: Path, eol: str) -> None:
    body = eol.join(["a,b", "1,2", '3,"x' + eol + 'y"', "5,6", ""])
    st = read_source(write(tmp_path, "e.csv", body))
    assert st.frame.rows() == [(2, "1", "2"), (3, "3", "x" + eol + "y"), (5, "5", "6")]


def test_nul_byte_in_a_cell_is_kept(tmp_path: Path) -> None:
    assert rows(write(tmp_path, "n.csv", b"a,b\n\x00,2\n")) == [(2, "\x00", "2")]


def test_ragged_rows_short_padded_long_flagged(tmp_path: Path) -> None:
    body = "a,b,c\n1,2\n1,2,3,4,5\n7,8,9,,\n"
    st = read_source(write(tmp_path, "r.csv", body))
    got = st.frame.rows(named=True)
    assert got[0] == {SOURCE_ROW: 2, "a": "1", "b": "2", "c": None, READ_ISSUE: None}
    assert got[1]["c"] == "3"
    assert "'4', '5'" in got[1][READ_ISSUE] and "5 cells" in got[1][READ_ISSUE]
    assert got[2][READ_ISSUE] is None  # empty trailing cells lose nothing


def test_stray_quote_is_read_not_crashed(tmp_path: Path) -> None:
    st = read_source(write(tmp_path, "s.csv", 'a,b\n1,"2"x\n5" screen,3\n'))
    assert st.frame.rows() == [(2, "1", "2x"), (3, '5" screen', "3")]


def test_unterminated_quote_is_reported_with_its_line(tmp_path: Path) -> None:
    body = 'a,b\n1,2\n3,"oops\n5,6\n7,8\n'
    with pytest.raises(SourceError, match=r"line 3: a quoted cell .* never closed"):
        read_source(write(tmp_path, "u.csv", body))


def test_blank_and_duplicate_headers_are_made_unique(tmp_path: Path) -> None:
    st = read_source(write(tmp_path, "h.csv", "Email,,email, Email ,source_row\n1,2,3,4,5\n"))
    assert st.columns == ["Email", "column_2", "email_2", "Email_3", "source_row (source)"]
    assert unique_headers(["x", "x_2", "x"]) == ["x", "x_2", "x_3"]


def test_neutralised_cells_are_restored(tmp_path: Path) -> None:
    body = "Name,Formula\n'=SUM(A1),'+44 20\n'@handle,O'Brien\n"
    assert rows(write(tmp_path, "n.csv", body)) == [
        (2, "=SUM(A1)", "+44 20"),
        (3, "@handle", "O'Brien"),
    ]


# ----------------------------------------------------------------------------- unusable input


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"\n\n  \n", "no content"),
        ("bin.csv", bytes(range(256)) * 8, "looks binary"),
        ("fake.xlsx", b"Email\na@x.com\n", "not an Excel workbook"),
        ("data.json", b'[{"a": 1}]', "does not look like a CSV"),
        ("notes.md", b"# Title\n\nSome prose here.\n", "does not look like a CSV"),
        ("broken.xlsx", b"PK\x03\x04garbage", "cannot be opened as an Excel workbook"),
    ],
)
def test_unusable_files_raise_source_error(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    path = write(tmp_path, name, data)
    with pytest.raises(SourceError, match=message) as info:
        read_source(path)
    assert str(path) in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        read_source(tmp_path / "nope.csv")
    with pytest.raises(SourceError, match="is a folder"):
        read_source(tmp_path)


# ----------------------------------------------------------------------------- hostile input


@pytest.mark.timeout(120)  # a hang guard: the speed is held below, in CPU time
def test_hostile_files_are_fast(tmp_path: Path) -> None:
    huge = "x" * (5 * 1024 * 1024)
    p = write(tmp_path, "big.csv", f'a,b\n1,"{huge}"\n2,3\n')
    # CPU time, not wall time: the work is the same on a busy machine, the wait is not
    # (measured 0.8 s of CPU over 6.5 s of wall clock with both cores taken by other work)
    t = time.process_time()
    st = read_source(p)
    assert st.frame["b"].str.len_chars().to_list() == [len(huge), 1]
    wide = ",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join(["v"] * 10_000) + "\n"
    st = read_source(write(tmp_path, "wide.csv", wide))
    assert len(st.columns) == 10_000 and st.frame.height == 1
    assert time.process_time() - t < 10


# ----------------------------------------------------------------------------- Excel


@pytest.fixture()
def workbook(tmp_path: Path) -> Path:
    wb = openpyxl.Workbook()
    first = wb.active
    first.title = "Notes"
    ws = wb.create_sheet("Leads")
    ws.append([])  # a blank row above the header: header is Excel row 2
    ws.append(["Email", "Phone", "Id", "Signed", "Seen", "Active", "Score", ""])
    ws.append(
        [
            "a@x.com",
            4155551234,
            "00123",
            dt.date(2024, 3, 1),
            dt.datetime(2024, 3, 1, 10),
            True,
            1.5,
        ]
    )
    ws.append([])
    ws.append(
        [
            "b@x.com",
            14155551234,
            "007",
            dt.date(2023, 12, 31),
            dt.datetime(2024, 1, 2),
            False,
            2,
            "x",
        ]
    )
    path = tmp_path / "leads.xlsx"
    wb.save(path)
    return path


def test_excel_values_are_not_mangled(workbook: Path) -> None:
    st = read_source(workbook, sheet="Leads")
    assert st.format == "xlsx" and st.sheet == "Leads"
    assert st.columns == ["Email", "Phone", "Id", "Signed", "Seen", "Active", "Score", "column_8"]
    assert st.frame.rows() == [
        (
            3,
            "a@x.com",
            "4155551234",
            "00123",
            "2024-03-01",
            "2024-03-01T10:00:00",
            "TRUE",
            "1.5",
            None,
        ),
        (5, "b@x.com", "14155551234", "007", "2023-12-31", "2024-01-02", "FALSE", "2", "x"),
    ]
    assert st.blank_rows == 1


def test_text_in_a_typed_excel_column_is_kept(tmp_path: Path) -> None:
    """A phone column of numbers with one number typed as text, a score column with an "n/a":
    the typed reader gives such cells as null; the column is read as text instead."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Email", "Phone", "Score", "Signed"])
    ws.append(["a@x.com", 4930123456, 1.5, dt.date(2024, 3, 1)])
    ws.append(["b@x.com", "+49 30 7654321", "n/a", "soon"])
    ws.append(["c@x.com", 4940111222, 3, dt.date(2024, 3, 2)])
    path = tmp_path / "mixed.xlsx"
    wb.save(path)
    st = read_source(path)
    assert st.frame.rows() == [
        (2, "a@x.com", "4930123456", "1.5", "2024-03-01"),
        (3, "b@x.com", "+49 30 7654321", "n/a", "soon"),
        (4, "c@x.com", "4940111222", "3", "2024-03-02"),
    ]
    assert st.types == {}  # text now: a results workbook writes them as text


def test_excel_default_sheet_is_first_with_data_and_index_works(workbook: Path) -> None:
    assert read_source(workbook).sheet == "Leads"  # "Notes" is empty
    assert read_source(workbook, sheet=1).sheet == "Leads"
    assert read_source(workbook, sheet="leads").sheet == "Leads"


def test_excel_missing_or_empty_sheet_lists_sheets(workbook: Path) -> None:
    with pytest.raises(SourceError, match=r"'Contacts' not found.*'Notes', 'Leads'"):
        read_source(workbook, sheet="Contacts")
    with pytest.raises(SourceError, match="no sheet number 5"):
        read_source(workbook, sheet=5)
    with pytest.raises(SourceError, match="'Notes' is empty"):
        read_source(workbook, sheet="Notes")
