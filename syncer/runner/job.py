"""One job for a whole migration: several (source, mapping) steps run in order in one process.

A job file (YAML) lists its steps; paths are relative to the job file::

    steps:
      - {name: companies, source: companies.csv, mapping: accounts.yaml}
      - {source: contacts.csv, mapping: contacts.yaml, results: out/contacts.results.csv}
      - {source: deals.csv, mapping: deals.yaml}

Every step is checked before the first one sends anything (the job file, every mapping against
its source's headers, every output path): one :class:`~syncer.errors.MappingError` (code
``job``) lists every problem as ``job file:line``. The steps then run one after the other as
:func:`~syncer.runner.syncing.sync` runs one file (each a run in the ledger, with its own results
files), sharing the settings, the ledger and the org, so a later step's lookups find what an
earlier one created. A step that Reevo stops (exit 3), that is interrupted (130 / 143) or that
cannot run at all (exit 2: a lock, a stale file) stops the job: the later steps are not run.
Row-level failures (exit 1) do not.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from syncer.errors import ConfigError, MappingError, SourceError, SyncerError
from syncer.mapping import Mapping
from syncer.models import RUN_JSON_STATUSES, VALIDATE_JSON_STATUSES, RunSummary
from syncer.results import check_outputs, default_paths, output_files
from syncer.runner.prepared import prepare, validate
from syncer.runner.settings import Settings, api_key_of
from syncer.yamldoc import Lines, parse_yaml

__all__ = ["JobStep", "JobSummary", "StepResult", "load_job", "run_job", "validate_job"]

#: the keys of a step, and of the job file itself
STEP_KEYS = ("source", "mapping", "name", "results")
JOB_KEYS = ("steps",)
JOB_HINT = (
    "Fix the job file, or the mapping or source file its step names, where the message points "
    "(job file:line); `syncer validate --job FILE` checks every step without sending."
)
_SHAPE = "`- {source: FILE, mapping: FILE}`"


@dataclass(frozen=True, slots=True)
class JobStep:
    """One step of a job file, its paths resolved against the job file's folder."""

    number: int  # 1-based, in file order
    name: str  # the step's ``name:``, else its source file's name
    source: Path
    mapping: Path
    results: Path | None = None  # the step's ``results:``
    line: int | None = None  # where the step starts in the job file
    lines: dict[str, int] = field(default_factory=dict)  # line of each of its keys

    def describe(self) -> dict[str, Any]:
        """``step``, ``name``, ``source``, ``mapping`` (the keys every ``--json`` step has)."""
        return {
            "step": self.number,
            "name": self.name,
            "source": str(self.source),
            "mapping": str(self.mapping),
        }


@dataclass(slots=True)
class StepResult:
    """How one step that was started ended: its run's summary, or the error that stopped it
    before it could run (a lock held, a stale file...)."""

    step: JobStep
    summary: RunSummary | None = None
    error: SyncerError | None = None

    @property
    def exit_code(self) -> int:
        """The step's own exit code, as a single ``syncer run`` of it would have ended."""
        if self.error is not None:
            return self.error.exit_code
        assert self.summary is not None
        return self.summary.exit_code

    @property
    def stops_job(self) -> bool:
        """True when the steps after this one must not run: it was stopped (by Reevo, a signal)
        or could not run (an error); rows to fix (exit 1) do not stop the job."""
        if self.error is not None:
            return True
        assert self.summary is not None
        return self.summary.aborted is not None or self.summary.interrupted is not None

    def to_dict(self) -> dict[str, Any]:
        """The step's usual ``--json`` object (:meth:`RunSummary.to_dict`) plus ``step``,
        ``name``, ``source``, ``mapping``, ``exit_code`` and ``error`` (null unless the step
        ended on an error instead of a summary)."""
        out: dict[str, Any] = self.summary.to_dict() if self.summary is not None else {}
        out.update(self.step.describe())
        out["exit_code"] = self.exit_code
        err = self.error
        out["error"] = (
            {"code": err.code, "message": err.message, "hint": err.hint}
            if err is not None
            else None
        )
        return out


@dataclass(slots=True)
class NotRun:
    """A step the job did not start, because an earlier step stopped it (or a stop request)."""

    step: JobStep
    rows: int  # its file's rows, as the check before the job counted them: none was sent

    def to_dict(self) -> dict[str, Any]:
        return {**self.step.describe(), "rows": self.rows}


