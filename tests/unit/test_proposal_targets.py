"""syncer.proposal for accounts and opportunities: each known layout with the tool's real export
header (sources in syncer/proposal/layouts/<name>.yaml), synonyms in six languages, amounts,
domains and URLs in the values, the account lookup's order (domain, name, account_id), the key
line, time zones, HubSpot's stage ids, and the exit-2 rules (no name, no account, no key)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import yaml

from syncer.errors import SourceError
from syncer.mapping import TARGETS
from syncer.proposal import Proposal, propose, render, require_email, require_fields
from syncer.proposal import relations as relations_module
from syncer.proposal.headers import match_header
from syncer.proposal.layouts import detect
from syncer.proposal.relations import field_kinds, header_fields
from syncer.proposal.values import profile

Rows = dict[str, list[str | None]]


def _frame(data: Rows) -> tuple[list[str], pl.DataFrame]:
    return list(data), pl.DataFrame(data, schema=dict.fromkeys(data, pl.String))


def _propose(data: Rows, target: str) -> Proposal:
    columns, frame = _frame(data)
    return propose(columns, frame, target=target)


def _mapping(proposal: Proposal) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(render(proposal, source="x.csv", mapping="x.yaml"))
    return loaded


def _rows(header: list[str], *rows: list[str]) -> Rows:
    return {h: [r[i] for r in rows] for i, h in enumerate(header)}


# --------------------------------------------------------------------------- layouts

HUBSPOT_COMPANIES = _rows(
    ["Record ID", "Company name", "Company Domain Name", "Website URL", "Company owner",
     "Industry", "Phone Number", "City", "Country/Region", "LinkedIn Company Page",
     "Number of Employees", "Annual Revenue", "Lifecycle Stage", "Create Date"],
    ["101", "Acme Inc", "acme.com", "https://www.acme.com", "Jane Smith", "Software",
     "+1 617 555 0101", "Boston", "United States", "https://www.linkedin.com/company/acme",
     "120", "12500000", "customer", "2024-01-05 10:00"],
    ["102", "Globex", "globex.io", "https://globex.io", "Bob Lee", "Manufacturing",
     "+1 212 555 0100", "New York", "United States", "", "800", "", "lead", "2024-02-01 09:30"],
)  # fmt: skip
HUBSPOT_DEALS = _rows(
    ["Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Close Date", "Deal owner",
     "Deal Type", "Associated Company", "Closed Won Reason", "Closed Lost Reason", "Next step",
     "Create Date"],
    ["9001", "Acme renewal", "Closed Won", "Sales Pipeline", "12500", "2024-05-01",
     "Jane Smith", "Existing Business", "Acme Inc", "Best price", "", "Send invoice",
     "2024-01-05"],
    ["9002", "Globex expansion", "Appointment Scheduled", "Sales Pipeline", "8000.50",
     "2024-06-01", "Bob Lee", "New Business", "Globex", "", "", "Call the CFO", "2024-02-01"],
)  # fmt: skip
SALESFORCE_ACCOUNTS = _rows(
    ["Last Activity", "Account Owner", "Account Name", "Billing State/Province", "Type",
     "Last Modified Date", "Account ID", "Website"],
    ["1/12/2026", "Carolyn Philips", "TreasuryPath", "CA", "Customer", "3/30/2026",
     "001Wj00000tQWvr", "treasurypath.com"],
    ["2/5/2026", "Eric Gremli", "Latitude", "", "", "3/30/2026", "001Wj00000tiSsB",
     "latitude.xyz"],
)  # fmt: skip
SALESFORCE_OPPORTUNITIES = _rows(
    ["Opportunity Owner", "Account Name", "Opportunity Name", "Stage", "Fiscal Period",
     "Amount", "Probability (%)", "Age", "Close Date", "Created Date", "Next Step",
     "Lead Source", "Type", "Opportunity ID"],
    ["Carolyn Philips", "TreasuryPath", "TreasuryPath - 200 seats", "Negotiation/Review",
     "Q2-2026", "USD 48,000.00", "80", "34", "6/30/2026", "5/27/2026", "Send the contract",
     "Web", "New Customer", "006Wj000001AbCd"],
    ["Eric Gremli", "Latitude", "Latitude - pilot", "Prospecting", "Q3-2026", "USD 5,000.00",
     "10", "3", "9/30/2026", "6/27/2026", "", "Partner", "New Customer", "006Wj000001AbCe"],
)  # fmt: skip
PIPEDRIVE_ORGANIZATIONS = _rows(
    ["Organization - ID", "Organization - Name", "Organization - Address",
     "Organization - Owner", "Organization - Label", "Organization - People count",
     "Organization - Open deals", "Organization - Website"],
    ["101", "Nordwind GmbH", "Hauptstr. 1, Berlin", "Jana Schulz", "Customer", "3", "1",
     "https://nordwind.example"],
    ["102", "Sudwind AG", "Marktplatz 2, Zürich", "Paul Meier", "Lead", "1", "0",
     "sudwind.example"],
)  # fmt: skip
PIPEDRIVE_DEALS = _rows(
    ["Deal - ID", "Deal - Title", "Deal - Value", "Deal - Currency", "Deal - Organization",
     "Deal - Contact person", "Deal - Stage", "Deal - Owner", "Deal - Status",
     "Deal - Expected close date", "Deal - Next activity date", "Deal - Lost reason",
     "Deal - Deal created"],
    ["7", "Nordwind deal", "12.500,00", "EUR", "Nordwind GmbH", "Jana Schulz", "Proposal Made",
     "Jana Schulz", "Open", "2026-07-01", "2026-06-03", "", "2026-05-01 10:12:00"],
    ["8", "Sudwind deal", "3.000,00", "CHF", "Sudwind AG", "Paul Meier", "Qualified",
     "Paul Meier", "Lost", "2026-08-01", "", "Too expensive", "2026-05-02 11:00:00"],
)  # fmt: skip
ZOHO_ACCOUNTS = _rows(
    ["Record Id", "Account Owner", "Account Name", "Phone", "Website", "Account Type",
     "Billing Street", "Billing City", "Billing State", "Billing Code", "Description"],
    ["zcrm_4876876000000111", "Pat", "Ridge Property Group", "(614) 555-0100", "ridgepg.com",
     "Customer", "100 Ridge Rd", "Columbus", "OH", "43215", "Manages 12 lots"],
    ["4876876000000112", "Pat", "Cedar Lane HOA", "614-555-0200", "cedarlane.example",
     "Homeowners Association", "1 Cedar Ln", "Dublin", "OH", "43017", ""],
)  # fmt: skip
ZOHO_DEALS = _rows(
    ["Record Id", "Deal Name", "Account Name", "Account Name.id", "Contact Name", "Stage",
     "Closing Date", "Amount", "Lead Source", "Description", "Type"],
    ["4876876000000311", "Maple Ridge Plaza mill & overlay", "Ridge Property Group",
     "4876876000000111", "Dana Whitfield", "Proposal/Price Quote", "2026-11-15", "95,570.69",
     "Referral", "Main lot", "New Business"],
    ["4876876000000312", "Cedar Lane sealcoat", "Cedar Lane HOA", "4876876000000112", "",
     "Closed Won", "10/01/2026", "$12,400.00", "", "", ""],
)  # fmt: skip

#: layout -> (target, rows, expected `columns:`, expected key line column)
LAYOUTS: dict[str, tuple[str, Rows, dict[str, Any], str]] = {
    "hubspot_companies": (
        "accounts",
        HUBSPOT_COMPANIES,
        {
            "name": "Company name",
            "domain_name": "Company Domain Name",
            "official_website": "Website URL",
            "linkedin_url": "LinkedIn Company Page",
        },
        "Record ID",
    ),
    "hubspot_deals": (
        "opportunities",
        HUBSPOT_DEALS,
        {
            "display_name": "Deal Name",
            "account": {"name": "Associated Company"},
            "amount": "Amount",
            "pipeline_name": "Pipeline",
            "stage": "Deal Stage",
            "closed_reasons": {
                "column": ["Closed Won Reason", "Closed Lost Reason"],
                "split": ";",
            },
            "next_step_details": "Next step",
        },
        "Record ID",
    ),
    "salesforce_accounts": (
        "accounts",
        SALESFORCE_ACCOUNTS,
        {"name": "Account Name", "official_website": "Website"},
        "Account ID",
    ),
    "salesforce_opportunities": (
        "opportunities",
        SALESFORCE_OPPORTUNITIES,
        {
            "display_name": "Opportunity Name",
            "account": {"name": "Account Name"},
            "amount": "Amount",
            "stage": "Stage",
            "next_step_details": "Next Step",
        },
        "Opportunity ID",
    ),
    "pipedrive_organizations": (
        "accounts",
        PIPEDRIVE_ORGANIZATIONS,
        {"name": "Organization - Name", "official_website": "Organization - Website"},
        "Organization - ID",
    ),
    "pipedrive_deals": (
        "opportunities",
        PIPEDRIVE_DEALS,
        {
            "display_name": "Deal - Title",
            "account": {"name": "Deal - Organization"},
            "amount": "Deal - Value",
            "stage": "Deal - Stage",
            "closed_reasons": "Deal - Lost reason",
            "next_step_due_at": {
                "column": "Deal - Next activity date",
                "timezone": "Europe/Berlin",
            },
        },
        "Deal - ID",
    ),
    "zoho_accounts": (
        "accounts",
        ZOHO_ACCOUNTS,
        {"name": "Account Name", "official_website": "Website"},
        "Record Id",
    ),
    "zoho_deals": (
        "opportunities",
        ZOHO_DEALS,
        {
            "display_name": "Deal Name",
            "account": {"name": "Account Name"},
            "amount": "Amount",
            "stage": "Stage",
        },
        "Record Id",
    ),
}


@pytest.fixture(autouse=True)
def _berlin(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine's zone, for datetime fields without a zone or country column."""
    monkeypatch.setattr(relations_module, "local_zone", lambda: "Europe/Berlin")


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_each_layout_with_its_real_header_gives_the_expected_mapping(name: str) -> None:
    target, rows, columns, key = LAYOUTS[name]
    assert detect(list(rows), target).name == name  # type: ignore[union-attr]
    assert detect(list(rows), None).name == name  # type: ignore[union-attr]
    proposal = _propose(rows, target)
    assert proposal.layout is not None and proposal.layout.name == name
    assert _mapping(proposal) == {"target": target, "columns": columns}
    assert proposal.key is not None and (proposal.key.column, proposal.key.active) == (key, False)
    require_fields(proposal, TARGETS[target], "x.csv")  # nothing missing
    text = render(proposal, source="x.csv", mapping="x.yaml")
    assert f"# key: {{column: {key}}}  # " in text
    option = "on_ambiguous" if target == "accounts" else "on_missing_account"
    assert f"\n# {option}: fail  # the default; or " in text  # the target's option, commented
    owner = next(c for c in rows if "Owner" in c or "owner" in c) if name != "zoho_deals" else None
    if owner is not None:  # every tool exports owner names: left out, with the reason
        assert f"  # owner_email: {owner}  # holds names" in text


