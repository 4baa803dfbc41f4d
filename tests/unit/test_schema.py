"""The mapping JSON Schema: the shipped file is current, it agrees with the models that
validate mappings (what syncer accepts, the schema accepts; what syncer refuses, it refuses),
and ``describe_target`` (``syncer fields``) reads the same table."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from syncer.errors import ConfigError
from syncer.mapping import (
    LOOKUP_FORMS,
    TARGETS,
    FieldKind,
    is_essential,
    load_mapping,
    read_mapping,
)
from syncer.schema import (
    KIND_TEXT,
    build_schema,
    describe_target,
    field_options,
    modeline,
    options_for,
    schema_file,
)

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAPPINGS = sorted(p for p in (ROOT / "mappings").glob("*.yaml") if not p.name.endswith(".job.yaml"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(build_schema())


def schema_errors(validator: jsonschema.Draft7Validator, doc: Any) -> list[str]:
    return [e.message for e in validator.iter_errors(doc)]


def model_problems(tmp_path: Path, doc: Any) -> list[str]:
    """What syncer itself says of ``doc`` as a mapping file (no problems: it is accepted)."""
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    (tmp_path / "owners.csv").write_text("name,email\nJane Smith,jane@acme.com\n", "utf-8")
    draft = read_mapping(path)
    problems = [msg for _, msg in draft.problems]
    assert problems or draft.mapping is not None
    return problems


def test_shipped_schema_is_generated_from_the_models() -> None:
    shipped = json.loads(schema_file().read_text(encoding="utf-8"))
    assert shipped == build_schema(), (
        f"{schema_file()} is out of date with syncer/mapping/: "
        "run `python -m syncer.schema --write` and commit the file"
    )


def test_schema_is_a_valid_draft7_schema() -> None:
    jsonschema.Draft7Validator.check_schema(build_schema())


def test_modeline_points_at_the_shipped_file() -> None:
    line = modeline()
    prefix = "# yaml-language-server: $schema=file://"
    assert line.startswith(prefix)
    assert schema_file().is_file()
    assert line.removeprefix("# yaml-language-server: $schema=") == schema_file().as_uri()


@pytest.mark.parametrize("path", MAPPINGS, ids=[p.name for p in MAPPINGS])
def test_every_shipped_mapping_validates(validator: jsonschema.Draft7Validator, path: Path) -> None:
    load_mapping(path)  # syncer accepts it ...
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert schema_errors(validator, doc) == []  # ... and so does the schema


def _readme_mappings() -> list[str]:
    blocks = re.findall(r"```yaml\n(.*?)```", README, flags=re.S)
    return [b for b in blocks if re.search(r"^columns:", b, flags=re.M)]


def test_readme_has_mapping_examples() -> None:
    assert len(_readme_mappings()) >= 2  # the complete example and the editor-support one


@pytest.mark.parametrize("text", _readme_mappings())
def test_readme_mapping_examples_validate(
    validator: jsonschema.Draft7Validator, tmp_path: Path, text: str
) -> None:
    doc = yaml.safe_load(text)
    assert model_problems(tmp_path, doc) == []
    assert schema_errors(validator, doc) == []


def _cols(**extra: Any) -> dict[str, Any]:
    return {"columns": {"email": "Email", **extra}}


#: mappings syncer accepts: the schema must accept them too
GOOD: dict[str, Any] = {
    "minimal": _cols(),
    "explicit target": {"target": "account_contact", **_cols()},
    "object form": {"columns": {"email": {"column": "E-mail"}}},
    "numeric header": {"columns": {"email": 2023}},
    "value scalars": _cols(title={"value": 5}, department={"value": True}),
    "owner constant": _cols(contact_owner_email={"value": "owner@acme.com"}),
    "phone options": _cols(phone_number={"column": "Phone", "format": "e164"}),
    "lower-case region": _cols(
        phone_number={"column": "Phone", "format": "e164", "default_region": "us"}
    ),
    "custom fields": {
        **_cols(),
        "contact_custom_fields": {"cus_field__Tags": {"column": "Tags", "split": ";"}},
        "account_custom_fields": {"cus_field__Industry": "Industry"},
    },
    "forgiving cells": {
        "null_values": "n/a",
        "owners": "owners.csv",
        "columns": {
            "email": {"column": "Email", "null_values": []},
            "phone_number": {"column": "Phone", "format": "e164", "on_invalid": "warn"},
            "title": {"column": "Title", "optional": True, "null_values": [0, "-"]},
            "contact_owner_email": {
                "column": "Owner",
                "owners": {"Jane Smith": "jane@acme.com"},
                "on_invalid": "drop",
            },
        },
        "contact_custom_fields": {
            "cus_field__Signed": {"column": "Signed", "formats": ["iso", "%d.%m.%Y"]},
            "cus_field__Since": {"column": "Since", "formats": "us", "optional": True},
        },
    },
    "unknown-owner policy beside names": {
        "owners": {"unknown": "omit", "Jane Smith": "jane@acme.com"},
        **_cols(contact_owner_email="Owner"),
    },
    "unknown-owner policy alone": {"owners": {"unknown": "abort"}, **_cols()},
    "source and dedupe": {
        "source": {"sheet": 0, "delimiter": ";", "encoding": "cp1252"},
        **_cols(),
        "dedupe": {"keep": "first"},
        "on_empty": "clear",
    },
}

ACCOUNTS = {"target": "accounts", "columns": {"name": "Name", "domain_name": "Domain"}}
DEALS = {"target": "opportunities", "columns": {"display_name": "Deal", "account_id": "Acc"}}
GOOD.update(
    {
        "accounts": ACCOUNTS,
        "accounts by website": {
            "target": "accounts",
            "columns": {"name": "N", "official_website": "W"},
        },
        "accounts keyed by domain": {**ACCOUNTS, "key": "domain", "on_ambiguous": "first"},
        "accounts by external id": {
            "target": "accounts",
            "columns": {"name": "Name"},
            "key": {"column": "External ID"},
            "custom_fields": {"cus_field__Industry": "Industry"},
        },
        "deals with everything": {
            "target": "opportunities",
            "key": {"column": "Record ID"},
            "columns": {
                "display_name": "Deal",
                "account": {"name": "Company", "values": {"acme": "Acme Inc"}},
                "amount": {"column": "Amount", "on_invalid": "drop"},
                "stage": {
                    "column": "Stage",
                    "values": {"closedwon": "Closed Won"},
                    "closed": "Won",
                },
                "closed_reasons": {"column": "Reason", "split": ";"},
                "additional_contact_emails": {"column": "CC", "split": ","},
                "next_step_due_at": {
                    "column": "Due",
                    "timezone": "america/new_york",
                    "formats": "us",
                },
            },
            "on_missing_account": "create",
        },
        "several columns, the first not blank": {
            "target": "opportunities",
            "columns": {
                "display_name": {"column": ["Deal", "Name"]},
                "account": {"domain": ["Company Domain", "Website"]},
                "closed_reasons": {
                    "column": ["Closed Won Reason", "Closed Lost Reason"],
                    "split": ";",
                    "optional": True,
                },
                "amount": {"column": ["Amount", 2024]},
                "pipeline_name": {"column": ["Pipeline"]},
            },
            "custom_fields": {"cus_field__Source": {"column": ["Source", "Origin"]}},
        },
    }
)

#: typical mistakes: syncer refuses them and so must the schema
BAD: dict[str, Any] = {
    "accounts without a domain": {"target": "accounts", "columns": {"name": "Name"}},
    "accounts without a name": {"target": "accounts", "columns": {"domain_name": "D"}},
    "a key for account_contact": {**_cols(), "key": "email"},
    "an unknown key name": {**ACCOUNTS, "key": "website"},
    "a named key for deals": {**DEALS, "key": "domain"},
    "bad on_ambiguous": {**ACCOUNTS, "on_ambiguous": "last"},
    "on_ambiguous for deals": {**DEALS, "on_ambiguous": "first"},
    "on_missing_account for contacts": {**_cols(), "on_missing_account": "create"},
    "custom_fields for contacts": {**_cols(), "custom_fields": {"cus_field__X": "X"}},
    "contact sections for accounts": {**ACCOUNTS, "contact_custom_fields": {"x": "X"}},
    "deals without an account": {"target": "opportunities", "columns": {"display_name": "D"}},
    "a lookup as a column": {**DEALS, "columns": {"display_name": "D", "account": "Company"}},
    "a lookup with two forms": {
        **DEALS,
        "columns": {"display_name": "D", "account": {"domain": "A", "name": "B"}},
    },
    "a datetime without timezone": {
        **DEALS,
        "columns": {**DEALS["columns"], "next_step_due_at": "Due"},
    },
    "split on a text field of deals": {
        **DEALS,
        "columns": {**DEALS["columns"], "pipeline_name": {"column": "P", "split": ";"}},
    },
    "closed on another field": {
        **DEALS,
        "columns": {**DEALS["columns"], "pipeline_name": {"column": "P", "closed": ["Won"]}},
    },
    "a domain form on a text field": {
        **DEALS,
        "columns": {**DEALS["columns"], "pipeline_name": {"domain": "P"}},
    },
    "unknown field under columns": {"columns": {"email": "Email", "frist_name": "First"}},
    "misspelt email": {"columns": {"emial": "Email"}},
    "custom field under columns": _cols(cus_field__Region="Region"),
    "unknown top-level key": {**_cols(), "colums": {"title": "Title"}},
    "bad target": {"target": "contacts", **_cols()},
    "no columns": {"target": "account_contact"},
    "email missing": {"columns": {"first_name": "First"}},
    "format on a text field": _cols(title={"column": "Title", "format": "e164"}),
    "split under columns": _cols(title={"column": "Title", "split": ";"}),
    "format on a custom field": {
        **_cols(),
        "contact_custom_fields": {"x": {"column": "X", "format": "e164"}},
    },
    "column and value": _cols(title={"column": "Title", "value": "CEO"}),
    "neither column nor value": _cols(title={}),
    "region without format": _cols(phone_number={"column": "Phone", "default_region": "US"}),
    "region not a region": _cols(
        phone_number={"column": "Phone", "format": "e164", "default_region": "USA"}
    ),
    "format not e164": _cols(phone_number={"column": "Phone", "format": "national"}),
    "unknown field option": _cols(title={"column": "Title", "colum": "x"}),
    "blank shorthand": _cols(title="  "),
    "empty entry": _cols(title=None),
    "columns not a mapping": {"columns": ["email"]},
    "bad dedupe": {**_cols(), "dedupe": {"keep": "frist"}},
    "bad on_empty": {**_cols(), "on_empty": "skip"},
    "unknown source option": {**_cols(), "source": {"delimeter": ";"}},
    "email on_invalid drop": {"columns": {"email": {"column": "Email", "on_invalid": "drop"}}},
    "email optional": {"columns": {"email": {"column": "Email", "optional": True}}},
    "bad on_invalid": _cols(title={"column": "Title", "on_invalid": "skip"}),
    "owners on a text field": _cols(title={"column": "T", "owners": {"A B": "a@b.com"}}),
    "owner without e-mail": _cols(contact_owner_email={"column": "O", "owners": {"A B": "ab"}}),
    "formats under columns": _cols(title={"column": "Title", "formats": ["iso"]}),
    "formats with split": {
        **_cols(),
        "contact_custom_fields": {"x": {"column": "X", "formats": ["iso"], "split": ";"}},
    },
    "unknown date format": {
        **_cols(),
        "contact_custom_fields": {"x": {"column": "X", "formats": "dmy"}},
    },
    "no date format": {**_cols(), "contact_custom_fields": {"x": {"column": "X", "formats": []}}},
    "optional constant": _cols(title={"value": "CEO", "optional": True}),
    "unquoted null in null_values": {**_cols(), "null_values": ["n/a", None]},
    "bad unknown-owner policy": {**_cols(), "owners": {"unknown": "skip"}},
    "unknown-owner policy on a field": _cols(
        contact_owner_email={"column": "O", "owners": {"unknown": "omit"}}
    ),
    "an owner named Unknown inline": {**_cols(), "owners": {" Unknown": "a@b.com"}},
    "a bare list of columns": _cols(title=["Title", "Job Title"]),
    "an empty list of columns": _cols(title={"column": []}),
    "a blank column in a list": _cols(title={"column": ["Title", " "]}),
    "a column twice in a list": _cols(title={"column": ["Title", "Title"]}),
    "a list in a lookup form of two": {
        **DEALS,
        "columns": {"display_name": "D", "account": {"domain": ["A"], "name": ["B"]}},
    },
}


@pytest.mark.parametrize("doc", GOOD.values(), ids=GOOD.keys())
def test_what_syncer_accepts_the_schema_accepts(
    validator: jsonschema.Draft7Validator, tmp_path: Path, doc: Any
) -> None:
    assert model_problems(tmp_path, doc) == []
    assert schema_errors(validator, doc) == []


@pytest.mark.parametrize("doc", BAD.values(), ids=BAD.keys())
def test_typical_mistakes_fail_the_schema(
    validator: jsonschema.Draft7Validator, tmp_path: Path, doc: Any
) -> None:
    assert model_problems(tmp_path, doc) != []
    assert schema_errors(validator, doc) != []


#: a value for each option other than column/value, to try it on every kind of field
SAMPLES: dict[str, dict[str, Any]] = {
    "format": {"format": "e164"},
    "default_region": {"format": "e164", "default_region": "US"},
    "split": {"split": ";"},
    "null_values": {"null_values": ["n/a"]},
    "on_invalid": {"on_invalid": "drop"},
    "optional": {"optional": True},
    "owners": {"owners": {"Jane Smith": "jane.smith@acme.com"}},
    "formats": {"formats": ["day_first"]},
    "values": {"values": {"a": "b", "1": True}},
    "timezone": {"timezone": "Europe/Berlin"},
    "closed": {"closed": ["Closed Won"]},
}
#: the sources of an entry: one of them is the entry's column, not an option to try
SOURCES = {"column", "value", *LOOKUP_FORMS}
#: the least mapping of each target, and how an entry of a kind reads column X without options
BASE: dict[str, dict[str, Any]] = {
    "account_contact": {"email": "Email"},
    "accounts": {"name": "Name", "domain_name": "Domain"},
    "opportunities": {"display_name": "Deal", "account_id": "Account ID"},
    "sequence_enrollments": {"contact_email": "Email", "sequence_id": "Sequence"},
    "tasks": {"title": "Title", "owner_email": "Owner"},
    "manual_activities": {
        "activity_time": {"column": "Time", "timezone": "UTC"},
        "subject": "Subject",
        "description": "Body",
    },
}
ENTRY: dict[FieldKind | None, dict[str, Any]] = {
    FieldKind.LOOKUP: {"domain": "X"},
    FieldKind.LOOKUP_LIST: {"email": "X"},
    FieldKind.DATETIME: {"column": "X", "timezone": "UTC"},
}


def test_every_option_has_a_sample() -> None:
    names = {
        o.name
        for kind in [*FieldKind, None]
        for stage in (False, True)
        for o in options_for(kind, stage=stage)
    }
    assert names - SOURCES <= set(SAMPLES), "add the new option to SAMPLES"


def _yaml(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _fields_to_try() -> list[tuple[str, str, FieldKind | None]]:
    """(target, field, kind): a field of each kind of each target, every field that takes an
    option of its own (the stage entry) or is essential, and a custom field of each target."""
    out: list[tuple[str, str, FieldKind | None]] = []
    for spec in TARGETS.values():
        seen: set[tuple[FieldKind, bool]] = set()
        for name, kind in spec.fields.items():
            shape = (kind, is_essential(spec, name))
            if shape not in seen or name == "stage":
                seen.add(shape)
                out.append((spec.name, name, kind))
        if spec.custom_sections:
            out.append((spec.name, "cus_field__X", None))
    return out


@pytest.mark.parametrize("option", sorted(SAMPLES))
@pytest.mark.parametrize(
    ("target", "field", "kind"),
    _fields_to_try(),
    ids=[f"{t}.{f}" for t, f, _ in _fields_to_try()],
)
def test_options_of_each_kind_agree_with_the_models(
    validator: jsonschema.Draft7Validator,
    tmp_path: Path,
    option: str,
    target: str,
    field: str,
    kind: FieldKind | None,
) -> None:
    """``options_for`` (the schema and ``syncer fields``) says a field takes an option exactly
    when syncer accepts that option on such a field, for every target."""
    spec = TARGETS[target]
    entry = {**ENTRY.get(kind, {"column": "X"}), **SAMPLES[option]}
    if kind is FieldKind.ENUM and option == "values":  # an enum maps to a value it takes
        entry["values"] = {"a": spec.enums[field][0]}
    columns = dict(BASE[target])
    if kind is None:
        doc = {"target": target, "columns": columns, spec.custom_sections[0]: {field: entry}}
        found = [o for o in options_for(None) if o.name == option]
    else:
        columns[field] = entry
        doc = {"target": target, "columns": columns}
        found = [o for o in field_options(spec, field) if o.name == option]
    value = SAMPLES[option][option]
    takes = bool(found) and (not found[0].values or _yaml(value) in found[0].values)
    assert (model_problems(tmp_path, doc) == []) is takes
    assert (schema_errors(validator, doc) == []) is takes


def test_fields_are_described_with_their_kind() -> None:
    schema = build_schema()
    rule = schema["allOf"][0]
    columns = rule["then"]["properties"]["columns"]
    assert columns["additionalProperties"] is False
    assert columns["required"] == ["email"]
    assert set(columns["properties"]) == set(TARGETS["account_contact"].fields)
    assert columns["properties"]["phone_number"]["description"].startswith("Kind phone: ")
    assert schema["properties"]["target"]["enum"] == list(TARGETS)


def test_every_kind_is_described() -> None:
    assert set(KIND_TEXT) == set(FieldKind)


def test_describe_target() -> None:
    info = describe_target("account_contact")
    assert info.default and info.key == "email"
    by_name = {f.name: f for f in info.fields}
    assert list(by_name) == list(TARGETS["account_contact"].fields)
    assert by_name["email"].required and by_name["email"].key
    assert not by_name["title"].required and not by_name["title"].key
    assert by_name["phone_number"].kind is FieldKind.PHONE
    phone = {o.name: o for o in by_name["phone_number"].options}
    assert phone["format"].values == ("e164",) and phone["format"].label() == "format: e164"
    assert "default_region" in phone
    assert "format" not in {o.name for o in by_name["title"].options}
    assert "owners" in {o.name for o in by_name["contact_owner_email"].options}
    email = {o.name: o for o in by_name["email"].options}
    assert email["on_invalid"].label() == "on_invalid: reject"
    assert email["optional"].label() == "optional: false"
    title = {o.name: o for o in by_name["title"].options}
    assert title["on_invalid"].label() == "on_invalid: reject|drop|warn"
    assert {"split", "formats"} <= {o.name for o in info.custom_options}
    assert "split" not in title and "formats" not in title
    assert info.custom_sections == ("contact_custom_fields", "account_custom_fields")
    data = info.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["fields"][0] == {**data["fields"][0], "name": "email", "kind": "email"}


def test_unknown_target_says_did_you_mean() -> None:
    with pytest.raises(ConfigError) as info:
        describe_target("acount_contact")
    assert info.value.message == (
        "unknown target 'acount_contact'; did you mean account_contact? Known targets: "
        f"{', '.join(TARGETS)} (`syncer fields` lists them all)."
    )
    assert ", ".join(TARGETS).startswith("account_contact, accounts, opportunities")
    assert info.value.code == "usage" and info.value.exit_code == 2


EXPORTS = sorted((ROOT / "tests" / "data" / "exports").glob("*"))


def test_there_are_export_files() -> None:
    assert len(EXPORTS) >= 10


@pytest.mark.parametrize("path", EXPORTS, ids=[p.name for p in EXPORTS])
def test_mappings_init_writes_start_with_the_modeline_and_validate(
    validator: jsonschema.Draft7Validator, path: Path
) -> None:
    """What `syncer init` proposes for each known export is a mapping the editor accepts."""
    from syncer.proposal import propose, read_sample, render

    table, _ = read_sample(path)
    text = render(propose(table.columns, table.frame), source=path.name, mapping="m.yaml")
    assert text.splitlines()[0] == modeline()
    assert schema_errors(validator, yaml.safe_load(text)) == []
