"""The ``runs`` table's rows as :class:`RunRecord`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One row of the runs table."""

    id: int
    org: str
    target: str
    source: str
    mapping: str
    command: str
    pid: int
    started_at: str
    finished_at: str | None
    outcome: str
    exit_code: int | None
    rows: int | None
    counts: dict[str, int]
    requests: int | None
    message: str | None
    results_path: str | None
    failures_path: str | None
    #: this run's own copies of its results / failures files (the stable names hold the latest)
    kept_results: str | None = None
    kept_failures: str | None = None
    #: the run whose results file this one retried (``syncer retry``), else None
    parent_run: int | None = None
    retries: int | None = None
    throttled: int | None = None
    #: when Reevo said its quota resets (UTC ISO 8601), for a run it stopped on its quota
    retry_at: str | None = None

    @property
    def display_outcome(self) -> str:
        """'interrupted' for a run that is marked running but whose process is gone."""
        if self.outcome == "running" and not pid_alive(self.pid):
            return "interrupted"
        return self.outcome


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: every column of :class:`RunRecord`, in order
RUN_SELECT = """SELECT id, org, target, source, mapping, command, pid, started_at, finished_at,
                        outcome, exit_code, rows, counts, requests, message, results_path,
                        failures_path, kept_results, kept_failures, parent_run, retries,
                        throttled, retry_at FROM runs"""


def run_record(row: tuple[Any, ...]) -> RunRecord:
    """A :class:`RunRecord` from a row of :data:`RUN_SELECT`."""
    values = list(row)
    values[12] = json.loads(values[12]) if values[12] else {}
    return RunRecord(*values)
