"""`syncer fields` and `syncer schema` through the real command (subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from syncer.mapping import TARGETS
from syncer.schema import modeline, schema_file

from .cli_helpers import syncer, write_csv

ROOT = Path(__file__).resolve().parents[2]


def test_fields_lists_every_field_with_kind_and_options(tmp_path: Path) -> None:
    res = syncer("fields", cwd=tmp_path)
    assert res.code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    # a field's row is indented by two spaces (its wrapped lines and the kinds legend by more)
    rows = [line for line in lines if line.startswith("  ") and line[2] != " "]
    by_field: dict[str, str] = {}
    for line in rows:  # a name several targets share: the first target's (account_contact's)
        by_field.setdefault(line.split()[0], line)
    for name, spec in TARGETS.items():
        assert any(line.startswith(f"{name} (") for line in lines), name
        for field, kind in spec.fields.items():
            assert by_field[field].split()[1] == kind.value, by_field[field]
    assert by_field["email"].split()[2:5] == ["required;", "the", "key;"]
    assert by_field["phone_number"].split()[2:] == ["format:", "e164,", "default_region"]
    assert by_field["contact_owner_email"].split()[2:] == ["owners"]
    assert by_field["title"].split()[2:] == []
    text = " ".join(res.stdout.split())
    assert "required; the key; on_invalid: reject, optional: false" in text
    assert "Every field takes: column | value, null_values, on_invalid: reject|drop|warn" in text
    assert "may list columns, column: [A, B]: each row reads the first of them whose cell" in text
    assert "contact_custom_fields and account_custom_fields" in text
    assert "take: column | value, split," in text and "formats, values." in text


def test_fields_of_one_target_as_json(tmp_path: Path) -> None:
    res = syncer("fields", "account_contact", "--json", cwd=tmp_path)
    assert res.code == 0, res.stderr
    assert len(res.stdout.strip().splitlines()) == 1  # one object, nothing else
    out = res.json
    assert (out["command"], out["exit_code"], out["error"]) == ("fields", 0, None)
    [target] = out["targets"]
    assert (target["name"], target["default"], target["key"]) == ("account_contact", True, "email")
    fields = {f["name"]: f for f in target["fields"]}
    assert list(fields) == list(TARGETS["account_contact"].fields)
    assert fields["email"]["required"] and fields["email"]["key"]
    assert fields["contact_owner_email"]["kind"] == "owner_email"
    phone = {o["name"]: o for o in fields["phone_number"]["options"]}
    assert {"column", "value", "format", "default_region"} <= set(phone)
    assert phone["format"]["values"] == ["e164"]
    email = {o["name"]: o for o in fields["email"]["options"]}
    assert email["on_invalid"]["values"] == ["reject"]
    assert "owners" in {o["name"] for o in fields["account_owner_email"]["options"]}
    assert "owners" not in phone and "split" not in phone
    assert target["custom_sections"] == ["contact_custom_fields", "account_custom_fields"]
    assert {"column", "value", "split"} <= {o["name"] for o in target["custom_options"]}
    assert "or a list of them: each row reads the first" in phone["column"]["description"]


def test_unknown_target_exits_2_with_did_you_mean(tmp_path: Path) -> None:
    res = syncer("fields", "acount_contact", cwd=tmp_path)
    assert res.code == 2
    assert res.stdout == ""
    assert res.stderr.strip() == (
        "error: unknown target 'acount_contact'; did you mean account_contact? "
        "Known targets: account_contact, accounts, opportunities, tasks, manual_activities, "
        "sequence_enrollments (`syncer fields` lists them all)."
    )
    res = syncer("fields", "leads", "--json", cwd=tmp_path)
    assert res.code == 2
    error = res.json["error"]
    assert error["code"] == "usage"
    assert error["message"].startswith("unknown target 'leads'. Known targets: account_contact")
    assert error["hint"] == "Run `syncer fields` to see every target and its fields."


def test_schema_prints_the_shipped_schema(tmp_path: Path) -> None:
    res = syncer("schema", cwd=tmp_path)
    assert res.code == 0, res.stderr
    assert res.stdout == schema_file().read_text(encoding="utf-8")
    schema = json.loads(res.stdout)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    for path in sorted((ROOT / "mappings").glob("*.yaml")):
        if path.name.endswith(".job.yaml"):  # a job file lists steps, it is not a mapping
            continue
        assert list(validator.iter_errors(yaml.safe_load(path.read_text("utf-8")))) == []
    assert list(validator.iter_errors({"columns": {"emial": "Email"}}))


def test_schema_output_never_overwrites_without_force(tmp_path: Path) -> None:
    out = tmp_path / "mapping.schema.json"
    res = syncer("schema", "-o", out, cwd=tmp_path)
    assert res.code == 0, res.stderr
    assert res.stdout == ""
    assert out.read_text(encoding="utf-8") == schema_file().read_text(encoding="utf-8")
    out.write_text("mine", encoding="utf-8")
    res = syncer("schema", "--output", out, cwd=tmp_path)
    assert res.code == 2
    assert f"{out} already exists: pass --force to overwrite it" in res.stderr
    assert out.read_text(encoding="utf-8") == "mine"
    res = syncer("schema", "-o", out, "--force", cwd=tmp_path)
    assert res.code == 0, res.stderr
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(
        schema_file().read_text(encoding="utf-8")
    )
    res = syncer("schema", "-o", tmp_path / "no" / "such" / "dir.json", cwd=tmp_path)
    assert res.code == 2 and "cannot write" in res.stderr and "Choose another -o FILE" in res.stderr


def test_a_mapping_with_the_modeline_runs(tmp_path: Path) -> None:
    """The line `syncer init` puts first is a plain comment to syncer itself."""
    source = write_csv(tmp_path / "leads.csv", ["Email", "Phone"], [["a@x.com", "+14155550123"]])
    mapping = tmp_path / "leads.yaml"
    body = "columns:\n  email: Email\n  phone_number: {column: Phone, format: e164}\n"
    mapping.write_text(f"{modeline()}\n{body}", encoding="utf-8")
    res = syncer("validate", source, "--mapping", mapping, "--json", cwd=tmp_path)
    assert res.code == 0, res.stderr
    assert res.json["ready"] == 1
