"""The retry policy as one pure function, plus the run-level retry budget.

:func:`decide` answers "what now?" after one failed attempt of one row. It is pure (the random
draw is an argument) so a table of cases pins it down. The worker pool calls it once per failed
attempt from its explicit per-row loop (``syncer.push._Run.send``), which alone counts the
failure and spends the budget.

Rules, in order:

1. :class:`RunAborted` -> ``abort`` (nothing more can succeed in this run).
2. :class:`RowRejected` or any non-retryable error -> ``give_up`` (the row's final answer).
3. A :class:`Retryable` that may have been applied, for a target that is not idempotent
   (a create) -> ``give_up`` with reason ``ambiguous``: sending it again could duplicate it.
4. 429 throttles count against ``max_throttles`` (they are paced by the shared gate and do not
   spend the retry budget); every other retryable error counts against ``max_attempts``.
5. A non-throttle retry needs one unit of the run-level budget; an empty budget -> ``abort``
   (a sick server stops the run instead of multiplying load).
6. The delay is full-jitter exponential backoff, ``rand * min(cap, base * 2**(n-1))``, and never
   shorter than the server's ``Retry-After``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from syncer.errors import ReevoError, Retryable, RunAborted


class Action(StrEnum):
    """What to do after a failed attempt."""

    RETRY = "retry"
    GIVE_UP = "give_up"  # the row ends failed with this error
    ABORT = "abort"  # the whole run stops


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Knobs of :func:`decide`."""

    max_attempts: int = 10  # attempts per row that end in a non-429 retryable error
    max_throttles: int = 30  # 429 answers one row may receive before it gives up
    base_s: float = 0.2
    cap_s: float = 20.0


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of :func:`decide`."""

    action: Action
    delay_s: float = 0.0
    reason: str = ""


def backoff(n: int, policy: RetryPolicy, rand: float) -> float:
    """Full-jitter exponential backoff for the ``n``-th failure (1-based); ``rand`` in [0, 1)."""
    ceiling: float = min(policy.cap_s, policy.base_s * 2.0 ** max(0, n - 1))
    return rand * ceiling


def decide(
    error: BaseException,
    *,
    failures: int,
    throttles: int,
    policy: RetryPolicy,
    budget_left: int | None,
    idempotent: bool,
    rand: float,
) -> Decision:
    """Decide what follows a failed attempt.

    ``failures`` and ``throttles`` count this row's non-429 retryable errors and 429 answers so
    far, *including* ``error``. ``budget_left`` is the run's remaining retry budget (None:
    unlimited).
    """
    if isinstance(error, RunAborted):
        return Decision(Action.ABORT, reason=error.reason or "aborted")
    if not isinstance(error, Retryable):
        return Decision(Action.GIVE_UP, reason="not_retryable")
    if error.maybe_applied and not idempotent:
        return Decision(Action.GIVE_UP, reason="ambiguous")
    floor = error.retry_after or 0.0
    if error.status == 429:
        if throttles >= policy.max_throttles:
            return Decision(Action.GIVE_UP, reason="throttled_too_often")
        return Decision(Action.RETRY, max(floor, backoff(throttles, policy, rand)), "throttled")
    if failures >= policy.max_attempts:
        return Decision(Action.GIVE_UP, reason="retries_exhausted")
    if budget_left is not None and budget_left <= 0:
        return Decision(Action.ABORT, reason="retry_budget")
    return Decision(Action.RETRY, max(floor, backoff(failures, policy, rand)), "retry")


class RetryBudget:
    """A run-level allowance of retries: ``floor + ratio * successes`` minus retries spent.

    With the defaults a run may retry at most as often as it succeeds (plus a small floor), so a
    server failing half or more of all requests stops the run. ``fixed`` sets an absolute cap.
    """

    def __init__(self, *, fixed: int | None = None, floor: int = 50, ratio: float = 1.0) -> None:
        self.fixed = fixed
        self.floor = floor
        self.ratio = ratio
        self.spent = 0
        self.successes = 0

    @property
    def left(self) -> int:
        """Retries still allowed now."""
        allowed = self.fixed if self.fixed is not None else self.floor + self.ratio * self.successes
        return int(allowed) - self.spent

    def spend(self) -> None:
        """Record one retry."""
        self.spent += 1

    def success(self) -> None:
        """Record one answered request (earns ``ratio`` retries)."""
        self.successes += 1


def budget_message(spent: int, last: ReevoError | None) -> str:
    """The RunAborted message when the retry budget runs out."""
    why = f" (last error: {last.message})" if last is not None else ""
    return (
        f"Reevo kept failing: {spent} retries spent and the run's retry budget is used up{why}. "
        "Reevo or the network looks unhealthy; wait and re-run (rows already stored are kept)."
    )
