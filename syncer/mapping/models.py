"""The pydantic models of a mapping file: :class:`Mapping`, its entries (:class:`FieldSpec`),
``key: {column: ...}`` (:class:`KeySpec`), ``source:`` and ``dedupe:``. An entry's own rules
are checked here (one source, a known region, zone or date format); the rules that need the
target are in :mod:`syncer.mapping.checks`.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from syncer.dates import check_formats
from syncer.mapping.vocabulary import (
    _BOM,
    FIELD_SECTIONS,
    LOOKUP_FORMS,
    TARGET_OPTIONS,
    _check_zone,
)
from syncer.nulls import DEFAULT_NULL_VALUES, parse_null_values
from syncer.owners import OwnersSpec, UnknownPolicy, owners_option, top_owners_option
from syncer.targets import DEFAULT, TARGETS, Target


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


class EnrollSpec(_Strict):
    """``then: {enroll: ...}`` of an account_contact mapping: after the contacts, enroll the
    ones the run created (``only: created``) or every one that succeeded (``only: all``)."""

    sequence_id: FieldSpec = Field(
        description="The sequence: a header, {column: ...} or {value: <sequence id>}."
    )
    mailbox_email: FieldSpec | None = Field(
        default=None,
        description="The sending mailbox (a header, {column: ...} or {value: ...}); omitted: "
        "Reevo picks a mailbox of the contact's owner.",
    )
    only: Literal["created", "all"] = Field(
        default="created",
        description="created (default): the contacts this run created; all: every contact "
        "that succeeded or is unchanged.",
    )


class ThenSpec(_Strict):
    """``then:``: a second step of the same run, after the rows are pushed."""

    enroll: EnrollSpec | None = None


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
    then: ThenSpec | None = Field(
        default=None,
        description="account_contact only: then: {enroll: {sequence_id: ..., mailbox_email: "
        "..., only: created | all}} enrolls the imported contacts in a sequence (see README, "
        "'Sequence enrollments').",
    )
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
    def enroll(self) -> EnrollSpec | None:
        """``then: {enroll: ...}``, when the mapping has it."""
        return self.then.enroll if self.then is not None else None

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
        for fs in self.enroll_entries().values():
            seen.update(dict.fromkeys(fs.headers))
        return list(seen)

    def enroll_entries(self) -> dict[str, FieldSpec]:
        """``then.enroll``'s entries by name (``sequence_id``, ``mailbox_email``), if any."""
        enroll = self.enroll
        if enroll is None:
            return {}
        entries = {"sequence_id": enroll.sequence_id, "mailbox_email": enroll.mailbox_email}
        return {name: fs for name, fs in entries.items() if fs is not None}
