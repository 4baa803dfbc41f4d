"""Plain data shared by every stage: row statuses, row issues, results and run summaries."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

#: the prepared frame's dedupe key column (internal: ``__`` names never clash with a header,
#: which the reader renames to ``<name> (source)``)
KEY_COLUMN = "__key"


class RowStatus(StrEnum):
    """Final status of one input row. Values are a contract (results files, --json keys)."""

    READY = "ready"  # validate only: would be sent
    DUPLICATE = "duplicate"  # another row with the same key won
    INVALID = "invalid"  # failed validation; never sent
    SUCCEEDED = "succeeded"  # Reevo accepted it
    UNCHANGED = "unchanged"  # same body as the last success: not sent (ledger)
    FAILED = "failed"  # Reevo rejected it, or retries ran out
    NOT_ATTEMPTED = "not_attempted"  # the run stopped before sending it


#: Statuses a failures file holds (rows to fix and re-run).
RETRY_STATUSES = frozenset({RowStatus.INVALID, RowStatus.FAILED, RowStatus.NOT_ATTEMPTED})


@dataclass(slots=True)
class RowOutcome:
    """What happened when one row was pushed to Reevo."""

    source_row: int
    status: RowStatus
    error: str = ""
    code: str = ""
    contact_id: str | None = None
    account_id: str | None = None
    http_status: int | None = None
    attempts: int = 0


@dataclass(slots=True)
class RunSummary:
    """What a validate/run call returns. The library never prints; the CLI renders this."""

    rows: int
    counts: dict[str, int]
    requests: int = 0
    blank_rows: int = 0
    results_path: Path | None = None
    failures_path: Path | None = None
    aborted: str | None = None  # message when the run stopped early (RunAborted)
    abort_reason: str | None = None
    interrupted: str | None = None  # the signal that stopped the run ("SIGINT", "SIGTERM")
    dry_run: bool = False
    run_id: int | None = None
    elapsed_s: float = 0.0
    issues: dict[str, int] = field(default_factory=dict)  # error code -> rows, for rows to fix
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 all rows fine, 1 some rows invalid/failed/not attempted, 3 run aborted by Reevo,
        128 + the signal's number when interrupted (130 Ctrl-C, 143 SIGTERM)."""
        if self.interrupted is not None:
            signum = getattr(signal.Signals, self.interrupted, signal.SIGINT)
            return 128 + int(signum)
        if self.aborted is not None:
            return 3
        bad = sum(self.counts.get(s.value, 0) for s in RETRY_STATUSES)
        return 1 if bad else 0
