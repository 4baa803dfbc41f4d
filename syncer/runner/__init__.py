"""The only composer: read -> map -> normalise -> validate -> dedupe -> plan -> preflight -> push
-> record -> results. Each step lives in its own module; this package is the one place that
joins the pipeline, the Reevo client, the worker pool and the ledger.

- :mod:`.prepared`: the no-network half (``prepare``, ``validate``, ``Prepared``)
- :mod:`.settings`: ``Settings``, the API key and base URL
- :mod:`.plan`: which ready rows to send (change detection) and the collected outcomes
- :mod:`.checks`: checks before any row is sent; ``check_access`` (``syncer check``)
- :mod:`.syncing`: ``sync`` and ``retry``
- :mod:`.job`: ``run_job`` and ``validate_job`` (a job file's steps in order)
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syncer.runner.checks import PreflightResult, check_access, explain_breaker, preflight
    from syncer.runner.job import JobSummary, run_job, validate_job
    from syncer.runner.prepared import PREPARE_STATUSES, Prepared, prepare, validate
    from syncer.runner.settings import RUN_STATUSES, Settings
    from syncer.runner.syncing import retry, sync

# Loaded on first use: `syncer validate` and the no-network half need neither httpx nor the
# ledger, and start faster without them.
_WHERE = {
    "PreflightResult": "checks",
    "check_access": "checks",
    "explain_breaker": "checks",
    "preflight": "checks",
    "JobSummary": "job",
    "run_job": "job",
    "validate_job": "job",
    "PREPARE_STATUSES": "prepared",
    "Prepared": "prepared",
    "prepare": "prepared",
    "validate": "prepared",
    "RUN_STATUSES": "settings",
    "Settings": "settings",
    "retry": "syncing",
    "sync": "syncing",
}


def __getattr__(name: str) -> Any:
    """PEP 562: import the submodule that holds ``name`` on first use."""
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"syncer.runner.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'syncer.runner' has no attribute {name!r}")


__all__ = [
    "PREPARE_STATUSES",
    "RUN_STATUSES",
    "JobSummary",
    "PreflightResult",
    "Prepared",
    "Settings",
    "check_access",
    "explain_breaker",
    "preflight",
    "prepare",
    "retry",
    "run_job",
    "sync",
    "validate",
    "validate_job",
]
