"""Amounts written the way spreadsheets write them -> a decimal number, never guessed.

Accepted: ``12500``, ``12500.5``, ``$12,500.00``, ``12.500,00 €``, ``1 234,5``, ``1'234.50``,
``USD 12,500``, ``12,500 EUR``, ``-1,200``, ``1.5E+06``, and ``(1,200.00)``, which is
accountants' notation for a negative amount (-1200). A currency symbol or a three-letter code
may come before or after the number; spaces (also non-breaking ones) and apostrophes only
ever group thousands.

The separators ``.`` and ``,`` are read so:

- both in one value: the last one is the decimal separator (``1.234,56``, ``1,234.56``);
- one of them several times: it groups thousands (``1,234,567``, ``1.234.567``);
- one of them once: a decimal separator, unless exactly three digits follow it and one to three
  digits (not a lone ``0``) come before: ``1,234`` and ``1.234`` could be one thousand two
  hundred thirty-four or one point two three four. Such a value is read by the convention the
  column's other values settle (a value like ``1,5``, ``12.500,00`` or ``1,234,567`` shows which
  separator is the decimal one); when they settle nothing, or contradict each other, the value
  is ``invalid_amount`` naming both readings.

Thousands groups must have three digits (``1,23,456`` is not an amount). The result is the
canonical decimal text (``12500``, ``12500.5``, ``-1200``): no exponent, no trailing zeros.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

import polars as pl

__all__ = ["Amounts", "Convention", "parse_amount", "parse_amounts", "to_json_number"]

#: which separator is the decimal one: ``.`` (US, UK) or ``,`` (most of Europe)
Convention = Literal[".", ","]

#: a currency before the number (``USD``, ``$``, ``US$``, ``R$``) or after it (``€``, ``EUR``)
_LEADING = re.compile(r"^(?:[A-Za-z]{1,3}(?=[^A-Za-z])|[A-Za-z]{3}$)")
_TRAILING = re.compile(r"(?<![A-Za-z])[A-Za-z]{3}$")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_NUMBER = re.compile(r"^[0-9.,]+$")
_EXPONENT = re.compile(r"^[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+$")
_GROUPED = re.compile(r"^[1-9][0-9]{0,2}(?:_[0-9]{3})+$")
_SPACED = re.compile(r"(?P<whole>[0-9_]+)(?:(?P<sep>[.,])(?P<frac>[0-9]+))?")


@dataclass(frozen=True, slots=True)
class _Reading:
    """One value read: its decimal text, or why not (``ambiguous``: the two readings)."""

    value: str | None = None
    problem: str | None = None
    ambiguous: tuple[str, str] | None = None
    #: what the value shows of its column's convention (None: nothing)
    shows: Convention | None = None


def _symbol(char: str) -> bool:
    return unicodedata.category(char) == "Sc"


def _strip_currency(text: str) -> str:
    """``text`` without a currency symbol or code before or after it (and the spaces)."""
    text = text.strip()
    for _ in range(3):  # "USD $12,500", "US$ 12,500", "12.500,00 € EUR"
        before = text
        if text and _symbol(text[0]):
            text = text[1:].strip()
        elif (m := _LEADING.match(text)) and (
            len(m.group()) == 3 or (m.end() < len(text) and _symbol(text[m.end()]))
        ):
            text = text[m.end() :].strip()
        if text and _symbol(text[-1]):
            text = text[:-1].strip()
        elif m := _TRAILING.search(text):
            text = text[: m.start()].strip()
        if text == before:
            break
    return text


def _canonical(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _grouped(whole: str, sep: str) -> str | None:
    """``whole`` without its thousands separator ``sep``, when its groups are three digits."""
    if sep not in whole:
        return whole
    marked = whole.replace(sep, "_")
    return marked.replace("_", "") if _GROUPED.fullmatch(marked) else None


def _read(text: str, convention: Convention | None) -> _Reading:
    """Read one trimmed value (see the module docstring)."""
    s = _strip_currency(text)
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
        s = _strip_currency(s)
    if s.startswith(("-", "+")) or s.endswith("-"):
        negative = negative or "-" in (s[0], s[-1])
        s = s.strip("+-").strip()
        s = _strip_currency(s)
    if _EXPONENT.fullmatch(s):
        return _done(Decimal(s), negative, None)
    if not _NUMBER.fullmatch(_SPACES.sub("", s)):
        return _Reading(problem="not a number")
    if _SPACES.search(s):  # spaces or apostrophes group thousands: a . or , is the decimal
        m = _SPACED.fullmatch(_SPACES.sub("_", s))
        if m is None or not _GROUPED.fullmatch(m["whole"]):
            return _Reading(problem="its digit groups are not thousands")
        whole = m["whole"].replace("_", "")
        if m["sep"] is None:
            return _done(Decimal(whole), negative, None)
        return _done(Decimal(f"{whole}.{m['frac']}"), negative, m["sep"])
    if not s or not _NUMBER.fullmatch(s) or not any(c.isdigit() for c in s):
        return _Reading(problem="not a number")
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        dec = "." if s.rfind(".") > s.rfind(",") else ","
        thousands = "," if dec == "." else "."
        if s.count(dec) > 1:
            return _Reading(problem="two decimal separators")
        whole, frac = s.split(dec)
        plain = _grouped(whole, thousands)
        if plain is None or not frac:
            return _Reading(problem="its digit groups are not thousands")
        return _done(Decimal(f"{plain}.{frac}"), negative, dec)
    sep = "." if dots else "," if commas else None
    if sep is None:
        return _done(Decimal(s), negative, None)
    if s.count(sep) > 1:
        plain = _grouped(s, sep)
        if plain is None:
            return _Reading(problem="its digit groups are not thousands")
        return _done(Decimal(plain), negative, "," if sep == "." else ".")
    whole, frac = s.split(sep)
    if not frac or not whole:
        if not whole and frac:  # ",5" / ".5"
            return _done(Decimal(f"0.{frac}"), negative, sep)
        return _Reading(problem="not a number")
    could_group = len(frac) == 3 and 1 <= len(whole) <= 3 and whole != "0"
    if not could_group:
        return _done(Decimal(f"{whole}.{frac}"), negative, sep)
    if convention is not None:
        joined = f"{whole}.{frac}" if convention == sep else f"{whole}{frac}"
        return _done(Decimal(joined), negative, None)
    sign = "-" if negative else ""
    as_thousands = f"{sign}{_canonical(Decimal(whole + frac))}"
    as_decimal = f"{sign}{_canonical(Decimal(f'{whole}.{frac}'))}"
    return _Reading(ambiguous=(as_thousands, as_decimal))


def _done(number: Decimal, negative: bool, shows: str | None) -> _Reading:
    try:
        value = _canonical(-number if negative else number)
    except InvalidOperation:  # pragma: no cover - the patterns above only pass numbers
        return _Reading(problem="not a number")
    return _Reading(value=value, shows=shows)  # type: ignore[arg-type]


def parse_amount(text: str, convention: Convention | None = None) -> tuple[str | None, str | None]:
    """(canonical decimal text, None) or (None, why not) for one value; ``convention`` (which
    separator is the decimal one) settles ``1,234``-like values (see the module docstring)."""
    reading = _read(text.strip(), convention)
    if reading.ambiguous is not None:
        return None, _ambiguity(text.strip(), reading.ambiguous)
    return reading.value, reading.problem


def _ambiguity(text: str, readings: tuple[str, str]) -> str:
    sep = "," if "," in text else "."
    return (
        f"could be {readings[0]} ({sep!r} grouping thousands) or {readings[1]} ({sep!r} as the "
        "decimal separator), and the column's other values do not settle which: write the "
        "decimals too (1,234.00 or 1.234,00)"
    )


@dataclass(frozen=True, slots=True)
class Amounts:
    """Per input value: canonical decimal text (null when not read), and why not (null when
    read or blank); ``convention``: what the column's values settled (None: nothing)."""

    value: pl.Series
    problem: pl.Series
    convention: Convention | None


