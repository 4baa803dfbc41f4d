"""Results and failures files: every input row exactly once, safe to open in Excel.

Results CSV: ``source_row, status, error, warnings``, the source's own columns, then
``error_code`` and the target's id columns (:func:`result_tail`; account_contact:
``reevo_contact_id, reevo_account_id``) (``warnings``: what the mapping's
``on_invalid: drop|warn`` did to the row's values, empty when nothing; files written before it
existed lack it and are still read). Failures CSV: rows to fix (invalid / failed /
not_attempted) in the source's own columns plus ``error``, so it can be fixed and used as input
again with the same mapping (a previous run's ``error`` column is replaced); none is written when
no row needs fixing.

Reserved names (:func:`is_reserved`, the one list): a source column named like one of our output
or working columns is called ``<name> (source)`` from the moment it is read (the reader, the
prepared frame and both files use :func:`source_names`), so a results file is itself valid input.

Formats (:func:`output_files`): CSV files, workbooks (:mod:`syncer.xlsx`: the same rows and
columns, a frozen header, status fills, the offending cells of invalid rows marked with their
error as a comment, the source's number and date cells as such again, a Summary sheet) or both;
by default both for an Excel source, CSV for a text one. A CSV uses the source's delimiter and,
when every character fits, its encoding (and byte-order mark); else UTF-8 with a byte-order mark
and a note. ``csv-utf8``: UTF-8, commas, no byte-order mark, whatever the source.

Formula-like cells (:mod:`syncer.formulas`: OWASP CSV injection, phone numbers and signed
numbers excepted) get a leading ``'`` in a CSV and Excel's quote prefix in a workbook;
:func:`syncer.results_reading.read_results` and the source reader undo the ``'``. Every file is
written to a temporary file in its folder and renamed into place, so a crash never leaves half a
file.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

import polars as pl

from syncer.atomic import write_atomic
from syncer.csvfiles import CsvStyle, csv_style, write_csv_parts
from syncer.errors import ConfigError, SourceError
from syncer.formulas import neutralise, unneutralise
from syncer.models import RESULTS_FORMATS, RETRY_STATUSES
from syncer.offending import offending_cells
from syncer.results_merge import Merged
from syncer.targets import TARGETS, every

if TYPE_CHECKING:
    from syncer.sources import SourceTable
    from syncer.sources.spill import Spill
    from syncer.transform import MappedField


class _Targeted(Protocol):
    @property
    def target(self) -> str: ...


class Prepared(Protocol):
    """What results needs of :class:`syncer.runner.Prepared` (results never imports runner)."""

    @property
    def mapping(self) -> _Targeted: ...

    @property
    def frame(self) -> pl.DataFrame: ...

    @property
    def headers(self) -> dict[str, str]: ...

    @property
    def source(self) -> SourceTable: ...

    @property
    def fields(self) -> Sequence[MappedField]: ...

    @property
    def spill(self) -> Spill | None: ...


__all__ = [
    "ENROLL_COLUMNS",
    "RESERVED_NAMES",
    "RESULTS_FORMATS",
    "RESULT_HEAD",
    "SOURCE_SUFFIX",
    "CsvStyle",
    "OutputFiles",
    "Written",
    "check_outputs",
    "csv_style",
    "default_paths",
    "is_reserved",
    "issue_counts",
    "needs_fixing",
    "neutralise",
    "output_files",
    "result_tail",
    "source_names",
    "unneutralise",
    "write_outputs",
    "write_results",
]

RESULT_HEAD = ("source_row", "status", "error", "warnings")
#: the columns ``then: enroll`` adds after the id columns: yes / no / blank, and why not
ENROLL_COLUMNS = ("enrolled", "enroll_error")
#: every name a source column must not have: our output columns;
#: :data:`_RESERVED_PATTERN` adds ``reevo_<object>_id`` and ``__*`` (the prepared frame's own)
RESERVED_NAMES = frozenset(
    {*RESULT_HEAD, "error_code", *(c for t in every() for c in t.result_columns), *ENROLL_COLUMNS}
)
_RESERVED_PATTERN = re.compile(r"reevo_\w*_id|__.*", re.DOTALL)
#: what a source column with a reserved name is called instead: ``status (source)``
SOURCE_SUFFIX = " (source)"
#: the suffixes syncer adds to a file's stem (stripped to name the files of a retry)
_OUTPUT_STEM = re.compile(r"(\.(results|failures|retry\d*))+$")
_EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
_XLSX = ".xlsx"


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


@dataclass(frozen=True, slots=True)
class OutputFiles:
    """The files a run writes: CSV files and/or workbooks, each as (results, failures)."""

    csv: tuple[Path, Path] | None = None
    xlsx: tuple[Path, Path] | None = None
    #: ``csv-utf8``: CSV files in UTF-8 with commas, whatever the source's
    utf8: bool = False

    @property
    def results(self) -> Path:
        """The results file ``--json`` and the ledger name: the CSV file when there is one."""
        pair = self.csv or self.xlsx
        assert pair is not None, "no output format"
        return pair[0]

    @property
    def failures(self) -> Path:
        """The failures file beside :attr:`results`."""
        pair = self.csv or self.xlsx
        assert pair is not None, "no output format"
        return pair[1]

    @property
    def paths(self) -> list[Path]:
        """Every path that may be written (or removed, for a stale failures file)."""
        return [*(self.csv or ()), *(self.xlsx or ())]


def output_files(
    source: Path,
    results: Path | None = None,
    fmt: str | None = None,
    *,
    retry: bool = False,
) -> OutputFiles:
    """The files for ``--results-format`` ``fmt`` (None: ``both`` for an Excel source,
    ``csv`` for a text one; an ``--results`` path ending in .xlsx asks for a workbook), named
    as :func:`default_paths` says, with ``.xlsx`` for the workbooks."""
    source = Path(source)
    wants_book = results is not None and Path(results).suffix.lower() == _XLSX
    excel = source.suffix.lower() in _EXCEL_SUFFIXES
    if fmt is None:
        fmt = "both" if excel else "xlsx" if wants_book else "csv"
    if fmt not in RESULTS_FORMATS:
        raise ConfigError(
            f"--results-format {fmt!r} is not a results format: use one of "
            f"{', '.join(RESULTS_FORMATS)}."
        )
    if wants_book and fmt not in ("xlsx", "both"):
        raise ConfigError(
            f"--results {results} names a workbook, but --results-format {fmt} writes CSV "
            "files: give a .csv path, or --results-format xlsx or both."
        )
    base = Path(results).with_suffix(".csv") if results is not None and wants_book else results
    csv = default_paths(source, base, retry=retry)
    book = (csv[0].with_suffix(_XLSX), csv[1].with_suffix(_XLSX))
    return OutputFiles(
        csv=csv if fmt != "xlsx" else None,
        xlsx=book if fmt in ("xlsx", "both") else None,
        utf8=fmt == "csv-utf8",
    )


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


def _write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` through ``write`` into a temporary file beside it, then rename it into
    place (:func:`syncer.atomic.write_atomic`); SourceError when it cannot be written."""
    try:
        write_atomic(path, write)
    except OSError as exc:
        raise SourceError(
            f"cannot write {path} ({exc.strerror or exc}). Choose another --results path.",
            path=str(path),
        ) from exc


