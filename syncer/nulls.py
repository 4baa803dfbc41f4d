"""Cells that mean "no value": ``n/a``, ``-``, ``#N/A``... (a mapping's ``null_values:``).

The values are compared trimmed and ignoring case, by one vectorised polars expression
(:func:`blank_to_null`, :func:`is_null_value`): an exact lookup of every upper/lower-case
spelling of the short values (a regular expression over every cell costs about three times as
much; it is used only for values too long to spell out).
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from typing import Any

import polars as pl

__all__ = ["DEFAULT_NULL_VALUES", "blank_to_null", "is_null_value", "parse_null_values"]

#: cells that mean "no value" unless the mapping says otherwise (``null_values:``); compared
#: trimmed and ignoring case
DEFAULT_NULL_VALUES = (
    "n/a",
    "na",
    "n.a.",
    "-",
    "--",
    "---",
    "none",
    "null",
    "nil",
    "nan",
    "#n/a",
    "#n/a n/a",
    "#na",
    "#value!",
    "#ref!",
    "#name?",
    "#null!",
    "#num!",
    "#div/0!",
    "(blank)",
    "(none)",
    "(empty)",
)


def parse_null_values(v: Any) -> Any:
    """``null_values:`` as a tuple of trimmed NFC strings (YAML numbers as their text)."""
    if v is None:
        return v
    if isinstance(v, str | int | float) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, list):
        raise ValueError("null_values is a list, e.g. null_values: ['n/a', '-', 'none']")
    out: list[str] = []
    for item in v:
        if item is None or isinstance(item, bool):
            raise ValueError(
                "put null_values entries in quotes ('null', 'yes', '~'): unquoted, YAML reads "
                "them as nothing or as true/false"
            )
        if not isinstance(item, str | int | float):
            raise ValueError(f"null_values entries are text, got {item!r}")
        text = unicodedata.normalize("NFC", str(item)).strip()
        if text:
            out.append(text)
    return tuple(dict.fromkeys(out))


#: most spellings of one null value listed for an exact lookup (2 ** letters); longer values
#: are matched with a case-insensitive regular expression (3x slower)
_MAX_CASINGS = 256


@functools.lru_cache(maxsize=64)
def _null_lookup(nulls: tuple[str, ...]) -> tuple[list[str], str | None]:
    """Every upper/lower-case spelling of the short ``nulls`` (an exact set lookup is the
    cheapest vectorised test), and a case-insensitive regular expression for the rest."""
    spellings: set[str] = set()
    rest: list[str] = []
    for value in nulls:
        options = [(c.lower(), c.upper()) if c.lower() != c.upper() else (c,) for c in value]
        simple = all(len(o) == 1 for pair in options for o in pair)
        count = 1
        for pair in options:
            count *= len(pair)
        if simple and count <= _MAX_CASINGS:
            spellings.update("".join(p) for p in itertools.product(*options))
        else:
            rest.append(value)
    regex = "(?i)^(?:" + "|".join(re.escape(v) for v in rest) + ")$" if rest else None
    return sorted(spellings), regex


def is_null_value(text: pl.Expr, nulls: tuple[str, ...]) -> pl.Expr:
    """True where the trimmed ``text`` is one of ``nulls``, ignoring case."""
    spellings, regex = _null_lookup(nulls)
    hit = text.is_in(spellings)
    return hit | text.str.contains(regex) if regex is not None else hit


def blank_to_null(text: pl.Expr, nulls: tuple[str, ...] = ()) -> pl.Expr:
    """The trimmed ``text`` with "" and the ``nulls`` (any case) made null.

    One ``replace`` reads ``text`` once: as cheap as the blank test alone (``when`` with a
    second test would compute ``text`` again, +25 ms per million cells)."""
    spellings, regex = _null_lookup(nulls) if nulls else ([], None)
    out = text.replace(["", *spellings], None)
    return pl.when(~text.str.contains(regex)).then(out) if regex is not None else out
