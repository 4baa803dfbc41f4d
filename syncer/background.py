"""Work begun in a daemon thread, its answer a Future: a run that fails before it asks for
the answer does not wait for the work to end (a thread pool would, at exit)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import ParamSpec, TypeVar

__all__ = ["in_background"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


def in_background(fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
    """Begin ``fn(*args, **kwargs)`` in a daemon thread (named for ``fn``); the Future gives
    what it returned, or raises what it raised, where it is asked."""
    done: Future[_T] = Future()

    def run() -> None:
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller, raised where it asks
            done.set_exception(exc)

    name = f"syncer-{getattr(fn, '__name__', 'work').strip('_')}"
    threading.Thread(target=run, name=name, daemon=True).start()
    return done
