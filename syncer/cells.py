"""One cell's value checked by a Python validator, on the unique values a vectorised pre-check
leaves: e-mail addresses (email-validator without DNS) and phone numbers (phonenumbers).
:mod:`syncer.validation` turns the answers into row issues."""

from __future__ import annotations

from collections.abc import Callable

import phonenumbers
import polars as pl
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from syncer.phones import fast_e164

__all__ = ["check_emails", "check_phones"]

# An ASCII address this pattern accepts is accepted by email-validator unchanged (domain
# lowercased); anything else is asked of email-validator itself.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
_FAST_EMAIL = rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z][A-Za-z]+$"
_SPECIAL_TLD = "|".join(SPECIAL_USE_DOMAIN_NAMES)


def _fast_email(values: pl.Series) -> pl.Series:
    """Normal form of the addresses the fast pattern settles; null for the rest."""
    frame = pl.DataFrame({"v": values.cast(pl.String)})
    v = pl.col("v")
    at = v.str.find("@", literal=True)
    domain = pl.col("domain")
    ok = (
        v.str.contains(_FAST_EMAIL)
        & (v.str.len_bytes() <= 254)
        & (at <= 64)
        & ~domain.str.contains(rf"\.(?:{_SPECIAL_TLD})$")
        & ~domain.str.contains(r"(?:^|\.)..--")  # IDNA-style labels: email-validator decides
        & ~domain.str.contains(r"[^.]{64}")
    )
    return (
        frame.with_columns(domain=v.str.slice(at + 1).str.to_lowercase())
        .select(pl.when(ok).then(v.str.slice(0, at + 1) + domain).alias(values.name))
        .to_series()
    )


def _fill_slow(
    values: pl.Series, fast: pl.Series, decide: Callable[[str], tuple[str | None, str | None]]
) -> tuple[pl.Series, pl.Series]:
    """Complete ``fast`` (null where unsettled) with ``decide`` on the unique unsettled values.

    Returns (normal form or null, reason or null)."""
    need = (values.is_not_null() & fast.is_null()).arg_true()
    reason = pl.Series(values.name, [None] * len(values), dtype=pl.String)
    if len(need) == 0:
        return fast, reason
    sub = values.gather(need).cast(pl.String)
    uniq = sub.unique().to_list()
    answers = [decide(v) for v in uniq]
    keys = pl.Series(uniq, dtype=pl.String)
    norms = pl.Series([a[0] for a in answers], dtype=pl.String)
    whys = pl.Series([a[1] for a in answers], dtype=pl.String)
    out = fast.clone()
    out.scatter(need, sub.replace_strict(keys, norms, default=None, return_dtype=pl.String))
    reason.scatter(need, sub.replace_strict(keys, whys, default=None, return_dtype=pl.String))
    return out, reason


def _decide_email(value: str) -> tuple[str | None, str | None]:
    try:
        return validate_email(value, check_deliverability=False).normalized, None
    except EmailNotValidError as exc:
        return None, str(exc)


def check_emails(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(normal form or null, reason or null) per value: lowercased domain, email-validator
    rules without DNS; email-validator runs only on unique values the fast pattern leaves."""
    return _fill_slow(values, _fast_email(values), _decide_email)


def check_phones(values: pl.Series, region: str | None) -> pl.Series:
    """E.164 per value, null when not a valid number (phonenumbers on unsettled uniques)."""
    return _phones(values, region)[0]


def _phones(values: pl.Series, region: str | None) -> tuple[pl.Series, pl.Series]:
    """(E.164 or null, the extension E.164 leaves out or null) per value. The fast path
    settles plain numbers only, which have no extension; phonenumbers reads the rest."""
    return _fill_slow(values, fast_e164(values, region), lambda v: _parse_phone_ext(v, region))


def _parse_phone(value: str, region: str | None) -> str | None:
    return _parse_phone_ext(value, region)[0]


def _parse_phone_ext(value: str, region: str | None) -> tuple[str | None, str | None]:
    """(E.164 or None, the number's extension or None)."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None, None
    if not phonenumbers.is_valid_number(number):
        return None, None
    e164 = str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return e164, number.extension or None
