"""Every registered target against the sandbox (the local Reevo, written from Reevo's help
page): the fields a mapping may send, as Reevo's requests name them (:attr:`Target.wire`), are
exactly the request schemas of the endpoints the target writes (:attr:`Target.writes`), with the
create endpoint's required ones required by the target; the permissions it declares are exactly
the ones those endpoints and its searches need; and each preflight probe is refused as invalid
(422) with every permission and as forbidden (403) without the one it proves."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, get_type_hints

import httpx
import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from syncer import targets
from syncer.errors import RunAborted
from syncer.push import PushSettings, make_client
from syncer.runner.checks import preflight
from syncer.sandbox import EXAMPLE_ACCOUNT_ID as ACCOUNT
from syncer.sandbox import SandboxApp
from syncer.sandbox.api import PREFIX, route_needs, router
from syncer.sandbox.keys import ALL_PERMISSIONS, RESOURCES, ApiKey
from syncer.targets.base import FieldKind, Probe, Target

TARGETS = targets.every()
IDS = [t.name for t in TARGETS]


Permission = tuple[str, str]  # (resource, level) as the sandbox's key table names them


def request_schema(method: str, path: str) -> type[BaseModel]:
    """The sandbox's request body model of ``method path`` (path as a target names it)."""
    for route in router.routes:
        here = isinstance(route, APIRoute) and route.path == f"{PREFIX}/{path}"
        if here and method in route.methods:
            body: type[BaseModel] = get_type_hints(route.endpoint)["body"]
            return body
    raise AssertionError(f"the sandbox has no {method} {path}")


def body_fields(model: type[BaseModel], prefix: str = "") -> dict[str, bool]:
    """A request model's body fields -> whether each is required. A field that is an object
    of its own (``metadata`` of a manual activity) stands for its fields, named
    ``parent.child`` as a target's :attr:`Target.wire` names them (``metadata.subject``),
    each required when it and its parent are."""
    out: dict[str, bool] = {}
    for name, f in model.model_fields.items():
        inner = f.annotation
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            for sub, required in body_fields(inner, f"{prefix}{name}.").items():
                out[sub] = required and f.is_required()
        else:
            out[prefix + name] = f.is_required()
    return out


def on_the_wire(target: Target) -> set[str]:
    """The target's fields as Reevo's requests name them (not syncer's own, e.g. a lookup),
    and its custom-field sections' body keys."""
    sent = {target.wire.get(f, f) for f in target.fields} - {None}
    return {str(f) for f in sent} | {section.body_key for section in target.custom}


def written(target: Target) -> set[str]:
    """Every body field of every endpoint the target writes."""
    return {f for m, p in target.writes for f in body_fields(request_schema(m, p))}


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_the_mapping_fields_are_the_sandbox_request_schemas(target: Target) -> None:
    assert on_the_wire(target) == written(target)
    assert set(target.wire) <= set(target.fields), "wire renames a field the target lacks"
    # a field syncer keeps for itself is a lookup, and every lookup is syncer's own
    own = {f for f, name in target.wire.items() if name is None}
    lookups = {
        f for f, kind in target.fields.items() if kind in (FieldKind.LOOKUP, FieldKind.LOOKUP_LIST)
    }
    assert own == lookups == set(target.lookups)
    # each custom section is a body key that takes custom fields, never a plain field
    for section in target.custom:
        assert section.body_key not in target.fields


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_the_create_endpoints_required_fields_are_required(target: Target) -> None:
    """A field the create endpoint requires is required by the target, or is one of a
    ``one_of`` group (``account`` or ``account_id``); nothing else is required."""
    schema = request_schema(*target.endpoint)
    required = {name for name, needed in body_fields(schema).items() if needed}

    def wire(fields: tuple[str, ...]) -> set[str]:
        return {str(target.wire.get(f, f)) for f in fields if target.wire.get(f, f) is not None}

    groups = [wire(fields) for fields, _code in target.one_of]
    assert wire(target.required) <= required
    assert required <= wire(target.required).union(*groups)
    for (fields, code), names in zip(target.one_of, groups, strict=True):
        assert names & required, f"one_of {fields} ({code}) stands for no required field"
        assert not set(fields) & set(target.required), f"one_of {fields} is required too"


def test_a_schema_mismatch_would_be_caught() -> None:
    """The comparisons above can fail: another endpoint's schema differs, and a target
    that wrote one endpoint fewer would not send all its fields."""
    assert set(request_schema("POST", "accounts").model_fields) != set(TARGETS[0].fields)
    opportunities = targets.get("opportunities")
    fewer = replace(opportunities, endpoints=opportunities.writes[:2])
    assert on_the_wire(fewer) != written(fewer)
    # a nested request object is compared field by field: metadata.subject, not metadata
    activities = targets.get("manual_activities")
    flat = replace(activities, wire={**activities.wire, "subject": None})
    assert on_the_wire(flat) != written(flat)
    assert body_fields(request_schema("POST", "manual_activities"))["metadata.subject"] is True


