"""A large text file read a batch at a time: memory that does not grow with the file.

:func:`open_batches` gives the rows :func:`syncer.sources.read_source` would give, in the same
order with the same ``source_row``, header, blank rows and report footer, as a series of frames
of about :data:`BATCH_BYTES` of the file each. It takes the regular UTF-8 files the fast polars
parse reads (:func:`syncer.sources.text._parse_fast`), each batch parsed by that same call on
whole lines; anything the careful Python parser would be needed for (another encoding, a
byte-order mark other than UTF-8's, CR-only or mixed line ends, a quoted newline, a row with
more cells than the first, bytes polars refuses) raises :class:`NotStreamable`, before or
while the batches are read, and the caller reads the whole file instead.

The file is split at line ends outside quotes (an even number of ``"`` before them), and each
batch is checked as the whole file is: a cell holding a newline, a line count that is not the
row count or a wider row than the file's first make the file :class:`NotStreamable`.
"""

from __future__ import annotations

import codecs
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from syncer.sources._table import (
    _FOOTER_MAX,
    SOURCE_ROW,
    SourceTable,
    _report_footer,
    _unneutralise,
    blank_mask,
    unique_headers,
)
from syncer.sources.text import _SNIFF_CHARS, _check_head, _maybe_utf8, polars_cells

__all__ = ["BATCH_BYTES", "STREAM_BYTES", "Batches", "NotStreamable", "open_batches"]

#: text files at least this large are prepared a batch at a time (:mod:`syncer.runner.streamed`).
#: Below it the whole file is read at once (~1 GB of memory for a 175 MB, 1M-row file): on two
#: busy cores the batches were measured no faster, often slower, than one pass over the whole
#: frame
STREAM_BYTES = 256 << 20

#: bytes of the file parsed at a time (about 180,000 rows of a 12-column lead list)
BATCH_BYTES = 32 << 20
#: batches parsed ahead of the one being used (the reader runs in a thread)
_AHEAD = 1


class NotStreamable(Exception):
    """The file needs the whole-file reader (see the module's docstring)."""


@dataclass
class Batches:
    """A text file's rows a batch at a time. ``table`` describes the file (``frame`` is empty,
    with the columns; ``blank_rows`` is final once every batch was taken)."""

    table: SourceTable
    _batches: Iterator[pl.DataFrame]
    _stop: threading.Event = field(default_factory=threading.Event)

    def __iter__(self) -> Iterator[pl.DataFrame]:
        return self._batches

    def close(self) -> None:
        """Stop the reader thread (when the batches are not all taken)."""
        self._stop.set()


def open_batches(
    path: Path, encoding: str | None, delimiter: str | None, size: int | None = None
) -> Batches:
    """Start reading ``path`` (a text file) in batches of about ``size`` bytes; the header is
    read now. Raises :class:`NotStreamable`, or the SourceError the whole-file reader would
    raise for the file's first 64 KB (not a CSV, a wrong delimiter setting)."""
    size = size or BATCH_BYTES
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_CHARS + len(codecs.BOM_UTF8))
    if not head or not _maybe_utf8(head, encoding):
        raise NotStreamable("not UTF-8")
    bom = codecs.BOM_UTF8 if head.startswith(codecs.BOM_UTF8) else b""
    text = head[len(bom) :][:_SNIFF_CHARS].decode("utf-8", errors="ignore")
    delim = _check_head(path, text, delimiter, path.stat().st_size <= _SNIFF_CHARS)
    table = SourceTable(
        path=path,
        frame=pl.DataFrame(),
        columns=[],
        blank_rows=0,
        format="csv",
        encoding="utf-8",
        delimiter=delim,
        sheet=None,
        bom=bool(bom),
    )
    finish = _Finish(table)
    raws = _raw_batches(path, delim, len(bom), size)
    # the header: the first non-blank row (every batch before it is blank rows)
    first: list[pl.DataFrame] = []
    for raw in raws:
        first = finish.add(raw)
        if finish.names is not None:
            break
    if finish.names is None:
        raise NotStreamable("no header row")  # the whole-file reader says so
    table.columns = finish.names
    schema = {SOURCE_ROW: pl.Int64, **dict.fromkeys(finish.names, pl.String)}
    table.frame = pl.DataFrame(schema=schema)
    stop = threading.Event()

    def rest() -> Iterator[pl.DataFrame]:
        yield from first
        for raw in raws:
            yield from finish.add(raw)
        yield from finish.end()

    return Batches(table, _ahead(rest(), stop), stop)


_DONE = object()


def _ahead(batches: Iterator[pl.DataFrame], stop: threading.Event) -> Iterator[pl.DataFrame]:
    """``batches`` made in a thread, :data:`_AHEAD` ahead of the consumer (polars parses
    without the GIL, so reading overlaps the work on the previous batch).

    The thread is not a daemon: the interpreter waits for it at exit, so it is never inside
    polars while the process shuts down (:mod:`syncer.background` says why). It ends after the
    batch it is parsing when ``stop`` is set or the main thread has ended (a run that failed
    without closing its batches)."""
    out: queue.Queue[object] = queue.Queue(maxsize=_AHEAD)
    main = threading.main_thread()

    def put(item: object) -> bool:
        while not stop.is_set() and main.is_alive():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
            return
        put(_DONE)

    thread = threading.Thread(target=run, name="syncer-read", daemon=False)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, pl.DataFrame)
            yield item
    finally:
        stop.set()


