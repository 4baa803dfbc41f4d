"""Validation: stable codes, messages naming column and value, fast paths equal the validators."""

from __future__ import annotations

import polars as pl
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_helpers import by_row, mapping, run, table

from syncer.runner import prepare
from syncer.validation import check_emails

COLS = {
    "email": "Email",
    "contact_owner_email": "Owner",
    "phone_number": {"column": "Phone", "format": "e164", "default_region": "US"},
    "account_website": "Web",
}


def row(**kw: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {"Email": "a@x.com", "Owner": None, "Phone": None, "Web": None}
    base.update(kw)
    return base


def test_codes_and_messages() -> None:
    p = run(
        [
            row(),
            row(Email="  "),
            row(Email="bob@@x"),
            row(Owner="nobody"),
            row(Phone="12"),
            row(Web="not a url"),
            row(Email="x@", Phone="555"),
        ],
        COLS,
    )
    r = by_row(p)
    assert (r[2]["status"], r[2]["error_code"], r[2]["error"]) == ("ready", "", "")
    assert r[3]["error_code"] == "missing_email"
    assert r[3]["error"] == "Email is blank; an e-mail address is required"
    assert r[4]["error_code"] == "invalid_email" and 'Email "bob@@x"' in r[4]["error"]
    assert r[5]["error_code"] == "invalid_owner_email" and 'Owner "nobody"' in r[5]["error"]
    assert r[6]["error_code"] == "invalid_phone" and 'Phone "12"' in r[6]["error"]
    assert r[7]["error_code"] == "invalid_url" and 'Web "not a url"' in r[7]["error"]
    assert r[8]["error_code"] == "invalid_email;invalid_phone"
    assert all(r[n]["status"] == "invalid" for n in range(3, 9))
    assert p.counts() == {"ready": 1, "duplicate": 0, "invalid": 6}


def test_normal_forms_and_key() -> None:
    p = run([row(Email=" Ann@ACME.com ", Phone="(415) 555-0132", Owner="Owner@Acme.COM")], COLS)
    r = by_row(p)[2]
    assert r["__v:email"] == "Ann@acme.com"
    assert r["__key"] == "ann@acme.com"
    assert r["__v:phone_number"] == "+14155550132"
    assert r["__v:contact_owner_email"] == "Owner@acme.com"


def test_unicode_email_goes_through_email_validator() -> None:
    p = run([row(Email="josé@exämple.com"), row(Email="a@localhost"), row(Email="a@x.test")], COLS)
    r = by_row(p)
    assert r[2]["status"] == "ready" and r[2]["__v:email"] == "josé@exämple.com"
    assert r[3]["error_code"] == r[4]["error_code"] == "invalid_email"


def test_malformed_row_from_reader() -> None:
    src = table([row(), row()], read_issues=[None, "row has 15 cells, header has 13: extra x, y"])
    p = prepare(src, mapping(COLS))
    r = by_row(p)
    assert r[3]["error_code"] == "malformed_row" and "extra x, y" in r[3]["error"]
    assert r[2]["status"] == "ready"


def test_iter_bodies_omit_and_clear() -> None:
    rows = [{"E": "a@x.com", "F": "Ann", "L": None, "T": "a;b", "I": None}]
    cols = {"email": "E", "first_name": "F", "last_name": "L"}
    extra = {
        "contact_custom_fields": {"cus_field__Tags": {"column": "T", "split": ";"}},
        "account_custom_fields": {"cus_field__Industry": "I"},
    }
    omit = list(run(rows, cols, **extra).iter_bodies())
    assert omit == [
        (
            2,
            "a@x.com",
            {
                "email": "a@x.com",
                "first_name": "Ann",
                "contact_custom_fields": {"cus_field__Tags": ["a", "b"]},
            },
        )
    ]
    clear = next(run(rows, cols, on_empty="clear", **extra).iter_bodies())[2]
    assert clear["last_name"] == "" and clear["account_custom_fields"] == {
        "cus_field__Industry": ""
    }


_LOCAL = st.text(alphabet="abcXYZ019.!#$%&'*+/=?^_`{|}~-\"() ,:;<>[]\\é", min_size=0, max_size=12)
_DOMAIN = st.text(alphabet="abcXYZ019.-_é", min_size=0, max_size=14)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(_LOCAL, _DOMAIN, st.sampled_from(["com", "co", "test", "1", "x"])), min_size=1
    )
)
def test_email_fast_path_equals_email_validator(parts: list[tuple[str, str, str]]) -> None:
    values = [f"{a}@{b}.{c}" for a, b, c in parts]
    norm, _ = check_emails(pl.Series(values, dtype=pl.String))
    for value, got in zip(values, norm.to_list(), strict=True):
        try:
            want: str | None = validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError:
            want = None
        assert got == want, value
