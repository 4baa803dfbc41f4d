"""The Reevo client: the status table, headers, the 17 endpoints, and the key never leaking.

httpx.MockTransport stands in for the network only where a status must be forced; the client
is also tested against the real sandbox in tests/unit/test_push.py.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from typing import Any

import httpx
import pytest

import syncer.reevo.client as client_module
from syncer.errors import ConfigError, ReevoError, Retryable, RowRejected, RunAborted
from syncer.reevo.classify import normalise_error, parse_retry_after
from syncer.reevo.client import ReevoClient, check_base_url
from syncer.sandbox import SandboxHandle
from syncer.targets.account_contact import extract_ids

TEST_KEY = "test-key-all-permissions"  # the conftest sandbox key

KEY = "rk_live_SECRET_abcdef123456"


def call(handler, method: str = "upsert_account_contact", *args: Any, **kw: Any) -> Any:
    async def go() -> Any:
        async with ReevoClient(
            KEY, base_url="https://api.example.test", transport=httpx.MockTransport(handler)
        ) as client:
            return await getattr(client, method)(*args, **kw)

    return asyncio.run(go())


def answer(status: int, body: Any = None, headers: dict[str, Any] | None = None):
    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal headers
        if headers:  # callables are evaluated when the request is made (HTTP dates)
            headers = {k: v() if callable(v) else v for k, v in headers.items()}
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return handler


def raising(exc_type: type[Exception]):
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type("boom", request=request)

    return handler


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


# handler -> expected class, reason/None, retry_after approx or None, maybe_applied or None
TABLE = [
    (answer(200, {"contact_id": "c"}), None, None, None, None),
    (answer(204, ""), None, None, None, None),
    (answer(401, {"detail": "Invalid API key"}), RunAborted, "auth", None, None),
    (answer(401, {"detail": "API key has expired"}), RunAborted, "expired", None, None),
    (
        answer(403, {"detail": "Missing permissions: Contacts Write"}),
        RunAborted,
        "permission",
        None,
        None,
    ),
    (
        answer(429, {"detail": "Daily quota exceeded"}, {"Retry-After": "30"}),
        RunAborted,
        "quota",
        None,
        None,
    ),
    (
        answer(429, {"detail": "slow down"}, {"Retry-After": "86400"}),
        RunAborted,
        "quota",
        None,
        None,
    ),
    (
        answer(429, {"detail": "Rate limit exceeded"}, {"Retry-After": "2"}),
        Retryable,
        None,
        2.0,
        False,
    ),
    (
        answer(429, {"detail": "Rate limit"}, {"Retry-After": lambda: http_date(10)}),
        Retryable,
        None,
        10.0,
        False,
    ),
    (answer(408, "timeout"), Retryable, None, None, False),
    (answer(500, "oops"), Retryable, None, None, True),
    (answer(502, "bad gateway"), Retryable, None, None, True),
    (answer(503, {"detail": "down"}, {"Retry-After": "1.5"}), Retryable, None, 1.5, True),
    (answer(504, ""), Retryable, None, None, True),
    (answer(400, {"detail": "bad"}), RowRejected, None, None, None),
    (answer(404, {"detail": "Not found"}), RowRejected, None, None, None),
    (answer(409, {"message": "conflict"}), RowRejected, None, None, None),
    (
        answer(422, {"detail": [{"loc": ["body", "email"], "msg": "bad email", "type": "x"}]}),
        RowRejected,
        None,
        None,
        None,
    ),
    (raising(httpx.ReadTimeout), Retryable, None, None, True),
    (raising(httpx.ConnectTimeout), Retryable, None, None, False),
    (raising(httpx.ConnectError), Retryable, None, None, False),
    (raising(httpx.RemoteProtocolError), Retryable, None, None, True),
    (raising(httpx.ReadError), Retryable, None, None, True),
]


@pytest.mark.parametrize(("handler", "cls", "reason", "retry_after", "maybe"), TABLE)
def test_status_table(handler, cls, reason, retry_after, maybe):
    if cls is None:
        call(handler, "upsert_account_contact", {"email": "a@b.co"})
        return
    with pytest.raises(cls) as info:
        call(handler, "upsert_account_contact", {"email": "a@b.co"})
    err = info.value
    assert KEY not in str(err) and KEY not in repr(err)
    if reason is not None:
        assert err.reason == reason
    if retry_after is not None:
        assert err.retry_after == pytest.approx(retry_after, abs=1.5)
    if maybe is not None:
        assert err.maybe_applied is maybe


def test_messages_say_what_to_do():
    with pytest.raises(RunAborted) as info:
        call(answer(401, {"detail": "API key has expired"}), "get_contact", "c1")
    assert "create a new API key" in info.value.message
    with pytest.raises(RunAborted) as info:
        call(
            answer(403, {"detail": "Missing permissions: Contacts Write, Accounts Write"}),
            "get_contact",
            "c1",
        )
    assert "Contacts Write, Accounts Write" in info.value.message
    assert "permission" in info.value.message


def test_422_detail_flattened_to_field_msg():
    body = {
        "detail": [
            {"loc": ["body", "email"], "msg": "value is not a valid email address", "type": "x"},
            {"loc": ["body", "contact_custom_fields", "cus_x"], "msg": "unknown custom field"},
        ]
    }
    with pytest.raises(RowRejected) as info:
        call(answer(422, body), "upsert_account_contact", {"email": "x"})
    assert info.value.message == (
        "email: value is not a valid email address; "
        "contact_custom_fields.cus_x: unknown custom field"
    )
    assert info.value.status == 422


def test_server_echo_of_the_key_is_scrubbed():
    with pytest.raises(RunAborted) as info:
        call(answer(401, {"detail": f"unknown key {KEY}"}), "get_contact", "c1")
    assert KEY not in info.value.message and "***" in info.value.message


def test_key_never_in_repr():
    client = ReevoClient(KEY, base_url="https://api.example.test")
    assert KEY not in repr(client) and KEY[:-2] not in repr(client)
    assert KEY not in str(vars(client))
    asyncio.run(client.aclose())


ENDPOINTS = [
    ("upsert_account_contact", ({"email": "a@b.co"},), {}, "POST", "account_contact"),
    ("create_account", ({"name": "A"},), {}, "POST", "accounts"),
    ("update_account", ("a1", {"name": "B"}), {}, "PATCH", "accounts/a1"),
    ("get_account", ("a1",), {}, "GET", "accounts/a1"),
    ("search_accounts", ("acme",), {}, "POST", "accounts/search"),
    ("get_contact", ("c/1",), {}, "GET", "contacts/c%2F1"),
    (
        "create_opportunity",
        ({"display_name": "D", "account_id": "a"},),
        {},
        "POST",
        "opportunities",
    ),
    ("update_opportunity", ("o1", {"amount": 1}), {}, "PATCH", "opportunities/o1"),
    ("get_opportunity", ("o1",), {}, "GET", "opportunities/o1"),
    ("search_opportunities", ({"status": "DEAL"},), {}, "POST", "opportunities/search"),
    (
        "shift_opportunity_stage",
        ("o1", {"target_stage_name": "Won"}),
        {},
        "POST",
        "opportunities/o1/shift_stage",
    ),
    ("create_task", ({"title": "t", "owner_email": "o@b.co"},), {}, "POST", "tasks"),
    ("create_manual_activity", ({"metadata": {}},), {}, "POST", "manual_activities"),
    ("search_users", ("u@b.co",), {}, "POST", "users/search"),
    ("search_mailboxes", ("u@b.co",), {}, "POST", "mailboxes/search"),
    (
        "create_sequence_enrollment",
        ({"contact_email": "a@b.co", "sequence_id": "s"},),
        {},
        "POST",
        "sequence_enrollments",
    ),
    (
        "retrieve_account_and_contact",
        (),
        {"contact_phone_number": "+15551234567"},
        "GET",
        "account_and_contact_retrieval",
    ),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "verb", "path"), ENDPOINTS)
def test_every_endpoint_sends_key_and_payload_type(method, args, kwargs, verb, path):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    assert call(handler, method, *args, **kwargs) == {"ok": True}
    (req,) = seen
    assert req.method == verb
    assert req.url.raw_path.decode().split("?")[0] == f"/api/v1/public/{path}"
    assert req.headers["x-api-key"] == KEY
    assert req.url.params["payload_type"] == "json"
    if method == "retrieve_account_and_contact":
        assert b"contact_phone_number=%2B15551234567" in req.url.query
    if verb != "GET":
        assert req.headers["content-type"] == "application/json"


def test_all_17_endpoints_exist():
    assert len(ENDPOINTS) == 17


def test_retrieval_needs_exactly_one_identifier():
    with pytest.raises(ValueError):
        call(answer(200, {}), "retrieve_account_and_contact")


def test_base_url_rules():
    assert check_base_url("https://api.reevo.ai/") == "https://api.reevo.ai"
    assert check_base_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    assert check_base_url("http://localhost:1") == "http://localhost:1"
    with pytest.raises(ConfigError, match="not https"):
        check_base_url("http://api.reevo.ai")
    with pytest.raises(ConfigError):
        check_base_url("ftp://x")
    with pytest.raises(ConfigError, match="REEVO_API_KEY"):
        ReevoClient("  ")


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after(http_date(-100)) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_extract_ids_and_normalise():
    assert extract_ids({"contact_id": "c", "account_id": "a"}) == ("c", "a")
    assert extract_ids({"contact": {"id": "c"}, "account": {"id": "a"}}) == ("c", "a")
    assert extract_ids({"data": {"contact_id": "c"}}) == ("c", None)
    assert extract_ids(None) == (None, None)
    a = normalise_error("owner 'bob@x.com' is not a user (row 12)")
    b = normalise_error("owner 'amy@y.org' is not a user (row 7)")
    assert a == b
    assert normalise_error("email: bad") != normalise_error("phone: bad")


def test_errors_are_reevo_errors():
    for cls in (Retryable, RowRejected, RunAborted):
        assert issubclass(cls, ReevoError)


# -- TLS only where there is TLS: a loopback sandbox over plain http loads no CA bundle and
#    goes through no proxy from the environment (which would see the key)


def test_plain_http_loads_no_ca_bundle_and_https_loads_one() -> None:
    client_module._built_tls_context.cache_clear()
    ReevoClient("k" * 20, base_url="http://127.0.0.1:9")
    assert client_module._built_tls_context.cache_info().currsize == 0
    ReevoClient("k" * 20, base_url="https://api.reevo.ai")
    assert client_module._built_tls_context.cache_info().currsize == 1


def test_plain_http_to_loopback_ignores_proxies_from_the_environment(
    live_sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a proxy that is not there: a request sent to it would fail to connect
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    async def go() -> Any:
        async with ReevoClient(TEST_KEY, base_url=live_sandbox.base_url) as client:
            return await client.upsert_account_contact({"email": "proxy@example.com"})

    assert asyncio.run(go())
