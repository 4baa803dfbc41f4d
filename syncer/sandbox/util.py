"""Small pure helpers of the sandbox: domains, phone numbers, timestamps, error shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

#: Free-mail domains: an e-mail there says nothing about the contact's company.
FREE_MAIL = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "hotmail.com",
        "hotmail.co.uk", "outlook.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com",
        "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de",
        "mail.com", "yandex.com", "yandex.ru", "zoho.com", "qq.com", "163.com", "fastmail.com",
    }
)  # fmt: skip


def now_iso() -> str:
    """The current UTC time as ISO 8601 with ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def domain_of_website(url: str) -> str | None:
    """``https://www.Acme.com/about`` -> ``acme.com``; None when there is no host."""
    text = url.strip()
    if not text:
        return None
    if "//" not in text:
        text = "//" + text
    host = (urlsplit(text).hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host or None


def domain_of_email(email: str) -> str:
    """The lower-cased domain of an e-mail address."""
    return email.rsplit("@", 1)[-1].strip().lower()


def e164(phone: str | None) -> str | None:
    """The E.164 form of a phone number (``+`` numbers, else read as US), or None."""
    if not phone:
        return None
    try:
        parsed = phonenumbers.parse(phone, None if phone.strip().startswith("+") else "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def issue(loc: tuple[str | int, ...], msg: str, value: Any = None) -> dict[str, Any]:
    """One FastAPI-style validation error entry."""
    out: dict[str, Any] = {"loc": list(loc), "msg": msg, "type": "value_error"}
    if value is not None:
        out["input"] = value
    return out


class SandboxHTTPError(Exception):
    """A domain error with its HTTP status; 422 carries a list of FastAPI-style entries."""

    def __init__(
        self,
        status: int,
        detail: Any,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail
        self.headers = headers
        self.extra = extra or {}


def invalid(errors: list[dict[str, Any]]) -> SandboxHTTPError:
    """A 422 with these entries."""
    return SandboxHTTPError(422, errors)


def not_found(what: str, obj_id: str) -> SandboxHTTPError:
    """A 404 naming the missing object."""
    return SandboxHTTPError(404, f"{what} {obj_id} not found")
