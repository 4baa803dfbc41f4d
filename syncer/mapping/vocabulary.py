"""What a mapping may say, read from the target registry (:mod:`syncer.targets`): the field
sections, lookup forms, top-level options and list kinds of the registered targets; a target's
closed stage and the fields no row can go without; the IANA zone names ``timezone:`` takes.
"""

from __future__ import annotations

import difflib
import functools
import zoneinfo

from syncer.targets import TARGETS, FieldKind, Target, custom_sections

#: the mapping's view of a target (the registry's Target; the old name still works)
TargetSpec = Target

#: "columns" and every custom-field section a registered target takes
FIELD_SECTIONS = ("columns", *custom_sections())
#: the forms any registered target's lookup fields take (``domain``, ``name``): entry options
LOOKUP_FORMS: tuple[str, ...] = tuple(
    dict.fromkeys(form for t in TARGETS.values() for forms in t.lookups.values() for form in forms)
)
#: the top-level options any registered target takes (``on_ambiguous``...), with their values
TARGET_OPTIONS: dict[str, tuple[str, ...]] = {
    name: tuple(dict.fromkeys(v for t in TARGETS.values() for v in t.options.get(name, ())))
    for name in dict.fromkeys(n for t in TARGETS.values() for n in t.options)
}
#: the kinds whose value is a list: ``split:`` applies to them under ``columns:``
LIST_KINDS = frozenset({FieldKind.CONTACT_EMAILS, FieldKind.TEXT_LIST, FieldKind.LOOKUP_LIST})
#: the kinds of lookup fields (one object, or a list of them): they take the lookup forms
LOOKUP_KINDS = frozenset({FieldKind.LOOKUP, FieldKind.LOOKUP_LIST})
_BOM = "\ufeff"


def closed_stage(spec: Target) -> tuple[str, str] | None:
    """(stage field, reasons field) of a target whose closed stages need reasons (the stage
    entry takes ``closed:``; a row in a closed stage without reasons is
    ``missing_closed_reason``); None for other targets."""
    if "stage" in spec.fields and "closed_reasons" in spec.fields:
        return "stage", "closed_reasons"
    return None


def is_essential(spec: Target, name: str) -> bool:
    """A Reevo field no row can go without: an e-mail field, a required one, or the key field
    of a target whose key is that field alone (not one computed from several, ``key_of``)."""
    return (
        spec.fields[name] is FieldKind.EMAIL
        or name in spec.required
        or (name == spec.key_field and spec.key_of is None)
    )


@functools.cache
def _zones() -> dict[str, str]:
    """Every IANA zone name syncer knows, by its case-folded form."""
    return {z.casefold(): z for z in sorted(zoneinfo.available_timezones())}


def _check_zone(value: str) -> str:
    """The canonical name of a zone (any case); ValueError with the closest names."""
    zone = _zones().get(value.strip().casefold())
    if zone is not None:
        return zone
    close = difflib.get_close_matches(value.strip(), list(_zones().values()), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise ValueError(
        f"unknown timezone {value!r}{hint} (an IANA zone name such as Europe/Berlin, "
        "America/New_York or UTC)"
    )
