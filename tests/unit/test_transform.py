"""Transform: trim, NFC, https://, split lists, constants; the E.164 fast path."""

from __future__ import annotations

import unicodedata

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_helpers import by_row, run

from syncer.phones import fast_e164
from syncer.validation import _parse_phone, check_phones


def test_text_is_trimmed_nfc_and_blank_is_null() -> None:
    decomposed = unicodedata.normalize("NFD", "  José  ")
    p = run(
        [{"E": "a@x.com", "F": decomposed}, {"E": "b@x.com", "F": "   "}],
        {"email": "E", "first_name": "F"},
    )
    rows = by_row(p)
    assert rows[2]["__v:first_name"] == "José" == unicodedata.normalize("NFC", "José")
    assert rows[3]["__v:first_name"] is None


def test_urls_get_https_when_no_scheme() -> None:
    p = run(
        [{"E": "a@x.com", "W": "acme.com", "L": "http://linkedin.com/in/a"}],
        {"email": "E", "account_website": "W", "contact_linkedin_url": "L"},
    )
    row = by_row(p)[2]
    assert row["__v:account_website"] == "https://acme.com"
    assert row["__v:contact_linkedin_url"] == "http://linkedin.com/in/a"


def test_split_custom_field_to_list_and_constants() -> None:
    p = run(
        [{"E": "a@x.com", "T": " a ; b;;  ; c "}, {"E": "b@x.com", "T": " ; "}],
        {"email": "E", "contact_owner_email": {"value": "owner@acme.com"}},
        contact_custom_fields={"cus_field__Tags": {"column": "T", "split": ";"}},
    )
    rows = by_row(p)
    assert rows[2]["__cc:cus_field__Tags"] == ["a", "b", "c"]
    assert rows[3]["__cc:cus_field__Tags"] is None
    assert rows[2]["__v:contact_owner_email"] == "owner@acme.com"


def test_e164_for_common_shapes() -> None:
    values = pl.Series(["(415) 555-0132", "1 415 555 0132", "+1-415-555-0132", "415.555.0132"])
    assert fast_e164(values, "US").to_list() == ["+14155550132"] * 4
    gb = check_phones(pl.Series(["020 7946 0958", "+44 20 7946 0958"]), "GB")
    assert gb.to_list() == ["+442079460958"] * 2
    assert fast_e164(pl.Series(["+44 20 7946 0958"]), "GB").to_list() == ["+442079460958"]


def test_e164_leaves_odd_values_to_phonenumbers() -> None:
    values = pl.Series(["415 555 0132 ext 5", "+7 495 123-45-67", "tel: 4155550132", None])
    assert fast_e164(values, "US").to_list() == [None, None, None, None]


def test_e164_settles_other_countries_written_with_their_code() -> None:
    values = pl.Series(["+44 20 7946 0958", "+33 1 42 68 53 00", "+49 30 901820", "+44 1"])
    assert fast_e164(values, "US").to_list() == [
        "+442079460958",
        "+33142685300",
        "+4930901820",
        None,
    ]


_DIGITS = st.text(alphabet="0123456789", min_size=5, max_size=14)


@st.composite
def phones(draw: st.DrawFn) -> str:
    digits = draw(_DIGITS)
    shape = draw(st.sampled_from(["plain", "plus", "paren", "dots", "cc"]))
    if shape == "plus":
        return "+" + digits
    if shape == "paren":
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    if shape == "dots":
        return ".".join([digits[:3], digits[3:6], digits[6:]])
    if shape == "cc":
        return draw(st.sampled_from(["+1 ", "+44 ", "1 ", "0", "00", "011"])) + digits
    return digits


@settings(max_examples=300, deadline=None)
@given(st.lists(phones(), min_size=1, max_size=40), st.sampled_from(["US", "GB", "DE", "FR", "AU"]))
def test_fast_path_never_disagrees_with_phonenumbers(values: list[str], region: str) -> None:
    fast = fast_e164(pl.Series(values, dtype=pl.String), region).to_list()
    for value, got in zip(values, fast, strict=True):
        if got is not None:
            assert got == _parse_phone(value, region), value
