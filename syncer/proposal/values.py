"""What a column's sampled values look like: e-mails, phones, URLs, LinkedIn profiles, domains,
amounts, dates, lists, person names. Plain regular expressions over at most :data:`MAX_VALUES`
distinct non-blank values per column, so a profile costs microseconds, not a validator call per row.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers

from syncer.nulls import DEFAULT_NULL_VALUES

__all__ = ["MAX_VALUES", "Profile", "country_region", "phone_region", "profile"]

#: distinct non-blank values looked at per column
MAX_VALUES = 1000

_EMAIL = re.compile(r"^[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[A-Za-z]{2,}$")
_LINKEDIN_PERSON = re.compile(r"linkedin\.com/(?:in|pub|sales/lead|sales/people)/", re.I)
_LINKEDIN_COMPANY = re.compile(r"linkedin\.com/(?:company|school|showcase|sales/company)/", re.I)
_URL = re.compile(r"^(?:https?://|www\.)\S+$", re.I)
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}/?$", re.I)
_PHONE_CHARS = re.compile(r"^(?:\+|00)?[\d\s().\-/]+(?:\s*(?:x|ext\.?|#)\s*\d{1,6})?$", re.I)
_FORMATTED = re.compile(r"[\s().\-/+]")
_DATE = re.compile(
    r"^(?:\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}(?: \d{1,2}:\d{2}(?::\d{2})?(?: ?[AP]M)?)?"
    r"|\d{1,2}\.? [A-Za-zÀ-ÿ]{3,9}\.? \d{4}|[A-Za-z]{3,9}\.? \d{1,2},? \d{4})$"
)
_IP = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$|^[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}$", re.I)
_NAME = re.compile(r"^[^\W\d_][^\W\d_'’.\-]*(?:[ '’.\-]+[^\W\d_][^\W\d_'’.\-]*){1,4}\.?$")
#: an amount with a currency sign or code, or thousands separators: "$12,500.00", "12.500,00 €"
_CURRENCY = r"(?:[$€£¥]|(?:USD|EUR|GBP|CHF|CAD|AUD|JPY|SEK|NOK|DKK|BRL|MXN|INR)\b)"
_GROUPED = r"[1-9]\d{0,2}(?:,\d{3})+(?:\.\d{1,2})?|[1-9]\d{0,2}(?:[.' \u00a0]\d{3})+(?:,\d{1,2})?"
_MONEY_NUMBER = rf"-?(?:{_GROUPED}|\d+(?:[.,]\d{{1,2}})?)"
_MONEY = re.compile(
    rf"^(?:{_CURRENCY}\s?{_MONEY_NUMBER}|{_MONEY_NUMBER}\s?{_CURRENCY}|-?(?:{_GROUPED}))$", re.I
)
#: a number with two decimals (``12500.00``): an amount or a share, not a phone number
_DECIMAL = re.compile(r"^-?\d+[.,]\d{2}$")
_BOOL = {"true", "false", "yes", "no", "y", "n", "0", "1", "x", "ja", "nein", "oui", "non", "si"}
#: separators of multi-value cells, most specific first
LIST_SEPARATORS = (";", "|")


@dataclass
class Profile:
    """Shares (0-1) of a column's non-blank sampled cells by what their values look like."""

    values: int = 0  # distinct non-blank values looked at
    filled: float = 0.0  # share of sampled rows that are not blank
    shares: dict[str, float] = field(default_factory=dict)
    lists: dict[str, float] = field(default_factory=dict)  # separator -> share of values
    examples: list[str] = field(default_factory=list)

    def share(self, *kinds: str) -> float:
        """Share of values of any of ``kinds`` (``email``, ``phone``, ``url``...)."""
        return sum(self.shares.get(k, 0.0) for k in kinds)

    @property
    def empty(self) -> bool:
        """No non-blank value in the sample."""
        return self.values == 0


def _kind(value: str) -> str:
    """One label per value, in priority order (an e-mail is never also a URL...)."""
    if _EMAIL.match(value):
        return "email"
    if _LINKEDIN_PERSON.search(value):
        return "linkedin_person"
    if _LINKEDIN_COMPANY.search(value):
        return "linkedin_company"
    if _URL.match(value):
        return "url"
    if value.casefold() in _BOOL:
        return "bool"
    if _MONEY.match(value):
        return "money"
    if _DECIMAL.match(value):
        return "decimal"
    if _DATE.match(value):
        return "date"
    if _IP.match(value):
        return "ip"
    if _PHONE_CHARS.match(value):
        digits = sum(c.isdigit() for c in value)
        if 7 <= digits <= 15:
            formatted = value.startswith(("+", "00", "(")) or bool(_FORMATTED.search(value))
            return "phone" if formatted else "digits"
        return "number"
    if _DOMAIN.match(value):
        return "domain"
    if _NAME.match(value):
        return "name"
    return "text"


_NULLS = frozenset(DEFAULT_NULL_VALUES)


def _value(cell: str | None) -> str | None:
    """The cell trimmed, or None when a mapping would read it as blank (empty, ``n/a``...)."""
    text = cell.strip() if cell else ""
    return text if text and text.casefold() not in _NULLS else None


