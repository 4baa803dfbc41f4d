"""Prepare a file without network: read -> map -> normalise -> validate -> dedupe.

``prepare`` does no per-row Python; ``Prepared.iter_bodies`` builds the exact JSON body of each
ready row (Python, but it feeds a rate-limited network).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Mapping as ReadOnly
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from syncer.canonical import BodyField, body_recipe, body_texts, sha256_hex, values_hash
from syncer.dedupe import mark_duplicates
from syncer.errors import SourceError
from syncer.mapping import (
    Mapping,
    MappingDraft,
    SourceSpec,
    absent_optional,
    closed_stage,
    read_mapping,
    resolve_columns,
)
from syncer.models import KEY_COLUMN, RowStatus, RowWarning, RunSummary
from syncer.results import (
    check_outputs,
    output_files,
    source_names,
    write_outputs,
)
from syncer.results import issue_counts as issue_counts  # moved there; still importable here
from syncer.sources import SourceTable, read_source
from syncer.sources.ahead import ReadAhead
from syncer.sources.spill import Spill
from syncer.targets import FieldKind
from syncer.transform import KEY_SECTION, MappedField, normalise, plan
from syncer.validation import (
    DROPPED,
    DROPPED_SEP,
    WARNING_CODES,
    check,
    warning_counts,
    warning_notes,
)

#: statuses prepare() can give; counts() always has each of them
PREPARE_STATUSES = (RowStatus.READY.value, RowStatus.DUPLICATE.value, RowStatus.INVALID.value)


@dataclass
class Prepared:
    """The prepared rows of one source file: statuses, errors, keys, normalised values."""

    source: SourceTable
    mapping: Mapping
    frame: pl.DataFrame
    fields: list[MappedField] = field(default_factory=list)
    #: frame column -> the file's header, for every source column, in file order
    headers: dict[str, str] = field(default_factory=dict)
    #: things the user should know that are not row problems (e.g. a repeated header)
    notes: list[str] = field(default_factory=list)
    #: a large text file read in batches: its columns (``headers``) are kept here, not in
    #: ``frame`` (the results files are written from both, a batch at a time)
    spill: Spill | None = None
    #: a large file read in batches for a run: its ready rows' ``source_row``, ``key`` and
    #: body values, kept here rather than in ``frame``; bodies are built (and hashed) from
    #: there, a batch at a time
    values: Spill | None = None

    @property
    def source_columns(self) -> list[str]:
        """Frame names of the source's own columns, in file order."""
        return list(self.headers)

    def warning_counts(self) -> dict[str, int]:
        """Rows per warning code, most common first (``RunSummary.warnings``)."""
        return warning_counts(self.frame)

    def add_warnings(self, found: ReadOnly[int, Sequence[RowWarning]]) -> None:
        """Add row warnings found after prepare (preflight, push) to the rows they name, after
        the row's own; the note counting warnings in :attr:`notes` is brought up to date."""
        found = {row: ws for row, ws in found.items() if ws}
        if not found:
            return
        extra = pl.DataFrame(
            {
                "source_row": list(found),
                "__w_code": [";".join(w.code for w in ws) for ws in found.values()],
                "__w_text": [
                    "; ".join(f"{w.code}: {w.message}" for w in ws) for ws in found.values()
                ],
            },
            schema={"source_row": pl.Int64, "__w_code": pl.String, "__w_text": pl.String},
        )
        frame = self.frame
        if WARNING_CODES not in frame.columns:
            frame = frame.with_columns(pl.lit("").alias(WARNING_CODES))
        old_note = warning_notes(frame)
        joined = frame.join(extra, on="source_row", how="left", maintain_order="left")

        def add(column: str, new: str, sep: str) -> pl.Expr:
            have = pl.col(column)
            return (
                pl.when(pl.col(new).is_null())
                .then(have)
                .when(have.is_null() | (have == ""))
                .then(pl.col(new))
                .otherwise(have + sep + pl.col(new))
                .alias(column)
            )

        self.frame = joined.with_columns(
            add("warnings", "__w_text", "; "), add(WARNING_CODES, "__w_code", ";")
        ).drop("__w_code", "__w_text")
        new_note = warning_notes(self.frame)
        if old_note and old_note[0] in self.notes:
            self.notes[self.notes.index(old_note[0])] = new_note[0]
        else:
            self.notes.extend(new_note)

    def let_go(self) -> None:
        """Let go of the rows once their files are written: the frame keeps its columns and no
        row, the spills' temporary files are removed."""
        self.frame = self.frame.clear()
        for spill in (self.spill, self.values):
            if spill is not None:
                spill.close()

    def counts(self) -> dict[str, int]:
        """Rows per status; ready, duplicate and invalid are always present."""
        counts = dict.fromkeys(PREPARE_STATUSES, 0)
        for status, n in self.frame.group_by("status").len().iter_rows():
            counts[str(status)] = int(n)
        return counts

    def iter_bodies(
        self, rows: pl.Series | None = None
    ) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """(source_row, key, exact JSON body) of every ready row (of those in ``rows``), in
        file order.

        Blank values are omitted (on_empty: omit) or sent as "" to clear them (on_empty:
        clear), which Reevo's API does for text fields only: a blank amount, date-time, list,
        lookup or stage is omitted even then (:func:`_uncleared_notes` says so once); a value
        dropped by ``on_invalid: drop`` is always omitted. An amount is a JSON number (an int
        when integral); a lookup field is ``{form: value}`` (``"account": {"domain":
        "acme.com"}``); ``key: {column: ...}`` is not sent. Each body is its canonical text
        (:meth:`body_frames`) parsed back: its keys are sorted, so httpx sends that very text.
        """
        loads = json.loads
        for row, key, text in self.iter_texts(rows):
            yield row, key, loads(text)

    def iter_texts(self, rows: pl.Series | None = None) -> Iterator[tuple[int, str, str]]:
        """(source_row, key, canonical JSON text of the body) of every ready row (of those in
        ``rows``), in file order: :meth:`iter_bodies`' bodies as text."""
        for frame in self.body_frames(rows):
            yield from frame.iter_rows()

    def body_frames(
        self, rows: pl.Series | None = None, size: int = 100_000
    ) -> Iterator[pl.DataFrame]:
        """source_row, key and ``body``, the canonical JSON text of the request body
        (:mod:`syncer.canonical`), of every ready row (of those in ``rows``), in file order,
        ``size`` rows a frame: written by polars, a frame at a time."""
        if rows is not None and rows.len() == 0:  # nothing to send (an unchanged re-run)
            return
        fields = self.body_fields()
        if self.values is not None:
            yield from self._spilled_bodies(self.values, rows, fields)
            return
        ready = self._ready(rows)
        dropped = DROPPED if DROPPED in ready.columns else None
        for start in range(0, ready.height, size):
            part = ready.slice(start, size)
            text = body_texts(part, fields, dropped=dropped, sep=DROPPED_SEP)
            yield part.select("source_row", "key").with_columns(text)

    def _spilled_bodies(
        self, values: Spill, rows: pl.Series | None, fields: list[BodyField]
    ) -> Iterator[pl.DataFrame]:
        """:meth:`body_frames` from :attr:`values`, a spilled batch at a time: the rows of
        ``rows`` (sorted, as the plan gives them), else the ready ones (dedupe may have made
        some ready row of a batch a duplicate since)."""
        if rows is None:
            rows = self.frame.filter(pl.col("status") == RowStatus.READY.value)["source_row"]
        wanted = rows.cast(pl.Int64).sort()
        at = 0
        for batch in values.batches():
            if at >= len(wanted):
                return
            if batch.height == 0:
                continue
            last = batch["source_row"][-1]
            end = int(wanted.search_sorted(last, side="right"))
            if end == at:
                continue
            part = batch.filter(pl.col("source_row").is_in(wanted.slice(at, end - at).implode()))
            at = end
            dropped = DROPPED if DROPPED in part.columns else None
            text = body_texts(part, fields, dropped=dropped, sep=DROPPED_SEP)
            yield part.select("source_row", "key").with_columns(text)

    def digest_parts(self) -> Iterator[pl.DataFrame]:
        """:meth:`digests` a part at a time (at least one, maybe empty): a batch of the file
        when its values are spilled (each batch's bodies built and hashed as it is read back),
        else :data:`PLAN_ROWS` rows of the whole frame's."""
        if self.values is None:
            whole = self.digests()
            for start in range(0, max(whole.height, 1), PLAN_ROWS):
                yield whole.slice(start, PLAN_ROWS)
            return
        empty = True
        for frame in self.body_frames():
            empty = False
            yield frame.select("source_row", "key", digest=sha256_hex(frame["body"]))
        if empty:
            yield pl.DataFrame(schema=_DIGESTS)

    def digests(self, rows: pl.Series | None = None) -> pl.DataFrame:
        """source_row, key and ``digest`` (:func:`syncer.ledger.body_hash` of the body) of
        every ready row (of those in ``rows``), in file order."""
        if self.values is not None and rows is None:
            parts = list(self.digest_parts())
            return pl.concat(parts) if len(parts) > 1 else parts[0]
        parts = [
            frame.select("source_row", "key", digest=sha256_hex(frame["body"]))
            for frame in self.body_frames(rows)
        ]
        if not parts:
            return pl.DataFrame(schema=_DIGESTS)
        return pl.concat(parts)

    def value_hashes(self) -> tuple[pl.DataFrame, str]:
        """source_row, key and :func:`~syncer.canonical.values_hash` (``__h1``, ``__h2``) of
        the values every ready row's body is made of, in file order, and their
        :func:`~syncer.canonical.body_recipe`: rows of equal hashes under equal recipes have
        the same body, so the same digest (:mod:`syncer.runner.digest_memo`). Not for a file
        whose values are spilled (read in batches)."""
        assert self.values is None, "the values of a file read in batches are spilled"
        fields = self.body_fields()
        values = self.frame.select(self._value_columns(fields))
        ready = self.frame.get_column("status") == RowStatus.READY.value
        hashed = self.ready_keys_frame().hstack(values_hash(values).filter(ready))
        return hashed, body_recipe(values.head(0), fields, DROPPED_SEP)

    def ready_rows(self) -> pl.Series:
        """The source_row of every ready row, in file order (:meth:`iter_bodies`' order)."""
        return self.ready_keys_frame().get_column("source_row")

    def ready_keys_frame(self) -> pl.DataFrame:
        """The source_row and ``key`` of every ready row, in file order."""
        ready = pl.col("status") == RowStatus.READY.value  # two columns copied, not all
        key = pl.col(KEY_COLUMN).cast(pl.String).alias("key")
        return self.frame.select(pl.col("source_row").filter(ready), key.filter(ready))

    def ready_keys(self) -> pl.Series:
        """The key of every ready row."""
        return self.ready_keys_frame().get_column("key")

    def _ready(self, rows: pl.Series | None = None) -> pl.DataFrame:
        """The ready rows' (those in ``rows``) source_row, ``key`` and the columns their
        bodies are made of."""
        wanted = pl.col("status") == RowStatus.READY.value
        if rows is not None:
            wanted &= pl.col("source_row").is_in(rows.implode())
        return self.frame.filter(wanted).select(
            "source_row", pl.col(KEY_COLUMN).cast(pl.String).alias("key"), *self._value_columns()
        )

    def _value_columns(self, fields: Sequence[BodyField] | None = None) -> list[str]:
        """The frame columns the bodies are made of (of ``fields``, else every body field),
        and the dropped values' column when there is one."""
        fields = self.body_fields() if fields is None else fields
        dropped = [DROPPED] if DROPPED in self.frame.columns else []
        return [*(f.column for f in fields), *dropped]

    def body_fields(self) -> list[BodyField]:
        """How each mapped field goes into the body (the key's own field does not)."""
        return body_fields(self.mapping, self.fields)


#: :meth:`Prepared.digests`' columns
_DIGESTS = {"source_row": pl.Int64, "key": pl.String, "digest": pl.String}
#: ready rows whose digests are joined to the ledger's memory at once (a million rows' joined
#: columns: ~100 MB)
PLAN_ROWS = 1_000_000


def body_fields(mapping: Mapping, fields: Sequence[MappedField]) -> list[BodyField]:
    """How each mapped field goes into the body (the key's own field does not)."""
    clear = mapping.on_empty == "clear"
    stage = _stage_field(mapping)
    # custom fields go under the body key of their section (the target declares it)
    body_key = {c.name: c.body_key for c in mapping.spec.custom}
    out = []
    for f in fields:
        if f.section != "columns" and f.section not in body_key:
            continue
        plain = f.section == "columns"
        out.append(
            BodyField(
                column=f.out,
                name=f.name,
                section=None if plain else body_key[f.section],
                form=f.spec.lookup if plain else None,
                amount=plain and f.kind is FieldKind.DECIMAL and not f.is_list,
                clear=clear and _clearable(f, stage),
            )
        )
    return out


def _stage_field(mapping: Mapping) -> str | None:
    """The target's stage field (moved by its own request, never cleared), if it has one."""
    stage = closed_stage(mapping.spec)
    return stage[0] if stage is not None else None