def _resource(permission: str) -> tuple[str, str]:
    """``Accounts Write`` (Reevo's page) -> ``("accounts", "write")`` (the sandbox's table)."""
    *words, level = permission.lower().split()
    name = "_".join(words)
    matches = [r for r in RESOURCES if r == name or r.startswith(name)]
    assert len(matches) == 1, f"{permission!r} is not a permission on Reevo's page"
    return matches[0], level


def _permissions(names: Iterable[str]) -> set[Permission]:
    return {_resource(name) for name in names}


def _needs(routes: Iterable[tuple[str, str]]) -> set[Permission]:
    """What the sandbox asks of a key for each of ``routes`` (its ``need`` table)."""
    return {need for method, path in routes for need in route_needs(method, path)}


def _implied(permissions: set[Permission]) -> set[Permission]:
    """With what they imply: Write implies Read of the same resource."""
    return permissions | {(r, "read") for r, level in permissions if level == "write"}


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_the_write_permissions_are_exactly_what_its_writes_need(target: Target) -> None:
    assert _permissions(target.write_permissions) == _needs(target.writes)


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_the_read_permissions_are_exactly_what_its_searches_need(target: Target) -> None:
    assert _permissions(target.read_permissions) == _needs(target.reads)


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_a_side_write_needs_its_declared_permission_and_is_probed_when_it_applies(
    target: Target,
) -> None:
    """A write to another object (``on_missing_account: create`` POSTs accounts) names the
    permission its endpoint needs, and a probe with the same ``when`` proves it."""
    for side in target.side_writes:
        assert _permissions([side.permission]) == _needs([(side.method, side.path)])
        assert Probe(side.method, side.path, when=side.when) in target.probes


def _declared(target: Target) -> set[Permission]:
    side = (s.permission for s in target.side_writes)
    return _permissions((*target.write_permissions, *target.read_permissions, *side))


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_the_probes_prove_exactly_the_declared_permissions(target: Target) -> None:
    """Before a row is sent every declared permission (side writes' too) is proven by a
    probe, and no probe asks for a permission the target did not declare."""
    asked = _needs((p.method, p.path) for p in target.probes)
    assert _declared(target) <= _implied(asked)
    assert asked <= _implied(_declared(target))


PROBES = [(t, p) for t in TARGETS for p in t.probes]


@pytest.mark.parametrize(
    ("target", "probe"), PROBES, ids=[f"{t.name}:{p.method} {p.path}" for t, p in PROBES]
)
def test_a_probe_is_invalid_with_every_permission_and_forbidden_without_its_own(
    sandbox_app: SandboxApp, make_client: Any, target: Target, probe: Probe
) -> None:
    def send(permissions: dict[str, str]) -> httpx.Response:
        key = "probe-key-" + "-".join(sorted(permissions))
        sandbox_app.sandbox.keys.add(ApiKey(key, "probe", permissions))
        response: httpx.Response = make_client(sandbox_app, key).request(
            probe.method, probe.path, json=dict(probe.json)
        )
        return response

    full = send(dict(ALL_PERMISSIONS))
    assert full.status_code == 422, full.text  # about the body: nothing was written
    needs = route_needs(probe.method, probe.path)
    assert needs, f"{probe.method} {probe.path} needs no permission: it proves nothing"
    for resource, level in needs:
        lacking = send({r: lv for r, lv in ALL_PERMISSIONS.items() if r != resource})
        assert lacking.status_code == 403, lacking.text
        assert lacking.json()["missing_permissions"] == [f"{resource}:{level}"]
    assert sandbox_app.sandbox.stats.writes == 0


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


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_preflight_passes_with_exactly_the_declared_permissions(
    sandbox_app: SandboxApp, target: Target
) -> None:
    """Through the runner's preflight (every probe): the declared permissions are enough,
    and a key without any one of their resources is stopped, naming it."""
    strongest: dict[str, str] = {}
    for resource, level in sorted(_declared(target), key=lambda p: p[1] == "write"):
        strongest[resource] = level  # write (sorted last) wins over read
    _preflight(sandbox_app, target, strongest)
    for resource in strongest:
        fewer = {r: level for r, level in strongest.items() if r != resource}
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
    if rb.id_name == "opportunity_id":  # the seed has none
        made = api.post("opportunities", json={"display_name": "D", "account_id": ACCOUNT})
        assert made.status_code == 200, made.text
    dump = api.get("/_sandbox/dump").json()
    stored = {"contact_id": "contacts", "account_id": "accounts"}.get(rb.id_name, "opportunities")
    some_id = dump[stored][0]["id"]
    resource, level = _resource(rb.permission)
    assert level == "read"
    sandbox_app.sandbox.keys.add(ApiKey("read-only-key", "r", {resource: "read"}))
    sandbox_app.sandbox.keys.add(ApiKey("no-read-key", "n", {"users": "read"}))

    def get(key: str) -> int:
        response = api.get(rb.path_for(some_id), headers={"x-api-key": key})
        return int(response.status_code)

    assert (get("read-only-key"), get("no-read-key")) == (200, 403)
