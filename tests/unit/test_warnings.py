"""Row warnings: changes made to a row that still goes through (issue 13, item 3), their
counts, the hook a target's push uses, and the unknown-owner policy of the mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from pipeline_helpers import by_row, mapping, run

from syncer import cells
from syncer.errors import MappingError
from syncer.mapping import load_mapping
from syncer.models import RowOutcome, RowStatus, RowWarning
from syncer.runner.checks import _is_user
from syncer.runner.plan import Collected
from syncer.validation import WARNING_CODES, warning_counts

PHONE = {"column": "Phone", "format": "e164", "default_region": "US"}


def rows(**columns: list[str | None]) -> list[dict[str, Any]]:
    """Rows from columns; Email defaults to a distinct address per row."""
    n = len(next(iter(columns.values())))
    columns.setdefault("Email", [f"p{i}@acme.com" for i in range(n)])
    return [{c: v[i] for c, v in columns.items()} for i in range(n)]


# -- phone_extension_dropped --------------------------------------------------------------------


def test_a_phone_extension_is_a_warning_naming_the_value() -> None:
    phones = ["+1 415 555 0100 x23", "(415) 555-0132 ext. 7", "+1 415 555 0100", "415.555.0132"]
    p = run(rows(Phone=phones), {"email": "Email", "phone_number": PHONE})
    r = by_row(p)
    assert [r[i]["__v:phone_number"] for i in range(2, 6)] == ["+14155550100", "+14155550132"] * 2
    assert [r[i]["status"] for i in range(2, 6)] == ["ready"] * 4
    assert r[2]["warnings"] == (
        'phone_extension_dropped: Phone "+1 415 555 0100 x23" is sent as +14155550100: its '
        "extension 23 is left out (E.164 has none)"
    )
    assert "its extension 7 is left out" in r[3]["warnings"]
    assert r[4]["warnings"] == r[5]["warnings"] == ""
    assert p.warning_counts() == {"phone_extension_dropped": 2}
    assert "2 rows have warnings (phone_extension_dropped 2)" in " ".join(p.notes)


def test_phonenumbers_runs_once_per_distinct_value(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = cells._parse_phone_ext

    def counted(value: str, region: str | None) -> tuple[str | None, str | None]:
        calls.append(value)
        return real(value, region)

    monkeypatch.setattr(cells, "_parse_phone_ext", counted)
    phones = ["+1 415 555 0100 x23", "(415) 555-0132 ext. 7", "+1 415 555 0100"] * 400
    p = run(rows(Phone=phones), {"email": "Email", "phone_number": PHONE})
    assert p.warning_counts() == {"phone_extension_dropped": 800}
    # the plain number is settled by the vectorised path; each other distinct value once
    assert sorted(calls) == sorted(["+1 415 555 0100 x23", "(415) 555-0132 ext. 7"])


def test_an_invalid_phone_dropped_is_not_also_an_extension_warning() -> None:
    field = {**PHONE, "on_invalid": "drop"}
    p = run(
        rows(Phone=["555 x12", "+1 415 555 0100 x9"]), {"email": "Email", "phone_number": field}
    )
    r = by_row(p)
    assert r[2]["warnings"].startswith("invalid_phone: ") and "(dropped)" in r[2]["warnings"]
    assert r[2][WARNING_CODES] == "invalid_phone"
    assert r[3][WARNING_CODES] == "phone_extension_dropped"


# -- normalising that is (not) a warning --------------------------------------------------------


def test_only_an_email_rewritten_beyond_its_domain_case_is_a_warning() -> None:
    emails = ["user@xn--bcher-kva.example.com", "John.Doe@ACME.COM", " ann@acme.com "]
    p = run(rows(Email=emails), {"email": "Email"})
    r = by_row(p)
    assert r[2]["__v:email"] == "user@bücher.example.com"
    assert r[2]["warnings"] == (
        'email_normalised: Email "user@xn--bcher-kva.example.com" is sent as '
        '"user@bücher.example.com"'
    )
    assert r[3]["__v:email"] == "John.Doe@acme.com" and r[3]["warnings"] == ""
    assert r[4]["__v:email"] == "ann@acme.com" and r[4]["warnings"] == ""


def test_nfc_trimming_and_https_are_not_warnings() -> None:
    p = run(
        rows(Name=["Jo\u0308rg ", "  Ann"], Site=["acme.com", "https://x.org"]),
        {"email": "Email", "first_name": "Name", "contact_linkedin_url": "Site"},
    )
    r = by_row(p)
    assert (
        r[2]["__v:first_name"] == "Jörg" and r[2]["__v:contact_linkedin_url"] == "https://acme.com"
    )
    assert all(row["warnings"] == "" for row in r.values())
    assert p.warning_counts() == {} and not any("warnings" in n for n in p.notes)


# -- repeated headers ---------------------------------------------------------------------------


def test_a_repeated_header_warns_where_the_ignored_column_differs() -> None:
    firsts = ["Ann", "Bob", "Cy", None, "Eve", "Fay"]
    seconds = ["Ann", "Robert", None, "Dee", " Eve ", "n/a"]
    p = run(rows(Name=firsts, Name_2=seconds), {"email": "Email", "first_name": "Name"})
    r = by_row(p)
    warned = {row: v["warnings"] for row, v in r.items() if v["warnings"]}
    assert warned == {
        3: 'repeated_header_ignored: the file has more than one "Name" column: the first is '
        'read ("Bob"), not "Name_2" ("Robert")',
        5: 'repeated_header_ignored: the file has more than one "Name" column: the first is '
        'read (""), not "Name_2" ("Dee")',
    }
    assert p.warning_counts() == {"repeated_header_ignored": 2}
    assert any('more than one column named "Name"' in n for n in p.notes)  # the file-level note


def test_an_unmapped_repeated_header_is_not_a_warning() -> None:
    p = run(rows(Title=["A", "B"], Title_2=["X", "Y"]), {"email": "Email"})
    assert p.warning_counts() == {}


# -- counts, late warnings and the push hook ----------------------------------------------------


def test_a_row_with_two_codes_counts_under_both_and_a_repeat_once() -> None:
    frame = pl.DataFrame({WARNING_CODES: ["a;b", "a;a", "", "b"]})
    assert warning_counts(frame) == {"a": 2, "b": 2}
    assert warning_counts(pl.DataFrame({"x": [1]})) == {}


def test_warnings_found_later_join_the_rows_own_and_the_note() -> None:
    p = run(
        rows(Phone=["+1 415 555 0100 x23", "+1 415 555 0100"]),
        {"email": "Email", "phone_number": PHONE},
    )
    before = [n for n in p.notes if "warnings" in n]
    late = RowWarning("unknown_owner", "sent without contact_owner_email")
    p.add_warnings({2: [late], 3: [late, RowWarning("contact_skipped", "c")], 99: []})
    r = by_row(p)
    assert r[2]["warnings"].endswith("; unknown_owner: sent without contact_owner_email")
    assert r[3]["warnings"] == (
        "unknown_owner: sent without contact_owner_email; contact_skipped: c"
    )
    assert p.warning_counts() == {
        "unknown_owner": 2,
        "contact_skipped": 1,
        "phone_extension_dropped": 1,
    }
    notes = [n for n in p.notes if "warnings" in n]
    assert len(before) == len(notes) == 1 and notes != before
    assert notes[0].startswith("2 rows have warnings (unknown_owner 2, contact_skipped 1, ")


def test_an_outcome_carries_warnings_to_the_results() -> None:
    """The hook of a target's ``on_missing_*: skip`` rule: warnings on a RowOutcome."""
    collected = Collected()
    skipped = RowWarning("attendee_skipped", 'attendee "x@y.com" is not a contact: skipped')
    collected.warn(5, RowWarning("unknown_owner", "o"))
    collected.add(RowOutcome(5, RowStatus.SUCCEEDED, warnings=(skipped,)))
    collected.add(RowOutcome(6, RowStatus.SUCCEEDED))
    assert collected.warnings == {5: [RowWarning("unknown_owner", "o"), skipped]}


