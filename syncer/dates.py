"""Dates and times written in many ways -> ISO 8601, never guessed.

A field's ``formats:`` lists *conventions*, tried in the order given: the names ``iso``, ``us``
(month first) and ``day_first`` (each a fixed list of patterns, :data:`NAMED_FORMATS`), or any
Python ``strptime`` pattern (``%d.%m.%Y %H:%M``). Within one convention the first pattern that
reads the value wins. A value that two listed conventions read differently (``03/04/2024`` with
``us`` and ``day_first``) is ``ambiguous_date``; one that none reads is ``invalid_date``.

Output: ``YYYY-MM-DD`` for a pattern without a time, ``YYYY-MM-DDTHH:MM:SS`` (``.ffffff`` when
given, ``+HH:MM`` when the value has an offset) for one with a time.

Each distinct value is read once: a vectorised regular expression per pattern (the one Python's
own ``strptime`` uses) picks the patterns that can match it, and ``strptime`` decides only those.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

__all__ = [
    "DATE_NAMES",
    "NAMED_FORMATS",
    "ParsedDates",
    "check_formats",
    "parse_date",
    "parse_dates",
]

#: the named conventions and their patterns, in the order they are tried
NAMED_FORMATS: dict[str, tuple[str, ...]] = {
    "iso": (
        "%Y-%m-%d",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S.%f",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S.%f%z",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M:%S.%f",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%d %H:%M",
    ),
    "us": (
        "%m/%d/%Y",
        "%m/%d/%y",
        "%m-%d-%Y",
        "%m/%d/%Y %H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %I:%M %p",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%y %H:%M",
        "%m/%d/%y %I:%M %p",
        "%b %d, %Y",
        "%B %d, %Y",
    ),
    "day_first": (
        "%d/%m/%Y",
        "%d/%m/%y",
        "%d.%m.%Y",
        "%d.%m.%y",
        "%d-%m-%Y",
        "%d/%m/%Y %H:%M",
        "%d/%m/%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
        "%d.%m.%Y %H:%M:%S",
        "%d-%m-%Y %H:%M",
        "%d %b %Y",
        "%d %B %Y",
    ),
}
DATE_NAMES = tuple(NAMED_FORMATS)

#: strptime directives Python knows; those that make a pattern a date-time
_DIRECTIVES = set("aAwdbBmyYHIpMSfzZjUWcxXGuV%")
_TIME = set("HIMSfpzXc")
_DIRECTIVE = re.compile(r"%(.)", re.DOTALL)


def _directives(pattern: str) -> list[str]:
    return _DIRECTIVE.findall(pattern)


def check_formats(formats: Sequence[str]) -> str | None:
    """What is wrong with a ``formats:`` list (None: nothing)."""
    if not formats:
        return "formats needs at least one entry: iso, us, day_first or a pattern like %d/%m/%Y"
    for item in formats:
        if item in NAMED_FORMATS:
            continue
        used = _directives(item)
        if not used:
            close = difflib.get_close_matches(item, DATE_NAMES, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else ""
            return (
                f"unknown date format {item!r}{hint} (use iso, us, day_first or a strptime "
                "pattern like %d/%m/%Y)"
            )
        bad = [f"%{d}" for d in used if d not in _DIRECTIVES]
        if bad or "%" in _DIRECTIVE.sub("", item):
            wrong = bad[0] if bad else "a lone %"
            return f"date pattern {item!r}: {wrong} is not a strptime directive"
        letters = set(used)
        has_day = "j" in letters or ("d" in letters and bool(letters & {"m", "b", "B"}))
        if not (letters & {"Y", "y", "G"}) or not (has_day or letters & {"c", "x"}):
            return (
                f"date pattern {item!r} must give a year (%Y or %y), a month (%m, %b, %B) and a "
                "day (%d)"
            )
    if len(set(formats)) != len(formats):
        return "formats lists the same entry twice"
    return None


def _patterns(item: str) -> tuple[str, ...]:
    return NAMED_FORMATS.get(item, (item,))


@functools.lru_cache(maxsize=256)
def _has_time(pattern: str) -> bool:
    return any(d in _TIME for d in _directives(pattern))


def _render(value: datetime, pattern: str) -> str:
    if not _has_time(pattern):
        return value.date().isoformat()
    return value.isoformat()


def parse_date(value: str, formats: Sequence[str]) -> tuple[str | None, str | None, str | None]:
    """(ISO text, problem code, detail) for one trimmed value.

    The code is ``invalid_date`` (detail: the formats tried) or ``ambiguous_date`` (detail: each
    reading with its convention, e.g. ``2024-03-04 (us) or 2024-04-03 (day_first)``).
    """
    readings: dict[str, str | None] = {}
    for item in formats:
        readings[item] = next(
            (iso for p in _patterns(item) if (iso := _python(value, p)) is not None), None
        )
    found = {iso for iso in readings.values() if iso is not None}
    if len(found) == 1:
        return found.pop(), None, None
    if not found:
        return None, "invalid_date", ", ".join(formats)
    return None, "ambiguous_date", _ambiguity(readings)


def _regex(pattern: str) -> str | None:
    """The regular expression Python's strptime matches ``pattern`` with (None if unknown)."""
    try:
        time_re = importlib.import_module("_strptime")._TimeRE_cache
        return "(?i)^(?:" + str(time_re.pattern(pattern)) + ")$"
    except Exception:  # a private helper of the stdlib: without it every value is tried
        return None


