"""The checks pydantic cannot make, run on the raw YAML so that every problem is listed at
once: unknown keys and Reevo fields with "did you mean" (:func:`_check_keys`), and the target's
rules (:func:`_check_semantics`): required fields, one-of groups, ``key:``, target options, and
which entry options fit which field kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncer.mapping.models import (
    DedupeSpec,
    EnrollSpec,
    FieldSpec,
    KeySpec,
    Mapping,
    SourceSpec,
    ThenSpec,
)
from syncer.mapping.problems import Problem, _close, _suggest
from syncer.mapping.vocabulary import (
    FIELD_SECTIONS,
    LIST_KINDS,
    LOOKUP_FORMS,
    LOOKUP_KINDS,
    TARGET_OPTIONS,
    closed_stage,
    is_essential,
)
from syncer.targets import DEFAULT, TARGETS, FieldKind, Target
from syncer.yamldoc import Lines

_TOP_KEYS = [k for k in Mapping.model_fields if k not in ("path", "key_line")]
_MODEL_KEYS: dict[str, list[str]] = {
    "source": list(SourceSpec.model_fields),
    "dedupe": list(DedupeSpec.model_fields),
    "field": [k for k in FieldSpec.model_fields if k != "line"],
    "key": list(KeySpec.model_fields),
}


def _check_keys(data: dict[str, Any], lines: Lines, where: str) -> list[Problem]:
    """Unknown keys and Reevo fields, with suggestions (before pydantic, for better text)."""
    problems: list[Problem] = []

    def unknown(path: tuple[Any, ...], what: str, choices: list[str]) -> None:
        key = str(path[-1])
        dotted = ".".join(str(p) for p in path)
        problems.append((lines.line(path), f"{dotted}: unknown {what}{_suggest(key, choices)}"))

    for key in data:
        if key not in _TOP_KEYS:
            unknown((key,), "key", _TOP_KEYS)
    target = data.get("target", DEFAULT)
    spec = TARGETS.get(target) if isinstance(target, str) else None
    if spec is None:
        problems.append(
            (
                lines.line(("target",)),
                f"target: unknown target {target!r}{_suggest(str(target), list(TARGETS))}"
                f" (known: {', '.join(TARGETS)})",
            )
        )
    for sub in ("source", "dedupe", "key"):
        block = data.get(sub)
        if isinstance(block, dict):
            for key in block:
                if key not in _MODEL_KEYS[sub]:
                    unknown((sub, key), f"{sub} option", _MODEL_KEYS[sub])
    _then_keys(data, unknown)
    if spec is not None:
        for option in TARGET_OPTIONS:
            if option in data and option not in spec.options:
                users = [t.name for t in TARGETS.values() if option in t.options]
                problems.append(
                    (
                        lines.line((option,)),
                        f"{option}: not used by target {spec.name} (only by {', '.join(users)})",
                    )
                )
    for section in FIELD_SECTIONS:
        block = data.get(section)
        if block is None:
            continue
        if not isinstance(block, dict):
            problems.append(
                (lines.line((section,)), f"{section}: expected 'Reevo field: source column' lines")
            )
            continue
        if spec is not None and section != "columns" and section not in spec.custom_sections:
            problems.append((lines.line((section,)), f"{section}: not used by target {spec.name}"))
        for name, entry in block.items():
            if spec is not None and section == "columns" and name not in spec.fields:
                hint = _suggest(str(name), list(spec.fields))
                if not hint and str(name).startswith("cus_field__") and spec.custom_sections:
                    hint = f"; custom fields go under {' or '.join(spec.custom_sections)}"
                problems.append(
                    (lines.line((section, name)), f"{section}.{name}: unknown Reevo field{hint}")
                )
            if section != "columns" and not str(name).strip():
                problems.append((lines.line((section, name)), f"{section}: blank field name"))
            if isinstance(entry, dict):
                for key in entry:
                    if key not in _MODEL_KEYS["field"]:
                        unknown((section, name, key), "field option", _MODEL_KEYS["field"])
    return problems


def _then_keys(data: dict[str, Any], unknown: Callable[..., None]) -> None:
    """Unknown keys under ``then:`` and ``then.enroll`` (reported through ``unknown``)."""
    then = data.get("then")
    if not isinstance(then, dict):
        return
    steps = list(ThenSpec.model_fields)
    for key in then:
        if key not in steps:
            unknown(("then", key), "then: step", steps)
    enroll = then.get("enroll")
    if isinstance(enroll, dict):
        options = list(EnrollSpec.model_fields)
        for key in enroll:
            if key not in options:
                unknown(("then", "enroll", key), "enroll option", options)


def _then_problems(data: dict[str, Any], spec: Target, lines: Lines) -> list[Problem]:
    """``then: enroll`` follows a contact import only."""
    if data.get("then") is None or spec.name == DEFAULT:
        return []
    return [
        (
            lines.line(("then",)),
            f"then: only an account_contact mapping takes then: (target {spec.name} has no "
            "step after it); to enroll contacts on their own, use target: sequence_enrollments",
        )
    ]


def _check_semantics(data: dict[str, Any], spec: Target, lines: Lines) -> list[Problem]:
    """Rules that need the target table: required fields, options that fit the field kind.

    Read from the raw YAML, so they are listed with the other problems in the same pass.
    """
    problems: list[Problem] = _then_problems(data, spec, lines)
    columns = data.get("columns")
    if isinstance(columns, dict):  # otherwise 'columns' itself is already reported
        # "emial: ...; did you mean email?" already says how to give the required field
        meant = {_close(str(n), list(spec.fields)) for n in columns if n not in spec.fields}
        for req in spec.required:
            if req not in columns and req not in meant:
                example = "Email" if spec.fields[req] is FieldKind.EMAIL else "<column>"
                problems.append(
                    (
                        lines.line(("columns",)),
                        f"columns: {req} is required (e.g. '{req}: {example}')",
                    )
                )
        lacking = [g for g, _ in spec.one_of if not any(f in columns or f in meant for f in g)]
        for group in lacking:
            problems.append(
                (
                    lines.line(("columns",)),
                    f"columns: map one of {' or '.join(group)} (target {spec.name} needs "
                    "one on every row)",
                )
            )
        # without a group's field the key lacks it too: that problem says so already
        problems += _key_problems(data, columns, spec, lines, probe=not lacking)
    for option, allowed in spec.options.items():
        value = data.get(option)
        if value is not None and value not in allowed:
            problems.append(
                (
                    lines.line((option,)),
                    f"{option}: {value!r} is not one of {' | '.join(allowed)} (default "
                    f"{allowed[0]}){_suggest(str(value), list(allowed))}",
                )
            )
    for section in FIELD_SECTIONS:
        block = data.get(section)
        if not isinstance(block, dict):
            continue
        for name, entry in block.items():
            if section == "columns" and name not in spec.fields:
                continue  # an unknown field is reported as such
            kind = spec.fields.get(name) if section == "columns" else None
            at = lines.line((section, name))
            if not isinstance(entry, dict):
                entry = {"column": entry}  # the shorthand: the kind's own rules still hold
            if entry.get("format") is not None and kind is not FieldKind.PHONE:
                problems.append((at, f"{section}.{name}: format: e164 applies to phone fields"))
            if entry.get("split") is not None and section == "columns" and kind not in LIST_KINDS:
                lists = [n for n, k in spec.fields.items() if k in LIST_KINDS]
                these = f" ({', '.join(lists)})" if lists else ""
                problems.append(
                    (
                        at,
                        f"{section}.{name}: split applies to list fields{these} and "
                        "multi-value custom fields only",
                    )
                )
            problems += _option_problems(section, str(name), entry, kind, spec, lines)
            if section == "columns":
                problems += _kind_problems(str(name), entry, spec, lines)
    return problems


def _key_problems(
    data: dict[str, Any], columns: dict[str, Any], spec: Target, lines: Lines, *, probe: bool
) -> list[Problem]:
    """``key:`` fits the target, and (``probe``) without ``{column: ...}`` the mapped fields
    make one."""
    key = data.get("key")
    at = lines.line(("key",))
    forms = [*spec.key_names, *(["{column: ...}"] if spec.external_key else [])]
    if key is not None:
        if not forms:
            return [
                (
                    at,
                    f"key: target {spec.name} is keyed by its {spec.key_field} only (remove key:)",
                )
            ]
        if isinstance(key, dict):
            if not spec.external_key:
                return [(at, f"key: target {spec.name} takes key: {' | '.join(forms)}")]
            return []  # its column is checked by the model
        if isinstance(key, str) and key not in spec.key_names:
            return [(at, f"key: {key!r} is not a key of target {spec.name}: {' | '.join(forms)}")]
        if not isinstance(key, str):
            return [(at, f"key: give {' | '.join(forms)}")]
    if not probe or spec.key_of is None or isinstance(key, dict):
        return []
    import polars as pl  # only here: key_of builds an expression of the mapped fields

    mapped = {f: pl.lit(None, pl.String) for f in columns if f in spec.fields}
    try:
        spec.key_of(mapped)
    except KeyError:  # a required field is not mapped: reported as such
        return []
    except ValueError as exc:
        text = str(exc).removeprefix(f"{spec.name}: ")
        return [(lines.line(("columns",)), f"columns: no key: {text}")]
    return []


def _kind_problems(name: str, entry: dict[str, Any], spec: Target, lines: Lines) -> list[Problem]:
    """The rules of the new kinds' options: lookup forms, timezone, closed."""
    problems: list[Problem] = []
    kind = spec.fields[name]
    where, at = f"columns.{name}", lines.line(("columns", name))
    forms = [f for f in LOOKUP_FORMS if f in entry]
    if kind in LOOKUP_KINDS:
        allowed = spec.lookups.get(name, ())
        shapes = " or ".join(f"{{{f}: <column>}}" for f in allowed)
        if not forms and ("column" in entry or "value" in entry):
            problems.append(
                (at, f"{where}: a lookup field: give {name}: {shapes}, not a column or value")
            )
        elif len(forms) == 1 and forms[0] not in allowed:
            problems.append((at, f"{where}: {forms[0]}: is not a form of {name}: {shapes}"))
    elif forms:
        lookups = ", ".join(spec.lookups) or "none in this target"
        problems.append(
            (
                lines.line(("columns", name, forms[0])),
                f"{where}: {forms[0]}: applies to lookup fields ({lookups})",
            )
        )
    if kind is FieldKind.DATETIME and entry.get("timezone") is None:
        column = entry.get("column") or "<column>"
        if isinstance(column, list):  # column: [A, B], as written
            column = f"[{', '.join(map(str, column))}]"
        problems.append(
            (
                at,
                f"{where}: {name} needs timezone: the zone of values written without an "
                f"offset, e.g. {name}: {{column: {column}, timezone: America/New_York}}",
            )
        )
    if kind is not FieldKind.DATETIME and entry.get("timezone") is not None:
        dt = [n for n, k in spec.fields.items() if k is FieldKind.DATETIME]
        problems.append(
            (
                lines.line(("columns", name, "timezone")),
                f"{where}: timezone applies to datetime fields ({', '.join(dt) or 'none here'})",
            )
        )
    if kind is FieldKind.ENUM:
        problems += _enum_problems(name, entry, spec.enums[name], lines)
    stage = closed_stage(spec)
    if entry.get("closed") is not None and (stage is None or name != stage[0]):
        problems.append(
            (
                lines.line(("columns", name, "closed")),
                f"{where}: closed applies to the stage entry"
                + (f" ({stage[0]})" if stage else " (target {spec.name} has none)"),
            )
        )
    return problems


