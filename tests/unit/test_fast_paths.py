"""The shortcuts validate takes over a million rows give what the full computation gives.

Each test puts a shortcut beside the computation it replaces, on random and adversarial cells:
the ``email_normalised`` notice looked for only among email-validator's rows, NFC only on cells
holding a character at or above U+0300, plain phone prefixes tested without a regex, the
results writer's apostrophes only in columns with a formula-like cell; and (third pass) the
e-mail tests on the whole address, ``https://`` added to a column, the writer's scan skipped by
a column's least and greatest cells, dedupe's candidates found by sorting their hashes.
"""

from __future__ import annotations

import sys
import unicodedata

import phonenumbers
import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pipeline_helpers import by_row, run

from syncer.cells import check_emails, check_emails_noting
from syncer.csvfiles import excel_safe
from syncer.dedupe import mark_duplicates
from syncer.formulas import neutralise
from syncer.phones import _rules, _starts
from syncer.transform import _add_scheme, _nfc_rows, _with_scheme

_LOCAL = st.text(alphabet='abcXYZ019.+_-"é ', min_size=0, max_size=10)
#: domains in every letter case, punycode and Unicode (email-validator rewrites those)
_DOMAIN = st.sampled_from(
    [
        "acme.com",
        "ACME.Com",
        "xn--bcher-kva.example.com",
        "XN--BCHER-KVA.de",
        "bücher.de",
        "BÜCHER.DE",
        "ｅｘａｍｐｌｅ.com",
        "straße.de",
        "İstanbul.tr",
        "a..b",
        "localhost",
        "",
    ]
)


def _rewritten_everywhere(values: pl.Series, norm: pl.Series) -> list[bool]:
    """The notice's condition over every row, as validation computed it before the shortcut."""
    value = pl.col("v")
    n = pl.col("n")
    at = value.str.find("@", literal=True) + 1
    as_written = value.str.slice(0, at) + value.str.slice(at).str.to_lowercase()
    cond = n.is_not_null() & value.is_not_null() & (n != as_written)
    frame = pl.DataFrame({"v": values, "n": norm})
    return frame.select(cond.fill_null(False)).to_series().to_list()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.tuples(_LOCAL, _DOMAIN)), min_size=1, max_size=30))
def test_rewritten_emails_found_among_the_slow_rows_only(
    cells: list[tuple[str, str] | None],
) -> None:
    values = pl.Series([None if c is None else f"{c[0]}@{c[1]}" for c in cells], dtype=pl.String)
    got = check_emails_noting(values)
    norm, reason = check_emails(values)
    assert got.norm.to_list() == norm.to_list()
    assert got.reason.to_list() == reason.to_list()
    assert got.rewritten.to_list() == _rewritten_everywhere(values, norm)


def test_a_punycode_domain_is_rewritten_and_a_capital_domain_is_not() -> None:
    values = pl.Series(["a@xn--bcher-kva.example.com", "b@ACME.com", "c@acme.com", None, "bad"])
    assert check_emails_noting(values).rewritten.to_list() == [True, False, False, False, False]


def test_every_character_below_u0300_is_nfc_and_composes_with_nothing() -> None:
    """Why a string of such characters needs no NFC (:data:`syncer.transform._MAYBE_NOT_NFC`)."""
    for code in range(0x300):
        char = chr(code)
        assert unicodedata.combining(char) == 0, hex(code)
        assert unicodedata.is_normalized("NFC", char), hex(code)
    for code in range(sys.maxunicode + 1):
        parts = unicodedata.decomposition(chr(code)).split()
        if parts and not parts[0].startswith("<") and len(parts) == 2:
            assert int(parts[1], 16) >= 0x300, f"{code:x} composes from {parts}"


