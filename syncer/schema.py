"""The JSON Schema of mapping files, for editors (yaml-language-server) and ``syncer schema``.

Generated from the pydantic models that validate mappings (:class:`syncer.mapping.Mapping`,
``FieldSpec``, ``SourceSpec``, ``DedupeSpec``) and the target registry
(:mod:`syncer.targets`): ``target`` is an enum of the targets and, per target,
``columns`` takes only that target's Reevo fields (each described by its kind), the required
ones required, and only the options that fit the field's kind. The few rules the models hold in
validators rather than types (the ``field: Column`` shorthand, ``value:`` scalars, one of
``column``/``value``, ``default_region`` needs ``format``) are added here.

The schema ships in the package (:func:`schema_file`); ``python -m syncer.schema --write``
regenerates it after the models change (tests/unit/test_schema.py fails until it is).
"""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncer.dates import DATE_NAMES
from syncer.mapping import (
    FIELD_SECTIONS,
    LOOKUP_FORMS,
    TARGET_OPTIONS,
    FieldSpec,
    Mapping,
    closed_stage,
    is_essential,
)
from syncer.owners import UNKNOWN_POLICIES, OwnersSpec
from syncer.targets import TARGETS, FieldKind, Target, every, get

__all__ = [
    "FieldInfo",
    "OptionInfo",
    "TargetInfo",
    "build_schema",
    "describe_target",
    "field_options",
    "is_essential",
    "modeline",
    "options_for",
    "schema_file",
    "schema_text",
]

DRAFT = "http://json-schema.org/draft-07/schema#"

#: model fields that are syncer's own bookkeeping, never written in a mapping file
_INTERNAL = {"path", "line", "key_line"}

#: what each kind of field holds and what syncer does with it
KIND_TEXT: dict[FieldKind, str] = {
    FieldKind.TEXT: "text, trimmed and Unicode-normalised (NFC)",
    FieldKind.EMAIL: "an e-mail address, trimmed and syntax-checked",
    FieldKind.OWNER_EMAIL: "the e-mail of a Reevo user (syntax-checked; `syncer check` looks "
    "it up)",
    FieldKind.PHONE: "a phone number; with format: e164 converted to E.164 (+14155550123)",
    FieldKind.URL: "a web address; https:// is added when it has no scheme",
    FieldKind.DOMAIN: "a web domain: lowercased, without scheme, www., port or path "
    "(https://www.Acme.com/about -> acme.com)",
    FieldKind.CONTACT_EMAIL: "a contact's e-mail address, trimmed and syntax-checked",
    FieldKind.CONTACT_EMAILS: "a list of contacts' e-mail addresses (split: on a separator), "
    "each syntax-checked",
    FieldKind.DECIMAL: "an amount: currency symbols or codes and either separator convention "
    "($12,500.00, 12.500,00 €) -> a number; an unclear one (1,234) is refused",
    FieldKind.DATETIME: "a date and time, sent with its offset; values without one are read in "
    "the entry's timezone: (required)",
    FieldKind.TEXT_LIST: "a list of texts (split: on a separator)",
    FieldKind.LOOKUP: "another Reevo object found by one of its keys ({domain: Column} or "
    "{name: Column})",
    FieldKind.LOOKUP_LIST: "other Reevo objects, each found by one of its keys ({email: "
    "Column, split: ';'}): looked up once per distinct value",
    FieldKind.ENUM: "one of the values the field lists (any case; spaces and hyphens as _), "
    "sent upper-case; values: maps others to them; any other is invalid_enum",
}

# Which options fit which entries: the rules syncer.mapping checks in code (_check_semantics,
# _option_problems), as data; tests/unit/test_schema.py holds the two equal.
#: options that only fields of some kinds take (None: custom fields); every other option fits
#: every field
ONLY_KINDS: dict[str, frozenset[FieldKind | None]] = {
    "format": frozenset({FieldKind.PHONE}),
    "default_region": frozenset({FieldKind.PHONE}),
    "owners": frozenset({FieldKind.OWNER_EMAIL}),
    "split": frozenset(
        {None, FieldKind.CONTACT_EMAILS, FieldKind.TEXT_LIST, FieldKind.LOOKUP_LIST}
    ),
    "formats": frozenset({None, FieldKind.DATETIME}),
    "timezone": frozenset({FieldKind.DATETIME}),
    **{form: frozenset({FieldKind.LOOKUP, FieldKind.LOOKUP_LIST}) for form in LOOKUP_FORMS},
}
#: options only the stage entry takes (:func:`syncer.mapping.closed_stage`)
STAGE_ONLY = frozenset({"closed"})
#: the sources an entry gives: a lookup field one of its forms, any other column or value
_SOURCES = ("column", "value")
#: the only values these options may have on a field no row can go without (:func:`is_essential`)
ESSENTIAL_ONLY: dict[str, tuple[Any, ...]] = {"on_invalid": ("reject",), "optional": (False,)}