def test_among_all_layouts_a_companies_export_is_the_companies_one() -> None:
    assert detect(list(HUBSPOT_COMPANIES), None).name == "hubspot_companies"  # type: ignore[union-attr]
    assert detect(["Record ID", "First Name", "Email", "Contact owner"], "accounts") is None


# --------------------------------------------------------------------------- headers


def _fields(target: str) -> tuple[str, ...]:
    spec = TARGETS[target]
    return header_fields(spec, field_kinds(spec))


@pytest.mark.parametrize(
    ("header", "target", "field", "language"),
    [
        ("Firmenname", "accounts", "name", "de"),
        ("Nom de l'entreprise", "accounts", "name", "fr"),
        ("Nombre de la empresa", "accounts", "name", "es"),
        ("Nome da empresa", "accounts", "name", "pt"),
        ("Bedrijfsnaam", "accounts", "name", "nl"),
        ("Domain", "accounts", "domain_name", "en"),
        ("Dominio", "accounts", "domain_name", "es"),
        ("Domeinnaam", "accounts", "domain_name", "nl"),
        ("Webseite", "accounts", "official_website", "de"),
        ("Site web", "accounts", "official_website", "fr"),
        ("Company owner", "accounts", "owner_email", "en"),
        ("Propietario de la cuenta", "accounts", "owner_email", "es"),
        ("Deal name", "opportunities", "display_name", "en"),
        ("Nom de l'opportunité", "opportunities", "display_name", "fr"),
        ("Nome do negócio", "opportunities", "display_name", "pt"),
        ("Dealnaam", "opportunities", "display_name", "nl"),
        ("Company", "opportunities", "account.name", "en"),
        ("Firma", "opportunities", "account.name", "de"),
        ("Company Domain", "opportunities", "account.domain", "en"),
        ("Dominio de la empresa", "opportunities", "account.domain", "es"),
        ("Betrag", "opportunities", "amount", "de"),
        ("Montant", "opportunities", "amount", "fr"),
        ("Importe", "opportunities", "amount", "es"),
        ("Montante", "opportunities", "amount", "pt"),
        ("Bedrag", "opportunities", "amount", "nl"),
        ("Deal stage", "opportunities", "stage", "en"),
        ("Verkaufsphase", "opportunities", "stage", "de"),
        ("Étape", "opportunities", "stage", "fr"),
        ("Etapa", "opportunities", "stage", "es"),
        ("Pipeline", "opportunities", "pipeline_name", "en"),
        ("Funil", "opportunities", "pipeline_name", "pt"),
        ("Lost reason", "opportunities", "closed_reasons", "en"),
        ("Verlustgrund", "opportunities", "closed_reasons", "de"),
        ("Motivo de pérdida", "opportunities", "closed_reasons", "es"),
        ("Next step", "opportunities", "next_step_details", "en"),
        ("Nächster Schritt", "opportunities", "next_step_details", "de"),
        ("Prochaine étape", "opportunities", "next_step_details", "fr"),
        ("Volgende stap", "opportunities", "next_step_details", "nl"),
        ("Next step date", "opportunities", "next_step_due_at", "en"),
        ("Fecha del próximo paso", "opportunities", "next_step_due_at", "es"),
        ("Deal owner", "opportunities", "owner_email", "en"),
        ("Eigenaar", "opportunities", "owner_email", "nl"),
    ],
)
def test_headers_of_accounts_and_deals_in_six_languages(
    header: str, target: str, field: str, language: str
) -> None:
    match = match_header(header, _fields(target))
    assert match is not None and (match.field, match.language) == (field, language), match


