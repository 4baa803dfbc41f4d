"""An async client for Reevo's public REST API v1: one method per endpoint (all 17).

What a row of each target sends, and where its ids are in the answer, is the target's (see
:mod:`syncer.targets`): the pool sends through :meth:`ReevoClient.request`.

Every request carries ``x-api-key`` and ``payload_type=json``. Every answer goes through the one
table in :mod:`syncer.reevo.classify`: 2xx returns the decoded JSON, anything else raises
:class:`Retryable`, :class:`RowRejected` or :class:`RunAborted`. httpx errors are translated
there too (``raise ... from exc``); the API key appears in no message, repr or log.
"""

from __future__ import annotations

import functools
import ssl
import threading
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import SecretStr

from syncer.errors import ConfigError
from syncer.hosts import is_loopback_host
from syncer.reevo.classify import classify_response, classify_transport_error

DEFAULT_BASE_URL = "https://api.reevo.ai"
API_PREFIX = "/api/v1/public/"
SHARD_SIZE = 4  # connections per httpx pool (see ReevoClient.__init__)
USER_AGENT = "syncer/0.1 (+https://github.com/reevo-syncer)"

Json = Any


_TLS_LOCK = threading.Lock()


def tls_context() -> ssl.SSLContext:
    """One TLS context per process, shared by every client and shard: building one costs ~55 ms
    of CPU (loading the CA bundle), which a run of one small file, or an inbox of many, paid four
    times per file. Same settings as httpx's default (certifi, SSL_CERT_FILE/DIR honoured).
    Thread-safe: a run may begin it in a thread while its file is prepared."""
    with _TLS_LOCK:
        return _built_tls_context()


@functools.cache
def _built_tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def needs_tls(base_url: str) -> bool:
    """Whether requests to ``base_url`` go over TLS (plain http is only ever a loopback
    address: :func:`check_base_url`)."""
    return urlsplit(base_url).scheme != "http"


def is_loopback(url: str) -> bool:
    """True when the URL's host is localhost or a loopback address."""
    return is_loopback_host(urlsplit(url).hostname or "")


