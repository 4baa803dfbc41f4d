"""Zone-required timestamps: offsets kept, wall-clock times read in the field's zone, a date
alone at 00:00 there, DST gaps moved forward and overlaps at the earlier instant."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from syncer.datetimes import localise, parse_datetimes

Read = tuple[str | None, str | None, str | None]


def read(values: list[str | None], zone: str, formats: list[str] | None = None) -> list[Read]:
    parsed = parse_datetimes(pl.Series(values, dtype=pl.String), zone, formats)
    columns = (parsed.iso.to_list(), parsed.code.to_list(), parsed.detail.to_list())
    return list(zip(*columns, strict=True))


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026-03-01T09:00", "2026-03-01T09:00:00-05:00"),
        ("2026-03-01 09:00:00", "2026-03-01T09:00:00-05:00"),
        ("2026-03-01", "2026-03-01T00:00:00-05:00"),  # a date alone: midnight there
        ("2026-07-01T09:00", "2026-07-01T09:00:00-04:00"),  # summer time
        ("2026-03-01T09:00:00.250", "2026-03-01T09:00:00.250000-05:00"),
        ("2026-03-01T09:00:00Z", "2026-03-01T09:00:00+00:00"),  # an offset is kept
        ("2026-03-01T09:00+02:00", "2026-03-01T09:00:00+02:00"),
        ("3/25/2026 5:05 PM", "2026-03-25T17:05:00-04:00"),  # us (the 25th: not ambiguous)
        ("25.03.2026 17:05", "2026-03-25T17:05:00-04:00"),  # day_first
        ("Mar 25, 2026", "2026-03-25T00:00:00-04:00"),
    ],
)
def test_values_are_read_in_the_field_zone(text: str, iso: str) -> None:
    assert read([text], "America/New_York") == [(iso, None, None)]


def test_a_wall_clock_time_in_the_dst_gap_moves_forward_by_the_gap() -> None:
    # Europe/Berlin skips 02:00-03:00 on 2026-03-29: 02:30 does not exist there
    assert read(["2026-03-29 02:30"], "Europe/Berlin") == [
        ("2026-03-29T03:30:00+02:00", None, None)
    ]
    # New York skips 02:00-03:00 on 2026-03-08
    assert read(["2026-03-08T02:15"], "America/New_York")[0][0] == "2026-03-08T03:15:00-04:00"


def test_a_wall_clock_time_in_the_overlap_is_the_earlier_instant() -> None:
    # Europe/Berlin repeats 02:00-03:00 on 2026-10-25: first at +02:00, then at +01:00
    assert read(["2026-10-25T02:30"], "Europe/Berlin") == [
        ("2026-10-25T02:30:00+02:00", None, None)
    ]
    earlier = localise(datetime(2026, 11, 1, 1, 30), ZoneInfo("America/New_York"))
    assert earlier.isoformat() == "2026-11-01T01:30:00-04:00"


def test_bad_and_ambiguous_values_name_what_was_tried() -> None:
    got = read(["soon", "03/04/2026", None, "2026-13-01"], "UTC")
    assert got[0] == (None, "invalid_date", "ISO 8601, us, day_first")
    assert got[1] == (None, "ambiguous_date", "2026-03-04 (us) or 2026-04-03 (day_first)")
    assert got[2] == (None, None, None)
    assert got[3] == (None, "invalid_date", "ISO 8601, us, day_first")


def test_formats_replace_the_other_conventions_but_iso_is_always_read() -> None:
    got = read(["03/04/2026 10:00", "2026-03-04T10:00", "3/25/2026"], "UTC", ["day_first"])
    assert got[0] == ("2026-04-03T10:00:00+00:00", None, None)
    assert got[1] == ("2026-03-04T10:00:00+00:00", None, None)
    assert got[2] == (None, "invalid_date", "ISO 8601, day_first")


def test_each_distinct_value_once_and_in_place() -> None:
    values = ["2026-03-01T09:00"] * 3 + [None, "2026-03-02"]
    got = [iso for iso, _, _ in read(values, "Asia/Kolkata")]
    assert got == ["2026-03-01T09:00:00+05:30"] * 3 + [None, "2026-03-02T00:00:00+05:30"]
