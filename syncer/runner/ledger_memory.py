"""The ledger as a target's push sees it (:class:`syncer.memory.Memory`): what earlier runs and
steps created, which key holds which id, and what this run has found or created so far."""

from __future__ import annotations

from collections.abc import Mapping

from syncer.ledger import Ledger

__all__ = ["LedgerMemory"]


class LedgerMemory:
    """What one run of ``target`` in ``org`` knows: the plan's view of its own keys, the
    ledger for other targets' keys and for id owners, this run's claims on top."""

    def __init__(
        self,
        ledger: Ledger | None,
        org: str,
        run_id: int | None,
        own: Mapping[str, Mapping[str, str]],
        target: str,
    ) -> None:
        self.ledger = ledger
        self.org = org
        self.run_id = run_id
        self.target = target
        #: key -> what the ledger remembered of it when the plan read it ({} for a new key)
        self._own = own
        self._known: dict[tuple[str, str], dict[str, str]] = {}
        self._owners: dict[tuple[str, str, str], str | None] = {}

    def known(self, target: str, key: str) -> Mapping[str, str]:
        """What is remembered of ``key`` of ``target`` (read once from the ledger)."""
        found = self._known.get((target, key))
        if found is None:
            if target == self.target and key in self._own:
                found = dict(self._own[key])
            elif self.ledger is not None:
                row = self.ledger.lookup(self.org, target, [key]).get(key)
                found = row.ids() if row is not None else {}
            else:
                found = {}
            self._known[(target, key)] = found
        return found

    def owner(self, target: str, id_name: str, id_: str) -> str | None:
        """The key that holds ``id_`` (this run's claims first, then the ledger)."""
        at = (target, id_name, id_)
        if at not in self._owners:
            self._owners[at] = (
                self.ledger.owner(self.org, target, id_name, id_) if self.ledger else None
            )
        return self._owners[at]

    def claim(self, target: str, key: str, ids: Mapping[str, str]) -> None:
        """``key`` holds ``ids`` from now on, for the rest of this run; a new id is committed
        to the ledger at once (``in_progress`` until the row's outcome is recorded): a run
        killed between a create and the row's outcome still knows what it created."""
        mine = self._known.setdefault((target, key), dict(self.known(target, key)))
        new = {k: v for k, v in ids.items() if v and mine.get(k) != v}
        mine.update(ids)
        for name, value in ids.items():
            if value:
                self._owners[(target, name, value)] = key
        if new and self.ledger is not None and self.run_id is not None:
            self.ledger.keep(
                self.org, target, self.run_id, key, new, status="in_progress", now=True
            )

    def keep(self, target: str, key: str, ids: Mapping[str, str]) -> None:
        """Record an object created besides a row, in this run and in the ledger."""
        self._known.setdefault((target, key), dict(self.known(target, key))).update(ids)
        for name, value in ids.items():
            if value:
                self._owners[(target, name, value)] = key
        if self.ledger is not None:
            self.ledger.keep(self.org, target, self.run_id, key, ids)
