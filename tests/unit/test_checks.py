"""What a circuit-breaker stop points at in the mapping."""

from __future__ import annotations

from syncer.errors import RunAborted
from syncer.mapping import FieldSpec, Mapping
from syncer.runner.checks import explain_breaker

MAPPING = Mapping(
    columns={
        "email": FieldSpec(column="Email", line=3),
        "contact_owner_email": FieldSpec(column="Owner", line=4),
    },
    contact_custom_fields={"cus_field__Region": FieldSpec(column="Region", line=6)},
)


def _stop(detail: str) -> RunAborted:
    return RunAborted("stopped early.", detail=detail, reason="circuit_breaker")


def test_names_the_custom_field_and_its_line() -> None:
    got = explain_breaker(_stop("contact_custom_fields.cus_field__Region: unknown"), MAPPING)
    assert "contact_custom_fields.cus_field__Region (line 6)" in got.message
    assert got.reason == "circuit_breaker"


def test_matches_whole_field_names_only() -> None:
    got = explain_breaker(_stop("contact_owner_email: nobody@x.org is not a user"), MAPPING)
    assert "columns.contact_owner_email (line 4)" in got.message
    assert "columns.email " not in got.message and "columns.email (" not in got.message


def test_unrelated_error_is_left_alone() -> None:
    stop = _stop("something else went wrong")
    assert explain_breaker(stop, MAPPING) is stop