def check_base_url(url: str) -> str:
    """The base URL without a trailing slash; refuses plain http unless it is loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--base-url {url!r} is not an http(s) URL; use e.g. {DEFAULT_BASE_URL}")
    if parts.scheme == "http" and not is_loopback(url):
        raise ConfigError(
            f"--base-url {url!r} is not https: the API key would travel in clear text. "
            "Use https (plain http is allowed only for localhost/127.0.0.1)."
        )
    return url.rstrip("/")


def mask_key(key: str) -> str:
    """A form of the key safe to show: never more than its last 2 characters."""
    return f"***{key[-2:]}" if len(key) >= 12 else "***"


class ReevoClient:
    """Async Reevo API client. Use ``async with ReevoClient(key) as client: ...``."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        max_connections: int = 16,
        pool_timeout_s: float | None = None,
    ) -> None:
        if not api_key or not api_key.strip():
            raise ConfigError("no API key: set REEVO_API_KEY or pass --api-key-file FILE")
        if not all(ch.isascii() and ch.isprintable() for ch in api_key.strip()):
            raise ConfigError(  # never echo the key: it may be a real one with a typo
                "the API key holds line breaks, control or non-ASCII characters, which an "
                "HTTP header cannot carry: copy it again from Reevo (Settings > Integrations "
                "> API keys)."
            )
        self.base_url = check_base_url(base_url)
        self.timeout_s = timeout_s
        self.requests = 0  # HTTP requests sent (answered or not), for quota accounting
        self._key = SecretStr(api_key.strip())  # masked in repr/vars/tracebacks
        pool = max(timeout_s, pool_timeout_s or 0.0)
        # httpcore's pool does O(connections x queued) work per request, so one big pool costs
        # ~3 ms CPU per request at 32 connections (measured, see docs/benchmarks.md). Several
        # small pools (SHARD_SIZE connections each), picked by fewest requests in flight, keep
        # it under 1 ms. A caller-supplied transport (tests) gets one client.
        shards = 1 if transport is not None else max(1, -(-max_connections // SHARD_SIZE))
        per_shard = max_connections if shards == 1 else SHARD_SIZE
        # plain http (a loopback sandbox) has no TLS to verify, and no proxy: its CA bundle is
        # not loaded, and no proxy from the environment sees the key
        tls = needs_tls(self.base_url)
        self._shards = [
            httpx.AsyncClient(
                base_url=self.base_url + API_PREFIX,
                headers={"x-api-key": self._key.get_secret_value(), "user-agent": USER_AGENT},
                params={"payload_type": "json"},
                timeout=httpx.Timeout(timeout_s, pool=pool),
                limits=httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard),
                transport=transport,
                follow_redirects=False,
                verify=tls_context() if tls else False,
                trust_env=tls,
            )
            for _ in range(shards)
        ]
        self._in_flight = [0] * shards

    def __repr__(self) -> str:
        masked = mask_key(self._key.get_secret_value())
        return f"ReevoClient(base_url={self.base_url!r}, api_key={masked!r})"

    async def __aenter__(self) -> ReevoClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pools."""
        for shard in self._shards:
            await shard.aclose()

    # -- the one request path -------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Json | None = None,
        params: dict[str, str] | None = None,
    ) -> Json:
        """Send one request; return the decoded JSON of a 2xx, raise a ReevoError otherwise."""
        self.requests += 1
        loads = self._in_flight
        i = loads.index(min(loads)) if len(loads) > 1 else 0
        loads[i] += 1
        try:
            response = await self._shards[i].request(method, path, json=json, params=params)
        except httpx.HTTPError as exc:
            raise classify_transport_error(exc) from None
        finally:
            loads[i] -= 1
        error = classify_response(response, self._key.get_secret_value())
        if error is not None:
            raise error
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return {"raw": response.text[:500]}

    # -- the 17 endpoints -----------------------------------------------------------------
    async def upsert_account_contact(self, body: dict[str, Any]) -> Json:
        """1. POST account_contact: upsert a contact (by email) and its account."""
        return await self.request("POST", "account_contact", json=body)

    async def create_account(self, body: dict[str, Any]) -> Json:
        """2. POST accounts."""
        return await self.request("POST", "accounts", json=body)

    async def update_account(self, account_id: str, body: dict[str, Any]) -> Json:
        """3. PATCH accounts/{account_id}."""
        return await self.request("PATCH", f"accounts/{_seg(account_id)}", json=body)

    async def get_account(self, account_id: str) -> Json:
        """4. GET accounts/{account_id}."""
        return await self.request("GET", f"accounts/{_seg(account_id)}")

    async def search_accounts(self, domain_name: str, *, limit: int = 100, offset: int = 0) -> Json:
        """5. POST accounts/search: accounts whose domain contains ``domain_name``."""
        body = {"domain_name": domain_name, "limit": limit, "offset": offset}
        return await self.request("POST", "accounts/search", json=body)

    async def get_contact(self, contact_id: str) -> Json:
        """6. GET contacts/{contact_id}."""
        return await self.request("GET", f"contacts/{_seg(contact_id)}")

    async def create_opportunity(self, body: dict[str, Any]) -> Json:
        """7. POST opportunities."""
        return await self.request("POST", "opportunities", json=body)

    async def update_opportunity(self, opportunity_id: str, body: dict[str, Any]) -> Json:
        """8. PATCH opportunities/{opportunity_id} (not its stage: see shift_stage)."""
        return await self.request("PATCH", f"opportunities/{_seg(opportunity_id)}", json=body)

    async def get_opportunity(self, opportunity_id: str) -> Json:
        """9. GET opportunities/{opportunity_id}."""
        return await self.request("GET", f"opportunities/{_seg(opportunity_id)}")

    async def search_opportunities(
        self, filters: dict[str, Any] | None = None, *, limit: int = 100, offset: int = 0
    ) -> Json:
        """10. POST opportunities/search (display_name, account_id, owner_email, status, ...)."""
        body = {**(filters or {}), "limit": limit, "offset": offset}
        return await self.request("POST", "opportunities/search", json=body)

    async def shift_opportunity_stage(self, opportunity_id: str, body: dict[str, Any]) -> Json:
        """11. POST opportunities/{opportunity_id}/shift_stage."""
        path = f"opportunities/{_seg(opportunity_id)}/shift_stage"
        return await self.request("POST", path, json=body)

    async def create_task(self, body: dict[str, Any]) -> Json:
        """12. POST tasks."""
        return await self.request("POST", "tasks", json=body)

    async def create_manual_activity(self, body: dict[str, Any]) -> Json:
        """13. POST manual_activities."""
        return await self.request("POST", "manual_activities", json=body)

    async def search_users(self, email: str) -> Json:
        """14. POST users/search: an organisation user by e-mail."""
        return await self.request("POST", "users/search", json={"email": email})

    async def search_mailboxes(self, owner_user_email: str) -> Json:
        """15. POST mailboxes/search: mailboxes of an owner."""
        body = {"owner_user_email": owner_user_email}
        return await self.request("POST", "mailboxes/search", json=body)

    async def create_sequence_enrollment(self, body: dict[str, Any]) -> Json:
        """16. POST sequence_enrollments: enroll one contact in a sequence."""
        return await self.request("POST", "sequence_enrollments", json=body)

    async def retrieve_account_and_contact(
        self,
        *,
        contact_email: str | None = None,
        account_domain: str | None = None,
        contact_phone_number: str | None = None,
    ) -> Json:
        """17. GET account_and_contact_retrieval by exactly one exact-match identifier."""
        given = {
            k: v
            for k, v in (
                ("contact_email", contact_email),
                ("account_domain", account_domain),
                ("contact_phone_number", contact_phone_number),
            )
            if v is not None
        }
        if len(given) != 1:
            raise ValueError("pass exactly one of contact_email, account_domain, phone number")
        # httpx percent-encodes '+' in query values as %2B, as Reevo requires for E.164
        return await self.request("GET", "account_and_contact_retrieval", params=given)


def _seg(value: str) -> str:
    """One URL path segment, percent-encoded."""
    return quote(str(value), safe="")