#: descriptions of the options and top-level keys the models do not describe themselves
_TEXT: dict[str, str] = {
    "column": "The source column's header (spaces, a BOM and case are ignored).",
    "value": "A constant sent for every row instead of a column.",
    "format": "e164: convert to E.164; a number that is not valid makes the row invalid_phone.",
    "default_region": "Two-letter region (e.g. US) for numbers written without +country code; "
    "needs format: e164.",
    "split": "Split the cell on this separator, trim each part, drop blanks, send a list "
    "(multi-value custom fields).",
    "source": "How to read the source file; every key optional (detected when absent).",
    "sheet": "Excel: sheet name, or its 0-based index. Default: the first sheet.",
    "delimiter": "Text files: the field separator (, ; tab or |). Default: sniffed.",
    "encoding": "Text files: the encoding (utf-8, cp1252, ...). Default: detected.",
    "columns": "Reevo field: source column | {column: ..., options} | {value: ...}.",
    "dedupe": "Which of several rows with the same key is sent.",
    "keep": "first or last (default) of the rows with the same key.",
    "on_empty": "omit (default): a blank cell leaves Reevo's value alone; clear: it is sent as "
    '"" and clears the field (text fields only: a blank amount, date-time, list, lookup or '
    "stage is left out even then, and a note says so).",
}


def _target_texts() -> dict[str, str]:
    """Descriptions the targets give: ``target`` (each one's summary), their custom sections."""
    summaries = "; ".join(f"{t.name} {t.summary}" for t in every())
    texts = {"target": f"The Reevo endpoint; {summaries}."}
    for target in every():
        for section in target.custom:
            texts.setdefault(section.name, section.description)
    return texts


def schema_file() -> Path:
    """The schema shipped inside the package."""
    return Path(__file__).resolve().parent / "schemas" / "mapping.schema.json"


def modeline() -> str:
    """The first line of a generated mapping: points yaml-language-server at the schema."""
    return f"# yaml-language-server: $schema={schema_file().as_uri()}"


@dataclass(frozen=True, slots=True)
class OptionInfo:
    """One option a mapping entry takes: its name, the values it may have when they are few
    (as written in YAML), and what it does."""

    name: str
    values: tuple[str, ...]
    description: str

    def label(self) -> str:
        """``format: e164`` for an option with fixed values, else the name."""
        return f"{self.name}: {'|'.join(self.values)}" if self.values else self.name


