"""An org's memory of a target read from the ledger in a thread while the file is still
being prepared: the longest step of an unchanged re-run."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import polars as pl
import yaml

from syncer.errors import ConfigError
from syncer.ledger import org_id, read_synced, snapshot
from syncer.mapping import Mapping
from syncer.runner.settings import Settings, api_key_of, base_url_of
from syncer.targets import DEFAULT, TARGETS


class EarlyRead:
    """An org's memory of a target, read from the ledger in a thread while the file is still
    being prepared: its snapshot when the ledger vouches for it (~0.2 s per 1M keys), else the
    ledger itself (~1.5 s per 1M keys, the longest step of an unchanged re-run without one).

    The plan takes it only if the run's org and target turn out to be these and nothing was
    committed to the ledger since the read began (``PRAGMA data_version`` on its connection:
    another run may have written before this one got the lock); else it reads again."""

    def __init__(self, path: Path, org: str, target: str) -> None:
        self.org, self.target = org, target
        #: rows past which the read gives up (set once the file's ready keys are known)
        self.limit: int | None = None
        self._path = path
        self._db = sqlite3.connect(str(path), timeout=120, check_same_thread=False)
        self._version: int | None = None
        self._frame: pl.DataFrame | None = None
        #: the frame when it came from the ledger's snapshot (:mod:`syncer.ledger.snapshot`)
        self._kept: pl.DataFrame | None = None
        self._failed = False
        names = [c.name for c in TARGETS[target].id_columns]
        # not a daemon: polars (the snapshot, the frame of the rows read) must not be working
        # while Python shuts down after a run that failed before its plan (it crashed)
        self._thread = threading.Thread(
            target=self._read, args=(names,), name="syncer-ledger-read", daemon=False
        )
        self._thread.start()

    @classmethod
    def begin(cls, settings: Settings, mapping: Mapping | Path | str) -> EarlyRead | None:
        """The read for the run's org (as :func:`syncer.runner.sync` names it) and the
        mapping's target, begun; None when there is nothing to read yet (no ledger file) or
        either cannot be told before the file is read."""
        if settings.ledger is None or not settings.ledger.is_file():
            return None
        try:
            key = api_key_of(settings)
        except ConfigError:
            if not settings.dry_run:
                return None
            key = ""
        try:
            org = settings.org or org_id(
                base_url_of(settings), api_key=key, label=settings.org_label
            )
        except ConfigError:
            return None
        target = mapping.target if isinstance(mapping, Mapping) else _target_of(Path(mapping))
        if target is None or target not in TARGETS:
            return None
        return cls(settings.ledger, org, target)

    def _read(self, id_names: list[str]) -> None:
        try:
            self._version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
            self._frame = self._kept = snapshot.read(
                self._db, self._path, self.org, self.target, id_names
            )
            if self._frame is None:
                self._frame = read_synced(
                    self._db, self.org, self.target, id_names,
                    give_up=lambda n: self.limit is not None and n > self.limit,
                )  # fmt: skip
        except Exception:
            self._failed = True

    def result(self, org: str, target: str) -> pl.DataFrame | None:
        """The frame read (as :meth:`Ledger.synced_frame` gives it), if it holds for this org
        and target and the ledger is as it was; closes the read's connection."""
        self._thread.join()
        try:
            same = int(self._db.execute("PRAGMA data_version").fetchone()[0]) == self._version
        except sqlite3.Error:
            same = False
        finally:
            self._db.close()
        if self._failed or not same or (org, target) != (self.org, self.target):
            return None
        if self._kept is not None and self.limit is not None and self._kept.height > self.limit:
            return None  # as the read gives up: many more keys than the file's
        return self._frame


def _target_of(path: Path) -> str | None:
    """The ``target:`` a mapping file names (None: unreadable; its errors come later)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None
    target = data.get("target", DEFAULT) if isinstance(data, dict) else None
    return target if isinstance(target, str) else None
