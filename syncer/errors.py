"""The exception tree for run-level failures.

Row-level problems are *data* (a stable ``error_code`` and an ``error`` message per row, in the
prepared frame and the results file), never exceptions.
Everything here derives from :class:`SyncerError`; the CLI catches that family only and prints
its message, which always says what to do next. Anything else is a bug and surfaces as one.

::

    SyncerError                 message says what to do next; exit_code for the CLI
    ├── ConfigError             flags / env / settings (all problems collected)     exit 2
    │   └── LedgerTooNew        the ledger was written by a newer syncer             exit 2
    ├── MappingError            YAML mapping: file, line, suggestion                exit 2
    ├── SourceError             unreadable input, missing mapped columns            exit 2
    ├── RunLocked               another run imports into the same org and target    exit 2
    ├── StaleSource             an old file again: newer values would be undone     exit 2
    ├── StorageUnreachable      a remote store (S3, SFTP) did not answer, retries spent exit 3
    └── ReevoError              carries status + server message, never the key
        ├── Retryable           429 (retry_after), 5xx, timeouts, connection errors
        ├── RowRejected         400/404/409/422 for one row -> that row's result
        └── RunAborted          401/403, quota exhausted, circuit breaker           exit 3

Every error has a stable machine-readable ``code`` (per class; ``RunAborted`` uses its
``reason``; any instance may give its own) and a ``hint``: the next step, from :data:`HINTS`
unless the instance gives one. ``syncer ... --json`` prints both (README, "--json").

This module imports nothing from syncer.
"""

from __future__ import annotations

import time

#: the next step for each error ``code`` (the message says what went wrong, often the same advice)
HINTS: dict[str, str] = {
    "error": "Fix what the message names, then run the command again.",
    "config": "Fix the flag, environment variable or setting the message names, then run the "
    "command again.",
    "mapping": "Fix the mapping file where the message points (file:line), then check it with "
    "`syncer validate`.",
    "source": "Fix the input file or its path as the message says, then run the command again.",
    "reevo": "Run the command again; if it keeps failing, check --base-url and Reevo's status.",
    "retryable": "Run the command again; if it keeps failing, check --base-url and Reevo's status.",
    "rejected": "Fix the row as Reevo's message says, then send it again.",
    "aborted": "Fix what the message names, then `syncer retry RESULTS_FILE` sends the rows that "
    "were not sent.",
    "auth": "Check the key in REEVO_API_KEY or --api-key-file (and --base-url); `syncer check` "
    "tests it without sending a row.",
    "expired": "Create a new API key in Reevo (Settings > Integrations > API keys), then re-run "
    "the same command or `syncer retry RESULTS_FILE`; --org NAME keeps one history across keys.",
    "permission": "Give the key the missing permission(s) in Reevo, or use a key that has them, "
    "then re-run (`syncer check` tests it).",
    "quota": "Wait until the org's daily request quota resets (next UTC midnight), then re-run "
    "or `syncer retry RESULTS_FILE`.",
    "circuit_breaker": "Fix the mapping entry or the data behind the repeated error, then re-run "
    "(`syncer retry RESULTS_FILE` sends only the rows that were not sent).",
    "retry_budget": "Reevo kept failing: wait until it recovers, then `syncer retry RESULTS_FILE` "
    "sends the rows that were not sent.",
    "unknown_owner": "Add the owners as users in Reevo, or fix the owner e-mails in the file or "
    "the mapping, then re-run.",
    "unreachable": "Check --base-url and the network, then run `syncer check` again.",
    "usage": "Run the command with --help to see its arguments and flags.",
    "internal": "This is a bug in syncer: re-run with --debug and report the traceback it prints.",
    "locked": "Wait for the other run to finish, or pass --wait DURATION (e.g. --wait 30m) to "
    "queue behind it.",
    "stale_source": "If putting the file's older values back is what you want, re-run with "
    "--again; otherwise import the newer file.",
    "interrupted": "Run the same command again to resume: rows Reevo already accepted are not "
    "sent again.",
    "storage_unreachable": "Check the network, the host or endpoint in the URL (and "
    "AWS_ENDPOINT_URL for an S3-compatible store), then run the command again.",
    "ledger_too_new": "Upgrade syncer to the version that wrote this ledger (pip install "
    "--upgrade syncer), or use another ledger with --ledger PATH.",
}


