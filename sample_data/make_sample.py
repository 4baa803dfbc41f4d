"""Write sample_data/leads.csv (~200 leads, some dirty) and sample_data/leads.xlsx (sheet "Leads").

Deterministic (fixed seed): run ``python sample_data/make_sample.py`` to regenerate.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import unicodedata
from pathlib import Path

import openpyxl

HERE = Path(__file__).parent
HEADER = [
    "First Name", "Last Name", "Email", "Phone", "Company", "Job Title", "Department",
    "Website", "LinkedIn URL", "Lead Source", "Tags", "Industry", "Owner Email",
]  # fmt: skip
FIRST = [
    "Ana", "Ben", "Chloé", "Dmitri", "Emma", "Farah", "George", "Hana", "Ivan", "Jade", "Kofi",
    "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Victor",
    "Wen", "Yusuf", "Zoë", "José", "Łukasz", "Søren", "Ngozi", "Aiko",
]  # fmt: skip
LAST = [
    "Álvarez", "Brown", "Chen", "Dubois", "Evans", "Fischer", "García", "Hughes", "Ivanova",
    "Jensen", "Kowalski", "López", "Müller", "Nakamura", "O'Brien", "Patel", "Quintero",
    "Rossi", "Schmidt", "Tanaka", "Ueda", "Varga", "Wójcik", "Yilmaz", "Zimmermann",
]  # fmt: skip
COMPANIES = [
    ("Acme Corp", "acme.com", "Manufacturing"),
    ("Globex", "globex.io", "Energy"),
    ("Initech", "initech.com", "Software"),
    ("Umbrella Health", "umbrella-health.org", "Healthcare"),
    ("Stark Industries", "starkindustries.com", "Aerospace"),
    ("Wayne Enterprises", "wayne.co", "Finance"),
    ("Hooli", "hooli.xyz", "Software"),
    ("Pied Piper", "piedpiper.com", "Software"),
    ("Soylent", "soylent.food", "Food & Beverage"),
    ("Vandelay Industries", "vandelay.net", "Logistics"),
    ("Müller & Söhne GmbH", "mueller-soehne.de", "Manufacturing"),
    ("Café Olé, S.A.", "cafeole.es", "Retail"),
]
TITLES = [
    ("VP of Sales", "Sales"), ("Account Executive", "Sales"), ("CTO", "Engineering"),
    ("Software Engineer", "Engineering"), ("Head of Marketing", "Marketing"),
    ("Marketing Manager", "Marketing"), ("CFO", "Finance"), ("Controller", "Finance"),
    ("Operations Lead", "Operations"), ("Customer Success Manager", "Customer Success"),
]  # fmt: skip
SOURCES = ["Webinar", "Trade Show", "Referral", "Website", "Cold Outreach", "Partner"]
TAGS = ["hot", "enterprise", "smb", "renewal", "newsletter", "trial", "vip"]
OWNERS = [
    "john.doe@acme.com", "owner@acme.com", "new.owner@acme.com", "jane.smith@acme.com",
    "sales.rep@acme.com",
]  # fmt: skip
PHONE_FORMATS = [
    "(415) 555-{a:04d}", "415-555-{a:04d}", "415.555.{a:04d}", "+1 415 555 {a:04d}",
    "1-415-555-{a:04d}", "4155550{b:03d}", "+44 20 7946 0{b:03d}", "+49 30 901820{c:02d}",
    "+33 1 42 68 53 {c:02d}",
]  # fmt: skip


def _slug(s: str) -> str:
    decomposed = unicodedata.normalize("NFKD", s.lower().replace("ł", "l").replace("ø", "o"))
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum())


def make_rows(n: int = 200, seed: int = 20240301) -> list[list[str]]:
    """Clean rows plus a fixed set of dirty ones, in a reproducible order."""
    rnd = random.Random(seed)
    rows: list[list[str]] = []
    for i in range(n):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        company, domain, industry = rnd.choice(COMPANIES)
        title, dept = rnd.choice(TITLES)
        phone = rnd.choice(PHONE_FORMATS).format(a=1000 + i, b=i % 1000, c=i % 100)
        website = rnd.choice(
            [f"https://www.{domain}", f"www.{domain}", domain, f"http://{domain}/"]
        )
        linkedin = rnd.choice(["", f"https://www.linkedin.com/in/{_slug(first)}-{_slug(last)}-{i}"])
        tags = ";".join(rnd.sample(TAGS, rnd.randint(0, 3)))
        email = f"{_slug(first)}.{_slug(last)}{i}@{domain}"
        rows.append([
            first, last, email, phone, company, title, dept, website, linkedin,
            rnd.choice(SOURCES), tags, industry, rnd.choice(OWNERS),
        ])  # fmt: skip
    # dirty rows, at fixed places so tests can point at them
    rows[5][2] = "not-an-email"
    rows[12][2] = "jane@@example.com"
    rows[19][2] = ""  # missing email
    rows[27][2] = "  " + rows[3][2].upper() + " "  # duplicate of row 3 in another case/spaces
    rows[33][2] = rows[8][2].title()  # duplicate differing in case
    rows[41][3] = "555-CALL-NOW"  # not a phone number
    rows[47][3] = "12"  # too short
    rows[52][0], rows[52][1] = "José", "Álvarez"
    rows[53][0], rows[53][1] = "Zoë", "Ng"
    rows[54][0], rows[54][1] = "Łukasz", "Wójcik"
    rows[60][4] = "Smith, Jones & Partners"  # quoted comma
    rows[61][5] = "Director,\nStrategic Partnerships"  # quoted newline
    rows[66][7] = "acme dot com"  # not a URL
    rows[70][10] = " hot ; ; vip "  # blanks in a multi-value field
    rows[75][12] = "sales.rep at acme.com"  # owner e-mail that is not an e-mail
    rows[88][0] = '"Danny" Ocean'  # quotes inside a cell
    rows[99] = ["" for _ in HEADER]  # a blank row
    return rows


def write_csv(rows: list[list[str]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(rows)


def write_xlsx(rows: list[list[str]], path: Path) -> None:
    """Same kind of data with typed cells: numeric phones, dates, leading-zero ids as text."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append([*HEADER, "Customer Id", "Signup Date", "Last Contacted"])
    start = dt.date(2024, 1, 15)
    for i, row in enumerate(rows[:60]):
        if not any(row):
            ws.append([])
            continue
        digits = "".join(ch for ch in row[3] if ch.isdigit())
        phone: int | str = int(digits) if row[3].startswith(("(415)", "415")) else row[3]
        cells: list[object] = list(row)
        cells[3] = phone
        cells += [
            f"{i + 1:06d}",
            start + dt.timedelta(days=i * 3),
            dt.datetime(2024, 3, 1, 9, 30) + dt.timedelta(hours=i * 7),
        ]
        ws.append(cells)
    wb.save(path)


def main() -> None:
    rows = make_rows()
    write_csv(rows, HERE / "leads.csv")
    write_xlsx(rows, HERE / "leads.xlsx")


if __name__ == "__main__":
    main()
