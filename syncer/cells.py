"""One cell's value checked by a Python validator, on the unique values a vectorised pre-check
leaves: e-mail addresses (email-validator without DNS) and phone numbers (phonenumbers).
:mod:`syncer.validation` turns the answers into row issues."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
import polars as pl
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from syncer.phones import fast_e164

__all__ = ["CheckedEmails", "check_emails", "check_emails_noting", "check_phones"]

# An ASCII address this pattern accepts is accepted by email-validator unchanged (domain
# lowercased); anything else is asked of email-validator itself.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
_FAST_EMAIL = rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z][A-Za-z]+$"
_SPECIAL_TLD = "|".join(SPECIAL_USE_DOMAIN_NAMES)


def _fast_email(values: pl.Series) -> pl.Series:
    """Normal form of the addresses the fast pattern settles; null for the rest.

    The tests on the domain run on the whole address (a match in the local part too only sends
    the address to email-validator), case-blind where they looked at the lowercased domain (the
    pattern admits ASCII only); an address without capitals is its own normal form, so the
    domain is cut out and lowercased only on the rows holding a capital."""
    frame = pl.DataFrame({"v": values.cast(pl.String)})
    v = pl.col("v")
    ok = (
        v.str.contains(_FAST_EMAIL)
        & (v.str.len_bytes() <= 254)
        & (v.str.find("@", literal=True) <= 64)
        & ~v.str.contains(rf"(?i)\.(?:{_SPECIAL_TLD})$")
        & ~v.str.contains(r"[^.]{64}")
    )
    frame = frame.with_columns(
        ok=ok, upper=v.str.to_lowercase() != v, dashes=v.str.contains("--", literal=True)
    )
    # IDNA-style labels (``xn--``...): email-validator decides; the pattern only on cells with --
    dashed = frame.select(pl.col("ok") & pl.col("dashes")).to_series().arg_true()
    if len(dashed):
        idna = frame[dashed].select(v.str.contains(r"[@.]..--")).to_series()
        ok_column = frame.get_column("ok").clone()
        ok_column.scatter(dashed.filter(idna), False)
        frame = frame.with_columns(ok_column)
    out = frame.select(pl.when(pl.col("ok")).then(v).alias(values.name)).to_series()
    capital = frame.select(pl.col("ok") & pl.col("upper")).to_series().arg_true()
    if len(capital):
        at = v.str.find("@", literal=True) + 1
        fixed = frame[capital].select(v.str.slice(0, at) + v.str.slice(at).str.to_lowercase())
        out.scatter(capital, fixed.to_series())
    return out


def _fill_slow(
    values: pl.Series, fast: pl.Series, decide: Callable[[str], tuple[str | None, str | None]]
) -> tuple[pl.Series, pl.Series]:
    """Complete ``fast`` (null where unsettled) with ``decide`` on the unique unsettled values.

    Returns (normal form or null, reason or null)."""
    out, reason, _ = _fill_slow_rows(values, fast, decide)
    return out, reason


def _fill_slow_rows(
    values: pl.Series, fast: pl.Series, decide: Callable[[str], tuple[str | None, str | None]]
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """:func:`_fill_slow`, and the rows ``decide`` settled (their indices)."""
    need = (values.is_not_null() & fast.is_null()).arg_true()
    reason = pl.repeat(None, len(values), dtype=pl.String, eager=True).alias(values.name)
    if len(need) == 0:
        return fast, reason, need
    sub = values.gather(need).cast(pl.String)
    uniq = sub.unique().to_list()
    answers = [decide(v) for v in uniq]
    keys = pl.Series(uniq, dtype=pl.String)
    norms = pl.Series([a[0] for a in answers], dtype=pl.String)
    whys = pl.Series([a[1] for a in answers], dtype=pl.String)
    out = fast.clone()
    out.scatter(need, sub.replace_strict(keys, norms, default=None, return_dtype=pl.String))
    reason.scatter(need, sub.replace_strict(keys, whys, default=None, return_dtype=pl.String))
    return out, reason, need


def _decide_email(value: str) -> tuple[str | None, str | None]:
    try:
        return validate_email(value, check_deliverability=False).normalized, None
    except EmailNotValidError as exc:
        return None, str(exc)


def check_emails(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(normal form or null, reason or null) per value: lowercased domain, email-validator
    rules without DNS; email-validator runs only on unique values the fast pattern leaves."""
    return _fill_slow(values, _fast_email(values), _decide_email)


@dataclass(frozen=True, slots=True)
class CheckedEmails:
    """E-mail addresses checked (:func:`check_emails_noting`)."""

    norm: pl.Series  # normal form, null when not valid
    reason: pl.Series  # why not valid, or null
    #: True where the normal form differs from the address as written beyond the letter case of
    #: its domain (only email-validator rewrites so: the fast pattern's rows never do)
    rewritten: pl.Series


def check_emails_noting(values: pl.Series) -> CheckedEmails:
    """:func:`check_emails`, and which addresses it rewrote (a punycode domain sent in Unicode,
    ...): that is looked for only among the rows email-validator settled."""
    norm, reason, slow = _fill_slow_rows(values, _fast_email(values), _decide_email)
    rewritten = pl.repeat(False, len(values), dtype=pl.Boolean, eager=True).alias(values.name)
    if len(slow):
        sub = pl.DataFrame({"v": values.gather(slow).cast(pl.String), "n": norm.gather(slow)})
        rewritten.scatter(slow, sub.select(_rewritten(pl.col("v"), pl.col("n"))).to_series())
    return CheckedEmails(norm, reason, rewritten)


def _rewritten(value: pl.Expr, norm: pl.Expr) -> pl.Expr:
    """True where ``norm`` is not ``value`` with its domain lowercased (false for nulls)."""
    at = value.str.find("@", literal=True) + 1
    as_written = value.str.slice(0, at) + value.str.slice(at).str.to_lowercase()
    return (norm.is_not_null() & value.is_not_null() & (norm != as_written)).fill_null(False)


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
