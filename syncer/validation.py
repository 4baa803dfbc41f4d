"""Row checks: per-row issues as data (stable code + message), never an exception for a bad row.

Everything is a polars expression. E-mail and phone checks need Python validators
(email-validator without DNS, phonenumbers); those run only on the UNIQUE values a fast,
vectorised pre-check cannot settle, and their answers are joined back.

Issue codes (stable): ``missing_email`` (or ``missing_<field>``), ``invalid_email``,
``invalid_owner_email``, ``invalid_phone``, ``invalid_url``, ``invalid_domain``,
``invalid_amount``, ``invalid_date``, ``ambiguous_date``, ``invalid_enum`` (a value the target's
enum field does not take: the message lists the ones it does), ``malformed_row``; and, once the
values are normal, the row's own: the code of a target's ``one_of`` group none of whose fields
has a value (``missing_account``), ``missing_closed_reason`` (a closed stage without
closed_reasons) and ``missing_key`` (a row that is otherwise ready but has no key). A field's
``on_invalid: drop|warn`` turns its problems into row warnings (``warnings`` column,
``code: message (dropped|kept as is)``).

Row warnings for changes made to a value that is still sent (stable codes, ``code: message``):
``phone_extension_dropped`` (E.164 has no extension: ``x23`` is not sent),
``email_normalised`` (the address sent differs from the cell beyond the domain's letter case,
e.g. a punycode domain sent in Unicode), ``repeated_header_ignored`` (the file repeats a
mapped header; the row's value in a later column differs from the first one, which is read).
Normalising that never changes what a value means is not a warning: trimming, Unicode NFC,
a lowercased e-mail domain, ``https://`` added to a web address, a phone reformatted to E.164,
an owner name looked up in ``owners:``, a date written in ISO 8601.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from syncer.amounts import parse_amounts
from syncer.cells import CheckedEmails, _phones, check_emails, check_emails_noting, check_phones
from syncer.cells import _parse_phone as _parse_phone  # tests read it here
from syncer.dates import parse_dates
from syncer.datetimes import parse_datetimes
from syncer.models import KEY_COLUMN
from syncer.owners import resolve_owners
from syncer.rowchecks import row_key, row_problems
from syncer.targets import FieldKind, Target
from syncer.transform import MappedField, clean_text

__all__ = [
    "DROPPED",
    "DROPPED_SEP",
    "READ_ISSUE",
    "WARNING_CODES",
    "check",
    "check_emails",
    "check_phones",
    "warning_notes",
]

READ_ISSUE = "__read_issue"

_DOMAIN = (
    r"^(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?\.)+"
    r"\p{L}[\p{L}\p{N}\-]*[\p{L}\p{N}]$"
)
_URL = (
    r"(?i)^https?://(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?\.)+"
    r"\p{L}[\p{L}\p{N}\-]*[\p{L}\p{N}](?::[0-9]+)?(?:[/?#]\S*)?$"
)


Checked = tuple[pl.Series, pl.Series]


def _constant_once(
    frame: pl.DataFrame, f: MappedField, fn: Callable[[pl.Series], Checked]
) -> Checked:
    """Run ``fn`` over a field's column; a constant (``value:``) is checked once."""
    if f.source is not None or frame.height == 0:
        return fn(frame[f.out])
    a, b = fn(frame[f.out][:1])
    return _repeated(a, frame.height), _repeated(b, frame.height)


def _repeated(one: pl.Series, n: int, dtype: type[pl.DataType] = pl.String) -> pl.Series:
    """A one-value series repeated ``n`` times (a constant's answer, for every row)."""
    return pl.select(pl.repeat(one.item(), n, dtype=dtype)).to_series()


def _to_e164(region: str | None) -> Callable[[pl.Series], Checked]:
    def to_e164(s: pl.Series) -> Checked:
        return _phones(s, region)

    return to_e164


@dataclass(frozen=True, slots=True)
class _Rule:
    """One problem a row can have: when, its stable code, its message, and the field it is
    about (None: the row; its ``on_invalid`` says whether the row is rejected). A ``notice``
    is a row warning whatever ``on_invalid`` says: a change made to a value that is sent."""

    cond: pl.Expr
    code: str
    message: pl.Expr
    field: MappedField | None = None
    notice: bool = False

    @property
    def mode(self) -> str:
        if self.notice:
            return "notice"
        return self.field.spec.on_invalid if self.field is not None else "reject"


