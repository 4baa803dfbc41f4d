"""The only composer: read -> map -> normalise -> validate -> dedupe -> plan -> preflight -> push
-> record -> results. Each step lives in its own module; this package is the one place that
joins the pipeline, the Reevo client, the worker pool and the ledger.

- :mod:`.prepare`: the no-network half (``prepare``, ``validate``, ``Prepared``)
- :mod:`.settings`: ``Settings``, the API key and base URL
- :mod:`.plan`: which ready rows to send (change detection) and the collected outcomes
- :mod:`.preflight`: checks before any row is sent; ``check_access`` (``syncer check``)
- :mod:`.sync`: ``sync`` and ``retry``
"""

from syncer.runner.preflight import PreflightResult, check_access, explain_breaker, preflight
from syncer.runner.prepare import PREPARE_STATUSES, Prepared, prepare, validate
from syncer.runner.settings import RUN_STATUSES, Settings
from syncer.runner.sync import retry, sync

__all__ = [
    "PREPARE_STATUSES",
    "RUN_STATUSES",
    "PreflightResult",
    "Prepared",
    "Settings",
    "check_access",
    "explain_breaker",
    "preflight",
    "prepare",
    "retry",
    "sync",
    "validate",
]