def _yaml(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _field_props() -> dict[str, dict[str, Any]]:
    """FieldSpec's properties in the model's JSON Schema, internal ones left out."""
    props: dict[str, dict[str, Any]] = FieldSpec.model_json_schema()["properties"]
    return {k: v for k, v in props.items() if k not in _INTERNAL}


def _values(prop: dict[str, Any]) -> tuple[str, ...]:
    """The fixed values a property schema allows (its enum / const), null left out."""
    found: list[str] = []
    for alt in [prop, *prop.get("anyOf", [])]:
        if "const" in alt and alt["const"] is not None:
            found.append(_yaml(alt["const"]))
        found += [_yaml(v) for v in alt.get("enum", []) if v is not None]
    return tuple(dict.fromkeys(found))


def options_for(
    kind: FieldKind | None,
    *,
    essential: bool = False,
    forms: tuple[str, ...] | None = None,
    stage: bool = False,
) -> list[OptionInfo]:
    """The options an entry takes: a Reevo field of ``kind`` (``essential``: one no row can go
    without, see :func:`is_essential`; ``forms``: a lookup field's, default all; ``stage``: the
    stage entry), or a custom field (None), in the model's order."""
    out: list[OptionInfo] = []
    for name, prop in _field_props().items():
        if kind not in ONLY_KINDS.get(name, {kind}) or (name in STAGE_ONLY and not stage):
            continue
        if name in LOOKUP_FORMS and forms is not None and name not in forms:
            continue
        if kind in (FieldKind.LOOKUP, FieldKind.LOOKUP_LIST) and name in _SOURCES:
            continue
        values = _values(prop)
        if essential and name in ESSENTIAL_ONLY:
            values = tuple(_yaml(v) for v in ESSENTIAL_ONLY[name])
        text = prop.get("description") or _TEXT.get(name) or prop["title"]
        out.append(OptionInfo(name, values, text))
    return out


def _describe(key: str, prop: dict[str, Any]) -> dict[str, Any]:
    """``prop`` with its description; a ``$ref`` goes into ``allOf`` (draft-07 ignores the
    other keys beside a ``$ref``)."""
    out = dict(prop)
    text = _TEXT.get(key) or _target_texts().get(key)
    if "description" not in out and text:
        out["description"] = text
    if "$ref" in out and len(out) > 1:
        out["allOf"] = [{"$ref": out.pop("$ref")}]
    return out


def _as_written(name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """``prop`` widened (or narrowed) to what the model's validators accept as written in YAML:
    the types alone say less (a single ``null_values`` entry, a number as ``value:``...)."""
    doc = {k: v for k, v in prop.items() if k not in ("anyOf", "type", "items", "const", "enum")}
    null: dict[str, Any] = {"type": "null"}
    if name == "value":  # numbers and booleans are sent as text
        return {**doc, "type": ["string", "number", "boolean", "null"]}
    if name == "null_values":  # one entry or a list; numbers are their text
        text: dict[str, Any] = {"type": ["string", "number"]}
        return {**doc, "anyOf": [text, {"type": "array", "items": text}, null]}
    if name == "formats":  # one entry or a list of named formats and strptime patterns
        date: dict[str, Any] = {
            "anyOf": [{"enum": list(DATE_NAMES)}, {"type": "string", "pattern": "%"}]
        }
        many = {"type": "array", "items": date, "minItems": 1, "uniqueItems": True}
        return {**doc, "anyOf": [date, many, null]}
    if name == "owners":  # an inline map, or the path of a CSV file of name,email
        # `unknown` (any case) is reserved: the top-level map's unknown-owner policy
        inline = {
            "type": "object",
            "propertyNames": {"not": {"pattern": _UNKNOWN_KEY}},
            "additionalProperties": {"type": "string", "pattern": "@"},
        }
        return {**doc, "anyOf": [inline, {"type": "string", "pattern": r"\S"}, null]}
    if name == "values":  # source value -> Reevo value, scalars as text
        scalar: dict[str, Any] = {"type": ["string", "number", "boolean"]}
        return {**doc, "anyOf": [{"type": "object", "additionalProperties": scalar}, null]}
    if name == "closed":  # one stage or a list
        stage: dict[str, Any] = {"type": "string", "pattern": r"\S"}
        many_stages = {"type": "array", "items": stage, "minItems": 1}
        return {**doc, "anyOf": [stage, many_stages, null]}
    if name == "timezone":  # an IANA zone, any case (checked by zoneinfo)
        zone = {"type": "string", "pattern": r"^\S+$", "examples": ["Europe/Berlin", "UTC"]}
        return {**doc, "anyOf": [zone, null]}
    if name == "column" or name in LOOKUP_FORMS:  # a column, or several read in order
        one: dict[str, Any] = {"type": ["string", "number"], "pattern": r"\S"}
        many = {"type": "array", "items": one, "minItems": 1, "uniqueItems": True}
        return {**doc, "anyOf": [one, many]}
    if name == "default_region":  # checked against phonenumbers' regions, any case
        region = {"type": "string", "pattern": r"^\s*[A-Za-z]{2}\s*$", "examples": ["US", "GB"]}
        return {**doc, "anyOf": [region, null]}
    return prop


#: a name that is the reserved ``unknown`` key in some case, trimmed (syncer.owners.owner_key)
_UNKNOWN_KEY = r"^\s*[Uu][Nn][Kk][Nn][Oo][Ww][Nn]\s*$"


def _top_owners(prop: dict[str, Any]) -> dict[str, Any]:
    """The top-level ``owners:``: the field option's forms, and the map's ``unknown:`` key
    (the unknown-owner policy, :class:`syncer.owners.OwnersSpec`)."""
    out = _as_written("owners", prop)
    inline = out["anyOf"][0]
    policy = OwnersSpec.model_fields["unknown"]
    inline["properties"] = {
        "unknown": {"enum": list(UNKNOWN_POLICIES), "description": policy.description}
    }
    inline["propertyNames"] = {"anyOf": [{"const": "unknown"}, inline["propertyNames"]]}
    return out


def _entry_def(options: list[OptionInfo], what: str, *, essential: bool = False) -> dict[str, Any]:
    """An entry: the shorthand ``field: Column`` or an object with ``options``."""
    props = _field_props()
    names = [o.name for o in options]
    sources = [n for n in names if n in (*_SOURCES, *LOOKUP_FORMS)]
    shape = " or ".join(f"{{{n}: ...}}" for n in sources)
    obj: dict[str, Any] = {
        "type": "object",
        "description": f"{what}: {shape}, with options",
        "properties": {},
        "additionalProperties": False,
        # the model's rule: exactly one source (column / value, or one lookup form)
        "oneOf": [{"required": [n]} for n in sources],
    }
    if "timezone" in names:  # a datetime field needs its zone
        obj["required"] = ["timezone"]
    for option in options:
        prop = _as_written(option.name, copy.deepcopy(props[option.name]))
        prop["description"] = option.description
        if essential and option.name in ESSENTIAL_ONLY:
            prop = {**prop, "enum": list(ESSENTIAL_ONLY[option.name])}
        obj["properties"][option.name] = prop
    # the model's other rules between options
    if "default_region" in names and "format" in names:
        obj["dependencies"] = {"default_region": ["format"]}
    if "optional" in names:
        obj["if"] = {"properties": {"optional": {"const": True}}, "required": ["optional"]}
        readers = [n for n in sources if n != "value"]  # a column, or a lookup form
        obj["then"] = {"anyOf": [{"required": [n]} for n in readers]}
    if "formats" in names and "split" in names:
        obj["not"] = {"required": ["formats", "split"]}
    shorthand = {
        "type": ["string", "number"],
        "pattern": r"\S",
        "description": f"{what}: the source column's header",
    }
    if "column" not in names or "timezone" in names:  # a lookup, a datetime: no shorthand
        return {"anyOf": [obj]}
    return {"anyOf": [shorthand, obj]}


#: what decides a Reevo field's entry definition: kind, essential, lookup forms, stage entry
_Shape = tuple[FieldKind, bool, tuple[str, ...] | None, bool]


def _shape(spec: Target, name: str) -> _Shape:
    kind = spec.fields[name]
    lookup = kind in (FieldKind.LOOKUP, FieldKind.LOOKUP_LIST)
    forms = spec.lookups.get(name, ()) if lookup else None
    stage = closed_stage(spec)
    return kind, is_essential(spec, name), forms, stage is not None and name == stage[0]


def field_options(spec: Target, name: str) -> list[OptionInfo]:
    """The options the entry of ``spec``'s Reevo field ``name`` takes."""
    kind, essential, forms, stage = _shape(spec, name)
    return options_for(kind, essential=essential, forms=forms, stage=stage)


def _def_name(shape: _Shape) -> str:
    kind, essential, forms, stage = shape
    extra = "".join(f"_{f}" for f in forms or ()) + ("_stage" if stage else "")
    return f"{'required_' if essential else ''}{kind.value}{extra}_field"


def _field_text(spec: Target, name: str) -> str:
    kind = spec.fields[name]
    text = f"Kind {kind.value}: {KIND_TEXT.get(kind, kind.value)}."
    if name in spec.enums:
        text += f" One of: {', '.join(spec.enums[name])}."
    if _is_key(spec, name):
        text += " The key: rows with the same value are one record."
    if name in spec.required:
        text += " Required."
    return text


def _is_key(spec: Target, name: str) -> bool:
    """Whether ``name`` is the key (not a field of a key made of several, or a hash)."""
    return name == spec.key_field and (spec.key_of is None or bool(spec.key_names))


def _key_groups(spec: Target) -> list[str]:
    """The fields of which one must be mapped for ``key_of`` to make a key (besides the
    required ones and the ``one_of`` groups); [] when those make one already."""
    if spec.key_of is None:
        return []
    import polars as pl

    base = {*spec.required, *(group[0] for group, _ in spec.one_of)}

    def makes(names: set[str]) -> bool:
        try:
            assert spec.key_of is not None
            spec.key_of({n: pl.lit(None, pl.String) for n in names})
        except (KeyError, ValueError):
            return False
        return True

    if makes(base):
        return []
    return [f for f in spec.fields if f not in base and makes({*base, f})]


def _key_prop(spec: Target) -> Any:
    """What ``key:`` may be for ``spec`` (False: it takes none)."""
    forms: list[dict[str, Any]] = []
    if spec.key_names:
        forms.append({"enum": list(spec.key_names)})
    if spec.external_key:
        forms.append({"$ref": "#/definitions/KeySpec"})
    return {"anyOf": forms} if forms else False


def _target_rule(spec: Target, default: str) -> dict[str, Any]:
    """``if target is spec.name then`` only its fields, its required ones, its sections, its
    key forms and options; one of each ``one_of`` group and of the fields its key needs."""
    cond: dict[str, Any] = {"properties": {"target": {"const": spec.name}}}
    if spec.name != default:  # an absent target is the default one
        cond["required"] = ["target"]
    columns: dict[str, Any] = {
        "properties": {
            name: {
                "description": _field_text(spec, name),
                "allOf": [{"$ref": f"#/definitions/{_def_name(_shape(spec, name))}"}],
            }
            for name in spec.fields
        },
        "additionalProperties": False,
    }
    if spec.required:
        columns["required"] = list(spec.required)
    groups = [{"anyOf": [{"required": [f]} for f in group]} for group, _ in spec.one_of]
    if groups:
        columns["allOf"] = groups
    then: dict[str, Any] = {"properties": {"columns": columns, "key": _key_prop(spec)}}
    for section in FIELD_SECTIONS:
        if section != "columns" and section not in spec.custom_sections:
            then["properties"][section] = False
    for option in TARGET_OPTIONS:
        allowed = spec.options.get(option)
        then["properties"][option] = {"enum": list(allowed)} if allowed else False
    if spec.name != default:  # then: enroll follows a contact import only
        then["properties"]["then"] = False
    needed = _key_groups(spec)
    if needed:  # unless key: {column: ...} gives the key
        external = {"properties": {"key": {"type": "object"}}, "required": ["key"]}
        mapped = {"properties": {"columns": {"anyOf": [{"required": [f]} for f in needed]}}}
        then["anyOf"] = [external, mapped]
    return {"if": cond, "then": then}


def build_schema() -> dict[str, Any]:
    """The JSON Schema (draft-07) of a mapping file."""
    raw = Mapping.model_json_schema(ref_template="#/definitions/{model}")
    defs: dict[str, Any] = raw.pop("$defs", {})
    defs.pop("FieldSpec", None)
    defs.pop("OwnersSpec", None)
    for model in defs.values():
        model["properties"] = {k: _describe(k, v) for k, v in model["properties"].items()}
    props = {
        k: _describe(k, _top_owners(v) if k == "owners" else _as_written(k, v))
        for k, v in raw["properties"].items()
        if k not in _INTERNAL
    }
    default = str(Mapping.model_fields["target"].default)
    props["target"] = {**props["target"], "enum": list(TARGETS)}
    # each target's rule below says which fields and options its columns take
    props["columns"].pop("additionalProperties", None)
    for section in FIELD_SECTIONS:
        if section != "columns":
            props[section]["additionalProperties"] = {"$ref": "#/definitions/custom_field"}
            props[section]["propertyNames"] = {"pattern": r"\S"}
    uses = {_shape(spec, name) for spec in TARGETS.values() for name in spec.fields}
    for shape in uses:
        kind, essential, forms, stage = shape
        what = f"A {'required ' if essential else ''}{kind.value} field"
        options = options_for(kind, essential=essential, forms=forms, stage=stage)
        defs[_def_name(shape)] = _entry_def(options, what, essential=essential)
    for option, allowed in TARGET_OPTIONS.items():
        props[option] = {**props[option], "enum": list(allowed)}
        props[option].pop("anyOf", None)
    defs["custom_field"] = _entry_def(options_for(None), "A custom field")
    _enroll_entries(defs)
    return {
        "$schema": DRAFT,
        "title": "syncer mapping file",
        "description": "Which Reevo field each source column feeds (README, 'Mapping files'). "
        "`syncer fields` lists every target's fields.",
        "type": "object",
        "properties": props,
        "required": raw.get("required", ["columns"]),
        "additionalProperties": False,
        "allOf": [_target_rule(spec, default) for spec in TARGETS.values()],
        "definitions": dict(sorted(defs.items())),
    }


def _enroll_entries(defs: dict[str, Any]) -> None:
    """``then.enroll``'s entries are the sequence_enrollments target's (a header, ``{column:
    ...}`` or ``{value: ...}``), not pydantic's FieldSpec (which the schema does not ship)."""
    from syncer.targets.sequence_enrollments import TARGET

    props = defs["EnrollSpec"]["properties"]
    for name in ("sequence_id", "mailbox_email"):
        entry = {"$ref": f"#/definitions/{_def_name(_shape(TARGET, name))}"}
        text = props[name].get("description", "")
        props[name] = {"description": text, "allOf": [entry]}


def schema_text() -> str:
    """:func:`build_schema` as the shipped file's text (indented, sorted as built, newline)."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One Reevo field of a target, for ``syncer fields``."""

    name: str
    kind: FieldKind
    required: bool
    key: bool
    options: list[OptionInfo]
    #: an enum field's values (Reevo's spelling); empty for other kinds
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TargetInfo:
    """A target's fields, key, custom-field sections and the options of each."""

    name: str
    default: bool
    key: str
    fields: list[FieldInfo]
    custom_sections: tuple[str, ...]
    custom_options: list[OptionInfo]
    #: what ``key:`` may say (``domain``, ``{column: ...}``); empty: the key field only
    key_forms: tuple[str, ...] = ()
    #: the top-level options and their values (the first is the default)
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: groups of fields of which every row needs one, with the code of a row without
    one_of: tuple[tuple[tuple[str, ...], str], ...] = ()
    #: the steps ``then:`` may add after the rows (account_contact: enroll), one line each
    then: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""

        def opts(options: list[OptionInfo]) -> list[dict[str, Any]]:
            return [
                {"name": o.name, "values": list(o.values), "description": o.description}
                for o in options
            ]

        return {
            "name": self.name,
            "default": self.default,
            "key": self.key,
            "fields": [
                {
                    "name": f.name,
                    "kind": f.kind.value,
                    "required": f.required,
                    "key": f.key,
                    "description": KIND_TEXT.get(f.kind, f.kind.value),
                    "options": opts(f.options),
                    **({"values": list(f.values)} if f.values else {}),
                }
                for f in self.fields
            ],
            "custom_sections": list(self.custom_sections),
            "custom_options": opts(self.custom_options) if self.custom_sections else [],
            "key_forms": list(self.key_forms),
            "options": {name: list(values) for name, values in self.options.items()},
            "one_of": [{"fields": list(g), "code": code} for g, code in self.one_of],
            "then": list(self.then),
        }


#: what ``then:`` of an account_contact mapping may add (README, 'Sequence enrollments')
THEN_STEPS = (
    "then: {enroll: {sequence_id: <header> | {column: ...} | {value: <id>}, mailbox_email: "
    "<header> | {column: ...} | {value: ...}, only: created|all}} enrolls the contacts the run "
    "created (all: every one that succeeded) in a sequence; results get enrolled and "
    "enroll_error",
)


def describe_target(name: str) -> TargetInfo:
    """The fields of target ``name``. ConfigError (with "did you mean") when it is unknown."""
    spec = get(name)
    default = str(Mapping.model_fields["target"].default)
    return TargetInfo(
        name=spec.name,
        default=spec.name == default,
        key=spec.key_field,
        fields=[
            FieldInfo(
                name=f,
                kind=kind,
                required=f in spec.required,
                key=_is_key(spec, f),
                options=field_options(spec, f),
                values=tuple(spec.enums.get(f, ())),
            )
            for f, kind in spec.fields.items()
        ],
        custom_sections=spec.custom_sections,
        custom_options=options_for(None),
        key_forms=(
            *(spec.key_names or ([spec.key_text] if spec.key_text else [])),
            *(["{column: ...}"] if spec.external_key else []),
        ),
        options={name: tuple(values) for name, values in spec.options.items()},
        one_of=spec.one_of,
        then=THEN_STEPS if spec.name == default else (),
    )


def _main(argv: list[str]) -> int:
    """``python -m syncer.schema --write``: regenerate the shipped file (else: print it)."""
    if argv == ["--write"]:
        schema_file().parent.mkdir(parents=True, exist_ok=True)
        schema_file().write_text(schema_text(), encoding="utf-8")
        sys.stderr.write(f"wrote {schema_file()}\n")
        return 0
    if not argv:
        sys.stdout.write(schema_text())
        return 0
    sys.stderr.write("usage: python -m syncer.schema [--write]\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
