"""Stopping a run from outside: Ctrl-C, SIGTERM, or a caller's own signal.

A :class:`StopRequest` is handed to :func:`syncer.sync` (``Settings.stop``) and set from a signal
handler or another thread. The first :meth:`~StopRequest.request` stops feeding rows (requests in
flight finish, unsent rows become ``not_attempted``, results and ledger are written); a second
one (:meth:`~StopRequest.force`) also abandons the requests in flight.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


class StopRequest:
    """A thread-safe request to stop a run: graceful first, forced on the second call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.signum: int | None = None
        self.forced = False
        self._listeners: list[Callable[[bool], None]] = []

    @property
    def requested(self) -> bool:
        """True once a stop was requested."""
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        """The shell's code for the signal that stopped the run: 130 (SIGINT), 143 (SIGTERM)."""
        return 128 + (self.signum or signal.SIGINT)

    @property
    def reason(self) -> str:
        """``SIGINT``, ``SIGTERM``... (``stopped`` when no signal was named)."""
        if self.signum is None:
            return "stopped"
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"

    def request(self, signum: int = signal.SIGINT) -> None:
        """Ask the run to stop: the first call is graceful, the next one forces."""
        with self._lock:
            if self.signum is None:
                self.signum = signum
                forced = False
            else:
                self.forced = True
                forced = True
            listeners = list(self._listeners)
        for listener in listeners:
            listener(forced)

    def force(self) -> None:
        """Stop at once: abandon requests in flight too."""
        if self.signum is None:
            self.request()
        self.request(self.signum or signal.SIGINT)

    def subscribe(self, listener: Callable[[bool], None]) -> Callable[[], None]:
        """Call ``listener(forced)`` on every later request (and now, if one was made);
        returns the function that unsubscribes it."""
        with self._lock:
            self._listeners.append(listener)
            pending = self.signum is not None
            forced = self.forced
        if pending:
            listener(forced)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe
