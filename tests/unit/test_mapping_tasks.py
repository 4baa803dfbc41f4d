"""The tasks and manual_activities mapping contract through prepare(): the issue's examples,
enum fields (any case, values: first, invalid_enum listing the allowed values, mapping-time
checks), e-mail list lookups, metadata fields kept flat in the body, and the default key (a
sha256 of the fields that tell rows apart, stable across runs and polars versions)."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from pipeline_helpers import by_row, table

from syncer.errors import MappingError
from syncer.mapping import load_mapping
from syncer.runner import Prepared, prepare
from syncer.targets import get
from syncer.targets.related import hashed_key

TASKS_EXAMPLE = """\
target: tasks
key: {column: Task ID}    # default: a hash of title, owner_email, due_at, contact_emails, account
columns:
  title: Subject
  owner_email: Assigned to
  status: {column: Status, values: {Not started: OPEN, Done: COMPLETED}}
  priority: Priority          # URGENT, HIGH, MEDIUM, LOW (case-insensitive)
  type: Type
  due_at: {column: Due date, timezone: Europe/Berlin}
  note: Notes
  contact_emails: {column: Contacts, split: ";"}
  account: {domain: Company domain}
  opportunity_name: Deal
"""

ACTIVITIES_EXAMPLE = """\
target: manual_activities
key: {column: Activity ID}    # default: a hash of activity_time, subject, contacts, account
columns:
  activity_time: {column: Date, timezone: America/Chicago}   # metadata.* are flattened
  subject: Subject
  description: Body
  category: {column: Type, values: {Call: CALL, Meeting: EVENT}}
  contacts: {email: Attendees, split: ";"}    # looked up -> contact_ids
  account: {domain: Company domain}
  opportunity: {name: Deal}                   # looked up -> pipeline_id