def _enum_problems(
    name: str, entry: dict[str, Any], allowed: tuple[str, ...], lines: Lines
) -> list[Problem]:
    """An enum entry's ``values:`` targets and ``value:`` constant are values Reevo takes."""
    from syncer.transform import enum_text

    listed = ", ".join(allowed)
    problems: list[Problem] = []
    values = entry.get("values")
    sent: list[tuple[tuple[str, ...], Any]] = (
        [(("values", k), v) for k, v in values.items()] if isinstance(values, dict) else []
    )
    if entry.get("value") is not None:
        sent.append((("value",), entry["value"]))
    for path, value in sent:
        if value is None or not str(value).strip() or enum_text(str(value)) in allowed:
            continue
        where = ".".join(map(str, ("columns", name, *path)))
        problems.append(
            (
                lines.line(("columns", name, *path)),
                f"{where}: {str(value)!r} is not a {name} Reevo takes: {listed}"
                f"{_suggest(enum_text(str(value)), list(allowed))}",
            )
        )
    return problems


def _option_problems(
    section: str,
    name: str,
    entry: dict[str, Any],
    kind: FieldKind | None,
    spec: Target,
    lines: Lines,
) -> list[Problem]:
    """The rules of on_invalid, optional, owners and formats for one entry."""
    problems: list[Problem] = []
    where = f"{section}.{name}"

    def at(option: str) -> int | None:
        return lines.line((section, name, option))

    essential = section == "columns" and is_essential(spec, name)
    on_invalid = entry.get("on_invalid")
    if on_invalid not in (None, "reject") and essential:
        problems.append(
            (
                at("on_invalid"),
                f"{where}: on_invalid: {on_invalid} is not allowed here: a row cannot be sent "
                f"without its {name} (only reject, the default)",
            )
        )
    if entry.get("optional") is True and essential:
        problems.append(
            (
                at("optional"),
                f"{where}: {name} cannot be optional: every row needs it (remove optional:)",
            )
        )
    if entry.get("owners") is not None and kind is not FieldKind.OWNER_EMAIL:
        owner_fields = [n for n, k in spec.fields.items() if k is FieldKind.OWNER_EMAIL]
        problems.append(
            (
                at("owners"),
                f"{where}: owners applies to owner e-mail fields ({', '.join(owner_fields)})",
            )
        )
    if entry.get("formats") is not None and section == "columns" and kind is not FieldKind.DATETIME:
        problems.append(
            (
                at("formats"),
                f"{where}: formats applies to date fields: datetime fields and the custom "
                f"fields that hold dates ({name} is not a date)",
            )
        )
    if section != "columns":
        for option in ("timezone", "closed", *LOOKUP_FORMS):
            if entry.get(option) is not None:
                problems.append((at(option), f"{where}: {option} does not apply to custom fields"))
    return problems
