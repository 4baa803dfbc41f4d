"""Amounts as spreadsheets write them: US and EU conventions, currencies, and the values whose
convention cannot be told (refused unless the column's other values settle it)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from syncer.amounts import parse_amount, parse_amounts, to_json_number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12500", "12500"),
        ("12500.5", "12500.5"),
        ("$12,500.00", "12500"),
        ("$12,500.50", "12500.5"),
        ("12.500,00 €", "12500"),
        ("€12.500,75", "12500.75"),
        ("1 234,5", "1234.5"),
        ("1\u00a0234,50", "1234.5"),  # a non-breaking space groups thousands
        ("1'234.50", "1234.5"),
        ("12 500", "12500"),
        ("1,234,567", "1234567"),
        ("1.234.567", "1234567"),
        ("1,234,567.89", "1234567.89"),
        ("12,5", "12.5"),
        ("0,123", "0.123"),  # a lone 0 before it: not a thousands group
        ("1234,567", "1234.567"),  # four digits before it: not a thousands group
        ("1,2345", "1.2345"),
        ("USD 12,500.00", "12500"),
        ("12,500.00 USD", "12500"),
        ("US$ 99", "99"),
        ("R$ 10,00", "10"),
        ("£1,000.00", "1000"),
        ("-1,200.00", "-1200"),
        ("1,200.00-", "-1200"),
        ("(1,200.00)", "-1200"),  # accountants' negative
        ("$(1,200.00)", "-1200"),
        ("1.5E+06", "1500000"),
        (".5", "0.5"),
        ("0", "0"),
        ("0.00", "0"),
    ],
)
def test_amounts_in_either_convention(text: str, value: str) -> None:
    assert parse_amount(text) == (value, None)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("abc", "not a number"),
        ("EUR", "not a number"),
        ("", "not a number"),
        ("1,23,456", "its digit groups are not thousands"),
        ("12.5.3", "its digit groups are not thousands"),
        ("1 23,5", "its digit groups are not thousands"),
        ("1,234.567,8", "two decimal separators"),
        ("12 apples", "not a number"),
    ],
)
def test_what_is_not_an_amount(text: str, why: str) -> None:
    assert parse_amount(text) == (None, why)


@pytest.mark.parametrize(
    ("text", "thousands", "decimal"),
    [
        ("1,234", "1234", "1.234"),
        ("1.234", "1234", "1.234"),
        ("USD 12,500", "12500", "12.5"),
        ("-1,200", "-1200", "-1.2"),
        ("€ 999.999", "999999", "999.999"),
    ],
)
def test_one_separator_before_three_digits_is_ambiguous_alone(
    text: str, thousands: str, decimal: str
) -> None:
    value, why = parse_amount(text)
    assert value is None and why is not None
    sep = "," if "," in text else "."
    assert why.startswith(
        f"could be {thousands} ({sep!r} grouping thousands) or {decimal} ({sep!r} as the "
        "decimal separator)"
    )
    # a convention settles it
    assert parse_amount(text, sep) == (decimal, None)
    assert parse_amount(text, "." if sep == "," else ",") == (thousands, None)


def test_the_column_settles_the_ambiguous_ones() -> None:
    us = parse_amounts(pl.Series(["1,234", "$12,500.00", None, "USD 12,500"]))
    assert us.convention == "."
    assert us.value.to_list() == ["1234", "12500", None, "12500"]
    assert us.problem.to_list() == [None] * 4
    eu = parse_amounts(pl.Series(["1.234", "12.500,00 €", "3,5"]))
    assert eu.convention == ","
    assert eu.value.to_list() == ["1234", "12500", "3.5"]
    thousands_only = parse_amounts(pl.Series(["1,234", "1,234,567"]))  # , groups: . is decimal
    assert thousands_only.value.to_list() == ["1234", "1234567"]


def test_a_column_of_both_conventions_settles_nothing() -> None:
    mixed = parse_amounts(pl.Series(["1,234", "$12,500.00", "12.500,00 €", "7"]))
    assert mixed.convention is None
    assert mixed.value.to_list() == [None, "12500", "12500", "7"]
    assert mixed.problem[0] is not None and mixed.problem[0].startswith("could be 1234")
    alone = parse_amounts(pl.Series(["1,234", "2"]))  # nothing shows the convention
    assert alone.value.to_list() == [None, "2"]


def test_amounts_are_json_numbers_exactly() -> None:
    assert to_json_number("12500") == 12500 and isinstance(to_json_number("12500"), int)
    assert to_json_number("-1200") == -1200
    assert json.dumps(to_json_number("12500.5")) == "12500.5"
    assert json.dumps(to_json_number("0.1")) == "0.1"
    assert json.dumps(to_json_number("1234567.89")) == "1234567.89"
    assert json.dumps(to_json_number("99999999999.99")) == "99999999999.99"
