"""Issue 14, item 1: tasks and manual activities through the real CLI and a live sandbox, with
small files: enum values checked before sending (``invalid_enum``), times around DST changes
stored with the right offsets, attendees and accounts looked up once per value, unknown ones
failing their rows (``unknown_contact``, ``missing_account``, ``unknown_opportunity``), the id
columns in the results file; then a second run of the same file writes nothing. Counts come
from the sandbox's dump and stats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from syncer.sandbox import EXAMPLE_ACCOUNT_ID, EXAMPLE_CONTACT_ID, SandboxHandle

from .cli_helpers import CliResult, private_env, read_results, syncer, write_csv

PUBLIC = "/api/v1/public/"
RETRIEVAL = PUBLIC + "account_and_contact_retrieval"
JANE, CASEY = "jane.doe@acme.com", "contact@acme.com"


TASKS_MAPPING = """\
target: tasks
columns:
  title: Subject
  owner_email: Assigned to
  status: {column: Status, values: {Not started: OPEN, Done: COMPLETED}}
  priority: Priority
  type: Type
  due_at: {column: Due date, timezone: Europe/Berlin}
  note: Notes
  contact_emails: {column: Contacts, split: ";"}
  account: {domain: Company domain}
"""
TASKS_HEADER = [
    "Subject",
    "Assigned to",
    "Status",
    "Priority",
    "Type",
    "Due date",
    "Notes",
    "Contacts",
    "Company domain",
]
#: row -> (due date cell, the offset time Reevo must store); rows 2-6 succeed
TASK_TIMES = {
    2: ("2026-03-29 01:30", "2026-03-29T01:30:00+01:00"),
    3: ("2026-03-29 02:30", "2026-03-29T03:30:00+02:00"),  # skipped hour: moved forward
    4: ("2026-10-25 02:30", "2026-10-25T02:30:00+02:00"),  # repeated hour: the earlier one
    5: ("2026-10-25 03:30", "2026-10-25T03:30:00+01:00"),
    6: ("", None),
}
TASK_ROWS = [
    ["Call back", "john.doe@acme.com", "Not started", "high", "voice call"],
    ["Send deck", "owner@acme.com", "Done", "LOW", "Email"],
    ["Prepare demo", "owner@acme.com", "in progress", "Urgent", "action item"],
    ["Renewal check", "john.doe@acme.com", "", "medium", ""],
    ["Ping", "john.doe@acme.com", "blocked", "", "reminder"],
    ["Bad priority", "owner@acme.com", "Done", "ASAP", "Email"],  # row 7: invalid_enum
    ["Elsewhere", "owner@acme.com", "Done", "LOW", "Email"],  # row 8: missing_account
]


def _task_rows() -> list[list[str]]:
    out = []
    for i, row in enumerate(TASK_ROWS):
        n = i + 2
        due = TASK_TIMES.get(n, ("2026-05-04 09:00", None))[0]
        domain = "nowhere.example" if n == 8 else "acme.com"
        out.append([*row, due, f"note {n}", f"{JANE}; {CASEY}", domain])
    return out


ACTIVITIES_MAPPING = """\
target: manual_activities
columns:
  activity_time: {column: Date, timezone: America/Chicago}
  subject: Subject
  description: Body
  category: {column: Type, values: {Call: CALL, Meeting: EVENT}}
  contacts: {email: Attendees, split: ";"}
  account: {domain: Company domain}
  opportunity: {name: Deal}
