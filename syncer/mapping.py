"""YAML mapping files -> :class:`Mapping` (pydantic), with file:line errors and "did you mean".

A mapping says which Reevo field each source column feeds. The Reevo fields a target accepts,
what kind of value each holds and its custom-field sections come from the target registry
(:mod:`syncer.targets`, re-exported here as :data:`TARGETS`); a new target is a new module there.
So do the rest of a target's contract the mapping checks: its ``key:`` forms (``key: domain``,
``key: {column: ...}``), its top-level options (``on_ambiguous: fail|first``...), its lookup
fields and their forms (``account: {domain: Column}``), and the groups of fields of which one
must be mapped (``account`` or ``account_id``).
"""

from __future__ import annotations

import difflib
import functools
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import phonenumbers
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from syncer.dates import check_formats
from syncer.errors import MappingError, SourceError
from syncer.nulls import DEFAULT_NULL_VALUES, parse_null_values
from syncer.owners import OwnersSpec, UnknownPolicy, owners_option, top_owners_option
from syncer.results import SOURCE_SUFFIX
from syncer.targets import DEFAULT, TARGETS, FieldKind, Target, custom_sections
from syncer.yamldoc import Lines, parse_yaml

__all__ = [
    "DEFAULT_NULL_VALUES",
    "TARGETS",
    "DedupeSpec",
    "FieldKind",
    "FieldSpec",
    "Mapping",
    "MappingDraft",
    "SourceSpec",
    "TargetSpec",
    "absent_optional",
    "closed_stage",
    "is_essential",
    "load_mapping",
    "read_mapping",
    "resolve_columns",
]


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
LIST_KINDS = frozenset({FieldKind.CONTACT_EMAILS, FieldKind.TEXT_LIST})
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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


NullValues = Annotated[tuple[str, ...] | None, BeforeValidator(parse_null_values)]
Owners = Annotated[dict[str, str] | None, BeforeValidator(owners_option)]
TopOwners = Annotated[OwnersSpec | None, BeforeValidator(top_owners_option)]


def _lookup_form_fields(namespace: dict[str, Any]) -> None:
    """Add an option per lookup form (:data:`LOOKUP_FORMS`), a column or a list of them like
    ``column:``: ``account: {domain: Column}`` reads the column and finds the account by its
    domain."""
    for form in LOOKUP_FORMS:
        namespace["__annotations__"][form] = "str | tuple[str, ...] | None"
        namespace[form] = Field(
            default=None,
            description=f"Lookup fields: the column holding the {form} the object is found by.",
        )


