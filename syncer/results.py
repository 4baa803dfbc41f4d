"""Results and failures files: every input row exactly once, safe to open in Excel.

Results CSV: ``source_row, status, error, warnings``, the source's own columns, then
``error_code, reevo_contact_id, reevo_account_id`` (``warnings``: what the mapping's
``on_invalid: drop|warn`` did to the row's values, empty when nothing; files written before it
existed lack it and are still read). Failures CSV: rows to fix (invalid / failed /
not_attempted) in the source's own columns plus ``error``, so it can be fixed and used as input
again with the same mapping (a previous run's ``error`` column is replaced); none is written when
no row needs fixing.

Reserved names (:func:`is_reserved`, the one list): a source column named like one of our output
or working columns is called ``<name> (source)`` from the moment it is read (the reader, the
prepared frame and both files use :func:`source_names`), so a results file is itself valid input.

Cells beginning with ``= + - @``, tab, CR, LF or NUL get a leading ``'`` (OWASP CSV injection);
:func:`read_results` and the source reader undo that. Every file is written to a temporary file
in its folder and renamed into place, so a crash never leaves half a file.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import polars as pl

from syncer.errors import ConfigError, SourceError
from syncer.models import RETRY_STATUSES


class Prepared(Protocol):
    """What results needs of :class:`syncer.runner.Prepared` (results never imports runner)."""

    @property
    def frame(self) -> pl.DataFrame: ...

    @property
    def headers(self) -> dict[str, str]: ...


__all__ = [
    "RESERVED_NAMES",
    "RESULT_HEAD",
    "RESULT_TAIL",
    "SOURCE_SUFFIX",
    "check_outputs",
    "default_paths",
    "is_reserved",
    "keep_copies",
    "needs_fixing",
    "neutralise",
    "prune_copies",
    "read_results",
    "source_names",
    "unneutralise",
    "write_results",
]

RESULT_HEAD = ("source_row", "status", "error", "warnings")
RESULT_TAIL = ("error_code", "reevo_contact_id", "reevo_account_id")
#: the head of results files written before the ``warnings`` column
_OLD_HEAD = RESULT_HEAD[:3]
#: every name a source column must not have: our output columns;
#: :data:`_RESERVED_PATTERN` adds ``reevo_<object>_id`` and ``__*`` (the prepared frame's own)
RESERVED_NAMES = frozenset({*RESULT_HEAD, *RESULT_TAIL})
_RESERVED_PATTERN = re.compile(r"reevo_\w*_id|__.*", re.DOTALL)
#: what a source column with a reserved name is called instead: ``status (source)``
SOURCE_SUFFIX = " (source)"
#: the suffixes syncer adds to a file's stem (stripped to name the files of a retry)
_OUTPUT_STEM = re.compile(r"(\.(results|failures|retry\d*))+$")
_DANGER = r"^[=+\-@\t\r\n\x00]"
_NEUTRALISED = r"^'[=+\-@\t\r\n\x00]"


def is_reserved(name: str) -> bool:
    """True for a name syncer uses (or may use) for a column of its own."""
    return name in RESERVED_NAMES or _RESERVED_PATTERN.fullmatch(name) is not None


def _fold(name: str) -> str:
    return name.strip().casefold()


def source_names(names: Sequence[str]) -> list[str]:
    """The names a source's columns go by in syncer's frames and files, in the same order.

    A reserved name becomes ``<name> (source)``; a name already taken (trimmed, ignoring case)
    gets ``_2``, ``_3``... Names that need no change are placed first, so in a results file read
    again its ``status (source)`` stays as it is and the results' own ``status`` takes
    ``status (source)_2``. Applied to its own output it changes nothing.
    """
    wanted = [f"{n}{SOURCE_SUFFIX}" if is_reserved(n) else n for n in names]
    first = [i for i, n in enumerate(names) if not is_reserved(n)]
    order = first + [i for i, n in enumerate(names) if is_reserved(n)]
    seen: set[str] = set()
    out = list(wanted)
    for i in order:
        candidate, k = wanted[i], 1
        while _fold(candidate) in seen:
            k += 1
            candidate = f"{wanted[i].strip()}_{k}"
        seen.add(_fold(candidate))
        out[i] = candidate
    return out


def default_paths(
    source: Path, results: Path | None = None, *, retry: bool = False
) -> tuple[Path, Path]:
    """(results, failures) paths.

    - ``results`` given: it, and ``<its stem without .results>.failures.csv`` beside it;
    - a plain source: ``<stem>.results.csv`` / ``<stem>.failures.csv`` beside it;
    - a retry, or a source that is itself a results/failures file (``x.failures.csv``,
      ``x.retry.results.csv``...): ``<base>.retry.results.csv`` / ``<base>.retry.failures.csv``,
      ``<base>`` being the stem without syncer's suffixes, and ``.retry2``, ``.retry3``... when
      that would be the source itself.
    """
    if results is not None:
        results = Path(results)
        base = results.stem.removesuffix(".results") or results.stem
        return results, results.with_name(f"{base}.failures.csv")
    source = Path(source)
    base = _OUTPUT_STEM.sub("", source.stem) or source.stem
    if not retry and base == source.stem:
        return (
            source.with_name(f"{base}.results.csv"),
            source.with_name(f"{base}.failures.csv"),
        )
    n = 1
    while True:
        tag = "retry" if n == 1 else f"retry{n}"
        pair = (
            source.with_name(f"{base}.{tag}.results.csv"),
            source.with_name(f"{base}.{tag}.failures.csv"),
        )
        if _fold(source.name) not in {_fold(p.name) for p in pair}:
            return pair
        n += 1


def _same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name one file (symlinks, ``..``, hard links, case)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(a.resolve()) == os.path.normcase(b.resolve())


def check_outputs(outputs: Iterable[Path], inputs: Mapping[str, Path | None]) -> None:
    """Refuse (ConfigError, exit 2) an output path that is one of the inputs.

    ``inputs`` maps a role (``source``, ``mapping``, ``ledger``) to its path (None: none).
    """
    for out in outputs:
        for role, given in inputs.items():
            if given is not None and _same_file(Path(out), Path(given)):
                raise ConfigError(
                    f"the output file {out} is the {role} {given}: writing it would destroy "
                    f"the {role}. Choose another --results path (the failures file goes beside "
                    "it)."
                )


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
    """Write ``frame`` to a temporary file beside ``path``, then rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("xb") as fh:
            _excel_safe(frame).write_csv(fh, null_value="")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise SourceError(
            f"cannot write {path} ({exc.strerror or exc}). Choose another --results path.",
            path=str(path),
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)