#: what a row warning says happened to the value, by on_invalid (a notice says it itself)
_SOFT = {"drop": "dropped", "warn": "kept as is"}
#: internal column: the fields left out of a row's body (on_invalid: drop), joined by \x1f
DROPPED = "__dropped"
DROPPED_SEP = "\x1f"
#: internal column: the codes of a row's warnings, joined by ";" ("" for none; only when some
#: rule can warn)
WARNING_CODES = "__warning_codes"


def warning_counts(frame: pl.DataFrame) -> dict[str, int]:
    """Rows per warning code (a row with two codes counts under both), most common first."""
    if WARNING_CODES not in frame.columns:
        return {}
    codes = frame.get_column(WARNING_CODES)
    codes = codes.filter(codes != "")
    if codes.is_empty():
        return {}
    counted = (
        pl.DataFrame({"code": codes.str.split(";")})
        .select(pl.col("code").list.unique())
        .explode("code")
        .group_by("code")
        .len()
        .sort(["len", "code"], descending=[True, False])
    )
    return {str(c): int(n) for c, n in counted.iter_rows()}


def warning_notes(frame: pl.DataFrame) -> list[str]:
    """A note saying how many rows have warnings, by code (none without such rows)."""
    if WARNING_CODES not in frame.columns:
        return []
    rows = int((frame.get_column(WARNING_CODES) != "").sum())
    if not rows:
        return []
    listed = ", ".join(f"{c} {n:,}" for c, n in warning_counts(frame).items())
    has = "1 row has" if rows == 1 else f"{rows:,} rows have"
    return [
        f"{has} warnings ({listed}): values changed or left out although the row went on; "
        "see the warnings column of the results file"
    ]


def _texts(
    frame: pl.DataFrame, rules: list[_Rule], suffix: bool
) -> tuple[pl.Series, pl.Series, pl.Series | None]:
    """(codes, messages, dropped fields) per row: "" / null where no rule holds.

    Conditions are evaluated over every row; codes and messages only for rows with a problem.
    With ``suffix`` (row warnings) each message is ``code: message (dropped|kept as is)``.
    """
    n = frame.height
    codes = pl.repeat("", n, dtype=pl.String, eager=True).alias("codes")
    messages = codes.alias("messages")
    if not rules:
        return codes, messages, None
    flags = frame.select([r.cond.fill_null(False).alias(f"__bad{i}") for i, r in enumerate(rules)])
    bad_rows = flags.select(pl.any_horizontal(pl.all())).to_series().arg_true()
    drops = [(i, r) for i, r in enumerate(rules) if r.mode == "drop"]
    dropped = pl.repeat(None, n, dtype=pl.String, eager=True).alias(DROPPED) if drops else None
    if len(bad_rows) == 0:
        return codes, messages, dropped

    def text(r: _Rule) -> pl.Expr:
        if not suffix:
            return r.message
        if r.notice:
            return pl.format("{}: {}", pl.lit(r.code), r.message)
        return pl.format("{}: {} ({})", pl.lit(r.code), r.message, pl.lit(_SOFT[r.mode]))

    sub = pl.concat([frame, flags], how="horizontal")[bad_rows]
    exprs = [
        pl.concat_str(
            [pl.when(pl.col(f"__bad{i}")).then(pl.lit(r.code)) for i, r in enumerate(rules)],
            separator=";",
            ignore_nulls=True,
        ).alias("code"),
        pl.concat_str(
            [pl.when(pl.col(f"__bad{i}")).then(text(r)) for i, r in enumerate(rules)],
            separator="; ",
            ignore_nulls=True,
        ).alias("message"),
    ]
    if dropped is not None:
        assert all(r.field is not None for _, r in drops)
        parts = [
            pl.when(pl.col(f"__bad{i}")).then(pl.lit(r.field.out))  # type: ignore[union-attr]
            for i, r in drops
        ]
        exprs.append(pl.concat_str(parts, separator=DROPPED_SEP, ignore_nulls=True).alias("drop"))
    texts = sub.select(exprs)
    codes.scatter(bad_rows, texts["code"])
    messages.scatter(bad_rows, texts["message"])
    if dropped is not None:
        dropped.scatter(bad_rows, texts["drop"].replace("", None))
    return codes, messages, dropped


