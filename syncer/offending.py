"""Which cell of a row its error is about: the source column each check read.

A row's ``error_code`` lists its problems (``invalid_email;invalid_phone``) and ``error`` their
messages in the same order, joined by ``"; "``. Each code comes from fields of one kind (an
invalid e-mail from an e-mail field, an invalid phone from an E.164 phone field...), and each
mapped field knows the source column it reads, so the code names the column. When several
fields could give the code (two phone columns), the message decides: every field's message
starts with its column's name (``Mobile "12" is not a valid phone number``). A code no field
gives (``malformed_row``, a server's rejection) marks no cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import polars as pl

from syncer.targets import FieldKind

if TYPE_CHECKING:
    from syncer.transform import MappedField

__all__ = ["field_codes", "offending_cells"]

#: codes a field of a kind can give (besides missing_*, dates and phones below)
_BY_KIND = {
    FieldKind.EMAIL: ("invalid_email",),
    FieldKind.OWNER_EMAIL: ("invalid_owner_email", "unknown_owner"),
    FieldKind.URL: ("invalid_url",),
    FieldKind.DOMAIN: ("invalid_domain",),
    FieldKind.CONTACT_EMAIL: ("invalid_email",),
    FieldKind.CONTACT_EMAILS: ("invalid_email",),
    FieldKind.DECIMAL: ("invalid_amount",),
}
_DATES = ("invalid_date", "ambiguous_date")


def field_codes(fields: Iterable[MappedField]) -> dict[str, list[MappedField]]:
    """Code -> the fields (read from a source column) whose values can give it."""
    out: dict[str, list[MappedField]] = {}
    for f in fields:
        if f.source is None:  # a constant: no cell to point at
            continue
        codes = list(_BY_KIND.get(f.kind, ()))
        if f.kind is FieldKind.PHONE and f.spec.format == "e164":
            codes.append("invalid_phone")
        if f.spec.formats is not None or f.kind is FieldKind.DATETIME:
            codes += _DATES
        if f.spec.lookup == "domain":
            codes.append("invalid_domain")
        if f.section == "columns":
            codes.append("missing_email" if f.kind is FieldKind.EMAIL else f"missing_{f.name}")
        for code in codes:
            out.setdefault(code, []).append(f)
    return out


def offending_cells(
    frame: pl.DataFrame, fields: Sequence[MappedField], column_of: Mapping[str, str]
) -> dict[str, pl.Series]:
    """Output column -> each row's comment on that cell (null: not offending), as long as
    ``frame`` (columns ``error``, ``error_code``). ``column_of`` maps a field's source column
    to the name it has in the output. A comment is the message of the code about that cell
    (the whole error when the messages cannot be told apart)."""
    bad = (
        frame.select("error", "error_code")
        .with_row_index("row")
        .filter(pl.col("error_code").fill_null("") != "")
    )
    if bad.height == 0:
        return {}
    bad = bad.with_columns(
        codes=pl.col("error_code").str.split(";"), parts=pl.col("error").str.split("; ")
    )
    aligned = pl.col("codes").list.len() == pl.col("parts").list.len()
    found: list[pl.DataFrame] = []
    for code, fields_ in field_codes(fields).items():
        position = pl.col("codes").list.eval(pl.element() == code).list.arg_max()
        text = (
            pl.when(aligned)
            .then(pl.col("parts").list.get(position, null_on_oob=True))
            .otherwise(pl.col("error"))
        )
        for f in fields_:
            # column: [A, B]: a value's message names the column it was read from
            for source in f.sources:
                column = column_of.get(source)
                if column is None:
                    continue
                hit = pl.col("codes").list.contains(code)
                if len(fields_) > 1 or f.also:
                    hit &= pl.col("error").str.contains(f'{source} "', literal=True) | pl.col(
                        "error"
                    ).str.contains(f"{f.label} is blank", literal=True)
                found.append(
                    bad.filter(hit).select(
                        "row", pl.lit(column).alias("column"), text.alias("text")
                    )
                )
    if not found:
        return {}
    cells = (
        pl.concat(found)
        .group_by("column", "row", maintain_order=True)
        .agg(pl.col("text").unique(maintain_order=True).str.join("\n"))
    )
    out: dict[str, pl.Series] = {}
    for (column,), part in cells.partition_by("column", as_dict=True).items():
        marks = pl.repeat(None, frame.height, dtype=pl.String, eager=True).alias(str(column))
        out[str(column)] = marks.scatter(part["row"], part["text"])
    return out
