"""The only composer: read -> map -> normalise -> validate -> dedupe (-> push, added by sync()).

``prepare`` does no network and no per-row Python; ``iter_bodies`` builds the exact JSON body
of each ready row (Python, but it feeds a rate-limited network).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from syncer.dedupe import mark_duplicates
from syncer.errors import ConfigError, Retryable, RowRejected, RunAborted, SourceError
from syncer.ledger import Ledger, body_hash, org_id
from syncer.mapping import (
    FIELD_SECTIONS,
    FieldKind,
    FieldSpec,
    Mapping,
    load_mapping,
    resolve_columns,
)
from syncer.models import RowOutcome, RowStatus, RunSummary
from syncer.push import PushReport, PushSettings, make_client, push_rows
from syncer.reevo.client import DEFAULT_BASE_URL, TARGETS, ReevoClient, check_base_url
from syncer.results import default_paths, read_results, write_results
from syncer.sources import SourceTable, read_source
from syncer.transform import MappedField, normalise, plan, reserved_prefixes
from syncer.validate import check

__all__ = [
    "PREPARE_STATUSES",
    "RUN_STATUSES",
    "Prepared",
    "Settings",
    "preflight",
    "prepare",
    "retry",
    "sync",
    "validate",
]

#: statuses prepare() can give; counts() always has each of them
PREPARE_STATUSES = (RowStatus.READY.value, RowStatus.DUPLICATE.value, RowStatus.INVALID.value)
#: our own columns in Prepared.frame; a source column with one of these names is renamed
RESERVED = ("status", "error", "error_code", "key")


@dataclass
class Prepared:
    """The prepared rows of one source file: statuses, errors, keys, normalised values."""

    source: SourceTable
    mapping: Mapping
    frame: pl.DataFrame
    fields: list[MappedField] = field(default_factory=list)
    #: frame column -> the file's header, for every source column, in file order
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def source_columns(self) -> list[str]:
        """Frame names of the source's own columns, in file order."""
        return list(self.headers)

    def counts(self) -> dict[str, int]:
        """Rows per status; ready, duplicate and invalid are always present."""
        counts = dict.fromkeys(PREPARE_STATUSES, 0)
        for status, n in self.frame.group_by("status").len().iter_rows():
            counts[str(status)] = int(n)
        return counts

    def iter_bodies(self) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """(source_row, key, exact JSON body) of every ready row, in file order.

        Blank values are omitted (on_empty: omit) or sent as "" to clear (on_empty: clear).
        """
        clear = self.mapping.on_empty == "clear"
        cols = [f.out for f in self.fields]
        ready = self.frame.filter(pl.col("status") == RowStatus.READY.value)
        plain = [(i, f) for i, f in enumerate(self.fields) if f.section == "columns"]
        custom = [(i, f) for i, f in enumerate(self.fields) if f.section != "columns"]
        for row in ready.select("source_row", "key", *cols).iter_rows():
            values = row[2:]
            body: dict[str, Any] = {}
            for i, f in plain:
                v = values[i]
                if v is not None:
                    body[f.name] = v
                elif clear:
                    body[f.name] = ""
            for i, f in custom:
                v = values[i]
                if v is None and not clear:
                    continue
                body.setdefault(f.section, {})[f.name] = "" if v is None else v
            yield int(row[0]), str(row[1]), body


def _internal_names(source: SourceTable) -> tuple[pl.DataFrame, dict[str, str]]:
    """Rename source columns that collide with our own columns; return frame + header map."""
    frame = source.frame
    taken = set(frame.columns)
    renames: dict[str, str] = {}
    headers: dict[str, str] = {}
    for col in source.columns:
        name = col
        if col in RESERVED or col.startswith(reserved_prefixes()):
            name = f"{col} (source)"
            while name in taken:
                name += "_"
            taken.add(name)
            renames[col] = name
        headers[name] = col
    return (frame.rename(renames) if renames else frame), headers