def _clearable(f: MappedField, stage: str | None) -> bool:
    """Whether Reevo's API clears ``f`` when sent "": text fields only (its README: "an
    omitted or null field leaves the stored value unchanged; an empty string clears a text
    field"). Not an amount, a date-time, a list (unspecified: left alone), a lookup (it would
    mean no parent) or the stage (moved, not cleared)."""
    if f.spec.lookup is not None or f.is_list:
        return False
    return not (f.section == "columns" and (f.kind in _NOT_TEXT or f.name == stage))


#: kinds whose values are not text: "" would not clear them
_NOT_TEXT = frozenset({FieldKind.DECIMAL, FieldKind.DATETIME})


def _uncleared_notes(frame: pl.DataFrame, fields: list[MappedField], mapping: Mapping) -> list[str]:
    """Under ``on_empty: clear``, one note naming the fields blank in some ready row that the
    API cannot clear (their blank cells are omitted: the stored values stay), with the rows."""
    if mapping.on_empty != "clear":
        return []
    stage = _stage_field(mapping)
    kept = [f for f in fields if f.section != KEY_SECTION and not _clearable(f, stage)]
    if not kept:
        return []
    ready = frame.filter(pl.col("status") == RowStatus.READY.value)
    dropped = (
        pl.col(DROPPED).fill_null("").str.split(DROPPED_SEP)
        if DROPPED in frame.columns
        else pl.lit([], dtype=pl.List(pl.String))
    )
    counts = ready.select(
        (pl.col(f.out).is_null() & ~dropped.list.contains(f.out)).sum().alias(f.out) for f in kept
    ).row(0)
    blank = [(f, int(n)) for f, n in zip(kept, counts, strict=True) if n]
    if not blank:
        return []
    listed = ", ".join(
        f"{f.name if f.section == 'columns' else f'{f.section}.{f.name}'} "
        f"({n:,} row{'s' if n != 1 else ''})"
        for f, n in blank
    )
    return [
        f"on_empty: clear cannot clear {listed}: Reevo's API clears only text fields (with an "
        "empty value), so these blank cells were left out and the values stored in Reevo stay"
    ]


