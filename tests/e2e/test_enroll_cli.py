"""Issue 14, items 2 and 4: enrolling contacts in a sequence, through the real CLI and sandbox.

A lead list imported with ``then: enroll`` enrolls every contact the run created, once: a
re-run enrolls nobody, 20 new rows enroll exactly those 20 (counts from the sandbox's dump).
A mailbox that is not one of the contact owner's stops the run before anything is written;
a failed enrollment leaves the contact's own success alone and ``syncer retry`` sends only
the enrollments again. The standalone ``sequence_enrollments`` target writes nothing on a
second run. The sandbox's john.doe@acme.com has the mailboxes john.doe@acme.com and
sender@yourcompany.com (syncer/sandbox/seed.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syncer.sandbox import DEMO_SEQUENCE_ID, SandboxHandle

from .cli_helpers import CliResult, private_env, read_results, syncer, write_csv

PUBLIC = "/api/v1/public/"
ENROLL = PUBLIC + "sequence_enrollments"
CONTACTS = PUBLIC + "account_contact"
OWNER, SENDER = "john.doe@acme.com", "sender@yourcompany.com"
HEADER = ["Email", "First Name", "Owner", "Sender"]
MAPPING = f"""\
target: account_contact
columns:
  email: Email
  first_name: First Name
  contact_owner_email: Owner
then:
  enroll: {{sequence_id: {{value: {DEMO_SEQUENCE_ID}}}, mailbox_email: Sender}}
