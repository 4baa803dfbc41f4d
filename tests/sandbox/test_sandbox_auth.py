"""Keys: missing, unknown, expired; each endpoint's permissions; write implies read."""

from __future__ import annotations

from typing import Any

import pytest

from syncer.sandbox import ALL_PERMISSIONS, DEMO_SEQUENCE_ID, EXAMPLE_ACCOUNT_ID

ACC = EXAMPLE_ACCOUNT_ID
OPP = "5e0a3c1e-0000-4000-8000-000000000000"  # unknown: a 404 once permissions pass

# (method, path, body, permissions needed)
ENDPOINTS: list[tuple[str, str, Any, list[str]]] = [
    ("POST", "account_contact", {"email": "a@b.com"}, ["contacts:write", "accounts:write"]),
    ("POST", "accounts", {"name": "X"}, ["accounts:write"]),
    ("PATCH", f"accounts/{ACC}", {"name": "Y"}, ["accounts:write"]),
    ("GET", f"accounts/{ACC}", None, ["accounts:read"]),
    ("POST", "accounts/search", {"domain_name": "acme"}, ["accounts:read"]),
    ("GET", "contacts/02bcd345-ef67-8901-bcde-f23456789012", None, ["contacts:read"]),
    ("POST", "opportunities", {"display_name": "D", "account_id": ACC}, ["opportunities:write"]),
    ("PATCH", f"opportunities/{OPP}", {"amount": 1}, ["opportunities:write"]),
    ("GET", f"opportunities/{OPP}", None, ["opportunities:read"]),
    ("POST", "opportunities/search", {}, ["opportunities:read"]),
    (
        "POST",
        f"opportunities/{OPP}/shift_stage",
        {"target_stage_name": "Qualified"},
        ["opportunities:write"],
    ),
    ("POST", "tasks", {"title": "T", "owner_email": "john.doe@acme.com"}, ["tasks:write"]),
    (
        "POST",
        "manual_activities",
        {"metadata": {"activity_time": "2026-03-18T14:30:00Z", "subject": "s", "description": "d"}},
        ["activities:write"],
    ),
    ("POST", "users/search", {"email": "john.doe@acme.com"}, ["users:read"]),
    ("POST", "mailboxes/search", {"owner_user_email": "john.doe@acme.com"}, ["mailboxes:read"]),
    (
        "POST",
        "sequence_enrollments",
        {"contact_email": "jane.doe@prospect.com", "sequence_id": DEMO_SEQUENCE_ID},
        ["sequence_enrollments:write"],
    ),
    (
        "GET",
        "account_and_contact_retrieval?contact_email=jane.doe@acme.com",
        None,
        ["accounts:read", "contacts:read"],
    ),
]
IDS = [f"{m} {p.split('?')[0]}" for m, p, _, _ in ENDPOINTS]


def _key(api: Any, permissions: Any, expired: bool = False) -> str:
    body = {"permissions": permissions, "expired": expired}
    return str(api.admin("POST", "keys", json=body)["api_key"])


def test_there_are_17_endpoints() -> None:
    assert len(ENDPOINTS) == 17


@pytest.mark.parametrize(("method", "path", "body", "needs"), ENDPOINTS, ids=IDS)
def test_endpoint_needs_a_key(api: Any, method: str, path: str, body: Any, needs: Any) -> None:
    resp = api.with_key(None).request(method, path, json=body)
    assert resp.status_code == 401
    assert "x-api-key" in resp.json()["detail"]
    resp = api.with_key("nope").request(method, path, json=body)
    assert (resp.status_code, resp.json()["detail"]) == (401, "Invalid API key")


@pytest.mark.parametrize(("method", "path", "body", "needs"), ENDPOINTS, ids=IDS)
def test_each_missing_permission_is_403_naming_it(
    api: Any, method: str, path: str, body: Any, needs: list[str]
) -> None:
    for need in needs:
        resource = need.split(":")[0]
        perms = {r: lvl for r, lvl in ALL_PERMISSIONS.items() if r != resource}
        resp = api.with_key(_key(api, perms)).request(method, path, json=body)
        assert resp.status_code == 403, resp.text
        assert need in resp.json()["detail"]
        assert need in resp.json()["missing_permissions"]
    # exactly the needed permissions (write where needed) are enough
    exact = {n.split(":")[0]: n.split(":")[1] for n in needs}
    resp = api.with_key(_key(api, exact)).request(method, path, json=body)
    assert resp.status_code not in (401, 403), resp.text


def test_403_lists_every_missing_permission(api: Any) -> None:
    resp = api.with_key(_key(api, {"users": "read"})).post(
        "account_contact", json={"email": "a@b.co"}
    )
    assert resp.status_code == 403
    assert resp.json()["missing_permissions"] == ["contacts:write", "accounts:write"]


def test_read_is_not_write(api: Any) -> None:
    key = _key(api, {"accounts": "read", "contacts": "read"})
    resp = api.with_key(key).post("account_contact", json={"email": "a@b.co"})
    assert resp.json()["missing_permissions"] == ["contacts:write", "accounts:write"]


def test_write_implies_read(api: Any) -> None:
    key = _key(api, {"accounts": "write", "contacts": "write"})
    resp = api.with_key(key).get("account_and_contact_retrieval?contact_email=jane.doe@acme.com")
    assert resp.status_code == 200


def test_expired_key_is_401_api_key_has_expired(api: Any) -> None:
    born_expired = _key(api, "all", expired=True)
    resp = api.with_key(born_expired).post("users/search", json={"email": "john.doe@acme.com"})
    assert (resp.status_code, resp.json()["detail"]) == (401, "API key has expired")
    key = _key(api, "all")
    client = api.with_key(key)
    assert client.post("users/search", json={"email": "john.doe@acme.com"}).status_code == 200
    api.admin("POST", "keys/expire", json={"api_key": key})
    resp = client.post("users/search", json={"email": "john.doe@acme.com"})
    assert (resp.status_code, resp.json()["detail"]) == (401, "API key has expired")


def test_header_name_is_case_insensitive(api: Any) -> None:
    client = api.with_key(None)
    for name in ("x-api-key", "X-Api-Key", "X-API-KEY"):
        resp = client.post(
            "users/search", json={"email": "john.doe@acme.com"}, headers={name: api_key(api)}
        )
        assert resp.status_code == 200


def api_key(api: Any) -> str:
    return str(api.app.sandbox.api_key)


def test_payload_type_other_than_json_is_422(api: Any) -> None:
    resp = api.post("users/search?payload_type=xml", json={"email": "john.doe@acme.com"})
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["query", "payload_type"]
    resp = api.post("/api/v1/public/users/search", json={"email": "john.doe@acme.com"})
    assert resp.status_code == 200  # the parameter itself is optional


@pytest.mark.parametrize(
    ("perms", "fragment"),
    [
        ({"users": "write"}, "users can be granted 'read'"),
        ({"activities": "read"}, "activities can be granted 'write'"),
        ({"mailbox": "read"}, "unknown resource 'mailbox'"),
        (["contacts"], "permissions must be an object"),
    ],
)
def test_admin_refuses_permissions_the_table_does_not_allow(
    api: Any, perms: Any, fragment: str
) -> None:
    resp = api.post("/_sandbox/keys", json={"permissions": perms})
    assert resp.status_code == 422
    assert fragment in resp.json()["detail"][0]["msg"]