# -- owners: {unknown: ...} ---------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_unknown_owner_policy_defaults_to_invalid() -> None:
    assert mapping({"email": "Email"}).unknown_owners == "invalid"
    m = mapping({"email": "Email"}, owners={"unknown": "omit", "Jane Smith": "j@acme.com"})
    assert m.unknown_owners == "omit"
    assert m.owners is not None and m.owners.names == {"jane smith": "j@acme.com"}


def test_a_policy_beside_a_fields_own_owners_csv(tmp_path: Path) -> None:
    write(tmp_path / "owners.csv", "Jane Smith,jane@acme.com\n")
    m = load_mapping(
        write(
            tmp_path / "m.yaml",
            "columns:\n  email: Email\n  contact_owner_email: {column: Owner, owners: owners.csv}"
            "\nowners: {unknown: abort}\n",
        )
    )
    assert m.unknown_owners == "abort"
    assert m.owners_for(m.columns["contact_owner_email"]) == {"jane smith": "jane@acme.com"}
    assert m.owners_for(m.columns["email"]) is None  # no names at the top level


@pytest.mark.parametrize(
    ("owners", "problem"),
    [
        ("owners:\n  unknown: skip\n", "m.yaml:4: owners.unknown: 'skip' is not a policy"),
        ("owners: {unknown: }\n", "m.yaml:3: owners.unknown: None is not a policy"),
        ("owners:\n  UNKNOWN: omit\n", "m.yaml:3: owners: 'UNKNOWN' is reserved"),
    ],
)
def test_a_bad_policy_is_a_mapping_error_at_its_line(
    tmp_path: Path, owners: str, problem: str
) -> None:
    m = write(tmp_path / "m.yaml", "columns:\n  email: Email\n" + owners)
    with pytest.raises(MappingError) as err:
        load_mapping(m)
    assert f"{tmp_path}/{problem}" in str(err.value), str(err.value)


def test_a_users_search_answer_names_the_user() -> None:
    assert _is_user([{"email": "Owner@Acme.com"}], "owner@acme.com")
    assert not _is_user([], "owner@acme.com")
    assert not _is_user([{"email": "other@acme.com"}], "owner@acme.com")
    assert _is_user({"data": [{"email": "owner@acme.com"}]}, "owner@acme.com")
    assert _is_user(None, "owner@acme.com")  # an answer of another shape: Reevo decides
