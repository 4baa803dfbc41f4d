"""The third-party corpus lives beside the project at ../shared/corpus (CI has it too)."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
SKIP_NAMES = {"MANIFEST.md", "SHA256SUMS.txt"}


def corpus_files() -> list[Path]:
    """Every data file of the corpus (licences, manifest and checksums excluded)."""
    if not CORPUS.is_dir():
        return []
    return sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file() and p.name not in SKIP_NAMES and not p.name.startswith("LICENSE")
    )


def ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(CORPUS)) for p in paths]


requires_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS} (it sits beside the project)"
)
