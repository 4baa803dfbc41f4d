"""The canonical body text polars writes (syncer.canonical) is, byte for byte, the JSON the
code before it built in Python and hashed, and the bytes httpx sends.

The reference below is the body ``Prepared.iter_bodies`` built per row in Python until issue
15: the ledgers that code wrote hold sha256 of ``json.dumps(body, sort_keys=True, ...)``, so
any difference would make every row of an old ledger look changed.
"""

from __future__ import annotations

import hashlib
import json
import string
import sys
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import syncer.canonical as canonical
from syncer.canonical import BodyField, amount, body_texts, canonical_text, sha256_hex
from syncer.ledger import body_hash
from syncer.sources import read_source
from syncer.validation import DROPPED, DROPPED_SEP

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "corpus"))
from _corpus import corpus_files


def reference(row: dict[str, Any], fields: list[BodyField], dropped: str | None) -> dict[str, Any]:
    """The body the Python code built for ``row`` (its loop, field by field)."""
    skip = set(row[dropped].split(DROPPED_SEP)) if dropped and row.get(dropped) else set()
    body: dict[str, Any] = {}
    for f in fields:
        v = row[f.column]
        if f.section is None:
            if v is not None:
                if f.amount:
                    body[f.name] = amount(v)
                elif f.form is not None:
                    body[f.name] = {f.form: v}
                else:
                    body[f.name] = v
            elif f.clear and f.column not in skip:
                body[f.name] = ""
            continue
        if v is None and (not f.clear or f.column in skip):
            continue
        body.setdefault(f.section, {})[f.name] = "" if v is None else v
    return body


def sent_bytes(body: dict[str, Any]) -> bytes:
    """What httpx puts on the wire for ``json=body``."""
    return httpx.Request("POST", "https://api.reevo.ai/x", json=body).content


def check_frame(frame: pl.DataFrame, fields: list[BodyField], dropped: str | None = None) -> None:
    """For every row: polars text == json.dumps of the reference body == the bytes httpx
    sends for the body parsed from that text; the sha256 of each is the ledger's body_hash."""
    texts = body_texts(frame, fields, dropped=dropped, sep=DROPPED_SEP)
    digests = sha256_hex(texts).to_list()
    for row, text, digest in zip(frame.iter_rows(named=True), texts, digests, strict=True):
        body = reference(row, fields, dropped)
        assert text == canonical_text(body), (row, text)
        assert sent_bytes(json.loads(text)) == text.encode("utf-8")
        assert digest == body_hash(body) == hashlib.sha256(text.encode()).hexdigest()


#: every character polars can hold (no lone surrogates), the ones JSON escapes often
NASTY = st.one_of(
    st.sampled_from(['"', "\\", "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f"]),
    st.sampled_from(["\u2028", "\u2029", "\ufeff", "é", "\u0301", "\U0001f600", "日", "/"]),
    st.characters(blacklist_categories=("Cs",)),
)
TEXT = st.text(NASTY, max_size=12)
MAYBE = st.one_of(st.none(), TEXT)
DIGITS = st.text(string.digits, min_size=1, max_size=22)
AMOUNT = st.one_of(
    st.builds(lambda s, d: f"{s}{d.lstrip('0') or '0'}", st.sampled_from(["", "-"]), DIGITS),
    st.builds(
        lambda s, i, f: f"{s}{i.lstrip('0') or '0'}.{f}",
        st.sampled_from(["", "-"]),
        DIGITS,
        DIGITS,
    ),
    st.sampled_from(["0.0001", "0.00001", "-0", "007", "1e5", "1.5E+06", "1.0", "nan", "inf"]),
    st.sampled_from(["12,500", "1 234,5", "", "12.", ".5", "-0.0", "123456789012345.6"]),
    TEXT,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=20))
def test_strings_escape_as_json_dumps(values: list[str]) -> None:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    got = frame.select(canonical.json_string(pl.col("v"))).to_series().to_list()
    assert got == [json.dumps(v, ensure_ascii=False) for v in values]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), AMOUNT), min_size=1, max_size=20))
def test_amounts_are_the_numbers_python_wrote(values: list[str | None]) -> None:
    frame = pl.DataFrame({"a": values}, schema={"a": pl.String})
    check_frame(frame, [BodyField("a", "amount", amount=True)])