def _remove(path: Path, why: str = "no row needs fixing now") -> None:
    """Remove a file left at ``path`` by an earlier run (a failures file, by default)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        what = "failures file" if "fixing" in why else "file"
        raise SourceError(
            f"cannot remove the old {what} {path} ({exc.strerror or exc}): {why}; delete it or "
            "choose another --results path.",
            path=str(path),
        ) from exc


def result_tail(target: str) -> tuple[str, ...]:
    """The last columns of a results file of ``target``: ``error_code``, then its id columns
    (``reevo_contact_id, reevo_account_id`` for account_contact)."""
    return ("error_code", *TARGETS[target].result_columns)


def _merging(prepared: Prepared, outcomes: pl.DataFrame | None) -> Merged:
    """The prepared rows' outcome columns (their source columns too unless a spill holds them)
    with ``outcomes`` over the rows they list (:class:`~syncer.results_merge.Merged`)."""
    base = prepared.frame.select(
        "source_row",
        "status",
        "error",
        "warnings",
        "error_code",
        *([] if _spill_of(prepared) is not None else prepared.headers),  # else: in the spill
        *[c for c in ENROLL_COLUMNS if c in prepared.frame.columns],  # then: enroll's
    )
    return Merged(base, outcomes, result_tail(prepared.mapping.target)[1:])


#: rows merged with their outcomes at once when they are merged whole
_MERGE_ROWS = 500_000


def needs_fixing(counts: Mapping[str, int]) -> bool:
    """True when some row is invalid, failed or not attempted (a failures file is written)."""
    return any(counts.get(s.value, 0) for s in RETRY_STATUSES)


def issue_counts(*frames: pl.DataFrame) -> dict[str, int]:
    """Rows per error code (a row with two problems counts under both), most common first,
    over the rows of ``frames`` (columns status, error_code) whose status needs fixing."""
    bad = [s.value for s in RETRY_STATUSES]
    fixing = pl.col("status").is_in(bad) & (pl.col("error_code") != "")
    # each frame's rows to fix, then together: a run's millions of rows are never copied
    codes = pl.concat(
        [f.filter(fixing).select(pl.col("error_code").cast(pl.String)) for f in frames]
    )
    counted = (
        codes.select(pl.col("error_code").str.split(";").explode().alias("code"))
        .group_by("code")
        .len()
        .sort(["len", "code"], descending=[True, False])
    )
    return {str(c): int(n) for c, n in counted.iter_rows()}


@dataclass(slots=True)
class Written:
    """What :func:`write_outputs` wrote: rows per status, the files (a workbook Excel could
    not hold replaced by its CSV) and notes for the user."""

    counts: dict[str, int]
    files: OutputFiles
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> Path | None:
        """The failures file, when some row needs fixing."""
        return self.files.failures if needs_fixing(self.counts) else None

    @property
    def failures_xlsx(self) -> Path | None:
        """The failures workbook, when one was written."""
        return self.files.xlsx[1] if self.files.xlsx and needs_fixing(self.counts) else None


def write_results(
    prepared: Prepared,
    outcomes: pl.DataFrame | None,
    results_path: Path,
    failures_path: Path,
) -> dict[str, int]:
    """:func:`write_outputs` of the CSV files alone; return rows per status."""
    files = OutputFiles(csv=(Path(results_path), Path(failures_path)))
    return write_outputs(prepared, outcomes, files).counts


def write_outputs(prepared: Prepared, outcomes: pl.DataFrame | None, files: OutputFiles) -> Written:
    """Write the results files and, when some row needs fixing, the failures files (else
    remove ones left there by an earlier run: callers refuse a failures path that is an input,
    see :func:`check_outputs`).

    ``outcomes`` (source_row, status, error, error_code and the target's id columns, e.g.
    reevo_contact_id, reevo_account_id) overrides the prepared status of the rows it lists.
    """
    merging = _merging(prepared, outcomes)
    spill = _spill_of(prepared)
    if spill is not None and files.xlsx is None:
        return _write_spilled(prepared, merging, spill, files)
    merged = merging.whole(_MERGE_ROWS)
    del merging
    written = Written(_counts(merged), files)
    if spill is not None:  # a workbook is written whole
        merged = pl.concat([merged, spill.frame()], how="horizontal")
    shape = _Shape(prepared, merged.columns)
    results = shape.results(merged)
    failures = shape.failures(merged) if needs_fixing(written.counts) else None
    if files.xlsx is not None:
        written.files = _workbooks(prepared, merged, results, failures, written)
    if written.files.csv is not None:
        style = csv_style(prepared.source, written.files.utf8)
        _write_csv_file(written.files.csv[0], _whole(results), style, written.notes)
        if failures is not None:
            _write_csv_file(written.files.csv[1], _whole(failures), style, written.notes)
        else:
            _remove(written.files.csv[1])
    return written


def _counts(merged: pl.DataFrame) -> dict[str, int]:
    """Rows per status, by status."""
    grouped = merged.group_by(pl.col("status").cast(pl.String)).len().sort("status")
    return {str(status): int(n) for status, n in grouped.iter_rows()}


def _write_spilled(
    prepared: Prepared, merging: Merged, spill: Spill, files: OutputFiles
) -> Written:
    """:func:`write_outputs` of CSV files for rows whose source columns are in ``spill``: each
    spilled batch merged with its outcomes and written (the rows are never all merged at
    once); :class:`_SpilledPass` counts the rows per status and keeps the rows to fix on the
    way."""
    assert files.csv is not None
    spilled = _SpilledPass(_Shape(prepared, merging.columns), merging, spill)
    notes: list[str] = []
    style = csv_style(prepared.source, files.utf8)
    _write_csv_file(files.csv[0], spilled.results_parts, style, notes)
    written = Written(spilled.counts(), files, notes)
    if needs_fixing(written.counts):
        _write_csv_file(files.csv[1], spilled.failures_parts, style, written.notes)
    else:
        _remove(files.csv[1])
    return written


#: the rows to fix kept aside while the results file is written from a spill, at most (more:
#: the spill is read again for the failures file)
_COLLECT_ROWS = 100_000


class _SpilledPass:
    """One pass over a spill's rows, merged a batch at a time with their outcomes, that gives
    the results file's parts and, as it goes, tallies them: the rows per status and the rows
    to fix (kept while they are at most :data:`_COLLECT_ROWS`, else read again for the
    failures file). Each call of :meth:`results_parts` starts the tally again (a rewrite in
    UTF-8 goes through the rows a second time)."""

    def __init__(self, shape: _Shape, merging: Merged, spill: Spill) -> None:
        self._shape, self._merging, self._spill = shape, merging, spill
        self._counts: dict[str, int] = {}
        self._fixing: list[pl.DataFrame] | None = []

    def results_parts(self) -> Iterator[pl.DataFrame]:
        self._counts, self._fixing = {}, []
        for merged in self._merged_parts():
            for status, n in _counts(merged).items():
                self._counts[status] = self._counts.get(status, 0) + n
            if self._fixing is not None:
                self._fixing.append(_compact(self._shape.failures(merged)))
                if sum(f.height for f in self._fixing) > _COLLECT_ROWS:  # too many to keep
                    self._fixing = None
            yield self._shape.results(merged)

    def counts(self) -> dict[str, int]:
        """Rows per status of the last pass, by status."""
        return dict(sorted(self._counts.items()))

    def failures_parts(self) -> Iterable[pl.DataFrame]:
        """The failures file's parts: those the last pass kept, else the spill read again."""
        if self._fixing is not None:
            return self._fixing
        return (self._shape.failures(m) for m in self._merged_parts())

    def _merged_parts(self) -> Iterator[pl.DataFrame]:
        at = 0
        for batch in self._spill.batches():
            yield pl.concat([self._merging.slice(at, batch.height), batch], how="horizontal")
            at += batch.height


