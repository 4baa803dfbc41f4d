"""The source columns of a file read in batches, kept for the results file: in memory up to
:data:`MEMORY_BYTES`, the rest in a temporary folder as Arrow IPC files (LZ4), read back a batch
at a time. The folder goes when the spill is closed or garbage-collected."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

__all__ = ["MEMORY_BYTES", "Spill"]

#: source columns kept in memory before the next batches go to disk
MEMORY_BYTES = 256 << 20


class Spill:
    """Frames of the same columns, in order; :meth:`batches` gives them back in that order."""

    def __init__(self, memory: int | None = None) -> None:
        self.memory = MEMORY_BYTES if memory is None else memory
        self.rows = 0
        self._kept: list[pl.DataFrame] = []
        self._files: list[Path] = []
        self._held = 0
        self._dir: Path | None = None
        self._cleanup: Callable[[], None] | None = None

    def add(self, frame: pl.DataFrame) -> None:
        """Keep ``frame`` (the next rows)."""
        self.rows += frame.height
        size = int(frame.estimated_size())
        if self._dir is None and self._held + size <= self.memory:
            self._kept.append(frame)
            self._held += size
            return
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="syncer-spill-"))
            self._cleanup = weakref.finalize(self, _remove, self._dir)
        path = self._dir / f"{len(self._files):06d}.arrow"
        frame.write_ipc(path, compression="lz4")
        self._files.append(path)

    @property
    def on_disk(self) -> bool:
        """Whether some batches went to disk."""
        return bool(self._files)

    def batches(self) -> Iterator[pl.DataFrame]:
        """Every frame kept, in order (those on disk read back one at a time)."""
        yield from self._kept
        for path in self._files:
            yield pl.read_ipc(path.read_bytes())  # not mapped: read, used, let go

    def frame(self) -> pl.DataFrame:
        """Every row in one frame (a workbook is written from that)."""
        return pl.concat(list(self.batches()), how="vertical")

    def close(self) -> None:
        """Remove the temporary folder."""
        if self._cleanup is not None:
            self._cleanup()


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
