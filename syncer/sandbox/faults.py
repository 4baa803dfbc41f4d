"""The outermost ASGI layer: latency, injected failures, connection drops, and request stats.

It wraps the whole FastAPI stack so it sees the server's own ``send``: dropping a connection
aborts uvicorn's transport (the client sees "Server disconnected without sending a response").
In-process (``httpx.ASGITransport``) there is no transport, so the same drop raises
``httpx.RemoteProtocolError`` with that message instead.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncer.sandbox.state import PUBLIC_PATH, SandboxState

PUBLIC_PREFIX = "/api/"
DROP_MESSAGE = "Server disconnected without sending a response."


async def _json(send: Send, status: int, body: dict[str, Any], fault: str) -> None:
    raw = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(raw)).encode()),
        (b"x-sandbox-fault", fault.encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})


async def drop_connection(send: Send) -> None:
    """Abort the client connection without answering."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise httpx.RemoteProtocolError(DROP_MESSAGE)
    transport.abort()
    await asyncio.sleep(0)  # let connection_lost mark the cycle disconnected


async def _buffered(receive: Receive) -> Receive:
    """Read the whole request body now; return a ``receive`` that replays it."""
    held: list[Message] = []
    while True:
        message = await receive()
        held.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break

    async def replay() -> Message:
        return held.pop(0) if held else await receive()

    return replay


def _route_path(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "(unmatched)"


class FaultLayer:
    """Wraps the app: counts public requests and injects the configured faults."""

    def __init__(self, app: ASGIApp, state: SandboxState, routes: list[BaseRoute]) -> None:
        self.app = app
        self.state = state
        self.routes = routes

    def _template(self, scope: Scope) -> str:
        """The route template of a request that was answered before routing."""
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return str(getattr(route, "path", scope["path"]))
        return "(unmatched)"

    def _targeted(self, scope: Scope, routes: frozenset[str]) -> bool:
        """Whether the failure faults may hit this request (``fault_routes``)."""
        if not routes:
            return True
        template = self._template(scope).removeprefix(PUBLIC_PATH)
        return f"{scope['method']} {template}" in routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http" or not scope["path"].startswith(PUBLIC_PREFIX):
            await self.app(scope, receive, send)
            return
        stats = self.state.stats
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            await self._handle(scope, receive, send)
        finally:
            self.state.stats.in_flight -= 1  # the current counters: a reset may have replaced them

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        st, f, rng = self.state, self.state.faults, self.state.rng
        delay_ms = f.latency_ms + (rng.uniform(0.0, f.jitter_ms) if f.jitter_ms else 0.0)
        roll = rng.random()
        targeted = self._targeted(scope, f.routes())
        if not targeted:
            roll = 1.0  # no failure here (the draws stay as they were: same seed, same faults)
        if roll < f.fail_rate + f.reset_rate:
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000)
            if roll < f.fail_rate:
                status = rng.choice((500, 502, 503))
                st.stats.record(self._template(scope), str(status), scope["method"])
                await _json(send, status, {"detail": "Internal Server Error"}, "fail")
            else:
                st.stats.record(self._template(scope), "reset", scope["method"])
                await drop_connection(send)
            return
        if roll < f.fail_rate + f.reset_rate + f.slow_rate:
            delay_ms += f.slow_ms
        if delay_ms:
            # the request has arrived: read it now so it is applied even if the client gives up
            receive = await _buffered(receive)
            await asyncio.sleep(delay_ms / 1000)
        if f.commit_then_fail_rate and rng.random() < f.commit_then_fail_rate and targeted:
            await self._commit_then_fail(scope, receive, send)
            return
        status = 0

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            st.stats.record(_route_path(scope), str(status or 500), scope["method"])

    async def _commit_then_fail(self, scope: Scope, receive: Receive, send: Send) -> None:
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        path = _route_path(scope)
        if not scope.get("sandbox_wrote"):  # nothing applied: answer normally
            status = next(m["status"] for m in held if m["type"] == "http.response.start")
            self.state.stats.record(path, str(status), scope["method"])
            for m in held:
                await send(m)
            return
        mode = self.state.faults.commit_then_fail_mode
        if mode == "mixed":
            mode = self.state.rng.choice(("500", "drop"))
        if mode == "500":
            self.state.stats.record(path, "500", scope["method"])
            await _json(send, 500, {"detail": "Internal Server Error"}, "commit_then_fail")
        else:
            self.state.stats.record(path, "reset", scope["method"])
            await drop_connection(send)
