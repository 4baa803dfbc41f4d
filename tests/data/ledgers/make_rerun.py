"""Write the ``rerun/`` fixture with the syncer found first on sys.path (see README.md).

    git worktree add /tmp/old COMMIT
    PYTHONPATH=/tmp/old .venv/bin/python tests/data/ledgers/make_rerun.py tests/data/ledgers/rerun

Into OUT: ``leads.csv`` and ``leads-changed.csv`` (5 titles changed, a value blanked, 2 new
rows), ``leads.yaml``; ``rerun.db``, the ledger after a first run of ``leads.csv`` (org
``rerun-fixture``); the results files that syncer wrote: ``first.results.csv`` (that first
run), ``same.results.csv`` (``leads.csv`` again on that ledger: every row unchanged) and
``changed.results.csv`` (``leads-changed.csv`` on a copy of the first run's ledger).
"""

from __future__ import annotations

import csv
import shutil
import sys
import tempfile
from pathlib import Path

import syncer
from syncer.runner import Settings, sync
from syncer.sandbox import SandboxSettings, serve_in_thread

ORG = "rerun-fixture"
KEY = "rerun-fixture-key"
MAPPING = """\
target: account_contact
columns:
  email: Email
  first_name: First Name
  last_name: Last Name
  company: Company
  title: Job Title
  phone_number: {column: Phone, format: e164, default_region: US}
  contact_linkedin_url: {column: LinkedIn, on_invalid: drop}
contact_custom_fields:
  cus_field__Notes: Notes
  cus_field__Tags: {column: Tags, split: ";"}
account_custom_fields:
  cus_field__Industry: Industry
dedupe: {keep: last}
on_empty: clear
"""
HEADER = ["Email", "First Name", "Last Name", "Company", "Job Title", "Phone", "LinkedIn"]
HEADER += ["Notes", "Tags", "Industry"]
#: text that JSON must escape, or must not: quotes, backslashes, control characters, U+2028,
#: non-ASCII in NFC and NFD, astral characters, the DEL character
NASTY = [
    'O"Brien',
    "back\\slash",
    "tab\there",
    "line\nbreak",
    "cr\rhere",
    "sep\u2028para\u2029",
    "emoji \U0001f600 ok",
    "Zoë",
    "Zoe\u0308",
    "del\x7fchar",
    "bell\x07 and \x1f unit",
    "</script>&<'>",
    "日本語テキスト",
    "",
]


def row(i: int, version: int = 0) -> list[str]:
    """Row ``i``; ``version`` > 0 changes its title."""
    nasty = NASTY[i % len(NASTY)]
    email = f"lead{i:03d}@example{i % 7}.com"
    if i % 23 == 5:
        email = f"broken{i}@@nowhere"  # invalid
    if i % 31 == 30:
        email = f"LEAD{i - 1:03d}@EXAMPLE{(i - 1) % 7}.COM "  # a duplicate of the row before
    title = f"Title {i % 5}" + (f" v{version}" if version else "")
    linkedin = f"https://www.linkedin.com/in/lead-{i}" if i % 9 else "not a url"
    return [
        email,
        f"First{i} {nasty}",
        nasty if i % 4 else "",
        f"Company {i % 6}",
        title,
        f"(415) 555-{i:04d}" if i % 3 else "",
        linkedin,
        nasty,
        ";".join(NASTY[(i + k) % len(NASTY)] for k in range(i % 3)),
        "" if i % 5 == 0 else f"Industry {nasty}",
    ]


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def leads(changed: bool) -> list[list[str]]:
    rows = [row(i, 1 if changed and i in (3, 10, 17, 40, 66) else 0) for i in range(80)]
    if changed:
        rows[12][3] = ""  # a value blanked: sent as "" (on_empty: clear)
        rows += [row(80), row(81)]
    return rows


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    src = write(out / "leads.csv", leads(False))
    changed = write(out / "leads-changed.csv", leads(True))
    mapping = out / "leads.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    print(f"syncer from {Path(syncer.__file__).parent}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        settings = SandboxSettings(port=0, api_key=KEY, random_seed=7, example_data=False)
        with serve_in_thread(settings) as sb:

            def run(source: Path, ledger: Path, results: Path) -> None:
                summary = sync(
                    source,
                    mapping,
                    Settings(
                        base_url=sb.base_url,
                        api_key=KEY,
                        ledger=ledger,
                        org=ORG,
                        results=results,
                    ),
                )
                print(source.name, summary.counts, summary.requests, file=sys.stderr)

            run(src, work / "ledger.db", out / "first.results.csv")
            with __import__("sqlite3").connect(work / "ledger.db") as db:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            shutil.copy(work / "ledger.db", out / "rerun.db")
            shutil.copy(out / "rerun.db", work / "same.db")
            run(src, work / "same.db", out / "same.results.csv")
            shutil.copy(out / "rerun.db", work / "changed.db")
            run(changed, work / "changed.db", out / "changed.results.csv")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
