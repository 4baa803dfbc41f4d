"""A deterministic export of tasks and logged activities (issue 14's acceptance and
bench/bench_lookups.py), with the contacts and deals they name, and the truth about every row.

Files written into a folder: ``contacts.csv`` (account_contact: one account per firm domain),
``deals.csv`` (one opportunity "Deal j" per firm), ``tasks.csv`` (times in Europe/Berlin),
``activities.csv`` and ``activities_skip.csv`` (times in America/Chicago), their mappings and a
job ``import.job.yaml`` running them in that order. Times sit around the 2026 DST changes of
both zones (a time the zone skips, one it repeats, a date alone); some enum values are bad
(``invalid_enum``), some domains, attendees and deals unknown (``missing_account``,
``unknown_contact``, ``unknown_opportunity``). :class:`Truth` says what each row must become;
:func:`expected_time` is what Reevo must store for a cell (computed with zoneinfo).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

BERLIN, CHICAGO = "Europe/Berlin", "America/Chicago"
OWNERS = ("john.doe@acme.com", "owner@acme.com")
FIRMS = 15
#: due dates (Europe/Berlin, 2026: clocks forward 03-29 02:00, back 10-25 03:00)
BERLIN_CELLS = (
    "2026-03-29 01:30",
    "2026-03-29 02:30",  # skipped: 03:30+02:00
    "2026-03-29 03:30",
    "2026-10-25 02:30",  # repeated: the earlier, +02:00
    "2026-10-25 03:30",
    "2026-10-25",  # a date alone: 00:00 there
    "2026-07-01 09:15",
    "",  # no due date
)
#: activity times (America/Chicago, 2026: clocks forward 03-08 02:00, back 11-01 02:00)
CHICAGO_CELLS = (
    "2026-03-08 01:30",
    "2026-03-08 02:30",  # skipped: 03:30-05:00
    "2026-03-08 03:30",
    "2026-11-01 01:30",  # repeated: the earlier, -05:00
    "2026-11-01 02:30",
    "2026-11-01",  # a date alone
    "2026-06-15 16:45",
)
STATUS = ("Not started", "Done", "in progress", "", "blocked")
#: what Reevo stores for each status cell (the mapping's values:, the enum, Reevo's default)
STATUS_SENT = {"Not started": "OPEN", "Done": "COMPLETED", "in progress": "IN_PROGRESS",
               "blocked": "BLOCKED", "": "OPEN"}  # fmt: skip
PRIORITY = ("high", "LOW", "Urgent", "medium", "")
TYPE = ("voice call", "Email", "action item", "", "reminder")
CATEGORY = ("Call", "Meeting", "call", "webinar", "Other")

CONTACTS_MAPPING = """\
target: account_contact
columns:
  email: Email
  first_name: First Name
  contact_owner_email: Owner
"""
DEALS_MAPPING = """\
target: opportunities
key: {column: Deal ID}
columns:
  display_name: Deal
  account: {domain: Domain}
"""
TASKS_MAPPING = f"""\
target: tasks
columns:
  title: Subject
  owner_email: Assigned to
  status: {{column: Status, values: {{Not started: OPEN, Done: COMPLETED}}}}
  priority: Priority
  type: Type
  due_at: {{column: Due date, timezone: {BERLIN}}}
  note: Notes
  contact_emails: {{column: Contacts, split: ";"}}
  account: {{domain: Company domain}}
"""
ACTIVITIES_MAPPING = f"""\
target: manual_activities
columns:
  activity_time: {{column: Date, timezone: {CHICAGO}}}
  subject: Subject
  description: Body
  category: {{column: Type, values: {{Call: CALL, Meeting: EVENT}}}}
  contacts: {{email: Attendees, split: ";"}}
  account: {{domain: Company domain}}
  opportunity: {{name: Deal}}
