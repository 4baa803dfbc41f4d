"""Results workbooks (syncer.xlsx) and the results files' formats: what Excel (openpyxl here)
and syncer's own reader see in them, the formula-like rule, CSV delimiters and encodings."""

from __future__ import annotations

import codecs
import datetime as dt
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from pipeline_helpers import run

from syncer.errors import ConfigError
from syncer.formulas import formula_like, is_formula_like
from syncer.mapping import Mapping
from syncer.results import (
    OutputFiles,
    output_files,
    write_outputs,
)
from syncer.results_reading import read_results, results_table
from syncer.runner import Prepared, prepare
from syncer.sources import SourceTable, read_source
from syncer.xlsx import MAX_ROWS, Sheet, TooLarge, write_workbook
from syncer.xlsx import sheet as sheet_module

RED = "FFFFC7CE"


def book(path: Path, sheet: Sheet, summary: list[tuple[str, object]] | None = None) -> Path:
    with path.open("wb") as fh:
        write_workbook(fh, sheet, summary or [("rows", sheet.frame.height)])
    return path


def fill(cell: object) -> str | None:
    f = cell.fill  # type: ignore[attr-defined]
    return str(f.fgColor.rgb) if f is not None and f.fill_type == "solid" else None


# ---------------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example","x")',
        "+1+cmd|' /C calc'!A0",
        "@SUM(1)",
        "-A1",
        "=1+1",
        "\t=1",
        "\r=1",
        "+49 30 1234567 ext. 5",
    ],
)
def test_formula_like_values_are_neutralised(value: str) -> None:
    assert is_formula_like(value)
    assert pl.select(formula_like(pl.lit(value))).item()


@pytest.mark.parametrize(
    "value",
    ["+49 30 1234567", "+1 (415) 555-0100", "-12.5", "+3", "-1.5e10", "+44 20 7946 0958", "-",
     "+49\u00a030 123", "+49 30/1234567", "plain", "a=b", "1-2"],
)  # fmt: skip
def test_phone_numbers_and_signed_numbers_are_data(value: str) -> None:
    assert not is_formula_like(value)
    assert not pl.select(formula_like(pl.lit(value))).item()


# ---------------------------------------------------------------------------------- workbooks

FRAME = pl.DataFrame(
    {
        "source_row": [2, 3, 4, 5],
        "status": ["succeeded", "invalid", "failed", "not_attempted"],
        "Name": ['=HYPERLINK("x")', 'a & <b> "q"', " padded ", "ctl\x01 _x0041_ cr\r\nlf"],
        "Score": ["12.5", "42", "1000000000000000.0", None],
        "Signed up": ["2024-03-01", "2024-03-01T12:30:00", "2024-03-01T12:30:00.123", None],
        "Opted in": ["TRUE", "FALSE", None, "TRUE"],
        "Phone": ["+49 30 1234567", "-12.5", "+1+cmd|' /C calc'!A0", "@SUM(1)"],
    },
    schema_overrides={"source_row": pl.Int64},
)
TYPES = {"Score": "number", "Signed up": "date", "Opted in": "bool"}


def test_a_workbook_holds_the_rows_typed_styled_and_frozen(tmp_path: Path) -> None:
    marks = {"Phone": pl.Series([None, 'Phone "-12.5" is not valid', None, None])}
    path = book(tmp_path / "r.xlsx", Sheet("Leads", FRAME, TYPES, "status", marks))
    assert zipfile.ZipFile(path).testzip() is None
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Leads", "Summary"]
    ws = wb["Leads"]
    assert ws.freeze_panes == "A2"
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == tuple(FRAME.columns)
    assert [r[0] for r in rows[1:]] == [2, 3, 4, 5]  # numbers
    assert [r[3] for r in rows[1:]] == [12.5, 42, 1e15, None]
    assert [r[4] for r in rows[1:]] == [
        dt.datetime(2024, 3, 1),
        dt.datetime(2024, 3, 1, 12, 30),
        dt.datetime(2024, 3, 1, 12, 30, 0, 123000),
        None,
    ]
    assert [r[5] for r in rows[1:]] == [True, False, None, True]
    # status cells by status; the marked cell red with its comment; nothing else marked
    assert [fill(ws.cell(i, 2)) for i in range(2, 6)] == [
        "FFC6EFCE", RED, RED, "FFFFEB9C",
    ]  # fmt: skip
    assert fill(ws["G3"]) == RED and ws["G3"].comment.text == 'Phone "-12.5" is not valid'
    commented = [c.coordinate for row in ws.iter_rows() for c in row if c.comment]
    assert commented == ["G3"]
    assert list(wb["Summary"].values) == [("rows", 4)]


