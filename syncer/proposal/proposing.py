"""Propose a mapping for a file: known export layouts first, then header names (six languages,
typos forgiven), then what the values look like. Every accepted line has a confidence and a
reason; every other column becomes a commented-out line.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from syncer.errors import SourceError
from syncer.proposal.headers import LANGUAGES, match_header, normalize
from syncer.proposal.layouts import Layout, detect, header_key
from syncer.proposal.model import Choice, KeyLine, Line, Proposal, listed_columns
from syncer.proposal.relations import (
    best_country,
    field_kinds,
    finish,
    header_fields,
    other_target,
)
from syncer.proposal.values import Profile, list_share, phone_region, profile
from syncer.sources import SourceTable, read_source
from syncer.targets import TARGETS, FieldKind, Target

__all__ = [
    "SAMPLE_ROWS",
    "Choice",
    "KeyLine",
    "Line",
    "Proposal",
    "custom_name",
    "propose",
    "read_sample",
    "require_email",
]

#: rows `syncer init` reads from the top of a file (and validates the mapping on)
SAMPLE_ROWS = 5000
#: a text file up to this size is read whole even for a sample (the reader's first chunk)
_HEAD_BYTES = 1 << 20
#: rows of the sample whose values are profiled
PROFILE_ROWS = 2000
#: the least share of e-mail addresses among a column's non-blank values for it to be `email`
EMAIL_SHARE = 0.8
#: a proposal below this confidence is listed under "check by hand"
CHECK_BELOW = 0.85
_STAGES = ("layout", "header", "values")
_LANG_REGION = {"de": "DE", "fr": "FR", "es": "ES", "pt": "BR", "nl": "NL"}
_ACCOUNT_WORDS = {
    "company", "account", "organization", "organisation", "industry", "employees", "revenue",
    "funding", "firma", "unternehmen", "entreprise", "societe", "empresa", "bedrijf",
    "organisatie", "branche", "sector", "ticker", "sic", "naics", "technologies",
}  # fmt: skip


@dataclass
class _Cand:
    choice: Choice
    rank: int  # stage: 0 layout, 1 header, 2 values
    fit: float  # share of values that fit the field's kind
    filled: float


def read_sample(path: Path, rows: int = SAMPLE_ROWS) -> tuple[SourceTable, bool]:
    """The file's first ``rows`` data rows (not the whole file: fast on a million rows), and
    whether they are all of it. Raises SourceError when the file cannot be read."""
    table = read_source(path, head_rows=rows + 1)
    if table.rows <= rows and table.format == "csv" and Path(path).stat().st_size > _HEAD_BYTES:
        table = read_source(path)  # fewer records than lines (quoted line breaks): read it all
    if table.rows <= rows:
        return table, True
    return dataclasses.replace(table, frame=table.frame.head(rows)), False


def custom_name(header: str) -> str:
    """A custom field API name for ``header``: ``Lead Source`` -> ``cus_field__Lead_Source``."""
    text = header.replace("ß", "ss").replace("Æ", "AE").replace("æ", "ae").replace("Ø", "O")
    folded = unicodedata.normalize("NFKD", text.replace("ø", "o"))
    ascii_text = folded.encode("ascii", "ignore").decode()
    word = re.sub(r"[^0-9A-Za-z]+", "_", ascii_text).strip("_")
    return f"cus_field__{word or 'column'}"


def _pct(share: float) -> str:
    return f"{round(share * 100)} %"


_EMAIL_KINDS = (
    FieldKind.EMAIL,
    FieldKind.OWNER_EMAIL,
    FieldKind.CONTACT_EMAIL,
    FieldKind.CONTACT_EMAILS,
)
#: kinds whose column must hold e-mails, else the line is left commented out with the reason
_PEOPLE_KINDS = (FieldKind.OWNER_EMAIL, FieldKind.CONTACT_EMAIL, FieldKind.CONTACT_EMAILS)


def _fit(kind: FieldKind, p: Profile) -> float:
    if kind in _EMAIL_KINDS:
        return p.share("email")
    if kind is FieldKind.PHONE:
        return p.share("phone", "digits")
    if kind is FieldKind.URL:
        return p.share("url", "domain", "linkedin_person", "linkedin_company")
    if kind is FieldKind.DOMAIN:
        return p.share("url", "domain")
    if kind is FieldKind.DECIMAL:
        return p.share("money", "decimal", "number", "digits")
    if kind is FieldKind.DATETIME:
        return p.share("date")
    return 1.0 - p.share("email", "url", "linkedin_person", "linkedin_company")


#: what the values of a kind are, for "only 12 % of its values are ..."
_WHAT = {
    FieldKind.PHONE: "phone numbers",
    FieldKind.URL: "web addresses",
    FieldKind.DOMAIN: "web addresses or domains",
    FieldKind.DECIMAL: "amounts",
    FieldKind.DATETIME: "dates",
}


def _refusal(name: str, kind: FieldKind, p: Profile) -> str | None:
    """Why a column's values cannot feed field ``name`` (None: they can)."""
    if p.empty:
        return "no value in the sampled rows" if kind is FieldKind.EMAIL else None
    fit = _fit(kind, p)
    if kind is FieldKind.EMAIL and fit < EMAIL_SHARE:
        return f"only {_pct(fit)} of its values are e-mail addresses"
    what = _WHAT.get(kind)
    if what is not None and fit < 0.5:
        return f"only {_pct(fit)} of its values are {what}"
    if kind in (FieldKind.TEXT, FieldKind.TEXT_LIST) and fit < 0.5:
        return "its values are e-mails or web addresses"
    return None


