"""Every registered target against the sandbox (the local Reevo, written from Reevo's help
page): the fields a mapping may send are exactly the request schema of the endpoint the target
writes, with the same required ones, and the permissions it declares are exactly the ones that
endpoint needs."""

from __future__ import annotations

import asyncio
from typing import Any, get_type_hints

import httpx
import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from syncer import targets
from syncer.errors import RunAborted
from syncer.push import PushSettings, make_client
from syncer.runner.checks import preflight
from syncer.sandbox import SandboxApp
from syncer.sandbox.api import PREFIX, router
from syncer.sandbox.keys import RESOURCES, ApiKey
from syncer.targets.base import Target

TARGETS = targets.every()


def request_schema(method: str, path: str) -> type[BaseModel]:
    """The sandbox's request body model of ``method path`` (path as a target names it)."""
    for route in router.routes:
        here = isinstance(route, APIRoute) and route.path == f"{PREFIX}/{path}"
        if here and method in route.methods:
            body: type[BaseModel] = get_type_hints(route.endpoint)["body"]
            return body
    raise AssertionError(f"the sandbox has no {method} {path}")


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_the_mapping_fields_are_the_sandbox_request_schema(target: Target) -> None:
    schema = request_schema(*target.endpoint)
    sent = {*target.fields, *(section.body_key for section in target.custom)}
    assert sent == set(schema.model_fields)
    required = {name for name, f in schema.model_fields.items() if f.is_required()}
    assert required == set(target.required)
    # each custom section is a body key that takes custom fields, never a plain field
    for section in target.custom:
        assert section.body_key not in target.fields


def test_a_schema_mismatch_would_be_caught() -> None:
    """The comparison above can fail: the schema of another endpoint differs."""
    assert set(request_schema("POST", "accounts").model_fields) != set(TARGETS[0].fields)


def _resource(permission: str) -> tuple[str, str]:
    """``Accounts Write`` (Reevo's page) -> ``("accounts", "write")`` (the sandbox's table)."""
    *words, level = permission.lower().split()
    name = "_".join(words)
    matches = [r for r in RESOURCES if r == name or r.startswith(name)]
    assert len(matches) == 1, f"{permission!r} is not a permission on Reevo's page"
    return matches[0], level


def _preflight(app: SandboxApp, target: Target, permissions: dict[str, str]) -> None:
    key = f"contract-key-{len(permissions)}-{'-'.join(sorted(permissions))}"
    app.sandbox.keys.add(ApiKey(key, "contract", permissions))
    settings = PushSettings()

    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        client = make_client(key, settings, base_url="http://127.0.0.1", transport=transport)
        async with client:
            await preflight(client, target.name, {})

    asyncio.run(go())


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_the_declared_permissions_are_exactly_what_the_endpoint_needs(
    sandbox_app: SandboxApp, target: Target
) -> None:
    needed = dict(_resource(p) for p in (*target.write_permissions, *target.read_permissions))
    _preflight(sandbox_app, target, needed)  # enough: the probes pass
    for resource in needed:
        fewer = {r: level for r, level in needed.items() if r != resource}
        with pytest.raises(RunAborted) as info:
            _preflight(sandbox_app, target, fewer)
        assert info.value.reason == "permission" and resource in str(info.value)


@pytest.mark.parametrize(
    "target", [t for t in TARGETS if t.read_back], ids=[t.name for t in TARGETS if t.read_back]
)
def test_the_read_back_needs_only_its_read_permission(
    sandbox_app: SandboxApp, target: Target, api: Any
) -> None:
    rb = target.read_back
    assert rb is not None
    dump = api.get("/_sandbox/dump").json()
    stored = {"contact_id": "contacts", "account_id": "accounts"}[rb.id_name]
    some_id = dump[stored][0]["id"]
    resource, level = _resource(rb.permission)
    assert level == "read"
    sandbox_app.sandbox.keys.add(ApiKey("read-only-key", "r", {resource: "read"}))
    sandbox_app.sandbox.keys.add(ApiKey("no-read-key", "n", {"users": "read"}))

    def get(key: str) -> int:
        response = api.get(rb.path_for(some_id), headers={"x-api-key": key})
        return int(response.status_code)

    assert (get("read-only-key"), get("no-read-key")) == (200, 403)
