"""The target registry: lookup, registration, and what a target declares."""

from __future__ import annotations

import dataclasses

import pytest

from syncer import targets
from syncer.errors import ConfigError
from syncer.targets import account_contact
from syncer.targets.base import FieldKind, IdColumn, Row, RowContext, Target, find_ids


async def _no_push(ctx: RowContext, row: Row) -> None:
    raise AssertionError("not pushed in these tests")


def toy(name: str = "toy_notes", **changes: object) -> Target:
    """A small target that is not shipped."""
    base = Target(
        name=name,
        summary="creates a note",
        fields={"title": FieldKind.TEXT, "author_email": FieldKind.OWNER_EMAIL},
        required=("title",),
        key_field="title",
        key_label="title",
        custom=(),
        endpoint=("POST", "notes"),
        idempotent=False,
        write_permissions=("Notes Write",),
        read_permissions=(),
        id_columns=(IdColumn("note_id", "reevo_note_id", key="note_id"),),
        probes=(),
        push=_no_push,
    )
    return dataclasses.replace(base, **changes) if changes else base


def test_the_shipped_targets() -> None:
    assert targets.names() == ["account_contact"]
    assert targets.get("account_contact") is account_contact.TARGET
    assert [t.name for t in targets.every()] == list(targets.TARGETS)
    assert targets.DEFAULT in targets.TARGETS
    assert targets.custom_sections() == ("contact_custom_fields", "account_custom_fields")


def test_an_unknown_name_gets_a_did_you_mean() -> None:
    with pytest.raises(ConfigError) as info:
        targets.get("acount_contact")
    assert str(info.value) == (
        "unknown target 'acount_contact'; did you mean account_contact? Known targets: "
        "account_contact (`syncer fields` lists them all)."
    )
    with pytest.raises(ConfigError, match=r"^unknown target 'zzz'\. Known targets: "):
        targets.get("zzz")


def test_a_target_registered_for_a_block_only() -> None:
    with targets.registered(toy()) as t:
        assert targets.get("toy_notes") is t
        assert targets.names() == ["account_contact", "toy_notes"]
        with pytest.raises(ValueError, match="registered already"):
            targets.register(toy())
    assert "toy_notes" not in targets.TARGETS


def test_a_declaration_is_checked() -> None:
    with pytest.raises(ValueError, match=r"\['body'\] are not among its fields"):
        toy(required=("body",))
    with pytest.raises(ValueError, match="reevo_<object>_id"):
        IdColumn("note_id", "note", key="note_id")


def test_ids_are_found_wherever_reevo_puts_them() -> None:
    cols = account_contact.IDS
    assert find_ids({"contact_id": "c", "account_id": "a"}, cols) == {
        "contact_id": "c",
        "account_id": "a",
    }
    assert find_ids({"contact": {"id": "c"}, "account": {"id": 7}}, cols) == {
        "contact_id": "c",
        "account_id": "7",
    }
    assert find_ids({"data": {"contact_id": "c"}}, cols) == {"contact_id": "c"}
    assert find_ids({"contact_id": "", "data": {"account_id": "a"}}, cols) == {"account_id": "a"}
    assert find_ids(None, cols) == {} and find_ids([1], cols) == {}
    assert account_contact.extract_ids({"contact_id": "c"}) == ("c", None)
