"""A realistic HubSpot export (companies, contacts, deals) and the truth a migration must reach.

``generate(folder, companies=500, contacts=2000, deals=800, seed=12)`` writes ``companies.csv``,
``contacts.csv`` and ``deals.csv`` into ``folder`` (the same files for the same arguments) and
returns an :class:`Export`: the rows and :class:`Truth`, what Reevo must hold once
``mappings/hubspot_migration.job.yaml`` imported them (one account per domain, each deal on its
account in its stage) and which rows fail with which code. Importable by the tests and by
``bench/bench_targets.py`` (load it by path: ``tests/data`` is not a package).

The headers are HubSpot's export labels (a property's label is its column header):

- companies: "Record ID", "Company name", "Company Domain Name", "Website URL", "Company owner",
  "Industry", "Phone Number", "City", "Country/Region", "LinkedIn Company Page", "Number of
  Employees", "Annual Revenue", "Lifecycle Stage", "Create Date": the company property labels
  listed in github.com/hairsolutionsco/automations_hub, hubspot/objects/companies/properties.md
  (a portal's property dump), and a script reading a real "hubspot-crm-exports-all-companies"
  file with "Record ID", "Company name", "Company Domain Name", "Country/Region" (found with the
  code search);
- contacts: as tests/data/exports/hubspot_contacts.csv (a real export's header), plus the
  "Company Name" and "Job Title" columns mappings/hubspot_contacts.yaml reads;
- deals: "Deal Name", "Deal Stage", "Deal owner", "Pipeline", "Close Date", "Create Date",
  "Amount" (hubspot/objects/deals/properties.md of the same repository), "Closed Lost Reason",
  "Closed Won Reason" (the closed_lost_reason / closed_won_reason properties), "Next step",
  "Associated Company" (the associated company's *name*: a deal export has no company domain).
  "Deal Stage" holds the default pipeline's internal stage ids (appointmentscheduled ...
  closedlost) and "Pipeline" its label, "Sales Pipeline".

Bad rows on purpose (each in :attr:`Truth`): companies without any domain (``missing_key``) and
one exported twice (``duplicate``); contacts with a broken e-mail or twice; deals on no company
or on one that is not in Reevo (``missing_account``), on the name two companies share
(``ambiguous_match``), closed without a reason (``missing_closed_reason``) and with an amount
that is not a number or reads two ways (``invalid_amount``). Domains include ones that contain
each other (acme.com, acme.com.au, notacme.com, data.io, bigdata.io).
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

__all__ = [
    "COMPANY_HEADER",
    "CONTACT_HEADER",
    "DEAL_HEADER",
    "LOST_REASONS",
    "STAGES",
    "WON_REASONS",
    "Deal",
    "Export",
    "Truth",
    "change_companies",
    "change_deals",
    "generate",
    "write_csv",
]

COMPANY_HEADER = [
    "Record ID", "Company name", "Company Domain Name", "Website URL", "Company owner",
    "Industry", "Phone Number", "City", "Country/Region", "LinkedIn Company Page",
    "Number of Employees", "Annual Revenue", "Lifecycle Stage", "Create Date",
]  # fmt: skip
CONTACT_HEADER = [
    "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Contact owner",
    "Company Name", "Job Title", "Lifecycle Stage", "Lead Status", "Original Source",
    "Create Date", "Associated Company",
]  # fmt: skip
DEAL_HEADER = [
    "Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Close Date", "Deal owner",
    "Deal Type", "Associated Company", "Closed Won Reason", "Closed Lost Reason", "Next step",
    "Create Date",
]  # fmt: skip

#: HubSpot's default pipeline stage ids -> the sandbox's stage (mappings/hubspot_deals.yaml)
STAGES = {
    "appointmentscheduled": "Prospecting",
    "qualifiedtobuy": "Qualified",
    "presentationscheduled": "Proposal",
    "decisionmakerboughtin": "Proposal",
    "contractsent": "Proposal",
    "closedwon": "Closed Won",
    "closedlost": "Closed Lost",
}
_STAGE_WEIGHTS = (15, 15, 12, 10, 10, 20, 18)
#: what sales reps type as a won / lost reason -> the sandbox stage's reason
WON_REASONS = {
    "Best price": "Price",
    "Product fit": "Product fit",
    "Existing relationship": "Relationship",
}
LOST_REASONS = {
    "Too expensive": "Price",
    "Went with a competitor": "Lost to competitor",
    "No budget": "No budget",
    "No decision": "No decision",
}
#: owners as HubSpot exports them (names); the first four are users of the sandbox's seed
OWNERS = ["Jane Smith", "John Doe", "Olivia Owner", "Sam Rep", "Former Employee"]
INDUSTRIES = [
    "Computer Software", "Information Technology and Services", "Financial Services",
    "Hospital & Health Care", "Retail", "Marketing and Advertising", "Logistics and Supply Chain",
]  # fmt: skip
PLACES = [
    ("Boston", "United States", ".com", "+1 617-555-01{:02d}"),
    ("New York", "United States", ".com", "+1 212-555-01{:02d}"),
    ("London", "United Kingdom", ".co.uk", "+44 20 7946 0{:03d}"),
    ("Sydney", "Australia", ".com.au", "+61 2 9374 4{:03d}"),
    ("Berlin", "Germany", ".de", "+49 30 9018{:02d}"),
    ("Austin", "United States", ".io", "+1 512-555-01{:02d}"),
]
_WORDS = [
    "Apex", "Blue", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris", "Juniper",
    "Kestrel", "Lumen", "Maple", "Nimbus", "Orbit", "Pioneer", "Quartz", "Raven", "Summit",
    "Tidal", "Umbra", "Vertex", "Willow", "Xenon", "Yonder", "Zephyr", "Atlas", "Beacon",
    "Cobalt", "Drift",
]  # fmt: skip
_TAILS = ["Labs", "Systems", "Analytics", "Logistics", "Health", "Works", "Partners", "Cloud"]
_FIRST = ["Maria", "Brian", "Aisha", "Chen", "Lukas", "Sofia", "Omar", "Emma", "Raj", "Noah"]
_LAST = ["Johnson", "Halligan", "Okafor", "Wang", "Becker", "Rossi", "Haddad", "Dubois", "Patel"]
_PRODUCTS = ["New business", "Renewal", "Expansion", "Pilot", "Enterprise plan", "Add-on seats"]
_FREE_MAIL = ["gmail.com", "yahoo.com", "outlook.com"]


@dataclass(frozen=True, slots=True)
class Deal:
    """One deal row and where it must end up (``code`` set: the row fails with that code)."""

    record_id: str
    row: int  # line number in deals.csv (the header is line 1)
    name: str
    company: str  # "Associated Company" as exported
    domain: str | None  # the account it must be on
    stage_id: str  # "Deal Stage" as exported
    stage: str  # the sandbox stage it must be in
    reasons: tuple[str, ...]  # the sandbox's closed reasons, in order
    amount: Decimal | None
    code: str | None = None  # the error code of a row that must fail
    status: str | None = None  # "invalid" (never sent) or "failed" (Reevo refused / not found)


@dataclass
class Truth:
    """What Reevo must hold after the job, and the rows that must not go through."""

    #: every account the companies step must leave, domain -> name (one per domain)
    accounts: dict[str, str] = field(default_factory=dict)
    #: company rows that do not go through: line -> (status, error code or "")
    company_rows: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: every contact e-mail the contacts step must leave (lowercased)
    contacts: set[str] = field(default_factory=set)
    #: contact rows that do not go through: line -> (status, error code or "")
    contact_rows: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: every deal by Record ID
    deals: dict[str, Deal] = field(default_factory=dict)

    @property
    def good_deals(self) -> dict[str, Deal]:
        """The deals that must exist in Reevo, by Record ID."""
        return {k: d for k, d in self.deals.items() if d.code is None}

    @property
    def bad_deals(self) -> dict[str, Deal]:
        """The deals that must fail, by Record ID."""
        return {k: d for k, d in self.deals.items() if d.code is not None}


@dataclass
class Export:
    """The written files, their rows (header first) and the truth."""

    folder: Path
    companies: list[list[str]]
    contacts: list[list[str]]
    deals: list[list[str]]
    truth: Truth

    @property
    def paths(self) -> dict[str, Path]:
        return {n: self.folder / f"{n}.csv" for n in ("companies", "contacts", "deals")}


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    """Write rows (header first) as HubSpot does: UTF-8, every field quoted, CRLF."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows(rows)
    return path