def profile(column: Iterable[str | None], rows: int) -> Profile:
    """Profile one column from its sampled cells (``rows``: how many cells were sampled).

    Shares count non-blank cells (a value repeated ten times counts ten times); cells a mapping
    reads as blank by default (``n/a``, ``-``, ``#N/A``...) are blank here too. Each distinct
    value is classified once, and at most :data:`MAX_VALUES` distinct values are looked at."""
    counts: Counter[str] = Counter()
    filled = 0
    for cell in column:
        text = _value(cell)
        if text is None:
            continue
        filled += 1
        if text in counts or len(counts) < MAX_VALUES:
            counts[text] += 1
    out = Profile(values=len(counts), filled=filled / rows if rows else 0.0)
    if not counts:
        return out
    total = sum(counts.values())
    kinds: Counter[str] = Counter()
    for value, n in counts.items():
        kinds[_kind(value)] += n
    out.shares = {k: n / total for k, n in kinds.items()}
    out.lists = {
        sep: sum(n for v, n in counts.items() if sep in v.strip(sep)) / total
        for sep in LIST_SEPARATORS
    }
    out.examples = list(counts)[:3]
    return out


def list_share(values: Iterable[str | None], separator: str) -> float:
    """Share of distinct non-blank values that hold ``separator`` between two parts."""
    distinct = {t for t in map(_value, values) if t is not None}
    if not distinct:
        return 0.0
    return sum(1 for v in distinct if separator in v.strip(separator)) / len(distinct)


# --------------------------------------------------------------------------- regions

#: country names (several languages) and codes people type -> phone region
_COUNTRIES: dict[str, str] = {
    "united states": "US",
    "united states of america": "US",
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "vereinigte staaten": "US",
    "états-unis": "US",
    "etats-unis": "US",
    "estados unidos": "US",
    "verenigde staten": "US",
    "canada": "CA",
    "kanada": "CA",
    "mexico": "MX",
    "méxico": "MX",
    "mexiko": "MX",
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "vereinigtes königreich": "GB",
    "royaume-uni": "GB",
    "reino unido": "GB",
    "verenigd koninkrijk": "GB",
    "ireland": "IE",
    "irland": "IE",
    "germany": "DE",
    "deutschland": "DE",
    "allemagne": "DE",
    "alemania": "DE",
    "alemanha": "DE",
    "duitsland": "DE",
    "austria": "AT",
    "österreich": "AT",
    "switzerland": "CH",
    "schweiz": "CH",
    "suisse": "CH",
    "suiza": "CH",
    "zwitserland": "CH",
    "france": "FR",
    "frankreich": "FR",
    "francia": "FR",
    "frança": "FR",
    "frankrijk": "FR",
    "belgium": "BE",
    "belgique": "BE",
    "belgië": "BE",
    "belgien": "BE",
    "bélgica": "BE",
    "netherlands": "NL",
    "the netherlands": "NL",
    "nederland": "NL",
    "holland": "NL",
    "niederlande": "NL",
    "pays-bas": "NL",
    "países bajos": "NL",
    "luxembourg": "LU",
    "spain": "ES",
    "españa": "ES",
    "espana": "ES",
    "spanien": "ES",
    "espagne": "ES",
    "spanje": "ES",
    "portugal": "PT",
    "italy": "IT",
    "italia": "IT",
    "italien": "IT",
    "italie": "IT",
    "brazil": "BR",
    "brasil": "BR",
    "brasilien": "BR",
    "brésil": "BR",
    "argentina": "AR",
    "chile": "CL",
    "colombia": "CO",
    "peru": "PE",
    "perú": "PE",
    "sweden": "SE",
    "sverige": "SE",
    "schweden": "SE",
    "norway": "NO",
    "norge": "NO",
    "denmark": "DK",
    "danmark": "DK",
    "dänemark": "DK",
    "finland": "FI",
    "suomi": "FI",
    "poland": "PL",
    "polska": "PL",
    "polen": "PL",
    "czech republic": "CZ",
    "czechia": "CZ",
    "india": "IN",
    "indien": "IN",
    "inde": "IN",
    "australia": "AU",
    "australien": "AU",
    "new zealand": "NZ",
    "japan": "JP",
    "china": "CN",
    "singapore": "SG",
    "israel": "IL",
    "south africa": "ZA",
    "united arab emirates": "AE",
    "uae": "AE",
}


def country_region(values: Iterable[str | None]) -> tuple[str | None, int, int]:
    """(most common region, rows saying it, rows with a recognised country) of a country
    column's sampled values (names in several languages, or ISO codes)."""
    regions: Counter[str] = Counter()
    for cell in values:
        if not cell or not cell.strip():
            continue
        text = cell.strip()
        region = _COUNTRIES.get(text.casefold())
        if region is None and len(text) == 2 and text.upper() in phonenumbers.SUPPORTED_REGIONS:
            region = text.upper()
        if region is not None:
            regions[region] += 1
    if not regions:
        return None, 0, 0
    region, n = regions.most_common(1)[0]
    return region, n, sum(regions.values())


def phone_region(values: Iterable[str | None], limit: int = 500) -> tuple[str | None, int, int]:
    """(most common region, numbers with it, non-blank numbers looked at) by the country code of
    numbers written internationally (``+CC`` or ``00CC``)."""
    codes: Counter[int] = Counter()
    looked = 0
    for cell in values:
        text = _value(cell)
        if text is None:
            continue
        looked += 1
        if looked > limit:
            break
        if text.startswith("00"):
            text = "+" + text[2:]
        if not text.startswith("+"):
            continue
        try:
            number = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            continue
        if number.country_code:
            codes[int(number.country_code)] += 1
    if not codes:
        return None, 0, min(looked, limit)
    code, n = codes.most_common(1)[0]
    region = phonenumbers.region_code_for_country_code(code)
    if region in (None, "ZZ", "001"):
        return None, 0, min(looked, limit)
    return str(region), n, min(looked, limit)
