"""The accounts and opportunities mapping contract, end to end through prepare(): key:, the
target options, values:, lookups, one_of, timezone:, amounts, domains, contact e-mails, lists,
closed stages, keys and duplicates, and the exact request bodies."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from pipeline_helpers import by_row, table

from syncer.errors import MappingError
from syncer.mapping import Mapping, load_mapping
from syncer.runner import Prepared, prepare

ACCOUNTS_EXAMPLE = """\
target: accounts
key: domain                 # accounts: domain (default) | {column: External ID}
columns:
  name: Company name        # required
  domain_name: Company Domain Name
  official_website: Website URL
  owner_email: Company owner
  linkedin_url: LinkedIn Company Page
custom_fields:
  cus_field__Industry: Industry
on_ambiguous: fail          # fail (default) | first
"""

DEALS_EXAMPLE = """\
target: opportunities
key: {column: Record ID}    # default: display_name + account
columns:
  display_name: Deal Name
  account: {domain: Company Domain}     # or {name: Company} or account_id: <column>
  amount: Amount                        # "$12,500.00", "12.500,00 €", "12500" -> a decimal
  owner_email: Deal owner
  primary_contact_email: Contact
  pipeline_name: Pipeline
  stage: {column: Deal Stage, values: {appointmentscheduled: Qualified, closedwon: Closed Won}}
  closed_reasons: {column: Close reason, split: ";"}
  next_step_details: Next step
  next_step_due_at: {column: Next step date, timezone: America/New_York}
custom_fields:
  cus_field__Source: Source
on_missing_account: fail    # fail (default) | create (POST accounts with the looked-up name/domain)
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, doc: dict[str, Any]) -> Mapping:
    return load_mapping(write(tmp_path, yaml.safe_dump(doc, sort_keys=False)))


def problems(tmp_path: Path, text: str) -> list[str]:
    """The mapping error's lines, each ``m.yaml:LINE: text`` (the folder left out)."""
    with pytest.raises(MappingError) as info:
        load_mapping(write(tmp_path, text))
    return [p.replace(f"{tmp_path}/", "") for p in info.value.problems]


def deals(
    tmp_path: Path, rows: list[dict[str, Any]], columns: dict[str, Any], **top: Any
) -> Prepared:
    doc = {"target": "opportunities", "columns": columns, **top}
    return prepare(table(rows), load(tmp_path, doc))


def accounts(
    tmp_path: Path, rows: list[dict[str, Any]], columns: dict[str, Any], **top: Any
) -> Prepared:
    doc = {"target": "accounts", "columns": columns, **top}
    return prepare(table(rows), load(tmp_path, doc))


def bodies(p: Prepared) -> dict[int, tuple[str, dict[str, Any]]]:
    return {row: (key, body) for row, key, body in p.iter_bodies()}


DEAL = {"display_name": "Deal", "account": {"domain": "Domain"}}


def deal_rows(**columns: list[Any]) -> list[dict[str, Any]]:
    """Rows from columns; a distinct deal name per row, on acme.com unless given."""
    n = len(next(iter(columns.values())))
    columns.setdefault("Deal", [f"Deal {i}" for i in range(n)])
    columns.setdefault("Domain", ["acme.com"] * n)
    return [{c: v[i] for c, v in columns.items()} for i in range(n)]


# -- the mapping contract -----------------------------------------------------------------------


def test_the_issue_examples_load_with_their_options(tmp_path: Path) -> None:
    acc = load_mapping(write(tmp_path, ACCOUNTS_EXAMPLE))
    assert acc.target_options() == {"on_ambiguous": "fail"}
    assert acc.key == "domain" and acc.key_column is None
    assert list(acc.custom_fields) == ["cus_field__Industry"]
    opp = load_mapping(write(tmp_path, DEALS_EXAMPLE))
    assert opp.target_options() == {"on_missing_account": "fail"}
    assert opp.key_column == "Record ID" and opp.key_line == 2
    assert opp.columns["account"].lookup == "domain"
    assert opp.columns["account"].column == "Company Domain"
    assert "Record ID" in opp.source_columns() and "Company Domain" in opp.source_columns()


def test_target_options_default_to_their_first_value(tmp_path: Path) -> None:
    doc = {"target": "accounts", "columns": {"name": "N", "domain_name": "D"}}
    assert load(tmp_path, doc).target_options() == {"on_ambiguous": "fail"}
    assert load(tmp_path, {**doc, "on_ambiguous": "first"}).target_options() == {
        "on_ambiguous": "first"
    }
    contacts = load(tmp_path, {"columns": {"email": "Email"}})
    assert contacts.target_options() == {}


