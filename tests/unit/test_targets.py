"""The target registry: lookup, registration, and what a target declares."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from syncer import targets
from syncer.errors import ConfigError, MappingError
from syncer.ledger import Ledger
from syncer.mapping import load_mapping
from syncer.models import RowOutcome, RowWarning
from syncer.push import PushSettings, make_client, push_rows
from syncer.results import write_results
from syncer.results_reading import read_results
from syncer.runner.plan import Collected
from syncer.runner.prepared import prepare
from syncer.schema import build_schema, describe_target
from syncer.targets import account_contact
from syncer.targets.base import (
    CustomSection,
    FieldKind,
    IdColumn,
    Probe,
    Row,
    RowContext,
    Target,
    find_ids,
)


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
    assert targets.names() == [
        "account_contact",
        "accounts",
        "opportunities",
        "tasks",
        "manual_activities",
        "sequence_enrollments",
    ]
    assert targets.get("account_contact") is account_contact.TARGET
    assert [t.name for t in targets.every()] == list(targets.TARGETS)
    assert targets.DEFAULT in targets.TARGETS
    assert targets.custom_sections() == (
        "contact_custom_fields",
        "account_custom_fields",
        "custom_fields",
    )


def test_an_unknown_name_gets_a_did_you_mean() -> None:
    with pytest.raises(ConfigError) as info:
        targets.get("acount_contact")
    assert str(info.value) == (
        "unknown target 'acount_contact'; did you mean account_contact? Known targets: "
        "account_contact, accounts, opportunities, tasks, manual_activities, "
        "sequence_enrollments (`syncer fields` lists them all)."
    )
    with pytest.raises(ConfigError, match=r"^unknown target 'zzz'\. Known targets: "):
        targets.get("zzz")


def test_a_target_registered_for_a_block_only() -> None:
    with targets.registered(toy()) as t:
        assert targets.get("toy_notes") is t
        assert targets.names()[-1] == "toy_notes" and len(targets.names()) == 7
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


# -- a target that is not shipped, written in this file alone ---------------------------------
# It is registered for one test and goes through what a shipped target goes through: mapping
# checks, validation, its key and key wording, dedupe, the body (a custom section under its own
# body key), a push of several calls through the pool's retrying context, the results file's
# id columns and the ledger's ids. Nothing outside this file knows it.


async def _push_note(ctx: RowContext, row: Row) -> None:
    """Look the note up by its key; update the one found, else create it."""
    found = await ctx.request("POST", "notes/search", json={"key": row.key}, idempotent=True)
    if found:
        ctx.remember({"note_id": found[0]["id"]})
        await ctx.request("PATCH", f"notes/{found[0]['id']}", json=row.body, idempotent=True)
        return
    created = await ctx.request("POST", "notes", json=row.body, idempotent=False)
    ctx.remember(NOTES.ids_in(created))
    if row.body.get("pinned") == "yes":
        await ctx.request("POST", f"notes/{created['note']['id']}/pin", idempotent=False)
        ctx.warn("pinned", "the note was pinned")


NOTES = Target(
    name="toy_notes",
    summary="creates or updates a note by its title",
    fields={
        "title": FieldKind.TEXT,
        "text": FieldKind.TEXT,
        "pinned": FieldKind.TEXT,
        "author_email": FieldKind.OWNER_EMAIL,
        "link": FieldKind.URL,
    },
    required=("title",),
    key_field="title",
    key_label="title",
    custom=(CustomSection("contact_custom_fields", "note_fields", "contact", "Note fields."),),
    endpoint=("POST", "notes"),
    idempotent=False,
    write_permissions=("Notes Write",),
    read_permissions=("Notes Read",),
    id_columns=(IdColumn("note_id", "reevo_note_id", key="note_id", nested="note"),),
    probes=(Probe("POST", "notes"),),
    push=_push_note,
    key_expr=lambda value: value.str.to_uppercase(),
)


class FakeNotes:
    """A Reevo that keeps notes (httpx.MockTransport) and logs each request. The first create
    of "Plans" is throttled (429: not applied), the first of "GROCERIES" answered 503 (it may
    have been applied, so a create is not sent again)."""

    def __init__(self) -> None:
        self.notes: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.refuse = {"Plans": 429, "GROCERIES": 503}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1/public/")
        self.calls.append(f"{request.method} {path}")
        body = json.loads(request.content) if request.content else {}
        if path == "notes/search":
            hits = [n for n in self.notes.values() if n["key"] == body["key"]]
            return httpx.Response(200, json=hits)
        if request.method == "POST" and path == "notes":
            status = self.refuse.pop(body["title"], None)
            if status is not None:
                return httpx.Response(status, json={"detail": "busy"}, headers={"Retry-After": "0"})
            note = {"id": f"n{len(self.notes) + 1}", "key": body["title"].upper(), **body}
            self.notes[note["id"]] = note
            return httpx.Response(200, json={"note": {"id": note["id"]}})
        if path.endswith("/pin"):
            return httpx.Response(200, json={})
        note_id = path.removeprefix("notes/")
        self.notes[note_id].update(body)
        return httpx.Response(200, json={"note_id": note_id})


def _push(prepared: Any, fake: FakeNotes) -> list[RowOutcome]:
    outcomes: list[RowOutcome] = []
    settings = PushSettings(concurrency=1, initial_rate=1000, backoff_base_s=0.0)

    async def go() -> None:
        transport = httpx.MockTransport(fake)
        async with make_client("k" * 20, settings, transport=transport) as client:
            await push_rows(client, NOTES.name, prepared.iter_bodies(), settings, outcomes.append)

    asyncio.run(go())
    return sorted(outcomes, key=lambda o: o.source_row)


def test_a_target_defined_in_one_module_is_mapped_validated_pushed_and_recorded(
    tmp_path: Path,
) -> None:
    mapping = tmp_path / "notes.yaml"
    mapping.write_text(
        "target: toy_notes\n"
        "columns:\n  title: Title\n  text: Body\n  pinned: Pin\n  link: URL\n"
        "contact_custom_fields:\n  cus_field__Tags: {column: Tags, split: ';'}\n",
        encoding="utf-8",
    )
    source = tmp_path / "notes.csv"
    source.write_text(
        "Title,Body,Pin,URL,Tags\n"
        "Groceries,milk,,,home;weekly\n"  # 2
        ",no title,,,\n"  # 3: the required title is blank
        "Plans,a,yes,not a url,\n"  # 4: invalid link
        "Plans,b,yes,,x;y\n"  # 5
        "GROCERIES,eggs,,,\n",  # 6: the same key as row 2 (the target's key is upper case)
        encoding="utf-8",
    )
    with targets.registered(NOTES):
        # the registry, the schema and `syncer fields` know it
        assert describe_target("toy_notes").key == "title"
        assert "toy_notes" in build_schema()["properties"]["target"]["enum"]
        # an unknown field gets the target's own suggestions
        bad = tmp_path / "bad.yaml"
        bad.write_text("target: toy_notes\ncolumns:\n  titel: Title\n", encoding="utf-8")
        with pytest.raises(MappingError, match="did you mean title"):
            load_mapping(bad)

        prepared = prepare(source, mapping)
        rows = {r["source_row"]: r for r in prepared.frame.iter_rows(named=True)}
        assert [rows[i]["status"] for i in range(2, 7)] == [
            "duplicate", "invalid", "invalid", "ready", "ready",
        ]  # fmt: skip
        assert rows[3]["error_code"] == "missing_title"
        assert rows[4]["error_code"] == "invalid_url"
        assert rows[2]["error"] == "duplicate of row 6: same title GROCERIES (dedupe keep: last)"
        assert next(prepared.iter_bodies()) == (
            5,
            "PLANS",
            {
                "title": "Plans",
                "text": "b",
                "pinned": "yes",
                "note_fields": {"cus_field__Tags": ["x", "y"]},
            },
        )
        bodies = {row: body for row, _, body in prepared.iter_bodies()}
        assert bodies[6] == {"title": "GROCERIES", "text": "eggs"}

        fake = FakeNotes()
        outcomes = _push(prepared, fake)
        assert [(o.source_row, o.status.value, o.code, o.ids) for o in outcomes] == [
            (5, "succeeded", "", {"note_id": "n1"}),
            (6, "failed", "reevo_ambiguous", {}),
        ]
        assert outcomes[0].warnings == (RowWarning("pinned", "the note was pinned"),)
        assert outcomes[0].attempts == 4  # search, create (429), create, pin
        # each request's own idempotency: the throttled create is sent again, the create
        # that may have been applied is not (the search before it was repeatable)
        assert fake.calls == [
            "POST notes/search", "POST notes", "POST notes", "POST notes/n1/pin",
            "POST notes/search", "POST notes",
        ]  # fmt: skip

        # a second push finds the note it made and updates it; the other is created now
        again = _push(prepared, fake)
        assert [(o.status.value, o.ids) for o in again] == [
            ("succeeded", {"note_id": "n1"}),
            ("succeeded", {"note_id": "n2"}),
        ]
        assert fake.calls[6:] == [
            "POST notes/search", "PATCH notes/n1", "POST notes/search", "POST notes",
        ]  # fmt: skip

        # results: the target's id column, read back as a results file
        collected = Collected(NOTES.id_columns)
        for o in outcomes:
            collected.add(o)
        results, failures = tmp_path / "notes.results.csv", tmp_path / "notes.failures.csv"
        write_results(prepared, collected.frame(), results, failures)
        with results.open(encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        assert header[-2:] == ["error_code", "reevo_note_id"]
        columns, frame = read_results(results)
        assert columns == ["Title", "Body", "Pin", "URL", "Tags"]
        assert frame.filter(pl.col("source_row") == 5)["reevo_note_id"].to_list() == ["n1"]

        # the ledger keeps its ids (no column of their own: the ids JSON)
        org = "https://api.reevo.ai#key:1"
        with Ledger(tmp_path / "ledger.db") as ledger:
            ledger.record(org, "toy_notes", 1, "PLANS", "h", outcomes[0])
            ledger.flush()
            (known,) = ledger.lookup(org, "toy_notes", ["PLANS"]).values()
            # what a read-back of these ids (key rotation) would sample
            found = (
                ledger.orgs_at("https://api.reevo.ai", ["note_id"]),
                ledger.orgs_at("https://api.reevo.ai"),
                ledger.sample_ids(org, "note_id"),
            )
        assert (known.get_id("note_id"), known.ids()) == ("n1", {"note_id": "n1"})
        assert found == ([org], [], ["n1"])
    assert "toy_notes" not in targets.TARGETS
