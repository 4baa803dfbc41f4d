"""Mappings that forgive messy cells: null_values, on_invalid, optional, owners, formats."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from pipeline_helpers import by_row, mapping, run, table

from syncer.dates import NAMED_FORMATS, check_formats, parse_date, parse_dates
from syncer.errors import MappingError
from syncer.mapping import DEFAULT_NULL_VALUES, load_mapping, read_mapping
from syncer.results import write_results
from syncer.results_reading import read_results
from syncer.runner import prepare

PHONE = {"column": "Phone", "format": "e164", "default_region": "US"}


def rows(**columns: list[str | None]) -> list[dict[str, Any]]:
    """Rows from columns; Email defaults to a distinct address per row."""
    n = len(next(iter(columns.values())))
    columns.setdefault("Email", [f"p{i}@acme.com" for i in range(n)])
    return [{c: v[i] for c, v in columns.items()} for i in range(n)]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def mapping_error(path: Path) -> MappingError:
    with pytest.raises(MappingError) as err:
        load_mapping(path)
    return err.value


# -- null_values --------------------------------------------------------------------------------


def test_default_null_values_are_blank_so_the_row_is_not_invalid() -> None:
    phones = ["n/a", " N/A ", "-", "#N/A", "none", "(415) 555-0132", "(blank)", "NULL"]
    p = run(rows(Phone=phones), {"email": "Email", "phone_number": PHONE})
    r = by_row(p)
    assert p.counts() == {"ready": 8, "duplicate": 0, "invalid": 0}
    assert [r[i]["__v:phone_number"] for i in range(2, 10)] == [None] * 5 + [
        "+14155550132",
        None,
        None,
    ]


def test_a_null_value_in_the_email_is_a_missing_email() -> None:
    p = run(rows(Email=["n/a", "a@x.com"]), {"email": "Email"})
    assert by_row(p)[2]["error_code"] == "missing_email"


def test_top_level_null_values_replace_the_default_list() -> None:
    cols = {"email": "Email", "phone_number": PHONE, "title": "Title"}
    p = run(rows(Phone=["n/a", "Unknown"], Title=["n/a", "UNKNOWN"]), cols, null_values=["unknown"])
    r = by_row(p)
    assert r[2]["error_code"] == "invalid_phone"  # n/a is no longer blank
    assert r[2]["__v:title"] == "n/a"
    assert r[3]["status"] == "ready" and r[3]["__v:title"] is None


def test_field_null_values_replace_the_top_level_list_and_empty_turns_it_off() -> None:
    cols = {
        "email": "Email",
        "title": {"column": "Title", "null_values": []},
        "department": {"column": "Dept", "null_values": ["tbd"]},
        "company": "Company",
    }
    p = run(rows(Title=["N/A"], Dept=["TBD"], Company=["-"]), cols, null_values=["-", "x"])
    r = by_row(p)[2]
    assert (r["__v:title"], r["__v:department"], r["__v:company"]) == ("N/A", None, None)


def test_null_values_in_split_lists_and_regex_characters_are_literal() -> None:
    p = run(
        rows(T=["a; n/a ;b", "n/a"], Title=["x.y", "(blank)"]),
        {"email": "Email", "title": {"column": "Title", "null_values": ["x*y", "(blank)"]}},
        contact_custom_fields={"cus_field__Tags": {"column": "T", "split": ";"}},
    )
    r = by_row(p)
    assert r[2]["__cc:cus_field__Tags"] == ["a", "b"] and r[3]["__cc:cus_field__Tags"] is None
    assert r[2]["__v:title"] == "x.y" and r[3]["__v:title"] is None


def test_long_and_accented_null_values_ignore_case() -> None:
    nulls = ["not applicable", "Keine Angabe", "é"]  # the first two: the regex path
    cols = {"email": "Email", "title": {"column": "T", "null_values": nulls}}
    p = run(
        rows(T=["NOT Applicable", " keine ANGABE ", "É", "applicable", "not  applicable"]), cols
    )
    titles = [r["__v:title"] for r in by_row(p).values()]
    assert titles == [None, None, None, "applicable", "not  applicable"]


def test_default_list_is_documented() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for value in DEFAULT_NULL_VALUES:
        assert f"`{value}`" in readme, value


def test_null_values_yaml_traps_are_named(tmp_path: Path) -> None:
    m = write(tmp_path / "m.yaml", "columns:\n  email: Email\nnull_values: [n/a, null, yes]\n")
    err = mapping_error(m)
    assert f"{m}:3: null_values: put null_values entries in quotes" in str(err)


# -- on_invalid ---------------------------------------------------------------------------------


def test_on_invalid_drop_sends_the_row_without_the_field_and_warns() -> None:
    cols = {"email": "Email", "phone_number": {**PHONE, "on_invalid": "drop"}, "title": "T"}
    src = rows(Phone=["12", "(415) 555-0132"], T=[None, None])
    p = run(src, cols, on_empty="clear")
    r = by_row(p)
    assert r[2]["status"] == "ready" and r[2]["error"] == ""
    assert r[2]["warnings"] == (
        'invalid_phone: Phone "12" is not a valid phone number (default region US) (dropped)'
    )
    assert r[3]["warnings"] == ""
    bodies = {row: body for row, _, body in p.iter_bodies()}
    assert bodies[2] == {"email": "p0@acme.com", "title": ""}  # dropped, not cleared
    assert bodies[3]["phone_number"] == "+14155550132"
    assert any("1 row has warnings (invalid_phone 1)" in n for n in p.notes)


def test_on_invalid_warn_keeps_the_trimmed_value_and_reject_is_the_default() -> None:
    src = rows(Web=[" not a url "], Web2=["not a url"])
    cols = {
        "email": "Email",
        "account_website": {"column": "Web", "on_invalid": "warn"},
        "contact_linkedin_url": "Web2",
    }
    r = by_row(run(src, cols))[2]
    assert r["status"] == "invalid" and r["error_code"] == "invalid_url"  # Web2: reject
    assert r["warnings"].startswith("invalid_url: Web ") and r["warnings"].endswith("(kept as is)")
    assert r["__v:account_website"] == "https://not a url"


def test_a_rejected_problem_and_a_warning_on_one_row() -> None:
    cols = {"email": "Email", "phone_number": {**PHONE, "on_invalid": "drop"}}
    r = by_row(run(rows(Email=["bad@"], Phone=["12"]), cols))[2]
    assert (r["status"], r["error_code"]) == ("invalid", "invalid_email")
    assert r["warnings"].startswith("invalid_phone:")


@pytest.mark.parametrize(
    ("entry", "line", "text"),
    [
        ("email: {column: Email, on_invalid: drop}", 3, "on_invalid: drop is not allowed here"),
        ("email: {column: Email, optional: true}", 3, "email cannot be optional"),
        ("title: {column: T, owners: {A: a@x.com}}", 3, "owners applies to owner e-mail"),
        ("title: {column: T, formats: [us]}", 3, "formats applies to date fields"),
        ("title: {value: x, optional: true}", 3, "optional applies to column: entries"),
        ("title: {column: T, on_invalid: skip}", 3, "Input should be 'reject', 'drop' or 'warn'"),
    ],
)
def test_option_rules_name_file_and_line(tmp_path: Path, entry: str, line: int, text: str) -> None:
    email = "" if entry.startswith("email") else "  email: Email\n"
    m = write(tmp_path / "m.yaml", f"target: account_contact\ncolumns:\n  {entry}\n{email}")
    err = mapping_error(m)
    assert f"{m}:{line}: columns." in str(err) and text in str(err), str(err)


def test_option_rule_points_at_the_option_line(tmp_path: Path) -> None:
    m = write(
        tmp_path / "m.yaml",
        "columns:\n  email:\n    column: Email\n    on_invalid: warn\n",
    )
    assert f"{m}:4: columns.email: on_invalid: warn is not allowed here" in str(mapping_error(m))


# -- optional -----------------------------------------------------------------------------------


def test_an_absent_optional_column_is_not_sent_and_a_note_names_the_line(tmp_path: Path) -> None:
    m = write(
        tmp_path / "m.yaml",
        "columns:\n  email: Email\n  title: {column: Job Title, optional: true}\n"
        "contact_custom_fields:\n  cus_field__Src: {column: Source, optional: true}\n",
    )
    src = table(rows(**{"Source": ["web"]}))
    p = prepare(src, m)
    assert [f.name for f in p.fields] == ["email", "cus_field__Src"]
    assert next(p.iter_bodies())[2] == {
        "email": "p0@acme.com",
        "contact_custom_fields": {"cus_field__Src": "web"},
    }
    assert p.notes == [
        f"{m}:3: optional column 'Job Title' is not in the file: columns.title is not sent"
    ]
    # present: used as any column
    p2 = prepare(table(rows(**{"Job Title": ["CEO"], "Source": ["web"]})), m)
    assert next(p2.iter_bodies())[2]["title"] == "CEO" and p2.notes == []


def test_a_missing_column_that_is_not_optional_still_stops(tmp_path: Path) -> None:
    m = write(tmp_path / "m.yaml", "columns:\n  email: Email\n  title: Job Title\n")
    with pytest.raises(Exception, match="column 'Job Title' not found"):
        prepare(table(rows(Other=["x"])), m)


# -- owners -------------------------------------------------------------------------------------


def test_inline_owners_resolve_names_and_pass_emails_through() -> None:
    owner = {
        "column": "Owner",
        "owners": {"Jane Smith": "jane.smith@acme.com", "José Ruiz": "jose@acme.com"},
    }
    src = rows(Owner=["Jane Smith", "  jane   SMITH ", "josé ruiz", "bob@acme.com", "Ann Lee"])
    p = run(src, {"email": "Email", "contact_owner_email": owner})
    r = by_row(p)
    assert [r[i]["__v:contact_owner_email"] for i in range(2, 6)] == [
        "jane.smith@acme.com",
        "jane.smith@acme.com",
        "jose@acme.com",
        "bob@acme.com",
    ]
    assert r[6]["error_code"] == "invalid_owner_email"
    assert r[6]["error"] == (
        'Owner "Ann Lee" is a name, not an e-mail address: add it to owners: in the mapping '
        "with the owner's e-mail"
    )


def test_top_level_owners_apply_to_every_owner_field_and_drop_unknown_names() -> None:
    cols = {
        "email": "Email",
        "contact_owner_email": {"column": "Owner", "on_invalid": "drop"},
        "account_owner_email": {"column": "Acc Owner", "owners": {"Bo": "bo@acme.com"}},
    }
    src = rows(Owner=["Jane Smith", "Nobody"], **{"Acc Owner": ["Bo", "Jane Smith"]})
    p = run(src, cols, owners={"Jane Smith": "jane@acme.com"})
    r = by_row(p)
    assert r[2]["__v:contact_owner_email"] == "jane@acme.com"
    assert r[2]["__v:account_owner_email"] == "bo@acme.com"  # its own owners: replace the map
    assert r[3]["__v:contact_owner_email"] is None and r[3]["warnings"].startswith(
        'invalid_owner_email: Owner "Nobody" is a name'
    )
    assert r[3]["error_code"] == "invalid_owner_email"  # Jane Smith is not in Bo's list


def test_owners_csv_beside_the_mapping(tmp_path: Path) -> None:
    (tmp_path / "team").mkdir()
    write(tmp_path / "team" / "owners.csv", "Name;E-mail\nJane Smith;jane@acme.com\n\n")
    m = write(
        tmp_path / "m.yaml",
        "columns:\n  email: Email\n  contact_owner_email:\n    column: Owner\n"
        "    owners: team/owners.csv\n",
    )
    p = prepare(table(rows(Owner=["JANE SMITH"])), m)
    assert by_row(p)[2]["__v:contact_owner_email"] == "jane@acme.com"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "owners file {dir}/owners.csv not found"),
        ("name,email\nJane,jane@acme.com\nBob\n", "{dir}/owners.csv:3: expected 2 cells"),
        ("Jane,jane@acme.com\nBob,bob-at-x\n", "{dir}/owners.csv:2: 'Bob': 'bob-at-x' is not"),
        ("Jane,jane@acme.com\n JANE ,j2@acme.com\n", "{dir}/owners.csv:2: 'JANE' is listed twice"),
        ("name,email\n", "{dir}/owners.csv: no owners in the file"),
    ],
)
def test_a_bad_owners_file_names_mapping_line_and_file_line(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    if content is not None:
        write(tmp_path / "owners.csv", content)
    m = write(
        tmp_path / "m.yaml",
        "columns:\n  email: Email\n  contact_owner_email:\n    column: Owner\n"
        "    owners: owners.csv\n",
    )
    text = str(mapping_error(m))
    assert f"{m}:5: columns.contact_owner_email.owners: " in text, text
    assert problem.format(dir=tmp_path) in text, text


def test_inline_owner_with_a_bad_email_is_a_mapping_error(tmp_path: Path) -> None:
    m = write(tmp_path / "m.yaml", "columns:\n  email: Email\nowners:\n  Jane: jane\n")
    assert f"{m}:3: owners: 'Jane': 'jane' is not an e-mail address" in str(mapping_error(m))


# -- formats (dates) ----------------------------------------------------------------------------


def test_dates_iso_us_day_first_ambiguous_and_invalid() -> None:
    field = {"column": "Signup", "formats": ["iso", "us", "day_first"]}
    src = rows(Signup=["2024-03-04", "13/04/2024", "03/04/2024", "12/12/2024", "31/02/2024", None])
    p = run(src, {"email": "Email"}, contact_custom_fields={"cus_field__Signup": field})
    r = by_row(p)
    assert r[2]["__cc:cus_field__Signup"] == "2024-03-04"
    assert r[3]["__cc:cus_field__Signup"] == "2024-04-13"
    assert r[4]["error_code"] == "ambiguous_date"
    assert r[4]["error"] == (
        'Signup "03/04/2024" could be 2024-03-04 (us) or 2024-04-03 (day_first): list only the '
        "convention the file uses in formats:"
    )
    assert r[5]["__cc:cus_field__Signup"] == "2024-12-12"  # both read it the same way
    assert r[6]["error_code"] == "invalid_date"
    assert r[6]["error"] == (
        'Signup "31/02/2024" is not a date in the formats tried: iso, us, day_first'
    )
    assert r[7]["status"] == "ready" and r[7]["__cc:cus_field__Signup"] is None


def test_datetimes_and_custom_patterns_become_iso_8601() -> None:
    field = {"column": "At", "formats": ["%d.%m.%Y %H:%M", "iso"], "on_invalid": "warn"}
    src = rows(At=["04.03.2024 17:05", "2024-03-04T10:11:12+02:00", "March 4", "n/a"])
    p = run(src, {"email": "Email"}, account_custom_fields={"cus_field__At": field})
    r = by_row(p)
    assert r[2]["__ac:cus_field__At"] == "2024-03-04T17:05:00"
    assert r[3]["__ac:cus_field__At"] == "2024-03-04T10:11:12+02:00"
    assert r[4]["status"] == "ready" and r[4]["__ac:cus_field__At"] == "March 4"
    assert r[4]["warnings"].startswith("invalid_date: At")
    assert r[5]["__ac:cus_field__At"] is None and r[5]["warnings"] == ""


@pytest.mark.parametrize(
    ("formats", "text"),
    [
        (["dayfirst"], "did you mean day_first?"),
        (["%d/%m"], "must give a year"),
        (["%d/%m/%Q"], "%Q is not a strptime directive"),
        ([], "formats needs at least one entry"),
        (["us", "us"], "the same entry twice"),
    ],
)
def test_bad_formats(formats: list[str], text: str) -> None:
    problem = check_formats(formats)
    assert problem is not None and text in problem


def test_parse_dates_agrees_with_parse_date_value_by_value() -> None:
    values = [
        "2024-03-04", "2024-3-4", "03/04/2024", "3/4/24", "13/04/2024", "04.03.2024",
        "Mar 4, 2024", "4 March 2024", "03/04/2024 10:00 PM", "2024-03-04 10:11:60",
        "2024-03-04T10:11:12.5Z", "2024-02-30", "2023-02-29", "2024-02-29", "12-31-2024",
        "31-12-2024 23:59", "1/2/2024  3:04", "garbage", "2024-03-04T24:00:00",
    ]  # fmt: skip
    formats_tried = (["iso", "us", "day_first"], ["us"], ["day_first", "iso"], ["%Y-%d-%m", "iso"])
    # once each: read in place; three times each with blanks: each distinct value read once
    for series in (pl.Series(values), pl.Series([*values, None] * 3)):
        for formats in formats_tried:
            got = parse_dates(series, formats)
            for i, value in enumerate(series):
                want = parse_date(value, formats) if value is not None else (None, None, None)
                assert (got.iso[i], got.code[i], got.detail[i]) == want, (value, formats)


def test_each_distinct_value_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import syncer.dates as dates

    seen: list[str] = []
    real = dates._python

    def counting(value: str, pattern: str) -> str | None:
        seen.append(value)
        return real(value, pattern)

    monkeypatch.setattr(dates, "_python", counting)
    values = pl.Series(["Mar 4, 2024", "Mar 5, 2024"] * 5_000)
    got = parse_dates(values, ["us"])
    assert got.iso.n_unique() == 2 and sorted(set(seen)) == ["Mar 4, 2024", "Mar 5, 2024"]
    assert len(seen) <= 2 * len(NAMED_FORMATS["us"])


# -- results file -------------------------------------------------------------------------------


def test_warnings_column_in_the_results_file_and_old_layouts_are_read(tmp_path: Path) -> None:
    cols = {"email": "Email", "phone_number": {**PHONE, "on_invalid": "drop"}}
    p = run(rows(Phone=["12", "(415) 555-0132"]), cols)
    res, fail = tmp_path / "r.csv", tmp_path / "r.failures.csv"
    assert write_results(p, None, res, fail) == {"ready": 2}
    with res.open(newline="", encoding="utf-8") as fh:
        written = list(csv.DictReader(fh))
    assert list(written[0])[:4] == ["source_row", "status", "error", "warnings"]
    assert written[0]["warnings"].endswith("(dropped)") and written[1]["warnings"] == ""
    assert read_results(res)[0] == ["Phone", "Email"]
    old = tmp_path / "old.csv"  # a results file written before the warnings column
    old.write_text(
        "source_row,status,error,Email,error_code,reevo_contact_id,reevo_account_id\n"
        "2,failed,timeout,a@x.com,timeout,,\n",
        encoding="utf-8",
    )
    columns, frame = read_results(old)
    assert columns == ["Email"] and frame["status"].to_list() == ["failed"]


def test_mapping_in_code_and_in_a_file_agree(tmp_path: Path) -> None:
    m = write(
        tmp_path / "m.yaml",
        "columns:\n  email: Email\n  phone_number:\n    column: Phone\n    format: e164\n"
        "    on_invalid: drop\n    null_values: ['?']\nnull_values: [tbd]\n",
    )
    loaded = read_mapping(m).finish()
    built = mapping(
        {"email": "Email", "phone_number": {**PHONE, "default_region": None, "on_invalid": "drop",
                                            "null_values": ["?"]}},
        null_values=["tbd"],
    )  # fmt: skip
    assert loaded.columns["phone_number"].on_invalid == built.columns["phone_number"].on_invalid
    assert loaded.nulls_for(loaded.columns["phone_number"]) == ("?",)
    assert loaded.nulls_for(loaded.columns["email"]) == ("tbd",)
