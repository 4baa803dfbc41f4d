"""Work begun in a thread, its answer a Future.

:func:`in_background` runs it in a daemon thread: a run that fails before it asks for the answer
does not wait for the work to end (a thread pool would, at exit). Work inside a native library
that keeps its own threads or state (OpenSSL loading the CA bundle, polars) uses
:func:`in_background_joined`: the interpreter waits for it before it shuts down. A daemon thread
still building the TLS context when a run failed early crashed the process at exit (a
segmentation fault instead of the error's message and exit code, ~1 run in 6).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import ParamSpec, TypeVar

__all__ = ["in_background", "in_background_joined"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


def in_background(fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
    """Begin ``fn(*args, **kwargs)`` in a daemon thread (named for ``fn``); the Future gives
    what it returned, or raises what it raised, where it is asked."""
    return _begin(fn, args, kwargs, daemon=True)


def in_background_joined(
    fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
) -> Future[_T]:
    """:func:`in_background`, in a thread the interpreter waits for at exit (native work)."""
    return _begin(fn, args, kwargs, daemon=False)


def _begin(
    fn: Callable[..., _T], args: tuple[object, ...], kwargs: dict[str, object], *, daemon: bool
) -> Future[_T]:
    done: Future[_T] = Future()

    def run() -> None:
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller, raised where it asks
            done.set_exception(exc)

    name = f"syncer-{getattr(fn, '__name__', 'work').strip('_')}"
    threading.Thread(target=run, name=name, daemon=daemon).start()
    return done
