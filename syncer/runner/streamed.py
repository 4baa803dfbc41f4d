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
from syncer.models import KEY_COLUMN
from syncer.results import source_names
from syncer.runner.prepared import (
    Prepared,
    _clearable,
    _repeated_header_notes,
    _stage_field,
    _uncleared_notes,
)
from syncer.sources import SourceTable
from syncer.sources.batches import Batches, NotStreamable, open_batches
from syncer.sources.spill import Spill
from syncer.targets import FieldKind
from syncer.transform import KEY_SECTION, MappedField, normalise, plan
from syncer.validation import DROPPED, WARNING_CODES, check, warning_notes

__all__ = ["STREAM_BYTES", "prepare_streamed"]

#: text files at least this large are prepared a batch at a time. Below it the whole file is
#: read at once (~1 GB of memory for a 175 MB, 1M-row file): on two busy cores the batches
#: were measured no faster, often slower, than one pass over the whole frame
STREAM_BYTES = 256 << 20
_ORDERED = ["source_row", "status", "error", "error_code", "warnings", KEY_COLUMN]
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


def _open(source: Path | SourceTable, mapping: Mapping | Path) -> Batches | None:
    if isinstance(source, SourceTable):
        return None
    path = Path(source)
    try:
        if not path.is_file() or path.stat().st_size < STREAM_BYTES:
            return None
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
    kept_values = [f.out for f in fields] if values else noted
    spill = Spill()
    parts: list[pl.DataFrame] = []
    try:
        for batch in batches:
            parts.append(_checked(batch, fields, mapping, kept_values))
            spill.add(batch.select(*headers))
        if not parts:  # a header and no rows: the frame's columns all the same
            parts.append(_checked(table.frame, fields, mapping, kept_values))
            spill.add(table.frame.select(*headers))
    except NotStreamable:
        spill.close()
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
    out = [f.out for f in fields if f.out in kept_values and (values or f.out not in noted)]
    frame = frame.select(*_ORDERED, *out, *internal)
    table.frame = table.frame.clear()
    return Prepared(
        source=table,
        mapping=mapping,
        frame=frame,
        fields=fields,
        headers=headers,
        notes=notes,
        spill=spill,
    )


def _checked(
    batch: pl.DataFrame, fields: list[MappedField], mapping: Mapping, kept: list[str]
) -> pl.DataFrame:
    """One batch normalised and checked: the outcome columns and the ``kept`` values."""
    frame = check(normalise(batch, fields), fields, mapping.spec)
    internal = [c for c in (DROPPED, WARNING_CODES) if c in frame.columns]
    return frame.select(*_ORDERED, *[c for c in kept if c in frame.columns], *internal)
