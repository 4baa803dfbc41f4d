"""Mapping files: the contract keys, file:line errors with suggestions, column resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.errors import MappingError, SourceError
from syncer.mapping import TARGETS, FieldKind, load_mapping, resolve_columns

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
        ("target: opportunities\ncolumns:\n  email: E\n", "unknown target"),
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


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "mappings").glob("*.yaml")))
def test_shipped_mappings_load(name: str) -> None:
    m = load_mapping(ROOT / "mappings" / name)
    assert "email" in m.columns
