"""Pipeline benchmark: 1M-row, 12-column lead CSV -> read + normalise (email, phone) + validate
+ dedupe, through syncer's real pipeline (runner.prepare) and through pandas doing the same work.

Each contender runs in a fresh subprocess so its peak RSS is its own. Usage:

    .venv/bin/python bench/bench_pipeline.py [--rows 1000000] [--repeat 3]

The generated CSV is cached under bench/out/ (gitignored).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
MAPPING = """\
target: account_contact
columns:
  email: Email
  first_name: First Name
  last_name: Last Name
  phone_number: {column: Phone, format: e164, default_region: US}
  company: Company
  title: Job Title
  department: Department
  account_website: Website
  contact_linkedin_url: LinkedIn URL
contact_custom_fields:
  cus_field__Lead_Source: Lead Source
  cus_field__Tags: {column: Tags, split: ";"}
account_custom_fields:
  cus_field__Industry: Industry
dedupe: {keep: last}
"""
# the same fast e-mail shape syncer checks before falling back to email-validator
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
FAST_EMAIL = rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}$"


def generate(rows: int, path: Path) -> None:
    """A seeded lead list: ~0.6% duplicate emails (case/space variants), ~1% bad emails,
    phones in assorted US formats plus 2% UK numbers."""
    import polars as pl

    i = pl.int_range(0, rows, eager=True)
    first = ["Ana", "Ben", "Chloé", "Dmitri", "Emma", "José", "Łukasz", "Zoë", "Priya", "Omar"]
    last = ["Álvarez", "Brown", "Chen", "Dubois", "Müller", "O'Brien", "Patel", "Wójcik"]
    domains = ["acme.com", "globex.io", "initech.com", "hooli.xyz", "example.org"]
    base = pl.DataFrame({"i": i}).with_columns(
        fi=(pl.col("i") * 7919 % len(first)),
        li=(pl.col("i") * 104729 % len(last)),
        di=(pl.col("i") % len(domains)),
        dup=(pl.col("i") % 33 == 0) & (pl.col("i") > 0),
        bad=(pl.col("i") % 97 == 0),
        p=(pl.col("i") * 2654435761 % 8_000_000 + 2_000_000),
    )
    f = pl.Series(first)
    la = pl.Series(last)
    d = pl.Series(domains)
    user = pl.format("user{}", pl.when(pl.col("dup")).then(pl.col("i") - 1).otherwise(pl.col("i")))
    email = (
        pl.when(pl.col("bad"))
        .then(pl.format("broken{}@@nowhere", pl.col("i")))
        .when(pl.col("dup"))
        .then(pl.format("  {}@{} ", user.str.to_uppercase(), pl.lit(d).gather(pl.col("di"))))
        .otherwise(pl.format("{}@{}", user, pl.lit("acme.com")))
    )
    p = pl.col("p").cast(pl.String).str.zfill(7)
    phone = (
        pl.when(pl.col("i") % 5 == 0)
        .then(pl.format("(415) {}-{}", p.str.slice(0, 3), p.str.slice(3, 4)))
        .when(pl.col("i") % 5 == 1)
        .then(pl.format("415-{}-{}", p.str.slice(0, 3), p.str.slice(3, 4)))
        .when(pl.col("i") % 5 == 2)
        .then(pl.format("+1 650 {} {}", p.str.slice(0, 3), p.str.slice(3, 4)))
        .when(pl.col("i") % 50 == 4)  # 2% international: phonenumbers decides those in Python
        .then(pl.format("+44 20 7{} {}", p.str.slice(0, 3), p.str.slice(3, 4)))
        .otherwise(pl.format("212.{}.{}", p.str.slice(0, 3), p.str.slice(3, 4)))
    )
    frame = base.select(
        pl.lit(f).gather(pl.col("fi")).alias("First Name"),
        pl.lit(la).gather(pl.col("li")).alias("Last Name"),
        email.alias("Email"),
        phone.alias("Phone"),
        pl.format("Company {}", pl.col("i") % 5000).alias("Company"),
        pl.lit("Account Executive").alias("Job Title"),
        pl.lit("Sales").alias("Department"),
        pl.format("www.company{}.com", pl.col("i") % 5000).alias("Website"),
        pl.format("https://www.linkedin.com/in/user-{}", pl.col("i")).alias("LinkedIn URL"),
        pl.lit("Webinar").alias("Lead Source"),
        pl.lit("hot;enterprise").alias("Tags"),
        pl.lit("Software").alias("Industry"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)


def run_syncer(csv_path: Path, mapping: Path) -> dict[str, object]:
    from syncer.runner import prepare

    prepared = prepare(csv_path, mapping)
    return {"rows": prepared.frame.height, "counts": prepared.counts()}


def run_pandas(csv_path: Path) -> dict[str, object]:
    import pandas as pd
    import phonenumbers
    from email_validator import EmailNotValidError, validate_email

    df = pd.read_csv(csv_path, dtype=str, keep_default_na=False, na_values=[""])
    df = df.dropna(how="all")
    email = df["Email"].str.strip().str.normalize("NFC")
    uniq = pd.Series(email.dropna().unique())
    ok = uniq.str.match(FAST_EMAIL)
    norm = dict(zip(uniq[ok], uniq[ok].str.lower(), strict=True))
    for v in uniq[~ok]:
        try:
            norm[v] = validate_email(v, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            norm[v] = None
    key = email.map(norm)
    digits = df["Phone"].str.replace(r"[\s().\-]", "", regex=True)
    us = digits.str.fullmatch(r"(?:\+?1)?[2-9]\d{2}[2-9]\d{6}")
    e164 = ("+1" + digits.str[-10:]).where(us)
    rest = pd.Series(df["Phone"][~us.fillna(False)].dropna().unique())
    parsed: dict[str, str | None] = {}
    for v in rest:
        try:
            n = phonenumbers.parse(v, "US")
            parsed[v] = (
                phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)
                if phonenumbers.is_valid_number(n)
                else None
            )
        except phonenumbers.NumberParseException:
            parsed[v] = None
    e164 = e164.fillna(df["Phone"].map(parsed))
    df = df.assign(key=key, phone_e164=e164)
    df["status"] = "ready"
    df.loc[df["key"].isna() | (df["Phone"].notna() & df["phone_e164"].isna()), "status"] = "invalid"
    valid = df["status"] == "ready"
    dup = valid & df["key"].duplicated(keep="last")
    df.loc[dup, "status"] = "duplicate"
    return {"rows": len(df), "counts": df["status"].value_counts().to_dict()}


def child(which: str, csv_path: Path, mapping: Path) -> None:
    t0 = time.perf_counter()
    result = run_syncer(csv_path, mapping) if which == "syncer" else run_pandas(csv_path)
    wall = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"which": which, "wall_s": round(wall, 3), "peak_rss_mb": round(rss_mb), **result}
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs per contender; best wall time wins")
    ap.add_argument("--only", choices=["syncer", "pandas"])
    ap.add_argument("--child", choices=["syncer", "pandas"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    csv_path = OUT / f"leads_{args.rows}.csv"
    mapping = OUT / "bench_mapping.yaml"
    if args.child:
        child(args.child, csv_path, mapping)
        return
    if not csv_path.exists():
        t = time.perf_counter()
        generate(args.rows, csv_path)
        print(f"generated {csv_path} in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    mapping.write_text(MAPPING, encoding="utf-8")
    size_mb = csv_path.stat().st_size / 1e6
    print(f"input: {csv_path.name}, {args.rows:,} rows x 12 columns, {size_mb:.0f} MB")
    for which in [args.only] if args.only else ["syncer", "pandas"]:
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, __file__, "--rows", str(args.rows), "--child", which],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
        best = min(runs, key=lambda r: float(r["wall_s"]))  # type: ignore[arg-type]
        walls = ", ".join(f"{r['wall_s']:.2f}" for r in runs)
        print(
            f"{which:7s} best {best['wall_s']:.2f} s (runs: {walls}), "
            f"peak RSS {best['peak_rss_mb']} MB, counts {best['counts']}"
        )


if __name__ == "__main__":
    main()