def test_target_options_are_checked_per_target(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
        target: accounts
        columns: {name: N, domain_name: D}
        on_ambiguous: last
        on_missing_account: create
        """,
    )
    assert found == [
        "m.yaml:3: on_ambiguous: 'last' is not one of fail | first (default fail)",
        "m.yaml:4: on_missing_account: not used by target accounts (only by opportunities)",
    ]
    found = problems(tmp_path, "columns: {email: Email}\non_ambiguous: first\n")
    assert found == [
        "m.yaml:2: on_ambiguous: not used by target account_contact (only by accounts)"
    ]


def test_custom_sections_belong_to_their_targets(tmp_path: Path) -> None:
    assert problems(tmp_path, "columns: {email: E}\ncustom_fields: {cus_field__X: X}\n") == [
        "m.yaml:2: custom_fields: not used by target account_contact"
    ]
    text = "target: accounts\ncolumns: {name: N, domain_name: D}\naccount_custom_fields: {x: X}\n"
    assert problems(tmp_path, text) == [
        "m.yaml:3: account_custom_fields: not used by target accounts"
    ]


def test_key_forms(tmp_path: Path) -> None:
    assert problems(tmp_path, "columns: {email: E}\nkey: email\n") == [
        "m.yaml:2: key: target account_contact is keyed by its email only (remove key:)"
    ]
    assert problems(tmp_path, "columns: {email: E}\nkey: {column: ID}\n") == [
        "m.yaml:2: key: target account_contact is keyed by its email only (remove key:)"
    ]
    text = "target: accounts\ncolumns: {name: N, domain_name: D}\nkey: website\n"
    assert problems(tmp_path, text) == [
        "m.yaml:3: key: 'website' is not a key of target accounts: domain | {column: ...}"
    ]
    text = "target: opportunities\ncolumns: {display_name: N, account_id: A}\nkey: domain\n"
    assert problems(tmp_path, text) == [
        "m.yaml:3: key: 'domain' is not a key of target opportunities: {column: ...}"
    ]
    text = "target: accounts\ncolumns: {name: N, domain_name: D}\nkey: {colum: ID}\n"
    assert (
        problems(tmp_path, text)[0]
        == "m.yaml:3: key.colum: unknown key option; did you mean column?"
    )


def test_accounts_need_a_domain_field_or_an_external_key(tmp_path: Path) -> None:
    assert problems(tmp_path, "target: accounts\ncolumns:\n  name: N\n") == [
        "m.yaml:2: columns: no key: map domain_name or official_website, or give key: {column:}"
    ]
    doc = {"target": "accounts", "columns": {"name": "N"}, "key": {"column": "ID"}}
    assert load(tmp_path, doc).key_column == "ID"


def test_lookup_fields_take_exactly_one_form(tmp_path: Path) -> None:
    base = "target: opportunities\ncolumns:\n  display_name: Deal\n"
    assert problems(tmp_path, base + "  account: Company\n") == [
        "m.yaml:4: columns.account: a lookup field: give account: {domain: <column>} or "
        "{name: <column>}, not a column or value"
    ]
    assert problems(tmp_path, base + "  account: {column: Company}\n") == [
        "m.yaml:4: columns.account: a lookup field: give account: {domain: <column>} or "
        "{name: <column>}, not a column or value"
    ]
    found = problems(tmp_path, base + "  account: {domain: D, name: N}\n")
    assert found == [
        "m.yaml:4: columns.account: give exactly one source: domain:, name: are several (a "
        "lookup field takes one of {domain: <column>}, {name: <column>}, {email: <column>})"
    ]
    found = problems(tmp_path, base + "  account_id: A\n  pipeline_name: {domain: P}\n")
    assert found == ["m.yaml:5: columns.pipeline_name: domain: applies to lookup fields (account)"]


def test_one_of_account_or_account_id(tmp_path: Path) -> None:
    text = "target: opportunities\ncolumns:\n  display_name: Deal\n  amount: A\n"
    assert problems(tmp_path, text) == [
        "m.yaml:2: columns: map one of account or account_id (target opportunities needs one "
        "on every row)"
    ]


def test_a_datetime_field_needs_its_timezone(tmp_path: Path) -> None:
    base = "target: opportunities\ncolumns:\n  display_name: Deal\n  account_id: A\n"
    assert problems(tmp_path, base + "  next_step_due_at: Next step date\n") == [
        "m.yaml:5: columns.next_step_due_at: next_step_due_at needs timezone: the zone of "
        "values written without an offset, e.g. next_step_due_at: {column: Next step date, "
        "timezone: America/New_York}"
    ]
    found = problems(tmp_path, base + "  next_step_due_at: {column: D, timezone: Europe/Berln}\n")
    assert len(found) == 1
    assert found[0].startswith(
        "m.yaml:5: columns.next_step_due_at.timezone: unknown timezone 'Europe/Berln'; did you "
        "mean Europe/Berlin"
    )
    found = problems(tmp_path, base + "  pipeline_name: {column: P, timezone: UTC}\n")
    assert found == [
        "m.yaml:5: columns.pipeline_name: timezone applies to datetime fields (next_step_due_at)"
    ]
    ok = load(
        tmp_path,
        {
            "target": "opportunities",
            "columns": {
                "display_name": "D",
                "account_id": "A",
                "next_step_due_at": {"column": "N", "timezone": "europe/berlin", "formats": "us"},
            },
        },
    )
    assert ok.columns["next_step_due_at"].timezone == "Europe/Berlin"  # its canonical name


def test_split_only_on_list_fields_and_closed_only_on_the_stage(tmp_path: Path) -> None:
    base = "target: opportunities\ncolumns:\n  display_name: Deal\n  account_id: A\n"
    found = problems(tmp_path, base + "  pipeline_name: {column: P, split: ';'}\n")
    assert found == [
        "m.yaml:5: columns.pipeline_name: split applies to list fields "
        "(additional_contact_emails, closed_reasons) and multi-value custom fields only"
    ]
    found = problems(tmp_path, base + "  pipeline_name: {column: P, closed: [Won]}\n")
    assert found == ["m.yaml:5: columns.pipeline_name: closed applies to the stage entry (stage)"]
    found = problems(tmp_path, base + "  stage: {column: S, values: {won: W, ' WON ': X}}\n")
    assert found == ["m.yaml:5: columns.stage.values: values: 'won' and ' WON ' are the same value"]


# -- accounts: keys, domains, duplicates ---------------------------------------------------------


ACCOUNT = {"name": "Name", "domain_name": "Domain", "official_website": "Website"}


def test_account_keys_are_normal_domains_and_duplicates_go(tmp_path: Path) -> None:
    rows = [
        {"Name": "Acme", "Domain": None, "Website": "https://www.Acme.com/about"},
        {"Name": "Acme AU", "Domain": "acme.com.au", "Website": None},
        {"Name": "Not Acme", "Domain": "notacme.com", "Website": None},
        {"Name": "Acme Inc", "Domain": "ACME.com", "Website": "https://other.example/"},
        {"Name": "Nobody", "Domain": None, "Website": None},
        {"Name": "Bad", "Domain": "not a domain", "Website": None},
    ]
    p = accounts(tmp_path, rows, ACCOUNT)
    r = by_row(p)
    assert [r[i]["__key"] for i in (3, 4, 5)] == ["acme.com.au", "notacme.com", "acme.com"]
    assert r[2]["status"] == "duplicate"
    assert r[2]["error"] == "duplicate of row 5: same domain acme.com (dedupe keep: last)"
    assert (r[6]["status"], r[6]["error_code"]) == ("invalid", "missing_key")
    assert r[6]["error"] == (
        "no domain: map domain_name or official_website (or give key: {column: ...})"
    )
    assert (r[7]["error_code"], r[7]["error"]) == (
        "invalid_domain",
        'Domain "not a domain" is not a web domain (like acme.com)',
    )
    assert bodies(p)[5] == (
        "acme.com",
        {
            "name": "Acme Inc",
            "domain_name": "acme.com",
            "official_website": "https://other.example/",
        },
    )


def test_an_external_key_is_the_trimmed_column(tmp_path: Path) -> None:
    rows = [
        {"Name": "A", "ID": " 17 "},
        {"Name": "B", "ID": "18"},
        {"Name": "A again", "ID": "17"},
        {"Name": "C", "ID": "n/a"},
    ]
    p = accounts(tmp_path, rows, {"name": "Name"}, key={"column": "ID"})
    r = by_row(p)
    assert [r[i]["__key"] for i in (3, 4)] == ["18", "17"]
    assert r[2]["status"] == "duplicate" and "same domain 17" in r[2]["error"]
    assert r[5]["error_code"] == "missing_key"
    assert bodies(p)[4] == ("17", {"name": "A again"})  # the key column is not sent


def test_custom_fields_go_under_custom_fields(tmp_path: Path) -> None:
    rows = [{"Name": "Acme", "Domain": "acme.com", "Industry": "Tech"}]
    doc = {
        "target": "accounts",
        "columns": {"name": "Name", "domain_name": "Domain"},
        "custom_fields": {"cus_field__Industry": "Industry"},
    }
    p = prepare(table(rows), load(tmp_path, doc))
    assert bodies(p)[2][1] == {
        "name": "Acme",
        "domain_name": "acme.com",
        "custom_fields": {"cus_field__Industry": "Tech"},
    }


# -- opportunities: the body, keys, rules -------------------------------------------------------


def test_the_deal_body(tmp_path: Path) -> None:
    rows = [
        {
            "Deal": " Big deal ",
            "Domain": "https://www.Acme.com/pricing",
            "Amount": "$12,500.50",
            "Stage": "closedwon",
            "Reason": "Price; ",
            "Due": "2026-03-01 09:00",
            "Contact": "Bob@Acme.COM",
            "CC": "a@x.com, b@y.com",
            "Source": "Web",
        }
    ]
    columns = {
        **DEAL,
        "amount": "Amount",
        "stage": {"column": "Stage", "values": {"closedwon": "Closed Won"}},
        "closed_reasons": {"column": "Reason", "split": ";"},
        "next_step_due_at": {"column": "Due", "timezone": "America/New_York"},
        "primary_contact_email": "Contact",
        "additional_contact_emails": {"column": "CC", "split": ","},
    }
    p = deals(tmp_path, rows, columns, custom_fields={"cus_field__Source": "Source"})
    assert p.counts() == {"ready": 1, "duplicate": 0, "invalid": 0}
    key, body = bodies(p)[2]
    assert key == "big deal\x1fdomain:acme.com"
    assert body == {
        "display_name": "Big deal",
        "account": {"domain": "acme.com"},
        "amount": 12500.5,
        "stage": "Closed Won",
        "closed_reasons": ["Price"],
        "next_step_due_at": "2026-03-01T09:00:00-05:00",
        "primary_contact_email": "Bob@acme.com",
        "additional_contact_emails": ["a@x.com", "b@y.com"],
        "custom_fields": {"cus_field__Source": "Web"},
    }


def test_deals_by_account_name_and_by_account_id(tmp_path: Path) -> None:
    rows = deal_rows(Company=["  Acme   Inc ", "ACME INC", None], AccountId=[None, None, "ACC-1"])
    columns = {"display_name": "Deal", "account": {"name": "Company"}, "account_id": "AccountId"}
    p = deals(tmp_path, rows, columns)
    b = bodies(p)
    assert b[2] == (
        "deal 0\x1fname:acme inc",
        {"display_name": "Deal 0", "account": {"name": "Acme   Inc"}},
    )
    assert b[3][0] == "deal 1\x1fname:acme inc"
    assert b[4] == ("deal 2\x1facc-1", {"display_name": "Deal 2", "account_id": "ACC-1"})


def test_a_deal_without_an_account_is_missing_account(tmp_path: Path) -> None:
    rows = deal_rows(Domain=[None, "n/a", "acme.com"])
    p = deals(tmp_path, rows, DEAL)
    r = by_row(p)
    assert [r[i]["error_code"] for i in (2, 3, 4)] == ["missing_account", "missing_account", ""]
    assert r[2]["error"] == "Domain (account) is blank; one is required"
    assert r[4]["status"] == "ready"


def test_duplicate_deals_by_name_and_account(tmp_path: Path) -> None:
    rows = deal_rows(
        Deal=["Big", "big ", "Big"], Domain=["acme.com", "WWW.ACME.COM", "acme.com.au"]
    )
    p = deals(tmp_path, rows, DEAL)
    r = by_row(p)
    assert r[2]["status"] == "duplicate"
    assert r[2]["error"] == (
        "duplicate of row 3: same deal big on domain:acme.com (dedupe keep: last)"
    )
    assert r[3]["status"] == r[4]["status"] == "ready"


def test_amounts_ambiguous_and_invalid(tmp_path: Path) -> None:
    rows = deal_rows(Amount=["1,234", "12.500,00 €", "$12,500.00", "lots", "1.5E+06"])
    p = deals(tmp_path, rows, {**DEAL, "amount": "Amount"})
    r = by_row(p)
    assert r[2]["error_code"] == "invalid_amount"  # both conventions in the column
    assert r[2]["error"].startswith(
        "Amount \"1,234\" is not a clear amount: could be 1234 (',' grouping thousands) or "
        "1.234 (',' as the decimal separator)"
    )
    assert r[5]["error"] == 'Amount "lots" is not a clear amount: not a number'
    b = bodies(p)
    assert [b[i][1]["amount"] for i in (3, 4, 6)] == [12500, 12500, 1500000]
    one_convention = deals(
        tmp_path, deal_rows(Amount=["1,234", "12.500,00 €"]), {**DEAL, "amount": "Amount"}
    )
    assert [body["amount"] for _, _, body in one_convention.iter_bodies()] == [1.234, 12500]


def test_values_map_before_the_checks_and_per_list_element(tmp_path: Path) -> None:
    rows = deal_rows(
        Amount=["TBD", "  tbd ", "100"],
        Stage=["Won", "appointmentScheduled", "Negotiation"],
        Reason=["Too expensive; other", "", "too EXPENSIVE"],
    )
    columns = {
        **DEAL,
        "amount": {"column": "Amount", "values": {"TBD": "0"}},
        "stage": {
            "column": "Stage",
            "values": {"won": "Closed Won", "appointmentscheduled": "Qualified"},
        },
        "closed_reasons": {"column": "Reason", "split": ";", "values": {"too expensive": "Price"}},
    }
    p = deals(tmp_path, rows, columns)
    b = bodies(p)
    assert b[2][1]["amount"] == 0 and b[3][1]["amount"] == 0
    assert b[2][1]["stage"] == "Closed Won" and b[3][1]["stage"] == "Qualified"
    assert b[4][1]["stage"] == "Negotiation"  # unmapped: as written
    assert b[2][1]["closed_reasons"] == ["Price", "other"]
    assert b[4][1]["closed_reasons"] == ["Price"]


def test_a_closed_stage_needs_reasons(tmp_path: Path) -> None:
    rows = deal_rows(
        Stage=["closedwon", "Closed Lost", "Lost", "Won-back", "Negotiation", "Signed"],
        Reason=[None, None, "Price", None, None, None],
    )
    columns = {
        **DEAL,
        "stage": {"column": "Stage", "values": {"closedwon": "Closed Won"}},
        "closed_reasons": "Reason",  # one reason per cell: a list of one
    }
    r = by_row(deals(tmp_path, rows, columns))
    codes = [r[i]["error_code"] for i in range(2, 8)]
    assert codes == [
        "missing_closed_reason",
        "missing_closed_reason",
        "",
        "missing_closed_reason",
        "",
        "",
    ]
    assert r[2]["error"] == (
        'Stage "Closed Won" is a closed stage: it needs closed reasons; fill in Reason '
        "(closed_reasons)"
    )
    # closed: names the closed stages (any case); the others are open whatever their name
    columns["stage"] = {"column": "Stage", "closed": ["signed", "Closed Lost"]}
    p = deals(tmp_path, rows, columns)
    r = by_row(p)
    codes = [r[i]["error_code"] for i in range(2, 8)]
    assert codes == ["", "missing_closed_reason", "", "", "", "missing_closed_reason"]
    assert bodies(p)[4][1]["closed_reasons"] == ["Price"]
    # without closed_reasons mapped, a closed stage cannot be sent
    r = by_row(deals(tmp_path, deal_rows(Stage=["Closed Won"]), {**DEAL, "stage": "Stage"}))
    assert r[2]["error"].endswith("it needs closed reasons; map closed_reasons")


def test_contact_emails_dates_and_on_invalid(tmp_path: Path) -> None:
    rows = deal_rows(
        Contact=["bob@acme.com", "not-an-email", "carl@acme.com"],
        CC=["a@x.com;bad@", "b@y.com", None],
        Due=["soon", "2026-03-29 02:30", "03/04/2026"],
        Amount=["n/a", "12,34,5", "7"],
    )
    columns = {
        **DEAL,
        "primary_contact_email": "Contact",
        "additional_contact_emails": {"column": "CC", "split": ";"},
        "next_step_due_at": {"column": "Due", "timezone": "Europe/Berlin", "on_invalid": "drop"},
        "amount": {"column": "Amount", "on_invalid": "warn"},
    }
    p = deals(tmp_path, rows, columns)
    r = by_row(p)
    assert r[2]["error_code"] == "invalid_email"
    assert r[2]["error"] == (
        'CC "bad@": There must be something after the @-sign. is not a valid e-mail address'
    )
    assert r[3]["error_code"] == "invalid_email"
    assert r[3]["error"].startswith('Contact "not-an-email" is not a valid e-mail address')
    assert r[4]["status"] == "ready"
    assert r[4]["warnings"] == (
        'ambiguous_date: Due "03/04/2026" could be 2026-03-04 (us) or 2026-04-03 (day_first): '
        "list only the convention the file uses in formats: (dropped)"
    )
    body = bodies(p)[4][1]
    assert "next_step_due_at" not in body and body["amount"] == 7  # dropped; n/a is blank
    # invalid_date names the value and what was tried; warn sends the amount as written
    rows = deal_rows(Due=["soon"], Amount=["12,34,5"])
    del columns["primary_contact_email"], columns["additional_contact_emails"]
    p = deals(tmp_path, rows, columns)
    row = by_row(p)[2]
    assert row["warnings"] == (
        'invalid_amount: Amount "12,34,5" is not a clear amount: its digit groups are not '
        'thousands (kept as is); invalid_date: Due "soon" is not a date in the formats tried: '
        "ISO 8601, us, day_first (dropped)"
    )
    assert bodies(p)[2][1]["amount"] == "12,34,5"


def test_a_datetime_in_the_dst_gap_and_overlap(tmp_path: Path) -> None:
    rows = deal_rows(
        Due=["2026-03-29 02:30", "2026-10-25 02:30", "2026-03-01", "2026-03-01T09:00Z"]
    )
    columns = {**DEAL, "next_step_due_at": {"column": "Due", "timezone": "Europe/Berlin"}}
    b = bodies(deals(tmp_path, rows, columns))
    assert [b[i][1]["next_step_due_at"] for i in range(2, 6)] == [
        "2026-03-29T03:30:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-03-01T00:00:00+01:00",
        "2026-03-01T09:00:00+00:00",
    ]


def test_optional_columns_and_clear(tmp_path: Path) -> None:
    rows = deal_rows(Amount=[None], Reason=[None], Due=[None], Next=[None])
    columns = {
        **DEAL,
        "amount": "Amount",
        "closed_reasons": {"column": "Reason", "split": ";"},
        "next_step_due_at": {"column": "Due", "timezone": "UTC"},
        "next_step_details": "Next",
        "pipeline_name": {"column": "Pipeline", "optional": True},
    }
    p = deals(tmp_path, rows, columns, on_empty="clear")
    assert p.notes and "optional column 'Pipeline' is not in the file" in p.notes[0]
    # Reevo's API clears a text field with "" only: a blank amount, list or date-time is left
    # out (null would leave the stored value anyway), and a note says so
    assert bodies(p)[2][1] == {
        "display_name": "Deal 0",
        "account": {"domain": "acme.com"},
        "next_step_details": "",
    }
    assert p.notes[1].startswith(
        "on_empty: clear cannot clear amount (1 row), closed_reasons (1 row), "
        "next_step_due_at (1 row): "
    )


def test_values_work_for_account_contact_too(tmp_path: Path) -> None:
    rows = [
        {"Email": "a@acme.com", "Title": " ceo ", "Phone": "office"},
        {"Email": "b@acme.com", "Title": "CTO", "Phone": "(415) 555-0132"},
    ]
    doc = {
        "columns": {
            "email": "Email",
            "title": {"column": "Title", "values": {"CEO": "Chief Executive Officer"}},
            # mapped before the check: "office" is the switchboard's number
            "phone_number": {
                "column": "Phone",
                "format": "e164",
                "default_region": "US",
                "values": {"office": "+1 415 555 0100"},
            },
        }
    }
    p = prepare(table(rows), load(tmp_path, doc))
    b = bodies(p)
    assert b[2][1] == {
        "email": "a@acme.com",
        "title": "Chief Executive Officer",
        "phone_number": "+14155550100",
    }
    assert b[3][1]["title"] == "CTO" and b[3][1]["phone_number"] == "+14155550132"
