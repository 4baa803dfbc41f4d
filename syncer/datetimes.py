"""Timestamps that need a zone -> ISO 8601 with an offset (``2026-03-01T09:00:00-05:00``).

A datetime field's entry gives ``timezone:`` (an IANA zone). Each value is read so:

- ISO 8601 is always read (``2026-03-01T09:00``, ``2026-03-01 09:00:00.5``, ``...Z``,
  ``...+02:00``); other ways of writing it are read by the entry's ``formats:`` (default
  ``us`` then ``day_first``: ``3/25/2026 5:05 PM``, ``25.03.2026 17:05``...; a value both read
  differently, ``03/04/2026``, is ``ambiguous_date``; see :mod:`syncer.dates`);
- a value with an offset (``Z``, ``+02:00``) is that instant, its offset kept;
- a value without one is a wall-clock time in the field's zone; a date alone is 00:00 there;
- a wall-clock time that does not exist there (the hour skipped when clocks go forward: 02:30
  on 2026-03-29 in Europe/Berlin) is moved forward by the gap (03:30+02:00);
- one that exists twice (the hour repeated when clocks go back: 02:30 on 2026-10-25 in
  Europe/Berlin) is the earlier of the two instants (02:30+02:00, Python's ``fold=0``).

A value none of them reads is ``invalid_date``, naming the formats tried. Each distinct value is
read once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import polars as pl

from syncer.dates import ParsedDates, parse_dates

__all__ = ["DEFAULT_FORMATS", "localise", "parse_datetimes"]

#: what a datetime field reads besides ISO 8601 when its entry gives no ``formats:``
DEFAULT_FORMATS: tuple[str, ...] = ("us", "day_first")
_ISO_START = re.compile(r"^\d{4}-?\d{2}-?\d{2}")


def localise(value: datetime, zone: ZoneInfo) -> datetime:
    """``value`` with an offset: kept when it has one, else read in ``zone`` (a time in a
    gap moves forward by the gap; one in an overlap is the earlier instant)."""
    if value.tzinfo is not None:
        return value
    # fold=0: an overlap gives the earlier instant; a gap gives the offset before it, and the
    # round trip through UTC turns that into the wall-clock time after the gap
    return value.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)


def _iso(text: str) -> datetime | None:
    if not _ISO_START.match(text):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_datetimes(
    values: pl.Series, zone: str, formats: Sequence[str] | None = None
) -> ParsedDates:
    """Read a String series (nulls stay null, no problem) as :data:`ParsedDates`: ISO 8601
    text with an offset, or a problem code (``invalid_date``, ``ambiguous_date``) and its
    detail (the formats tried, or the readings)."""
    tz = ZoneInfo(zone)
    tried = tuple(formats) if formats else DEFAULT_FORMATS
    text = values.cast(pl.String)
    uniq = [v for v in text.drop_nulls().unique().to_list() if isinstance(v, str)]
    answers: dict[str, tuple[str | None, str | None, str | None]] = {}
    rest: list[str] = []
    for v in uniq:
        read = _iso(v.strip())
        if read is None:
            rest.append(v)
        else:
            answers[v] = (localise(read, tz).isoformat(), None, None)
    if rest:
        parsed = parse_dates(pl.Series(rest, dtype=pl.String), tried)
        for v, iso, code, detail in zip(
            rest, parsed.iso.to_list(), parsed.code.to_list(), parsed.detail.to_list(), strict=True
        ):
            if iso is not None:
                answers[v] = (localise(datetime.fromisoformat(iso), tz).isoformat(), None, None)
            elif code == "invalid_date":
                answers[v] = (None, code, f"ISO 8601, {', '.join(tried)}")
            else:
                answers[v] = (None, code, detail)
    keys = pl.Series(list(answers), dtype=pl.String)

    def column(i: int) -> pl.Series:
        new = pl.Series([a[i] for a in answers.values()], dtype=pl.String)
        return text.replace_strict(keys, new, default=None).alias(values.name)

    return ParsedDates(column(0), column(1), column(2))
