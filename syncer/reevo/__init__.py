"""Reevo's public API: the client, the status table, pacing and the retry policy.

Imports nothing from the pipeline (see tests/test_architecture.py).
"""

from syncer.reevo.classify import (
    classify_response,
    classify_transport_error,
    normalise_error,
    parse_retry_after,
)
from syncer.reevo.client import (
    DEFAULT_BASE_URL,
    ReevoClient,
    check_base_url,
    is_loopback,
)
from syncer.reevo.pacing import PacingClosed, RateController
from syncer.reevo.retry import Action, Decision, RetryBudget, RetryPolicy, decide

__all__ = [
    "DEFAULT_BASE_URL",
    "Action",
    "Decision",
    "PacingClosed",
    "RateController",
    "ReevoClient",
    "RetryBudget",
    "RetryPolicy",
    "check_base_url",
    "classify_response",
    "classify_transport_error",
    "decide",
    "is_loopback",
    "normalise_error",
    "parse_retry_after",
]
