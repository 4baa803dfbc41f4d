"""The ONE table that turns an HTTP answer (or the lack of one) into success or a ReevoError.

======================================  ==============  =================================
answer                                  class           notes
======================================  ==============  =================================
2xx                                     success         body returned as JSON (or None)
401 "API key has expired"               RunAborted      reason ``expired``
401 otherwise                           RunAborted      reason ``auth``
403                                     RunAborted      reason ``permission``; server msg
429 daily quota exhausted               RunAborted      reason ``quota`` (see below)
408, 429, 500, 502, 503, 504            Retryable       ``retry_after`` from Retry-After
other 5xx                               Retryable
other 4xx (400, 404, 409, 422, ...)     RowRejected     server message; 422 flattened
httpx.TimeoutException                  Retryable       maybe_applied unless connect/pool
httpx.TransportError (incl. Remote-     Retryable       maybe_applied unless the request
ProtocolError, resets)                                  provably never left (connect)
======================================  ==============  =================================

**Quota vs rate 429.** Reevo documents a per-organisation quota of public requests but not how
its exhaustion looks. A 429 is treated as quota exhaustion (stop the run; waiting seconds will
not help) when its message mentions a quota or a daily/day limit, or when its ``Retry-After``
is an hour or more away (a machine-readable ``"error"`` field, as the sandbox sends
``rate_limited``/``quota_exceeded``, wins when present). Any other 429 is a rate limit: slow
down and retry.

Server messages are shown to the user. The API key is scrubbed from them, just in case.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from typing import Any

import httpx

from syncer.errors import ReevoError, Retryable, RowRejected, RunAborted

#: HTTP statuses worth retrying (every other 5xx is retried too); not models.RETRY_STATUSES
RETRYABLE_HTTP_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
QUOTA_RETRY_AFTER_S = 3600.0
_QUOTA_WORDS = re.compile(r"quota|daily|per day|a day", re.IGNORECASE)
_MAX_MESSAGE = 500

EXPIRED_HINT = (
    "create a new API key in Reevo (Settings → Integrations → API keys), then re-run the same "
    "command, or `syncer retry RESULTS_FILE` for the rows not sent; syncer recognises the new key "
    "as the same org by reading back a few contacts it sent (add --org NAME to every run to name "
    "the org yourself)"
)
AUTH_HINT = (
    "check the key in REEVO_API_KEY or --api-key-file (and --base-url); "
    "a key is shown only once when created in Reevo"
)
PERMISSION_HINT = (
    "give the key the missing permission(s) in Reevo (Settings → Integrations → API keys), "
    "or create a new key that has them, then re-run"
)
QUOTA_HINT = (
    "the organisation's quota of public API requests is used up: re-run after it resets "
    "(rows already stored are kept and not sent again)"
)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _flatten_detail(detail: Any) -> str:
    """FastAPI ``detail`` (str or list of {loc, msg}) -> "field: msg; field: msg"."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query", "path")]
                msg = str(item.get("msg", item))
                parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
            else:
                parts.append(str(item))
        return "; ".join(parts)
    if isinstance(detail, dict):
        return _message_from_json(detail) or json.dumps(detail, sort_keys=True)
    return str(detail)


def _message_from_json(data: Any) -> str:
    if isinstance(data, dict):
        for key in ("detail", "message", "error", "errors", "msg"):
            if data.get(key):
                return _flatten_detail(data[key])
    if isinstance(data, list):
        return _flatten_detail(data)
    return ""


def _json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.text) if response.content else None
    except ValueError:
        return None


def server_message(response: httpx.Response, secret: str | None = None) -> str:
    """The readable message in an error response (FastAPI 422 detail flattened)."""
    text = response.text
    msg = _message_from_json(_json(response))
    msg = (msg or text.strip() or response.reason_phrase or f"HTTP {response.status_code}").strip()
    if secret:
        msg = msg.replace(secret, "***")
    return msg[:_MAX_MESSAGE]


def classify_response(response: httpx.Response, secret: str | None = None) -> ReevoError | None:
    """None for success (2xx); otherwise the ReevoError the answer means. Never raises."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    msg = server_message(response, secret)
    where = f"{response.request.method} {response.request.url.path}"
    if status == 401:
        if "expired" in msg.lower():
            return RunAborted(
                f"the API key has expired ({msg}): {EXPIRED_HINT}",
                status=status,
                detail=msg,
                reason="expired",
            )
        return RunAborted(
            f"Reevo did not accept the API key ({msg}): {AUTH_HINT}",
            status=status,
            detail=msg,
            reason="auth",
        )
    if status == 403:
        return RunAborted(
            f"the API key lacks a permission for {where} ({msg}): {PERMISSION_HINT}",
            status=status,
            detail=msg,
            reason="permission",
        )
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status == 429 and _is_quota(response, msg, retry_after):
        return RunAborted(
            f"{QUOTA_HINT} ({msg})",
            status=status,
            detail=msg,
            reason="quota",
            retry_after=retry_after,
        )
    if status in RETRYABLE_HTTP_STATUSES or status >= 500:
        return Retryable(
            f"Reevo answered {status} to {where}: {msg}",
            status=status,
            detail=msg,
            retry_after=retry_after,
            maybe_applied=status >= 500,
        )
    return RowRejected(msg, status=status, detail=msg)


def _is_quota(response: httpx.Response, msg: str, retry_after: float | None) -> bool:
    data = _json(response)
    code = str(data.get("error", "")) if isinstance(data, dict) else ""
    if code:
        return "quota" in code.lower()
    if _QUOTA_WORDS.search(msg):
        return True
    return retry_after is not None and retry_after >= QUOTA_RETRY_AFTER_S


def classify_transport_error(exc: httpx.HTTPError) -> Retryable:
    """A timeout or connection failure -> Retryable; ``maybe_applied`` if it may have arrived."""
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    name = type(exc).__name__
    text = str(exc) or name
    return Retryable(
        f"no answer from Reevo ({name}: {text}); will retry",
        detail=f"{name}: {text}",
        maybe_applied=not never_sent,
    )


_NORMALISERS = [
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "<email>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"'[^']*'|\"[^\"]*\""), "<value>"),
    (re.compile(r"\d+"), "<n>"),
]


def normalise_error(message: str) -> str:
    """A row error with its per-row values (e-mails, ids, quoted values, numbers) blanked, so
    the same rejection on different rows compares equal (used by the circuit breaker)."""
    out = message
    for pattern, repl in _NORMALISERS:
        out = pattern.sub(repl, out)
    return out.strip().lower()
