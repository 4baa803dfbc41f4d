"""The plan of a run: which ready rows to send, which are unchanged (ledger), and the
outcomes gathered as compact columns."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from syncer.ledger import Ledger, SyncedRow, body_hash
from syncer.memory import AMBIGUOUS
from syncer.models import RowOutcome, RowStatus, RowWarning
from syncer.runner.prepared import Prepared
from syncer.targets.base import IdColumn


@dataclass
class Collected:
    """Outcomes gathered as compact columns (cheap for a million rows); the ids in the
    target's id columns (``reevo_contact_id``...)."""

    id_columns: tuple[IdColumn, ...] = ()
    rows: list[int] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    error: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    #: one list per id column's name, a value (or None) per row
    ids: dict[str, list[str | None]] = field(init=False)
    #: row warnings by source row (few rows have any): the outcomes' own and :meth:`warn`'s
    warnings: dict[int, list[RowWarning]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ids = {c.name: [] for c in self.id_columns}

    def warn(self, row: int, warning: RowWarning) -> None:
        """Add a row warning found before the row's outcome (e.g. by preflight)."""
        self.warnings.setdefault(row, []).append(warning)

    def add(self, o: RowOutcome) -> None:
        if o.warnings:
            self.warnings.setdefault(o.source_row, []).extend(o.warnings)
        self.rows.append(o.source_row)
        self.status.append(o.status.value)
        self.error.append(o.error)
        self.code.append(o.code)
        ids = o.ids
        for name, column in self.ids.items():
            column.append(ids.get(name))

    def add_values(
        self,
        row: int,
        status: RowStatus,
        error: str,
        code: str,
        known: Any,
        getters: Sequence[Callable[[Any], str | None]],
    ) -> None:
        """:meth:`add` of an outcome given as its values, each id read from ``known`` by the
        getter of its id column (:attr:`id_columns` order): no RowOutcome and no dict, as a
        re-run adds one per unchanged row."""
        self.rows.append(row)
        self.status.append(status.value)
        self.error.append(error)
        self.code.append(code)
        for column, get in zip(self.ids.values(), getters, strict=False):
            column.append(get(known))

    def frame(self) -> pl.DataFrame:
        """source_row, status, error, error_code and the id columns, a row per outcome."""
        ids = {c.column: self.ids[c.name] for c in self.id_columns}
        return pl.DataFrame(
            {
                "source_row": self.rows,
                "status": self.status,
                "error": self.error,
                "error_code": self.code,
                **ids,
            },
            schema={
                "source_row": pl.Int64,
                "status": pl.String,
                "error": pl.String,
                "error_code": pl.String,
                **dict.fromkeys(ids, pl.String),
            },
        )


class Plan:
    """Ready rows -> (rows to send, rows unchanged since their last success) via the ledger."""

    def __init__(
        self,
        prepared: Prepared,
        ledger: Ledger | None,
        org: str,
        full: bool,
        collected: Collected,
        progress: Callable[[int], None] | None = None,
        *,
        force_ambiguous: bool = False,
    ) -> None:
        self.prepared = prepared
        self.force_ambiguous = force_ambiguous
        self.ledger = ledger
        self.org = org
        self.full = full
        self.collected = collected
        self.progress = progress
        # source_row -> (key, body hash) of the rows sent, for the ledger (empty without one)
        self.hashes: dict[int, tuple[str, str]] = {}
        #: key -> what the ledger remembers of it (ids, field digests), for each key sent of a
        #: target whose rows are not upserts (they find their ids there); {} for a new key
        self.known: dict[str, dict[str, str]] = {}
        self.to_send = 0

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
        if self.ledger is None:  # nothing to compare with or to record: no hashing either
            self.to_send += len(batch)
            yield from batch
            return
        known = self.ledger.lookup(self.org, target, [k for _, k, _ in batch])
        spec = self.prepared.mapping.spec
        ids = [SyncedRow.id_getter(c.name) for c in spec.id_columns]
        remember = not spec.idempotent
        for row, key, body in batch:
            digest = body_hash(body)
            prev = known.get(key)
            held = self._held(prev, digest) if prev is not None else None
            if held is not None:
                status, error, code = held
                self.collected.add_values(row, status, error, code, prev, ids)
                if self.progress is not None:
                    self.progress(1)
                continue
            self.hashes[row] = (key, digest)
            if remember:
                self.known[key] = prev.ids() if prev is not None else {}
            self.to_send += 1
            yield row, key, body

    def _held(self, prev: SyncedRow, digest: str) -> tuple[RowStatus, str, str] | None:
        """Why a row the ledger knows is not sent (status, error, code), or None: sent.

        Unchanged since its last success; and for a create-only target (tasks, activities,
        enrollments: the API cannot update them), a changed row already created
        (``cannot_update``) and one whose create may have been applied (``reevo_ambiguous``,
        until --force-ambiguous). --full sends them all."""
        if self.full:
            return None
        if prev.body_sha256 == digest:
            return (
                RowStatus.UNCHANGED,
                f"not sent: identical to what run {prev.run_id} sent ({prev.updated_at}); "
                "use --full to send anyway",
                "unchanged",
            )
        spec = self.prepared.mapping.spec
        if spec.updatable:
            return None
        remembered = prev.ids()
        if remembered.get(AMBIGUOUS) and not self.force_ambiguous:
            return (
                RowStatus.FAILED,
                f"not sent: run {prev.run_id}'s create of this row failed in a way that may have "
                "been applied (a timeout, a reset or a 5xx) and Reevo cannot be searched for "
                f"{spec.name}: check Reevo, then send it with --force-ambiguous if it is not there",
                "reevo_ambiguous",
            )
        own = spec.id_columns[0].name  # the object's own id (the others are its parents')
        made = [f"{own} {remembered[own]}"] if remembered.get(own) else []
        if made and prev.body_sha256 is None:  # created, then the run was killed: never twice
            return (
                RowStatus.UNCHANGED,
                f"not sent: already created ({', '.join(made)}) by run {prev.run_id}, which "
                "ended before it recorded the row; use --full to create another",
                "unchanged",
            )
        if made:
            return (
                RowStatus.FAILED,
                f"not sent: already created ({', '.join(made)}, run {prev.run_id}) and Reevo's "
                f"API cannot update {spec.name}: change it in Reevo, or use --full to create "
                "another",
                "cannot_update",
            )
        return None


def stale_rows(prepared: Prepared, ledger: Ledger, org: str, *, since_run: int) -> int:
    """Ready rows whose last accepted body came from a run newer than ``since_run`` and differs
    from theirs: the rows an earlier file, imported again, would put back to older values."""
    target = prepared.mapping.target
    stale = 0
    batch: list[tuple[str, dict[str, Any]]] = []

    def count(items: list[tuple[str, dict[str, Any]]]) -> int:
        known = ledger.lookup(org, target, [k for k, _ in items])
        n = 0
        for key, body in items:
            prev = known.get(key)
            if (
                prev is not None
                and prev.body_sha256 is not None
                and (prev.run_id or 0) > since_run
                and prev.body_sha256 != body_hash(body)
            ):
                n += 1
        return n

    for _row, key, body in prepared.iter_bodies():
        batch.append((key, body))
        if len(batch) >= 500:
            stale += count(batch)
            batch = []
    return stale + (count(batch) if batch else 0)