def _email_normalised(f: MappedField, norm: pl.Expr) -> _Rule:
    """A notice for an address email-validator rewrote beyond the domain's letter case (a
    punycode domain sent in Unicode...): the fast path never does, so it is rare (the rows are
    found by :func:`syncer.cells.check_emails_noting`)."""
    message = pl.format('{} "{}" is sent as "{}"', f.named(), f.raw(), norm)
    return _Rule(pl.col(f"__rewritten{f.out}"), "email_normalised", message, f, notice=True)


def _repeated_header_rules(frame: pl.DataFrame, fields: list[MappedField]) -> list[_Rule]:
    """A notice on the rows where a repeat of a mapped header (``Email_2``: the reader names
    repeats so) holds a value other than the first column's, which is the one read (compared
    trimmed, the field's null values blank)."""
    taken = {c.strip().casefold(): c for c in frame.columns}
    rules: list[_Rule] = []
    for source, f in {c: field for field in fields for c in field.sources}.items():
        k = 2
        while (other := taken.get(f"{source.strip()}_{k}".casefold())) is not None:
            k += 1
            first = clean_text(pl.col(source), nfc=False, nulls=f.nulls)
            second = clean_text(pl.col(other), nfc=False, nulls=f.nulls)
            message = pl.format(
                'the file has more than one "{}" column: the first is read ("{}"), not "{}" ("{}")',
                pl.lit(source),
                pl.col(source).cast(pl.String).fill_null(""),
                pl.lit(other),
                pl.col(other).cast(pl.String).fill_null(""),
            )
            cond = second.is_not_null() & (first.is_null() | (first != second))
            rules.append(_Rule(cond, "repeated_header_ignored", message, notice=True))
    return rules


def _owner_message(f: MappedField) -> pl.Expr:
    """Why an owner value is not usable: not an e-mail, or a name ``owners:`` does not list."""
    value = pl.col(f.out)
    return (
        pl.when(value.str.contains("@", literal=True))
        .then(
            pl.format(
                '{} "{}" is not a valid e-mail address: {}',
                f.named(),
                f.raw(),
                pl.col(f"__why{f.out}"),
            )
        )
        .otherwise(
            pl.format(
                '{} "{}" is a name, not an e-mail address: add it to owners: in the mapping '
                "with the owner's e-mail",
                f.named(),
                f.raw(),
            )
        )
    )


def _checked_emails(frame: pl.DataFrame, f: MappedField) -> CheckedEmails:
    """Normal forms, reasons and rewrites: owner names resolved first (``owners:``); a constant
    (``value:``) is checked once."""

    def run(s: pl.Series) -> CheckedEmails:
        return check_emails_noting(resolve_owners(s, f.owners) if f.owners is not None else s)

    if f.source is not None or frame.height == 0:
        return run(frame[f.out])
    one = run(frame[f.out][:1])
    n = frame.height
    return CheckedEmails(
        _repeated(one.norm, n), _repeated(one.reason, n), _repeated(one.rewritten, n, pl.Boolean)
    )


def _checked_dates(frame: pl.DataFrame, f: MappedField) -> tuple[Checked, pl.Series]:
    """((ISO text or null, problem code or null), detail or null) of a field with formats,
    or a datetime field (an offset, read in its ``timezone:``)."""
    formats = f.spec.formats
    zone = f.spec.timezone
    out: dict[str, pl.Series] = {}

    def run(s: pl.Series) -> Checked:
        if f.kind is FieldKind.DATETIME and zone is not None:
            parsed = parse_datetimes(s, zone, formats)
        else:
            assert formats is not None
            parsed = parse_dates(s, formats)
        out["detail"] = parsed.detail
        return parsed.iso, parsed.code

    iso, code = _constant_once(frame, f, run)
    detail = out["detail"]
    if len(detail) != frame.height:  # a constant: checked once
        detail = pl.select(pl.repeat(detail.item(), frame.height, dtype=pl.String)).to_series()
    return (iso, code), detail


def _unlike(frame: pl.DataFrame, f: MappedField, pattern: str) -> pl.Series:
    """Whether each row's value of ``f`` is there and does not match ``pattern``."""
    column = pl.col(f.out)
    return frame.select(column.is_not_null() & ~column.str.contains(pattern)).to_series()


def _checked_amounts(frame: pl.DataFrame, f: MappedField) -> Checked:
    """(decimal text or null, why not or null) of an amount field (see syncer.amounts)."""

    def run(s: pl.Series) -> Checked:
        read = parse_amounts(s)
        return read.value, read.problem

    return _constant_once(frame, f, run)


