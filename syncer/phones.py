"""Vectorised E.164 for the phone numbers phonenumbers would certainly accept (the fast path).

``phonenumbers`` costs ~20 µs a value, far too slow for a million rows. Most lead-list phones
are plain national or ``+<cc>`` numbers of the default region, so the regular expressions in
phonenumbers' own metadata are run as polars expressions: a value is settled here only when it
is plainly formatted (digits, spaces, ``( ) . - /``, an optional leading ``+``) and matches the
validity rules of its country's main region, following the same parse steps as phonenumbers
(country code, national prefix, international prefix). Everything else is left null for
phonenumbers to decide. tests/unit/test_transform.py cross-checks both paths with hypothesis.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
import polars as pl
from phonenumbers.phonemetadata import PhoneMetadata

__all__ = ["fast_e164"]

_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)
_SEPARATORS = " ().-/+"
_PLAIN = r"^\+?[0-9][0-9 ().\-/]*$|^\+?\([0-9][0-9 ().\-/]*$"


@dataclass(frozen=True, slots=True)
class _Rules:
    cc: str
    general: str  # anchored regex
    general_lengths: tuple[int, ...]
    groups: tuple[tuple[tuple[int, ...], str], ...]  # (possible lengths, anchored regex)
    prefix_for_parsing: str | None  # anchored-at-start regex of the national prefix
    national_prefix: str | None  # plain digits usable for stripping, when simple
    idd: str | None  # anchored-at-start regex of the international prefix


def _pattern(desc: object) -> str | None:
    pat = getattr(desc, "national_number_pattern", None)
    return pat if pat else None


@functools.lru_cache(maxsize=64)
def _rules(region: str) -> _Rules | None:
    parse_md = PhoneMetadata.metadata_for_region(region)
    if parse_md is None or parse_md.country_code is None:
        return None
    cc = int(parse_md.country_code)
    main = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc, ())
    if not main:
        return None
    md = PhoneMetadata.metadata_for_region(main[0])
    # a main region with leading_digits would not claim every number it validates
    if md is None or md.leading_digits is not None or _pattern(md.general_desc) is None:
        return None
    by_lengths: dict[tuple[int, ...], list[str]] = {}
    for name in _TYPES:
        desc = getattr(md, name, None)
        pat = _pattern(desc)
        if pat is None:
            continue
        lengths = tuple(getattr(desc, "possible_length", ()) or ())
        if lengths == (-1,):
            continue
        by_lengths.setdefault(lengths, []).append(pat)
    groups = tuple(
        (lengths, "^(?:" + "|".join(f"(?:{p})" for p in pats) + ")$")
        for lengths, pats in by_lengths.items()
    )
    npfp = parse_md.national_prefix_for_parsing
    np = parse_md.national_prefix
    simple_np = (
        np
        if np
        and np.isdigit()
        and parse_md.national_prefix_transform_rule is None
        and (npfp is None or npfp == np)
        else None
    )
    prefix = npfp or np
    general = md.general_desc
    assert general is not None  # checked by _pattern above
    return _Rules(
        cc=str(cc),
        general=f"^(?:{general.national_number_pattern})$",
        general_lengths=tuple(general.possible_length or ()),
        groups=groups,
        prefix_for_parsing=f"^(?:{prefix})" if prefix else None,
        national_prefix=simple_np,
        idd=f"^(?:{parse_md.international_prefix})" if parse_md.international_prefix else None,
    )


def _valid(n: pl.Expr, rules: _Rules) -> pl.Expr:
    length = n.str.len_bytes()
    ok = n.str.contains(rules.general)
    if rules.general_lengths:
        ok = ok & length.is_in(list(rules.general_lengths))
    typed = pl.lit(False)
    for lengths, pat in rules.groups:
        cond = n.str.contains(pat)
        if lengths:
            cond = cond & length.is_in(list(lengths))
        typed = typed | cond
    return ok & typed


def _starts(n: pl.Expr, pattern: str | None) -> pl.Expr:
    if not pattern:
        return pl.lit(False)
    digits = re.fullmatch(r"\^\(\?:([0-9]+)\)", pattern)  # ^(?:011): a plain prefix
    return n.str.starts_with(digits[1]) if digits else n.str.contains(pattern)


def fast_e164(values: pl.Series, region: str | None) -> pl.Series:
    """E.164 for values settled without Python; null where phonenumbers must decide.

    Numbers of the default region are settled by its rules; numbers written ``+<cc>...`` of
    other countries by the rules of their country code's main region (country codes are
    prefix-free, so the first 1-3 digits name exactly one).
    """
    out = _fast_for_region(values, region)
    foreign = (out.is_null() & values.str.starts_with("+").fill_null(False)).arg_true()
    if len(foreign) == 0:
        return out
    sub = values.gather(foreign)
    ccs = _country_codes(sub)
    for cc in ccs.drop_nulls().unique().to_list():
        main = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(cc), ())
        if not main or main[0] == region or main[0] == "001":
            continue
        idx = (ccs == cc).fill_null(False).arg_true()
        settled = _fast_for_region(sub.gather(idx), main[0])
        hit = settled.is_not_null().arg_true()
        if len(hit):
            out.scatter(foreign.gather(idx.gather(hit)), settled.gather(hit))
    return out


def _country_codes(values: pl.Series) -> pl.Series:
    """The country code each ``+...`` value starts with (null when none is known)."""
    known = {str(cc) for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE}
    d = pl.col("v").str.replace_many(list(_SEPARATORS), [""] * len(_SEPARATORS))
    expr: Any = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
    for width in (1, 2, 3):
        codes = sorted(c for c in known if len(c) == width)
        head = d.str.slice(0, width)
        expr = expr.when(head.is_in(codes)).then(head)
    return pl.DataFrame({"v": values.cast(pl.String)}).select(expr.alias("cc")).to_series()


def _fast_for_region(values: pl.Series, region: str | None) -> pl.Series:
    """E.164 for the values the rules of ``region`` settle; null for the rest."""
    rules = _rules(region) if region else None
    if rules is None or len(values) == 0:
        return pl.repeat(None, len(values), dtype=pl.String, eager=True).alias(values.name)
    cc = rules.cc
    v = pl.col("v")
    digits = v.str.replace_many(list(_SEPARATORS), [""] * len(_SEPARATORS))
    frame = pl.DataFrame({"v": values.cast(pl.String)}).with_columns(
        plain=v.str.contains(_PLAIN).fill_null(False),
        plus=v.str.starts_with("+").fill_null(False),
        d=digits,
    )
    # the digits after the country code, cut once (the cases below read them up to 4 times)
    frame = frame.with_columns(after_cc=pl.col("d").str.slice(len(cc)))
    d = pl.col("d")
    plus = pl.col("plus")
    after_cc = pl.col("after_cc")
    # Which digits would be the national number (the cases exclude each other), then one check:
    # each case is where the national number starts in ``d`` (a number, not a copy of the text)
    # +<cc><national number>
    candidate = plus & d.str.starts_with(cc) & ~_starts(after_cc, rules.prefix_for_parsing)
    start: Any = pl.when(candidate).then(len(cc))
    # a national number as written
    plain_national = ~plus & ~_starts(d, rules.idd) & ~_starts(d, rules.prefix_for_parsing)
    start = start.when(plain_national).then(0)
    np = rules.national_prefix
    if np is not None:
        # <national prefix><national number>, e.g. 1 415 555 0132 (US) or 020 7946 0958 (GB)
        rest = after_cc if len(np) == len(cc) else d.str.slice(len(np))  # US: both "1"
        prefixed = (
            ~plus
            & d.str.starts_with(np)
            & ~_starts(d, rules.idd)
            & (pl.lit(np == cc) | ~d.str.starts_with(cc))
            & ~_starts(rest, rules.prefix_for_parsing)
        )
        start = start.when(prefixed).then(len(np))
    n = pl.col("n")
    national = d.str.slice(pl.when(pl.col("plain")).then(start))  # a null start: null
    out = frame.with_columns(n=national).select(
        pl.when(_valid(n, rules)).then(pl.lit("+" + cc) + n).alias(values.name or "e164")
    )
    return out.to_series()