@pytest.mark.parametrize("header", ["State", "City", "Close Date", "Probability", "Type"])
def test_headers_of_no_field_are_not_taken_by_a_typo(header: str) -> None:
    proposal = _propose(
        {"Deal": ["A", "B"], "Company": ["X", "Y"], header: ["1", "2"]}, "opportunities"
    )
    assert all(c.column != header for c in proposal.chosen), proposal.chosen


@pytest.mark.parametrize("header", ["organization_id", "Associated Company IDs", "Deal ID"])
def test_an_id_column_is_no_typo_of_a_name(header: str) -> None:
    assert match_header(header, _fields("opportunities")) is None


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("$12,500.00", "money"),
        ("12.500,00 €", "money"),
        ("EUR 1.200", "money"),
        ("1,234", "money"),
        ("12500.00", "decimal"),
        ("12500", "number"),
        ("+1 617 555 0101", "phone"),
        ("617-555-0103", "phone"),
        ("030.123.456", "phone"),
    ],
)
def test_amounts_are_told_from_phone_numbers(value: str, kind: str) -> None:
    assert profile([value], 1).shares == {kind: 1.0}


def test_values_alone_find_domain_website_and_amount() -> None:
    accounts = _propose(
        {
            "Name": ["Acme", "Globex", "Initech"],
            "A": ["acme.com", "globex.io", "initech.de"],
            "B": ["https://www.acme.com", "https://globex.io/", "www.initech.de"],
        },
        "accounts",
    )
    assert {c.field: c.column for c in accounts.chosen} == {
        "name": "Name",
        "domain_name": "A",
        "official_website": "B",
    }
    assert any('domain_name <- "A"' in c for c in accounts.checks)  # values alone: a guess
    deals = _propose(
        {
            "Deal": ["Renewal", "Pilot", "Expansion"],
            "C": ["acme.com", "globex.io", "initech.de"],
            "D": ["$12,500.00", "$8,000.00", "$1,200.50"],
        },
        "opportunities",
    )
    mapped = {c.field: (c.form, c.column) for c in deals.chosen}
    assert mapped == {
        "display_name": (None, "Deal"),
        "account": ("domain", "C"),
        "amount": (None, "D"),
    }


