"""``column: [A, B]`` (a row reads the first of the columns whose cell is not blank) and what
``on_empty: clear`` can honestly send, end to end through prepare() and iter_bodies()."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from pipeline_helpers import by_row, table

from syncer.errors import MappingError, SourceError
from syncer.mapping import load_mapping, read_mapping
from syncer.offending import offending_cells
from syncer.runner import Prepared, prepare

REASONS = ["Closed Won Reason", "Closed Lost Reason"]
DEAL = {"display_name": "Deal", "account": {"domain": "Domain"}, "stage": "Stage"}


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def deals(
    tmp_path: Path, rows: list[dict[str, Any]], columns: dict[str, Any], **top: Any
) -> Prepared:
    doc = {"target": "opportunities", "columns": columns, **top}
    return prepare(table(rows), load_mapping(write(tmp_path, doc)))


def bodies(p: Prepared) -> dict[int, dict[str, Any]]:
    return {row: body for row, _, body in p.iter_bodies()}


def deal(name: str, stage: str, won: str | None, lost: str | None, **more: Any) -> dict[str, Any]:
    return {
        "Deal": name,
        "Domain": "acme.com",
        "Stage": stage,
        "Closed Won Reason": won,
        "Closed Lost Reason": lost,
        **more,
    }


REASONS_ENTRY = {"column": REASONS, "split": ";", "values": {"too expensive": "Price"}}


def test_each_row_reads_the_first_reason_column_that_is_not_blank(tmp_path: Path) -> None:
    rows = [
        deal("Won", "Closed Won", "Best product; Fast", None),
        deal("Lost", "Closed Lost", None, "Too expensive"),
        deal("Lost n/a", "Closed Lost", " n/a ", "Timing"),  # a null value is blank
        deal("Both", "Closed Won", "Relationship", "Too expensive"),  # the first one wins
        deal("Open", "Qualified", None, None),
    ]
    p = deals(tmp_path, rows, {**DEAL, "closed_reasons": REASONS_ENTRY})
    assert p.counts() == {"ready": 5, "duplicate": 0, "invalid": 0}
    reasons = {row: body.get("closed_reasons") for row, body in bodies(p).items()}
    assert reasons == {
        2: ["Best product", "Fast"],
        3: ["Price"],
        4: ["Timing"],
        5: ["Relationship"],
        6: None,
    }


def test_a_closed_deal_with_both_reason_columns_blank_names_both(tmp_path: Path) -> None:
    rows = [deal("Lost", "Closed Lost", "", "-")]
    p = deals(tmp_path, rows, {**DEAL, "closed_reasons": REASONS_ENTRY})
    row = by_row(p)[2]
    assert row["error_code"] == "missing_closed_reason"
    assert row["error"] == (
        'Stage "Closed Lost" is a closed stage: it needs closed reasons; fill in '
        "Closed Won Reason or Closed Lost Reason (closed_reasons)"
    )


def test_messages_name_the_column_the_value_was_read_from(tmp_path: Path) -> None:
    rows = [
        deal("A", "Qualified", None, None, **{"Amount": "a lot", "Amount EUR": "5"}),
        deal("B", "Qualified", None, None, **{"Amount": "", "Amount EUR": "many"}),
        deal("C", "Qualified", None, None, **{"Amount": None, "Amount EUR": "12,50 €"}),
    ]
    columns = {**DEAL, "amount": {"column": ["Amount", "Amount EUR"]}}
    p = deals(tmp_path, rows, columns)
    got = by_row(p)
    assert got[2]["error"].startswith('Amount "a lot" is not a clear amount')
    assert got[3]["error"].startswith('Amount EUR "many" is not a clear amount')
    assert got[4]["status"] == "ready" and bodies(p)[4]["amount"] == 12.5
    # the results file marks the cell the value came from
    marks = offending_cells(p.frame, p.fields, {"Amount": "Amount", "Amount EUR": "Amount EUR"})
    assert marks["Amount"].to_list()[:2] == [got[2]["error"], None]
    assert marks["Amount EUR"].to_list()[:2] == [None, got[3]["error"]]


def test_a_required_field_blank_in_every_column_lists_them(tmp_path: Path) -> None:
    rows = [{"Deal": " ", "Name": None, "Domain": "acme.com"}]
    columns = {"display_name": {"column": ["Deal", "Name"]}, "account": {"domain": "Domain"}}
    p = deals(tmp_path, rows, columns)
    assert by_row(p)[2]["error"] == "Deal or Name is blank; a value is required"


def test_lookup_forms_and_custom_fields_take_several_columns(tmp_path: Path) -> None:
    rows = [
        {
            "Deal": "A",
            "Domain": None,
            "Website": "https://www.Acme.com/x",
            "Src": "",
            "Origin": "Ad",
        },
        {"Deal": "B", "Domain": "beta.io", "Website": "gamma.io", "Src": "Web", "Origin": "Ad"},
    ]
    columns = {"display_name": "Deal", "account": {"domain": ["Domain", "Website"]}}
    custom = {"cus_field__Source": {"column": ["Src", "Origin"]}}
    p = deals(tmp_path, rows, columns, custom_fields=custom)
    assert [(key, body) for _, key, body in p.iter_bodies()] == [
        (
            "a\x1fdomain:acme.com",
            {
                "display_name": "A",
                "account": {"domain": "acme.com"},
                "custom_fields": {"cus_field__Source": "Ad"},
            },
        ),
        (
            "b\x1fdomain:beta.io",
            {
                "display_name": "B",
                "account": {"domain": "beta.io"},
                "custom_fields": {"cus_field__Source": "Web"},
            },
        ),
    ]


def test_the_entrys_null_values_decide_what_is_blank_in_every_column(tmp_path: Path) -> None:
    rows = [deal("A", "Closed Won", "tbd", "Price"), deal("B", "Closed Won", "n/a", "Price")]
    entry = {**REASONS_ENTRY, "null_values": ["TBD"]}
    p = deals(tmp_path, rows, {**DEAL, "closed_reasons": entry})
    assert [b["closed_reasons"] for b in bodies(p).values()] == [["Price"], ["n/a"]]


def test_a_missing_column_is_named_at_the_entrys_line(tmp_path: Path) -> None:
    doc = {"target": "opportunities", "columns": {**DEAL, "closed_reasons": REASONS_ENTRY}}
    path = write(tmp_path, doc)
    with pytest.raises(SourceError) as info:
        read_mapping(path).finish(["Deal", "Domain", "Stage", "Closed Won Reason"])
    msg = info.value.message
    assert msg.startswith(
        f"{path}:7: columns.closed_reasons: column 'Closed Lost Reason' not found in the file\n"
    )
    assert "Closed Won Reason' not found" not in msg
    with pytest.raises(SourceError) as info:
        read_mapping(path).finish(["Deal", "Domain", "Stage", "closed lost reasons"])
    assert info.value.message.startswith(f"2 problems in {path}:\n")
    assert f"{path}:7: columns.closed_reasons: column 'Closed Won Reason' not found" in (
        info.value.message
    )
    assert (
        f"{path}:7: columns.closed_reasons: column 'Closed Lost Reason' not found in the file; "
        "did you mean 'closed lost reasons'?"
    ) in info.value.message


def test_optional_skips_the_absent_columns_and_says_so(tmp_path: Path) -> None:
    entry = {**REASONS_ENTRY, "optional": True}
    rows = [{"Deal": "A", "Domain": "acme.com", "Stage": "Closed Lost", "Closed Lost Reason": "X"}]
    p = deals(tmp_path, rows, {**DEAL, "closed_reasons": entry})
    assert bodies(p)[2]["closed_reasons"] == ["X"]
    assert p.notes == [
        f"{tmp_path}/m.yaml:7: optional column 'Closed Won Reason' is not in the file: "
        "columns.closed_reasons reads 'Closed Lost Reason' only"
    ]
    rows = [{"Deal": "A", "Domain": "acme.com", "Stage": "Open"}]
    p = deals(tmp_path, rows, {**DEAL, "closed_reasons": entry})
    assert "closed_reasons" not in bodies(p)[2]
    assert p.notes == [
        f"{tmp_path}/m.yaml:7: optional columns 'Closed Won Reason', 'Closed Lost Reason' are "
        "not in the file: columns.closed_reasons is not sent"
    ]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            ["Closed Won Reason", "Closed Lost Reason"],
            "a list of columns goes under column: (e.g. {column: [A, B]}): each row reads the "
            "first of them whose cell is not blank",
        ),
        ({"column": []}, "an empty list names no column"),
        ({"column": ["A", " "]}, "a column name in the list is blank"),
        ({"column": ["Reason", " reason"]}, "'Reason' and ' reason' in the list are the same"),
        ({"column": ["A", None]}, "None in the list is not a column name"),
    ],
)
def test_a_bad_list_of_columns_is_a_mapping_error_at_its_line(
    tmp_path: Path, entry: Any, problem: str
) -> None:
    text = textwrap.dedent(
        f"""\
        target: opportunities
        columns:
          display_name: Deal
          account: {{domain: Domain}}
          closed_reasons: {yaml.safe_dump(entry, default_flow_style=True).strip()}
        """
    )
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    [found] = info.value.problems
    assert found.startswith(f"{path}:5: columns.closed_reasons"), found
    assert problem in found


def test_a_list_of_one_is_that_column(tmp_path: Path) -> None:
    rows = [deal("A", "Closed Won", "Price", None)]
    p = deals(tmp_path, rows, {**DEAL, "closed_reasons": {"column": ["Closed Won Reason"]}})
    assert bodies(p)[2]["closed_reasons"] == ["Price"]
    assert p.mapping.columns["closed_reasons"].column == "Closed Won Reason"


# -- on_empty: clear: only text fields can be cleared through Reevo's API ------------------------


def _blank_deal(**cells: Any) -> dict[str, Any]:
    base = {
        "Deal": "A",
        "Domain": "acme.com",
        "Stage": None,
        "Amount": None,
        "Due": None,
        "CC": None,
        "Next": None,
        "Source": None,
        "Tags": None,
    }
    return {**base, **cells}


CLEAR_COLUMNS = {
    **DEAL,
    "amount": "Amount",
    "next_step_due_at": {"column": "Due", "timezone": "UTC"},
    "additional_contact_emails": {"column": "CC", "split": ","},
    "next_step_details": "Next",
}
CLEAR_CUSTOM = {"cus_field__Source": "Source", "cus_field__Tags": {"column": "Tags", "split": ";"}}


def test_clear_sends_empty_text_and_leaves_out_what_cannot_be_cleared(tmp_path: Path) -> None:
    rows = [
        _blank_deal(),
        _blank_deal(Deal="B", Stage="Qualified", Amount="5", Due="2026-01-02", Tags="x"),
    ]
    p = deals(tmp_path, rows, CLEAR_COLUMNS, custom_fields=CLEAR_CUSTOM, on_empty="clear")
    got = bodies(p)
    assert got[2] == {
        "display_name": "A",
        "account": {"domain": "acme.com"},
        "next_step_details": "",
        "custom_fields": {"cus_field__Source": ""},
    }
    assert got[3] == {
        "display_name": "B",
        "account": {"domain": "acme.com"},
        "stage": "Qualified",
        "amount": 5,
        "next_step_due_at": "2026-01-02T00:00:00+00:00",
        "next_step_details": "",
        "custom_fields": {"cus_field__Source": "", "cus_field__Tags": ["x"]},
    }
    # one note for the run, not one per row
    assert p.notes == [
        "on_empty: clear cannot clear stage (1 row), amount (1 row), next_step_due_at (1 row), "
        "additional_contact_emails (2 rows), custom_fields.cus_field__Tags (1 row): Reevo's API "
        "clears only text fields (with an empty value), so these blank cells were left out and "
        "the values stored in Reevo stay"
    ]


def test_no_note_without_clear_or_without_blank_cells(tmp_path: Path) -> None:
    rows = [_blank_deal()]
    p = deals(tmp_path, rows, CLEAR_COLUMNS, custom_fields=CLEAR_CUSTOM)
    assert p.notes == []
    assert bodies(p)[2] == {"display_name": "A", "account": {"domain": "acme.com"}}
    full = _blank_deal(Stage="Open", Amount="1", Due="2026-01-02", CC="a@b.co", Tags="t")
    p = deals(tmp_path, [full], CLEAR_COLUMNS, custom_fields=CLEAR_CUSTOM, on_empty="clear")
    assert p.notes == []


def test_a_value_dropped_as_invalid_is_not_counted_as_blank(tmp_path: Path) -> None:
    rows = [_blank_deal(Amount="lots"), _blank_deal(Deal="B", Amount="")]
    columns = {**DEAL, "amount": {"column": "Amount", "on_invalid": "drop"}}
    p = deals(tmp_path, rows, columns, on_empty="clear")
    assert [("amount" in b) for b in bodies(p).values()] == [False, False]
    uncleared = [n for n in p.notes if n.startswith("on_empty: clear")]
    assert uncleared and uncleared[0].startswith("on_empty: clear cannot clear stage (2 rows), "
                                                 "amount (1 row): ")  # fmt: skip


def test_clear_still_clears_contact_text_fields(tmp_path: Path) -> None:
    rows = [{"Email": "a@acme.com", "Title": " ", "Tags": ""}]
    doc = {
        "columns": {"email": "Email", "title": "Title"},
        "contact_custom_fields": {"cus_field__Tags": {"column": "Tags", "split": ";"}},
        "on_empty": "clear",
    }
    p = prepare(table(rows), load_mapping(write(tmp_path, doc)))
    assert bodies(p)[2] == {"email": "a@acme.com", "title": ""}
    assert p.notes == [
        "on_empty: clear cannot clear contact_custom_fields.cus_field__Tags (1 row): Reevo's "
        "API clears only text fields (with an empty value), so these blank cells were left out "
        "and the values stored in Reevo stay"
    ]
    assert pl.Series(p.notes).str.contains("title").sum() == 0


def test_a_datetime_read_from_several_columns_still_needs_its_timezone(tmp_path: Path) -> None:
    doc = {
        "target": "opportunities",
        "columns": {**DEAL, "next_step_due_at": {"column": ["Due", "Due 2"]}},
    }
    with pytest.raises(MappingError) as info:
        load_mapping(write(tmp_path, doc))
    assert info.value.problems[0].endswith(
        "e.g. next_step_due_at: {column: [Due, Due 2], timezone: America/New_York}"
    )
