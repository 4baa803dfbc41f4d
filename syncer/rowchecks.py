"""A row as a whole: its key, and the problems only its normal values show.

The key (``__key``, the dedupe and ledger key) is ``key: {column: ...}``'s trimmed value, else
the target's ``key_of`` of the row's normal values (a lookup field given as ``domain:acme.com``
or ``name:acme inc``), else its key field's ``key_expr``. The row's own problems: a target's
``one_of`` group none of whose fields has a value (its code, e.g. ``missing_account``), and a
closed stage without reasons (``missing_closed_reason``): the stage entry's ``closed:`` list
(any case) names the closed stages, else every stage whose name holds the word ``won`` or
``lost``. Expressions only; :mod:`syncer.validation` applies them.
"""

from __future__ import annotations

import polars as pl

from syncer.mapping import closed_stage
from syncer.targets import Target
from syncer.transform import KEY_SECTION, MappedField

__all__ = ["CLOSED", "Problem", "row_key", "row_problems"]

#: a stage named so is closed when the stage entry gives no ``closed:`` list
CLOSED = r"(?i)\b(?:won|lost)\b"

#: a row problem: (when, its code, its message)
Problem = tuple[pl.Expr, str, pl.Expr]


def _key_values(fields: list[MappedField]) -> dict[str, pl.Expr]:
    """The mapped fields' normal values as a target's ``key_of`` takes them: a lookup field's
    as ``domain:acme.com`` / ``name:acme inc`` (its form, then its value)."""
    values: dict[str, pl.Expr] = {}
    for f in fields:
        if f.section != "columns":
            continue
        value = pl.col(f.out)
        if f.spec.lookup == "name":
            value = value.str.replace_all(r"\s+", " ").str.to_lowercase()
        if f.spec.lookup is not None and not f.is_list:  # a list's values stay as they are
            value = pl.lit(f"{f.spec.lookup}:") + value
        values[f.name] = value
    return values


def row_key(fields: list[MappedField], spec: Target) -> pl.Expr:
    """The row's key: ``key: {column: ...}``'s trimmed value, else the target's ``key_of`` of
    the normal values, else its key field's ``key_expr``; null when the row has none."""
    none = pl.lit(None, dtype=pl.String)
    own = next((f for f in fields if f.section == KEY_SECTION), None)
    if own is not None:
        return pl.col(own.out)
    if spec.key_of is not None:
        try:
            return spec.key_of(_key_values(fields)).replace("", None)
        except (KeyError, ValueError):  # the fields it needs are absent (optional columns)
            return none
    by_name = {f.name: f for f in fields if f.section == "columns"}
    key_field = by_name.get(spec.key_field)
    return spec.key_expr(pl.col(key_field.out)) if key_field is not None else none


def row_problems(fields: list[MappedField], spec: Target) -> list[Problem]:
    """The row's own problems, seen on its normal values: a ``one_of`` group without a value,
    a closed stage without reasons."""
    by_name = {f.name: f for f in fields if f.section == "columns"}
    rules: list[Problem] = []
    for group, code in spec.one_of:
        mapped = [by_name[n] for n in group if n in by_name]
        if not mapped:
            continue
        cond = pl.all_horizontal([pl.col(f.out).is_null() for f in mapped])
        labels = " and ".join(f"{f.label} ({f.name})" for f in mapped)
        is_are = "is" if len(mapped) == 1 else "are"
        rules.append((cond, code, pl.lit(f"{labels} {is_are} blank; one is required")))
    stage = closed_stage(spec)
    f = by_name.get(stage[0]) if stage else None
    if stage is not None and f is not None:
        value = pl.col(f.out)
        closed = (
            value.str.to_lowercase().is_in([c.strip().lower() for c in f.spec.closed])
            if f.spec.closed
            else value.str.contains(CLOSED)
        )
        reasons = by_name.get(stage[1])
        if reasons is None:
            none = pl.lit(True)
            fix = f"map {stage[1]}"
        else:
            none = pl.col(reasons.out).is_null() | (pl.col(reasons.out).list.len() == 0)
            fix = f"fill in {reasons.label} ({stage[1]})"
        message = pl.format(
            '{} "{}" is a closed stage: it needs closed reasons; {}',
            f.named(),
            value,
            pl.lit(fix),
        )
        rules.append((value.is_not_null() & closed & none, "missing_closed_reason", message))
    return rules