@dataclass(frozen=True, slots=True)
class ParsedDates:
    """Per input value: ISO text (null when not read), problem code and detail (null when
    read; see :func:`parse_date`)."""

    iso: pl.Series
    code: pl.Series
    detail: pl.Series


def _fast(pattern: str) -> bool:
    """True when polars reads ``pattern`` as strptime does, for a value whose shape strptime's
    own regular expression accepts (:func:`_fast_regex`): numeric dates and times only."""
    used = set(_directives(pattern))
    return bool(used) and used <= set("YmdHMS")


def _fast_regex(regex: str) -> str:
    """``regex`` without the seconds 60 and 61, which strptime refuses and polars rolls over
    into the next minute (a leap second)."""
    return regex.replace("(?P<S>6[0-1]|", "(?P<S>")


def _python(value: str, pattern: str) -> str | None:
    try:
        return _render(datetime.strptime(value, pattern), pattern)
    except ValueError:
        return None


def _readings(frame: pl.DataFrame, pattern: str) -> pl.Series:
    """ISO text per value of ``frame["v"]`` as ``pattern`` reads it, null where it does not.

    Vectorised where the pattern is :func:`_fast`; strptime decides the rest, and only for
    values whose shape the pattern's regular expression accepts.
    """
    v = pl.col("v")
    regex = _regex(pattern)
    hit = v.str.contains(regex) if regex is not None else pl.lit(True)
    iso = pl.lit(None, dtype=pl.String)
    if _fast(pattern) and regex is not None:
        out = "%Y-%m-%dT%H:%M:%S" if _has_time(pattern) else "%Y-%m-%d"
        parsed = v.str.strptime(pl.Datetime("us"), pattern, strict=False, exact=True)
        iso = pl.when(v.str.contains(_fast_regex(regex))).then(parsed.dt.strftime(out))
    try:
        got = frame.select(hit.alias("hit"), pl.when(hit).then(iso).alias("iso"))
    except pl.exceptions.PolarsError:  # a construct polars' regex engine lacks: try them all
        got = frame.select(pl.lit(True).alias("hit"), pl.lit(None, dtype=pl.String).alias("iso"))
    result = got["iso"].alias(pattern)
    need = (got["hit"] & result.is_null()).arg_true()
    if len(need):
        slow = [_python(value, pattern) for value in frame["v"].gather(need).to_list()]
        result.scatter(need, pl.Series(slow, dtype=pl.String))
    return result


def parse_dates(values: pl.Series, formats: Sequence[str]) -> ParsedDates:
    """Read every value of a String series (nulls stay null, no problem), each distinct
    value once (see :func:`parse_date` for the codes and details).

    Values that are mostly distinct (time stamps) are read in place: finding the distinct
    ones and joining the answers back would cost more than it saves.
    """
    text = values.cast(pl.String)
    in_place = int(pl.select(pl.lit(text).approx_n_unique()).item()) * 2 > len(text)
    frame = pl.DataFrame({"v": text if in_place else text.drop_nulls().unique()})
    by_pattern = {
        pattern: _readings(frame, pattern)
        for pattern in dict.fromkeys(p for item in formats for p in _patterns(item))
    }
    # a convention's reading: its first pattern that reads the value
    conventions = frame.select(
        pl.coalesce([by_pattern[p] for p in _patterns(item)]).alias(str(i))
        for i, item in enumerate(formats)
    )
    # one reading: the first; ambiguous: another convention reads it differently
    first = pl.coalesce(pl.all())
    conflict = pl.any_horizontal(
        [(pl.col(c) != first).fill_null(False) for c in conventions.columns]
    )
    blank = pl.lit(False) if not in_place else frame["v"].is_null()
    decided = conventions.select(
        pl.when(~conflict).then(first).alias("iso"),
        pl.when(blank)
        .then(None)
        .when(first.is_null())
        .then(pl.lit("invalid_date"))
        .when(conflict)
        .then(pl.lit("ambiguous_date"))
        .alias("code"),
        pl.when(first.is_null() & ~blank).then(pl.lit(", ".join(formats))).alias("detail"),
    )
    ambiguous = (decided["code"] == "ambiguous_date").fill_null(False).arg_true()
    if len(ambiguous):
        rows = conventions[ambiguous].iter_rows()
        details = [_ambiguity(dict(zip(formats, row, strict=True))) for row in rows]
        decided[ambiguous.to_list(), "detail"] = pl.Series(details, dtype=pl.String)
    name = values.name
    if in_place:
        return ParsedDates(*(decided[c].alias(name) for c in ("iso", "code", "detail")))
    joined = pl.DataFrame({"v": text}).join(
        decided.with_columns(frame["v"]), on="v", how="left", maintain_order="left"
    )
    return ParsedDates(*(joined[c].alias(name) for c in ("iso", "code", "detail")))


def _ambiguity(readings: dict[str, str | None]) -> str:
    """``2024-03-04 (us) or 2024-04-03 (day_first)`` from each convention's reading."""
    by_iso: dict[str, list[str]] = {}
    for item, iso in readings.items():
        if iso is not None:
            by_iso.setdefault(iso, []).append(item)
    return " or ".join(f"{iso} ({', '.join(items)})" for iso, items in by_iso.items())
