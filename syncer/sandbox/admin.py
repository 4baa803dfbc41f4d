"""Admin and introspection under ``/_sandbox/`` (no API key; loopback clients only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse

from syncer.sandbox.keys import ApiKey, parse_permissions
from syncer.sandbox.settings import new_api_key
from syncer.sandbox.state import SandboxState
from syncer.sandbox.util import SandboxHTTPError, issue

LOOPBACK = {"127.0.0.1", "::1", "localhost", "testclient"}


async def loopback_only(request: Request) -> None:
    """Refuse admin calls that do not come from this machine."""
    host = request.client.host if request.client else ""
    if host not in LOOPBACK:
        raise SandboxHTTPError(403, "The sandbox admin API only answers loopback clients")


JsonBody = Annotated[dict[str, Any], Body()]
OptionalBody = Annotated[dict[str, Any] | None, Body()]

router = APIRouter(prefix="/_sandbox", dependencies=[Depends(loopback_only)])


def _state(request: Request) -> SandboxState:
    st: SandboxState = request.app.state.sandbox
    return st


@router.get("/stats")
async def stats(request: Request) -> JSONResponse:
    """Requests by path and status, writes applied, 429s, in-flight peak."""
    st = _state(request)
    return JSONResponse(st.stats.as_dict(st.limiter.quota_used))


@router.post("/keys")
async def create_key(request: Request, body: OptionalBody = None) -> JSONResponse:
    """Create a key: ``{"permissions": {...} | "all", "expired": false, "name": "..."}``."""
    body = body or {}
    perms, problems = parse_permissions(body.get("permissions", "all"))
    if problems:
        raise SandboxHTTPError(422, [issue(("body", "permissions"), p) for p in problems])
    key = ApiKey(
        key=str(body.get("api_key") or new_api_key()),
        name=str(body.get("name") or "test key"),
        permissions=perms,
        expired=bool(body.get("expired", False)),
    )
    _state(request).keys.add(key)
    return JSONResponse(
        {"api_key": key.key, "name": key.name, "permissions": perms, "expired": key.expired}
    )


@router.post("/keys/expire")
async def expire_key(request: Request, body: JsonBody) -> JSONResponse:
    """Expire a key: ``{"api_key": "..."}``. It then gets 401 ``API key has expired``."""
    key = _state(request).keys.get(str(body.get("api_key", "")))
    if key is None:
        raise SandboxHTTPError(404, "No such API key")
    key.expired = True
    return JSONResponse({"api_key": key.key, "expired": True})


@router.post("/reset")
async def reset(request: Request) -> JSONResponse:
    """Back to the seed: data, extra keys, stats and limit counters (faults are kept)."""
    _state(request).reset()
    return JSONResponse({"reset": True})


@router.get("/faults")
async def get_faults(request: Request) -> JSONResponse:
    """The current fault and limit knobs."""
    return JSONResponse(_state(request).faults.as_dict())


@router.put("/faults")
async def put_faults(request: Request, body: JsonBody) -> JSONResponse:
    """Change some knobs; the others keep their value. 422 (nothing applied) on a bad value."""
    st = _state(request)
    problems = st.set_faults(body)
    if problems:
        raise SandboxHTTPError(422, [issue(("body",), p) for p in problems])
    return JSONResponse(st.faults.as_dict())


@router.delete("/objects/{kind}/{obj_id}")
async def delete_object(request: Request, kind: str, obj_id: str) -> JSONResponse:
    """Delete one stored object (``accounts``, ``opportunities``...), as someone deleting or
    merging it in Reevo would: what syncer remembers of it is then stale."""
    store = _state(request).store
    if kind not in store.objects or kind == "meta":
        raise SandboxHTTPError(404, f"No kind {kind!r}; kinds: {', '.join(store.dump())}")
    if not store.delete(kind, obj_id):
        raise SandboxHTTPError(404, f"No {kind} with id {obj_id!r}")
    return JSONResponse({"deleted": obj_id})


@router.get("/dump")
async def dump(request: Request) -> JSONResponse:
    """Every stored object by kind; contacts carry ``upsert_count``."""
    return JSONResponse(_state(request).store.dump())
