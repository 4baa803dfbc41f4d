"""Run the sandbox with uvicorn: in the foreground (CLI) or in a background thread (tests)."""

from __future__ import annotations

import functools
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from syncer.errors import ConfigError
from syncer.sandbox.app import SandboxApp, create_app
from syncer.sandbox.settings import SandboxSettings


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default context, made once: ``httpx.request`` makes one per call otherwise
    (~25 ms of CPU loading the CA bundle), which made polling the stats cost a core."""
    return httpx.create_ssl_context()


class AdminClient:
    """Small helpers over ``/_sandbox/`` for tests and benchmarks (sync httpx)."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url + "/_sandbox"

    def _call(self, method: str, path: str, json: Any = None) -> Any:
        resp = httpx.request(method, self.url + path, json=json, timeout=30, verify=_ssl_context())
        resp.raise_for_status()
        return resp.json()

    def stats(self) -> dict[str, Any]:
        """``GET /_sandbox/stats``."""
        out: dict[str, Any] = self._call("GET", "/stats")
        return out

    def dump(self) -> dict[str, Any]:
        """``GET /_sandbox/dump``."""
        out: dict[str, Any] = self._call("GET", "/dump")
        return out

    def reset(self) -> None:
        """``POST /_sandbox/reset``."""
        self._call("POST", "/reset")

    def faults(self) -> dict[str, Any]:
        """``GET /_sandbox/faults``."""
        out: dict[str, Any] = self._call("GET", "/faults")
        return out

    def set_faults(self, **knobs: Any) -> dict[str, Any]:
        """``PUT /_sandbox/faults`` with these knobs; returns all knobs."""
        out: dict[str, Any] = self._call("PUT", "/faults", knobs)
        return out

    def create_key(self, permissions: dict[str, str] | str = "all", expired: bool = False) -> str:
        """``POST /_sandbox/keys``; returns the new key."""
        body = {"permissions": permissions, "expired": expired}
        return str(self._call("POST", "/keys", body)["api_key"])

    def expire_key(self, api_key: str) -> None:
        """``POST /_sandbox/keys/expire``."""
        self._call("POST", "/keys/expire", {"api_key": api_key})


@dataclass(frozen=True, slots=True)
class SandboxHandle:
    """A running sandbox: where it listens, its all-permission key, and admin helpers."""

    base_url: str
    api_key: str
    app: SandboxApp
    admin: AdminClient

    @property
    def admin_url(self) -> str:
        """The admin API's base URL."""
        return self.base_url + "/_sandbox"


def _config(app: SandboxApp, settings: SandboxSettings, **kw: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        lifespan="off",
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_level=kw.pop("log_level", "warning"),
        backlog=4096,
        timeout_keep_alive=30,
        **kw,
    )


@contextmanager
def serve_in_thread(settings: SandboxSettings | None = None) -> Iterator[SandboxHandle]:
    """Run a sandbox on loopback in a background thread; ``port=0`` picks a free port.

    Yields a :class:`SandboxHandle`; the server stops (and the store closes) on exit.
    """
    settings = settings or SandboxSettings(port=0)
    app = create_app(settings)
    server = uvicorn.Server(_config(app, settings))
    thread = threading.Thread(target=server.run, name="reevo-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ConfigError(
                f"the sandbox could not start on {settings.host}:{settings.port};"
                " is the port in use? try port=0"
            )
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    host = settings.host if ":" not in settings.host else f"[{settings.host}]"
    base_url = f"http://{host}:{port}"
    assert settings.api_key is not None
    try:
        yield SandboxHandle(base_url, settings.api_key, app, AdminClient(base_url))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.sandbox.store.close()


def serve_forever(
    settings: SandboxSettings, on_ready: Callable[[SandboxApp], None] | None = None
) -> None:
    """Run the sandbox in this thread until interrupted (the ``syncer sandbox`` command).

    ``port=0`` is replaced by a free port first, so ``on_ready(app)`` can show the real one.
    """
    if settings.port == 0:
        with socket.socket() as probe:
            probe.bind((settings.host, 0))
            settings.port = probe.getsockname()[1]
    app = create_app(settings)
    server = uvicorn.Server(_config(app, settings, log_level="info"))
    if on_ready is not None:
        on_ready(app)
    try:
        server.run()
    finally:
        app.sandbox.store.close()


__all__ = ["AdminClient", "SandboxHandle", "serve_forever", "serve_in_thread"]
