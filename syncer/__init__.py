"""syncer: bulk-import and nightly-sync CSV/Excel lead lists into the Reevo CRM.

The library never prints or exits; it returns a :class:`RunSummary`. Run-level failures raise
:class:`SyncerError` subclasses; row-level problems are data in the results.
"""

from syncer.errors import (
    ConfigError,
    MappingError,
    ReevoError,
    Retryable,
    RowRejected,
    RunAborted,
    SourceError,
    SyncerError,
)
from syncer.models import RowIssue, RowOutcome, RowStatus, RunSummary

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "MappingError",
    "ReevoError",
    "Retryable",
    "RowIssue",
    "RowOutcome",
    "RowRejected",
    "RowStatus",
    "RunAborted",
    "RunSummary",
    "SourceError",
    "SyncerError",
    "__version__",
]