def _checked_email_lists(frame: pl.DataFrame, f: MappedField) -> Checked:
    """(list of normal forms or null, "value: reason" of the first bad one or null) of a
    list of e-mails: each distinct address is checked once."""
    lists = frame.select(pl.col(f.out)).with_row_index("__row")
    flat = lists.explode(f.out)
    norm, reason = check_emails(flat[f.out])
    bad = pl.when(norm.is_null() & flat[f.out].is_not_null())
    checked = flat.select(
        "__row",
        norm.alias("norm"),
        bad.then(pl.format('"{}": {}', flat[f.out], reason)).alias("bad"),
    )
    rows = checked.group_by("__row", maintain_order=True).agg(
        pl.col("norm").drop_nulls(), pl.col("bad").drop_nulls().first()
    )
    rows = lists.select("__row").join(rows, on="__row", how="left", maintain_order="left")
    keep = pl.col("norm").list.len() > 0
    out = rows.select(pl.when(keep).then(pl.col("norm")).alias("norm"), pl.col("bad"))
    return out["norm"], out["bad"]


def check(frame: pl.DataFrame, fields: list[MappedField], spec: Target) -> pl.DataFrame:
    """Add ``status`` (ready|invalid), ``error``, ``error_code``, ``warnings`` and the key
    (``__key``: the target's key field in its ``key_expr`` form); rewrite e-mail, phone and
    date columns to their normal form (lowercased domain, E.164, ISO 8601).

    A field's ``on_invalid`` decides what its problems do: ``reject`` makes the row invalid;
    ``drop`` (the value becomes null and the field is listed in ``__dropped``) and ``warn``
    (the trimmed value is kept) add a row warning instead.
    """
    emails = [
        f
        for f in fields
        if f.kind in (FieldKind.EMAIL, FieldKind.OWNER_EMAIL, FieldKind.CONTACT_EMAIL)
    ]
    # a lookup by e-mail (contacts: {email: Attendees}) holds e-mail addresses too
    emails += [f for f in fields if f.spec.lookup == "email" and not f.is_list]
    email_lists = [
        f
        for f in fields
        if f.kind is FieldKind.CONTACT_EMAILS or (f.spec.lookup == "email" and f.is_list)
    ]
    enums = [f for f in fields if f.kind is FieldKind.ENUM]
    phones = [f for f in fields if f.kind is FieldKind.PHONE and f.spec.format == "e164"]
    urls = [f for f in fields if f.kind is FieldKind.URL and not f.is_list]
    domains = [
        f
        for f in fields
        if (f.kind is FieldKind.DOMAIN or f.spec.lookup == "domain") and not f.is_list
    ]
    amounts = [f for f in fields if f.kind is FieldKind.DECIMAL and not f.is_list]
    dates = [f for f in fields if f.spec.formats is not None or f.kind is FieldKind.DATETIME]

    rules: list[_Rule] = []
    if READ_ISSUE in frame.columns:
        rules.append(
            _Rule(
                pl.col(READ_ISSUE).is_not_null(),
                "malformed_row",
                pl.col(READ_ISSUE).cast(pl.String),
            )
        )

    by_name = {f.name: f for f in fields if f.section == "columns"}
    for req in spec.required:
        f = by_name[req]
        code = "missing_email" if f.kind is FieldKind.EMAIL else f"missing_{req}"
        what = "an e-mail address" if f.kind is FieldKind.EMAIL else "a value"
        rules.append(
            _Rule(pl.col(f.out).is_null(), code, pl.lit(f"{f.label} is blank; {what} is required"))
        )

    # e-mail, phone and date columns are checked side by side: polars releases the GIL, and
    # one column's string work runs on one core (1M rows: 1.3 s -> 0.7 s on 2 cores)
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        email_jobs = [(f, pool.submit(_checked_emails, frame, f)) for f in emails]
        phone_jobs = [
            (f, pool.submit(_constant_once, frame, f, _to_e164(f.spec.default_region)))
            for f in phones
        ]
        date_jobs = [(f, pool.submit(_checked_dates, frame, f)) for f in dates]
        other_jobs = [(f, pool.submit(_checked_amounts, frame, f)) for f in amounts] + [
            (f, pool.submit(_checked_email_lists, frame, f)) for f in email_lists
        ]
        # the web address and domain patterns too: a worker that finished early runs them
        # while another still settles phones (they were the rules' costliest conditions)
        shape_jobs = [(f, pool.submit(_unlike, frame, f, _URL)) for f in urls] + [
            (f, pool.submit(_unlike, frame, f, _DOMAIN)) for f in domains
        ]
        settled: list[pl.Series] = []
        for f, ejob in email_jobs:
            got = ejob.result()
            settled += [
                got.norm.alias(f"__norm{f.out}"),
                got.reason.alias(f"__why{f.out}"),
                got.rewritten.alias(f"__rewritten{f.out}"),
            ]
        for f, job in other_jobs:
            norm_s, reason_s = job.result()
            settled += [norm_s.alias(f"__norm{f.out}"), reason_s.alias(f"__why{f.out}")]
        for f, job in phone_jobs:
            e164_s, ext_s = job.result()
            settled += [e164_s.alias(f"__norm{f.out}"), ext_s.alias(f"__why{f.out}")]
        for f, sjob in shape_jobs:
            settled.append(sjob.result().alias(f"__unlike{f.out}"))
        for f, djob in date_jobs:
            (iso_s, code_s), detail_s = djob.result()
            settled += [
                iso_s.alias(f"__norm{f.out}"),
                code_s.alias(f"__code{f.out}"),
                detail_s.alias(f"__why{f.out}"),
            ]
    frame = frame.with_columns(settled)

    normal: dict[str, pl.Expr] = {}  # field out -> its normal form, where it has one
    for f in emails:
        norm = pl.col(f"__norm{f.out}")
        code = "invalid_owner_email" if f.kind is FieldKind.OWNER_EMAIL else "invalid_email"
        message = (
            _owner_message(f)
            if f.kind is FieldKind.OWNER_EMAIL
            else pl.format(
                '{} "{}" is not a valid e-mail address: {}',
                f.named(),
                f.raw(),
                pl.col(f"__why{f.out}"),
            )
        )
        rules.append(_Rule(pl.col(f.out).is_not_null() & norm.is_null(), code, message, f))
        normal[f.out] = norm
        if f.kind is FieldKind.EMAIL:
            rules.append(_email_normalised(f, norm))
    for f in phones:
        e164 = pl.col(f"__norm{f.out}")
        region = f" (default region {f.spec.default_region})" if f.spec.default_region else ""
        message = pl.format(
            '{} "{}" is not a valid phone number{}', f.named(), f.raw(), pl.lit(region)
        )
        rules.append(
            _Rule(pl.col(f.out).is_not_null() & e164.is_null(), "invalid_phone", message, f)
        )
        ext = pl.col(f"__why{f.out}")
        dropped_ext = pl.format(
            '{} "{}" is sent as {}: its extension {} is left out (E.164 has none)',
            f.named(),
            f.raw(),
            e164,
            ext,
        )
        rules.append(
            _Rule(
                e164.is_not_null() & ext.is_not_null(),
                "phone_extension_dropped",
                dropped_ext,
                f,
                notice=True,
            )
        )
        normal[f.out] = e164
    for f in urls:
        message = pl.format('{} "{}" is not a valid web address', f.named(), f.raw())
        rules.append(_Rule(pl.col(f"__unlike{f.out}"), "invalid_url", message, f))
    for f in domains:
        message = pl.format('{} "{}" is not a web domain (like acme.com)', f.named(), f.raw())
        rules.append(_Rule(pl.col(f"__unlike{f.out}"), "invalid_domain", message, f))
    for f in amounts:
        why = pl.col(f"__why{f.out}")
        message = pl.format('{} "{}" is not a clear amount: {}', f.named(), f.raw(), why)
        rules.append(_Rule(why.is_not_null(), "invalid_amount", message, f))
        normal[f.out] = pl.col(f"__norm{f.out}")
    for f in email_lists:
        why = pl.col(f"__why{f.out}")
        message = pl.format("{} {} is not a valid e-mail address", f.named(), why)
        rules.append(_Rule(why.is_not_null(), "invalid_email", message, f))
        normal[f.out] = pl.col(f"__norm{f.out}")
    for f in enums:
        allowed = spec.enums[f.name]
        message = pl.format(
            '{} "{}" is not a {} Reevo takes: {} (map other values with values:)',
            f.named(),
            f.raw(),
            pl.lit(f.name),
            pl.lit(", ".join(allowed)),
        )
        cond = pl.col(f.out).is_not_null() & ~pl.col(f.out).is_in(list(allowed))
        rules.append(_Rule(cond, "invalid_enum", message, f))
    for f in dates:
        code_col, why = pl.col(f"__code{f.out}"), pl.col(f"__why{f.out}")
        label, raw = f.named(), f.raw()
        invalid = pl.format('{} "{}" is not a date in the formats tried: {}', label, raw, why)
        ambiguous = pl.format(
            '{} "{}" could be {}: list only the convention the file uses in formats:',
            label,
            raw,
            why,
        )
        rules.append(_Rule(code_col == "invalid_date", "invalid_date", invalid, f))
        rules.append(_Rule(code_col == "ambiguous_date", "ambiguous_date", ambiguous, f))
        normal[f.out] = pl.col(f"__norm{f.out}")

    rules += _repeated_header_rules(frame, fields)

    rejects = [r for r in rules if r.mode == "reject"]
    soft = [r for r in rules if r.mode != "reject"]
    error_code, error, _ = _texts(frame, rejects, suffix=False)
    warning_codes, warnings, dropped = _texts(frame, soft, suffix=True)

    # each field's value to send: its normal form; on_invalid drop/warn rows null / as is
    extra: list[pl.Expr] = []
    for f in fields:
        mine = [r.cond.fill_null(False) for r in soft if r.field is f and not r.notice]
        value = normal.get(f.out)
        if mine:
            kept = pl.col(f.out) if f.spec.on_invalid == "warn" else pl.lit(None, pl.String)
            good = value if value is not None else pl.col(f.out)
            value = pl.when(pl.any_horizontal(mine)).then(kept).otherwise(good)
        if value is not None:
            extra.append(value.alias(f.out))

    temp = [
        c
        for c in frame.columns
        if c.startswith(("__norm", "__why", "__code", "__rewritten", "__unlike"))
    ]
    out = frame.with_columns(
        error_code.alias("error_code"),
        error.alias("error"),
        warnings.alias("warnings"),
        *([dropped] if dropped is not None else []),
        *([warning_codes.alias(WARNING_CODES)] if soft else []),
    )
    out = out.with_columns(extra).drop(temp)
    late = [_Rule(cond, code, message) for cond, code, message in row_problems(fields, spec)]
    out = _add_errors(out, late)
    # a row with no other problem but no key cannot be sent, deduped or remembered
    key = row_key(fields, spec)
    missing = f"{spec.key_missing or f'no {spec.key_label}'}"
    no_key = _Rule(pl.col(KEY_COLUMN).is_null(), "missing_key", pl.lit(missing))
    out = out.with_columns(key.alias(KEY_COLUMN))
    out = _add_errors(out, [no_key], only=pl.col("error_code") == "")
    ok = pl.col("error_code") == ""
    return out.with_columns(
        pl.when(ok).then(pl.lit("ready")).otherwise(pl.lit("invalid")).alias("status"),
        pl.when(ok).then(pl.col(KEY_COLUMN)).alias(KEY_COLUMN),
    )