def _internal_names(source: SourceTable) -> tuple[pl.DataFrame, dict[str, str]]:
    """The source's columns under their output names (:func:`syncer.results.source_names`: the
    reader gave them already; a SourceTable built by hand may still hold ``status`` or
    ``reevo_contact_id``); return frame + header map (frame column -> header, equal)."""
    names = source_names(source.columns)
    renames = {c: n for c, n in zip(source.columns, names, strict=True) if c != n}
    frame = source.frame.rename(renames) if renames else source.frame
    return frame, {n: n for n in names}


def prepare(
    source: Path | SourceTable, mapping: Mapping | Path, *, ahead: ReadAhead | None = None
) -> Prepared:
    """Read, map, normalise, validate and dedupe one file. No network.

    A mapping file's own problems and every column it names that the file lacks are raised
    together: MappingError (SourceError when only columns are missing). ``ahead``: the file's
    read begun by the caller (:class:`~syncer.sources.ahead.ReadAhead`).
    """
    return _prepare(source, mapping, values=True, ahead=ahead)


def _prepare(
    source: Path | SourceTable,
    mapping: Mapping | Path,
    *,
    values: bool,
    ahead: ReadAhead | None = None,
) -> Prepared:
    """:func:`prepare`; a large text file is read in batches (:mod:`.streamed`), the field
    values kept in ``frame`` only with ``values`` (a run sends them; validate does not)."""
    from syncer.runner.streamed import prepare_streamed

    streamed = prepare_streamed(source, mapping, values=values)
    if streamed is not None:
        return streamed
    source, loaded = _load(source, mapping, ahead)
    frame, headers = _internal_names(source)
    by_header = {h: c for c, h in headers.items()}
    note = _sheet_note(source)
    columns = list(headers)
    mapping = loaded if isinstance(loaded, Mapping) else loaded.finish(columns, note=note)
    found = resolve_columns(mapping, columns, note=note)
    resolved = {want: by_header[have] for want, have in found.items()}
    fields = plan(mapping, resolved)
    frame = normalise(frame, fields)
    frame = check(frame, fields, mapping.spec)
    frame = mark_duplicates(frame, mapping.dedupe.keep, key_label=mapping.spec.key_label)
    notes = [
        *_repeated_header_notes(found.values(), list(headers)),
        *absent_optional(mapping, found),
        *warning_notes(frame),
        *_uncleared_notes(frame, fields, mapping),
    ]
    ordered = ["source_row", "status", "error", "error_code", "warnings", KEY_COLUMN]
    internal = [f.out for f in fields] + [c for c in (DROPPED, WARNING_CODES) if c in frame.columns]
    frame = frame.select(*ordered, *internal, *headers)
    return Prepared(
        source=source, mapping=mapping, frame=frame, fields=fields, headers=headers, notes=notes
    )