#: letters with and without accents, precomposed and combining, Hangul jamo, compatibility forms
_ACCENTS = "aeAZ ÅåéüŁłǅ\u0300\u0301\u0308\u0327\u0345\u212b\u1100\u1161\u11a8\uac00ﬁ"
_TEXT = st.one_of(
    st.text(alphabet=_ACCENTS, max_size=6), st.text(st.characters(codec="utf-8"), max_size=6)
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), _TEXT), min_size=1, max_size=30))
@example(["a\u0301", "\u212b", "Müller", "\u1100\u1161", "x\u0345", None])
def test_nfc_on_some_rows_equals_nfc_on_every_row(cells: list[str | None]) -> None:
    column = pl.Series("c", cells, dtype=pl.String)
    assert _nfc_rows(column).to_list() == column.str.normalize("NFC").to_list()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(alphabet="0123456789", max_size=6), min_size=1, max_size=20),
    st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
)
def test_plain_phone_prefixes_test_as_their_regex(digits: list[str], region: str) -> None:
    rules = _rules(region)
    if rules is None:
        return
    frame = pl.DataFrame({"d": digits})
    for pattern in (rules.prefix_for_parsing, rules.idd):
        if pattern is None:
            continue
        got = frame.select(_starts(pl.col("d"), pattern)).to_series().to_list()
        assert got == frame.select(pl.col("d").str.contains(pattern)).to_series().to_list()


def test_a_constant_rewritten_email_is_a_warning_on_every_row() -> None:
    """A ``value:`` e-mail is checked once; its notice is repeated to every row like its value."""
    columns = {"email": {"value": "x@xn--bcher-kva.de"}, "first_name": "Name"}
    p = run([{"Name": "Ann"}, {"Name": "Bob"}], columns)
    for r in by_row(p).values():
        assert r["__v:email"] == "x@bücher.de"
        assert r["warnings"] == (
            'email_normalised: email (constant) "x@xn--bcher-kva.de" is sent as "x@bücher.de"'
        )


def test_a_mapping_of_constants_only_reads_no_column() -> None:
    p = run([{"Name": "Ann"}], {"email": {"value": "x@acme.com"}})
    assert by_row(p)[2]["__v:email"] == "x@acme.com"


_CELL = st.one_of(st.none(), st.text(alphabet="=+-@\t\r\n\x00'01 ().,/aZ|!", max_size=6))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_CELL, _CELL), min_size=1, max_size=20))
def test_excel_safe_equals_neutralising_every_column(
    rows: list[tuple[str | None, ...]],
) -> None:
    """Columns are left as they are when their trigger cells are all plain data (phones)."""
    frame = pl.DataFrame(rows, schema={"a": pl.String, "b": pl.String}, orient="row")
    frame = frame.with_columns(n=pl.lit(1))
    want = frame.with_columns(neutralise(pl.col(c)).alias(c) for c in ("a", "b"))
    assert excel_safe(frame).equals(want)


# --- issue 15 goal 2, third pass: each shortcut beside the computation it replaces ----------

#: local parts and domains near every edge of the fast e-mail pattern: capitals anywhere,
#: ``--`` in the local part or at a label's third character (IDNA-style), labels of 63 and 64
#: characters, the special-use top-level domains in any case
_EDGE_LOCAL = st.one_of(
    st.text(alphabet="abXY09.-+_", min_size=1, max_size=10),
    st.sampled_from(["ab--c", "x.ab--c", "A" * 64, "a" * 65, "Ab.Cd"]),
)
_EDGE_DOMAIN = st.one_of(
    st.sampled_from(
        [
            "acme.com",
            "ACME.COM",
            "Acme.Co",
            "xn--bcher-kva.de",
            "ab--c.com",
            "x.AB--c.com",
            "a.TEST",
            "b.Localhost",
            "onion",
            "c.arpa",
            "d.invalid.com",
            "l" * 63 + ".com",
            "l" * 64 + ".com",
            "a-.com",
            "a.b-c.Org",
        ]
    ),
    st.text(alphabet="abXY09.-", min_size=1, max_size=12).map(lambda d: d + ".com"),
)