def prepare(source: Path | SourceTable, mapping: Mapping | Path) -> Prepared:
    """Read, map, normalise, validate and dedupe one file. No network."""
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(Path(mapping))
    if not isinstance(source, SourceTable):
        src = mapping.source
        source = read_source(
            Path(source), sheet=src.sheet, delimiter=src.delimiter, encoding=src.encoding
        )
    frame, headers = _internal_names(source)
    by_header = {h: c for c, h in headers.items()}
    resolved = {
        want: by_header[have]
        for want, have in resolve_columns(mapping, list(source.columns)).items()
    }
    fields = plan(mapping, resolved)
    frame = normalise(frame, fields)
    frame = check(frame, fields, mapping.spec)
    frame = mark_duplicates(frame, mapping.dedupe.keep)
    ordered = ["source_row", "status", "error", "error_code", "key"]
    internal = [f.out for f in fields]
    frame = frame.select(*ordered, *internal, *headers)
    return Prepared(source=source, mapping=mapping, frame=frame, fields=fields, headers=headers)


def validate(source: Path, mapping: Mapping | Path, *, results: Path | None = None) -> RunSummary:
    """Prepare ``source`` and write its results and failures files. No network."""
    started = time.perf_counter()
    source = Path(source)
    prepared = prepare(source, mapping)
    results_path, failures_path = default_paths(source, results)
    counts = dict.fromkeys(PREPARE_STATUSES, 0)
    counts.update(write_results(prepared, None, results_path, failures_path))
    return RunSummary(
        rows=prepared.frame.height,
        counts=counts,
        blank_rows=prepared.source.blank_rows,
        results_path=results_path,
        failures_path=failures_path,
        elapsed_s=time.perf_counter() - started,
    )


# ---------------------------------------------------------------------------------------------
# The push half: plan against the ledger -> preflight -> push -> record -> results
# ---------------------------------------------------------------------------------------------

#: every status a run can give; RunSummary.counts always has each of them
RUN_STATUSES = tuple(s.value for s in RowStatus if s is not RowStatus.READY)
API_KEY_ENV = "REEVO_API_KEY"
BASE_URL_ENV = "REEVO_BASE_URL"
DEFAULT_LEDGER = Path(".syncer") / "ledger.db"


@dataclass
class Settings:
    """How :func:`sync` runs. Every field has a sensible default; the CLI fills them from flags.

    The API key comes from ``api_key``, else ``api_key_file``, else ``$REEVO_API_KEY``.
    """

    base_url: str | None = None  # default: $REEVO_BASE_URL, else Reevo's
    api_key: str | None = field(default=None, repr=False)
    api_key_file: Path | None = None
    results: Path | None = None
    dry_run: bool = False
    full: bool = False  # send unchanged rows too
    ledger: Path | None = DEFAULT_LEDGER  # None: no ledger (no change detection, no history)
    org_label: str | None = None  # ledger org name instead of the key's fingerprint
    org: str | None = None  # the exact ledger org id (overrides base URL + label/fingerprint)
    preflight: bool = True
    push: PushSettings = field(default_factory=PushSettings)
    transport: Any = None  # an httpx transport, for tests
    command: str = "syncer.sync"
    progress: Callable[[int], None] | None = None  # called with 1 per finished row
    on_start: Callable[[int], None] | None = None  # called with the number of ready rows
    source_rows: list[int] | None = None  # retry: original row numbers, in file order


def _api_key(settings: Settings) -> str:
    if settings.api_key:
        return settings.api_key.strip()
    if settings.api_key_file is not None:
        try:
            key = settings.api_key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the API key file {settings.api_key_file}: {exc.strerror}. "
                "Point --api-key-file at a readable file holding only the key."
            ) from None
        if not key:
            raise ConfigError(f"the API key file {settings.api_key_file} is empty.")
        return key
    key = os.environ.get(API_KEY_ENV, "").strip()
    if not key:
        raise ConfigError(
            f"no API key: set {API_KEY_ENV} (create a key in Reevo under Settings > API Keys "
            "with Accounts and Contacts write), pass --api-key-file, or try --sandbox."
        )
    return key


def _base_url(settings: Settings) -> str:
    return check_base_url(settings.base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL)


