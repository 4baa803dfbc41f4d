"""The time zone ``syncer init`` proposes for a datetime field (``timezone:``): the IANA zone most
rows of a time zone column name, else the one zone of the country most rows name, else this
machine's zone (a guess, listed under "check by hand").
"""

from __future__ import annotations

import functools
import zoneinfo
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

__all__ = ["ZoneGuess", "country_zone", "local_zone", "zone_in"]

#: where the tz database's country table may be (the tzdata package, then the system's)
_ZONE_TABLES = ("tzdata/zoneinfo/zone.tab", "/usr/share/zoneinfo/zone.tab")


@dataclass(frozen=True, slots=True)
class ZoneGuess:
    """A proposed zone, why, and whether it is only a guess (to check by hand)."""

    zone: str
    reason: str
    guess: bool


@functools.cache
def _zones() -> dict[str, str]:
    return {z.casefold(): z for z in zoneinfo.available_timezones()}


def zone_in(values: Iterable[str | None]) -> tuple[str | None, int, int]:
    """(most common IANA zone, cells naming it, cells naming any zone) of a column's cells."""
    found: Counter[str] = Counter()
    for cell in values:
        zone = _zones().get((cell or "").strip().casefold())
        if zone is not None:
            found[zone] += 1
    if not found:
        return None, 0, 0
    zone, n = found.most_common(1)[0]
    return zone, n, sum(found.values())


@functools.cache
def _country_zones() -> dict[str, tuple[str, ...]]:
    """ISO country code -> its zones, from the tz database's ``zone.tab`` (empty when missing)."""
    import importlib.util

    paths: list[Path] = []
    spec = importlib.util.find_spec("tzdata")
    if spec is not None and spec.submodule_search_locations:
        paths.append(Path(next(iter(spec.submodule_search_locations))).parent / _ZONE_TABLES[0])
    paths.append(Path(_ZONE_TABLES[1]))
    for path in paths:
        try:
            text = path.read_text("utf-8")
        except OSError:
            continue
        table: dict[str, list[str]] = {}
        for line in text.splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and not line.startswith("#"):
                table.setdefault(parts[0], []).append(parts[2])
        return {code: tuple(zones) for code, zones in table.items()}
    return {}


def _offsets(zone: str) -> tuple[object, object]:
    """The zone's UTC offsets in January and July (standard and summer time)."""
    tz = zoneinfo.ZoneInfo(zone)
    return tuple(datetime(2025, m, 15, 12, tzinfo=tz).utcoffset() for m in (1, 7))  # type: ignore[return-value]


def country_zone(region: str) -> tuple[str, bool] | None:
    """(the zone of a country, whether that is sure): sure when all its zones keep the same
    clock (``DE`` -> ``Europe/Berlin``), a guess when a few do not (``ES``: the first listed,
    mainland ``Europe/Madrid``, not the Canaries); None for a country of many (``US``)."""
    zones = _country_zones().get(region.upper(), ())
    if not zones:
        return None
    if len({_offsets(z) for z in zones}) == 1:
        return zones[0], True
    return (zones[0], False) if len(zones) <= 3 else None


def local_zone() -> str:
    """This machine's IANA zone name (tzlocal: TZ, /etc/localtime, the Windows registry...);
    ``UTC`` when it cannot be told."""
    try:
        import tzlocal

        name = tzlocal.get_localzone_name()
    except Exception:  # any failure to tell the zone means: fall back to UTC
        name = None
    if name and name.casefold() in _zones():
        return _zones()[name.casefold()]
    return "UTC"