@dataclass(slots=True)
class JobSummary:
    """What :func:`run_job` / :func:`validate_job` return: a result per started step, the steps
    not run, and the job's exit code (the worst of its steps'). :meth:`to_dict` is the
    ``--json`` object."""

    path: Path
    command: Literal["run", "validate"]
    steps: list[StepResult] = field(default_factory=list)
    not_run: list[NotRun] = field(default_factory=list)
    dry_run: bool = False
    interrupted: str | None = None  # a stop request between two steps ("SIGINT")
    stop_exit_code: int | None = None  # its exit code (130, 143)
    elapsed_s: float = 0.0

    @property
    def exit_code(self) -> int:
        """The worst step's exit code: interrupted (130 / 143) > stopped by Reevo (3) >
        unusable input or a step that could not run (2) > rows to fix (1) > all fine (0).
        The ordering is the codes' numeric order; a stop request between steps counts too."""
        codes = [s.exit_code for s in self.steps]
        if self.stop_exit_code is not None:
            codes.append(self.stop_exit_code)
        return max(codes, default=0)

    @property
    def stopped_by(self) -> StepResult | None:
        """The step that stopped the job, if one did."""
        return next((s for s in self.steps if s.stops_job), None)

    def totals(self) -> dict[str, int]:
        """Rows and counts over the steps that ran (``rows``, a key per status, ``requests``
        for a run); the rows of steps not run are in ``not_run_rows``, never in the counts."""
        statuses = VALIDATE_JSON_STATUSES if self.command == "validate" else RUN_JSON_STATUSES
        if self.dry_run:
            statuses = (*statuses, "ready")
        summaries = [s.summary for s in self.steps if s.summary is not None]
        out = {"rows": sum(s.rows for s in summaries)}
        for status in statuses:
            out[status] = sum(s.counts.get(status, 0) for s in summaries)
        if self.command == "run":
            out["requests"] = sum(s.requests for s in summaries)
        out["blank_rows"] = sum(s.blank_rows for s in summaries)
        out["not_run_rows"] = sum(n.rows for n in self.not_run)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` object of ``syncer run --job`` / ``syncer validate --job`` (keys are
        only ever added; README, "One job for a whole migration")."""
        stopped = self.stopped_by
        return {
            "command": self.command,
            "job": str(self.path),
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "steps": [s.to_dict() for s in self.steps],
            "not_run": [n.to_dict() for n in self.not_run],
            "stopped_at": stopped.step.number if stopped is not None else None,
            "interrupted": self.interrupted,
            **self.totals(),
            "elapsed_s": round(self.elapsed_s, 3),
        }


# ------------------------------------------------------------------------------ the job file


def load_job(path: Path | str) -> list[JobStep]:
    """The steps of job file ``path``; MappingError (code ``job``) listing every problem of
    the file itself (unknown keys, missing or wrong values, files that do not exist) as
    ``path:line``."""
    steps, problems = _read_job(Path(path))
    _raise_problems(str(path), problems)
    return steps


def _read_job(path: Path) -> tuple[list[JobStep], list[tuple[int | None, str]]]:
    """The usable steps of job file ``path`` and the problems of the file (line, text);
    MappingError at once when there is nothing to check (unreadable, not YAML)."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _job_error(f"job file {where} not found. Check the --job path.", where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _job_error(
            f"cannot read job file {where}: {exc}. Save it as UTF-8 text.", where
        ) from exc
    try:
        data, lines = parse_yaml(text, where)
    except MappingError as exc:
        raise _job_error(exc.message, where, exc.line) from None
    problems: list[tuple[int | None, str]] = []
    steps: list[JobStep] = []
    if not isinstance(data, dict) or "steps" not in data:
        problems.append(
            (None, f"a job file is a YAML mapping with `steps:`, a list of {_SHAPE} entries")
        )
    else:
        problems += _unknown(data, JOB_KEYS, lines, (), "a job file has only `steps:`")
        raw = data["steps"]
        if not isinstance(raw, list) or not raw:
            got = "an empty list" if raw == [] else f"{type(raw).__name__} {raw!r}"
            problems.append(
                (lines.line(("steps",)), f"steps: must list at least one {_SHAPE}, got {got}")
            )
        else:
            for i, item in enumerate(raw):
                step = _step(path, i, item, lines, problems)
                if step is not None:
                    steps.append(step)
    return steps, problems


def _step(
    job: Path, i: int, item: Any, lines: Lines, problems: list[tuple[int | None, str]]
) -> JobStep | None:
    """Step ``i`` (0-based) of the job file, or None with its problems added."""
    n = i + 1
    at = ("steps", i)
    if not isinstance(item, dict):
        problems.append((lines.line(at), f"step {n}: must be {_SHAPE}, got {item!r}"))
        return None
    before = len(problems)
    problems += _unknown(
        item, STEP_KEYS, lines, at, f"step {n}: a step takes " + ", ".join(STEP_KEYS)
    )
    values: dict[str, str] = {}
    for key in STEP_KEYS:
        value = item.get(key)
        line = lines.line((*at, key))
        if value is None:
            if key in ("source", "mapping"):
                what = "the file to import" if key == "source" else "its mapping YAML"
                problems.append((line, f"step {n}: no `{key}:` ({what}, relative to the job file)"))
            continue
        if not isinstance(value, str) or not value.strip():
            problems.append((line, f"step {n}: {key}: must be a file path or name, got {value!r}"))
            continue
        values[key] = value.strip()
    base = job.parent
    for key in ("source", "mapping"):
        if key in values and not (base / values[key]).is_file():
            problems.append(
                (
                    lines.line((*at, key)),
                    f"step {n}: {key} {base / values[key]} does not exist (paths are relative "
                    f"to the job file's folder {base})",
                )
            )
    if len(problems) > before:
        return None
    source = base / values["source"]
    return JobStep(
        number=n,
        name=values.get("name", source.name),
        source=source,
        mapping=base / values["mapping"],
        results=base / values["results"] if "results" in values else None,
        line=lines.line(at),
        lines={k: v for k in STEP_KEYS if (v := lines.line((*at, k))) is not None},
    )


def _unknown(
    data: dict[Any, Any], allowed: tuple[str, ...], lines: Lines, at: tuple[Any, ...], what: str
) -> list[tuple[int | None, str]]:
    out: list[tuple[int | None, str]] = []
    for key in data:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        out.append((lines.line((*at, key)), f"unknown key {key!r}{hint} ({what})"))
    return out


def _job_error(message: str, where: str, line: int | None = None) -> MappingError:
    return MappingError(message, path=where, line=line, code="job", hint=JOB_HINT)


def _raise_problems(where: str, problems: list[tuple[int | None, str]]) -> None:
    """One MappingError (code ``job``) listing ``problems`` as ``where:line: text``."""
    if not problems:
        return
    ordered = sorted(problems, key=lambda p: (p[0] is None, p[0] or 0))
    texts = [f"{where}:{line}: {msg}" if line else f"{where}: {msg}" for line, msg in ordered]
    head = (
        texts[0]
        if len(texts) == 1
        else f"{len(texts)} problems in {where}:\n  " + "\n  ".join(texts)
    )
    err = _job_error(
        f"{head}\nFix the job file (or the file it names) and run again. Nothing was sent or "
        "written.",
        where,
        ordered[0][0],
    )
    err.problems = texts
    raise err


# ---------------------------------------------------------------------- checking every step


@dataclass(slots=True)
class _Checked:
    """A step that passed the check: its mapping (read once) and its file's row count."""

    step: JobStep
    mapping: Mapping
    rows: int
    results: Path | None  # where its results go (None: beside its source)


def _results_of(step: JobStep, results_dir: Path | None) -> Path | None:
    """The step's ``results:``, else ``<results_dir>/<source stem>.results.csv``, else None
    (beside its source, as a single run)."""
    if step.results is not None:
        return step.results
    if results_dir is not None:
        return results_dir / default_paths(step.source)[0].name
    return None


def _check_job(
    path: Path,
    *,
    results_dir: Path | None,
    results_format: str | None,
    ledger: Path | None,
) -> list[_Checked]:
    """The job file read and every usable step prepared (mapping against the source's headers,
    no network), its output paths checked (not an input of any step, the job file or the
    ledger; not another step's), before anything is written or sent. One MappingError (code
    ``job``) lists every problem, the file's own and its steps'."""
    steps, problems = _read_job(path)
    checked: list[_Checked] = []
    inputs: dict[str, Path | None] = {"job file": path, "ledger": ledger}
    for step in steps:
        inputs[f"source of step {step.number}"] = step.source
        inputs[f"mapping of step {step.number}"] = step.mapping
    written: dict[Path, JobStep] = {}
    for step in steps:
        label = f"step {step.number} ({step.name})"
        results = _results_of(step, results_dir)
        out_line = step.lines.get("results", step.line)
        try:
            files = output_files(step.source, results, results_format)
            check_outputs(files.paths, inputs)
        except ConfigError as exc:
            problems.append((out_line, f"{label}: {exc.message}"))
            files = None
        for out in files.paths if files is not None else ():
            other = written.setdefault(out.resolve(), step)
            if other is not step:
                problems.append(
                    (
                        out_line,
                        f"{label}: writes {out}, as step {other.number} ({other.name}) does: give "
                        "one of them its own `results:` path",
                    )
                )
                break
        try:
            prepared = prepare(step.source, step.mapping)
        except SyncerError as exc:
            # the source's line for a file that cannot be read; else the mapping's (a column
            # it names that the file lacks is raised as a SourceError without a path)
            unreadable = isinstance(exc, SourceError) and exc.path is not None
            key = "source" if unreadable else "mapping"
            body = exc.message.replace("\n", "\n    ")
            problems.append((step.lines.get(key, step.line), f"{label}: {body}"))
            continue
        checked.append(_Checked(step, prepared.mapping, prepared.frame.height, results))
        del prepared  # one file in memory at a time
    _raise_problems(str(path), problems)
    return checked


# ------------------------------------------------------------------------------ running


def run_job(
    path: Path | str,
    settings: Settings | None = None,
    *,
    results_dir: Path | str | None = None,
    on_step: Callable[[JobStep, int], None] | None = None,
) -> JobSummary:
    """Run the steps of job file ``path`` in order, each as :func:`syncer.sync` runs one file
    with ``settings`` (``--dry-run``, ``--full``, pacing... apply to every step).

    Every step is checked first (MappingError, code ``job``, naming ``path:line``: nothing is
    sent). Each step writes its results files where its ``results:`` says, else under
    ``results_dir``, else beside its source; ``settings.results`` (one file) must be None.
    ``on_step(step, steps)`` is called as each step starts. A step that is stopped (by Reevo,
    a signal) or cannot run stops the job; the rest are in :attr:`JobSummary.not_run`.
    """
    settings = settings or Settings()
    if settings.results is not None:
        raise ConfigError(
            "Settings.results names one results file, but each step of a job writes its own: "
            "give a step its `results:` in the job file, or a results_dir (--results-dir)."
        )
    started = time.perf_counter()
    path = Path(path)
    if not settings.dry_run:
        api_key_of(settings)  # no key is the job's problem, found before any step
    checked = _check_job(
        path,
        results_dir=Path(results_dir) if results_dir is not None else None,
        results_format=settings.results_format,
        ledger=settings.ledger,
    )
    from syncer.runner.syncing import sync

    job = JobSummary(path=path, command="run", dry_run=settings.dry_run)

    def one(item: _Checked) -> RunSummary:
        return sync(item.step.source, item.mapping, replace(settings, results=item.results))

    _steps(job, checked, one, settings, on_step)
    job.elapsed_s = time.perf_counter() - started
    return job


def validate_job(
    path: Path | str,
    *,
    results_dir: Path | str | None = None,
    results_format: str | None = None,
    on_step: Callable[[JobStep, int], None] | None = None,
) -> JobSummary:
    """Check every step of job file ``path`` as :func:`syncer.validate` checks one file (no
    network): each step's results and failures files are written where :func:`run_job` would
    write them. MappingError (code ``job``) when a step cannot be checked at all."""
    started = time.perf_counter()
    path = Path(path)
    out_dir = Path(results_dir) if results_dir is not None else None
    checked = _check_job(path, results_dir=out_dir, results_format=results_format, ledger=None)
    job = JobSummary(path=path, command="validate")

    def one(item: _Checked) -> RunSummary:
        return validate(
            item.step.source, item.mapping, results=item.results, results_format=results_format
        )

    _steps(job, checked, one, None, on_step)
    job.elapsed_s = time.perf_counter() - started
    return job


def _steps(
    job: JobSummary,
    checked: list[_Checked],
    one: Callable[[_Checked], RunSummary],
    settings: Settings | None,
    on_step: Callable[[JobStep, int], None] | None,
) -> None:
    """Run ``one`` on each checked step in order until one stops the job (or a stop request
    arrives between steps); the rest go to ``job.not_run``."""
    stop = settings.stop if settings is not None else None
    for i, item in enumerate(checked):
        if stop is not None and stop.requested and job.interrupted is None:
            job.interrupted, job.stop_exit_code = stop.reason, stop.exit_code
        if job.interrupted is not None or (job.steps and job.steps[-1].stops_job):
            job.not_run = [NotRun(c.step, c.rows) for c in checked[i:]]
            return
        if on_step is not None:
            on_step(item.step, len(checked))
        try:
            job.steps.append(StepResult(item.step, summary=one(item)))
        except SyncerError as exc:
            job.steps.append(StepResult(item.step, error=exc))
