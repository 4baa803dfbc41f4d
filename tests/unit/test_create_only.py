"""Create-only targets (tasks, activities, enrollments: Reevo's API cannot update them): the
plan never sends a key again that the ledger says was created, a changed body is
``cannot_update`` with the existing id, and a create that may have been applied
(``reevo_ambiguous``) is held back until --force-ambiguous. Checked with a target that is not
shipped, so only the plan's rules are at work."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from syncer import targets
from syncer.ledger import Ledger, body_hash
from syncer.memory import AMBIGUOUS
from syncer.models import RowOutcome, RowStatus
from syncer.runner.plan import Collected, Plan
from syncer.runner.prepared import prepare
from syncer.targets.base import FieldKind, IdColumn, Row, RowContext, Target

ORG = "http://127.0.0.1:1#test"


async def _no_push(ctx: RowContext, row: Row) -> None:
    raise AssertionError("the plan's rules are tested here, nothing is pushed")


NOTES = Target(
    name="toy_create_only",
    summary="creates a note",
    fields={"title": FieldKind.TEXT, "text": FieldKind.TEXT},
    required=("title",),
    key_field="title",
    key_label="title",
    custom=(),
    endpoint=("POST", "notes"),
    idempotent=False,
    updatable=False,
    write_permissions=(),
    read_permissions=(),
    id_columns=(IdColumn("note_id", "reevo_note_id", key="id"),),
    probes=(),
    push=_no_push,
)


def _files(tmp_path: Path, rows: str) -> tuple[Path, Path]:
    mapping = tmp_path / "notes.yaml"
    mapping.write_text("target: toy_create_only\ncolumns: {title: Title, text: Text}\n")
    source = tmp_path / "notes.csv"
    source.write_text("Title,Text\n" + rows, encoding="utf-8")
    return source, mapping


def _plan(tmp_path: Path, ledger: Ledger, target: Target, **kw: bool) -> tuple[Plan, list[int]]:
    source, mapping = _files(tmp_path, "a,one\nb,two\nc,three\nd,four\ne,five\n")
    prepared = prepare(source, mapping)
    collected = Collected(target.id_columns)
    plan = Plan(prepared, ledger, ORG, kw.get("full", False), collected, **{
        k: v for k, v in kw.items() if k != "full"
    })  # fmt: skip
    sent = [row for row, _, _ in plan.items()]
    return plan, sent


def _remember(ledger: Ledger, key: str, body: dict[str, str], outcome: RowOutcome) -> None:
    ledger.record(ORG, NOTES.name, 1, key, body_hash(body), outcome)


def test_created_rows_are_never_sent_twice_and_a_change_is_cannot_update(tmp_path: Path) -> None:
    with targets.registered(NOTES), Ledger(tmp_path / "l.db") as ledger:
        _remember(ledger, "a", {"title": "a", "text": "one"},  # the same body: unchanged
                  RowOutcome(2, RowStatus.SUCCEEDED, ids={"note_id": "n-a"}))  # fmt: skip
        _remember(ledger, "b", {"title": "b", "text": "OLD"},  # created, now changed
                  RowOutcome(3, RowStatus.SUCCEEDED, ids={"note_id": "n-b"}))  # fmt: skip
        _remember(ledger, "c", {"title": "c", "text": "three"},  # may have been applied
                  RowOutcome(4, RowStatus.FAILED, code="reevo_ambiguous",
                             ids={AMBIGUOUS: "1"}))  # fmt: skip
        _remember(ledger, "d", {"title": "d", "text": "four"},  # refused before: sent again
                  RowOutcome(5, RowStatus.FAILED, code="reevo_rejected"))  # fmt: skip
        # created by a run killed before it recorded the row: the id was committed at once
        ledger.keep(ORG, NOTES.name, 1, "e", {"note_id": "n-e"}, status="in_progress", now=True)
        ledger.flush()

        plan, sent = _plan(tmp_path, ledger, NOTES)
        frame = {r["source_row"]: r for r in plan.collected.frame().iter_rows(named=True)}
        assert sent == [5]  # only the row Reevo refused before
        assert frame[2]["status"] == "unchanged"
        assert (frame[3]["status"], frame[3]["error_code"]) == ("failed", "cannot_update")
        assert "note_id n-b" in frame[3]["error"] and frame[3]["reevo_note_id"] == "n-b"
        assert (frame[4]["status"], frame[4]["error_code"]) == ("failed", "reevo_ambiguous")
        assert "--force-ambiguous" in frame[4]["error"]
        assert (frame[6]["status"], frame[6]["reevo_note_id"]) == ("unchanged", "n-e")

        _, forced = _plan(tmp_path, ledger, NOTES, force_ambiguous=True)
        assert forced == [4, 5]  # the ambiguous one too, on purpose
        _, full = _plan(tmp_path, ledger, NOTES, full=True)
        assert full == [2, 3, 4, 5, 6]  # --full: everything, on purpose


def test_a_target_that_can_update_sends_its_changed_rows(tmp_path: Path) -> None:
    """The same ledger state for a target Reevo can update: changed rows are sent (PATCH)."""
    updatable = dataclasses.replace(NOTES, updatable=True)
    with targets.registered(updatable), Ledger(tmp_path / "l.db") as ledger:
        _remember(ledger, "b", {"title": "b", "text": "OLD"},
                  RowOutcome(3, RowStatus.SUCCEEDED, ids={"note_id": "n-b"}))  # fmt: skip
        ledger.flush()
        _, sent = _plan(tmp_path, ledger, updatable)
        assert sent == [2, 3, 4, 5, 6]
