"""Row checks: per-row issues as data (stable code + message), never an exception for a bad row.

Everything is a polars expression. E-mail and phone checks need Python validators
(email-validator without DNS, phonenumbers); those run only on the UNIQUE values a fast,
vectorised pre-check cannot settle, and their answers are joined back.

Issue codes (stable): ``missing_email`` (or ``missing_<field>``), ``invalid_email``,
``invalid_owner_email``, ``invalid_phone``, ``invalid_url``, ``malformed_row``.
"""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers
import polars as pl
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from syncer.mapping import FieldKind, TargetSpec
from syncer.phones import fast_e164
from syncer.transform import MappedField

__all__ = ["READ_ISSUE", "check", "email_lookup", "phone_lookup"]

READ_ISSUE = "__read_issue"

# An ASCII address this pattern accepts is accepted by email-validator unchanged (domain
# lowercased); anything else is asked of email-validator itself.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_FAST_EMAIL = rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}$"
_SPECIAL_TLD = "|".join(SPECIAL_USE_DOMAIN_NAMES)
_URL = (
    r"(?i)^https?://(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]{0,61}[\p{L}\p{N}])?\.)+\p{L}[\p{L}\p{N}\-]{1,62}"
    r"(?::\d{1,5})?(?:[/?#]\S*)?$"
)


def _fast_email(values: pl.Series) -> pl.Series:
    v = values
    return (
        v.str.contains(_FAST_EMAIL)
        & ~v.str.contains(rf"(?i)\.(?:{_SPECIAL_TLD})$")
        & ~v.str.contains(r"@(?:[^.]*\.)*..--|\.\.|@..--")
        & (v.str.len_bytes() <= 254)
        & (v.str.split("@").list.first().str.len_bytes() <= 64)
    )


def email_lookup(values: Iterable[pl.Series]) -> pl.DataFrame:
    """value -> (normalised address or null, reason) for every distinct non-null value."""
    uniq = pl.concat([s.rename("value").cast(pl.String) for s in values]).drop_nulls().unique()
    ok = _fast_email(uniq)
    fast = uniq.filter(ok)
    parts = fast.str.split_exact("@", 1)
    fast_df = pl.DataFrame({"value": fast}).with_columns(
        norm=parts.struct.field("field_0") + "@" + parts.struct.field("field_1").str.to_lowercase(),
        reason=pl.lit(None, dtype=pl.String),
    )
    slow_values: list[str] = []
    norms: list[str | None] = []
    reasons: list[str | None] = []
    for v in uniq.filter(~ok).to_list():
        slow_values.append(v)
        try:
            norms.append(validate_email(v, check_deliverability=False).normalized)
            reasons.append(None)
        except EmailNotValidError as exc:
            norms.append(None)
            reasons.append(str(exc))
    slow_df = pl.DataFrame(
        {"value": slow_values, "norm": norms, "reason": reasons},
        schema={"value": pl.String, "norm": pl.String, "reason": pl.String},
    )
    return pl.concat([fast_df, slow_df])


def phone_lookup(values: pl.Series, region: str | None) -> pl.DataFrame:
    """value -> E.164 (null when not a valid number) for every distinct non-null value."""
    uniq = values.rename("value").cast(pl.String).drop_nulls().unique()
    fast = fast_e164(uniq, region)
    known = pl.DataFrame({"value": uniq, "e164": fast})
    settled = known.filter(pl.col("e164").is_not_null())
    slow_values: list[str] = []
    out: list[str | None] = []
    for v in known.filter(pl.col("e164").is_null())["value"].to_list():
        slow_values.append(v)
        out.append(_parse_phone(v, region))
    slow_df = pl.DataFrame(
        {"value": slow_values, "e164": out}, schema={"value": pl.String, "e164": pl.String}
    )
    return pl.concat([settled, slow_df])