class FieldSpec(_Strict):
    """One entry under columns / contact_custom_fields / account_custom_fields."""

    column: str | tuple[str, ...] | None = Field(
        default=None,
        description="The source column's header (spaces, a BOM and case are ignored), or a "
        "list of them: each row reads the first whose cell is not blank (null_values count "
        "as blank), e.g. [Closed Won Reason, Closed Lost Reason].",
    )
    value: str | None = None
    format: Literal["e164"] | None = None
    default_region: str | None = None
    split: str | None = None
    null_values: NullValues = Field(
        default=None,
        description="Cells that count as blank for this field, trimmed, any case (replaces the "
        "top-level list; [] turns it off).",
    )
    on_invalid: Literal["reject", "drop", "warn"] = Field(
        default="reject",
        description="An invalid value: reject the row (default), drop the field from the row, "
        "or warn and send it as written; drop and warn add a row warning. email: reject only.",
    )
    optional: bool = Field(
        default=False,
        description="The column may be absent from the file: the field is then not sent "
        "(a note says so). Not for email.",
    )
    owners: Owners = Field(
        default=None,
        description="Owner e-mail fields: owner name -> e-mail, a map or a CSV file of "
        "name,email (relative to the mapping file).",
    )
    formats: tuple[str, ...] | None = Field(
        default=None,
        description="Custom fields holding dates, and datetime fields: iso, us, day_first "
        "and/or strptime patterns, tried in order; sent as ISO 8601; ambiguous values are "
        "rejected.",
    )
    values: dict[str, str] | None = Field(
        default=None,
        description="Source value -> the value sent, matched trimmed and ignoring case (each "
        "part of a split list); other values pass through; the field's checks see the result.",
    )
    timezone: str | None = Field(
        default=None,
        description="Datetime fields (required there): the IANA zone, e.g. Europe/Berlin, "
        "of values written without an offset.",
    )
    closed: tuple[str, ...] | None = Field(
        default=None,
        description="The stage entry: the closed stages (default: the names holding the word "
        "won or lost); a row in a closed stage needs closed_reasons.",
    )
    _lookup_form_fields(locals())
    line: int | None = None

    @property
    def headers(self) -> tuple[str, ...]:
        """The source columns the entry reads, in order (none for a ``value:``)."""
        if self.column is None:
            return ()
        return (self.column,) if isinstance(self.column, str) else self.column

    @property
    def lookup(self) -> str | None:
        """The lookup form of a lookup entry (``account: {domain: Column}`` -> ``domain``)."""
        return next((form for form in LOOKUP_FORMS if getattr(self, form, None)), None)

    @field_validator("values", mode="before")
    @classmethod
    def _values(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out: dict[str, str] = {}
        seen: dict[str, str] = {}
        for key, value in v.items():
            if key is None or isinstance(value, list | dict) or value is None:
                what = key if value is None else value
                raise ValueError(
                    f"values: {key!r}: {what!r} is not a value; write 'source value: Reevo "
                    "value' lines (quote null, yes, no...)"
                )
            k, val = _scalar_text(key), _scalar_text(value)
            folded = k.strip().casefold()
            if not folded:
                raise ValueError("values: a blank source value cannot be mapped")
            if folded in seen:
                raise ValueError(f"values: {seen[folded]!r} and {k!r} are the same value")
            seen[folded] = k
            out[k] = val
        return out

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str | None) -> str | None:
        return v if v is None else _check_zone(v)

    @field_validator("closed", mode="before")
    @classmethod
    def _closed(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list) and not v:
            raise ValueError("closed needs at least one stage name, e.g. closed: [Closed Won]")
        return v

    @field_validator("formats", mode="before")
    @classmethod
    def _formats(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list) and all(isinstance(item, str) for item in v):
            problem = check_formats(v)
            if problem:
                raise ValueError(problem)
        return v

    @field_validator("column", *LOOKUP_FORMS, mode="before")
    @classmethod
    def _columns(cls, v: Any) -> Any:
        """A column, or a list of them (read in order: the first cell not blank); a list of
        one is that column."""
        if not isinstance(v, list):
            return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
        if not v:
            raise ValueError("an empty list names no column: give one or more, e.g. [A, B]")
        out: list[str] = []
        seen: dict[str, str] = {}
        for item in v:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise ValueError(f"{item!r} in the list is not a column name")
            name = str(item)
            folded = name.strip(" \t" + _BOM).casefold()
            if not folded:
                raise ValueError("a column name in the list is blank")
            if folded in seen:
                raise ValueError(f"{seen[folded]!r} and {name!r} in the list are the same column")
            seen[folded] = name
            out.append(name)
        return out[0] if len(out) == 1 else tuple(out)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"column": data}
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"column": str(data)}
        if isinstance(data, list):
            raise ValueError(
                "a list of columns goes under column: (e.g. {column: [A, B]}): each row reads "
                "the first of them whose cell is not blank"
            )
        if isinstance(data, dict):  # a lookup form names the column: {domain: Column}
            forms = [k for k in data if k in LOOKUP_FORMS]
            if len(forms) > 1 or (forms and ("column" in data or "value" in data)):
                given = ", ".join(f"{k}:" for k in data if k in (*forms, "column", "value"))
                raise ValueError(
                    f"give exactly one source: {given} are several (a lookup field takes one "
                    f"of {', '.join(f'{{{f}: <column>}}' for f in LOOKUP_FORMS)})"
                )
            if forms and isinstance(data[forms[0]], str | int | float | list):
                return {**data, "column": data[forms[0]]}
        return data

    @field_validator("value", mode="before")
    @classmethod
    def _scalar_value(cls, v: Any) -> Any:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return str(v)
        return v

    @field_validator("default_region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        if v is None:
            return v
        region = v.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            close = difflib.get_close_matches(region, sorted(phonenumbers.SUPPORTED_REGIONS), 1)
            hint = f"; did you mean {close[0]}?" if close else " (use a two-letter code like US)"
            raise ValueError(f"unknown region {v!r}{hint}")
        return region

    @field_validator("split")
    @classmethod
    def _split(cls, v: str | None) -> str | None:
        if v is not None and v == "":
            raise ValueError("split needs a separator, e.g. split: ';'")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        if (self.column is None) == (self.value is None):
            raise ValueError("give exactly one of column: <source column> or value: <constant>")
        if isinstance(self.column, str) and not self.column.strip(" \t" + _BOM):
            raise ValueError("column name is blank")
        if self.default_region is not None and self.format is None:
            raise ValueError("default_region only applies with format: e164")
        if self.optional and self.column is None:
            raise ValueError("optional applies to column: entries (a value: is always there)")
        if self.formats is not None and self.split is not None:
            raise ValueError("formats and split do not go together: a date has one value")
        return self


def _scalar_text(v: Any) -> str:
    """A YAML scalar as text: ``true`` -> ``"true"``, ``5`` -> ``"5"``."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class KeySpec(_Strict):
    """``key: {column: External ID}``: the row's key is that column's trimmed value."""

    column: str

    @field_validator("column", mode="before")
    @classmethod
    def _column(cls, v: Any) -> Any:
        if isinstance(v, int | float) and not isinstance(v, bool):
            v = str(v)
        if isinstance(v, str) and not v.strip(" \t" + _BOM):
            raise ValueError("column name is blank")
        return v


class SourceSpec(_Strict):
    """How to read the source file; every key optional (detected when absent)."""

    sheet: str | int | None = None
    delimiter: str | None = None
    encoding: str | None = None


class DedupeSpec(_Strict):
    """Which row wins among rows with the same key (the normalised e-mail)."""

    keep: Literal["first", "last"] = "last"


def _target_option_fields(namespace: dict[str, Any]) -> None:
    """Add a top-level ``str | None`` field per option a registered target takes
    (:data:`TARGET_OPTIONS`: ``on_ambiguous``...); the target's values are checked by
    :func:`_check_semantics`."""
    for name, allowed in TARGET_OPTIONS.items():
        namespace["__annotations__"][name] = "str | None"
        namespace[name] = Field(
            default=None,
            description=f"{' | '.join(allowed)}: see README, 'Mapping files' (targets "
            f"{', '.join(t.name for t in TARGETS.values() if name in t.options)}).",
        )


def _custom_section_fields(namespace: dict[str, Any]) -> None:
    """Add a ``dict[str, FieldSpec]`` field to the class being built in ``namespace`` for each
    custom-field section of the registered targets (FIELD_SECTIONS), in their order."""
    for section in FIELD_SECTIONS[1:]:
        namespace["__annotations__"][section] = "dict[str, FieldSpec]"
        namespace[section] = Field(default_factory=dict)


class Mapping(_Strict):
    """A parsed, checked mapping file; its custom-field sections (``contact_custom_fields``,
    ``account_custom_fields``...) are the registered targets' (``getattr(m, section)``)."""

    path: Path | None = None
    #: the line of ``key: {column: ...}`` (syncer's own bookkeeping, like ``path``)
    key_line: int | None = None
    target: str = DEFAULT
    source: SourceSpec = Field(default_factory=SourceSpec)
    columns: dict[str, FieldSpec]
    _custom_section_fields(locals())
    key: str | KeySpec | None = Field(
        default=None,
        description="What identifies a row (dedupe, ledger): one of the target's named keys "
        "(accounts: domain, the default), or {column: External ID}.",
    )
    _target_option_fields(locals())
    dedupe: DedupeSpec = Field(default_factory=DedupeSpec)
    on_empty: Literal["omit", "clear"] = "omit"
    null_values: NullValues = Field(
        default=None,
        description="Cells that count as blank in every column, trimmed, any case (default: "
        "n/a, -, none, null, #N/A, ...; [] turns it off).",
    )
    owners: TopOwners = Field(
        default=None,
        description="Owner name -> e-mail for every owner e-mail field without owners: of its "
        "own: a map, or a CSV file of name,email (relative to the mapping file). The map's "
        "reserved key unknown: invalid (default) | abort | omit says what to do with a row "
        "whose owner is not a Reevo user.",
    )

    @property
    def spec(self) -> Target:
        """The mapping's target (from the registry)."""
        return TARGETS[self.target]

    @property
    def key_column(self) -> str | None:
        """The source column of ``key: {column: ...}`` (None: the target's own key)."""
        return self.key.column if isinstance(self.key, KeySpec) else None

    def target_options(self) -> dict[str, str]:
        """The target's top-level options (:attr:`Target.options`) as the mapping sets them,
        each absent one at its default (the first value)."""
        return {
            name: str(getattr(self, name, None) or allowed[0])
            for name, allowed in self.spec.options.items()
        }

    def nulls_for(self, fs: FieldSpec) -> tuple[str, ...]:
        """The cells that count as blank for one entry (its own list, else the mapping's)."""
        if fs.null_values is not None:
            return fs.null_values
        return self.null_values if self.null_values is not None else DEFAULT_NULL_VALUES

    def owners_for(self, fs: FieldSpec) -> dict[str, str] | None:
        """The owner names of one owner e-mail entry (its own, else the mapping's)."""
        if fs.owners is not None:
            return fs.owners
        return self.owners.names if self.owners is not None else None

    @property
    def unknown_owners(self) -> UnknownPolicy:
        """What happens to a row whose owner is not a Reevo user (``owners: {unknown: ...}``)."""
        return self.owners.unknown if self.owners is not None else "invalid"

    def source_columns(self) -> list[str]:
        """Every source column the mapping reads, in mapping order, without repeats."""
        seen: dict[str, None] = {}
        for section in FIELD_SECTIONS:
            for fs in getattr(self, section).values():
                seen.update(dict.fromkeys(fs.headers))
        if self.key_column is not None:
            seen.setdefault(self.key_column, None)
        return list(seen)


_TOP_KEYS = [k for k in Mapping.model_fields if k not in ("path", "key_line")]
_MODEL_KEYS: dict[str, list[str]] = {
    "source": list(SourceSpec.model_fields),
    "dedupe": list(DedupeSpec.model_fields),
    "field": [k for k in FieldSpec.model_fields if k != "line"],
    "key": list(KeySpec.model_fields),
}


#: one problem: the mapping line it is on (None: the file as a whole) and what is wrong
Problem = tuple[int | None, str]


def _close(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def _suggest(word: str, choices: list[str]) -> str:
    close = _close(word, choices)
    return f"; did you mean {close}?" if close else ""


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


def _check_semantics(data: dict[str, Any], spec: Target, lines: Lines) -> list[Problem]:
    """Rules that need the target table: required fields, options that fit the field kind.

    Read from the raw YAML, so they are listed with the other problems in the same pass.
    """
    problems: list[Problem] = []
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
    if kind is FieldKind.LOOKUP:
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


@dataclass(frozen=True, slots=True)
class _Entry:
    """A mapping entry that reads a source column, and the line it is on."""

    section: str
    name: str
    column: str
    line: int | None
    optional: bool = False


def _raw_entries(data: dict[str, Any], lines: Lines) -> list[_Entry]:
    """Every entry that names a source column, read from the raw YAML: an entry whose Reevo
    field or options are wrong still names a header that can be checked."""
    out: list[_Entry] = []
    for section in FIELD_SECTIONS:
        block = data.get(section)
        if not isinstance(block, dict):
            continue
        for name, entry in block.items():
            column = entry.get("column") if isinstance(entry, dict) else entry
            if isinstance(entry, dict) and column is None:  # a lookup form: {domain: Column}
                column = next((entry[f] for f in LOOKUP_FORMS if f in entry), None)
            optional = isinstance(entry, dict) and entry.get("optional") is True
            at = lines.line((section, name))
            # column: [A, B] reads each (a bare list is reported as malformed)
            many = column if isinstance(entry, dict) and isinstance(column, list) else [column]
            for one in many:
                if isinstance(one, bool) or not isinstance(one, str | int | float):
                    continue  # value: constants, and entries reported as malformed
                if str(one).strip(" \t" + _BOM):
                    out.append(_Entry(section, str(name), str(one), at, optional))
    key = data.get("key")
    column = key.get("column") if isinstance(key, dict) else None
    readable = isinstance(column, str | int | float) and not isinstance(column, bool)
    if readable and str(column).strip(" \t" + _BOM):
        out.append(_Entry("key", "column", str(column), lines.line(("key", "column"))))
    return out


def _entries(mapping: Mapping) -> list[_Entry]:
    out = [
        _Entry(section, name, column, fs.line, fs.optional)
        for section in FIELD_SECTIONS
        for name, fs in getattr(mapping, section).items()
        for column in fs.headers
    ]
    if mapping.key_column is not None:
        out.append(_Entry("key", "column", mapping.key_column, mapping.key_line))
    return out


def _report(where: str, problems: list[Problem]) -> tuple[str, list[str], int | None]:
    """The problems in line order as ``file:line: text``, under one heading; the first line."""
    ordered = sorted(problems, key=lambda p: (p[0] is None, p[0] or 0))
    texts = [f"{where}:{line}: {msg}" if line else f"{where}: {msg}" for line, msg in ordered]
    head = (
        texts[0]
        if len(texts) == 1
        else f"{len(texts)} problems in {where}:\n  " + ("\n  ".join(texts))
    )
    return head, texts, ordered[0][0]


def _raise(where: str, problems: list[Problem]) -> None:
    if not problems:
        return
    head, texts, line = _report(where, problems)
    raise MappingError(
        f"{head}\nFix the mapping file and run again.", path=where, line=line, problems=texts
    )


@dataclass
class MappingDraft:
    """A mapping file read and checked, its problems collected but not raised yet, so that the
    source file's headers can be checked too and one error lists everything (see
    :func:`read_mapping`)."""

    path: Path
    #: the checked mapping (field lines attached); None when pydantic could not build it
    mapping: Mapping | None
    #: how to read the source file; None when the ``source:`` block itself is wrong
    source: SourceSpec | None
    #: the mapping's own problems: unknown keys and fields, invalid values, rules
    problems: list[Problem]
    #: every entry naming a source column, even one whose field or options are wrong
    entries: list[_Entry]

    def raise_problems(self) -> None:
        """Raise MappingError listing the mapping's own problems, if it has any."""
        _raise(str(self.path), self.problems)

    def finish(self, headers: list[str] | None = None, *, note: str = "") -> Mapping:
        """The mapping, or one error listing every problem: the mapping's own and, given the
        file's ``headers``, every mapped column the file lacks (``note`` follows the list of
        the file's columns).

        MappingError when the mapping has problems of its own, SourceError when its only
        problem is columns the file lacks.
        """
        if headers is not None:
            _, missing = _match(self.entries, headers)
            if missing:
                _raise_missing(str(self.path), self.problems, missing, headers, note, self.entries)
        self.raise_problems()
        assert self.mapping is not None  # pydantic only fails with problems listed
        return self.mapping


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file. Raises MappingError naming file:line and a fix."""
    return read_mapping(path).finish()


def read_mapping(path: Path) -> MappingDraft:
    """Read a mapping file and collect every problem in it, without raising for them.

    Raises MappingError at once only when there is nothing to check: the file cannot be read,
    is not valid YAML, or is not a YAML mapping.
    """
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise MappingError(
            f"mapping file {where} not found. Check the --mapping path.", path=where
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(
            f"cannot read mapping file {where}: {exc}. Save it as UTF-8 text.", path=where
        ) from exc
    data, lines = parse_yaml(text, where)
    if not isinstance(data, dict):
        raise MappingError(
            f"{where}: a mapping file is a YAML mapping with at least 'columns:'"
            " (see README, 'Mapping files').",
            path=where,
        )
    # every problem at once: unknown keys (with suggestions), invalid values, the target's rules
    key_problems = _check_keys(data, lines, where)
    problems = list(key_problems)
    target = data.get("target", DEFAULT)
    spec = TARGETS.get(target) if isinstance(target, str) else None
    if spec is not None:
        problems += _check_semantics(data, spec, lines)
    mapping: Mapping | None = None
    try:
        context = {"base": path.parent}
        mapping = Mapping.model_validate({**data, "path": path}, context=context)
    except ValidationError as exc:
        for err in exc.errors():
            if err["type"] == "extra_forbidden" and key_problems:
                continue  # already reported by _check_keys, with a "did you mean"
            loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
            dotted = ".".join(str(p) for p in loc)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] != "value_error" and isinstance(err.get("input"), str | int | float):
                msg += f" (got {err['input']!r})"
            problems.append((lines.line(loc), f"{dotted}: {msg}" if dotted else msg))
    source: SourceSpec | None = None
    if mapping is not None:
        # attach the line of every field entry, for later messages
        updates: dict[str, Any] = {}
        for section in FIELD_SECTIONS:
            block: dict[str, FieldSpec] = getattr(mapping, section)
            updates[section] = {
                name: fs.model_copy(update={"line": lines.line((section, name))})
                for name, fs in block.items()
            }
        if mapping.key_column is not None:
            updates["key_line"] = lines.line(("key", "column"))
        mapping = mapping.model_copy(update=updates)
        source = mapping.source
    else:
        try:
            source = SourceSpec.model_validate(data.get("source", {}))
        except ValidationError:
            source = None
    return MappingDraft(path, mapping, source, problems, _raw_entries(data, lines))


def _norm_header(name: str) -> str:
    return name.strip().strip(_BOM).strip().casefold()


def _loose(available: list[str]) -> dict[str, str]:
    """The file's headers by their trimmed, case-folded form (the first of equal ones)."""
    loose: dict[str, str] = {}
    for name in available:
        loose.setdefault(_norm_header(name), name)
    return loose


def _match(entries: list[_Entry], available: list[str]) -> tuple[dict[str, str], list[_Entry]]:
    """Mapped header -> the file's header (exact first, then loose), and the entries whose
    header the file lacks (``optional: true`` entries are never missing)."""
    exact = set(available)
    loose = _loose(available)
    found: dict[str, str] = {}
    missing: list[_Entry] = []
    for entry in entries:
        wanted = entry.column
        if wanted in exact:
            found[wanted] = wanted
        elif f"{wanted}{SOURCE_SUFFIX}" in exact:  # `status` is read as `status (source)`
            found[wanted] = f"{wanted}{SOURCE_SUFFIX}"
        elif _norm_header(wanted) in loose:
            found[wanted] = loose[_norm_header(wanted)]
        elif _norm_header(f"{wanted}{SOURCE_SUFFIX}") in loose:
            found[wanted] = loose[_norm_header(f"{wanted}{SOURCE_SUFFIX}")]
        elif not entry.optional:
            missing.append(entry)
    return found, missing


def _raise_missing(
    where: str,
    problems: list[Problem],
    missing: list[_Entry],
    available: list[str],
    note: str,
    entries: list[_Entry],
) -> NoReturn:
    """One error: the mapping's own ``problems``, a line per entry whose column the file lacks
    (with the closest real header, not one the same entry reads already: ``column: [A, B]``),
    then the file's columns and ``note``."""
    loose = _loose(available)
    listed_missing: list[Problem] = []
    for entry in missing:
        ours = (entry.section, entry.name)
        read = {_norm_header(e.column) for e in entries if (e.section, e.name) == ours}
        close = _close(_norm_header(entry.column), [h for h in loose if h not in read])
        hint = f"; did you mean {loose[close]!r}?" if close is not None else ""
        text = f"column {entry.column!r} not found in the file{hint}"
        listed_missing.append((entry.line, f"{entry.section}.{entry.name}: {text}"))
    listed = ", ".join(repr(c) for c in available[:40]) or "(none)"
    if len(available) > 40:
        listed += f" ... ({len(available) - 40:,} more)"
    head, texts, line = _report(where, [*problems, *listed_missing])
    fix = (
        "the mapping file (or the file's header)"
        if problems
        else "the mapping or the file's header"
    )
    message = (
        f"{head}\nThe file's columns are: {listed}.{' ' + note if note else ''}\n"
        f"Fix {fix} and run again."
    )
    if problems:
        raise MappingError(message, path=where, line=line, problems=texts)
    raise SourceError(message)


def resolve_columns(mapping: Mapping, available: list[str], *, note: str = "") -> dict[str, str]:
    """Map each mapped header to the file's actual header (trim spaces/BOM, ignore case); an
    ``optional: true`` column the file lacks is left out (see :func:`absent_optional`).

    Raises SourceError naming the mapping line of every column the file lacks, with the
    closest real header, and listing the file's columns (``note`` follows that list).
    """
    entries = _entries(mapping)
    found, missing = _match(entries, available)
    if missing:
        _raise_missing(str(mapping.path or "the mapping"), [], missing, available, note, entries)
    return found


def absent_optional(mapping: Mapping, found: dict[str, str]) -> list[str]:
    """A note for each ``optional: true`` entry some of whose columns the file lacks
    (``found``: what :func:`resolve_columns` returned): the field is not sent, or (``column:
    [A, B]``) reads the columns the file has."""
    where = str(mapping.path or "the mapping")
    notes = []
    for section in FIELD_SECTIONS:
        for name, fs in getattr(mapping, section).items():
            absent = [c for c in fs.headers if c not in found]
            if not fs.optional or not absent:
                continue
            at = f"{where}:{fs.line}" if fs.line else where
            what = ", ".join(repr(c) for c in absent)
            are = "columns {} are" if len(absent) > 1 else "column {} is"
            there = [repr(c) for c in fs.headers if c in found]
            then = f"reads {' and '.join(there)} only" if there else "is not sent"
            notes.append(
                f"{at}: optional {are.format(what)} not in the file: {section}.{name} {then}"
            )
    return notes