def _remove(path: Path) -> None:
    """Remove a failures file left at ``path`` by an earlier run."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise SourceError(
            f"cannot remove the old failures file {path} ({exc.strerror or exc}): no row needs "
            "fixing now; delete it or choose another --results path.",
            path=str(path),
        ) from exc


def _merged(prepared: Prepared, outcomes: pl.DataFrame | None) -> pl.DataFrame:
    base = prepared.frame.select(
        "source_row",
        "status",
        "error",
        "warnings",
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


def needs_fixing(counts: Mapping[str, int]) -> bool:
    """True when some row is invalid, failed or not attempted (a failures file is written)."""
    return any(counts.get(s.value, 0) for s in RETRY_STATUSES)


def write_results(
    prepared: Prepared,
    outcomes: pl.DataFrame | None,
    results_path: Path,
    failures_path: Path,
) -> dict[str, int]:
    """Write the results file and, when some row needs fixing, the failures file (else remove
    one left there by an earlier run: callers refuse a failures path that is an input, see
    :func:`check_outputs`); return rows per status.

    ``outcomes`` (source_row, status, error, error_code, reevo_contact_id, reevo_account_id)
    overrides the prepared status of the rows it lists.
    """
    merged = _merged(prepared, outcomes)
    cols = list(prepared.headers)
    names = source_names(list(prepared.headers.values()))  # as the reader named them already
    results = merged.select(
        *RESULT_HEAD,
        *[pl.col(c).alias(n) for c, n in zip(cols, names, strict=True)],
        *RESULT_TAIL,
    ).with_columns(
        pl.when(pl.col(c) != "").then(pl.col(c)).alias(c)
        for c in ("error", "warnings", "error_code")
    )
    _write(results, Path(results_path))

    counts: dict[str, int] = {}
    for status, n in merged.group_by("status").len().sort("status").iter_rows():
        counts[str(status)] = int(n)

    if not needs_fixing(counts):
        _remove(Path(failures_path))
        return counts
    # a previous run's error column (``error (source)``) gives way to this run's ``error``
    old_error = f"error{SOURCE_SUFFIX}"
    keep = [(c, n) for c, n in zip(cols, names, strict=True) if n != old_error]
    retry = [s.value for s in RETRY_STATUSES]
    failures = merged.filter(pl.col("status").is_in(retry)).select(
        *[pl.col(c).alias(n) for c, n in keep], "error"
    )
    _write(failures, Path(failures_path))
    return counts


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
    head = RESULT_HEAD if tuple(cols[: len(RESULT_HEAD)]) == RESULT_HEAD else _OLD_HEAD
    if tuple(cols[: len(head)]) != head or tuple(cols[-3:]) != RESULT_TAIL:
        raise SourceError(
            f"{path} is not a syncer results file (its first columns must be "
            f"{', '.join(RESULT_HEAD)}). Give the .results.csv file a run wrote.",
            path=str(path),
        )
    source_cols = cols[len(head) : -3]
    frame = frame.with_columns(unneutralise(pl.col(c)).alias(c) for c in cols).with_columns(
        pl.col("source_row").cast(pl.Int64)
    )
    return source_cols, frame