"""


def _rows(start: int, n: int, sender: str = SENDER) -> list[list[str]]:
    return [[f"lead{i}@firm.example", f"Lead {i}", OWNER, sender] for i in range(start, start + n)]


def _run(workdir: Path, handle: SandboxHandle, *args: str, key: str | None = None) -> CliResult:
    args = args or ("run", "leads.csv", "--mapping", "map.yaml")
    fast = ("--max-rate", "2000") if args[0] != "check" else ()  # the sandbox is local
    return syncer(
        *args,
        "--json",
        *fast,
        cwd=workdir,
        api_key=key or handle.api_key,
        base_url=handle.base_url,
        env=private_env(workdir),
    )


def _enrollments(handle: SandboxHandle) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = handle.admin.dump().get("enrollments", [])
    return out


def _posts(handle: SandboxHandle, path: str) -> dict[str, int]:
    by: dict[str, dict[str, int]] = handle.admin.stats()["by_path_status"]
    return {str(k): int(v) for k, v in by.get(path, {}).items()}


def _setup(workdir: Path, rows: list[list[str]], mapping: str = MAPPING) -> None:
    (workdir / "map.yaml").write_text(mapping, encoding="utf-8")
    write_csv(workdir / "leads.csv", HEADER, rows)


def test_a_lead_list_is_enrolled_once_and_new_rows_only_are_enrolled_later(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    _setup(tmp_path, _rows(0, 300))
    res = _run(tmp_path, live_sandbox)
    assert res.code == 0, res.stderr
    assert res.json["succeeded"] == 300
    enrolled = _enrollments(live_sandbox)
    assert len(enrolled) == 300
    assert {e["contact_email"] for e in enrolled} == {f"lead{i}@firm.example" for i in range(300)}
    assert {(e["sequence_id"], e["mailbox_email"]) for e in enrolled} == {
        (DEMO_SEQUENCE_ID, SENDER)
    }
    rows = read_results(tmp_path / "leads.results.csv")
    assert {(r["enrolled"], r["enroll_error"]) for r in rows} == {("yes", "")}
    assert list(rows[0])[-2:] == ["enrolled", "enroll_error"]
    assert "then: enroll: 300 contact(s) enrolled (300 sent)" in res.stderr

    again = _run(tmp_path, live_sandbox)
    assert again.code == 0, again.stderr
    assert again.json["unchanged"] == 300
    assert len(_enrollments(live_sandbox)) == 300
    assert _posts(live_sandbox, ENROLL) == {"200": 300, "422": 1}  # the probe of run one

    _setup(tmp_path, _rows(0, 320))
    more = _run(tmp_path, live_sandbox)
    assert more.code == 0, more.stderr
    assert (more.json["unchanged"], more.json["succeeded"]) == (300, 20)
    enrolled = _enrollments(live_sandbox)
    assert len(enrolled) == 320
    assert _posts(live_sandbox, ENROLL)["200"] == 320
    rows = read_results(tmp_path / "leads.results.csv")
    assert sum(r["enrolled"] == "yes" for r in rows) == 20  # created by this run
    assert sum(r["enrolled"] == "" for r in rows) == 300  # not created: not to be enrolled


def test_a_mailbox_that_is_not_the_owners_stops_the_run_before_any_write(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    rows = _rows(0, 30)
    rows[12][3] = "nobody@yourcompany.com"
    _setup(tmp_path, rows)
    res = _run(tmp_path, live_sandbox)
    assert res.code == 3, res.stderr
    assert res.json["abort_reason"] == "unknown_mailbox"
    assert live_sandbox.admin.stats()["writes_applied"] == 0
    assert _enrollments(live_sandbox) == []
    assert not any(c.get("upsert_count") for c in live_sandbox.admin.dump()["contacts"])
    assert "nobody@yourcompany.com (then.enroll.mailbox_email: column Sender" in res.stderr
    assert "map.yaml line 7" in res.stderr and f"is not a mailbox of {OWNER}" in res.stderr


def test_syncer_check_checks_the_enrollment_permission_and_the_files_mailboxes(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    rows = _rows(0, 5)
    _setup(tmp_path, rows)
    check = ("check", "leads.csv", "--mapping", "map.yaml")
    assert _run(tmp_path, live_sandbox, *check).code == 0
    assert _posts(live_sandbox, ENROLL) == {"422": 1}  # the permission probe only
    weak = live_sandbox.admin.create_key({"accounts": "write", "contacts": "write"})
    refused = _run(tmp_path, live_sandbox, *check, key=weak)
    assert refused.code == 3 and "sequence_enrollments" in refused.stderr
    rows[2][3] = "nobody@yourcompany.com"
    _setup(tmp_path, rows)
    wrong = _run(tmp_path, live_sandbox, *check)
    assert wrong.code == 3 and "nobody@yourcompany.com" in wrong.stderr
    assert live_sandbox.admin.stats()["writes_applied"] == 0


def test_a_failed_enrollment_keeps_the_contact_and_retry_sends_only_the_enrollments(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    _setup(tmp_path, _rows(0, 12))
    # a key that may write contacts but not enroll them, without preflight: the contacts go
    # in, every enrollment is refused (403)
    weak = live_sandbox.admin.create_key({"accounts": "write", "contacts": "write"})
    res = _run(tmp_path, live_sandbox, "run", "leads.csv", "--mapping", "map.yaml",
               "--no-preflight", key=weak)  # fmt: skip
    # the contacts succeeded; the enrollments to redo make it exit 1 (rows to fix)
    assert res.code == 1 and res.json["succeeded"] == 12, res.stderr
    assert res.json["warnings"] == {"not_enrolled": 12}
    rows = read_results(tmp_path / "leads.results.csv")
    assert {r["status"] for r in rows} == {"succeeded"}
    assert {r["enrolled"] for r in rows} == {"no"}
    assert all("sequence_enrollments" in r["enroll_error"] for r in rows), rows[0]
    assert _enrollments(live_sandbox) == []
    contacts_before = _posts(live_sandbox, CONTACTS)

    retry = _run(tmp_path, live_sandbox, "retry", "leads.results.csv")
    assert retry.code == 0, retry.stderr
    assert len(_enrollments(live_sandbox)) == 12
    assert _posts(live_sandbox, CONTACTS) == contacts_before  # no contact sent again
    retried = read_results(tmp_path / "leads.retry.results.csv")
    assert {(r["status"], r["enrolled"]) for r in retried} == {("unchanged", "yes")}

    nothing = _run(tmp_path, live_sandbox, "retry", "leads.retry.results.csv")
    assert nothing.code == 0, nothing.stderr
    assert len(_enrollments(live_sandbox)) == 12


def test_an_enrollment_that_may_have_been_applied_waits_for_force_ambiguous(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    """Reevo applies each enrollment, then answers 500: the run cannot tell, so the rows are
    ``enrolled: no`` (reevo_ambiguous), a retry holds them back, and a retry with
    --force-ambiguous sends them: Reevo says they are enrolled already, nothing is doubled."""
    _setup(tmp_path, _rows(0, 6), MAPPING.split("then:")[0])
    assert _run(tmp_path, live_sandbox).code == 0  # the contacts first
    _setup(tmp_path, _rows(0, 6), MAPPING.replace("mailbox_email: Sender}", "only: all}"))
    live_sandbox.admin.set_faults(commit_then_fail_rate=1.0, commit_then_fail_mode="500")
    res = _run(tmp_path, live_sandbox)
    live_sandbox.admin.set_faults(commit_then_fail_rate=0.0)
    assert res.json["unchanged"] == 6, res.stderr
    assert len(_enrollments(live_sandbox)) == 6  # applied, unanswered
    rows = read_results(tmp_path / "leads.results.csv")
    assert {r["enrolled"] for r in rows} == {"no"}
    assert all("may have been applied" in r["enroll_error"] for r in rows), rows[0]
    posts = sum(_posts(live_sandbox, ENROLL).values())

    held = _run(tmp_path, live_sandbox, "retry", "leads.results.csv")
    assert sum(_posts(live_sandbox, ENROLL).values()) == posts  # nothing sent
    retried = read_results(tmp_path / "leads.retry.results.csv")
    assert {r["enrolled"] for r in retried} == {"no"}, held.stderr
    assert all("--force-ambiguous" in r["enroll_error"] for r in retried)

    forced = _run(tmp_path, live_sandbox, "retry", "leads.results.csv", "--force-ambiguous")
    assert forced.code == 0, forced.stderr
    assert len(_enrollments(live_sandbox)) == 6  # Reevo refused a second enrollment (409)
    forced_rows = read_results(tmp_path / "leads.retry.results.csv")
    assert {r["enrolled"] for r in forced_rows} == {"yes"}
    assert all("already_enrolled" in r["warnings"] for r in forced_rows)


def test_contacts_created_by_a_run_that_did_not_enroll_them_are_enrolled_by_the_next(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    """Not a retry: the same file again (after a kill, or with the results file lost). The
    ledger noted which contacts the first run created; the second run finds them unchanged
    and enrolls those, and nobody else."""
    _setup(tmp_path, _rows(0, 8))
    weak = live_sandbox.admin.create_key({"accounts": "write", "contacts": "write"})
    args = ("run", "leads.csv", "--mapping", "map.yaml")
    assert _run(tmp_path, live_sandbox, *args, "--no-preflight", key=weak).json["succeeded"] == 8
    assert _enrollments(live_sandbox) == []
    _setup(tmp_path, _rows(0, 10))
    res = _run(tmp_path, live_sandbox)
    assert (res.json["unchanged"], res.json["succeeded"]) == (8, 2), res.stderr
    assert len(_enrollments(live_sandbox)) == 10
    rows = read_results(tmp_path / "leads.results.csv")
    assert {r["enrolled"] for r in rows} == {"yes"}
    again = _run(tmp_path, live_sandbox)
    assert again.code == 0 and len(_enrollments(live_sandbox)) == 10
    assert {r["enrolled"] for r in read_results(tmp_path / "leads.results.csv")} == {""}


def test_only_all_enrolls_every_contact_that_is_in_reevo_also_unchanged_ones(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    _setup(tmp_path, _rows(0, 10), MAPPING.split("then:")[0])
    assert _run(tmp_path, live_sandbox).code == 0  # imported before, without then:
    _setup(tmp_path, _rows(0, 15), MAPPING.replace("mailbox_email: Sender}", "only: all}"))
    res = _run(tmp_path, live_sandbox)
    assert res.code == 0, res.stderr
    assert (res.json["unchanged"], res.json["succeeded"]) == (10, 5)
    enrolled = _enrollments(live_sandbox)
    assert len(enrolled) == 15
    # no mailbox given: Reevo picks one of the contact owner's
    assert {e["mailbox_email"] for e in enrolled} <= {OWNER, SENDER}
    rows = read_results(tmp_path / "leads.results.csv")
    assert {r["enrolled"] for r in rows} == {"yes"}


STANDALONE = f"""\
target: sequence_enrollments
columns:
  contact_email: Email
  sequence_id: {{value: {DEMO_SEQUENCE_ID}}}
  mailbox_email: Sender
