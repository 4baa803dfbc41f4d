"""syncer: bulk-import and nightly-sync CSV/Excel lead lists into the Reevo CRM.

The library never prints or exits; it returns a :class:`RunSummary`. Run-level failures raise
:class:`SyncerError` subclasses; row-level problems are data in the results.
"""

from typing import Any

from syncer.errors import (
    ConfigError,
    MappingError,
    ReevoError,
    Retryable,
    RowRejected,
    RunAborted,
    RunLocked,
    SourceError,
    StaleSource,
    SyncerError,
)
from syncer.models import RowOutcome, RowStatus, RunSummary
from syncer.stopping import StopRequest

__version__ = "0.1.0"

# The pipeline and the client pull in polars, httpx and pydantic: load them on first use so
# `syncer --help` and `import syncer.errors` stay fast.
_LAZY = {
    "sync": "syncer.runner",
    "retry": "syncer.runner",
    "validate": "syncer.runner",
    "prepare": "syncer.runner",
    "check_access": "syncer.runner",
    "check": "syncer.runner",
    "run_job": "syncer.runner",
    "validate_job": "syncer.runner",
    "JobSummary": "syncer.runner",
    "Settings": "syncer.runner",
    "load_mapping": "syncer.mapping",
    "Mapping": "syncer.mapping",
    "PushSettings": "syncer.push",
}


#: public names that are another name in their module
_ALIASES = {"check": "check_access"}


def __getattr__(name: str) -> Any:
    """Load the heavy public names lazily (PEP 562)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), _ALIASES.get(name, name))
    raise AttributeError(f"module 'syncer' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "JobSummary",
    "Mapping",
    "MappingError",
    "PushSettings",
    "ReevoError",
    "Retryable",
    "RowOutcome",
    "RowRejected",
    "RowStatus",
    "RunAborted",
    "RunLocked",
    "RunSummary",
    "Settings",
    "SourceError",
    "StaleSource",
    "StopRequest",
    "SyncerError",
    "__version__",
    "check",
    "check_access",
    "load_mapping",
    "prepare",
    "retry",
    "run_job",
    "sync",
    "validate",
    "validate_job",
]
