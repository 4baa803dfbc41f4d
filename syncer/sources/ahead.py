"""A source file read in a thread while its caller loads what checks it.

The command line starts reading the file as soon as it has the path, before the mapping is read
and before the modules that check and send its rows are imported (~0.2-0.35 s of a fresh
process, during which polars can already parse). The read uses no setting; the runner takes its
table only when the mapping's ``source:`` settings read the file the same way (each one named
is what the read found), else it reads the file again as the mapping says.
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

from syncer.background import in_background_joined
from syncer.errors import SourceError
from syncer.sources import SourceTable, read_source
from syncer.sources.batches import STREAM_BYTES

__all__ = ["ReadAhead"]


class ReadAhead:
    """``path`` read with no setting, begun in a thread the interpreter waits for at exit (a run
    that fails before it takes the table does not leave polars parsing while Python shuts
    down: :mod:`syncer.background`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._table: Future[SourceTable] = in_background_joined(read_source, path)

    @classmethod
    def begin(cls, path: Path) -> ReadAhead | None:
        """The read of ``path`` begun; None for a file that is not read whole (one of
        :data:`STREAM_BYTES` or more is read in batches; a missing one's error comes when it is
        read as the mapping says)."""
        try:
            if not path.is_file() or path.stat().st_size >= STREAM_BYTES:
                return None
        except OSError:
            return None
        return cls(path)

    def read(
        self,
        path: Path,
        *,
        sheet: str | int | None = None,
        delimiter: str | None = None,
        encoding: str | None = None,
    ) -> SourceTable:
        """:func:`read_source` of ``path`` with these settings: the table read ahead when it
        is that file and each setting named is the one the read found (a failed read raises
        its error here when none is named), else a new read."""
        if Path(path) == self.path:
            if sheet is None and delimiter is None and encoding is None:
                return self._table.result()
            try:
                table = self._table.result()
            except SourceError:  # the settings may read it where no setting could
                table = None
            found = (table.sheet, table.delimiter, table.encoding) if table else None
            if found is not None and all(
                want is None or want == got
                for want, got in zip((sheet, delimiter, encoding), found, strict=True)
            ):
                assert table is not None
                return table
        return read_source(path, sheet=sheet, delimiter=delimiter, encoding=encoding)
