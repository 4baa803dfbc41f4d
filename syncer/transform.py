"""Mapping -> polars expressions: pick the mapped columns, trim, NFC, null values, ``values:``,
https://, domains, split lists.

Pure and vectorised: no Python per row. The checks that need a Python validator (e-mail
syntax, phone numbers) live in :mod:`syncer.validation`, which also writes their normal form.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from syncer.mapping import FIELD_SECTIONS, LIST_KINDS, FieldSpec, Mapping
from syncer.nulls import blank_to_null, is_null_value
from syncer.targets import FieldKind
from syncer.targets.lookups import domain_expr

__all__ = ["MappedField", "enum_text", "normalise", "plan", "reserved_prefixes"]

#: internal column prefix per mapping section (never shown to people): short ones for the
#: first sections, ``__<section>:`` for any other a target declares (:func:`_prefix`)
_PREFIX = {"columns": "__v:", "contact_custom_fields": "__cc:", "account_custom_fields": "__ac:"}
#: the section of the field holding ``key: {column: ...}``'s value (never sent)
KEY_SECTION = "key"

_SCHEME = r"^[A-Za-z][A-Za-z0-9+.\-]*://"


def reserved_prefixes() -> tuple[str, ...]:
    """Prefixes of internal column names; source columns must not start with them."""
    sections = (*_PREFIX, *FIELD_SECTIONS, KEY_SECTION)
    return tuple(dict.fromkeys(_prefix(section) for section in sections))


def _prefix(section: str) -> str:
    return _PREFIX.get(section) or f"__{section}:"


@dataclass(frozen=True, slots=True)
class MappedField:
    """One mapped Reevo field, ready to become a polars expression."""

    section: str  # columns, or one of the target's custom sections (contact_custom_fields...)
    name: str  # Reevo field or custom field API name
    kind: FieldKind  # custom fields are TEXT
    spec: FieldSpec
    source: str | None  # the file's actual header (None for a constant); the first of several
    nulls: tuple[str, ...] = ()  # cells that count as blank (trimmed, any case)
    owners: dict[str, str] | None = None  # owner names -> e-mails (owner e-mail fields)
    #: the headers after ``source`` of ``column: [A, B]`` the file has: a row reads the first
    #: of :attr:`sources` whose cell is not blank
    also: tuple[str, ...] = ()

    @property
    def out(self) -> str:
        """Internal column holding the normalised value."""
        return _prefix(self.section) + self.name

    @property
    def sources(self) -> tuple[str, ...]:
        """Every header the field reads, in order (none for a constant)."""
        return () if self.source is None else (self.source, *self.also)

    @property
    def label(self) -> str:
        """How messages name this value as a whole: the source column (``A or B`` for
        ``column: [A, B]``: a message about a row's value names the one read, :meth:`named`),
        or the constant's field."""
        if self.source is None:
            return f"{self.name} (constant)"
        return " or ".join(self.sources)

    @property
    def is_list(self) -> bool:
        """True when the value is a list (split, or a list kind)."""
        return self.spec.split is not None or self.kind in LIST_KINDS

    def _read(self) -> list[tuple[str, pl.Expr]]:
        """(header, whether the row reads it) for each of several sources: the first whose
        cell is not blank (trimmed, NFC, the null values blank)."""
        filled = [clean_text(pl.col(c), nulls=self.nulls).is_not_null() for c in self.sources]
        out: list[tuple[str, pl.Expr]] = []
        for i, c in enumerate(self.sources):
            before = [~f for f in filled[:i]]
            out.append((c, pl.all_horizontal([*before, filled[i]]) if before else filled[i]))
        return out

    def named(self) -> pl.Expr:
        """How a message about a row's value names it: :attr:`label`, except that with several
        sources it is the column the row's value was read from."""
        if not self.also:
            return pl.lit(self.label, dtype=pl.String)
        picks = [pl.when(read).then(pl.lit(c, dtype=pl.String)) for c, read in self._read()]
        return pl.coalesce([*picks, pl.lit(self.label, dtype=pl.String)])

    def raw(self) -> pl.Expr:
        """The value as the file (or the mapping's constant) has it, for messages: with several
        sources, the cell of the one read."""
        if self.source is None:
            return pl.lit(self.spec.value, dtype=pl.String)
        if not self.also:
            return pl.col(self.source).cast(pl.String)
        cells = [pl.when(read).then(pl.col(c).cast(pl.String)) for c, read in self._read()]
        return pl.coalesce([*cells, pl.col(self.source).cast(pl.String)])


def plan(mapping: Mapping, resolved: dict[str, str]) -> list[MappedField]:
    """Every mapped field in mapping order, with the file header it reads (see resolve_columns);
    an ``optional: true`` field whose column the file lacks is left out."""
    spec = mapping.spec
    out: list[MappedField] = []
    for section in FIELD_SECTIONS:
        block: dict[str, FieldSpec] = getattr(mapping, section)
        for name, fs in block.items():
            kind = spec.fields[name] if section == "columns" else FieldKind.TEXT
            # an absent column is optional (resolve_columns raised otherwise): skipped
            read = tuple(dict.fromkeys(resolved[c] for c in fs.headers if c in resolved))
            if fs.headers and not read:
                continue
            source = read[0] if read else None
            nulls = mapping.nulls_for(fs) if source is not None else ()
            owners = mapping.owners_for(fs) if kind is FieldKind.OWNER_EMAIL else None
            out.append(MappedField(section, name, kind, fs, source, nulls, owners, read[1:]))
    if mapping.key_column is not None:  # key: {column: ...}: read and trimmed, never sent
        fs = FieldSpec(column=mapping.key_column, line=mapping.key_line)
        source = resolved[mapping.key_column]
        nulls = mapping.nulls_for(fs)
        out.append(MappedField(KEY_SECTION, "column", FieldKind.TEXT, fs, source, nulls))
    return out


def clean_text(expr: pl.Expr, *, nfc: bool = True, nulls: tuple[str, ...] = ()) -> pl.Expr:
    """Trim, Unicode NFC (skip with ``nfc=False`` for pure-ASCII columns); blank and the
    ``nulls`` (any case) -> null."""
    return blank_to_null((expr.str.normalize("NFC") if nfc else expr).str.strip_chars(), nulls)


def _with_scheme(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.str.contains(_SCHEME)).then(expr).otherwise(pl.lit("https://") + expr)


def _add_scheme(column: pl.Series) -> pl.Series:
    """:func:`_with_scheme` of a column: the scheme pattern runs only on the cells holding
    ``://`` (it cannot match the others), and a column whose every value has a scheme, or none
    has, is made without a per-row choice."""
    frame = column.to_frame("u")
    u = pl.col("u")
    has = frame.select(u.str.contains("://", literal=True)).to_series().arg_true()
    if 2 * len(has) > len(column):  # most cells: the pattern over the column beats a gather
        has = frame.select(u.str.contains(_SCHEME)).to_series().arg_true()
    elif len(has):
        has = has.filter(frame[has].select(u.str.contains(_SCHEME)).to_series())
    if len(has) and len(has) == len(column) - column.null_count():
        return column
    out = frame.select((pl.lit("https://") + u).alias(column.name)).to_series()
    if len(has):
        out.scatter(has, column.gather(has))
    return out


def mapped_values(expr: pl.Expr, values: dict[str, str] | None) -> pl.Expr:
    """``values:`` applied: a value equal to a source value (trimmed, any case) becomes its
    Reevo value (a blank one: no value); the others pass through."""
    if not values:
        return expr
    old = [k.strip().lower() for k in values]
    new = [v.strip() for v in values.values()]
    out = expr.str.to_lowercase().replace_strict(old, new, default=expr, return_dtype=pl.String)
    return blank_to_null(out)


#: what an enum value's spaces and hyphens become (``In progress`` -> ``IN_PROGRESS``)
_ENUM_GAPS = r"[\s\-]+"


def enum_text(value: str) -> str:
    """An enum value's normal form: trimmed, upper-case, spaces and hyphens as ``_``."""
    import re

    return re.sub(_ENUM_GAPS, "_", value.strip()).upper()


def _by_kind(expr: pl.Expr, field: MappedField) -> pl.Expr:
    """The kind's own normal form of one (already cleaned and mapped) value."""
    if field.kind is FieldKind.URL:
        return _with_scheme(expr)
    if field.kind is FieldKind.ENUM:
        return expr.str.replace_all(_ENUM_GAPS, "_").str.to_uppercase()
    if field.kind is FieldKind.DOMAIN or field.spec.lookup == "domain":
        return blank_to_null(domain_expr(expr))
    return expr


def _scheme_later(field: MappedField) -> bool:
    """A single web address: :func:`normalise` adds its scheme to the column afterwards."""
    return field.kind is FieldKind.URL and field.spec.split is None and not field.is_list


def field_expr(
    field: MappedField, *, nfc: bool = True, base: pl.Expr | None = None, scheme: bool = True
) -> pl.Expr:
    """The normalised value of one field (String, or List[String] for split fields).

    ``base`` replaces the raw value (normalise() passes an already-NFC column); ``scheme=False``
    leaves a single web address without the ``https://`` it may need (:func:`_add_scheme`)."""
    expr = clean_text(field.raw() if base is None else base, nfc=nfc, nulls=field.nulls)
    values = field.spec.values
    if field.spec.split is not None:
        part = pl.element().str.strip_chars()
        keep = part.str.len_bytes() > 0
        if field.nulls:
            keep = keep & ~is_null_value(part, field.nulls)
        parts = expr.str.split(field.spec.split, inclusive=False).list.eval(part).list.filter(keep)
        if values or field.kind in (FieldKind.URL, FieldKind.DOMAIN):
            each = _by_kind(mapped_values(pl.element(), values), field)
            parts = parts.list.eval(each).list.drop_nulls()
        return pl.when(parts.list.len() > 0).then(parts).alias(field.out)
    expr = mapped_values(expr, values)
    if scheme or not _scheme_later(field):
        expr = _by_kind(expr, field)
    if field.kind in LIST_KINDS:  # one value without split: a list of one
        expr = pl.when(expr.is_not_null()).then(pl.concat_list(expr))
    return expr.alias(field.out)


def _non_ascii(expr: pl.Expr) -> pl.Expr:
    """True for a cell holding a non-ASCII character (its bytes outnumber its characters)."""
    return expr.str.len_bytes() != expr.str.len_chars()


#: a character NFC could change: every string of characters below U+0300 (ASCII, Latin-1,
#: Latin Extended-A/B, IPA, spacing modifiers: "Müller", "Łukasz") is already NFC, since none
#: of them decomposes differently or combines with the one before it (tests check this)
_MAYBE_NOT_NFC = r"[^\x00-\x{2FF}]"


def _nfc_rows(column: pl.Series) -> pl.Series:
    """NFC only on the rows holding a character at or above U+0300 (NFC is the costly step;
    the cheap non-ASCII test picks the rows the character test looks at)."""
    rows = column.to_frame().select(_non_ascii(pl.first()).fill_null(False)).to_series().arg_true()
    if len(rows):
        maybe = column.gather(rows).str.contains(_MAYBE_NOT_NFC).fill_null(False)
        rows = rows.filter(maybe)
    if len(rows) == 0:
        return column
    out = column.clone()
    out.scatter(rows, column.gather(rows).str.normalize("NFC"))
    return out


def normalise(frame: pl.DataFrame, fields: list[MappedField]) -> pl.DataFrame:
    """Add one internal column per mapped field holding its normalised value."""
    sources = sorted({c for f in fields for c in f.sources})
    # one pass over every source column (in parallel) finds those holding non-ASCII text
    wide = (
        frame.select(_non_ascii(pl.col(c).cast(pl.String)).any() for c in sources).row(0)
        if sources
        else ()
    )
    nfc = {
        c: (_nfc_rows(frame[c].cast(pl.String)) if has else frame[c].cast(pl.String)).alias(
            f"__nfc:{c}"
        )
        for c, has in zip(sources, wide, strict=True)
    }
    out = frame.with_columns(nfc.values())
    # column: [A, B]: the first cell that is not blank, as one column read like any other
    base = {f.out: f"__nfc:{f.source}" for f in fields if f.source is not None}
    several = [f for f in fields if f.also]
    out = out.with_columns(
        pl.coalesce(
            [clean_text(pl.col(f"__nfc:{c}"), nfc=False, nulls=f.nulls) for c in f.sources]
        ).alias(f"__in:{f.out}")
        for f in several
    )
    base.update({f.out: f"__in:{f.out}" for f in several})
    # multi-value fields repeat a handful of values: split each distinct value once
    by_value = [f for f in fields if f.source is not None and f.spec.split is not None]
    out = out.with_columns(
        [
            field_expr(f, nfc=False, base=pl.col(base[f.out]), scheme=False)
            if f.source is not None
            else field_expr(f, scheme=False)
            for f in fields
            if f not in by_value
        ]
    )
    later = [f.out for f in fields if f not in by_value and _scheme_later(f)]
    if later:
        out = out.with_columns(_add_scheme(out.get_column(c)) for c in later)
    for f in by_value:
        key = base[f.out]
        distinct = out.select(pl.col(key).unique().drop_nulls())
        parsed = distinct.with_columns(field_expr(f, nfc=False, base=pl.col(key)))
        out = out.join(parsed, on=key, how="left", maintain_order="left")
    return out.select(*frame.columns, *(f.out for f in fields))