"""
ACTIVITIES_HEADER = ["Date", "Subject", "Body", "Type", "Attendees", "Company domain", "Deal"]
ACTIVITY_ROWS = [
    ["2026-03-08 01:30", "Intro call", "b", "Call", f"{JANE};{CASEY}", "acme.com", "Acme renewal"],
    ["2026-03-08 03:30", "Demo", "b", "Meeting", JANE, "acme.com", "Acme renewal"],
    ["2026-11-01 01:30", "Check-in", "b", "call", f"{CASEY.upper()}", "acme.com", ""],
    ["2026-11-01 02:30", "Webinar", "b", "webinar", "", "", ""],
    ["2026-06-01 10:00", "Ghosted", "b", "Call", f"{JANE};ghost@acme.com", "acme.com", ""],
    ["2026-06-01 11:00", "No deal", "b", "Call", JANE, "acme.com", "Unknown deal"],
    ["2026-06-01 12:00", "Fax", "b", "fax", JANE, "acme.com", ""],  # invalid_enum
]
ACTIVITY_TIMES = [
    "2026-03-08T01:30:00-06:00",
    "2026-03-08T03:30:00-05:00",
    "2026-11-01T01:30:00-05:00",
    "2026-11-01T02:30:00-06:00",
]


def _run(workdir: Path, handle: SandboxHandle, name: str) -> CliResult:
    return syncer(
        "run",
        f"{name}.csv",
        "--mapping",
        f"{name}.yaml",
        "--json",
        "--max-rate",
        "2000",
        cwd=workdir,
        api_key=handle.api_key,
        base_url=handle.base_url,
        env=private_env(workdir),
    )


def _writes(handle: SandboxHandle) -> int:
    return int(handle.admin.stats()["writes_applied"])


def _statuses(handle: SandboxHandle, path: str) -> dict[str, int]:
    by: dict[str, dict[str, int]] = handle.admin.stats()["by_path_status"]
    return {str(k): int(v) for k, v in by.get(path, {}).items()}


def _second_run_writes_nothing(workdir: Path, handle: SandboxHandle, name: str, n: int) -> None:
    before = _writes(handle)
    again = _run(workdir, handle, name)
    assert again.code in (0, 1), again.stderr
    assert _writes(handle) == before
    assert again.json["unchanged"] == n, again.json


def test_tasks_are_imported_once_with_enums_checked_and_offsets_kept(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    (tmp_path / "tasks.yaml").write_text(TASKS_MAPPING, encoding="utf-8")
    write_csv(tmp_path / "tasks.csv", TASKS_HEADER, _task_rows())
    res = _run(tmp_path, live_sandbox, "tasks")
    assert res.code == 1, res.stderr  # some rows failed
    assert (res.json["succeeded"], res.json["invalid"], res.json["failed"]) == (5, 1, 1)
    stored = {t["title"]: t for t in live_sandbox.admin.dump()["tasks"]}
    assert len(stored) == 5 and _writes(live_sandbox) == 5
    for n, (_cell, iso) in TASK_TIMES.items():
        assert stored[TASK_ROWS[n - 2][0]]["due_at"] == iso
    assert [stored[t[0]]["status"] for t in TASK_ROWS[:5]] == [
        "OPEN",
        "COMPLETED",
        "IN_PROGRESS",
        "OPEN",  # blank: Reevo's default
        "BLOCKED",
    ]
    assert stored["Call back"]["type"] == "VOICE_CALL" and stored["Ping"]["priority"] == "MEDIUM"
    assert {t["account_id"] for t in stored.values()} == {EXAMPLE_ACCOUNT_ID}
    assert stored["Send deck"]["contact_emails"] == [JANE, CASEY]
    rows = {int(r["source_row"]): r for r in read_results(tmp_path / "tasks.results.csv")}
    assert rows[2]["reevo_task_id"] == stored["Call back"]["id"]
    assert rows[2]["reevo_account_id"] == EXAMPLE_ACCOUNT_ID
    assert rows[7]["error_code"] == "invalid_enum"
    assert "URGENT, HIGH, MEDIUM, LOW" in rows[7]["error"]
    assert rows[8]["error_code"] == "missing_account" and "nowhere.example" in rows[8]["error"]
    _second_run_writes_nothing(tmp_path, live_sandbox, "tasks", 5)
    # a changed task cannot be updated through the API: cannot_update with its id, no new task
    changed = _task_rows()
    changed[0][6] = "a new note"
    write_csv(tmp_path / "tasks.csv", TASKS_HEADER, changed)
    third = _run(tmp_path, live_sandbox, "tasks")
    assert third.json["unchanged"] == 4 and _writes(live_sandbox) == 5
    rows = {int(r["source_row"]): r for r in read_results(tmp_path / "tasks.results.csv")}
    assert rows[2]["error_code"] == "cannot_update"
    assert stored["Call back"]["id"] in rows[2]["error"]


def test_activities_look_attendees_up_once_and_are_logged_once(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    made = httpx.post(
        f"{live_sandbox.base_url}{PUBLIC}opportunities",
        json={"display_name": "Acme renewal", "account_id": EXAMPLE_ACCOUNT_ID},
        headers={"x-api-key": live_sandbox.api_key},
    )
    assert made.status_code == 200, made.text
    (tmp_path / "acts.yaml").write_text(ACTIVITIES_MAPPING, encoding="utf-8")
    write_csv(tmp_path / "acts.csv", ACTIVITIES_HEADER, ACTIVITY_ROWS)
    writes = _writes(live_sandbox)
    res = _run(tmp_path, live_sandbox, "acts")
    assert res.code == 1, res.stderr
    assert (res.json["succeeded"], res.json["invalid"], res.json["failed"]) == (4, 1, 2)
    assert _writes(live_sandbox) - writes == 4
    # jane, casey (200) and ghost (404) asked once each; the 422 is the preflight's probe
    assert _statuses(live_sandbox, RETRIEVAL) == {"200": 2, "404": 1, "422": 1}
    logged = {a["metadata"]["subject"]: a for a in live_sandbox.admin.dump()["activities"]}
    subjects = [r[1] for r in ACTIVITY_ROWS[:4]]
    assert sorted(logged) == sorted(subjects)
    assert [logged[s]["metadata"]["activity_time"] for s in subjects] == ACTIVITY_TIMES
    assert [logged[s]["metadata"]["category"] for s in subjects] == [
        "CALL",
        "EVENT",
        "CALL",
        "WEBINAR",
    ]
    intro: dict[str, Any] = logged["Intro call"]
    assert intro["contact_ids"][0] == EXAMPLE_CONTACT_ID and len(intro["contact_ids"]) == 2
    assert intro["pipeline_id"] == made.json()["id"] and intro["account_id"] == EXAMPLE_ACCOUNT_ID
    assert logged["Webinar"]["contact_ids"] is None
    rows = {int(r["source_row"]): r for r in read_results(tmp_path / "acts.results.csv")}
    assert rows[2]["reevo_activity_id"] == intro["id"]
    assert rows[6]["error_code"] == "unknown_contact" and "ghost@acme.com" in rows[6]["error"]
    assert rows[7]["error_code"] == "unknown_opportunity" and "Unknown deal" in rows[7]["error"]
    assert rows[8]["error_code"] == "invalid_enum" and "WEBINAR, CALL, OTHER" in rows[8]["error"]
    _second_run_writes_nothing(tmp_path, live_sandbox, "acts", 4)
