"""`syncer init` end to end (in-process through click, for speed): for each known export layout,
a file with the tool's real header and a few rows gives exactly the expected mapping, and
`syncer validate` with it exits 0 or 1, never 2. Plus the contract: default output path, no
overwrite without --force, exit codes, --json.

Where each header comes from (also in syncer/proposal/layouts/<name>.yaml):

- hubspot_contacts.csv: HubSpot's default contacts view export, as public scripts reading
  hubspot-crm-exports-*.csv quote it; labels per
  https://knowledge.hubspot.com/articles/kcs_article/contacts/how-do-i-import-contacts
- salesforce_contacts.csv / salesforce_leads.csv: report headers public importers of Salesforce
  "Details Only" reports expect; labels per
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_contact.htm
  (the footer lines are Salesforce's report footer)
- apollo.csv: Apollo's contacts export header as public tools quote it;
  https://knowledge.apollo.io/hc/en-us/articles/4409161532045
- zoominfo.csv: ZoomInfo's contact export header as public importers quote it;
  https://docs.zoominfo.com/reference/searchinterface_searchcontact
- linkedin_connections.csv: LinkedIn's Connections.csv,
  https://endearist.com/en/blog/how-to-export-linkedin-connections
- pipedrive_people.csv: Pipedrive's "Person - ..." export columns,
  https://support.pipedrive.com/en/article/importing-data-into-pipedrive-with-spreadsheets
- zoho_crm.csv: a Zoho CRM contacts export header as public code quotes it;
  https://github.com/Jkthompson82/zoho-deluge-library/blob/HEAD/reference/api_fields/lead_module_api_names.md
- google_contacts_legacy.csv: https://gist.github.com/janoamaral/30b3dac7961609715872e8c065406de3
- google_contacts.csv: Google's current "Google CSV" header as public parsers quote it
- outlook_contacts.csv: https://app.unpkg.com/csv-linkedin-parser@1.0.1/files/test/fixtures/testerN.csv
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from syncer.cli import cli

from .cli_helpers import private_env, syncer, write_csv

EXPORTS = Path(__file__).resolve().parents[1] / "data" / "exports"


def _phone(column: str, region: str) -> dict[str, str]:
    return {"column": column, "format": "e164", "default_region": region}


#: layout file -> (label in the line comments, expected `columns:`, expected commented lines)
LAYOUTS: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "hubspot_contacts": (
        "HubSpot contacts export",
        {
            "email": "Email",
            "first_name": "First Name",
            "last_name": "Last Name",
            "phone_number": _phone("Phone Number", "US"),
            "company": "Associated Company",
        },
        ["# contact_owner_email: Contact owner", "#   cus_field__Lead_Status: Lead Status"],
    ),
    "salesforce_contacts": (
        "Salesforce contacts report",
        {
            "email": "Email",
            "first_name": "First Name",
            "last_name": "Last Name",
            "phone_number": _phone("Phone", "US"),
            "company": "Account Name",
            "title": "Title",
        },
        ["# phone_number: Mobile", "# account_owner_email: Account Owner"],
    ),
    "salesforce_leads": (
        "Salesforce leads report",
        {
            "email": "Email",
            "first_name": "First Name",
            "last_name": "Last Name",
            "company": "Company / Account",
            "title": "Title",
        },
        ["# contact_owner_email: Lead Owner", "#   cus_field__Lead_Source: Lead Source"],
    ),
    "apollo": (
        "Apollo contacts export",
        {
            "email": "Email",
            "first_name": "First Name",
            "last_name": "Last Name",
            "phone_number": _phone("Work Direct Phone", "AE"),
            "company": "Company",
            "title": "Title",
            "contact_linkedin_url": "Person Linkedin Url",
            "account_linkedin_url": "Company Linkedin Url",
            "account_website": "Website",
        },
        [
            "# company: Company Name for Emails",
            "# contact_owner_email: Contact Owner",
            "#   cus_field__Email_Status: Email Status",
            "#   cus_field__Departments: {column: Departments, split: ','}",
        ],
    ),
    "zoominfo": (
        "ZoomInfo contacts export",
        {
            "email": "Email Address",
            "first_name": "First Name",
            "last_name": "Last Name",
            "middle_name": "Middle Name",
            "phone_number": _phone("Direct Phone Number", "US"),
            "company": "Company Name",
            "title": "Job Title",
            "department": "Department",
            "contact_linkedin_url": "LinkedIn Contact Profile URL",
            "contact_zoominfo_url": "ZoomInfo Contact Profile URL",
            "account_linkedin_url": "LinkedIn Company Profile URL",
            "account_facebook_url": "Facebook Company Profile URL",
            "account_zoominfo_url": "ZoomInfo Company Profile URL",
            "account_x_url": "Twitter Company Profile URL",
            "account_website": "Website",
        },
        ["#   cus_field__Email_Domain: Email Domain"],
    ),
    "linkedin_connections": (
        "LinkedIn connections export",
        {
            "email": "Email Address",
            "first_name": "First Name",
            "last_name": "Last Name",
            "company": "Company",
            "title": "Position",
            "contact_linkedin_url": "URL",
        },
        ["#   cus_field__Connected_On: Connected On  # 100 % of values are dates"],
    ),
    "pipedrive_people": (
        "Pipedrive people export",
        {
            "email": "Person - Email - Work",
            "first_name": "Person - First name",
            "last_name": "Person - Last name",
            "phone_number": _phone("Person - Phone - Work", "GB"),
            "company": "Person - Organization",
            "title": "Person - Title",
        },
        ["# email: Person - Email - Home", "# phone_number: Person - Phone - Mobile"],
    ),
    "zoho_crm": (
        "Zoho CRM export",
        {
            "email": "Email",
            "first_name": "First Name",
            "last_name": "Last Name",
            "phone_number": _phone("Mobile", "US"),
            "company": "Account Name",
        },
        ["#   cus_field__Account_Name_id: Account Name.id"],
    ),
    "google_contacts_legacy": (
        "Google Contacts export",
        {
            "email": "E-mail 1 - Value",
            "first_name": "Given Name",
            "last_name": "Family Name",
            "middle_name": "Additional Name",
            "phone_number": _phone("Phone 1 - Value", "PL"),
        },
        ["#   cus_field__E_mail_2_Value: E-mail 2 - Value"],
    ),
    "google_contacts": (
        "Google Contacts export",
        {
            "email": "E-mail 1 - Value",
            "first_name": "First Name",
            "last_name": "Last Name",
            "middle_name": "Middle Name",
            "phone_number": _phone("Phone 1 - Value", "PT"),
            "company": "Organization Name",
            "title": "Organization Title",
            "department": "Organization Department",
        },
        ["#   cus_field__Labels: Labels"],
    ),
    "outlook_contacts": (
        "Outlook contacts export",
        {
            "email": "E-mail Address",
            "first_name": "First Name",
            "last_name": "Last Name",
            "middle_name": "Middle Name",
            "phone_number": _phone("Business Phone", "GB"),
            "company": "Company",
            "title": "Job Title",
            "department": "Department",
            "account_website": "Web Page",
        },
        ["# phone_number: Mobile Phone", "#   cus_field__Title: Title"],
    ),
}


def _init(*args: str | Path) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in ("init", *args)])
    assert "Traceback" not in result.output, result.output
    return result


def _copy(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copy(EXPORTS / f"{name}.csv", tmp_path / f"{name}.csv"))


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_known_layout_gives_the_expected_mapping(name: str, tmp_path: Path) -> None:
    label, columns, commented = LAYOUTS[name]
    source = _copy(name, tmp_path)
    result = _init(source)
    assert result.exit_code in (0, 1), result.output
    mapping = tmp_path / f"{name}.yaml"
    text = mapping.read_text(encoding="utf-8")
    assert yaml.safe_load(text) == {"target": "account_contact", "columns": columns}
    lines = text.splitlines()
    for field in columns:
        line = next(ln for ln in lines if ln.startswith(f"  {field}: "))
        assert line.split("  # ", 1)[1].startswith(label), line
    for want in commented:
        assert any(ln.strip().startswith(want.strip()) for ln in lines), (want, text)
    check = CliRunner().invoke(cli, ["validate", str(source), "--mapping", str(mapping)])
    assert check.exit_code in (0, 1), check.output


def test_json_prints_the_proposal_with_confidences(tmp_path: Path) -> None:
    source = _copy("hubspot_contacts", tmp_path)
    result = _init(source, "--json")
    out = json.loads(result.output.strip().splitlines()[-1])
    assert out["command"] == "init" and out["exit_code"] == result.exit_code == 0
    assert out["error"] is None and out["layout"]["name"] == "hubspot_contacts"
    assert out["mapping"] == str(tmp_path / "hubspot_contacts.yaml")
    email = next(f for f in out["fields"] if f["field"] == "email")
    assert email == {
        "field": "email",
        "column": "Email",
        "stage": "layout",
        "confidence": 0.99,
        "reason": "HubSpot contacts export",
        "options": {},
    }
    owner = next(c for c in out["commented"] if c["name"] == "contact_owner_email")
    assert owner["column"] == "Contact owner" and "owners:" in owner["reason"]
    assert out["validate"] == {
        "rows": 4,
        "sample": False,
        "ready": 4,
        "duplicate": 0,
        "invalid": 0,
        "issues": {},
    }


def test_never_overwrites_without_force(tmp_path: Path) -> None:
    source = _copy("zoho_crm", tmp_path)
    mapping = tmp_path / "zoho_crm.yaml"
    mapping.write_text("mine\n", encoding="utf-8")
    result = _init(source)
    assert result.exit_code == 2
    assert "--force" in result.output and "-o" in result.output
    assert mapping.read_text(encoding="utf-8") == "mine\n"
    other = tmp_path / "other.yaml"
    assert _init(source, "-o", other).exit_code == 0 and other.exists()
    assert _init(source, "--force").exit_code == 0
    assert yaml.safe_load(mapping.read_text(encoding="utf-8"))["columns"]["email"] == "Email"


def test_invalid_rows_exit_1_and_are_named(tmp_path: Path) -> None:
    source = _copy("linkedin_connections", tmp_path)
    result = _init(source)
    assert result.exit_code == 1, result.output
    assert "2 ready, 0 duplicate, 2 invalid" in result.output
    assert "to fix: 2 missing_email" in result.output
    assert "check by hand:" in result.output


def test_no_email_column_exits_2_listing_the_columns(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(
        "Name,Email Opt Out,Email Domain,Email Status,Secondary Email Verified\n"
        "Ann Lee,false,acme.com,Verified,true\nBo Chan,true,globex.com,Bounced,false\n",
        encoding="utf-8",
    )
    result = _init(source, "--json")
    assert result.exit_code == 2
    assert not (tmp_path / "people.yaml").exists()
    out = json.loads(result.output.strip().splitlines()[-1])
    message = out["error"]["message"]
    assert out["error"]["code"] == "source" and "no column can be the e-mail" in message
    assert '"Email Opt Out"' in message and "Nothing was written" in message
    assert all(f["field"] != "email" for f in out["fields"])  # the proposal so far


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    result = _init(tmp_path / "missing.csv")
    assert result.exit_code == 2 and "does not exist" in result.output
    assert not (tmp_path / "missing.yaml").exists()


def test_unknown_target_is_a_usage_error(tmp_path: Path) -> None:
    result = _init(_copy("zoho_crm", tmp_path), "--target", "deals")
    assert result.exit_code == 2 and "account_contact" in result.output


def test_fuzzy_headers_in_german(tmp_path: Path) -> None:
    source = tmp_path / "kontakte.csv"
    source.write_text(
        "\ufeffVorname;Nachname;E-Mail-Adresse;Telefon;Firma;Land\n"
        "Jana;Schulz;jana@schulz.example;030 1234567;Schulz GmbH;Deutschland\n"
        "Paul;Meier;paul@meier.example;+49 89 1234567;Meier AG;Deutschland\n",
        encoding="utf-8",
    )
    assert _init(source).exit_code == 0
    text = (tmp_path / "kontakte.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text)["columns"] == {
        "email": "E-Mail-Adresse",
        "first_name": "Vorname",
        "last_name": "Nachname",
        "phone_number": _phone("Telefon", "DE"),
        "company": "Firma",
    }
    assert '  email: E-Mail-Adresse  # header ~ "E-Mail-Adresse" (German)' in text


# --------------------------------------------------------------------------- accounts, deals

#: a HubSpot companies export (headers: syncer/proposal/layouts/hubspot_companies.yaml)
COMPANY_HEADER = [
    "Record ID", "Company name", "Company Domain Name", "Website URL", "Company owner",
    "Industry", "Phone Number", "City", "Country/Region", "LinkedIn Company Page",
    "Number of Employees", "Annual Revenue", "Lifecycle Stage", "Create Date",
]  # fmt: skip
COMPANIES = [
    ["101", "Umbrella Labs", "umbrella-labs.io", "https://www.umbrella-labs.io", "Jane Smith",
     "Software", "+1 617 555 0101", "Boston", "United States",
     "https://www.linkedin.com/company/umbrella-labs", "120", "12500000", "customer",
     "2024-01-05 10:00"],
    ["102", "Stark Freight", "starkfreight.com", "https://starkfreight.com/", "Bob Lee",
     "Logistics", "+1 212 555 0100", "New York", "United States", "", "800", "", "lead",
     "2024-02-01 09:30"],
    ["103", "Nordwind GmbH", "", "https://www.nordwind.example/de", "Jane Smith", "Energy",
     "+49 30 1234567", "Berlin", "Germany", "", "45", "", "opportunity", "2024-03-09 08:00"],
]  # fmt: skip
#: a HubSpot deals export (headers: syncer/proposal/layouts/hubspot_deals.yaml); stage, pipeline
#: and reasons are the sandbox's own names, so the proposed mapping imports as it is
DEAL_HEADER = [
    "Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Close Date", "Deal owner",
    "Deal Type", "Associated Company", "Closed Won Reason", "Closed Lost Reason", "Next step",
    "Create Date",
]  # fmt: skip
DEALS = [
    ["9001", "Umbrella renewal", "Qualified", "Default Pipeline", "$12,500.00", "2024-05-01",
     "Jane Smith", "existingbusiness", "Umbrella Labs", "", "", "Send the quote", "2024-01-05"],
    ["9002", "Stark expansion", "Prospecting", "Default Pipeline", "8.000,50 €", "2024-06-01",
     "Bob Lee", "newbusiness", "Stark Freight", "", "", "Call the CFO", "2024-02-01"],
    ["9003", "Nordwind pilot", "Closed Lost", "Default Pipeline", "3000", "2024-04-01",
     "Jane Smith", "newbusiness", "Nordwind GmbH", "", "Price", "", "2024-03-09"],
    ["9004", "Umbrella add-on", "Closed Won", "Default Pipeline", "1200", "2024-04-15",
     "Jane Smith", "existingbusiness", "Umbrella Labs", "Product fit", "", "", "2024-03-01"],
]  # fmt: skip


def test_hubspot_companies_and_deals_proposed_validated_and_imported(tmp_path: Path) -> None:
    """init --target accounts / opportunities on HubSpot-like exports: the expected mappings,
    with why; they validate and import into the sandbox (accounts first, deals on them)."""
    companies = write_csv(tmp_path / "companies.csv", COMPANY_HEADER, COMPANIES)
    deals = write_csv(tmp_path / "deals.csv", DEAL_HEADER, DEALS)

    result = _init(companies, "--target", "accounts", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert out["layout"]["name"] == "hubspot_companies" and out["validate"]["ready"] == 3
    assert out["key"] == {"column": "Record ID", "reason": out["key"]["reason"], "active": False}
    text = (tmp_path / "companies.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text) == {
        "target": "accounts",
        "columns": {
            "name": "Company name",
            "domain_name": "Company Domain Name",
            "official_website": "Website URL",
            "linkedin_url": "LinkedIn Company Page",
        },
    }
    assert "\n# key: {column: Record ID}  # " in text
    assert "  # owner_email: Company owner  # holds names" in text
    assert "\n# custom_fields:\n#   cus_field__Industry: Industry\n" in text

    result = _init(deals, "--target", "opportunities")
    assert result.exit_code == 0, result.output  # won and lost reasons each in their column
    assert "missing_closed_reason" not in result.output
    text = (tmp_path / "deals.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text) == {
        "target": "opportunities",
        "columns": {
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
    }
    assert "  account: {name: Associated Company}  # HubSpot deals export\n" in text
    assert (
        "  closed_reasons: {column: [Closed Won Reason, Closed Lost Reason], split: ;}  # " in text
    )
    assert "# closed_reasons: Closed Won Reason" not in text
    assert "\n#   cus_field__Deal_Type: Deal Type\n" in text

    job = tmp_path / "migration.job.yaml"  # one process: accounts first, then the deals on them
    job.write_text(
        "steps:\n  - {source: companies.csv, mapping: companies.yaml}\n"
        "  - {source: deals.csv, mapping: deals.yaml}\n",
        encoding="utf-8",
    )
    env = private_env(tmp_path)
    res = syncer("run", "--job", job, "--sandbox", "--json", "--quiet", cwd=tmp_path, env=env)
    assert res.code == 0, res.stdout + res.stderr
    steps = [(s["succeeded"], s["invalid"], s["failed"]) for s in res.json["steps"]]
    assert steps == [(3, 0, 0), (4, 0, 0)], res.json


def test_a_deals_file_with_a_domain_and_a_dated_next_step(tmp_path: Path) -> None:
    """Plain headers (no layout): the account by domain, the amount by its values, the next
    step date read in the zone of the country column."""
    source = tmp_path / "pipeline.csv"
    source.write_text(
        "Opportunity,Kunde,Website,Wert,Phase,Next step date,Land\n"
        'Pilot,Nordwind GmbH,nordwind.example,"12.500,00 €",Qualified,2026-06-03 10:00,DE\n'
        'Rollout,Sudwind AG,https://www.sudwind.example,"3.000,00 €",Prospecting,2026-06-04,'
        "Deutschland\n",
        encoding="utf-8",
    )
    result = _init(source, "--target", "opportunities")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "pipeline.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text)["columns"] == {
        "display_name": "Opportunity",
        "account": {"domain": "Website"},
        "amount": "Wert",
        "stage": "Phase",
        "next_step_due_at": {"column": "Next step date", "timezone": "Europe/Berlin"},
    }
    assert '  # account: {name: Kunde}  # header ~ "Kunde" (German); account: {domain:' in text
    assert 'timezone Europe/Berlin: 2 of 2 rows in "Land" say DE' in text


@pytest.mark.parametrize(
    ("target", "csv", "message"),
    [
        ("accounts", "Domain,City\nacme.com,Boston\n", "no column can be the account's name"),
        ("opportunities", "Deal Name,Amount\nPilot,5\n", "no column says which account"),
    ],
)
def test_accounts_or_deals_without_a_needed_column_exit_2(
    target: str, csv: str, message: str, tmp_path: Path
) -> None:
    source = tmp_path / "f.csv"
    source.write_text(csv, encoding="utf-8")
    result = _init(source, "--target", target, "--json")
    assert result.exit_code == 2 and not (tmp_path / "f.yaml").exists()
    out = json.loads(result.output.strip().splitlines()[-1])
    assert out["error"]["code"] == "source" and message in out["error"]["message"]
    assert csv.split("\n")[0].split(",")[0] in out["error"]["message"]


def test_target_choices_come_from_the_registry(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["init", "--help"])
    assert "account_contact, accounts, opportunities" in " ".join(result.output.split())
    result = _init(_copy("zoho_crm", tmp_path), "--target", "account")
    assert result.exit_code == 2 and "did you mean accounts?" in result.output
