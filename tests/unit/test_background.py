"""syncer.background: the answer of work begun in a thread (a daemon, or one the interpreter
waits for at exit: polars working while Python shuts down crashes the process)."""

from __future__ import annotations

import threading

import pytest

from syncer.background import in_background, in_background_joined


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


def test_the_joined_kind_is_waited_for_at_exit() -> None:
    seen: list[threading.Thread] = []

    def work() -> str:
        seen.append(threading.current_thread())
        return "done"

    assert in_background_joined(work).result(timeout=10) == "done"
    assert not seen[0].daemon