def test_a_column_of_text_is_no_amount_and_an_empty_one_no_web_address() -> None:
    deals = _propose(
        {"Deal": ["A", "B"], "Company": ["X", "Y"], "Amount": ["soon", "later"]},
        "opportunities",
    )
    assert deals.chosen_for("amount") is None


# --------------------------------------------------------------------------- the account


def test_the_account_by_domain_before_name_before_account_id() -> None:
    data: Rows = {
        "Deal Name": ["Renewal", "Pilot"],
        "Company": ["Acme", "Globex"],
        "Company Domain": ["acme.com", "globex.io"],
        "Account ID": [
            "4f9c1c1e-8f0b-4a51-9a43-0d8f8e1f2a10",
            "5f9c1c1e-8f0b-4a51-9a43-0d8f8e1f2a11",
        ],
    }
    columns = _mapping(_propose(data, "opportunities"))["columns"]
    assert columns == {"display_name": "Deal Name", "account": {"domain": "Company Domain"}}
    text = render(_propose(data, "opportunities"), source="x.csv", mapping="x.yaml")
    assert '  # account: {name: Company}  # header ~ "Company" (English); account: {domain:' in text
    assert "  # account_id: Account ID  # " in text and "account is used" in text
    del data["Company Domain"]
    assert _mapping(_propose(data, "opportunities"))["columns"]["account"] == {"name": "Company"}
    del data["Company"]
    proposal = _propose(data, "opportunities")
    assert _mapping(proposal)["columns"]["account_id"] == "Account ID"
    assert not any("account_id" in c for c in proposal.checks)  # Reevo's own ids: no check