"""


def _contacts(workdir: Path, handle: SandboxHandle, n: int) -> tuple[str, ...]:
    """Import ``n`` leads as contacts (no then:), write enroll.yaml; its run's arguments."""
    _setup(workdir, _rows(0, n), "columns:\n  email: Email\n  first_name: First Name\n")
    assert _run(workdir, handle).code == 0
    (workdir / "enroll.yaml").write_text(STANDALONE, encoding="utf-8")
    return ("run", "leads.csv", "--mapping", "enroll.yaml")


def test_a_sequence_enrollments_mapping_run_twice_writes_nothing_the_second_time(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    args = _contacts(tmp_path, live_sandbox, 25)
    first = _run(tmp_path, live_sandbox, *args)
    assert first.code == 0, first.stderr
    assert first.json["succeeded"] == 25
    assert len(_enrollments(live_sandbox)) == 25
    ids = {r["reevo_enrollment_id"] for r in read_results(tmp_path / "leads.results.csv")}
    assert ids == {e["id"] for e in _enrollments(live_sandbox)}
    writes = live_sandbox.admin.stats()["writes_applied"]

    second = _run(tmp_path, live_sandbox, *args)
    assert second.code == 0, second.stderr
    assert second.json["unchanged"] == 25
    assert live_sandbox.admin.stats()["writes_applied"] == writes


def test_a_changed_enrollment_is_cannot_update_not_a_second_enrollment(
    tmp_path: Path, live_sandbox: SandboxHandle
) -> None:
    args = _contacts(tmp_path, live_sandbox, 5)
    assert _run(tmp_path, live_sandbox, *args).code == 0
    _setup(tmp_path, _rows(0, 5, sender=OWNER), STANDALONE)  # another mailbox: a new body
    changed = _run(tmp_path, live_sandbox, *args)
    assert changed.json["failed"] == 5, changed.stderr
    codes = {r["error_code"] for r in read_results(tmp_path / "leads.results.csv")}
    assert codes == {"cannot_update"}
    assert _posts(live_sandbox, ENROLL)["200"] == 5