@dataclass
class _Collected:
    """Outcomes gathered as compact columns (cheap for a million rows)."""

    rows: list[int] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    error: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    contact: list[str | None] = field(default_factory=list)
    account: list[str | None] = field(default_factory=list)

    def add(self, o: RowOutcome) -> None:
        self.rows.append(o.source_row)
        self.status.append(o.status.value)
        self.error.append(o.error)
        self.code.append(o.code)
        self.contact.append(o.contact_id)
        self.account.append(o.account_id)

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "source_row": self.rows,
                "status": self.status,
                "error": self.error,
                "error_code": self.code,
                "reevo_contact_id": self.contact,
                "reevo_account_id": self.account,
            },
            schema={
                "source_row": pl.Int64,
                "status": pl.String,
                "error": pl.String,
                "error_code": pl.String,
                "reevo_contact_id": pl.String,
                "reevo_account_id": pl.String,
            },
        )


class _Plan:
    """Ready rows -> (rows to send, rows unchanged since their last success) via the ledger."""

    def __init__(
        self,
        prepared: Prepared,
        ledger: Ledger | None,
        org: str,
        full: bool,
        collected: _Collected,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.prepared = prepared
        self.ledger = ledger
        self.org = org
        self.full = full
        self.collected = collected
        self.progress = progress
        self.hashes: dict[int, tuple[str, str]] = {}  # source_row -> (key, body hash)
        self.to_send = 0
        self.unchanged = 0

    def items(self) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """Rows to send, in file order; unchanged rows are recorded as they are met."""
        target = self.prepared.mapping.target
        batch: list[tuple[int, str, dict[str, Any]]] = []
        for item in self.prepared.iter_bodies():
            batch.append(item)
            if len(batch) >= 500:
                yield from self._filter(target, batch)
                batch = []
        if batch:
            yield from self._filter(target, batch)

    def _filter(
        self, target: str, batch: list[tuple[int, str, dict[str, Any]]]
    ) -> Iterator[tuple[int, str, dict[str, Any]]]:
        known = (
            self.ledger.lookup(self.org, target, [k for _, k, _ in batch])
            if self.ledger is not None
            else {}
        )
        for row, key, body in batch:
            digest = body_hash(body)
            prev = known.get(key)
            if not self.full and prev is not None and prev.body_sha256 == digest:
                self.unchanged += 1
                self.collected.add(
                    RowOutcome(
                        row,
                        RowStatus.UNCHANGED,
                        error=f"not sent: identical to what run {prev.run_id} sent "
                        f"({prev.updated_at}); use --full to send anyway",
                        code="unchanged",
                        contact_id=prev.contact_id,
                        account_id=prev.account_id,
                    )
                )
                if self.progress is not None:
                    self.progress(1)
                continue
            self.hashes[row] = (key, digest)
            self.to_send += 1
            yield row, key, body


@dataclass
class _Job:
    """Everything one sync() call works with."""

    prepared: Prepared
    settings: Settings
    base_url: str
    api_key: str = field(repr=False)
    org: str
    ledger: Ledger | None
    plan: _Plan
    collected: _Collected
    run_id: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def target(self) -> str:
        return self.prepared.mapping.target

    def on_outcome(self, outcome: RowOutcome) -> None:
        """Collect one pushed row's outcome and remember it in the ledger."""
        self.collected.add(outcome)
        if self.ledger is None or self.run_id is None:
            return
        key, digest = self.plan.hashes.get(outcome.source_row, ("", ""))
        if key and outcome.status is not RowStatus.NOT_ATTEMPTED:
            self.ledger.record(self.org, self.target, self.run_id, key, digest, outcome)


def sync(source: Path, mapping: Mapping | Path, settings: Settings | None = None) -> RunSummary:
    """Import ``source`` into Reevo as ``mapping`` says; every row ends in the results file.

    Raises :class:`SyncerError` for unusable input/mapping/settings (before anything is sent)
    and for a failed preflight (:class:`RunAborted`). A run stopped by Reevo mid-way returns a
    summary with ``aborted`` set; unsent rows are ``not_attempted``.
    """
    settings = settings or Settings()
    started = time.perf_counter()
    source = Path(source)
    prepared = prepare(source, mapping)
    if settings.source_rows is not None and len(settings.source_rows) == prepared.frame.height:
        # a retry file: report the rows by their number in the original file
        rows = pl.Series("source_row", settings.source_rows, dtype=pl.Int64)
        prepared.frame = prepared.frame.with_columns(rows)
    if settings.on_start is not None:
        settings.on_start(prepared.counts()[RowStatus.READY.value])
    base_url = _base_url(settings)
    api_key = _dry_run_key(settings) if settings.dry_run else _api_key(settings)
    results_path, failures_path = default_paths(source, settings.results)
    org = settings.org or org_id(base_url, api_key=api_key, label=settings.org_label)
    ledger = Ledger(settings.ledger) if settings.ledger is not None else None
    try:
        collected = _Collected()
        plan = _Plan(prepared, ledger, org, settings.full, collected, settings.progress)
        job = _Job(prepared, settings, base_url, api_key, org, ledger, plan, collected)
        report: PushReport | None = None
        if settings.dry_run:
            _dry_run(job)
        else:
            report = _send(job, source)
        counts = dict.fromkeys(RUN_STATUSES, 0)
        if settings.dry_run:
            counts[RowStatus.READY.value] = 0
        counts.update(write_results(prepared, collected.frame(), results_path, failures_path))
        aborted = report.aborted if report else None
        summary = RunSummary(
            rows=prepared.frame.height,
            counts=counts,
            requests=report.requests if report else 0,
            blank_rows=prepared.source.blank_rows,
            results_path=results_path,
            failures_path=failures_path,
            aborted=aborted.message if aborted else None,
            abort_reason=aborted.reason if aborted else None,
            dry_run=settings.dry_run,
            run_id=job.run_id,
            elapsed_s=time.perf_counter() - started,
            extra={"to_send": plan.to_send, "target": job.target, "notes": job.notes},
        )
        if report is not None:
            summary.extra.update(
                retries=report.retries,
                throttled=report.throttled,
                achieved_rate=round(report.achieved_rate, 2),
            )
        if ledger is not None and job.run_id is not None:
            ledger.finish_run(
                job.run_id,
                outcome="aborted" if aborted else "finished",
                exit_code=summary.exit_code,
                rows=summary.rows,
                counts=counts,
                requests=summary.requests,
                message=summary.aborted,
                results_path=results_path.resolve(),
                failures_path=failures_path.resolve(),
            )
        return summary
    finally:
        if ledger is not None:
            ledger.close()


def _dry_run_key(settings: Settings) -> str:
    """The key when one is given (a dry run plans against that org's ledger), else ''."""
    try:
        return _api_key(settings)
    except ConfigError:
        return ""


def _dry_run(job: _Job) -> None:
    """Plan only: rows that would be sent are ``ready``; unchanged rows are reported as such."""
    for row, _key, _body in job.plan.items():
        job.collected.add(RowOutcome(row, RowStatus.READY))


def _send(job: _Job, source: Path) -> PushReport:
    """Record the run in the ledger, then preflight and push every changed ready row."""
    if job.ledger is not None:
        job.run_id = job.ledger.start_run(
            org=job.org,
            base_url=job.base_url,
            target=job.target,
            source=source,
            mapping=job.prepared.mapping.path,
            command=job.settings.command,
        )
    return asyncio.run(_push(job))


async def _push(job: _Job) -> PushReport:
    """Preflight (only when some row needs sending), then push the changed ready rows."""
    settings = job.settings
    items = job.plan.items()
    first = next(items, None)
    if first is None:
        return PushReport()
    client = make_client(
        job.api_key, settings.push, base_url=job.base_url, transport=settings.transport
    )
    async with client:
        try:
            if settings.preflight:
                owners = owner_emails(job.prepared)
                job.notes.extend((await preflight(client, job.target, owners)).notes)
        except RunAborted as exc:
            # nothing was sent: every row that would have been is not_attempted
            for row, _key, _body in itertools.chain([first], items):
                job.on_outcome(
                    RowOutcome(row, RowStatus.NOT_ATTEMPTED, error=exc.message, code="preflight")
                )
            return PushReport(requests=client.requests, aborted=exc)
        report = await push_rows(
            client,
            job.target,
            itertools.chain([first], items),
            settings.push,
            job.on_outcome,
            settings.progress,
        )
        report.requests = client.requests  # preflight included
    if report.aborted is not None and report.aborted.reason == "circuit_breaker":
        report.aborted = explain_breaker(report.aborted, job.prepared.mapping)
    return report


#: how many distinct owner e-mails preflight looks up at most
PREFLIGHT_MAX_OWNERS = 100


@dataclass
class PreflightResult:
    """What preflight checked: requests it made, and checks it could not make."""

    requests: int = 0
    notes: list[str] = field(default_factory=list)
    key_checked: bool = True  # False: Reevo could not be reached to check the key


#: attempts of the preflight probe when Reevo answers 5xx/429 or does not answer
PREFLIGHT_ATTEMPTS = 3


async def preflight(
    client: ReevoClient, target: str, owners: dict[str, MappedField]
) -> PreflightResult:
    """Before any row is sent: the key is accepted and not expired, it may write ``target``,
    and every owner e-mail in ``owners`` is a user of the org (when the key may read users).

    The permission probe sends an empty body, which Reevo must refuse as invalid (422) after
    checking the key and its permissions: nothing is written. Raises RunAborted saying what to
    fix; returns the number of requests made and notes about checks it could not make.
    """
    spec = TARGETS[target]
    result = PreflightResult(requests=0)
    for attempt in range(1, PREFLIGHT_ATTEMPTS + 1):
        result.requests += 1
        try:
            await client.request(spec.method, spec.path, json={})
        except RowRejected:
            break  # 4xx about the body: the key, its expiry and its permissions are fine
        except RunAborted as exc:
            raise _preflight_failed(exc) from None
        except Retryable as exc:
            if attempt < PREFLIGHT_ATTEMPTS:
                await asyncio.sleep(max(exc.retry_after or 0.0, 0.3 * attempt))
                continue
            result.key_checked = False
            result.notes.append(f"could not check the key before sending ({exc.detail})")
            return result
        else:
            break
    missing: dict[str, MappedField] = {}
    for email in list(owners)[:PREFLIGHT_MAX_OWNERS]:
        result.requests += 1
        try:
            found = await client.search_users(email)
        except RunAborted as exc:
            if exc.reason == "permission":
                result.notes.append("owner e-mails were not checked: the key may not read Users")
                return result
            raise _preflight_failed(exc) from None
        except (RowRejected, Retryable):
            continue
        if not found:
            missing[email] = owners[email]
    if len(owners) > PREFLIGHT_MAX_OWNERS:
        result.notes.append(
            f"only the first {PREFLIGHT_MAX_OWNERS} of {len(owners)} owner e-mails were checked"
        )
    if missing:
        where = "; ".join(
            sorted({f"{f.section}.{f.name} (column {f.label}{_line(f)})" for f in missing.values()})
        )
        shown = ", ".join(sorted(missing)[:10]) + (" ..." if len(missing) > 10 else "")
        raise RunAborted(
            f"preflight failed, no row was sent: {len(missing)} owner e-mail(s) are not users "
            f"of this Reevo org: {shown}. Add them as users in Reevo, or fix {where} in the file "
            "or the mapping, then re-run.",
            reason="unknown_owner",
        )
    return result


def owner_emails(prepared: Prepared) -> dict[str, MappedField]:
    """Distinct owner e-mails (lowercased) the ready rows use, with the field they come from."""
    ready = prepared.frame.filter(pl.col("status") == RowStatus.READY.value)
    wanted: dict[str, MappedField] = {}
    for f in prepared.fields:
        if f.kind is FieldKind.OWNER_EMAIL:
            for value in ready.get_column(f.out).drop_nulls().unique().sort().to_list():
                wanted.setdefault(str(value).strip().lower(), f)
    return wanted


def check_access(
    mapping: Mapping | Path, settings: Settings | None = None, source: Path | None = None
) -> PreflightResult:
    """``syncer check``: preflight a mapping (and optionally a file's owners) without sending.

    Raises RunAborted with what to fix, ConfigError/MappingError/SourceError for bad input.
    """
    settings = settings or Settings()
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(Path(mapping))
    if source is not None:
        owners = owner_emails(prepare(source, mapping))
    else:
        owners = {}
        for name, fs in mapping.columns.items():
            if mapping.spec.fields.get(name) is FieldKind.OWNER_EMAIL and fs.value:
                field_ = MappedField("columns", name, FieldKind.OWNER_EMAIL, fs, None)
                owners.setdefault(fs.value.strip().lower(), field_)
    base_url = _base_url(settings)
    api_key = _api_key(settings)

    async def go() -> PreflightResult:
        client = make_client(
            api_key, settings.push, base_url=base_url, transport=settings.transport
        )
        async with client:
            return await preflight(client, mapping.target, owners)

    result = asyncio.run(go())
    if not result.key_checked:
        raise RunAborted(
            f"{result.notes[-1]}: no usable answer from Reevo at {base_url}. Check --base-url "
            "and the network, then run syncer check again.",
            reason="unreachable",
        )
    return result


def _preflight_failed(exc: RunAborted) -> RunAborted:
    return RunAborted(
        f"preflight failed, no row was sent: {exc.message}",
        status=exc.status,
        detail=exc.detail,
        reason=exc.reason,
    )


def _line(f: MappedField) -> str:
    return f", mapping line {f.spec.line}" if f.spec.line else ""


def explain_breaker(error: RunAborted, mapping: Mapping) -> RunAborted:
    """Name the mapping entry behind a circuit-breaker stop, when the error mentions one."""
    text = (error.detail or error.message).lower()
    hits: list[str] = []
    for section in FIELD_SECTIONS:
        block: dict[str, FieldSpec] = getattr(mapping, section)
        for name, fs in block.items():
            if name.lower() in text or (fs.column and fs.column.lower() in text):
                line = f" (line {fs.line})" if fs.line else ""
                hits.append(f"{section}.{name}{line}")
    if not hits:
        return error
    where = mapping.path or "the mapping"
    return RunAborted(
        f"{error.message} The error points at {', '.join(hits)} in {where}.",
        status=error.status,
        detail=error.detail,
        reason=error.reason,
    )


RETRY_DIR = Path(".syncer") / "retry"


def retry(
    path: Path, mapping: Mapping | Path | None = None, settings: Settings | None = None
) -> RunSummary:
    """Re-send the rows of a results file that failed or were not attempted.

    ``path`` is a results file (rows with status failed / not_attempted are re-sent, keeping
    their original row numbers) or a failures file (every row, corrected or not, is run again).
    Without ``mapping`` the mapping of the run that wrote ``path`` is taken from the ledger.
    """
    settings = settings or Settings()
    path = Path(path)
    if mapping is None:
        mapping = _mapping_of_run(path, settings)
    try:
        columns, frame = read_results(path)
    except SourceError:
        return sync(path, mapping, settings)  # a failures file is plain input
    todo = frame.filter(
        pl.col("status").is_in([RowStatus.FAILED.value, RowStatus.NOT_ATTEMPTED.value])
    )
    if todo.height == 0:
        raise ConfigError(
            f"{path} has no failed or not_attempted rows: nothing to retry. "
            "Invalid rows must be fixed first: edit the failures file and run it with syncer run."
        )
    RETRY_DIR.mkdir(parents=True, exist_ok=True)
    retry_source = RETRY_DIR / f"{path.name.removesuffix('.csv')}.retry.csv"
    todo.select(columns).write_csv(retry_source)
    if settings.results is None:
        settings.results = path.with_name(f"{path.name.removesuffix('.csv')}.retry.csv")
    settings.source_rows = todo.get_column("source_row").to_list()
    return sync(retry_source, mapping, settings)


def _mapping_of_run(path: Path, settings: Settings) -> Path:
    if settings.ledger is not None and settings.ledger.exists():
        with Ledger(settings.ledger) as ledger:
            run = ledger.run_for_results(path)
        if run is not None and run.mapping:
            return Path(run.mapping)
    raise ConfigError(
        f"no run in the ledger wrote {path}, so its mapping is unknown: pass --mapping FILE."
    )