def test_an_account_id_of_another_tool_is_listed_to_check() -> None:
    proposal = _propose(
        {"Deal Name": ["Renewal"], "Account ID": ["001Wj00000tQWvr"]}, "opportunities"
    )
    assert any(
        c.startswith('account_id <- "Account ID": Reevo needs its own') for c in proposal.checks
    )


# --------------------------------------------------------------------------- the key


def test_accounts_without_a_domain_are_keyed_by_their_record_id() -> None:
    proposal = _propose({"Record ID": ["1", "2"], "Company name": ["Acme", "Globex"]}, "accounts")
    assert proposal.key is not None and proposal.key.active
    assert _mapping(proposal) == {
        "target": "accounts",
        "key": {"column": "Record ID"},
        "columns": {"name": "Company name"},
    }
    require_fields(proposal, TARGETS["accounts"], "x.csv")


def test_accounts_without_a_domain_in_some_rows_are_listed_to_check() -> None:
    proposal = _propose(
        {
            "Record ID": ["1", "2", "3"],
            "Company name": ["Acme", "Globex", "Initech"],
            "Website": ["acme.com", "", None],
            "LinkedIn": ["", "https://linkedin.com/company/globex", ""],
        },
        "accounts",
    )
    assert proposal.key is not None and not proposal.key.active
    assert (
        "2 of 3 sampled rows have no domain: they are invalid (missing_key) unless each "
        'account is keyed by "Record ID" (uncomment the key line)'
    ) in proposal.checks