class _Shape:
    """The results and failures files' columns, from merged rows (their outcome, the
    source's columns)."""

    def __init__(self, prepared: Prepared, columns: Sequence[str]) -> None:
        self.cols = list(prepared.headers)
        # as the reader named them already
        self.names = source_names(list(prepared.headers.values()))
        self.tail = result_tail(prepared.mapping.target)
        self.enroll = [c for c in ENROLL_COLUMNS if c in columns]
        # a previous run's error column (``error (source)``) gives way to this run's ``error``
        old_error = f"error{SOURCE_SUFFIX}"
        self.keep = [(c, n) for c, n in zip(self.cols, self.names, strict=True) if n != old_error]

    def results(self, merged: pl.DataFrame) -> pl.DataFrame:
        return merged.select(
            *RESULT_HEAD,
            *[pl.col(c).alias(n) for c, n in zip(self.cols, self.names, strict=True)],
            *self.tail,
            *self.enroll,
        ).with_columns(
            pl.when(pl.col(c) != "").then(pl.col(c)).alias(c)
            for c in ("error", "warnings", "error_code")
        )

    def failures(self, merged: pl.DataFrame) -> pl.DataFrame:
        fixing = pl.col("status").is_in([s.value for s in RETRY_STATUSES])
        return merged.filter(fixing).select(*[pl.col(c).alias(n) for c, n in self.keep], "error")


def _spill_of(prepared: Prepared) -> Spill | None:
    """The prepared rows' source columns when they are kept apart (a file read in batches)."""
    spill: Spill | None = getattr(prepared, "spill", None)
    return spill


def _whole(frame: pl.DataFrame) -> Callable[[], Iterable[pl.DataFrame]]:
    return lambda: [frame]


def _compact(frame: pl.DataFrame) -> pl.DataFrame:
    """A copy of ``frame`` that holds only its own rows' bytes: a few rows filtered from a
    batch keep the whole batch's string buffers otherwise (a 5M-row file's rows to fix held
    ~1.4 GB of its source columns)."""
    buffer = io.BytesIO()
    frame.write_ipc(buffer)
    return pl.read_ipc(buffer.getvalue())


def _write_csv_file(
    path: Path, parts: Callable[[], Iterable[pl.DataFrame]], style: CsvStyle, notes: list[str]
) -> None:
    misfit: list[str] = []
    _write(path, lambda fh: misfit.extend(c for c in [write_csv_parts(parts, fh, style)] if c))
    if misfit:
        notes.append(
            f"{path.name} is UTF-8 with a byte-order mark, not {style.encoding} like the source: "
            f"{style.encoding} has no {misfit[0]!r} (Excel opens it all the same)"
        )