FIELDS = [
    BodyField("__v:email", "email"),
    BodyField("__v:first_name", "first_name", clear=True),
    BodyField("__v:title", "title"),
    BodyField("__v:amount", "amount", amount=True),
    BodyField("__v:account", "account", form="domain"),
    BodyField("__v:contacts", "contacts", form="email"),
    BodyField("__v:tags", "tags"),
    BodyField("__cc:b", "cus_field__b", section="contact_custom_fields", clear=True),
    BodyField("__cc:a", "cus_field__a", section="contact_custom_fields"),
    BodyField("__cc:list", "cus_field__list", section="contact_custom_fields"),
    BodyField("__ac:z", "cus_field__z", section="account_custom_fields", clear=True),
    BodyField("__v:Zeta", "Zeta", clear=True),  # upper case sorts before lower case
]
LISTED = {"__v:contacts", "__v:tags", "__cc:list"}


@st.composite
def frames(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 12))
    data: dict[str, list[Any]] = {}
    for f in FIELDS:
        if f.column in LISTED:
            data[f.column] = draw(
                st.lists(st.one_of(st.none(), st.lists(MAYBE, max_size=3)), min_size=n, max_size=n)
            )
        elif f.amount:
            data[f.column] = draw(st.lists(st.one_of(st.none(), AMOUNT), min_size=n, max_size=n))
        else:
            data[f.column] = draw(st.lists(MAYBE, min_size=n, max_size=n))
    clearable = [f.column for f in FIELDS if f.clear]
    data[DROPPED] = [
        DROPPED_SEP.join(draw(st.lists(st.sampled_from(clearable), max_size=2, unique=True)))
        or draw(st.sampled_from([None, ""]))
        for _ in range(n)
    ]
    schema = {c: pl.List(pl.String) if c in LISTED else pl.String for c in data}
    return pl.DataFrame(data, schema=schema)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_bodies_are_the_python_bodies_and_the_bytes_sent(frame: pl.DataFrame) -> None:
    check_frame(frame, FIELDS, dropped=DROPPED)


def test_no_fields_no_rows_and_an_all_blank_section() -> None:
    frame = pl.DataFrame({"c": [None, "x"]}, schema={"c": pl.String})
    check_frame(frame, [BodyField("c", "n", section="s")])
    check_frame(frame, [])
    empty = pl.DataFrame(schema={"c": pl.String, "l": pl.List(pl.String)})
    assert body_texts(empty, [BodyField("c", "c"), BodyField("l", "l")]).len() == 0


def test_sha256_without_the_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = pl.Series("t", ["", "é\u2028", None, "{}"])
    fast = sha256_hex(texts).to_list()
    monkeypatch.setattr(canonical, "_plugin_works", lambda: False)
    assert sha256_hex(texts).to_list() == fast
    assert fast[:2] == [hashlib.sha256(t.encode()).hexdigest() for t in ["", "é\u2028"]]
    assert fast[2] is None


CORPUS = corpus_files()


@pytest.mark.skipif(not CORPUS, reason="corpus not found (it sits beside the project)")
def test_corpus_cells_as_bodies() -> None:
    """Every readable corpus file's cells (real exports: accents, quotes, line breaks...) as
    text, lookup and custom fields."""
    checked = 0
    for path in CORPUS:
        try:
            table = read_source(path)
        except Exception:
            continue
        frame = table.frame.head(300).select(pl.all().cast(pl.String))
        columns = frame.columns[:9]
        fields = [
            BodyField(
                c,
                f"f{i}",
                section="s" if i % 3 == 2 else None,
                form="domain" if i % 4 == 1 and i % 3 != 2 else None,
                clear=i % 2 == 0,
            )
            for i, c in enumerate(columns)
        ]
        check_frame(frame.select(columns), fields)
        checked += 1
    assert checked


#: CANONICAL_VERSION -> sha256 of the sample leads' body digests (one a line, file order)
PINNED = {1: "b5fa70ddd93c3831181f5c719ab9a1bf7790dc44405a3a7be3b53bae1dec6a27"}


def test_the_canonical_text_changes_only_with_its_version() -> None:
    """Digest memos (syncer.runner.digest_memo) trust that the same values under the same
    CANONICAL_VERSION give the same text. If this fails, the text changed: raise
    CANONICAL_VERSION and pin the new figure here (a ledger's body hashes change with it)."""
    from syncer.runner import prepare

    root = Path(__file__).resolve().parents[2]
    prepared = prepare(root / "sample_data" / "leads.csv", root / "mappings" / "leads.yaml")
    digests = prepared.digests()["digest"]
    got = hashlib.sha256("\n".join(digests).encode()).hexdigest()
    assert PINNED.get(canonical.CANONICAL_VERSION) == got, (canonical.CANONICAL_VERSION, got)
