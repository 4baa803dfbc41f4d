"""YAML mapping files -> :class:`Mapping` (pydantic), with file:line errors and "did you mean".

A mapping says which Reevo field each source column feeds. The Reevo fields a target accepts,
what kind of value each holds and its custom-field sections come from the target registry
(:mod:`syncer.targets`, re-exported here as :data:`TARGETS`); a new target is a new module there.
"""

from __future__ import annotations

import difflib
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
    "load_mapping",
    "read_mapping",
    "resolve_columns",
]


#: the mapping's view of a target (the registry's Target; the old name still works)
TargetSpec = Target

#: "columns" and every custom-field section a registered target takes
FIELD_SECTIONS = ("columns", *custom_sections())
_BOM = "\ufeff"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


NullValues = Annotated[tuple[str, ...] | None, BeforeValidator(parse_null_values)]
Owners = Annotated[dict[str, str] | None, BeforeValidator(owners_option)]
TopOwners = Annotated[OwnersSpec | None, BeforeValidator(top_owners_option)]


class FieldSpec(_Strict):
    """One entry under columns / contact_custom_fields / account_custom_fields."""

    column: str | None = None
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
        description="Custom fields holding dates: iso, us, day_first and/or strptime patterns, "
        "tried in order; sent as ISO 8601; ambiguous values are rejected.",
    )
    line: int | None = None

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

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"column": data}
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"column": str(data)}
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
        if self.column is not None and not self.column.strip(" \t" + _BOM):
            raise ValueError("column name is blank")
        if self.default_region is not None and self.format is None:
            raise ValueError("default_region only applies with format: e164")
        if self.optional and self.column is None:
            raise ValueError("optional applies to column: entries (a value: is always there)")
        if self.formats is not None and self.split is not None:
            raise ValueError("formats and split do not go together: a date has one value")
        return self


class SourceSpec(_Strict):
    """How to read the source file; every key optional (detected when absent)."""

    sheet: str | int | None = None
    delimiter: str | None = None
    encoding: str | None = None


class DedupeSpec(_Strict):
    """Which row wins among rows with the same key (the normalised e-mail)."""

    keep: Literal["first", "last"] = "last"


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
    target: str = DEFAULT
    source: SourceSpec = Field(default_factory=SourceSpec)
    columns: dict[str, FieldSpec]
    _custom_section_fields(locals())
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
                if fs.column is not None:
                    seen.setdefault(fs.column, None)
        return list(seen)


_TOP_KEYS = [k for k in Mapping.model_fields if k != "path"]
_MODEL_KEYS: dict[str, list[str]] = {
    "source": list(SourceSpec.model_fields),
    "dedupe": list(DedupeSpec.model_fields),
    "field": [k for k in FieldSpec.model_fields if k != "line"],
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
    for sub in ("source", "dedupe"):
        block = data.get(sub)
        if isinstance(block, dict):
            for key in block:
                if key not in _MODEL_KEYS[sub]:
                    unknown((sub, key), f"{sub} option", _MODEL_KEYS[sub])
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
                problems.append(
                    (lines.line(("columns",)), f"columns: {req} is required (e.g. '{req}: Email')")
                )
    for section in FIELD_SECTIONS:
        block = data.get(section)
        if not isinstance(block, dict):
            continue
        for name, entry in block.items():
            if not isinstance(entry, dict) or (section == "columns" and name not in spec.fields):
                continue  # shorthand has no options; an unknown field is reported as such
            kind = spec.fields.get(name) if section == "columns" else None
            at = lines.line((section, name))
            if entry.get("format") is not None and kind is not FieldKind.PHONE:
                problems.append((at, f"{section}.{name}: format: e164 applies to phone fields"))
            if entry.get("split") is not None and section == "columns":
                problems.append(
                    (at, f"{section}.{name}: split applies to multi-value custom fields only")
                )
            problems += _option_problems(section, str(name), entry, kind, spec, lines)
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

    essential = section == "columns" and (
        kind is FieldKind.EMAIL or name == spec.key_field or name in spec.required
    )
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
    if entry.get("formats") is not None and section == "columns":
        problems.append(
            (
                at("formats"),
                f"{where}: formats applies to date fields: the custom fields that hold dates "
                f"({name} is not a date)",
            )
        )
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
            if isinstance(column, bool) or not isinstance(column, str | int | float):
                continue  # value: constants, and entries reported as malformed
            if str(column).strip(" \t" + _BOM):
                optional = isinstance(entry, dict) and entry.get("optional") is True
                at = lines.line((section, name))
                out.append(_Entry(section, str(name), str(column), at, optional))
    return out


def _entries(mapping: Mapping) -> list[_Entry]:
    return [
        _Entry(section, name, fs.column, fs.line, fs.optional)
        for section in FIELD_SECTIONS
        for name, fs in getattr(mapping, section).items()
        if fs.column is not None
    ]


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
                _raise_missing(str(self.path), self.problems, missing, headers, note)
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
    where: str, problems: list[Problem], missing: list[_Entry], available: list[str], note: str
) -> NoReturn:
    """One error: the mapping's own ``problems``, a line per entry whose column the file lacks
    (with the closest real header), then the file's columns and ``note``."""
    loose = _loose(available)
    listed_missing: list[Problem] = []
    for entry in missing:
        close = _close(_norm_header(entry.column), list(loose))
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
    found, missing = _match(_entries(mapping), available)
    if missing:
        _raise_missing(str(mapping.path or "the mapping"), [], missing, available, note)
    return found


def absent_optional(mapping: Mapping, found: dict[str, str]) -> list[str]:
    """A note for each ``optional: true`` entry whose column the file lacks (``found``: what
    :func:`resolve_columns` returned): the field is not sent."""
    where = str(mapping.path or "the mapping")
    notes = []
    for entry in _entries(mapping):
        if entry.optional and entry.column not in found:
            at = f"{where}:{entry.line}" if entry.line else where
            notes.append(
                f"{at}: optional column {entry.column!r} is not in the file: "
                f"{entry.section}.{entry.name} is not sent"
            )
    return notes
