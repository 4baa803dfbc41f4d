"""Mapping files: the contract keys, file:line errors with suggestions, column resolution."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from syncer.errors import MappingError, SourceError
from syncer.mapping import TARGETS, FieldKind, load_mapping, read_mapping, resolve_columns
from syncer.runner import prepare
from syncer.sources import read_source

ROOT = Path(__file__).resolve().parents[2]

FULL = """\
target: account_contact
source: {sheet: Leads, delimiter: ";", encoding: cp1252}
columns:
  email: Email
  first_name: First Name
  phone_number: {column: Phone, format: e164, default_region: us}
  contact_owner_email: {value: owner@acme.com}
contact_custom_fields:
  cus_field__Lead_Source: Lead Source
  cus_field__Tags: {column: Tags, split: ";"}
account_custom_fields:
  cus_field__Industry: Industry
dedupe: {keep: first}
on_empty: clear
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(tmp_path: Path, text: str) -> MappingError:
    with pytest.raises(MappingError) as info:
        load_mapping(write(tmp_path, text))
    return info.value


def test_full_example_parses(tmp_path: Path) -> None:
    m = load_mapping(write(tmp_path, FULL))
    assert m.target == "account_contact"
    assert (m.source.sheet, m.source.delimiter, m.source.encoding) == ("Leads", ";", "cp1252")
    assert m.columns["email"].column == "Email" and m.columns["email"].line == 4
    phone = m.columns["phone_number"]
    assert (phone.column, phone.format, phone.default_region) == ("Phone", "e164", "US")
    assert m.columns["contact_owner_email"].value == "owner@acme.com"
    assert m.contact_custom_fields["cus_field__Tags"].split == ";"
    assert m.account_custom_fields["cus_field__Industry"].column == "Industry"
    assert m.dedupe.keep == "first" and m.on_empty == "clear"
    assert m.source_columns() == ["Email", "First Name", "Phone", "Lead Source", "Tags", "Industry"]


def test_defaults(tmp_path: Path) -> None:
    m = load_mapping(write(tmp_path, "columns:\n  email: Email\n"))
    assert m.target == "account_contact" and m.dedupe.keep == "last" and m.on_empty == "omit"


def test_unknown_reevo_field_names_file_line_and_suggestion(tmp_path: Path) -> None:
    err = errors_of(tmp_path, "columns:\n  email: Email\n  frist_name: First\n")
    assert f"{tmp_path / 'm.yaml'}:3: columns.frist_name: unknown Reevo field" in err.message
    assert "did you mean first_name?" in err.message
    assert err.line == 3


def test_unknown_keys_everywhere_collected_at_once(tmp_path: Path) -> None:
    text = (
        "targt: account_contact\ncolumns:\n  email: {colum: Email}\n"
        "source: {sheat: A}\ndedupe: {kep: last}\non_emty: omit\n"
    )
    err = errors_of(tmp_path, text)
    assert len(err.problems) == 5, err.problems
    joined = "\n".join(err.problems)
    for hint in ("target?", "column?", "sheet?", "keep?", "on_empty?"):
        assert f"did you mean {hint}" in joined


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("columns:\n  email: Email\ndedupe: {keep: lats}\n", "dedupe.keep"),
        ("columns:\n  email: Email\non_empty: wipe\n", "on_empty"),
        ("columns:\n  first_name: First\n", "email is required"),
        ("columns:\n  email: {column: E, value: x}\n", "exactly one of"),
        ("columns:\n  email: Email\n  phone_number: {column: P, default_region: ZZ}\n", "region"),
        ("columns:\n  email: {column: E, format: e164}\n", "phone fields"),
        ("columns:\n  email: Email\n  title: {column: T, split: ';'}\n", "custom fields only"),
        ("target: opportunity\ncolumns:\n  email: E\n", "unknown target"),
        ("columns:\n  email: Email\n  cus_field__X: X\n", "contact_custom_fields"),
        ("columns: [email]\n", "columns"),
        ("- a\n- b\n", "YAML mapping"),
        ("columns:\n  email: 'Email\n", "not valid YAML"),
    ],
)
def test_bad_mappings_are_clear(tmp_path: Path, text: str, needle: str) -> None:
    err = errors_of(tmp_path, text)
    assert needle in err.message
    assert str(tmp_path / "m.yaml") in err.message
    assert "Traceback" not in err.message