def _by_values(p: Profile, kinds: dict[str, FieldKind]) -> tuple[str, float, str] | None:
    """(field, confidence, reason) a column's values alone point to."""
    if p.empty:
        return None
    rules = (
        ("email", p.share("email"), "e-mails", 0.9),
        ("contact_linkedin_url", p.share("linkedin_person"), "LinkedIn profile URLs", 0.9),
        ("account_linkedin_url", p.share("linkedin_company"), "LinkedIn company URLs", 0.9),
        ("phone_number", p.share("phone"), "phone numbers", 0.85),
        ("account_website", p.share("url", "domain"), "web addresses or domains", 0.6),
        ("linkedin_url", p.share("linkedin_company"), "LinkedIn company URLs", 0.9),
        ("domain_name", p.share("domain"), "domains", 0.6),
        ("official_website", p.share("url", "domain"), "web addresses", 0.6),
        ("account.domain", p.share("url", "domain"), "web addresses or domains", 0.6),
        ("amount", p.share("money"), "amounts (currency signs, thousands separators)", 0.8),
    )
    for name, share, what, weight in rules:
        if name in kinds and share >= EMAIL_SHARE:
            return name, weight * share, f"{_pct(share)} of values are {what}"
    return None


def _candidates(
    columns: list[str],
    profiles: dict[str, Profile],
    kinds: dict[str, FieldKind],
    layout: Layout | None,
    fields: tuple[str, ...],
) -> tuple[list[_Cand], dict[str, str]]:
    """Every acceptable (field, column) candidate, and why columns that looked like the e-mail
    were refused. Columns the layout knows are not guessed at by header or values; a header
    that names no field (``_ignore``: "State" is not "Stage") is not taken by a typo."""
    cands: list[_Cand] = []
    refused_email: dict[str, str] = {}
    by_key: dict[str, str] = {}
    for col in columns:
        by_key.setdefault(header_key(col), col)
    claimed = {c for c in columns if layout and header_key(c) in layout.headers()}

    def add(
        name: str, col: str, rank: int, confidence: float, reason: str, lang: str | None
    ) -> bool:
        kind = kinds[name]
        p = profiles[col]
        why = _refusal(name, kind, p)
        if why is not None:
            if kind is FieldKind.EMAIL:
                refused_email[col] = why
            return False
        choice = Choice(name, col, _STAGES[rank], confidence, reason, language=lang)
        cands.append(_Cand(choice, rank, _fit(kind, p), p.filled))
        return True

    if layout is not None:
        for name, headers in layout.fields.items():
            if name not in kinds:
                continue
            for i, header in enumerate(headers):
                found = by_key.get(header_key(header))
                if found is not None:
                    add(name, found, 0, max(0.9, 0.99 - 0.02 * i), layout.label, None)
    for col in columns:
        if col in claimed:
            continue
        m = match_header(col, fields)
        if m is not None and m.field.startswith("_"):
            m = None
        if m is not None:
            language = LANGUAGES.get(m.language, m.language)
            if m.exact:
                reason, confidence = (
                    f'header ~ "{col.strip().lstrip(chr(0xFEFF))}" ({language})',
                    0.95,
                )
            else:
                reason = f'header ~ "{m.synonym}" ({language}, {m.score:g} % alike)'
                confidence = 0.9 * m.score / 100
            if add(m.field, col, 1, confidence, reason, m.language):
                continue
        guess = _by_values(profiles[col], kinds)
        if guess is not None:
            add(guess[0], col, 2, guess[1], guess[2], None)
    return cands, refused_email


