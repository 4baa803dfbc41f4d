"""An Excel import's results come back as workbooks: the offending cells marked where the
errors are, and the fixed failures workbook sends exactly what the original file would have
(checked in the sandbox's stored contacts). A German cp1252 ';' export gets results it opens
with a double-click, its phone numbers without an apostrophe."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from syncer.sandbox import SandboxHandle

from .robust_helpers import invoke, write_mapping

pytestmark = pytest.mark.timeout(120)

MAPPING = """\
target: account_contact
source: {sheet: Leads}
columns:
  email: Email
  first_name: First Name
  phone_number: {column: Phone, format: e164, default_region: DE}
  account_website: Website
contact_custom_fields:
  cus_field__Score: Score
  cus_field__Signed_up: Signed up
  cus_field__Note: Note
"""
HEADER = ["Email", "First Name", "Phone", "Website", "Score", "Signed up", "Note"]
HOSTILE = '=HYPERLINK("http://evil.example","x")'
RED = "FFFFC7CE"


def rows(tag: str) -> list[list[Any]]:
    """Two good rows and three bad ones (e-mail; phone; website and e-mail), in Excel types."""
    return [
        [f"ann.{tag}@x.example", "Ann", "+49 30 1234567", "https://a.example", 12.5,
         dt.date(2024, 3, 1), "first"],
        [f"bad.{tag}@", "Bea", "030 7654321", "https://b.example", 7,
         dt.datetime(2024, 3, 2, 12, 30), HOSTILE],
        [f"cy.{tag}@x.example", "Cy", "12", "https://c.example", 1e15,
         dt.datetime(2024, 3, 3, 8, 0, 5, 250000), "-2+3"],
        [f"dee.{tag}@x.example", "Dee", "+49 89 111222", "https://d.example", -0.25,
         dt.date(1999, 12, 31), None],
        [f"eve.{tag}-at-x.example", "Eve", "+49 40 333444", "not a site", 3,
         dt.date(2024, 3, 5), "+49 40 333444"],
    ]  # fmt: skip


def write_book(path: Path, data: list[list[Any]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Leads"
    ws.append(HEADER)
    for row in data:
        ws.append(row)
    for line in ws.iter_rows(min_row=2):
        for cell in line:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # data, not a formula (as an export writes it)
    wb.save(path)
    return path


def run(sb: SandboxHandle, tmp: Path, *args: str | Path) -> dict[str, Any]:
    res = invoke(*args, "--json", "--quiet", "--ledger", tmp / "l.db",
                 api_key=sb.api_key, base_url=sb.base_url)  # fmt: skip
    out = res.json
    assert out["exit_code"] == res.code, res.stderr
    return out


def comments(ws: Any) -> dict[str, str]:
    return {c.coordinate: c.comment.text for line in ws.iter_rows() for c in line if c.comment}


def filled(ws: Any) -> set[str]:
    return {
        c.coordinate
        for line in ws.iter_rows(min_row=2)
        for c in line
        if c.fill is not None and c.fill.fill_type == "solid" and c.fill.fgColor.rgb == RED
    }


def test_an_excel_import_marks_where_the_errors_are(
    live_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    mapping = write_mapping(tmp_path, MAPPING)
    src = write_book(tmp_path / "leads.xlsx", rows("a"))
    out = run(live_sandbox, tmp_path, "run", src, "--mapping", mapping)
    assert (out["exit_code"], out["succeeded"], out["invalid"]) == (1, 2, 3)
    assert out["results"] == str(tmp_path / "leads.results.csv")  # the CSV files as ever
    assert out["results_xlsx"] == str(tmp_path / "leads.results.xlsx")
    assert out["failures_xlsx"] == str(tmp_path / "leads.failures.xlsx")

    wb = openpyxl.load_workbook(tmp_path / "leads.results.xlsx")
    assert wb.sheetnames == ["Leads", "Summary"]
    ws = wb["Leads"]
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == [
        "source_row", "status", "error", "warnings", *HEADER,
        "error_code", "reevo_contact_id", "reevo_account_id",
    ]  # fmt: skip
    # columns: E Email, G Phone, H Website; statuses in B
    assert [ws[f"B{r}"].value for r in range(2, 7)] == [
        "succeeded", "invalid", "invalid", "succeeded", "invalid",
    ]  # fmt: skip
    assert {f"B{r}" for r in (3, 4, 6)} <= filled(ws)
    assert ws["B2"].fill.fgColor.rgb == "FFC6EFCE"
    notes = comments(ws)
    assert notes == {
        "E3": 'Email "bad.a@" is not a valid e-mail address: There must be something after '
        "the @-sign.",
        "G4": 'Phone "12" is not a valid phone number (default region DE)',
        "E6": 'Email "eve.a-at-x.example" is not a valid e-mail address: An email address '
        "must have an @-sign.",
        "H6": 'Website "not a site" is not a valid web address',
    }
    assert filled(ws) - {f"B{r}" for r in (3, 4, 6)} == set(notes)
    # numbers and dates as Excel values; formula-like text stays text (quote prefix)
    assert (ws["I2"].value, ws["J2"].value) == (12.5, dt.datetime(2024, 3, 1))
    assert (ws["K3"].value, ws["K3"].data_type, ws["K3"].quotePrefix) == (HOSTILE, "s", True)
    assert (ws["K6"].value, ws["K6"].quotePrefix) == ("+49 40 333444", False)
    summary = dict(wb["Summary"].values)
    assert (summary["rows"], summary["succeeded"], summary["invalid"]) == (5, 2, 3)
    assert (summary["invalid_email"], summary["invalid_phone"], summary["invalid_url"]) == (
        2, 1, 1,
    )  # fmt: skip

    fails = openpyxl.load_workbook(tmp_path / "leads.failures.xlsx")["Leads"]
    assert [c.value for c in fails[1]] == [*HEADER, "error"]
    assert set(comments(fails)) == {"A2", "C3", "A4", "D4"}


@pytest.mark.parametrize("command", ["run", "retry"])
def test_the_fixed_failures_workbook_sends_what_the_original_would_have(
    live_sandbox: SandboxHandle, tmp_path: Path, command: str
) -> None:
    sb = live_sandbox
    mapping = write_mapping(tmp_path, MAPPING)
    src = write_book(tmp_path / "leads.xlsx", rows("a"))
    assert run(sb, tmp_path, "run", src, "--mapping", mapping)["invalid"] == 3
    # fix the failures workbook in place, as someone would in Excel
    failures = tmp_path / "leads.failures.xlsx"
    wb = openpyxl.load_workbook(failures)
    ws = wb["Leads"]
    ws["A2"], ws["C3"] = "bad.a@x.example", "+49 30 999888"
    ws["A4"], ws["D4"] = "eve.a@x.example", "https://e.example"
    wb.save(failures)
    args = [command, failures, "--mapping", mapping]
    out = run(sb, tmp_path, *args)
    assert (out["exit_code"], out["succeeded"], out["rows"]) == (0, 3, 3)

    # the same rows, fixed the same way, straight from a hand-made workbook
    fixed = rows("b")
    fixed[1][0], fixed[2][2] = "bad.b@x.example", "+49 30 999888"
    fixed[4][0], fixed[4][3] = "eve.b@x.example", "https://e.example"
    direct = write_book(tmp_path / "direct.xlsx", fixed)
    assert run(sb, tmp_path, "run", direct, "--mapping", mapping)["succeeded"] == 5

    stored = {c["email"]: c for c in sb.admin.dump()["contacts"]}
    kept = ("first_name", "phone_number", "custom_fields")
    for name in ("bad", "cy", "eve"):
        got, want = stored[f"{name}.a@x.example"], stored[f"{name}.b@x.example"]
        assert {k: got.get(k) for k in kept} == {k: want.get(k) for k in kept}, name
    bea = stored["bad.a@x.example"]
    assert bea["custom_fields"] == {
        "cus_field__Score": "7",
        "cus_field__Signed_up": "2024-03-02T12:30:00",
        "cus_field__Note": HOSTILE,
    }
    assert stored["cy.a@x.example"]["custom_fields"]["cus_field__Signed_up"] == (
        "2024-03-03T08:00:05.250"
    )


def test_a_german_cp1252_export_gets_results_excel_opens_with_a_double_click(
    tmp_path: Path,
) -> None:
    src = tmp_path / "kontakte.csv"
    text = (
        "E-Mail;Vorname;Telefon;Notiz\r\n"
        "jürgen@x.example;Jürgen;+49 30 1234567;Grüße\r\n"
        'bad;Zoë;-12,5;=HYPERLINK("http://evil.example")\r\n'
    )
    src.write_bytes(text.encode("cp1252"))
    mapping = write_mapping(
        tmp_path, "target: account_contact\ncolumns:\n  email: E-Mail\n  first_name: Vorname\n"
    )
    res = invoke("validate", src, "--mapping", mapping, "--json")
    assert res.code == 1, res.stderr
    assert res.json["notes"] == [] and res.json["results_xlsx"] is None
    raw = (tmp_path / "kontakte.results.csv").read_bytes()
    lines = raw.decode("cp1252").splitlines()  # cp1252, as the source
    assert lines[0] == (
        "source_row;status;error;warnings;E-Mail;Vorname;Telefon;Notiz;error_code;"
        "reevo_contact_id;reevo_account_id"
    )
    assert lines[1].startswith("2;ready;;;jürgen@x.example;Jürgen;+49 30 1234567;Grüße;")
    # the signed number is data, the formula gets its apostrophe
    assert lines[2].endswith(
        ';bad;Zoë;-12,5;"\'=HYPERLINK(""http://evil.example"")";invalid_email;;'
    )
    failures = (tmp_path / "kontakte.failures.csv").read_bytes().decode("cp1252")
    assert failures.startswith("E-Mail;Vorname;Telefon;Notiz;error\n")

    again = invoke("validate", src, "--mapping", mapping, "--results-format", "csv-utf8")
    assert again.code == 1
    utf8 = (tmp_path / "kontakte.results.csv").read_bytes().decode("utf-8")
    assert utf8.startswith("source_row,status,error,warnings,E-Mail,Vorname,Telefon,Notiz,")
    assert "jürgen@x.example,Jürgen,+49 30 1234567,Grüße," in utf8


def test_retry_of_a_results_workbook_sends_its_unsent_rows(
    live_sandbox: SandboxHandle, tmp_path: Path
) -> None:
    """A run stopped by the quota, retried from its results workbook (no --mapping: the run
    that wrote the CSV beside it knows it): the unsent rows go, with their typed values."""
    sb = live_sandbox
    mapping = write_mapping(tmp_path, MAPPING)
    good = [r for r in rows("q") if "@x.example" in str(r[0]) and r[2] != "12"]
    assert [r[1] for r in good] == ["Ann", "Dee"]
    many = [[f"p{i}.{row[0]}", *row[1:]] for i in range(6) for row in good]  # 12 valid rows
    src = write_book(tmp_path / "leads.xlsx", many)
    sb.admin.set_faults(daily_quota=5)  # the preflight probe + 4 rows
    out = run(sb, tmp_path, "run", src, "--mapping", mapping)
    assert (out["exit_code"], out["succeeded"], out["not_attempted"]) == (3, 4, 8)
    book = openpyxl.load_workbook(tmp_path / "leads.results.xlsx")["Leads"]
    statuses = [c.value for c in book["B"][1:]]
    assert statuses.count("not_attempted") == 8
    assert {book[f"B{r}"].fill.fgColor.rgb for r in range(2, 14)} == {"FFC6EFCE", "FFFFEB9C"}

    sb.admin.set_faults(daily_quota=None)
    again = run(sb, tmp_path, "retry", tmp_path / "leads.results.xlsx")
    assert (again["exit_code"], again["succeeded"], again["rows"]) == (0, 8, 8)
    assert again["results_xlsx"] == str(tmp_path / "leads.retry.results.xlsx")
    retried = openpyxl.load_workbook(tmp_path / "leads.retry.results.xlsx")["Leads"]
    assert sorted(c.value for c in retried["A"][1:]) == sorted(
        r for r, s in zip(range(2, 14), statuses, strict=True) if s == "not_attempted"
    )
    stored = {c["email"]: c for c in sb.admin.dump()["contacts"] if ".q@" in c["email"]}
    assert len(stored) == 12
    assert {c["custom_fields"]["cus_field__Score"] for c in stored.values()} == {"12.5", "-0.25"}
    assert {c["custom_fields"]["cus_field__Signed_up"] for c in stored.values()} == {
        "2024-03-01", "1999-12-31",
    }  # fmt: skip