def _add_errors(
    frame: pl.DataFrame, rules: list[_Rule], only: pl.Expr | None = None
) -> pl.DataFrame:
    """``frame`` with the codes and messages of ``rules`` (all reject) after its own."""
    if not rules:
        return frame
    if only is not None:
        rules = [_Rule(only & r.cond, r.code, r.message, r.field) for r in rules]
    codes, messages, _ = _texts(frame, rules, suffix=False)
    rows = (codes != "").arg_true()  # the rows some rule holds for (the others keep theirs)
    if len(rows) == 0:
        return frame
    sub = pl.DataFrame(
        [
            frame.get_column("error_code").gather(rows),
            frame.get_column("error").gather(rows),
            codes.gather(rows).alias("__new_code"),
            messages.gather(rows).alias("__new_text"),
        ]
    )

    def joined(column: str, new: pl.Expr, sep: str) -> pl.Expr:
        have = pl.col(column)
        return (
            pl.when(new == "")
            .then(have)
            .when(have == "")
            .then(new)
            .otherwise(have + sep + new)
            .alias(column)
        )

    done = sub.select(
        joined("error_code", pl.col("__new_code"), ";"),
        joined("error", pl.col("__new_text"), "; "),
    )
    out = []
    for name in ("error_code", "error"):
        column = frame.get_column(name).clone()
        column.scatter(rows, done.get_column(name))
        out.append(column)
    return frame.with_columns(out)