def _email_validator(value: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_EDGE_LOCAL, _EDGE_DOMAIN), min_size=1, max_size=20))
@example([("ab--c", "acme.com"), ("a", "x.AB--c.com"), ("A" * 64, "Acme.com"), ("a", "b.TEST")])
def test_fast_emails_equal_email_validator_at_the_edges(parts: list[tuple[str, str]]) -> None:
    """The fast pattern's tests on the whole address (case-blind special domains, ``--`` after
    ``@`` or ``.``, 64 characters without a dot) and its domain lowercased only on rows with a
    capital give email-validator's own answers."""
    values = [f"{a}@{b}" for a, b in parts]
    norm, _ = check_emails(pl.Series(values, dtype=pl.String))
    assert norm.to_list() == [_email_validator(v) for v in values]


_URLISH = st.one_of(
    st.none(),
    st.text(alphabet="ab:/.HTtps-+1 ", max_size=12),
    st.sampled_from(["https://a.com", "HTTP://x", "ftp://x", "a+b.c-d://x", "://x", "1a://x", ""]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_URLISH, min_size=1, max_size=20))
@example(["https://a.com", None, "https://b.com"])
@example(["a.com", None])
def test_scheme_added_to_a_column_equals_the_expression(cells: list[str | None]) -> None:
    column = pl.Series("u", cells, dtype=pl.String)
    want = column.to_frame().select(_with_scheme(pl.col("u"))).to_series()
    got = _add_scheme(column)
    assert got.to_list() == want.to_list()
    assert got.name == "u"


#: cells whose first characters fall on both sides of every trigger (below, between, above,
#: beyond ASCII), so that a column's least and greatest cells do and do not rule triggers out
_RANGED = st.one_of(st.none(), st.text(alphabet="=+-@\t\x00 (,09<>AZaz~é€\U0001f600", max_size=4))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_RANGED, _RANGED, _RANGED), min_size=1, max_size=12))
@example([("A", "0", "+1 (650)"), ("é", "9", "+1 555")])
def test_excel_safe_by_ranges_equals_neutralising_every_column(
    rows: list[tuple[str | None, ...]],
) -> None:
    frame = pl.DataFrame(
        rows, schema={"a": pl.String, "b": pl.String, "c": pl.String}, orient="row"
    )
    want = frame.with_columns(neutralise(pl.col(c)).alias(c) for c in frame.columns)
    assert excel_safe(frame).equals(want)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ready", "invalid"]), st.one_of(st.none(), st.text("abc", max_size=2))
        ),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["first", "last"]),
)
def test_duplicates_found_by_sorting_hashes_equal_the_hash_table(
    rows: list[tuple[str, str | None]], keep: str
) -> None:
    from syncer.models import KEY_COLUMN

    frame = pl.DataFrame(
        {
            "source_row": list(range(2, len(rows) + 2)),
            "status": [s for s, _ in rows],
            "error": ["" if s == "ready" else "bad" for s, _ in rows],
            "error_code": ["" if s == "ready" else "x" for s, _ in rows],
            KEY_COLUMN: [k for _, k in rows],
        },
        schema_overrides={KEY_COLUMN: pl.String},
    )
    got = mark_duplicates(frame, keep)  # type: ignore[arg-type]
    # the reference: the old candidates, then the same exact marking over them
    ready = pl.col("status") == "ready"
    old = frame.select(pl.when(ready).then(pl.col(KEY_COLUMN).hash()).is_duplicated() & ready)
    new_losers = got.get_column("status") == "duplicate"
    assert not (new_losers & ~old.to_series()).any()  # a loser is always an old candidate
    key = frame.get_column(KEY_COLUMN)
    status = frame.get_column("status").to_list()
    for i, k in enumerate(key.to_list()):
        same = [j for j, kk in enumerate(key.to_list()) if kk == k and status[j] == "ready"]
        if status[i] != "ready":
            assert got["status"][i] == status[i]
            continue
        winner = same[-1] if keep == "last" else same[0]
        assert (got["status"][i] == "duplicate") == (i != winner)
