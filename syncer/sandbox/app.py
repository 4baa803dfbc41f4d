"""``create_app(settings)``: the sandbox as an ASGI (FastAPI) application."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp

from syncer.sandbox import admin, api
from syncer.sandbox.faults import FaultLayer
from syncer.sandbox.settings import SandboxSettings
from syncer.sandbox.state import SandboxState
from syncer.sandbox.util import SandboxHTTPError


class SandboxApp(FastAPI):
    """FastAPI with the fault layer outside every middleware (it needs the server's ``send``)."""

    sandbox: SandboxState

    def build_middleware_stack(self) -> ASGIApp:
        """Wrap Starlette's stack in :class:`FaultLayer`. It names a request it answers before
        routing by the public router's own routes (the app's wrap them, without a path)."""
        return FaultLayer(super().build_middleware_stack(), self.sandbox, api.router.routes)


async def _sandbox_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SandboxHTTPError)
    body: dict[str, Any] = {"detail": exc.detail, **exc.extra}
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


def create_app(settings: SandboxSettings | None = None) -> SandboxApp:
    """Build a sandbox app. Its state is at ``app.sandbox`` (also ``app.state.sandbox``)."""
    settings = settings or SandboxSettings()
    state = SandboxState(settings)
    app = SandboxApp(
        title="Reevo sandbox",
        version="1",
        description="A local stand-in for Reevo's public API v1 (syncer).",
    )
    app.sandbox = state
    app.state.sandbox = state
    app.add_exception_handler(SandboxHTTPError, _sandbox_error)
    app.include_router(api.router)
    app.include_router(admin.router)
    return app
