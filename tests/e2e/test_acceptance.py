"""What a RevOps user hit trying real-world exports through the CLI (no network: validate)."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from .cli_helpers import syncer

MAPPING = """\
target: account_contact
columns:
  email: Email Address
  first_name: First Name
"""


def test_missing_columns_in_a_workbook_name_the_sheet_read_and_the_others(
    tmp_path: Path,
) -> None:
    """A ZoomInfo workbook whose first sheet is a summary: the message must say which sheet was
    read, which others exist, and how to pick one; not only "columns not found"."""
    wb = openpyxl.Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = "Summary"
    summary["A1"] = "Exported from ZoomInfo"
    contacts = wb.create_sheet("Contacts")
    contacts.append(["First Name", "Email Address"])
    contacts.append(["Ann", "ann@zi.example"])
    book = tmp_path / "zi.xlsx"
    wb.save(book)
    mapping = tmp_path / "zi.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")

    res = syncer("validate", book, "--mapping", mapping, cwd=tmp_path)
    assert res.code == 2
    assert "sheet 'Summary'" in res.stderr
    assert "'Contacts'" in res.stderr
    assert "source:" in res.stderr and "sheet:" in res.stderr

    mapping.write_text(MAPPING + "source: {sheet: Contacts}\n", encoding="utf-8")
    res = syncer("validate", book, "--mapping", mapping, "--json", cwd=tmp_path)
    assert res.code == 0, res.stderr
    assert res.json["ready"] == 1

