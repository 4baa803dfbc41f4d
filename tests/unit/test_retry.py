"""The retry policy is one pure function: pin it with a table."""

from __future__ import annotations

import pytest

from syncer.errors import Retryable, RowRejected, RunAborted
from syncer.reevo.retry import Action, RetryBudget, RetryPolicy, backoff, decide

P = RetryPolicy(max_attempts=3, max_throttles=5, base_s=1.0, cap_s=8.0)
E503 = Retryable("503", status=503, maybe_applied=True)
TIMEOUT = Retryable("timeout", maybe_applied=True)
CONNECT = Retryable("connect refused", maybe_applied=False)
T429 = Retryable("429", status=429, retry_after=2.0)
T429_NO_HINT = Retryable("429", status=429)
E502_HINT = Retryable("502", status=502, retry_after=5.0, maybe_applied=True)

# error, failures, throttles, budget_left, idempotent, rand -> action, delay, reason
CASES = [
    (RunAborted("x", reason="expired"), 1, 0, None, True, 0.5, Action.ABORT, 0.0, "expired"),
    (RowRejected("bad", status=422), 1, 0, None, True, 0.5, Action.GIVE_UP, 0.0, "not_retryable"),
    (E503, 1, 0, None, True, 0.5, Action.RETRY, 0.5, "retry"),  # 0.5 * 1
    (E503, 2, 0, None, True, 0.5, Action.RETRY, 1.0, "retry"),  # 0.5 * 2
    (E503, 3, 0, None, True, 0.5, Action.GIVE_UP, 0.0, "retries_exhausted"),
    (TIMEOUT, 1, 0, None, False, 0.5, Action.GIVE_UP, 0.0, "ambiguous"),  # create: unsafe
    (CONNECT, 1, 0, None, False, 0.5, Action.RETRY, 0.5, "retry"),  # never sent: safe
    (E503, 1, 0, 0, True, 0.5, Action.ABORT, 0.0, "retry_budget"),
    (E503, 1, 0, 1, True, 0.0, Action.RETRY, 0.0, "retry"),
    (E502_HINT, 1, 0, None, True, 0.1, Action.RETRY, 5.0, "retry"),  # Retry-After is a floor
    (T429, 0, 1, 0, True, 0.1, Action.RETRY, 2.0, "throttled"),  # 429 spends no budget
    (T429, 3, 1, None, True, 0.1, Action.RETRY, 2.0, "throttled"),  # nor attempt count
    (T429_NO_HINT, 0, 3, None, True, 1.0, Action.RETRY, 4.0, "throttled"),
    (T429, 0, 5, None, True, 0.1, Action.GIVE_UP, 0.0, "throttled_too_often"),
]


@pytest.mark.parametrize(
    ("error", "failures", "throttles", "budget", "idem", "rand", "action", "delay", "reason"),
    CASES,
)
def test_decide_table(error, failures, throttles, budget, idem, rand, action, delay, reason):
    d = decide(
        error,
        failures=failures,
        throttles=throttles,
        policy=P,
        budget_left=budget,
        idempotent=idem,
        rand=rand,
    )
    assert (d.action, d.reason) == (action, reason)
    assert d.delay_s == pytest.approx(delay)


def test_backoff_is_full_jitter_and_capped():
    assert backoff(1, P, 0.0) == 0.0
    assert backoff(1, P, 0.999) == pytest.approx(0.999)
    assert backoff(4, P, 0.5) == pytest.approx(4.0)  # 0.5 * 8
    assert backoff(30, P, 0.5) == pytest.approx(4.0)  # capped at 8 s


def test_budget_adaptive_and_fixed():
    b = RetryBudget(floor=2, ratio=1.0)
    assert b.left == 2
    b.spend()
    b.spend()
    assert b.left == 0
    b.success()
    assert b.left == 1
    fixed = RetryBudget(fixed=1)
    for _ in range(100):
        fixed.success()
    fixed.spend()
    assert fixed.left == 0