on_missing_contact: fail       # fail (default) | skip (drop that attendee, warn)
"""

TASK_ROW = {
    "Task ID": "T-1",
    "Subject": " Call back ",
    "Assigned to": "owner@example.com",
    "Status": "Not started",
    "Priority": "high",
    "Type": "voice call",
    "Due date": "2026-03-29 02:30",
    "Notes": "ask about pricing",
    "Contacts": "Ann@Example.com; bob@example.com ;",
    "Company domain": "https://www.Acme.com/about",
    "Deal": "Acme renewal",
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _prepare(tmp_path: Path, text: str, rows: list[dict[str, Any]]) -> Prepared:
    return prepare(table(rows), load_mapping(_write(tmp_path, text)))


def _bodies(p: Prepared) -> dict[int, tuple[str, dict[str, Any]]]:
    return {row: (key, body) for row, key, body in p.iter_bodies()}


def test_the_tasks_example_makes_the_exact_body(tmp_path: Path) -> None:
    p = _prepare(tmp_path, TASKS_EXAMPLE, [TASK_ROW])
    ((key, body),) = _bodies(p).values()
    assert key == "T-1"
    assert body == {
        "title": "Call back",
        "owner_email": "owner@example.com",
        "status": "OPEN",  # values: first, then the enum's normal form
        "priority": "HIGH",
        "type": "VOICE_CALL",  # any case; a space as _
        "due_at": "2026-03-29T03:30:00+02:00",  # 02:30 does not exist in Berlin that night
        "note": "ask about pricing",
        "contact_emails": ["Ann@example.com", "bob@example.com"],  # the domain lowercased
        "account": {"domain": "acme.com"},
        "opportunity_name": "Acme renewal",
    }


def test_the_activities_example_keeps_metadata_flat_and_lookups_as_forms(tmp_path: Path) -> None:
    row = {
        "Activity ID": "A-9",
        "Date": "2026-11-01 01:30",  # Chicago: the hour repeated when DST ends
        "Subject": "Intro call",
        "Body": "went well",
        "Type": "call",
        "Attendees": "ann@example.com;BOB@example.com",
        "Company domain": "acme.com",
        "Deal": "Acme renewal",
    }
    p = _prepare(tmp_path, ACTIVITIES_EXAMPLE, [row])
    ((key, body),) = _bodies(p).values()
    assert key == "A-9"
    assert body["subject"] == "Intro call" and body["category"] == "CALL"
    # e-mails as validated (the domain lowercased); looked up in any case
    assert body["contacts"] == {"email": ["ann@example.com", "BOB@example.com"]}
    assert body["account"] == {"domain": "acme.com"}
    assert body["opportunity"] == {"name": "Acme renewal"}
    assert body["activity_time"] == "2026-11-01T01:30:00-05:00"  # the earlier of the two


@pytest.mark.parametrize(
    ("cell", "sent"),
    [("Urgent", "URGENT"), (" low ", "LOW"), ("MEDIUM", "MEDIUM"), ("hIgH", "HIGH")],
)
def test_an_enum_takes_any_case_and_is_sent_upper_case(
    tmp_path: Path, cell: str, sent: str
) -> None:
    p = _prepare(tmp_path, TASKS_EXAMPLE, [{**TASK_ROW, "Priority": cell}])
    ((_, body),) = _bodies(p).values()
    assert body["priority"] == sent


def test_an_enum_value_not_allowed_is_invalid_enum_listing_the_allowed_values(
    tmp_path: Path,
) -> None:
    p = _prepare(tmp_path, TASKS_EXAMPLE, [{**TASK_ROW, "Priority": "ASAP"}])
    row = by_row(p)[2]
    assert row["status"] == "invalid" and row["error_code"] == "invalid_enum"
    assert row["error"] == (
        'Priority "ASAP" is not a priority Reevo takes: URGENT, HIGH, MEDIUM, LOW '
        "(map other values with values:)"
    )


def test_on_invalid_drop_leaves_a_bad_enum_out_with_a_warning(tmp_path: Path) -> None:
    text = TASKS_EXAMPLE.replace("  type: Type\n", "  type: {column: Type, on_invalid: drop}\n")
    p = _prepare(tmp_path, text, [{**TASK_ROW, "Type": "fax"}])
    row = by_row(p)[2]
    assert row["status"] == "ready" and "invalid_enum" in row["warnings"]
    ((_, body),) = _bodies(p).values()
    assert "type" not in body


def test_a_values_target_or_constant_reevo_does_not_take_is_a_mapping_error(
    tmp_path: Path,
) -> None:
    text = TASKS_EXAMPLE.replace("Done: COMPLETED", "Done: FINISHED").replace(
        "  priority: Priority", "  priority: {value: urgnt}"
    )
    with pytest.raises(MappingError) as info:
        load_mapping(_write(tmp_path, text))
    message = str(info.value)
    assert "columns.status.values.Done: 'FINISHED' is not a status Reevo takes: OPEN," in message
    assert "columns.priority.value: 'urgnt' is not a priority Reevo takes" in message
    assert "did you mean URGENT?" in message


def test_an_invalid_attendee_address_is_invalid_email(tmp_path: Path) -> None:
    row = {
        "Activity ID": "A-1",
        "Date": "2026-01-05 10:00",
        "Subject": "s",
        "Body": "b",
        "Type": "Meeting",
        "Attendees": "ann@example.com;not-an-address",
        "Company domain": "acme.com",
        "Deal": "D",
    }
    p = _prepare(tmp_path, ACTIVITIES_EXAMPLE, [row])
    out = by_row(p)[2]
    assert out["error_code"] == "invalid_email"
    assert '"not-an-address"' in out["error"]


def test_split_applies_to_the_contacts_lookup_only_among_lookups(tmp_path: Path) -> None:
    text = ACTIVITIES_EXAMPLE.replace(
        "  account: {domain: Company domain}", "  account: {domain: Company domain, split: ';'}"
    )
    with pytest.raises(MappingError, match=r"columns.account: split applies to list fields"):
        load_mapping(_write(tmp_path, text))


def _default_key_rows() -> list[dict[str, Any]]:
    base = {k: v for k, v in TASK_ROW.items() if k != "Task ID"}
    return [
        base,
        {**base, "Subject": "CALL BACK", "Contacts": "bob@example.com;ann@example.com"},
        {**base, "Due date": "2026-03-30 09:00"},
        {**base, "Notes": "another note", "Priority": "low"},
    ]


def test_the_default_key_is_a_stable_hash_of_the_fields_that_tell_tasks_apart(
    tmp_path: Path,
) -> None:
    text = TASKS_EXAMPLE.replace("key: {column: Task ID}", "")
    p = _prepare(tmp_path, text, _default_key_rows())
    rows = by_row(p)
    keys = {n: rows[n]["__key"] for n in rows}
    # the same title (any case) and contacts (any order): one task; another due time: another;
    # the note and the priority are not part of the key (the same task, changed)
    assert keys[2] == keys[3] and keys[2] != keys[4] and keys[5] == keys[2]
    # one task per key: the last of the rows sharing one is sent (dedupe: keep last)
    assert [rows[n]["status"] for n in (2, 3, 4, 5)] == ["duplicate", "duplicate", "ready", "ready"]
    # sha256 of the canonical text: the same in any polars version and any run
    canonical = "\x1f".join(
        [
            "title=call back",
            "owner_email=owner@example.com",
            f"due_at={rows[2]['__v:due_at'].lower()}",
            "contact_emails=ann@example.com;bob@example.com",
            "account=domain:acme.com",
        ]
    )
    assert keys[2] == hashlib.sha256(canonical.encode()).hexdigest()[:32]


def test_the_hashed_key_is_null_without_its_first_field_and_says_what_to_map() -> None:
    columns = dict.fromkeys("to", pl.String)
    frame = pl.DataFrame({"t": [None, "x"], "o": ["a", None]}, schema=columns)
    key = frame.select(hashed_key({"t": pl.col("t"), "o": pl.col("o")}, ["t", "o"]))
    assert key.to_series().to_list()[0] is None and len(key.to_series()[1]) == 32
    with pytest.raises(ValueError, match="map title"):
        get("tasks").key_of({"owner_email": pl.col("o")})  # type: ignore[misc]


def test_the_activities_default_key_uses_the_attendees_as_a_set(tmp_path: Path) -> None:
    text = ACTIVITIES_EXAMPLE.replace("key: {column: Activity ID}", "")
    row = {
        "Date": "2026-01-05 10:00",
        "Subject": "Call",
        "Body": "b",
        "Type": "Call",
        "Attendees": "ann@example.com;bob@example.com",
        "Company domain": "acme.com",
        "Deal": "D",
    }
    rows = [row, {**row, "Attendees": "BOB@example.com; ann@example.com"}, {**row, "Subject": "x"}]
    out = by_row(_prepare(tmp_path, text, rows))
    assert out[2]["__key"] == out[3]["__key"] != out[4]["__key"]
    assert [out[n]["status"] for n in (2, 3, 4)] == ["duplicate", "ready", "ready"]
