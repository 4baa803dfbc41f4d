"""Which cells a spreadsheet could run as a formula (OWASP CSV injection), and the apostrophe
that stops it.

The rule: a text cell is *formula-like* when it starts with ``=``, ``@``, tab, CR, LF or NUL,
or when it starts with ``+`` or ``-`` and is not plain data. Plain data is

- a signed number: ``-12.5``, ``+3``, ``-1.5e10``;
- a phone number or other arithmetic on literal digits: after the sign only digits, spaces
  (also no-break), ``( ) . , /`` and more ``+``/``-``: ``+49 30 1234567``, ``+1 (415) 555-0100``.

Such a value can reference no cell, call no function (``HYPERLINK``, ``WEBSERVICE``...) and
reach no command (DDE needs ``|`` and ``!``): at worst Excel shows arithmetic on its digits.
Everything else starting with ``+``/``-`` (``+1+cmd|' /C calc'!A0``, ``-A1``) is formula-like.

In a CSV a formula-like cell gets a leading ``'`` (:func:`neutralise`); in a workbook it is a
text cell with Excel's quote prefix (never a formula). Readers strip one ``'`` before any of
``= + - @``, tab, CR, LF, NUL (:func:`unneutralise`), which also reads files written before
phone numbers were left alone.
"""

from __future__ import annotations

import re

import polars as pl

__all__ = ["FORMULA_LIKE", "formula_like", "is_formula_like", "neutralise", "unneutralise"]

#: a leading character that can start a formula
_TRIGGER = r"^[=+\-@\t\r\n\x00]"
#: + or - followed only by what a number or a phone number holds (no-break spaces included)
_PLAIN = (
    r"^(?:[+\-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+\-]?[0-9]+)?"
    "|[+\\-][0-9 ().,/+\\-\u00a0\u202f]*)$"
)
#: the regular expressions of the rule, for polars and for :mod:`re` alike
FORMULA_LIKE = (_TRIGGER, _PLAIN)
_NEUTRALISED = r"^'[=+\-@\t\r\n\x00]"
_TRIGGER_RE = re.compile(_TRIGGER)
_PLAIN_RE = re.compile(_PLAIN)


def formula_like(expr: pl.Expr) -> pl.Expr:
    """True for a text cell a spreadsheet could run as a formula (see the module's rule)."""
    return expr.str.contains(_TRIGGER) & ~expr.str.contains(_PLAIN)


def is_formula_like(value: str) -> bool:
    """:func:`formula_like` for one value."""
    return bool(_TRIGGER_RE.match(value)) and not _PLAIN_RE.fullmatch(value)


def neutralise(expr: pl.Expr) -> pl.Expr:
    """Prefix ``'`` to a formula-like text cell."""
    return pl.when(formula_like(expr)).then(pl.lit("'") + expr).otherwise(expr)


def unneutralise(expr: pl.Expr) -> pl.Expr:
    """Undo :func:`neutralise` (and the older rule that quoted every ``+``/``-`` cell)."""
    return pl.when(expr.str.contains(_NEUTRALISED)).then(expr.str.slice(1)).otherwise(expr)