"""
SKIP_MAPPING = ACTIVITIES_MAPPING + "on_missing_contact: skip\n"
JOB = """\
steps:
  - {name: contacts, source: contacts.csv, mapping: contacts.yaml}
  - {name: deals, source: deals.csv, mapping: deals.yaml}
  - {name: tasks, source: tasks.csv, mapping: tasks.yaml}
  - {name: activities, source: activities.csv, mapping: activities.yaml}
  - {name: activities_skip, source: activities_skip.csv, mapping: activities_skip.yaml}
"""
STEPS = ("contacts", "deals", "tasks", "activities", "activities_skip")
TASKS_HEADER = ["Subject", "Assigned to", "Status", "Priority", "Type", "Due date", "Notes",
                "Contacts", "Company domain"]  # fmt: skip
ACTIVITIES_HEADER = ["Date", "Subject", "Body", "Type", "Attendees", "Company domain", "Deal"]


def expected_time(cell: str, zone: str) -> str | None:
    """What Reevo must store for a time cell read in ``zone``: a skipped time moved forward by
    the gap, a repeated one the earlier, a date alone 00:00 (zoneinfo's fold=0, normalised)."""
    if not cell:
        return None
    naive = datetime.fromisoformat(cell if " " in cell else cell + " 00:00")
    tz = ZoneInfo(zone)
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).isoformat()


def contact(i: int) -> str:
    return f"p{i}@firm{i % FIRMS}.example"


@dataclass
class Truth:
    """What each row must become: ``(status, code)`` of the rows that do not succeed, and the
    stored fields of those that do (by title / subject)."""

    contacts: list[str] = field(default_factory=list)
    deals: dict[str, str] = field(default_factory=dict)  # name -> domain
    task_rows: dict[int, tuple[str, str]] = field(default_factory=dict)
    tasks: dict[str, dict[str, object]] = field(default_factory=dict)
    activity_rows: dict[int, tuple[str, str]] = field(default_factory=dict)
    activities: dict[str, dict[str, object]] = field(default_factory=dict)
    skip_rows: dict[int, tuple[str, str]] = field(default_factory=dict)  # warnings
    skipped: dict[str, dict[str, object]] = field(default_factory=dict)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def generate(
    folder: Path, *, tasks: int = 1000, activities: int = 1000, skip: int = 60, contacts: int = 150
) -> Truth:
    """Write the files and mappings into ``folder``; return the truth."""
    truth = Truth()
    truth.contacts = [contact(i) for i in range(contacts)]
    _write(folder / "contacts.csv", ["Email", "First Name", "Owner"],
           [[e, f"P{i}", OWNERS[0]] for i, e in enumerate(truth.contacts)])  # fmt: skip
    truth.deals = {f"Deal {j}": f"firm{j}.example" for j in range(FIRMS)}
    _write(folder / "deals.csv", ["Deal ID", "Deal", "Domain"],
           [[f"D{j}", n, d] for j, (n, d) in enumerate(truth.deals.items())])  # fmt: skip
    _write(folder / "tasks.csv", TASKS_HEADER, _tasks(truth, tasks, contacts))
    _write(folder / "activities.csv", ACTIVITIES_HEADER, _activities(truth, activities, contacts))
    _write(folder / "activities_skip.csv", ACTIVITIES_HEADER, _skipped(truth, skip, contacts))
    for name, text in (("contacts", CONTACTS_MAPPING), ("deals", DEALS_MAPPING),
                       ("tasks", TASKS_MAPPING), ("activities", ACTIVITIES_MAPPING),
                       ("activities_skip", SKIP_MAPPING)):  # fmt: skip
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    (folder / "import.job.yaml").write_text(JOB, encoding="utf-8")
    return truth