def _workbooks(
    prepared: Prepared,
    merged: pl.DataFrame,
    results: pl.DataFrame,
    failures: pl.DataFrame | None,
    written: Written,
) -> OutputFiles:
    """Write the results and failures workbooks; return the files written (when Excel cannot
    hold the rows: the CSV files instead, and a note)."""
    from syncer.xlsx import Sheet, TooLarge, write_workbook  # only for workbooks (~10 ms)

    files = written.files
    assert files.xlsx is not None
    source = prepared.source
    names = dict(zip(prepared.headers, source_names(list(prepared.headers.values())), strict=True))
    types = {names[c]: t for c, t in source.types.items() if c in names}
    marks = offending_cells(merged, prepared.fields, names)
    summary = _summary(source, written.counts, issue_counts(merged))
    sheets = [Sheet(source.sheet or "Results", results, types, "status", marks)]
    if failures is not None:
        fixing = merged.get_column("status").is_in([s.value for s in RETRY_STATUSES])
        rows = fixing.arg_true()
        kept = {c: s.gather(rows) for c, s in marks.items() if c in failures.columns}
        sheets.append(Sheet(source.sheet or "Failures", failures, types, None, kept))
    try:
        for path, sheet in zip(files.xlsx, sheets, strict=False):
            _write(path, partial(write_workbook, sheet=sheet, summary=summary))
    except TooLarge as exc:
        csv = files.csv or tuple(p.with_suffix(".csv") for p in files.xlsx)
        written.notes.append(
            f"no results workbook: {exc} (Excel's limits); every row is in {csv[0].name}"
        )
        for path in files.xlsx:  # an earlier run's workbooks would say something else
            _remove(path, "this run's rows do not fit in a workbook")
        return replace(files, csv=(csv[0], csv[1]), xlsx=None)
    if failures is None:
        _remove(files.xlsx[1])
    return files


def _summary(
    source: SourceTable, counts: Mapping[str, int], issues: Mapping[str, int]
) -> list[tuple[str, object]]:
    """The Summary sheet: the file, rows per status, rows to fix per error code."""
    rows: list[tuple[str, object]] = [("source", source.path.name)]
    if source.sheet:
        rows.append(("sheet", source.sheet))
    rows += [("rows", sum(counts.values())), ("", None), ("rows by status", None)]
    rows += [(status, counts[status]) for status in _STATUS_ORDER if status in counts]
    if issues:
        rows += [("", None), ("rows to fix, by error code", None), *issues.items()]
    return rows


#: the order of statuses in a Summary sheet
_STATUS_ORDER = (
    "ready", "succeeded", "unchanged", "duplicate", "invalid", "failed", "not_attempted",
)  # fmt: skip