def hint_for(code: str) -> str:
    """The default next step for an error ``code`` (:data:`HINTS`, else the generic one)."""
    return HINTS.get(code, HINTS["error"])


class SyncerError(Exception):
    """Base of every error syncer raises on purpose.

    ``code`` is stable and machine-readable (the class's, unless given); ``hint`` is the next
    step (the code's entry in :data:`HINTS`, unless given).
    """

    exit_code: int = 2
    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.hint = hint or hint_for(self.code)

    def __str__(self) -> str:
        return self.message


class ConfigError(SyncerError):
    """Bad flags, environment or settings. ``problems`` lists every problem found."""

    code = "config"

    def __init__(
        self,
        message: str,
        problems: list[str] | None = None,
        *,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint)
        self.problems = problems or [message]


class LedgerTooNew(ConfigError):
    """The ledger's schema version is newer than this syncer's: refused, never downgraded."""

    code = "ledger_too_new"


class MappingError(SyncerError):
    """A mapping file that cannot be used. Names the file, the line and a suggestion."""

    code = "mapping"

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        problems: list[str] | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint)
        self.path = path
        self.line = line
        self.problems = problems or [message]


class SourceError(SyncerError):
    """An input file that cannot be read, or lacks the columns the mapping needs."""

    code = "source"

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint)
        self.path = path


class ReevoError(SyncerError):
    """An answer (or lack of one) from Reevo. Never holds the API key."""

    code = "reevo"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: str = "",
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint)
        self.status = status
        self.detail = detail


class Retryable(ReevoError):
    """Worth trying again: 408/429/5xx, timeouts, connection errors."""

    code = "retryable"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: str = "",
        retry_after: float | None = None,
        maybe_applied: bool = False,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, status=status, detail=detail, code=code, hint=hint)
        self.retry_after = retry_after
        # True when the request may have reached the server (timeout after send, 5xx, reset):
        # safe to repeat for upserts, not for creates.
        self.maybe_applied = maybe_applied


class RowRejected(ReevoError):
    """Reevo refused this one row (400/404/409/422); its message becomes the row's error."""

    code = "rejected"


class RunAborted(ReevoError):
    """Nothing more can succeed in this run: bad/expired key, missing permission, quota,
    or the circuit breaker. Rows not yet sent become ``not_attempted``."""

    exit_code = 3
    code = "aborted"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: str = "",
        reason: str = "",
        code: str | None = None,
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, detail=detail, code=code or reason, hint=hint)
        # stable machine-readable reason (also the default code): auth | expired | permission |
        # quota | circuit_breaker | retry_budget | unknown_owner | unreachable
        self.reason = reason
        # a quota's Retry-After: seconds, and the UTC epoch time it ends (counted from now)
        self.retry_after = retry_after
        self.retry_at = time.time() + retry_after if retry_after is not None else None


class RunLocked(SyncerError):
    """Another syncer run holds the lock for this org and target (one writer at a time).
    ``holder``: what the holder wrote in the lock file (pid, host, started_at, since, command)."""

    code = "locked"

    def __init__(self, message: str, *, holder: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.holder = holder or {}


class StaleSource(SyncerError):
    """The file was imported before and newer runs have since changed some of its rows."""

    code = "stale_source"

    def __init__(self, message: str, *, stale_rows: int, earlier_run: int) -> None:
        super().__init__(message)
        self.stale_rows = stale_rows
        self.earlier_run = earlier_run


class StorageUnreachable(SyncerError):
    """A remote store (S3, SFTP) kept failing at the network level after the retries; the
    message names the URL (never a secret) and what to check. Nothing was moved half-way."""

    exit_code = 3
    code = "storage_unreachable"

    def __init__(self, message: str, *, url: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.url = url