class _Finish:
    """:func:`syncer.sources._table._finish` a batch at a time: the header (first non-blank
    row), blank rows dropped and counted, the report footer (held back: the last rows), the
    columns named and un-neutralised."""

    def __init__(self, table: SourceTable) -> None:
        self.table = table
        self.raw: list[str] = []
        self.names: list[str] | None = None
        self.tail: pl.DataFrame | None = None

    def add(self, raw: pl.DataFrame) -> list[pl.DataFrame]:
        """The finished rows of ``raw`` that can be given out now (the last few wait)."""
        if not self.raw:
            self.raw = [c for c in raw.columns if c != SOURCE_ROW]
        blank = blank_mask(raw, self.raw)
        if self.names is None:
            nonblank = (~blank).arg_true()
            if len(nonblank) == 0:
                return []  # blank rows before the header are not counted
            h = int(nonblank[0])
            cells = raw.row(h, named=True)
            self.names = unique_headers([cells[n] for n in self.raw])
            raw, blank = raw.slice(h + 1), blank.slice(h + 1)
        dropped = int(blank.sum())
        if dropped:
            self.table.blank_rows += dropped
            raw = raw.filter(~blank)
        body = raw if self.tail is None else pl.concat([self.tail, raw])
        keep = max(body.height - _FOOTER_MAX, 0)
        self.tail = body.slice(keep)
        return [self._named(body.head(keep))] if keep else []

    def end(self) -> list[pl.DataFrame]:
        """The last rows, without a report footer (counted as blank rows)."""
        tail = self.tail if self.tail is not None else pl.DataFrame()
        footer = _report_footer(tail, self.raw) if tail.height else 0
        self.table.blank_rows += footer
        return [self._named(tail.head(tail.height - footer))] if tail.height else []

    def _named(self, body: pl.DataFrame) -> pl.DataFrame:
        assert self.names is not None
        body = body.rename(dict(zip(self.raw, self.names, strict=True)))
        return _unneutralise(body, self.names).select(SOURCE_ROW, *self.names)


def _raw_batches(path: Path, delim: str, skip: int, size: int) -> Iterator[pl.DataFrame]:
    """The file's lines parsed ``size`` bytes at a time, as the fast whole-file parse would
    (generic column names, ``source_row`` = line number)."""
    width: int | None = None
    line = 0
    for chunk in _chunks(path, skip, size):
        raw = _parse(chunk, delim)
        lines = raw.height  # one record per line (a quoted newline would have been refused)
        if b'"' in chunk and raw.height != chunk.count(b"\n") + (not chunk.endswith(b"\n")):
            raise NotStreamable("rows are not lines")  # a piece cut inside a quoted cell
        if width is None:
            width = raw.width
        elif raw.width > width:
            raise NotStreamable("a row wider than the first")
        elif raw.width < width:  # the whole file's parse pads short rows with nulls
            raw = raw.with_columns(
                pl.lit(None, dtype=pl.String).alias(f"column_{j}") for j in range(raw.width, width)
            )
        yield raw.with_columns(
            pl.int_range(line + 1, line + raw.height + 1, dtype=pl.Int64).alias(SOURCE_ROW)
        )
        line += lines


def _parse(chunk: bytes, delim: str) -> pl.DataFrame:
    """One batch of whole lines through the whole-file fast parse's own steps."""
    df = polars_cells(chunk, delim)
    if df is None:  # CR line ends, a quoted newline, bytes polars refuses: the careful reader
        raise NotStreamable("not for the fast parse")
    if df.width == 0:
        raise NotStreamable("no columns")
    return df
    names = df.columns
    has_nl = df.select(pl.any_horizontal(pl.all().str.contains("\n", literal=True).any()))
    if bool(has_nl.item()):
        raise NotStreamable("a quoted newline")
    if b'""' in chunk:  # quoted empty cells read as "": make every empty cell null
        empty = df.select((pl.col(n).str.len_bytes() == 0).any() for n in names).row(0)
        df = df.with_columns(
            pl.when(pl.col(n).str.len_bytes() == 0).then(None).otherwise(pl.col(n)).alias(n)
            for n, has in zip(names, empty, strict=True)
            if has
        )
    return df


def _chunks(path: Path, skip: int, size: int) -> Iterator[bytes]:
    """The file's bytes after ``skip`` in pieces of whole lines of about ``size`` bytes, each
    cut after a line end with an even number of ``"`` before it (not inside a quoted cell)."""
    with path.open("rb") as fh:
        at = skip
        want = size
        while True:
            fh.seek(at)
            block = fh.read(want)
            if len(block) < want:  # the end of the file
                if block:
                    yield block
                return
            cut = _cut(block)
            if not cut:  # no line end outside quotes yet: a longer piece
                want *= 2
                continue
            yield block if cut == len(block) else block[:cut]
            at += cut
            want = size


def _cut(buf: bytes) -> int:
    """Where to cut ``buf``: after its last line end outside quotes (0: nowhere yet)."""
    nl = buf.rfind(b"\n")
    if b'"' not in buf:
        return nl + 1
    quotes = buf.count(b'"', 0, nl) if nl >= 0 else 0
    while nl >= 0:
        if quotes % 2 == 0:
            return nl + 1
        before = buf.rfind(b"\n", 0, nl)
        quotes -= buf.count(b'"', before + 1, nl)
        nl = before
    return 0
