"""The exception tree for run-level failures.

Row-level problems are *data* (a stable ``error_code`` and an ``error`` message per row, in the
prepared frame and the results file), never exceptions.
Everything here derives from :class:`SyncerError`; the CLI catches that family only and prints
its message, which always says what to do next. Anything else is a bug and surfaces as one.

::

    SyncerError                 message says what to do next; exit_code for the CLI
    ├── ConfigError             flags / env / settings (all problems collected)     exit 2
    ├── MappingError            YAML mapping: file, line, suggestion                exit 2
    ├── SourceError             unreadable input, missing mapped columns            exit 2
    └── ReevoError              carries status + server message, never the key
        ├── Retryable           429 (retry_after), 5xx, timeouts, connection errors
        ├── RowRejected         400/404/409/422 for one row -> that row's result
        └── RunAborted          401/403, quota exhausted, circuit breaker           exit 3

This module imports nothing from syncer.
"""

from __future__ import annotations


class SyncerError(Exception):
    """Base of every error syncer raises on purpose."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(SyncerError):
    """Bad flags, environment or settings. ``problems`` lists every problem found."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class MappingError(SyncerError):
    """A mapping file that cannot be used. Names the file, the line and a suggestion."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        problems: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.problems = problems or [message]


class SourceError(SyncerError):
    """An input file that cannot be read, or lacks the columns the mapping needs."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class ReevoError(SyncerError):
    """An answer (or lack of one) from Reevo. Never holds the API key."""

    def __init__(self, message: str, *, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class Retryable(ReevoError):
    """Worth trying again: 408/429/5xx, timeouts, connection errors."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: str = "",
        retry_after: float | None = None,
        maybe_applied: bool = False,
    ) -> None:
        super().__init__(message, status=status, detail=detail)
        self.retry_after = retry_after
        # True when the request may have reached the server (timeout after send, 5xx, reset):
        # safe to repeat for upserts, not for creates.
        self.maybe_applied = maybe_applied


class RowRejected(ReevoError):
    """Reevo refused this one row (400/404/409/422); its message becomes the row's error."""


class RunAborted(ReevoError):
    """Nothing more can succeed in this run: bad/expired key, missing permission, quota,
    or the circuit breaker. Rows not yet sent become ``not_attempted``."""

    exit_code = 3

    def __init__(
        self, message: str, *, status: int | None = None, detail: str = "", reason: str = ""
    ) -> None:
        super().__init__(message, status=status, detail=detail)
        # stable machine-readable reason: auth | expired | permission | quota | circuit_breaker
        self.reason = reason
