"""prepare() of a large text file a batch at a time: memory that does not grow with the file.

A CSV/TSV file of at least :data:`STREAM_BYTES` that the fast reader takes
(:mod:`syncer.sources.batches`) is read, normalised and checked a batch at a time while the
next batch is parsed; only what a row's outcome needs stays in memory for the whole file
(source_row, status, error, warnings, the key; the field values too when they are to be sent),
and the source's own columns go to a :class:`~syncer.sources.spill.Spill` the results files are
written from. Dedupe runs once over every row's key, so it is the same as the whole file's.
The rows, their order, statuses, messages and notes are those :func:`~.prepared.prepare` gives
for the whole file; a file that needs the careful reader, a mapping with an amount (the
column's convention is settled by all its values) or with ``then: enroll`` (it reads source
columns after prepare) is prepared whole instead.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from syncer.dedupe import mark_duplicates
from syncer.errors import SourceError
from syncer.mapping import Mapping, absent_optional, read_mapping, resolve_columns
from syncer.models import KEY_COLUMN, RowStatus
from syncer.results import source_names
from syncer.runner.prepared import (
    Prepared,
    _clearable,
    _repeated_header_notes,
    _stage_field,
    _uncleared_notes,
    body_fields,
)
from syncer.sources import SourceTable
from syncer.sources.batches import STREAM_BYTES, Batches, NotStreamable, open_batches
from syncer.sources.spill import Spill
from syncer.targets import FieldKind
from syncer.transform import KEY_SECTION, MappedField, normalise, plan
from syncer.validation import DROPPED, WARNING_CODES, check, warning_notes

__all__ = ["STREAM_BYTES", "large_enough", "prepare_streamed"]

#: a run's body values kept in memory before the next batches go to disk, and its source
#: columns: none (a run holds more than validate: the ledger's memory, the outcomes; the plan
#: reads every batch of values back once anyway, the results writer every batch of the source
#: columns). 64 MB of each held 128 MB for the whole run.
VALUES_MEMORY = 0
_ORDERED = ["source_row", "status", "error", "error_code", "warnings", KEY_COLUMN]
#: the kept outcome columns of few distinct values, as 1 or 4 bytes a row instead of a 16-byte
#: string view (~120 MB less at 5M rows, held for the whole run): status as an Enum of every
#: row status (so any status compares), error_code as a Categorical (its values are codes and
#: their combinations, not row data). error and warnings stay text: they quote row values (a
#: Categorical's values stay in polars' process-wide table) and are appended to after prepare.
_COMPACT = [
    pl.col("status").cast(pl.Enum([s.value for s in RowStatus])),
    pl.col("error_code").cast(pl.Categorical),
]
_EXCEL = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def prepare_streamed(
    source: Path | SourceTable, mapping: Mapping | Path, *, values: bool
) -> Prepared | None:
    """The file prepared a batch at a time, or None when it is to be prepared whole (see the
    module's docstring; errors are then raised by the whole-file path, in its order)."""
    batches = _open(source, mapping)
    if batches is None:
        return None
    try:
        return _prepare(batches, mapping, values=values)
    finally:
        batches.close()


def large_enough(source: Path | str | SourceTable) -> bool:
    """Whether ``source`` is a file of at least :data:`STREAM_BYTES` (prepared in batches if
    the fast reader takes it too)."""
    if isinstance(source, SourceTable):
        return False
    try:
        path = Path(source)
        return path.is_file() and path.stat().st_size >= STREAM_BYTES
    except OSError:
        return False


def _open(source: Path | SourceTable, mapping: Mapping | Path) -> Batches | None:
    if isinstance(source, SourceTable) or not large_enough(source):
        return None
    path = Path(source)
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    if head.startswith(_EXCEL) or path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        return None
    spec = (mapping if isinstance(mapping, Mapping) else read_mapping(Path(mapping))).source
    if spec is None:
        return None
    try:
        return open_batches(path, spec.encoding, spec.delimiter)
    except (NotStreamable, SourceError):
        return None


def _prepare(batches: Batches, given: Mapping | Path, *, values: bool) -> Prepared | None:
    table = batches.table
    names = source_names(table.columns)
    headers = {n: n for n in names}
    draft = given if isinstance(given, Mapping) else read_mapping(Path(given))
    mapping = draft if isinstance(draft, Mapping) else draft.finish(names, note="")
    found = resolve_columns(mapping, names, note="")
    fields = plan(mapping, dict(found))
    if mapping.enroll is not None or any(
        f.kind is FieldKind.DECIMAL and not f.is_list for f in fields
    ):
        return None
    # what stays for every row: the outcome, and the values to send (or those the notes need)
    stage = _stage_field(mapping)
    noted = [
        f.out
        for f in fields
        if mapping.on_empty == "clear" and f.section != KEY_SECTION and not _clearable(f, stage)
    ]
    # a run's ready rows' body values go to a spill of their own, their digest stays; the
    # owners' e-mails stay too (the preflight asks Reevo about them)
    owners = [f.out for f in fields if f.kind is FieldKind.OWNER_EMAIL] if values else []
    kept_values = [*noted, *(o for o in owners if o not in noted)]
    spill = Spill(VALUES_MEMORY if values else None)  # a run holds more: less in memory
    bodies = _Bodies(mapping, fields) if values else None
    parts: list[pl.DataFrame] = []
    try:
        for batch in batches:
            parts.append(_checked(batch, fields, mapping, kept_values, bodies))
            spill.add(batch.select(*headers))
        if not parts:  # a header and no rows: the frame's columns all the same
            parts.append(_checked(table.frame, fields, mapping, kept_values, bodies))
            spill.add(table.frame.select(*headers))
    except NotStreamable:
        spill.close()
        if bodies is not None:
            bodies.spill.close()
        return None
    frame = pl.concat(parts, how="vertical")
    frame = mark_duplicates(frame, mapping.dedupe.keep, key_label=mapping.spec.key_label)
    notes = [
        *_repeated_header_notes(found.values(), names),
        *absent_optional(mapping, found),
        *warning_notes(frame),
        *_uncleared_notes(frame, fields, mapping),
    ]
    internal = [c for c in (DROPPED, WARNING_CODES) if c in frame.columns]
    out = [f.out for f in fields if f.out in owners]
    frame = frame.select(*_ORDERED, *out, *internal).with_columns(_COMPACT)
    table.frame = table.frame.clear()
    return Prepared(
        source=table,
        mapping=mapping,
        frame=frame,
        fields=fields,
        headers=headers,
        notes=notes,
        spill=spill,
        values=bodies.spill if bodies is not None else None,
    )


class _Bodies:
    """A run's ready rows' body values, spilled a batch at a time (the plan builds and hashes
    their bodies from there, a batch at a time)."""

    def __init__(self, mapping: Mapping, fields: list[MappedField]) -> None:
        self.fields = body_fields(mapping, fields)
        self.spill = Spill(VALUES_MEMORY)

    def add(self, checked: pl.DataFrame) -> None:
        """Spill the ready rows' source_row, key and body values of one checked batch."""
        ready = checked.filter(pl.col("status") == RowStatus.READY.value)
        dropped = [DROPPED] if DROPPED in checked.columns else []
        self.spill.add(
            ready.select(
                "source_row",
                pl.col(KEY_COLUMN).cast(pl.String).alias("key"),
                *dict.fromkeys(f.column for f in self.fields),
                *dropped,
            )
        )


def _checked(
    batch: pl.DataFrame,
    fields: list[MappedField],
    mapping: Mapping,
    kept: list[str],
    bodies: _Bodies | None,
) -> pl.DataFrame:
    """One batch normalised and checked: the outcome columns and the ``kept`` values; for a
    run (``bodies``) the ready rows' body values spilled."""
    frame = check(normalise(batch, fields), fields, mapping.spec)
    internal = [c for c in (DROPPED, WARNING_CODES) if c in frame.columns]
    out = frame.select(*_ORDERED, *[c for c in kept if c in frame.columns], *internal)
    if bodies is not None:
        bodies.add(frame)
    return out