def parse_amounts(values: pl.Series) -> Amounts:
    """Read a String series (nulls stay null), each distinct value once: first alone, then
    the ambiguous ones by the convention the others settle, when they settle one."""
    text = values.cast(pl.String)
    uniq = [v for v in text.drop_nulls().unique().to_list() if isinstance(v, str)]
    readings = {v: _read(v.strip(), None) for v in uniq}
    shown = {r.shows for r in readings.values() if r.shows is not None}
    convention: Convention | None = shown.pop() if len(shown) == 1 else None
    out: dict[str, tuple[str | None, str | None]] = {}
    for v, r in readings.items():
        if r.ambiguous is not None and convention is not None:
            r = _read(v.strip(), convention)
        if r.ambiguous is not None:
            out[v] = (None, _ambiguity(v.strip(), r.ambiguous))
        else:
            out[v] = (r.value, r.problem)
    keys = pl.Series(list(out), dtype=pl.String)
    value = text.replace_strict(
        keys, pl.Series([a for a, _ in out.values()], dtype=pl.String), default=None
    )
    problem = text.replace_strict(
        keys, pl.Series([b for _, b in out.values()], dtype=pl.String), default=None
    )
    return Amounts(value.alias(values.name), problem.alias(values.name), convention)


def to_json_number(text: str) -> int | float:
    """A canonical decimal text as a JSON number: an int when integral, else a float (its
    shortest repr is the decimal itself for amounts with up to 15 significant digits)."""
    if "." not in text:
        return int(text)
    return float(text)