def _load(
    source: Path | SourceTable, mapping: Mapping | Path, ahead: ReadAhead | None = None
) -> tuple[SourceTable, Mapping | MappingDraft]:
    """The source, read as the mapping says (the read ``ahead`` when it is that one), and the
    mapping; a mapping file comes back as a draft whose problems wait for the source's
    headers, unless the source cannot be read."""
    if isinstance(mapping, Mapping):
        if not isinstance(source, SourceTable):
            source = _read(Path(source), mapping.source, ahead)
        return source, mapping
    draft = read_mapping(Path(mapping))
    if isinstance(source, SourceTable):
        return source, draft
    if draft.source is None:  # `source:` itself is wrong (so this raises): the file can't be read
        draft.raise_problems()
    try:
        return _read(Path(source), draft.source or SourceSpec(), ahead), draft
    except SourceError:
        draft.raise_problems()  # the mapping's own problems come first
        raise


def _read(path: Path, spec: SourceSpec, ahead: ReadAhead | None = None) -> SourceTable:
    read = ahead.read if ahead is not None else read_source
    return read(path, sheet=spec.sheet, delimiter=spec.delimiter, encoding=spec.encoding)


def _sheet_note(source: SourceTable) -> str:
    """For a missing-columns error on a workbook: which sheet was read and how to pick another."""
    others = [s for s in source.sheets if s != source.sheet]
    if not others:
        return ""
    return (
        f"They were looked for in sheet {source.sheet!r}; the workbook also has "
        f"{', '.join(repr(s) for s in others)}: name the right one in the mapping with "
        "`source: {sheet: NAME}`."
    )


def _repeated_header_notes(used: Iterable[str], columns: list[str]) -> list[str]:
    """A note for each mapped header the file repeats: the mapping reads the first one."""
    taken = {c.strip().casefold() for c in columns}
    notes = []
    for header in dict.fromkeys(used):
        if f"{header.strip()}_2".casefold() in taken:
            notes.append(
                f'the file has more than one column named "{header}": the mapping reads the '
                f'first; the next is "{header.strip()}_2" in the results'
            )
    return notes


def validate(
    source: Path,
    mapping: Mapping | Path,
    *,
    results: Path | None = None,
    results_format: str | None = None,
    ahead: ReadAhead | None = None,
) -> RunSummary:
    """Prepare ``source`` and write its results files, and its failures files when some row is
    invalid (``failures_path`` is None otherwise). No network. ``results_format``: see
    :func:`syncer.results.output_files`; ``ahead``: see :func:`prepare`.

    Raises ConfigError, before reading, when an output path is the source or the mapping.
    """
    started = time.perf_counter()
    source = Path(source)
    files = output_files(source, results, results_format)
    mapping_path = mapping.path if isinstance(mapping, Mapping) else Path(mapping)
    check_outputs(files.paths, {"source": source, "mapping": mapping_path})
    prepared = _prepare(source, mapping, values=False, ahead=ahead)
    counts = dict.fromkeys(PREPARE_STATUSES, 0)
    written = write_outputs(prepared, None, files)
    counts.update(written.counts)
    return RunSummary(
        rows=prepared.frame.height,
        counts=counts,
        blank_rows=prepared.source.blank_rows,
        results_path=written.files.results,
        failures_path=written.failures,
        results_xlsx=written.files.xlsx[0] if written.files.xlsx else None,
        failures_xlsx=written.failures_xlsx,
        elapsed_s=time.perf_counter() - started,
        issues=issue_counts(prepared.frame),
        warnings=prepared.warning_counts(),
        command="validate",
        notes=[*prepared.notes, *written.notes],
    )


# ---------------------------------------------------------------------------------------------
# The push half: plan against the ledger -> preflight -> push -> record -> results
# ---------------------------------------------------------------------------------------------