def _region(
    columns: list[str], frame: pl.DataFrame, phone: str | None, languages: Counter[str]
) -> tuple[str, str, bool]:
    """(default region, why, is it a guess to check) for phone numbers without a +prefix."""
    best = best_country(columns, frame)
    if best is not None:
        n, total, region, col = best
        return region, f'{n} of {total} rows in "{col}" say {region}', False
    if phone is not None:
        region_p, n, looked = phone_region(frame[phone].to_list())
        if region_p is not None:
            return (
                region_p,
                f"{n} of {looked} numbers have the country code of {region_p}",
                n < looked,
            )
    for lang, _ in languages.most_common():
        if lang in _LANG_REGION:
            region = _LANG_REGION[lang]
            return region, f"the headers are {LANGUAGES[lang]}: {region} assumed", True
    return "US", "no country column, +prefix or non-English header to go by: US assumed", True


def _custom_line(
    col: str, p: Profile, spec: Target, layout: Layout | None, values: list[str | None]
) -> Line:
    words = set(normalize(col).split())
    section = ""
    if spec.custom:
        # a column about the company goes to the target's account section, if it has one
        account = [c.name for c in spec.custom if c.object == "account"]
        about_account = bool(account) and bool(words & _ACCOUNT_WORDS)
        section = account[0] if about_account else spec.custom[0].name
    options: dict[str, str] = {}
    reason = ""
    sep = layout.separator_for(col) if layout is not None else None
    shares = {s: list_share(values, s) for s in ([sep] if sep else [])}
    shares.update({s: v for s, v in p.lists.items() if s not in shares})
    multi = [(v, s) for s, v in shares.items() if v >= (0.2 if s == sep else 0.3)]
    if p.empty:
        reason = "empty in the sampled rows"
    elif multi and section:
        share, sep_used = max(multi)
        options["split"] = sep_used
        reason = f'{_pct(share)} of values are "{sep_used}"-separated lists'
    elif p.share("date") >= 0.8:
        reason = f"{_pct(p.share('date'))} of values are dates"
    elif p.share("email") >= EMAIL_SHARE:
        reason = f"{_pct(p.share('email'))} of values are e-mails (another column is the e-mail)"
    return Line(section, custom_name(col), col, reason, options)


def propose(
    columns: list[str], frame: pl.DataFrame, *, target: str = "account_contact"
) -> Proposal:
    """Propose a mapping of ``columns`` (the file's headers; ``frame`` holds a sample of its
    rows, one String column per header) for ``target``. Never raises for the data."""
    spec = TARGETS[target]
    kinds = field_kinds(spec)
    sample = frame.head(PROFILE_ROWS)
    values = {c: sample[c].to_list() for c in columns}
    profiles = {c: profile(values[c], sample.height) for c in columns}
    layout = detect(columns, target)
    cands, refused = _candidates(columns, profiles, kinds, layout, header_fields(spec, kinds))
    out = Proposal(target, layout, list(columns), frame.height, profiles=profiles)
    out.email_refusals = refused
    used: set[str] = set()
    winners: dict[str, _Cand] = {}
    for cand in sorted(cands, key=lambda c: (c.rank, -c.choice.confidence, -c.fit, -c.filled)):
        name, col = cand.choice.field, cand.choice.column
        if col in used:
            continue
        if name in winners:
            won = winners[name].choice
            out.commented.append(
                Line("columns", name, col, f'{cand.choice.reason}; "{won.column}" is used')
            )
            used.add(col)
            continue
        kind = kinds[name]
        p = profiles[col]
        if kind in _PEOPLE_KINDS and (p.empty or p.share("email") < EMAIL_SHARE):
            used.add(col)
            out.commented.append(Line("columns", name, col, _owner_reason(p, kind)))
            if kind is not FieldKind.OWNER_EMAIL:
                continue
            what = "is empty in the sample" if p.empty else "holds names, not e-mails"
            out.checks.append(
                f'{name}: "{col}" {what}; Reevo needs the owner\'s e-mail. Map names to e-mails '
                f"with owners: (e.g. {{column: {col}, owners: owners.csv}}) or leave it out"
            )
            continue
        winners[name] = cand
        used.add(col)
    order = {n: i for i, n in enumerate(kinds)}
    out.chosen = sorted((c.choice for c in winners.values()), key=lambda c: order[c.field])
    languages = Counter(c.language for c in out.chosen if c.language and c.language != "en")
    phones = [c for c in out.chosen if kinds[c.field] is FieldKind.PHONE]
    if phones:
        region, why, guess = _region(columns, sample, phones[0].column, languages)
        out.region, out.region_reason = region, why
        for c in phones:
            c.options = {"format": "e164", "default_region": region}
            c.reason += f"; region {region}: {why}"
        if guess:
            out.checks.append(f"phone default_region {region} is a guess ({why})")
    used |= finish(out, spec, sample, layout)
    for col in columns:
        if col not in used:
            out.commented.append(_custom_line(col, profiles[col], spec, layout, values[col]))
    _dedupe_names(out.commented)
    _add_checks(out)
    return out


