"""The one way a test waits: poll for the event itself, with a generous deadline.

A test never sleeps a fixed time and hopes something happened meanwhile (a busy machine makes
that hope fail): it names the event, polls for it, and fails with a clear message when the
deadline passes. ``tests/test_no_sleep.py`` holds every test file to this.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: generous: a loaded 2-core machine must never hit it, a hang still ends the test
DEADLINE_S = 30.0


def wait_until(
    condition: Callable[[], T],
    what: str,
    *,
    timeout: float = DEADLINE_S,
    interval: float = 0.01,
    proc: subprocess.Popen[Any] | None = None,
) -> T:
    """Poll ``condition()`` until it returns a truthy value, and return that value.

    ``what`` names the event ("the sandbox applied 4 writes"); it is in the failure message,
    with the condition's last value. With ``proc``, fail at once (with its output) if that
    process exits before the event happened.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            value = condition()  # the event may have happened just before it exited
            if value:
                return value
            out, err = proc.communicate()
            raise AssertionError(
                f"the process exited ({proc.returncode}) before {what}; last value: "
                f"{value!r}\nstdout: {out}\nstderr: {err}"
            )
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what}; last: {value!r}"
            )
        time.sleep(interval)  # the one allowed sleep: a poll interval, not a hope


def wait_for_stats(
    stats: Callable[[], dict[str, Any]],
    check: Callable[[dict[str, Any]], bool],
    what: str,
    **kw: Any,
) -> dict[str, Any]:
    """Poll the sandbox's ``GET /_sandbox/stats`` (e.g. ``handle.admin.stats``) until ``check``
    holds; return those stats. The failure message shows the last stats seen."""
    last: dict[str, Any] = {}

    def probe() -> dict[str, Any] | None:
        nonlocal last
        last = stats()
        return last if check(last) else None

    try:
        return wait_until(probe, what, **kw)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nlast sandbox stats: {last}") from None


def wait_idle(stats: Callable[[], dict[str, Any]], **kw: Any) -> dict[str, Any]:
    """Wait until the sandbox has answered every public request it received (slow requests
    and those of a killed client land late)."""
    return wait_for_stats(stats, lambda s: s["in_flight"] == 0, "no request in flight", **kw)