@pytest.mark.parametrize(
    ("target", "data", "message"),
    [
        (
            "accounts",
            {"Domain": ["acme.com"], "City": ["Boston"]},
            "no column can be the account's name",
        ),
        (
            "accounts",
            {"Company name": ["Acme"], "City": ["Boston"]},
            "no column can key the accounts",
        ),
        (
            "opportunities",
            {"Company": ["Acme"], "Amount": ["5"]},
            "no column can be the deal's display_name",
        ),
        (
            "opportunities",
            {"Deal Name": ["Pilot"], "Amount": ["5"]},
            "no column says which account each deal is on",
        ),
    ],
)
def test_a_missing_name_account_or_key_is_exit_2_listing_the_columns(
    target: str, data: Rows, message: str
) -> None:
    proposal = _propose(data, target)
    with pytest.raises(SourceError, match=message) as err:
        require_fields(proposal, TARGETS[target], "f.csv")
    text = str(err.value)
    assert all(f'"{c}"' in text for c in data) and text.endswith("Nothing was written.")


def test_a_contacts_export_given_as_accounts_says_which_target_fits() -> None:
    proposal = _propose(
        {
            "Record ID": ["1"],
            "First Name": ["Ann"],
            "Email": ["a@acme.com"],
            "Contact owner": ["Jo"],
        },
        "accounts",
    )
    with pytest.raises(SourceError, match="HubSpot contacts export: try --target account_contact"):
        require_fields(proposal, TARGETS["accounts"], "f.csv")


def test_a_companies_export_given_as_contacts_says_which_target_fits() -> None:
    columns, frame = _frame(HUBSPOT_COMPANIES)
    with pytest.raises(SourceError, match="HubSpot companies export: try --target accounts"):
        require_email(propose(columns, frame), "f.csv")


# --------------------------------------------------------------------------- time zones


@pytest.mark.parametrize(
    ("extra", "zone", "guess"),
    [
        (
            {"Time Zone": ["America/Chicago", "America/Chicago", "Europe/Paris"]},
            "America/Chicago",
            False,
        ),
        ({"Country": ["Deutschland", "Germany", "DE"]}, "Europe/Berlin", False),
        ({"Country": ["Spain", "España", "ES"]}, "Europe/Madrid", True),
        ({"Country": ["United States", "USA", "US"]}, "Europe/Berlin", True),  # many zones
        ({}, "Europe/Berlin", True),  # this machine's (the fixture)
    ],
)
def test_a_datetime_field_gets_a_timezone(extra: Rows, zone: str, guess: bool) -> None:
    data: Rows = {
        "Deal Name": ["A", "B", "C"],
        "Company": ["X", "Y", "Z"],
        "Next step date": ["2026-06-03 10:00", "2026-06-04", "2026-06-05 09:30"],
        **extra,
    }
    proposal = _propose(data, "opportunities")
    due = proposal.chosen_for("next_step_due_at")
    assert due is not None and due.options == {"timezone": zone}
    assert any(c.startswith("next_step_due_at: timezone") for c in proposal.checks) is guess


# --------------------------------------------------------------------------- stages


def test_hubspot_stage_ids_get_a_commented_values_table_and_closed_deals_a_check() -> None:
    data: Rows = {
        "Deal Name": ["A", "B", "C"],
        "Associated Company": ["X", "Y", "Z"],
        "Deal Stage": ["closedwon", "appointmentscheduled", "Closed Lost"],
    }
    proposal = _propose(data, "opportunities")
    assert _mapping(proposal)["columns"]["stage"] == "Deal Stage"  # not changed: a suggestion
    line = next(x for x in proposal.commented if x.name == "stage")
    assert line.options == {
        "values": {"appointmentscheduled": "Appointment Scheduled", "closedwon": "Closed Won"}
    }
    text = render(proposal, source="x.csv", mapping="x.yaml")
    assert (
        "  # stage: {column: Deal Stage, values: {appointmentscheduled: Appointment Scheduled, "
        "closedwon: Closed Won}}  # 67 % of its values are HubSpot's internal stage ids" in text
    )
    assert any(c.startswith("2 of 3 sampled rows are in a closed stage") for c in proposal.checks)


def test_list_fields_are_split() -> None:
    proposal = _propose(
        {
            "Deal Name": ["A", "B", "C"],
            "Company": ["X", "Y", "Z"],
            "Lost reason": ["Price;Timing", "Price", "Competitor|Price"],
        },
        "opportunities",
    )
    assert _mapping(proposal)["columns"]["closed_reasons"] == {
        "column": "Lost reason",
        "split": ";",
    }
