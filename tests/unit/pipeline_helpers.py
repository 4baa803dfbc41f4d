"""Small builders shared by the pipeline unit tests (no mocks: real frames, real mappings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from syncer.mapping import Mapping
from syncer.runner import Prepared, prepare
from syncer.sources import SourceTable


def table(
    rows: list[dict[str, Any]], *, read_issues: list[str | None] | None = None
) -> SourceTable:
    """A SourceTable as the reader gives it: source_row from 2, one String column per header."""
    columns = list(rows[0]) if rows else []
    data: dict[str, Any] = {"source_row": list(range(2, len(rows) + 2))}
    for c in columns:
        data[c] = [r.get(c) for r in rows]
    schema = {"source_row": pl.Int64, **dict.fromkeys(columns, pl.String)}
    if read_issues is not None:
        data["__read_issue"] = read_issues
        schema["__read_issue"] = pl.String
    frame = pl.DataFrame(data, schema=schema)
    return SourceTable(Path("t.csv"), frame, columns, 0, "csv", "utf-8", ",", None)


def mapping(columns: dict[str, Any], **extra: Any) -> Mapping:
    """A Mapping built in code (same validation as a file)."""
    return Mapping.model_validate({"columns": columns, **extra})


def run(rows: list[dict[str, Any]], columns: dict[str, Any], **extra: Any) -> Prepared:
    return prepare(table(rows), mapping(columns, **extra))


def by_row(p: Prepared) -> dict[int, dict[str, Any]]:
    return {r["source_row"]: r for r in p.frame.iter_rows(named=True)}