def test_data_cells_that_look_like_formulas_are_text_with_a_quote_prefix(tmp_path: Path) -> None:
    ws = openpyxl.load_workbook(book(tmp_path / "r.xlsx", Sheet("R", FRAME))).active
    assert ws is not None
    for ref, value, quoted in [
        ("C2", '=HYPERLINK("x")', True),
        ("G4", "+1+cmd|' /C calc'!A0", True),
        ("G5", "@SUM(1)", True),
        ("G2", "+49 30 1234567", False),  # a phone number: no prefix
        ("G3", "-12.5", False),
    ]:
        cell = ws[ref]
        assert (cell.value, cell.data_type, cell.quotePrefix) == (value, "s", quoted), ref
    with zipfile.ZipFile(tmp_path / "r.xlsx") as z:
        assert b"<f>" not in z.read("xl/worksheets/sheet1.xml")  # never a formula


def test_syncer_reads_its_workbook_back_exactly(tmp_path: Path) -> None:
    """Escapes (XML, control characters, CR, Excel's own _xHHHH_, edge spaces) and typed
    cells come back as the text they were written from."""
    path = book(tmp_path / "r.xlsx", Sheet("R", FRAME, TYPES, "status"))
    back = read_source(path)
    cols = FRAME.columns[1:]
    got = back.frame.select(back.columns[1:]).rows()
    assert got == FRAME.select(cols).rows()
    assert back.types == {"source_row (source)": "number", **TYPES}


def test_the_source_reader_records_typed_columns_and_the_writer_keeps_them(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Email", "Score", "Joined", "Stamp", "VIP", "Note"])
    late, early = dt.datetime(2024, 2, 29, 23, 59, 59), dt.datetime(1950, 1, 1, 0, 0, 1, 500000)
    ws.append(["a@x.example", 0.1, dt.date(1999, 12, 31), late, True, "x"])
    ws.append(["b@x.example", -3, dt.date(2030, 1, 1), early, False, "y"])
    ws.append(["c@x.example", 123456789012, None, None, None, None])
    src = tmp_path / "src.xlsx"
    wb.save(src)
    table = read_source(src)
    assert table.types == {"Score": "number", "Joined": "date", "Stamp": "date", "VIP": "bool"}
    frame = table.frame.select(table.columns)
    again = read_source(book(tmp_path / "again.xlsx", Sheet("S", frame, table.types)))
    assert again.frame.select(again.columns).rows() == frame.rows()
    assert again.types == table.types


def test_more_rows_than_a_sheet_holds_is_too_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert MAX_ROWS == 1_048_575
    monkeypatch.setattr(sheet_module, "MAX_ROWS", 3)
    with pytest.raises(TooLarge, match="at most 3"):
        book(tmp_path / "r.xlsx", Sheet("R", FRAME))


def test_rows_are_written_a_chunk_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sheet_module, "CHUNK_ROWS", 3)
    frame = pl.DataFrame({"n": [str(i) for i in range(10)]})
    ws = openpyxl.load_workbook(book(tmp_path / "r.xlsx", Sheet("R", frame))).active
    assert ws is not None
    assert [c.value for c in ws["A"]] == ["n", *[str(i) for i in range(10)]]
    assert [c.row for c in ws["A"]] == list(range(1, 12))


# ------------------------------------------------------------------- results files of a run

ROWS = [
    {"Email": "ann@x.example", "Phone": "+49 30 1234567", "Site": "https://a.example",
     "LinkedIn": "https://linkedin.com/in/a"},
    {"Email": "bad@", "Phone": "+1 415 555 0100", "Site": "nope",
     "LinkedIn": "https://linkedin.com/in/b"},
    {"Email": "cy@x.example", "Phone": "12", "Site": "https://c.example", "LinkedIn": "no"},
]  # fmt: skip
COLUMNS = {
    "email": "Email",
    "phone_number": {"column": "Phone", "format": "e164", "default_region": "US"},
    "account_website": "Site",
    "contact_linkedin_url": "LinkedIn",
}


def test_the_offending_cell_of_each_error_is_marked(tmp_path: Path) -> None:
    """Two URL fields give the same code: the message names the column it is about."""
    p = run(ROWS, COLUMNS)
    files = OutputFiles(xlsx=(tmp_path / "r.xlsx", tmp_path / "f.xlsx"))
    written = write_outputs(p, None, files)
    assert written.counts == {"invalid": 2, "ready": 1}
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx")["Results"]
    header = [c.value for c in ws[1]]
    col = {name: openpyxl.utils.get_column_letter(header.index(name) + 1) for name in header}
    notes = {c.coordinate: c.comment.text for row in ws.iter_rows() for c in row if c.comment}
    assert notes == {
        f"{col['Email']}3": 'Email "bad@" is not a valid e-mail address: There must be '
        "something after the @-sign.",
        f"{col['Site']}3": 'Site "nope" is not a valid web address',
        f"{col['Phone']}4": 'Phone "12" is not a valid phone number (default region US)',
        f"{col['LinkedIn']}4": 'LinkedIn "no" is not a valid web address',
    }
    assert all(fill(ws[ref]) == RED for ref in notes)
    assert fill(ws[f"{col['LinkedIn']}3"]) is None and fill(ws[f"{col['Email']}2"]) is None
    # the failures workbook: the same cells of its own rows, which are rows 2 and 3 there
    fws = openpyxl.load_workbook(tmp_path / "f.xlsx")["Failures"]
    fheader = [c.value for c in fws[1]]
    assert fheader == ["Email", "Phone", "Site", "LinkedIn", "error"]
    fnotes = {c.coordinate for row in fws.iter_rows() for c in row if c.comment}
    assert fnotes == {"A2", "C2", "B3", "D3"}
    summary = dict(openpyxl.load_workbook(tmp_path / "r.xlsx")["Summary"].values)
    assert (summary["rows"], summary["ready"], summary["invalid"]) == (3, 1, 2)
    assert (summary["invalid_url"], summary["invalid_email"], summary["invalid_phone"]) == (2, 1, 1)


def test_a_results_workbook_is_read_back_like_a_csv(tmp_path: Path) -> None:
    p = run(ROWS, COLUMNS)
    write_outputs(p, None, output_files(tmp_path / "in.xlsx", tmp_path / "r.csv", "both"))
    cols_csv, frame_csv = read_results(tmp_path / "r.csv")
    cols_xlsx, frame_xlsx, table = results_table(tmp_path / "r.xlsx")
    assert cols_xlsx == cols_csv == ["Email", "Phone", "Site", "LinkedIn"]
    assert frame_xlsx.equals(frame_csv)
    assert table.format == "xlsx"
    assert read_source(tmp_path / "r.failures.xlsx").columns == [*cols_csv, "error (source)"]


def test_a_workbook_excel_cannot_hold_becomes_its_csv_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sheet_module, "MAX_ROWS", 2)
    p = run(ROWS, COLUMNS)
    (tmp_path / "r.xlsx").write_bytes(b"an earlier run's workbook")
    written = write_outputs(p, None, output_files(tmp_path / "in.csv", tmp_path / "r.xlsx"))
    assert written.files == OutputFiles(csv=(tmp_path / "r.csv", tmp_path / "r.failures.csv"))
    assert written.notes == [
        "no results workbook: 3 rows: a sheet holds at most 2 (Excel's limits); every row is in "
        "r.csv"
    ]
    assert read_results(tmp_path / "r.csv")[1].height == 3
    assert not (tmp_path / "r.xlsx").exists()


# ---------------------------------------------------------------------------- formats, names


