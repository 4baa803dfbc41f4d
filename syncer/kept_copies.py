"""Each run's own copy of its results and failures files, beside the ledger, and their pruning."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from syncer.errors import SourceError


def keep_copies(folder: Path, results: Path, failures: Path | None) -> tuple[Path, Path | None]:
    """Keep this run's own copy of its results and failures files in ``folder``.

    The results file is hard-linked when ``folder`` is on its filesystem (the next run replaces
    the stable name with a new file, so the link keeps this run's rows), else copied. The
    failures file is always copied: people fix it in place, and the copy must keep what the
    run wrote.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        kept = folder / results.name
        kept.unlink(missing_ok=True)
        try:
            os.link(results, kept)
        except OSError:
            shutil.copyfile(results, kept)
        kept_failures = None
        if failures is not None:
            kept_failures = folder / failures.name
            shutil.copyfile(failures, kept_failures)
    except OSError as exc:
        raise SourceError(
            f"cannot keep a copy of this run's files in {folder} ({exc.strerror or exc}): "
            "check that the ledger's folder is writable.",
            path=str(folder),
        ) from exc
    return kept, kept_failures


def prune_copies(root: Path, keep: int = 100) -> None:
    """Remove the kept files of all but the newest ``keep`` runs under ``root``."""
    if not root.is_dir():
        return
    runs = sorted((int(p.name), p) for p in root.iterdir() if p.is_dir() and p.name.isdigit())
    for _, old in runs[: max(len(runs) - keep, 0)]:
        shutil.rmtree(old, ignore_errors=True)
