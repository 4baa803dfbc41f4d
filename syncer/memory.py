"""What a run remembers across rows and runs, as the worker pool sees it (:class:`Memory`):
how a create-or-update target's push finds what earlier steps and runs created, which key owns
an id, and what this run has found or created so far. The runner gives the ledger's
(:class:`syncer.runner.ledger_memory.LedgerMemory`); :class:`NoMemory` is a run without one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

__all__ = ["AMBIGUOUS", "Memory", "NoMemory"]

#: what the ledger remembers (in a key's ids) of a create-only row whose create may have been
#: applied (``reevo_ambiguous``): "1" until a later create of it succeeds ("")
AMBIGUOUS = "ambiguous_create"


class Memory(Protocol):
    """What the run remembers across rows and runs (the ledger, for the runner): how a
    target's push finds what earlier steps and runs created, and claims what it found."""

    def known(self, target: str, key: str) -> Mapping[str, str]:
        """What is remembered of ``key`` of ``target`` (ids and notes), empty when nothing."""
        ...

    def owner(self, target: str, id_name: str, id_: str) -> str | None:
        """The key of ``target`` that holds ``id_`` as ``id_name``, if any."""
        ...

    def claim(self, target: str, key: str, ids: Mapping[str, str]) -> None:
        """``key`` of ``target`` holds ``ids`` from now on, for this run's rows (a pushed
        row's own outcome reaches the ledger the usual way)."""
        ...

    def keep(self, target: str, key: str, ids: Mapping[str, str]) -> None:
        """Remember ``ids`` for ``key`` of ``target`` in the ledger too: an object a row
        created besides its own (this run's rows see them at once)."""
        ...


class NoMemory:
    """A run without a ledger: nothing is known, nothing is kept beyond the run."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], dict[str, str]] = {}
        self._owners: dict[tuple[str, str, str], str] = {}

    def known(self, target: str, key: str) -> Mapping[str, str]:
        return self._kept.get((target, key), {})

    def owner(self, target: str, id_name: str, id_: str) -> str | None:
        return self._owners.get((target, id_name, id_))

    def claim(self, target: str, key: str, ids: Mapping[str, str]) -> None:
        self._kept.setdefault((target, key), {}).update(ids)
        for name, value in ids.items():
            if value:
                self._owners.setdefault((target, name, value), key)

    def keep(self, target: str, key: str, ids: Mapping[str, str]) -> None:
        self.claim(target, key, ids)