def _parse_phone(value: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _lookup(col: str, table: pl.DataFrame, value_col: str) -> pl.Expr:
    return pl.col(col).replace_strict(
        table["value"], table[value_col], default=None, return_dtype=pl.String
    )


def _issue(cond: pl.Expr, code: str, message: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    return pl.when(cond).then(pl.lit(code)), pl.when(cond).then(message)


def check(frame: pl.DataFrame, fields: list[MappedField], spec: TargetSpec) -> pl.DataFrame:
    """Add ``status`` (ready|invalid), ``error``, ``error_code`` and ``key``; rewrite e-mail and
    phone columns to their normal form (lowercased domain, E.164)."""
    emails = [f for f in fields if f.kind in (FieldKind.EMAIL, FieldKind.OWNER_EMAIL)]
    phones = [f for f in fields if f.kind is FieldKind.PHONE and f.spec.format == "e164"]
    urls = [f for f in fields if f.kind is FieldKind.URL]

    codes: list[pl.Expr] = []
    messages: list[pl.Expr] = []

    def add(cond: pl.Expr, code: str, message: pl.Expr) -> None:
        c, m = _issue(cond, code, message)
        codes.append(c)
        messages.append(m)

    if READ_ISSUE in frame.columns:
        add(
            pl.col(READ_ISSUE).is_not_null(),
            "malformed_row",
            pl.col(READ_ISSUE).cast(pl.String),
        )

    extra: list[pl.Expr] = []
    by_name = {f.name: f for f in fields if f.section == "columns"}
    for req in spec.required:
        f = by_name[req]
        code = "missing_email" if f.kind is FieldKind.EMAIL else f"missing_{req}"
        what = "an e-mail address" if f.kind is FieldKind.EMAIL else "a value"
        add(pl.col(f.out).is_null(), code, pl.lit(f"{f.label} is blank; {what} is required"))

    if emails:
        table = email_lookup(frame[f.out] for f in emails)
        for f in emails:
            norm = _lookup(f.out, table, "norm")
            reason = _lookup(f.out, table, "reason")
            code = "invalid_email" if f.kind is FieldKind.EMAIL else "invalid_owner_email"
            add(
                pl.col(f.out).is_not_null() & norm.is_null(),
                code,
                pl.format(
                    '{} "{}" is not a valid e-mail address: {}',
                    pl.lit(f.label),
                    f.raw(),
                    reason,
                ),
            )
            extra.append(norm.alias(f.out))
    for f in phones:
        table = phone_lookup(frame[f.out], f.spec.default_region)
        e164 = _lookup(f.out, table, "e164")
        region = f" (default region {f.spec.default_region})" if f.spec.default_region else ""
        add(
            pl.col(f.out).is_not_null() & e164.is_null(),
            "invalid_phone",
            pl.format(
                '{} "{}" is not a valid phone number{}',
                pl.lit(f.label),
                f.raw(),
                pl.lit(region),
            ),
        )
        extra.append(e164.alias(f.out))
    for f in urls:
        add(
            pl.col(f.out).is_not_null() & ~pl.col(f.out).str.contains(_URL),
            "invalid_url",
            pl.format('{} "{}" is not a valid web address', pl.lit(f.label), f.raw()),
        )

    key_field = by_name.get(spec.key_field)
    error_code = pl.concat_str(codes, separator=";", ignore_nulls=True) if codes else pl.lit(None)
    error = pl.concat_str(messages, separator="; ", ignore_nulls=True) if messages else pl.lit(None)
    out = frame.with_columns(
        error_code.fill_null("").cast(pl.String).alias("error_code"),
        error.fill_null("").cast(pl.String).alias("error"),
    ).with_columns(extra)
    key = (
        pl.col(key_field.out).str.to_lowercase()
        if key_field is not None
        else pl.lit(None, dtype=pl.String)
    )
    return out.with_columns(
        status=pl.when(pl.col("error_code") == "")
        .then(pl.lit("ready"))
        .otherwise(pl.lit("invalid")),
        key=pl.when(pl.col("error_code") == "").then(key),
    )
