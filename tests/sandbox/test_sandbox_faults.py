"""Fault knobs (in-process and over a real socket) and the /_sandbox admin API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from wait_helpers import wait_for_stats

from syncer.sandbox import FaultSettings, SandboxHandle


def emails(api: Any) -> set[str]:
    return {c["email"] for c in api.admin("GET", "dump")["contacts"]}


def test_latency_and_jitter(api: Any) -> None:
    api.admin("PUT", "faults", json={"latency_ms": 80, "jitter_ms": 40})
    for _ in range(3):
        start = time.perf_counter()
        assert api.post("users/search", json={"email": "john.doe@acme.com"}).status_code == 200
        # at least the latency; the upper bound only catches seconds-for-ms (a busy machine
        # may add a lot to 120 ms, so it is far above it)
        assert 0.08 <= time.perf_counter() - start < 5
    api.admin("PUT", "faults", json={"latency_ms": 20_000, "jitter_ms": 0})
    start = time.perf_counter()
    api.admin("GET", "stats")  # the admin API is never slowed down
    assert time.perf_counter() - start < 10  # 20 s if it were


def test_latency_does_not_block_other_requests(sandbox_app: Any) -> None:
    sandbox_app.sandbox.set_faults({"latency_ms": 200})

    async def run() -> float:
        transport = httpx.ASGITransport(app=sandbox_app)
        headers = {"x-api-key": sandbox_app.sandbox.api_key}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=headers
        ) as c:
            start = time.perf_counter()
            url = "/api/v1/public/users/search"
            body = {"email": "john.doe@acme.com"}
            results = await asyncio.gather(*(c.post(url, json=body) for _ in range(50)))
            assert {r.status_code for r in results} == {200}
            return time.perf_counter() - start

    assert asyncio.run(run()) < 5  # 50 x 200 ms concurrently, not 10 s
    assert sandbox_app.sandbox.stats.max_in_flight == 50


def test_fail_rate_answers_500_502_503_and_applies_nothing(api: Any) -> None:
    api.admin("PUT", "faults", json={"fail_rate": 1})
    codes = {
        api.post("account_contact", json={"email": f"f{i}@x.com"}).status_code for i in range(40)
    }
    assert codes == {500, 502, 503}
    stats = api.admin("GET", "stats")
    assert stats["writes_applied"] == 0
    assert stats["by_path"] == {"/api/v1/public/account_contact": 40}
    assert not any(e.startswith("f") and e.endswith("@x.com") for e in emails(api))


def test_reset_rate_drops_the_connection_in_process(api: Any) -> None:
    api.admin("PUT", "faults", json={"reset_rate": 1})
    with pytest.raises(httpx.RemoteProtocolError, match="Server disconnected"):
        api.post("account_contact", json={"email": "r@x.com"})
    assert "r@x.com" not in emails(api)
    assert api.admin("GET", "stats")["resets"] == 1


def test_commit_then_fail_500_applies_the_write(api: Any) -> None:
    api.admin("PUT", "faults", json={"commit_then_fail_rate": 1, "commit_then_fail_mode": "500"})
    resp = api.post("account_contact", json={"email": "c@x.com"})
    assert resp.status_code == 500
    dump = api.admin("GET", "dump")
    assert next(c for c in dump["contacts"] if c["email"] == "c@x.com")["upsert_count"] == 1
    # reads are answered normally: nothing was written
    assert api.post("users/search", json={"email": "john.doe@acme.com"}).status_code == 200
    # a refused write is not "committed" either
    assert api.post("account_contact", json={}).status_code == 422
    stats = api.admin("GET", "stats")
    assert stats["writes_applied"] == 1 and stats["by_status"] == {"500": 1, "200": 1, "422": 1}


def test_commit_then_fail_drop_applies_the_write(api: Any) -> None:
    api.admin("PUT", "faults", json={"commit_then_fail_rate": 1, "commit_then_fail_mode": "drop"})
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("account_contact", json={"email": "d@x.com"})
    assert "d@x.com" in emails(api)


def test_faults_over_a_real_socket(live_sandbox: SandboxHandle) -> None:
    url = live_sandbox.base_url + "/api/v1/public/account_contact?payload_type=json"
    headers = {"x-api-key": live_sandbox.api_key}
    with httpx.Client(headers=headers) as client:
        assert client.post(url, json={"email": "ok@x.com"}).json()["contact_created"]
        live_sandbox.admin.set_faults(reset_rate=1)
        with pytest.raises(httpx.RemoteProtocolError, match="Server disconnected"):
            client.post(url, json={"email": "reset@x.com"})
        live_sandbox.admin.set_faults(
            reset_rate=0, commit_then_fail_rate=1, commit_then_fail_mode="drop"
        )
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(url, json={"email": "ctf@x.com"})
        live_sandbox.admin.set_faults(commit_then_fail_rate=0, slow_rate=1, slow_ms=400)
        with pytest.raises(httpx.ReadTimeout):
            client.post(url, json={"email": "slow@x.com"}, timeout=0.1)
        live_sandbox.admin.set_faults(slow_rate=0)
        assert client.post(url, json={"email": "after@x.com"}).status_code == 200  # still serving
    # the slow request is applied after its client gave up: wait for the sandbox to finish it
    wait_for_stats(
        live_sandbox.admin.stats,
        lambda s: s["in_flight"] == 0 and s["writes_applied"] >= 4,
        "the slow request to be applied (nothing in flight, 4 writes applied)",
    )
    contacts = {c["email"]: c for c in live_sandbox.admin.dump()["contacts"]}
    assert "reset@x.com" not in contacts
    assert contacts["ctf@x.com"]["upsert_count"] == 1
    assert "slow@x.com" in contacts
    stats = live_sandbox.admin.stats()
    assert stats["resets"] == 2 and stats["writes_applied"] == 4


def test_put_faults_validates_and_applies_nothing_on_error(api: Any) -> None:
    for bad in (
        {"fail_rate": 2},
        {"fail_rate": "lots"},
        {"latency_ms": -1},
        {"fail_rate": 0.6, "reset_rate": 0.6},
        {"rate_limit": 0},
        {"daily_quota": 1.5},
        {"latency_ms": None},
        {"commit_then_fail_mode": "explode"},
        {"nonsense": 1},
    ):
        resp = api.request("PUT", "/_sandbox/faults", json=bad)
        assert resp.status_code == 422, bad
    assert api.admin("GET", "faults") == FaultSettings().as_dict()
    out = api.admin("PUT", "faults", json={"rate_limit": 5, "daily_quota": 100, "latency_ms": 1})
    assert (out["rate_limit"], out["daily_quota"], out["latency_ms"]) == (5, 100, 1)
    assert api.admin("PUT", "faults", json={"rate_limit": None})["rate_limit"] is None


def test_stats_count_by_route_and_status(api: Any) -> None:
    api.post("account_contact", json={"email": "s@x.com"})
    api.get("accounts/01abc234-de56-7890-abcd-ef1234567890")
    api.get("accounts/0b9c0c6e-1111-4111-8111-111111111111")
    api.with_key(None).post("users/search", json={"email": "x@y.com"})
    stats = api.admin("GET", "stats")
    assert stats["total_requests"] == 4 and stats["writes_applied"] == 1
    assert stats["by_path"]["/api/v1/public/accounts/{account_id}"] == 2
    assert stats["by_status"] == {"200": 2, "404": 1, "401": 1}
    assert stats["by_path_status"]["/api/v1/public/accounts/{account_id}"] == {"200": 1, "404": 1}


def test_reset_restores_the_seed_and_drops_extra_keys(api: Any) -> None:
    key = api.admin("POST", "keys", json={})["api_key"]
    api.post("account_contact", json={"email": "gone@x.com"})
    api.admin("POST", "reset")
    assert "gone@x.com" not in emails(api)
    assert api.admin("GET", "stats")["total_requests"] == 0
    assert api.with_key(key).post("users/search", json={"email": "a@b.co"}).status_code == 401
    assert api.post("users/search", json={"email": "a@b.co"}).status_code == 200  # main key stays


def test_dump_lists_every_kind(api: Any) -> None:
    dump = api.admin("GET", "dump")
    assert set(dump) >= {"users", "mailboxes", "sequences", "pipelines", "accounts", "contacts"}
    assert {c["upsert_count"] for c in dump["contacts"]} == {0}
    stages = dump["pipelines"][0]["stages"]
    assert [s["type"] for s in stages] == ["open", "open", "open", "won", "lost"]


def test_admin_is_loopback_only(sandbox_app: Any) -> None:
    async def run() -> int:
        transport = httpx.ASGITransport(app=sandbox_app, client=("10.1.2.3", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return (await c.get("/_sandbox/stats")).status_code

    assert asyncio.run(run()) == 403


def test_expire_unknown_key_is_404(api: Any) -> None:
    assert api.request("POST", "/_sandbox/keys/expire", json={"api_key": "nope"}).status_code == 404


def test_handle_exposes_url_key_and_admin(live_sandbox: SandboxHandle) -> None:
    assert live_sandbox.base_url.startswith("http://127.0.0.1:")
    assert live_sandbox.admin_url.endswith("/_sandbox")
    key = live_sandbox.admin.create_key({"users": "read"})
    url = live_sandbox.base_url + "/api/v1/public/users/search"
    assert (
        httpx.post(url, json={"email": "john.doe@acme.com"}, headers={"x-api-key": key}).status_code
        == 200
    )
    live_sandbox.admin.expire_key(key)
    resp = httpx.post(url, json={"email": "john.doe@acme.com"}, headers={"x-api-key": key})
    assert resp.json()["detail"] == "API key has expired"
    assert live_sandbox.admin.faults()["fail_rate"] == 0