def _attendees(i: int, contacts: int, n: int) -> list[str]:
    """``n`` known contacts of firm ``i % FIRMS``."""
    per_firm = contacts // FIRMS
    return [contact((i + FIRMS * ((i // FIRMS + k) % per_firm)) % contacts) for k in range(n)]


def _tasks(truth: Truth, n: int, contacts: int) -> list[list[str]]:
    rows = []
    for i in range(n):
        j = i % FIRMS
        row = 2 + i
        title = f"Task {i:04d}"
        priority = "ASAP" if i % 97 == 5 else PRIORITY[i % 5]
        kind = "Carrier pigeon" if i % 101 == 7 else TYPE[(i // 5) % 5]
        status = STATUS[(i // 3) % 5]
        due = BERLIN_CELLS[i % len(BERLIN_CELLS)]
        domain = "nofirm.example" if i % 53 == 11 else f"firm{j}.example"
        emails = _attendees(i, contacts, 1 + i % 2)
        owner = OWNERS[i % 2]
        rows.append([title, owner, status, priority, kind, due, f"note {i}", ";".join(emails),
                     domain])  # fmt: skip
        if priority == "ASAP" or kind == "Carrier pigeon":
            truth.task_rows[row] = ("invalid", "invalid_enum")
            continue
        if domain == "nofirm.example":
            truth.task_rows[row] = ("failed", "missing_account")
            continue
        truth.tasks[title] = {
            "owner_email": owner,
            "due_at": expected_time(due, BERLIN),
            "status": STATUS_SENT[status],
            "priority": (priority or "MEDIUM").upper(),
            "type": (kind or "REMINDER").upper().replace(" ", "_"),
            "contact_emails": emails,
            "domain": domain,
        }
    return rows


def _activity(truth: Truth, i: int, contacts: int, prefix: str, ghost: bool) -> list[str]:
    j = i % FIRMS
    emails = _attendees(i, contacts, 1 + i % 3)
    if ghost:
        emails = [*emails[:1], f"ghost{i}@firm{j}.example"]
    deal = f"Deal {j}" if i % 3 == 0 else ""
    date = CHICAGO_CELLS[i % len(CHICAGO_CELLS)]
    kind = CATEGORY[(i // 2) % 5]
    return [date, f"{prefix} {i:04d}", f"body {i}", kind, ";".join(emails), f"firm{j}.example",
            deal]  # fmt: skip


def _stored(row: list[str], emails: list[str]) -> dict[str, object]:
    kind = row[3]
    return {
        "activity_time": expected_time(row[0], CHICAGO),
        "category": {"Call": "CALL", "Meeting": "EVENT"}.get(kind, kind.upper()),
        "contact_emails": emails,
        "domain": row[5],
        "deal": row[6] or None,
    }


def _activities(truth: Truth, n: int, contacts: int) -> list[list[str]]:
    rows = []
    for i in range(n):
        line = 2 + i
        row = _activity(truth, i, contacts, "Activity", ghost=i % 17 == 4)
        if i % 61 == 9:
            row[6] = "Unknown deal"
        if i % 89 == 3:
            row[3] = "Fax"
        rows.append(row)
        if row[3] == "Fax":
            truth.activity_rows[line] = ("invalid", "invalid_enum")
            continue
        emails = row[4].split(";")
        if any(e.startswith("ghost") for e in emails):
            truth.activity_rows[line] = ("failed", "unknown_contact")
            continue
        if row[6] == "Unknown deal":
            truth.activity_rows[line] = ("failed", "unknown_opportunity")
            continue
        truth.activities[row[1]] = _stored(row, emails)
    return rows


def _skipped(truth: Truth, n: int, contacts: int) -> list[list[str]]:
    """Attendees unknown in every fourth row: logged without them, an ``unknown_contact``
    warning (``on_missing_contact: skip``)."""
    rows = []
    for i in range(n):
        row = _activity(truth, i, contacts, "Skip", ghost=i % 4 == 0)
        rows.append(row)
        emails = row[4].split(";")
        known = [e for e in emails if not e.startswith("ghost")]
        if len(known) < len(emails):
            truth.skip_rows[2 + i] = ("succeeded", "unknown_contact")
        truth.skipped[row[1]] = _stored(row, known)
    return rows