def _amount(rng: random.Random, value: Decimal) -> str:
    """``value`` as a HubSpot user typed it: US, EU, plain, always readable one way only."""
    style = rng.choices(("us", "eu", "plain"), (40, 30, 30))[0]
    if style == "plain":
        return f"{value:.0f}" if value == value.to_integral() else f"{value:.2f}"
    us = f"{value:,.2f}"
    if style == "us":
        return f"${us}"
    return us.replace(",", "_").replace(".", ",").replace("_", ".") + " €"


def _value(rng: random.Random) -> Decimal:
    cents = rng.choice(("00", "00", "50", "99"))
    return Decimal(f"{rng.randrange(5, 2500) * 50}.{cents}")


def _companies(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """``n`` (name, domain) pairs: unique names and domains but for the pairs on purpose."""
    fixed = [
        ("Acme", "acme.com"),
        ("Acme", "acme.com.au"),  # the same name: deals naming "Acme" are ambiguous
        ("NotAcme", "notacme.com"),
        ("Data", "data.io"),
        ("BigData", "bigdata.io"),
    ]
    out = list(fixed)
    names = {name.casefold() for name, _ in fixed}
    i = 0
    while len(out) < n:
        word = _WORDS[i % len(_WORDS)]
        tail = _TAILS[(i // len(_WORDS)) % len(_TAILS)]
        extra = i // (len(_WORDS) * len(_TAILS))
        name = f"{word} {tail}" + (f" {extra + 1}" if extra else "")
        i += 1
        if name.casefold() in names:
            continue
        names.add(name.casefold())
        tld = rng.choice(PLACES)[2]
        domain = name.lower().replace(" ", "") + tld
        out.append((name, domain))
    return out[:n]


def generate(
    folder: Path,
    companies: int = 500,
    contacts: int = 2000,
    deals: int = 800,
    seed: int = 12,
) -> Export:
    """Write the three files into ``folder``; the same arguments give the same files. As
    HubSpot does, a won deal's reasons are in "Closed Won Reason", a lost one's in "Closed Lost
    Reason" (mappings/hubspot_deals.yaml reads the first of the two that is not blank)."""
    if companies < 12 or deals < 40 or contacts < 10:
        raise ValueError("at least 12 companies, 10 contacts and 40 deals (the bad rows need them)")
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    truth = Truth()

    # -- companies: two have no domain at all, one is exported twice (the last row wins)
    pairs = _companies(rng, companies - 3)
    company_rows: list[list[str]] = [COMPANY_HEADER]
    record = 5_823_049_000
    websites: dict[str, str] = {}
    for i, (name, domain) in enumerate(pairs):
        record += rng.randrange(1, 90)
        city, country, _, phone = rng.choice(PLACES)
        style = rng.random()
        website = f"https://www.{domain}" if style < 0.7 else f"http://{domain}/"
        websites[domain] = website
        # a few rows give the domain only through the website (HubSpot leaves the domain blank
        # when a company was created by hand without one)
        domain_cell = "" if style > 0.95 and "acme" not in domain else domain
        company_rows.append([
            str(record), name, domain_cell, website, rng.choice(OWNERS), rng.choice(INDUSTRIES),
            phone.format(rng.randrange(100)), city, country,
            f"https://www.linkedin.com/company/{name.lower().replace(' ', '-')}",
            str(rng.choice((12, 48, 150, 900, 4200))), str(rng.randrange(1, 900) * 100_000),
            rng.choice(("Customer", "Lead", "Opportunity")),
            f"2023-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} 09:{i % 60:02d}",
        ])  # fmt: skip
        truth.accounts[domain] = name
    for name in ("Nameless Holdings", "Garage Startup"):  # no domain, no website: no key
        record += 7
        company_rows.append([str(record), name, "", "", rng.choice(OWNERS), "Retail", "", "",
                             "", "", "", "", "Lead", "2024-02-01 10:00"])  # fmt: skip
        truth.company_rows[len(company_rows)] = ("invalid", "missing_key")
    # exported twice (a HubSpot duplicate record): the earlier row is the duplicate
    twice = rng.randrange(5, len(pairs))
    first_row = twice + 1  # its index in company_rows (the header is index 0)
    again = list(company_rows[first_row])
    again[0] = str(record + 11)
    company_rows.append(again)
    truth.company_rows[first_row + 1] = ("duplicate", "")

    # -- contacts: at a company's domain, or free mail with the company's name
    unique = [(n, d) for n, d in pairs if n != "Acme"]
    contact_rows: list[list[str]] = [CONTACT_HEADER]
    for i in range(contacts - 4):
        name, domain = unique[i % len(unique)] if i < len(unique) else rng.choice(unique)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        at = domain if rng.random() < 0.85 else rng.choice(_FREE_MAIL)
        email = f"{first}.{last}{i}@{at}".lower()
        contact_rows.append([
            str(9_100_000 + i), first, last, email, f"+1 617-555-01{i % 100:02d}",
            rng.choice(OWNERS), name, rng.choice(("CEO", "VP Sales", "Engineer", "Buyer")),
            rng.choice(("Lead", "Customer", "Opportunity")), rng.choice(("New", "Open", "")),
            rng.choice(("Organic Search", "Direct Traffic", "Offline Sources")),
            "2024-01-06 11:20", name,
        ])  # fmt: skip
        truth.contacts.add(email)
    for email in ("jane.doe(at)acme.com", "maria@"):  # broken e-mails
        contact_rows.append([str(9_200_000 + len(contact_rows)), "Bad", "Email", email, "", "",
                             "", "", "Lead", "", "", "2024-01-06 11:20", ""])  # fmt: skip
        truth.contact_rows[len(contact_rows)] = ("invalid", "invalid_email")
    for k in (3, 5):  # the same person twice: the later row wins
        again = list(contact_rows[k])
        again[0] = str(9_300_000 + k)
        contact_rows.append(again)
        truth.contact_rows[k + 1] = ("duplicate", "")

    # -- deals
    deal_rows: list[list[str]] = [DEAL_HEADER]
    missing_key_names = ["Nameless Holdings", "Garage Startup"]
    bad_plan = (
        ["blank_company"] * 2
        + ["unknown_company"] * 2
        + ["invalid_company"]
        + ["ambiguous"] * 4
        + ["won_no_reason"] * 2
        + ["lost_no_reason"] * 2
        + ["amount_text", "amount_unclear", "amount_unclear2"]
    )
    plan = ["good"] * (deals - len(bad_plan)) + bad_plan
    rng.shuffle(plan)
    names_on: dict[str, int] = {}
    for i, kind in enumerate(plan):
        rid = str(14_000_000_000 + i * 13)
        row = len(deal_rows) + 1
        company, picked_domain = rng.choice(unique)
        on: str | None = picked_domain  # the domain of the account the deal must be on
        stage_id = rng.choices(list(STAGES), _STAGE_WEIGHTS)[0]
        code: str | None = None
        status: str | None = None
        if kind == "blank_company":
            company, on, code, status = "", None, "missing_account", "invalid"
        elif kind == "unknown_company":
            company, on, code, status = "Globex Holdings", None, "missing_account", "failed"
        elif kind == "invalid_company":
            company, on = rng.choice(missing_key_names), None
            code, status = "missing_account", "failed"
        elif kind == "ambiguous":
            company, on, code, status = "Acme", None, "ambiguous_match", "failed"
        elif kind in ("won_no_reason", "lost_no_reason"):
            stage_id = "closedwon" if kind == "won_no_reason" else "closedlost"
            code, status = "missing_closed_reason", "invalid"
        if kind in ("blank_company", "unknown_company", "invalid_company", "ambiguous"):
            stage_id = rng.choice(("appointmentscheduled", "qualifiedtobuy"))
        won = lost = ""
        reasons: tuple[str, ...] = ()
        if stage_id in ("closedwon", "closedlost") and code is None:
            table = WON_REASONS if stage_id == "closedwon" else LOST_REASONS
            picked = rng.sample(list(table), rng.choice((1, 1, 1, 2)))
            reasons = tuple(table[p] for p in picked)
            if stage_id == "closedwon":
                won = ";".join(picked)
            else:
                lost = ";".join(picked)
        value: Decimal | None = _value(rng) if rng.random() < 0.88 else None
        amount = _amount(rng, value) if value is not None else ""
        if kind == "amount_text":
            amount, value, code, status = "TBD", None, "invalid_amount", "invalid"
        elif kind == "amount_unclear":  # 1,250 or 1.25?
            amount, value, code, status = "1,250", None, "invalid_amount", "invalid"
        elif kind == "amount_unclear2":  # 12.500 or 12.5?
            amount, value, code, status = "12.500", None, "invalid_amount", "invalid"
        label = company or "Unknown"
        base = f"{label} - {rng.choice(_PRODUCTS)}"
        names_on[base] = names_on.get(base, 0) + 1
        name = base if names_on[base] == 1 else f"{base} {names_on[base]}"
        year = rng.choice((2024, 2025))
        deal_rows.append([
            rid, name, stage_id, "Sales Pipeline", amount,
            f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} 17:00",
            rng.choice(OWNERS), rng.choice(("newbusiness", "existingbusiness", "")), company,
            won, lost, rng.choice(("", "", "Send the proposal", "Call the CFO")),
            f"{year - 1}-11-{rng.randrange(1, 29):02d} 08:30",
        ])  # fmt: skip
        truth.deals[rid] = Deal(
            rid, row, name, company, on, stage_id, STAGES[stage_id], reasons, value,
            code, status,
        )  # fmt: skip

    export = Export(folder, company_rows, contact_rows, deal_rows, truth)
    for kind, path in export.paths.items():
        write_csv(path, getattr(export, kind))
    return export


def change_deals(
    export: Export, amounts: int = 10, stages: int = 3, seed: int = 5
) -> tuple[list[str], list[str]]:
    """Change ``amounts`` deals' amounts and move ``stages`` other deals to another open stage
    (a different sandbox stage), rewrite deals.csv and the truth; returns the two lists of
    Record IDs. Only deals that went through are changed."""
    rng = random.Random(seed)
    good = [d for d in export.truth.good_deals.values() if d.amount is not None]
    picked = rng.sample(good, amounts)
    open_ = [
        d for d in export.truth.good_deals.values()
        if d.stage in ("Prospecting", "Qualified") and d not in picked
    ]  # fmt: skip
    moved = rng.sample(open_, stages)
    for d in picked:
        assert d.amount is not None
        new = d.amount + 1000
        row = export.deals[d.row - 1]
        row[4] = _amount(rng, new)
        export.truth.deals[d.record_id] = _replace(d, amount=new)
    for d in moved:
        stage_id = "presentationscheduled"  # Proposal, from Prospecting or Qualified
        export.deals[d.row - 1][2] = stage_id
        export.truth.deals[d.record_id] = _replace(d, stage_id=stage_id, stage=STAGES[stage_id])
    write_csv(export.paths["deals"], export.deals)
    return [d.record_id for d in picked], [d.record_id for d in moved]


def change_companies(export: Export, n: int, seed: int = 6) -> list[str]:
    """Change the LinkedIn page of ``n`` companies that went through (a row exported once),
    rewrite companies.csv; returns their domains."""
    rng = random.Random(seed)
    rows = export.companies
    seen = Counter(r[2] or r[3] for r in rows[1:])
    lines = [
        i
        for i, r in enumerate(rows[1:], start=1)
        if i + 1 not in export.truth.company_rows and seen[r[2] or r[3]] == 1
    ]
    picked = rng.sample(lines, n)
    for i in picked:
        rows[i][9] += "-inc"
    write_csv(export.paths["companies"], rows)
    return sorted({_domain_of(rows[i]) for i in picked})


def _domain_of(row: list[str]) -> str:
    """The normalised domain of a company row (its domain, else its website's)."""
    text = (row[2] or row[3]).lower().split("://")[-1].removeprefix("www.")
    return text.split("/")[0]


def _replace(deal: Deal, **changes: object) -> Deal:
    from dataclasses import replace

    return replace(deal, **changes)  # type: ignore[arg-type]
