"""Results and failures files: every input row exactly once, safe to open in Excel.

Results CSV: ``source_row, status, error``, the source's own columns unchanged, then
``error_code, reevo_contact_id, reevo_account_id``. A source column whose name equals one of
ours is written as ``<name> (source)``. Failures CSV: rows to fix (invalid / failed /
not_attempted) in the source's own columns plus ``error``, so it can be fixed and used as input
again with the same mapping (an ``error`` column already there is replaced).

Cells beginning with ``= + - @``, tab, CR, LF or NUL get a leading ``'`` (OWASP CSV injection);
:func:`read_results` and the source reader undo that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import polars as pl

from syncer.errors import SourceError
from syncer.models import RETRY_STATUSES


class Prepared(Protocol):
    """What results needs of :class:`syncer.runner.Prepared` (results never imports runner)."""

    @property
    def frame(self) -> pl.DataFrame: ...

    @property
    def headers(self) -> dict[str, str]: ...


__all__ = [
    "RESULT_HEAD",
    "RESULT_TAIL",
    "default_paths",
    "neutralise",
    "read_results",
    "unneutralise",
    "write_results",
]

RESULT_HEAD = ("source_row", "status", "error")
RESULT_TAIL = ("error_code", "reevo_contact_id", "reevo_account_id")
SOURCE_SUFFIX = " (source)"
_DANGER = r"^[=+\-@\t\r\n\x00]"
_NEUTRALISED = r"^'[=+\-@\t\r\n\x00]"


def default_paths(source: Path, results: Path | None = None) -> tuple[Path, Path]:
    """(results, failures) paths: ``<stem>.results.csv`` / ``<stem>.failures.csv`` beside the
    source, or beside ``results`` as ``<results stem>.failures.csv``."""
    if results is None:
        return (
            source.with_name(f"{source.stem}.results.csv"),
            source.with_name(f"{source.stem}.failures.csv"),
        )
    results = Path(results)
    return results, results.with_name(f"{results.stem}.failures.csv")


def neutralise(expr: pl.Expr) -> pl.Expr:
    """Prefix ``'`` to a text cell that a spreadsheet would run as a formula."""
    return pl.when(expr.str.contains(_DANGER)).then(pl.lit("'") + expr).otherwise(expr)


def unneutralise(expr: pl.Expr) -> pl.Expr:
    """Undo :func:`neutralise`."""
    return pl.when(expr.str.contains(_NEUTRALISED)).then(expr.str.slice(1)).otherwise(expr)


def _excel_safe(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        neutralise(pl.col(c)).alias(c) for c, t in frame.schema.items() if t == pl.String
    )


def _write(frame: pl.DataFrame, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _excel_safe(frame).write_csv(path, null_value="")
    except OSError as exc:
        raise SourceError(
            f"cannot write {path} ({exc.strerror or exc}). Choose another --results path.",
            path=str(path),
        ) from exc


def _merged(prepared: Prepared, outcomes: pl.DataFrame | None) -> pl.DataFrame:
    base = prepared.frame.select(
        "source_row",
        "status",
        "error",
        "error_code",
        *prepared.headers,
        reevo_contact_id=pl.lit(None, dtype=pl.String),
        reevo_account_id=pl.lit(None, dtype=pl.String),
    )
    if outcomes is None or outcomes.height == 0:
        return base
    cols = ["status", "error", "error_code", "reevo_contact_id", "reevo_account_id"]
    got = outcomes.select(
        pl.col("source_row").cast(pl.Int64),
        *[pl.col(c).cast(pl.String).alias(f"__o_{c}") for c in cols if c in outcomes.columns],
    )
    joined = base.join(got, on="source_row", how="left", maintain_order="left")
    listed = pl.col("__o_status").is_not_null()
    updates = []
    for c in cols:
        if f"__o_{c}" not in joined.columns:
            continue
        new = pl.col(f"__o_{c}")
        if c in ("error", "error_code"):
            new = new.fill_null("")
        updates.append(pl.when(listed).then(new).otherwise(pl.col(c)).alias(c))
    return joined.with_columns(updates).select(base.columns)


def write_results(
    prepared: Prepared,
    outcomes: pl.DataFrame | None,
    results_path: Path,
    failures_path: Path,
) -> dict[str, int]:
    """Write the results and failures files; return rows per status.

    ``outcomes`` (source_row, status, error, error_code, reevo_contact_id, reevo_account_id)
    overrides the prepared status of the rows it lists.
    """
    merged = _merged(prepared, outcomes)
    ours = set(RESULT_HEAD) | set(RESULT_TAIL)
    out_names = {}
    for col, header in prepared.headers.items():
        out_names[col] = f"{header}{SOURCE_SUFFIX}" if header in ours else header
    results = merged.select(
        *RESULT_HEAD,
        *[pl.col(c).alias(n) for c, n in out_names.items()],
        *RESULT_TAIL,
    ).with_columns(
        pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in ("error", "error_code")
    )
    _write(results, Path(results_path))

    retry = [s.value for s in RETRY_STATUSES]
    keep = [c for c, h in prepared.headers.items() if h != "error"]
    failures = merged.filter(pl.col("status").is_in(retry)).select(
        *[pl.col(c).alias(prepared.headers[c]) for c in keep], "error"
    )
    _write(failures, Path(failures_path))

    counts: dict[str, int] = {}
    for status, n in merged.group_by("status").len().sort("status").iter_rows():
        counts[str(status)] = int(n)
    return counts


def read_results(path: Path) -> tuple[list[str], pl.DataFrame]:
    """Read a results file back: (the source's column names as written, frame of text with
    ``source_row`` as Int64). Cells are un-neutralised."""
    path = Path(path)
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SourceError(
            f"cannot read results file {path} ({exc}). Give the .results.csv file a run wrote.",
            path=str(path),
        ) from exc
    cols = frame.columns
    if tuple(cols[:3]) != RESULT_HEAD or tuple(cols[-3:]) != RESULT_TAIL:
        raise SourceError(
            f"{path} is not a syncer results file (its first columns must be "
            f"{', '.join(RESULT_HEAD)}). Give the .results.csv file a run wrote.",
            path=str(path),
        )
    source_cols = cols[3:-3]
    frame = frame.with_columns(unneutralise(pl.col(c)).alias(c) for c in cols).with_columns(
        pl.col("source_row").cast(pl.Int64)
    )
    return source_cols, frame
