"""A local HTTP receiver for alert tests: a tiny threaded ``http.server`` recording requests.

Shared by the unit tests of ``syncer.inbox.alerts`` and the e2e inbox tests (the CLI in a child
process posts to it). ``/fail...`` answers 500, ``/hang...`` answers only when the receiver is
closed (after the client gave up), anything else 200.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from wait_helpers import wait_until


@dataclass
class Request:
    """One request the receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


class Receiver:
    """Records every request (see the module docstring for its answers)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver.lock:
                    receiver.requests.append(
                        Request(self.command, self.path, dict(self.headers.items()), body)
                    )
                if self.path.startswith("/hang"):
                    receiver.release.wait(30)  # until the test ends: the client times out first
                status = 500 if self.path.startswith("/fail") else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            do_GET = do_POST = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def seen(self, count: int) -> list[Request]:
        """Wait (with a deadline) until ``count`` requests arrived; return them."""

        def arrived() -> list[Request] | None:
            with self.lock:
                return list(self.requests) if len(self.requests) >= count else None

        seen: list[Request] = wait_until(arrived, f"the receiver got {count} request(s)")
        return seen

    def take(self) -> list[Request]:
        """Every request so far, forgetting them (the next test step starts from none)."""
        with self.lock:
            got, self.requests = self.requests, []
        return got

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
