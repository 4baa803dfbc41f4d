"""Every corpus file is read into a table or refused with a clear SourceError; where the corpus
states the expected parse (csv-spectrum, csvkit's UTF-16 files), our reading matches it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _corpus import CORPUS, corpus_files, ids, requires_corpus

from syncer.errors import SourceError
from syncer.sources import SOURCE_ROW, read_source

pytestmark = [requires_corpus, pytest.mark.timeout(60)]
FILES = corpus_files()

#: files that cannot be used, and a word their message must contain
REFUSED = {
    "calamine/tests/pass_protected.xlsx": "password",
    "python-calamine/tests/data/password.xlsx": "password",
    "python-calamine/tests/data/password.xls": "password",
    "messytables/horror/encrypted_no_password.xls": "password",
    "calamine/tests/too_small.xls": "not an Excel workbook",
    "python-calamine/tests/data/empty_file.xlsx": "empty",
    "frictionless-py/data/empty.csv": "empty",
    "ghost-members/packages/members-csv/test/fixtures/empty.csv": "empty",
    "csvkit/examples/empty.csv": "no content",
    "calamine/tests/empty_sheet.xlsx": "is empty",
    "fastexcel/tests/fixtures/empty.xlsx": "is empty",
}


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_every_file_reads_or_is_refused_clearly(path: Path) -> None:
    rel = str(path.relative_to(CORPUS))
    try:
        table = read_source(path)
    except SourceError as err:
        assert str(path) in err.message
        assert "\n" not in err.message
        if rel in REFUSED:
            assert REFUSED[rel] in err.message
        return
    assert rel not in REFUSED, f"{rel} should have been refused"
    frame = table.frame
    assert frame.columns[0] == SOURCE_ROW
    assert frame.columns[1 : 1 + len(table.columns)] == table.columns
    rows = frame[SOURCE_ROW].to_list()
    assert rows == sorted(set(rows)) and all(r >= 2 for r in rows)


SPECTRUM = sorted((CORPUS / "csv-spectrum" / "csvs").glob("*.csv")) if FILES else []
SPECTRUM = [p for p in SPECTRUM if p.stem != "location_coordinates"]  # its json is wrong


@pytest.mark.parametrize("path", SPECTRUM, ids=[p.stem for p in SPECTRUM])
def test_csv_spectrum_matches_expected_parse(path: Path) -> None:
    expected = json.loads((path.parent.parent / "json" / f"{path.stem}.json").read_text())
    table = read_source(path)
    got = [
        {k: ("" if v is None else v) for k, v in row.items() if k != SOURCE_ROW}
        for row in table.frame.rows(named=True)
    ]
    assert got == expected


@pytest.mark.parametrize("name", ["test_utf16_big.csv", "test_utf16_little.csv"])
def test_csvkit_utf16_files(name: str) -> None:
    table = read_source(CORPUS / "csvkit" / "examples" / name)
    assert table.columns == ["a", "b", "c"]
    assert table.frame.drop(SOURCE_ROW).rows() == [("1", "2", "3"), ("4", "5", "ʤ")]


def test_csvkit_excel_sheets_match_converted_csv() -> None:
    ex = CORPUS / "csvkit" / "examples"
    for name in ("sheets.xlsx", "sheets.xls"):
        table = read_source(ex / name, sheet="data")
        assert table.columns[:4] == ["text", "date", "integer", "boolean"]
        first = table.frame.row(0, named=True)
        assert (first["text"], first["integer"], first["boolean"]) == (
            "Chicago Reader",
            "40",
            "TRUE",
        )
    assert read_source(ex / "sheets.xls", sheet="data").frame["date"][0] == "1971-01-01"
    with pytest.raises(SourceError, match=r"'nope' not found.*'not this one', 'data'"):
        read_source(ex / "sheets.xlsx", sheet="nope")


@pytest.mark.xfail(
    strict=True, reason="fastexcel/calamine ignores date1904 in some workbooks (4 years off)"
)
def test_date1904_workbook_dates() -> None:
    table = read_source(CORPUS / "csvkit" / "examples" / "sheets.xlsx", sheet="data")
    assert table.frame["date"][0] == "1971-01-01"


def test_ragged_and_title_rows_keep_extra_values() -> None:
    table = read_source(CORPUS / "csvkit" / "examples" / "bad.csv")
    issues = [i for i in table.frame["__read_issue"].to_list() if i]
    assert issues and "extra values" in issues[0]
