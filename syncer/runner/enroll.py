"""``then: enroll``: after an account_contact run's pushes, enroll its contacts in a sequence.

Which contacts: with ``only: created`` (the default) every contact the run created (the
account_contact answer says so: its push notes ``contact_created``, which :meth:`Enroll.watch`
takes off the outcome before the ledger sees it), and every contact an earlier run created
but did not enroll (killed or stopped in between: the ledger notes each created contact
under :data:`PENDING`); with ``only: all`` every contact that succeeded or was unchanged; on
``syncer retry`` also the rows whose results said ``enrolled: no``
(:func:`failed_enrollments`, given as ``Settings.enroll_again``).

How: one ``POST sequence_enrollments`` per contact through :func:`syncer.push.push_rows` with
the :mod:`~syncer.targets.sequence_enrollments` target (paced, retried, never repeated once
Reevo may have applied it). The ledger keeps each enrollment under that target's key (the
e-mail and the sequence id): a contact syncer enrolled in the sequence before is not sent
again (``enrolled: yes``), nor is one whose enrollment may have been applied
(``reevo_ambiguous``) without ``--force-ambiguous``. Each row's answer goes to the results
file's ``enrolled`` (yes / no / blank: not to be enrolled) and ``enroll_error`` columns; a
failed enrollment never changes the contact row's own status.

Preflight (before anything is written, contacts included): the key's Sequence Enrollment
write permission (the target's probe), and each distinct mailbox against the mailboxes of the
row's contact owner (``contact_owner_email``: Reevo sends from a mailbox of the contact's
owner, and ``mailboxes/search`` lists one owner's mailboxes); rows without an owner are not
checked (Reevo decides).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import polars as pl

from syncer.errors import RunAborted
from syncer.ledger import Ledger, SyncedRow, body_hash
from syncer.mapping import FieldSpec, Mapping, resolve_columns
from syncer.mapping.models import EnrollSpec
from syncer.memory import AMBIGUOUS
from syncer.models import NOT_ENROLLED, RowOutcome, RowStatus, RowWarning
from syncer.push import Item, PushReport, PushSettings, push_rows
from syncer.reevo.client import ReevoClient
from syncer.results import ENROLL_COLUMNS
from syncer.runner.checks import PreflightResult, check_mailboxes, preflight
from syncer.runner.ledger_memory import LedgerMemory
from syncer.runner.plan import Collected
from syncer.runner.prepared import Prepared
from syncer.runner.settings import Settings
from syncer.stopping import StopRequest
from syncer.targets import DEFAULT
from syncer.targets.sequence_enrollments import NAME, enrollment_key

__all__ = ["CREATED", "Enroll", "failed_enrollments", "watching"]

#: what account_contact's push notes (``ctx.remember``) for a contact its upsert created
CREATED = "contact_created"
ENROLLED, ENROLL_ERROR = ENROLL_COLUMNS
#: where the ledger notes a contact created for enrolling (key: the enrollment's), apart from
#: the enrollments themselves so that it never reads as one
PENDING = f"{NAME}:created"
_OK = (RowStatus.SUCCEEDED.value, RowStatus.UNCHANGED.value)


async def check_enroll(
    client: ReevoClient,
    mapping: Mapping,
    prepared: Prepared | None,
    push: PushSettings,
    result: PreflightResult,
) -> None:
    """``syncer check`` of a mapping with ``then: enroll``: the key may enroll, and (given the
    file's rows) every mailbox is one of its contact owner's. RunAborted when not."""
    if prepared is None:
        probed = await preflight(client, NAME, {}, push=push)
        result.requests += probed.requests
        result.notes += probed.notes
        if mapping.enroll is not None and mapping.enroll.mailbox_email is not None:
            result.notes.append(
                "then: enroll: mailbox e-mails are checked with the file: syncer check FILE "
                "--mapping MAPPING"
            )
        return
    step = Enroll.of(prepared)
    if step is not None:
        await step.preflight(client, push, result)


def _enrolled(prev: SyncedRow | None) -> bool:
    """Whether the ledger says syncer enrolled this key (a success, or an enrollment id)."""
    return prev is not None and bool(prev.body_sha256 or prev.ids().get("enrollment_id"))


def failed_enrollments(frame: pl.DataFrame) -> list[int]:
    """The source rows of a results file whose contact is in Reevo but whose enrollment
    failed (``enrolled: no``): what ``syncer retry`` enrolls again."""
    if ENROLLED not in frame.columns:
        return []
    hit = (pl.col(ENROLLED).str.strip_chars() == "no") & pl.col("status").is_in(_OK)
    return [int(r) for r in frame.filter(hit).get_column("source_row").to_list()]


def watching(job: JobLike) -> Callable[[RowOutcome], None]:
    """The contact push's ``on_outcome``: the step's :meth:`Enroll.watch` with ``then:
    enroll``; else ``job.on_outcome`` with account_contact's ``contact_created`` note taken
    off (the ledger keeps ids only)."""
    if job.enroll is not None:
        return job.enroll.watch(job)
    if job.prepared.mapping.target != DEFAULT:
        return job.on_outcome

    def seen(outcome: RowOutcome) -> None:
        outcome.ids.pop(CREATED, None)
        job.on_outcome(outcome)

    return seen


class JobLike(Protocol):
    """What the step reads of the runner's job (``syncer.runner.syncing._Job``)."""

    prepared: Prepared
    collected: Collected
    ledger: Ledger | None
    org: str
    run_id: int | None
    notes: list[str]
    enroll: Enroll | None

    def on_outcome(self, outcome: RowOutcome) -> None: ...

    @property
    def settings(self) -> Settings: ...


@dataclass
class Enroll:
    """The ``then: enroll`` step of one run."""

    prepared: Prepared
    spec: EnrollSpec
    #: rows a retry enrolls again whatever ``only:`` says (their results said ``no``)
    again: frozenset[int] = frozenset()
    #: rows whose contact this run created
    created: set[int] = field(default_factory=set)
    #: row -> (enrolled, enroll_error) for every row meant to be enrolled
    done: dict[int, tuple[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: the enrollments' row warnings (``already_enrolled``), for the contact rows
    warnings: list[tuple[int, RowWarning]] = field(default_factory=list)
    checked: bool = False  # the enrollment preflight ran

    @classmethod
    def of(cls, prepared: Prepared, again: frozenset[int] = frozenset()) -> Enroll | None:
        """The step of a mapping with ``then: enroll``; None without one."""
        spec = prepared.mapping.enroll
        return cls(prepared, spec, again) if spec is not None else None

    def watch(self, job: JobLike) -> Callable[[RowOutcome], None]:
        """``job.on_outcome`` for the contact push: notes the rows whose contact was created
        (in the ledger too, under :data:`PENDING`, so a run killed before its enrollments
        still enrolls them next time) and takes that note off the outcome."""
        keys: dict[int, str] = {}
        made: list[bool] = []  # whether ``keys`` is made (once, at the first created contact)

        def seen(outcome: RowOutcome) -> None:
            if CREATED in outcome.ids:
                row = outcome.source_row
                if outcome.status is RowStatus.SUCCEEDED:
                    self.created.add(row)
                    if not made:
                        keys.update(self._keys())
                        made.append(True)
                    if job.ledger is not None and job.run_id is not None and row in keys:
                        marker = {"created_by_run": str(job.run_id)}
                        job.ledger.keep(job.org, PENDING, job.run_id, keys[row], marker)
                del outcome.ids[CREATED]
            job.on_outcome(outcome)

        return seen

    def _keys(self) -> dict[int, str]:
        """source_row -> the enrollment key of every ready row that has one."""
        values = self._values().filter(pl.col("sequence").is_not_null())
        return {
            int(row): enrollment_key(email, sequence)
            for row, email, _o, sequence, _m in values.iter_rows()
        }

    def _pending(self, ledger: Ledger | None, org: str, rows: set[int]) -> set[int]:
        """Of ``rows``, those whose contact an earlier run created but did not enroll (it
        was stopped, killed or failed before): what ``only: created`` enrolls too."""
        if ledger is None or not rows:
            return set()
        keys = {r: k for r, k in self._keys().items() if r in rows}
        marked = ledger.lookup(org, PENDING, list(keys.values()))
        if not marked:
            return set()
        done = ledger.lookup(org, NAME, list(marked))
        return {r for r, k in keys.items() if k in marked and not _enrolled(done.get(k))}

    # -- the rows' values ------------------------------------------------------------------
    def _values(self) -> pl.DataFrame:
        """source_row, email, owner, sequence, mailbox of every ready row (trimmed; null when
        blank or not mapped)."""
        prepared = self.prepared
        frame = prepared.frame.filter(pl.col("status") == RowStatus.READY.value)
        found = resolve_columns(prepared.mapping, prepared.source_columns)
        fields = {f.name: f.out for f in prepared.fields if f.section == "columns"}

        def read(fs: FieldSpec | None) -> pl.Expr:
            if fs is None:
                return pl.lit(None, dtype=pl.String)
            if fs.value is not None:
                return pl.lit(fs.value.strip() or None, dtype=pl.String)
            nulls = [n.casefold() for n in prepared.mapping.nulls_for(fs)]
            cells = [pl.col(found[h]).str.strip_chars() for h in fs.headers if h in found]
            cells = [
                pl.when(c.str.to_lowercase().is_in(nulls)).then(None).otherwise(c) for c in cells
            ]
            value = pl.coalesce(*[pl.when(c != "").then(c) for c in cells]) if cells else None
            return value if value is not None else pl.lit(None, dtype=pl.String)

        owner = fields.get("contact_owner_email")
        return frame.select(
            "source_row",
            pl.col(fields["email"]).str.strip_chars().alias("email"),
            (pl.col(owner).str.strip_chars().str.to_lowercase() if owner else pl.lit(None))
            .cast(pl.String)
            .alias("owner"),
            read(self.spec.sequence_id).alias("sequence"),
            read(self.spec.mailbox_email).alias("mailbox"),
        )

    def _where(self, name: str) -> str:
        """How messages name an entry of ``then.enroll``: ``then.enroll.mailbox_email
        (column Sender, mapping line 7)``."""
        fs = getattr(self.spec, name)
        source = f"column {', '.join(fs.headers)}" if fs.headers else f"value {fs.value}"
        line = f", {self.prepared.mapping.path or 'mapping'} line {fs.line}" if fs.line else ""
        return f"then.enroll.{name}: {source}{line}"

    # -- preflight -------------------------------------------------------------------------
    async def preflight(
        self, client: ReevoClient, push: PushSettings, into: PreflightResult | None = None
    ) -> PreflightResult:
        """The key may enroll (the target's probe), and every mailbox a row names is one of
        its contact owner's. RunAborted (before anything is written) when not. The requests
        and notes are added to ``into`` (the run's preflight) when given."""
        result = into if into is not None else PreflightResult()
        probed = await preflight(client, NAME, {}, push=push)
        self.checked = True
        result.requests += probed.requests
        result.notes += probed.notes
        if not probed.key_checked or self.spec.mailbox_email is None:
            return result
        values = self._values().filter(
            pl.col("owner").is_not_null() & pl.col("mailbox").is_not_null()
        )
        where = self._where("mailbox_email")
        wanted = {
            (str(owner), str(box).lower()): where
            for owner, box in values.select("owner", "mailbox").unique().iter_rows()
        }
        if not wanted:
            result.notes.append(
                "then: enroll: mailbox e-mails were not checked: no row names its contact's "
                "owner (map contact_owner_email to check them before sending)"
            )
            return result
        await check_mailboxes(client, wanted, push, result)
        return result

    # -- the step --------------------------------------------------------------------------
    async def run(
        self,
        client: ReevoClient,
        outcomes: pl.DataFrame,
        ledger: Ledger | None,
        org: str,
        run_id: int | None,
        push: PushSettings,
        stop: StopRequest | None = None,
        stopped: str | None = None,
        force_ambiguous: bool = False,
    ) -> None:
        """Enroll the contacts the mapping asks for (see the module docstring). ``outcomes``:
        the contact rows' (source_row, status); ``stopped``: why the contact push stopped
        (the enrollments are then not sent: ``enrolled: no``, retry sends them)."""
        ok = set(outcomes.filter(pl.col("status").is_in(_OK)).get_column("source_row").to_list())
        if self.spec.only == "all":
            wanted = ok
        else:
            earlier = self._pending(ledger, org, ok - self.created)
            wanted = (self.created | self.again | earlier) & ok
        if not wanted:
            return
        values = self._values().filter(pl.col("source_row").is_in(sorted(wanted)))
        items: list[Item] = []
        for row, email, _owner, sequence, mailbox in values.sort("source_row").iter_rows():
            if not sequence:
                self.done[row] = ("no", f"no sequence id ({self._where('sequence_id')} is blank)")
                continue
            body = {"contact_email": email, "sequence_id": sequence}
            if mailbox:
                body["mailbox_email"] = mailbox
            items.append((int(row), enrollment_key(email, sequence), body))
        if stopped is not None:
            for row, _key, _body in items:
                self.done[row] = ("no", f"not sent: {stopped}; `syncer retry` enrolls it")
            self.notes.append(
                f"then: enroll: {len(items)} contact(s) not enrolled, the run stopped first "
                "(enrolled: no): `syncer retry <results file>` enrolls them"
            )
            return
        known = ledger.lookup(org, NAME, [k for _, k, _ in items]) if ledger else {}
        send: list[Item] = []
        hashes: dict[int, tuple[str, str]] = {}
        before = 0
        for row, key, body in items:
            prev = known.get(key)
            if prev is not None and prev.ids().get(AMBIGUOUS) and not force_ambiguous:
                self.done[row] = (
                    "no",
                    f"reevo_ambiguous: not sent: run {prev.run_id}'s enrollment failed in a "
                    "way that may have been applied (a timeout, a reset or a 5xx): check the "
                    "contact's sequences in Reevo, then retry with --force-ambiguous if it is "
                    "not enrolled",
                )
                continue
            if _enrolled(prev):
                self.done[row] = ("yes", "")
                before += 1
                continue
            hashes[row] = (key, body_hash(body))
            send.append((row, key, body))

        def on_outcome(o: RowOutcome) -> None:
            good = o.status is RowStatus.SUCCEEDED
            why = f"{o.code}: {o.error}" if o.code else o.error or o.status.value
            self.done[o.source_row] = ("yes", "") if good else ("no", why)
            self.warnings.extend((o.source_row, w) for w in o.warnings)  # already_enrolled
            key, digest = hashes.get(o.source_row, ("", ""))
            sent = o.status is not RowStatus.NOT_ATTEMPTED or o.ids
            if ledger is not None and run_id is not None and key and sent:
                ledger.record(org, NAME, run_id, key, digest, o)

        if send:
            if not self.checked:  # no contact was sent, so preflight has not run yet
                try:
                    self.notes.extend((await self.preflight(client, push)).notes)
                except RunAborted as exc:
                    self.done.update((row, ("no", exc.message)) for row, _, _ in send)
                    raise
            memory = LedgerMemory(ledger, org, run_id, {k: {} for _, k, _ in send}, NAME)
            report = await push_rows(client, NAME, send, push, on_outcome, stop=stop, memory=memory)
            if report.aborted is not None:
                self.notes.append(f"then: enroll stopped: {report.aborted.message}")
        self._summarise(len(send), before)

    def _summarise(self, sent: int, before: int) -> None:
        """One note: how many were enrolled, known, failed."""
        values = list(self.done.values())
        failed = sum(1 for v in values if v[0] == "no")
        enrolled = sum(1 for v in values if v[0] == "yes") - before
        text = f"then: enroll: {enrolled} contact(s) enrolled ({sent} sent)"
        if before:
            text += f", {before} enrolled by syncer before (not sent again)"
        if failed:
            text += (
                f", {failed} not enrolled (enrolled: no, reason in enroll_error): "
                "`syncer retry <results file>` enrolls them again"
            )
        self.notes.append(text)

    async def after(self, job: JobLike, client: ReevoClient, report: PushReport) -> None:
        """The step, after the contact push of ``job`` made ``report``: enroll, then give the
        results their columns and the run its notes. A failed enrollment preflight (no
        contact was sent) stops the run like any preflight (``report.aborted``)."""
        settings = job.settings
        self.checked = self.checked or not settings.preflight
        stopped = (
            report.aborted.message
            if report.aborted is not None
            else "the run was interrupted"
            if report.interrupted
            else None
        )
        try:
            await self.run(
                client,
                job.collected.frame(),
                job.ledger,
                job.org,
                job.run_id,
                settings.push,
                settings.stop,
                stopped,
                settings.force_ambiguous,
            )
        except RunAborted as exc:
            report.aborted = exc
        for row, warning in self.warnings:
            job.collected.warn(row, warning)
        for row, (enrolled, error) in self.done.items():
            if enrolled == "no":  # counted in --json's warnings; the row's status stays
                job.collected.warn(row, RowWarning(NOT_ENROLLED, f"not enrolled: {error}"))
        self.annotate(job.prepared)
        job.notes.extend(self.notes)

    def annotate(self, prepared: Prepared) -> None:
        """Add the ``enrolled`` and ``enroll_error`` columns to the prepared rows (the results
        file writes them after the id columns); blank for a row not meant to be enrolled."""
        rows = list(self.done)
        extra = pl.DataFrame(
            {
                "source_row": rows,
                ENROLLED: [self.done[r][0] for r in rows],
                ENROLL_ERROR: [self.done[r][1] or None for r in rows],
            },
            schema={"source_row": pl.Int64, ENROLLED: pl.String, ENROLL_ERROR: pl.String},
        )
        prepared.frame = prepared.frame.join(
            extra, on="source_row", how="left", maintain_order="left"
        )
