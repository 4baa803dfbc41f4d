"""syncer.proposal: header synonyms in six languages and noisy headers, value sniffing, the
80 % e-mail rule with decoys, two columns for one field, owners, regions, custom-field lines,
the layout files, and the sample read."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from syncer.errors import SourceError
from syncer.mapping import TARGETS
from syncer.proposal import custom_name, propose, read_sample, render, require_email
from syncer.proposal.headers import match_header, normalize
from syncer.proposal.layouts import detect, layouts
from syncer.proposal.relations import field_kinds

FIELDS = tuple(TARGETS["account_contact"].fields)


def _frame(data: dict[str, list[str | None]]) -> tuple[list[str], pl.DataFrame]:
    return list(data), pl.DataFrame(data, schema=dict.fromkeys(data, pl.String))


def _mapped(data: dict[str, list[str | None]]) -> dict[str, str]:
    columns, frame = _frame(data)
    return {c.field: c.column for c in propose(columns, frame).chosen}


@pytest.mark.parametrize(
    ("header", "field", "language"),
    [
        ("E-Mail-Adresse", "email", "de"),
        ("Courriel", "email", "fr"),
        ("Correo electrónico", "email", "es"),
        ("Endereço de e-mail", "email", "pt"),
        ("E-mailadres", "email", "nl"),
        ("Vorname", "first_name", "de"),
        ("Prénom", "first_name", "fr"),
        ("Nombre", "first_name", "es"),
        ("Primeiro nome", "first_name", "pt"),
        ("Voornaam", "first_name", "nl"),
        ("Apellido", "last_name", "es"),
        ("Nachname", "last_name", "de"),
        ("Nom de famille", "last_name", "fr"),
        ("Sobrenome", "last_name", "pt"),
        ("Achternaam", "last_name", "nl"),
        ("Téléphone", "phone_number", "fr"),
        ("Telefonnummer", "phone_number", "de"),
        ("Telefoonnummer", "phone_number", "nl"),
        ("Celular", "phone_number", "es"),
        ("Firma", "company", "de"),
        ("Entreprise", "company", "fr"),
        ("Bedrijfsnaam", "company", "nl"),
        ("Cargo", "title", "es"),
        ("Functie", "title", "nl"),
        ("Abteilung", "department", "de"),
        ("Site web", "account_website", "fr"),
    ],
)
def test_headers_in_six_languages(header: str, field: str, language: str) -> None:
    match = match_header(header, FIELDS)
    assert match is not None and (match.field, match.language) == (field, language)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("\ufeffEmail", "email"),  # BOM
        ("  EMAIL  ", "email"),  # spaces, case
        ("e_mail", "email"),  # punctuation
        ("E.Mail", "email"),
        ("Emial", "email"),  # typo: letters swapped
        ("Frist Name", "first_name"),
        ("first-name", "first_name"),
        ("FIRST_NAME", "first_name"),
        ("Last  name", "last_name"),
        ("Comapny", "company"),
        ("Compagny Name", "company"),
        ("Job-Title", "title"),
        ("Phone #", "phone_number"),
        ("Vor-Name", "first_name"),
        ("E-Mail Adresse", "email"),
    ],
)
def test_noisy_headers(header: str, field: str) -> None:
    match = match_header(header, FIELDS)
    assert match is not None and match.field == field, (header, match)


@pytest.mark.parametrize(
    "header", ["Name", "Full Name", "Email Opt Out", "Email Status", "Phone Type", "Record ID"]
)
def test_headers_that_are_no_field(header: str) -> None:
    assert match_header(header, FIELDS) is None


def test_normalize() -> None:
    assert normalize(" \ufeffE-Mail-Adresse ") == "e mail adresse"
    assert normalize("Correo Electrónico") == "correo electronico"


def test_values_alone_find_email_phone_linkedin_and_website() -> None:
    mapped = _mapped(
        {
            "A": ["ann@acme.com", "bo@globex.com", "cy@initech.io"],
            "B": ["+1 617 555 0101", "(617) 555-0102", "617-555-0103"],
            "C": ["https://www.linkedin.com/in/ann", "linkedin.com/in/bo", None],
            "D": ["acme.com", "https://globex.com", "www.initech.io"],
            "E": ["2024-01-05", "2024-02-01", "2024-03-09"],
            "ip_address": ["192.168.0.1", "10.0.0.2", "172.16.4.1"],  # not phone numbers
        }
    )
    assert mapped == {
        "email": "A",
        "phone_number": "B",
        "contact_linkedin_url": "C",
        "account_website": "D",
    }


def test_email_decoys_are_never_the_email() -> None:
    data: dict[str, list[str | None]] = {
        "Email Opt Out": ["false", "true", "false", "false", "true"],
        "Email Domain": ["acme.com", "globex.com", "initech.io", "acme.com", "umbrella.org"],
        "Email Status": ["Verified", "Bounced", "Verified", "Guessed", "Verified"],
        "Secondary Email Verified": ["true", "false", "false", "true", "false"],
        "Contact": ["ann@acme.com", "bo@globex.com", "cy@initech.io", "di@acme.com", "ed@u.org"],
    }
    assert _mapped(data)["email"] == "Contact"
    del data["Contact"]
    columns, frame = _frame(data)
    proposal = propose(columns, frame)
    assert proposal.chosen_for("email") is None
    with pytest.raises(SourceError, match="no column can be the e-mail") as err:
        require_email(proposal, "people.csv")
    assert '"Email Opt Out"' in err.value.message and "Nothing was written" in err.value.message


@pytest.mark.parametrize(("emails", "taken"), [(8, True), (7, False)])
def test_email_needs_80_percent_of_values(emails: int, taken: bool) -> None:
    values: list[str | None] = [f"p{i}@acme.com" for i in range(emails)]
    values += [f"not an address {i}" for i in range(10 - emails)] + [None, ""]
    columns, frame = _frame({"Email": values})
    proposal = propose(columns, frame)
    assert (proposal.chosen_for("email") is not None) is taken
    if not taken:
        assert proposal.email_refusals["Email"] == "only 70 % of its values are e-mail addresses"


def test_two_columns_for_one_field_the_better_wins() -> None:
    columns, frame = _frame(
        {
            "Email": ["ann@acme.com", "bo@globex.com"],
            "E-mail 2": ["ann@home.example", "bo@home.example"],
            "Mobile": ["+44 7700 900123", None],
            "Phone": ["+44 20 7946 0958", "+44 20 7946 0959"],
        }
    )
    proposal = propose(columns, frame)
    assert proposal.chosen_for("email").column == "Email"  # type: ignore[union-attr]
    assert proposal.chosen_for("phone_number").column == "Phone"  # type: ignore[union-attr]
    alternates = {(c.name, c.column) for c in proposal.commented if c.section == "columns"}
    assert ("phone_number", "Mobile") in alternates
    text = render(proposal, source="x.csv", mapping="x.yaml")
    assert yaml.safe_load(text)["columns"]["phone_number"]["column"] == "Phone"
    assert '  # phone_number: Mobile  # header ~ "Mobile" (English); "Phone" is used' in text


def test_owner_names_are_left_out_with_the_reason_and_owner_emails_mapped() -> None:
    columns, frame = _frame(
        {
            "Email": ["ann@acme.com", "bo@globex.com"],
            "Contact owner": ["Jane Smith", "Tom Brown"],
            "Account Owner": ["jane@seller.example", "tom@seller.example"],
        }
    )
    proposal = propose(columns, frame)
    assert proposal.chosen_for("contact_owner_email") is None
    assert proposal.chosen_for("account_owner_email").column == "Account Owner"  # type: ignore[union-attr]
    line = next(c for c in proposal.commented if c.name == "contact_owner_email")
    assert '"Jane Smith"' in line.reason and "owners:" in line.reason
    assert any("Contact owner" in c and "owner's e-mail" in c for c in proposal.checks)


@pytest.mark.parametrize(
    ("data", "region", "guess"),
    [
        (
            {"Phone": ["030 1234567", "089 123456"], "Country": ["Germany", "Deutschland"]},
            "DE",
            False,
        ),
        ({"Phone": ["+33 1 23 45 67 89", "+33 6 12 34 56 78"]}, "FR", False),
        ({"Telefoon": ["020 123 4567", "010 123 4567"]}, "NL", True),
        ({"Phone": ["(617) 555-0101", "617-555-0102"]}, "US", True),
    ],
)
def test_phone_default_region(data: dict[str, list[str | None]], region: str, guess: bool) -> None:
    columns, frame = _frame({"Email": ["a@acme.com", "b@acme.com"], **data})
    proposal = propose(columns, frame)
    phone = next(c for c in proposal.chosen if c.field == "phone_number")
    assert phone.options == {"format": "e164", "default_region": region}
    assert f"region {region}: " in phone.reason
    assert (
        any(c.startswith(f"phone default_region {region} is a guess") for c in proposal.checks)
        is guess
    )


def test_unmapped_columns_become_custom_field_comments_with_split() -> None:
    columns, frame = _frame(
        {
            "Email": ["ann@acme.com", "bo@globex.com", "cy@initech.io"],
            "Lead Source": ["Web", "Event", "Web"],
            "Tags": ["vip;newsletter", "newsletter", "vip;beta"],
            "Industry": ["Software", "Retail", None],
        }
    )
    text = render(propose(columns, frame), source="x.csv", mapping="x.yaml")
    assert yaml.safe_load(text) == {"target": "account_contact", "columns": {"email": "Email"}}
    assert "#   cus_field__Lead_Source: Lead Source\n" in text
    assert "#   cus_field__Tags: {column: Tags, split: ;}  # 67 % of values are" in text
    assert "# account_custom_fields:\n#   cus_field__Industry: Industry\n" in text


def test_custom_name() -> None:
    assert custom_name("Lead Source") == "cus_field__Lead_Source"
    assert custom_name("Größe (cm)") == "cus_field__Grosse_cm"
    assert custom_name("###") == "cus_field__column"


def test_every_layout_file_cites_sources_and_names_real_fields() -> None:
    found = layouts()
    assert len(found) >= 18
    for layout in found:
        assert layout.sources and all(s.startswith("https://") for s in layout.sources)
        names = set(field_kinds(TARGETS[layout.target]))
        assert set(layout.fields) <= names, layout.name
        assert layout.signature, layout.name
        required = TARGETS[layout.target].required
        assert all(f in layout.fields for f in required), layout.name
        if layout.target == "account_contact":
            assert "email" in layout.fields, layout.name
    targets = {layout.target for layout in found}
    assert targets == {"account_contact", "accounts", "opportunities"}


def test_a_plain_file_matches_no_layout() -> None:
    assert detect(["First Name", "Last Name", "Email", "Company", "Phone"]) is None
    assert detect(["Record ID", "First Name", "Email", "Contact owner"]).name == "hubspot_contacts"  # type: ignore[union-attr]


def test_read_sample_reads_only_the_top_of_a_big_file(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    rows = "".join(f"p{i}@acme.com,Name {i}\n" for i in range(300_000))
    path.write_text("Email,Name\n" + rows, encoding="utf-8")
    table, complete = read_sample(path, rows=1000)
    assert not complete and table.rows == 1000
    assert table.frame["Email"][999] == "p999@acme.com"
    small = tmp_path / "small.csv"
    small.write_text('Email,Note\na@b.com,"two\nlines"\n', encoding="utf-8")
    table, complete = read_sample(small, rows=1000)
    assert complete and table.rows == 1 and table.frame["Note"][0] == "two\nlines"


def test_read_sample_cut_inside_a_quoted_cell_reads_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    note = "x" * 100 + "\n" + "y" * 100
    body = "".join(f'p{i}@acme.com,"{note}"\n' for i in range(20_000))
    path.write_text("Email,Note\n" + body, encoding="utf-8")
    table, complete = read_sample(path, rows=15_000)
    assert not complete and table.rows == 15_000 and table.frame["Note"][0] == note


def test_email_share_counts_cells_not_distinct_values() -> None:
    values: list[str | None] = ["info@acme.com"] * 8 + ["n/a", "unknown"]
    columns, frame = _frame({"Contact": values})
    assert propose(columns, frame).chosen_for("email") is not None  # 8 of 10 cells


def test_cells_a_mapping_reads_as_blank_do_not_count_against_a_column() -> None:
    # a HubSpot phone column with "n/a" in most rows is still the phone column: the mapping's
    # default null_values make those cells blank, so the proposal must not hold them against it
    frame = pl.DataFrame(
        {
            "Email": ["a@acme.com", "b@acme.com", "c@acme.com", "d@acme.com"],
            "Phone Number": ["n/a", "#N/A", "-", "+1 415 555 0100"],
        }
    )
    proposal = propose(list(frame.columns), frame)
    assert {c.field: c.column for c in proposal.chosen}["phone_number"] == "Phone Number"
