"""syncer.background.in_background: the answer of work begun in a daemon thread."""

from __future__ import annotations

import threading

import pytest

from syncer.background import in_background


def test_the_answer_and_the_thread() -> None:
    seen: list[threading.Thread] = []

    def work(a: int, *, b: int) -> int:
        seen.append(threading.current_thread())
        return a + b

    assert in_background(work, 2, b=3).result(timeout=10) == 5
    assert seen[0] is not threading.main_thread() and seen[0].daemon


def test_what_it_raised_is_raised_where_asked() -> None:
    def fails() -> None:
        raise OSError("unreadable")

    future = in_background(fails)
    with pytest.raises(OSError, match="unreadable"):
        future.result(timeout=10)