def test_output_files_by_format() -> None:
    d = Path("/d")
    assert output_files(d / "leads.csv") == OutputFiles(
        csv=(d / "leads.results.csv", d / "leads.failures.csv")
    )
    assert output_files(d / "leads.xlsx") == OutputFiles(
        csv=(d / "leads.results.csv", d / "leads.failures.csv"),
        xlsx=(d / "leads.results.xlsx", d / "leads.failures.xlsx"),
    )
    assert output_files(d / "leads.XLS", fmt="csv").xlsx is None
    only = output_files(d / "leads.csv", fmt="xlsx")
    assert (only.csv, only.results, only.failures) == (
        None, d / "leads.results.xlsx", d / "leads.failures.xlsx",
    )  # fmt: skip
    assert output_files(d / "leads.csv", fmt="csv-utf8").utf8
    asked = output_files(d / "leads.csv", Path("/o/out.xlsx"))  # a workbook path asks for one
    assert asked == OutputFiles(xlsx=(Path("/o/out.xlsx"), Path("/o/out.failures.xlsx")))
    retry = output_files(d / "leads.results.xlsx", retry=True)
    assert retry.paths == [
        d / "leads.retry.results.csv", d / "leads.retry.failures.csv",
        d / "leads.retry.results.xlsx", d / "leads.retry.failures.xlsx",
    ]  # fmt: skip
    with pytest.raises(ConfigError, match=r"--results /o/out.xlsx names a workbook"):
        output_files(d / "leads.csv", Path("/o/out.xlsx"), "csv")
    with pytest.raises(ConfigError, match="is not a results format"):
        output_files(d / "leads.csv", fmt="ods")


# ------------------------------------------------------------------------------ CSV encodings


def german(tmp_path: Path, rows: list[str], encoding: str = "cp1252", bom: bytes = b"") -> Path:
    src = tmp_path / "kontakte.csv"
    text = "E-Mail;Vorname;Telefon\r\n" + "".join(f"{r}\r\n" for r in rows)
    src.write_bytes(bom + text.encode(encoding))
    return src


GERMAN = {"email": "E-Mail", "first_name": "Vorname", "phone_number": "Telefon"}


def prepared_from(src: Path | SourceTable) -> Prepared:
    return prepare(src, Mapping.model_validate({"columns": GERMAN}))


def test_a_cp1252_semicolon_export_gets_cp1252_semicolon_results(tmp_path: Path) -> None:
    src = german(tmp_path, ["jürgen@x.example;Jürgen;+49 30 1234567", "bad;Zoë;=1+1"])
    written = write_outputs(prepared_from(src), None, output_files(src))
    assert written.notes == []
    raw = (tmp_path / "kontakte.results.csv").read_bytes()
    assert not raw.startswith(codecs.BOM_UTF8)
    text = raw.decode("cp1252")
    assert text.splitlines()[0].startswith("source_row;status;error;warnings;E-Mail;Vorname")
    assert "Jürgen;+49 30 1234567;" in text  # the phone number without an apostrophe
    assert "Zoë;'=1+1;" in text
    failures = (tmp_path / "kontakte.failures.csv").read_bytes().decode("cp1252")
    assert failures.startswith("E-Mail;Vorname;Telefon;error")
    # and it reads back the same
    _, frame = read_results(tmp_path / "kontakte.results.csv")
    assert frame["Vorname"].to_list() == ["Jürgen", "Zoë"]
    assert frame["Telefon"].to_list() == ["+49 30 1234567", "=1+1"]


def test_a_character_cp1252_cannot_hold_makes_it_utf8_with_a_bom_and_a_note(
    tmp_path: Path,
) -> None:
    src = german(tmp_path, ["jürgen@x.example;Jürgen;"])
    outcomes = pl.DataFrame(
        {"source_row": [2], "status": ["failed"], "error": ["Fehler → später"],
         "error_code": ["rejected"]}
    )  # fmt: skip
    written = write_outputs(prepared_from(src), outcomes, output_files(src))
    assert written.notes == [
        "kontakte.results.csv is UTF-8 with a byte-order mark, not cp1252 like the source: "
        "cp1252 has no '→' (Excel opens it all the same)",
        "kontakte.failures.csv is UTF-8 with a byte-order mark, not cp1252 like the source: "
        "cp1252 has no '→' (Excel opens it all the same)",
    ]
    raw = (tmp_path / "kontakte.results.csv").read_bytes()
    assert raw.startswith(codecs.BOM_UTF8) and b";" in raw.splitlines()[0]
    assert "Fehler → später" in raw.decode("utf-8-sig")
    assert read_results(tmp_path / "kontakte.results.csv")[1]["error"].item() == "Fehler → später"