def test_unknown_keys_and_bad_values_reported_in_one_pass(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "columns:\n  email: Email\n  frist_name: First\n"
        "dedupe: {keep: frist}\non_empty: sometimes\n",
    )
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    text = str(info.value)
    assert "3 problems" in text
    assert f"{path}:3: columns.frist_name: unknown Reevo field; did you mean first_name?" in text
    assert f"{path}:4: dedupe.keep" in text and "'frist'" in text
    assert f"{path}:5: on_empty" in text and "'sometimes'" in text


def test_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="not found"):
        load_mapping(tmp_path / "nope.yaml")


def test_resolve_columns_trims_bom_and_case(tmp_path: Path) -> None:
    m = load_mapping(write(tmp_path, "columns:\n  email: email\n  first_name: First Name\n"))
    got = resolve_columns(m, ["\ufeffEMAIL ", " first name"])
    assert got == {"email": "\ufeffEMAIL ", "First Name": " first name"}


def test_resolve_columns_prefers_exact_match(tmp_path: Path) -> None:
    m = load_mapping(write(tmp_path, "columns:\n  email: Email\n"))
    assert resolve_columns(m, ["EMAIL", "Email"]) == {"Email": "Email"}


def test_missing_column_lists_the_files_columns(tmp_path: Path) -> None:
    m = load_mapping(write(tmp_path, "columns:\n  email: E-mail\n  first_name: Frist\n"))
    with pytest.raises(SourceError) as info:
        resolve_columns(m, ["Email", "First"])
    msg = info.value.message
    assert "'E-mail'" in msg and "'Frist'" in msg
    assert "The file's columns are: 'Email', 'First'" in msg


def test_target_table_has_every_account_contact_field() -> None:
    spec = TARGETS["account_contact"]
    assert len(spec.fields) == 19
    assert spec.fields["account_website"] is FieldKind.URL
    assert spec.fields["account_owner_email"] is FieldKind.OWNER_EMAIL
    assert spec.required == ("email",)


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in (ROOT / "mappings").glob("*.yaml") if not p.name.endswith(".job.yaml")),
)
def test_shipped_mappings_load(name: str) -> None:
    m = load_mapping(ROOT / "mappings" / name)
    assert set(m.spec.required) <= set(m.columns)


# --- every problem in one pass: the mapping's own and the headers the file lacks ------------

TYPOS = """\
columns:
  emial: Email
  frist_name: First Name
  last_name: Last Nmae
dedupe: {keeep: last}
"""
HEADERS = ["Email", "First Name", "Last Name"]


def test_mapping_and_header_problems_in_one_error(tmp_path: Path) -> None:
    path = write(tmp_path, TYPOS)
    with pytest.raises(MappingError) as info:
        read_mapping(path).finish(HEADERS)
    err = info.value
    assert err.problems == [
        f"{path}:2: columns.emial: unknown Reevo field; did you mean email?",
        f"{path}:3: columns.frist_name: unknown Reevo field; did you mean first_name?",
        f"{path}:4: columns.last_name: column 'Last Nmae' not found in the file; "
        "did you mean 'Last Name'?",
        f"{path}:5: dedupe.keeep: unknown dedupe option; did you mean keep?",
    ]
    assert err.message.startswith(f"4 problems in {path}:\n")
    assert "\nThe file's columns are: 'Email', 'First Name', 'Last Name'.\n" in err.message
    assert err.line == 2


def test_without_headers_only_the_mappings_own_problems(tmp_path: Path) -> None:
    err = errors_of(tmp_path, TYPOS)
    assert len(err.problems) == 3 and "Last Nmae" not in err.message


def test_header_of_a_line_with_an_unknown_field_is_still_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "columns:\n  email: Email\n  frist_name: Frist Name\n")
    with pytest.raises(MappingError) as info:
        read_mapping(path).finish(HEADERS)
    assert info.value.problems == [
        f"{path}:3: columns.frist_name: unknown Reevo field; did you mean first_name?",
        f"{path}:3: columns.frist_name: column 'Frist Name' not found in the file; "
        "did you mean 'First Name'?",
    ]


def test_headers_of_malformed_entries_are_checked_too(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "columns:\n  email: {column: Emial, value: x}\n"
        "contact_custom_fields:\n  cus_field__A: {colum: A, column: Regoin}\n",
    )
    with pytest.raises(MappingError) as info:
        read_mapping(path).finish(["Email", "Region"])
    text = "\n".join(info.value.problems)
    assert "column 'Emial' not found in the file; did you mean 'Email'?" in text
    assert "column 'Regoin' not found in the file; did you mean 'Region'?" in text
    assert "exactly one of" in text and "did you mean column?" in text


