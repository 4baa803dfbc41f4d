"""``then: {enroll: ...}`` in a mapping file: read, checked against the file's headers, refused
on other targets, and described alike by the models, the JSON Schema and ``syncer fields``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from syncer.errors import MappingError, SourceError
from syncer.mapping import load_mapping
from syncer.runner import prepare
from syncer.schema import build_schema, describe_target

SEQ = "6f1c0000-0000-4000-8000-000000000000"
GOOD = f"""\
columns:
  email: Email
  contact_owner_email: Owner
then:
  enroll:
    sequence_id: {{value: {SEQ}}}
    mailbox_email: Sender
    only: all
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_then_enroll_is_read_with_its_lines_and_its_columns_are_read(tmp_path: Path) -> None:
    mapping = load_mapping(_write(tmp_path, GOOD))
    enroll = mapping.enroll
    assert enroll is not None and enroll.only == "all"
    assert (enroll.sequence_id.value, enroll.sequence_id.line) == (SEQ, 6)
    assert (enroll.mailbox_email and enroll.mailbox_email.column) == "Sender"
    assert enroll.mailbox_email.line == 7
    assert mapping.source_columns() == ["Email", "Owner", "Sender"]
    assert load_mapping(_write(tmp_path, "columns: {email: Email}\n")).enroll is None


def test_a_then_column_the_file_lacks_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("Email,Owner\na@x.com,o@x.com\n", encoding="utf-8")
    with pytest.raises(SourceError) as info:
        prepare(tmp_path / "d.csv", _write(tmp_path, GOOD))
    assert "m.yaml:7: then.enroll.mailbox_email: column 'Sender' not found" in str(info.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "target: accounts\ncolumns: {name: N, domain_name: D}\n"
            f"then: {{enroll: {{sequence_id: {{value: {SEQ}}}}}}}\n",
            "m.yaml:3: then: only an account_contact mapping takes then:",
        ),
        (
            "columns: {email: Email}\nthen: {enrol: {sequence_id: S}}\n",
            "then.enrol: unknown then: step; did you mean enroll?",
        ),
        (
            "columns: {email: Email}\nthen: {enroll: {sequence_id: S, mailbox: M}}\n",
            "then.enroll.mailbox: unknown enroll option; did you mean mailbox_email?",
        ),
        (
            "columns: {email: Email}\nthen: {enroll: {sequence_id: S, only: some}}\n",
            "then.enroll.only: Input should be 'created' or 'all'",
        ),
        ("columns: {email: Email}\nthen: {enroll: {mailbox_email: M}}\n", "sequence_id"),
    ],
)
def test_a_wrong_then_is_a_mapping_problem(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(MappingError) as info:
        load_mapping(_write(tmp_path, text))
    assert problem in str(info.value)


def _schema_ok(text: str) -> bool:
    validator = jsonschema.Draft7Validator(build_schema())
    doc: Any = yaml.safe_load(text)
    return not list(validator.iter_errors(doc))


def test_the_schema_takes_then_enroll_where_the_models_do() -> None:
    assert _schema_ok(GOOD)
    assert _schema_ok("columns: {email: Email}\nthen: {enroll: {sequence_id: {column: S}}}\n")
    assert not _schema_ok("columns: {email: Email}\nthen: {enroll: {sequence_id: S, only: x}}\n")
    assert not _schema_ok("columns: {email: Email}\nthen: {enrol: {sequence_id: S}}\n")
    others = "target: accounts\ncolumns: {name: N, domain_name: D}\n"
    assert not _schema_ok(others + "then: {enroll: {sequence_id: S}}\n")
    assert "FieldSpec" not in json.dumps(build_schema())  # every $ref resolves


def test_syncer_fields_lists_then_for_account_contact_only() -> None:
    assert describe_target("account_contact").to_dict()["then"][0].startswith("then: {enroll:")
    assert describe_target("sequence_enrollments").to_dict()["then"] == []