def test_csv_utf8_forces_utf8_and_commas(tmp_path: Path) -> None:
    src = german(tmp_path, ["jürgen@x.example;Jürgen;"])
    write_outputs(prepared_from(src), None, output_files(src, fmt="csv-utf8"))
    raw = (tmp_path / "kontakte.results.csv").read_bytes()
    assert raw.decode("utf-8").startswith("source_row,status,error,warnings,E-Mail,Vorname")
    assert "Jürgen" in raw.decode("utf-8")


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-8", b"")],
)
def test_unicode_sources_keep_their_encoding_and_mark(
    tmp_path: Path, encoding: str, bom: bytes
) -> None:
    src = german(tmp_path, ["zoe@x.example;Zoë 😀;"], encoding, bom)
    write_outputs(prepared_from(src), None, output_files(src))
    raw = (tmp_path / "kontakte.results.csv").read_bytes()
    assert raw.startswith(bom) and (bom or not raw.startswith(codecs.BOM_UTF8))
    assert "Zoë 😀" in raw[len(bom) :].decode(encoding)
    assert read_results(tmp_path / "kontakte.results.csv")[1]["Vorname"].item() == "Zoë 😀"


def test_a_retry_keeps_the_results_files_format(tmp_path: Path) -> None:
    src = german(tmp_path, ["a@x.example;Änne;"])
    p = prepared_from(src)
    outcomes = pl.DataFrame(
        {"source_row": [2], "status": ["failed"], "error": ["503"], "error_code": ["server"]}
    )
    write_outputs(p, outcomes, output_files(src))
    cols, frame, table = results_table(tmp_path / "kontakte.results.csv")
    assert (table.encoding, table.delimiter, cols) == (
        "cp1252",
        ";",
        ["E-Mail", "Vorname", "Telefon"],
    )
    rows = replace(table, frame=frame.select("source_row", *cols), columns=cols, blank_rows=0)
    again = prepared_from(rows)
    write_outputs(again, None, output_files(rows.path, retry=True))
    out = (tmp_path / "kontakte.retry.results.csv").read_bytes().decode("cp1252")
    assert out.startswith("source_row;status;") and "Änne" in out


def test_repeating_columns_go_to_the_shared_strings_and_read_back_exactly(
    tmp_path: Path,
) -> None:
    """Columns whose values repeat are written once each in the shared strings table; their
    cells look and read the same as inline ones (styles, quote prefix, escapes)."""
    values = ["=1+1", "a & <b>", " padded", "ctl\x01 _x0041_", "+49 30 1234567", None]
    n = 60
    frame = pl.DataFrame(
        {
            "status": [("succeeded", "invalid", "failed")[i % 3] for i in range(n)],
            "Repeats": [values[i % len(values)] for i in range(n)],
            "Unique": [f"u{i} & <{i}>" for i in range(n)],
        }
    )
    path = book(tmp_path / "r.xlsx", Sheet("R", frame, status="status"))
    with zipfile.ZipFile(path) as z:
        sst = z.read("xl/sharedStrings.xml").decode()
        sheet_xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert sst.count("<si>") == 3 + len(values) - 1  # statuses and the column's values
    assert 't="s"' in sheet_xml and "u7 &amp; &lt;7&gt;" in sheet_xml  # unique: inline
    back = read_source(path)
    assert back.frame.select(back.columns).rows() == frame.rows()
    ws = openpyxl.load_workbook(path).active
    assert ws is not None
    assert [fill(ws.cell(r, 1)) for r in (2, 3, 4)] == ["FFC6EFCE", RED, RED]
    assert (ws["B2"].value, ws["B2"].quotePrefix) == ("=1+1", True)
    assert (ws["B6"].value, ws["B6"].quotePrefix) == ("+49 30 1234567", False)
    assert ws["B7"].value is None and ws["B3"].value == "a & <b>"


def test_a_cell_or_a_width_excel_cannot_hold_is_too_large(tmp_path: Path) -> None:
    long = pl.DataFrame({"Note": ["x" * 32_767, "é" * 20_000]})  # 40,000 bytes, fits
    book(tmp_path / "ok.xlsx", Sheet("R", long))
    too_long = pl.DataFrame({"Note": ["short", "y" * 32_768]})
    with pytest.raises(TooLarge, match="a cell of column 'Note' holds 32,768 characters"):
        book(tmp_path / "long.xlsx", Sheet("R", too_long))
    wide = pl.DataFrame({f"c{i}": ["v"] for i in range(16_385)})
    with pytest.raises(TooLarge, match="16,385 columns: a sheet holds at most 16,384"):
        book(tmp_path / "wide.xlsx", Sheet("R", wide))