def test_only_missing_headers_is_a_source_error_naming_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "columns:\n  email: E-mail\n  first_name: {column: Frist}\n")
    draft = read_mapping(path)
    assert draft.problems == [] and draft.mapping is not None
    with pytest.raises(SourceError) as info:
        draft.finish(["Email", "First"])
    msg = info.value.message
    assert f"2 problems in {path}:" in msg
    assert f"{path}:2: columns.email: column 'E-mail' not found in the file; did you mean " in msg
    assert f"{path}:3: columns.first_name: column 'Frist' not found in the file" in msg
    assert msg.endswith("The file's columns are: 'Email', 'First'.\nFix the mapping or the file's "
                        "header and run again.")  # fmt: skip


def test_header_suggestion_ignores_case_and_spaces(tmp_path: Path) -> None:
    path = write(tmp_path, "columns:\n  email: Email\n  last_name: last nmae\n")
    with pytest.raises(SourceError, match="did you mean ' LAST NAME'"):
        read_mapping(path).finish(["Email", " LAST NAME"])


def test_rules_are_listed_with_unknown_keys(tmp_path: Path) -> None:
    err = errors_of(
        tmp_path, "columns:\n  email: {column: E, format: e164}\n  titel: T\non_emty: omit\n"
    )
    assert len(err.problems) == 3, err.problems
    joined = "\n".join(err.problems)
    assert ":2: columns.email: format: e164 applies to phone fields" in joined
    assert ":3: columns.titel: unknown Reevo field; did you mean title?" in joined
    assert ":4: on_emty: unknown key; did you mean on_empty?" in joined


def test_required_field_is_not_repeated_when_a_typo_suggests_it(tmp_path: Path) -> None:
    err = errors_of(tmp_path, "columns:\n  emial: Email\n")
    assert err.problems == [f"{tmp_path / 'm.yaml'}:2: columns.emial: unknown Reevo field; "
                            "did you mean email?"]  # fmt: skip
    err = errors_of(tmp_path, "columns:\n  titel: T\n")
    assert any("email is required" in p for p in err.problems)


# --- through prepare(): the source is read as the mapping says, then its headers checked -----


def test_prepare_lists_mapping_and_header_problems_with_the_sheet_read(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = "Summary"
    summary["A1"] = "Exported"
    wb.create_sheet("Contacts").append(["Email Address", "First Name"])
    book = tmp_path / "zi.xlsx"
    wb.save(book)
    path = write(tmp_path, "columns:\n  email: Email Address\n  frist_name: First Name\n")
    with pytest.raises(MappingError) as info:
        prepare(book, path)
    msg = info.value.message
    assert "3 problems" in msg and "did you mean first_name?" in msg
    assert "column 'Email Address' not found" in msg and "column 'First Name' not found" in msg
    assert "The file's columns are: 'Exported'. They were looked for in sheet 'Summary'" in msg
    assert "'Contacts'" in msg and "source: {sheet: NAME}" in msg


def test_prepare_does_not_check_headers_of_a_sheet_read_by_guess(tmp_path: Path) -> None:
    """A wrong `source:` block means the file cannot be read as meant: report the block, not
    the columns of whatever a default read would find."""
    src = tmp_path / "a.csv"
    src.write_text("Email;Name\na@x.com;A\n", encoding="utf-8")
    path = write(tmp_path, "source: {delimter: ';'}\ncolumns:\n  email: Email\n")
    with pytest.raises(MappingError) as info:
        prepare(src, path)
    assert len(info.value.problems) == 1
    assert "source.delimter: unknown source option; did you mean delimiter?" in info.value.message


def test_prepare_reports_the_mapping_first_when_the_source_is_unreadable(tmp_path: Path) -> None:
    path = write(tmp_path, "columns:\n  email: Email\n  frist_name: F\n")
    with pytest.raises(MappingError, match="did you mean first_name"):
        prepare(tmp_path / "nope.csv", path)
    with pytest.raises(SourceError, match="does not exist"):
        prepare(tmp_path / "nope.csv", write(tmp_path, "columns:\n  email: Email\n"))


def test_prepare_checks_a_table_already_read_against_a_mapping_file(tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text("Email,First Name\na@x.com,A\n", encoding="utf-8")
    path = write(tmp_path, TYPOS)
    with pytest.raises(MappingError) as info:
        prepare(read_source(src), path)
    assert len(info.value.problems) == 4  # three of the mapping's own, 'Last Nmae'
    assert "column 'Last Nmae' not found in the file" in info.value.message