def _owner_reason(p: Profile, kind: FieldKind = FieldKind.OWNER_EMAIL) -> str:
    who = "owner" if kind is FieldKind.OWNER_EMAIL else "contact"
    if p.empty:
        return f"empty in the sampled rows; Reevo needs the {who}'s e-mail"
    example = next((v for v in p.examples if "@" not in v), p.examples[0])
    if kind is not FieldKind.OWNER_EMAIL:
        return f'holds names (e.g. "{example}"), not e-mails: Reevo finds a contact by e-mail'
    return (
        f'holds names (e.g. "{example}"), not e-mails: Reevo needs the owner\'s e-mail; '
        "map names with owners: {Name: e-mail, ...} or owners: owners.csv"
    )


def _dedupe_names(lines: list[Line]) -> None:
    seen: Counter[tuple[str, str]] = Counter()
    for line in lines:
        if line.section in ("columns",):
            continue
        key = (line.section, line.name.casefold())
        seen[key] += 1
        if seen[key] > 1:
            line.name = f"{line.name}_{seen[key]}"


def _add_checks(out: Proposal) -> None:
    for c in out.chosen:
        if c.confidence < CHECK_BELOW:
            out.checks.append(
                f'{c.field} <- "{c.column}": {c.reason} (confidence {c.confidence:.2f})'
            )
    email = out.chosen_for("email")
    if email is not None:
        p = out.profiles[email.column]
        if p.filled < 1.0:
            out.checks.append(
                f'{_pct(1 - p.filled)} of sampled rows have no e-mail in "{email.column}": '
                "they will be invalid (missing_email)"
            )
    if out.layout is not None:
        out.checks += list(out.layout.notes)


def require_email(proposal: Proposal, source: str) -> None:
    """Raise SourceError (exit 2) listing the columns when no column can be the e-mail."""
    if proposal.chosen_for("email") is not None:
        return
    spec = TARGETS[proposal.target]
    if "email" not in spec.fields:
        return
    listed = listed_columns(proposal.columns)
    near = [f'"{c}": {why}' for c, why in proposal.email_refusals.items()]
    for col, p in proposal.profiles.items():
        if col not in proposal.email_refusals and 0 < p.share("email") < EMAIL_SHARE:
            near.append(f'"{col}": {_pct(p.share("email"))} of its values are e-mail addresses')
    seen = "\n".join(f"  {n}" for n in near[:10])
    raise SourceError(
        f"{source}: no column can be the e-mail address, which Reevo needs for every contact. "
        f"A column is taken for it when its header says e-mail (Email, E-Mail-Adresse, Courriel, "
        f"Correo electrónico...) or when at least {_pct(EMAIL_SHARE)} of its values in the "
        f"first {proposal.sampled_rows:,} rows are e-mail addresses."
        + (f" Closest:\n{seen}\n" if seen else " ")
        + f"The file's columns are: {listed}.{other_target(proposal)} Add a column of e-mail "
        "addresses (or export the "
        "list with one), or write the mapping by hand (README, 'Mapping files') with "
        "'email: <column>'. Nothing was written.",
        path=source,
    )
