"""account_contact, accounts, contacts and retrieval: behaviour and every documented 422."""

from __future__ import annotations

from typing import Any

import pytest

from syncer.sandbox import EXAMPLE_ACCOUNT_ID, EXAMPLE_CONTACT_ID


def locs(resp: Any) -> list[list[Any]]:
    assert resp.status_code == 422, resp.text
    return [e["loc"] for e in resp.json()["detail"]]


def contact(api: Any, email: str) -> dict[str, Any]:
    dump = api.admin("GET", "dump")["contacts"]
    return next(c for c in dump if c["email"].lower() == email.lower())


def test_upsert_creates_then_updates_by_email_case_insensitively(api: Any) -> None:
    first = api.post(
        "account_contact",
        json={"email": "Pat@Globex.com", "first_name": "Pat", "title": "CTO", "company": "Globex"},
    )
    assert first.status_code == 200
    one = first.json()
    assert one["contact_created"] and one["account_created"]
    again = api.post("account_contact", json={"email": "pat@globex.com", "last_name": "Lee"}).json()
    assert (again["contact_id"], again["account_id"]) == (one["contact_id"], one["account_id"])
    assert not again["contact_created"] and not again["account_created"]
    stored = contact(api, "Pat@Globex.com")
    assert (stored["first_name"], stored["last_name"], stored["title"]) == ("Pat", "Lee", "CTO")
    assert stored["upsert_count"] == 2
    acc = api.get(f"accounts/{one['account_id']}").json()
    assert (acc["name"], acc["domain_name"]) == ("Globex", "globex.com")


def test_null_leaves_a_value_and_empty_string_clears_it(api: Any) -> None:
    api.post("account_contact", json={"email": "a@initech.com", "title": "VP", "department": "IT"})
    api.post("account_contact", json={"email": "a@initech.com", "title": None, "department": ""})
    stored = contact(api, "a@initech.com")
    assert (stored["title"], stored["department"]) == ("VP", None)


@pytest.mark.parametrize(
    ("body", "domain", "name"),
    [
        (
            {"email": "x@gmail.com", "account_website": "https://www.Umbrella.com/about"},
            "umbrella.com",
            "umbrella.com",
        ),
        ({"email": "x@hooli.io"}, "hooli.io", "hooli.io"),
        ({"email": "x@hooli.io", "company": "Hooli Inc"}, "hooli.io", "Hooli Inc"),
        ({"email": "x@gmail.com", "company": "Acme Corporation"}, "acme.com", "Acme Corporation"),
    ],
)
def test_account_resolution_convention(api: Any, body: Any, domain: str, name: str) -> None:
    out = api.post("account_contact", json=body).json()
    acc = api.get(f"accounts/{out['account_id']}").json()
    assert (acc["domain_name"], acc["name"]) == (domain, name)


def test_existing_account_is_found_by_domain_not_duplicated(api: Any) -> None:
    out = api.post("account_contact", json={"email": "new@acme.com"}).json()
    assert out["account_id"] == EXAMPLE_ACCOUNT_ID and not out["account_created"]


def test_free_mail_without_company_has_no_account(api: Any) -> None:
    out = api.post("account_contact", json={"email": "someone@yahoo.com"}).json()
    assert out["account_id"] is None and out["account_created"] is False


def test_account_fields_and_custom_fields_apply_to_the_account(api: Any) -> None:
    body = {
        "email": "b@acme.com",
        "account_x_url": "https://x.com/acme",
        "account_owner_email": "jane.smith@acme.com",
        "account_custom_fields": {"cus_field__Tier": "Gold", "cus_field__Tags": ["a", "b"]},
        "contact_custom_fields": {"cus_field__Lead_Source": "inbound_form"},
    }
    assert api.post("account_contact", json=body).status_code == 200
    acc = api.get(f"accounts/{EXAMPLE_ACCOUNT_ID}").json()
    assert acc["x_url"] == "https://x.com/acme" and acc["owner_email"] == "jane.smith@acme.com"
    assert acc["custom_fields"] == {"cus_field__Tier": "Gold", "cus_field__Tags": ["a", "b"]}
    assert contact(api, "b@acme.com")["custom_fields"] == {"cus_field__Lead_Source": "inbound_form"}
    api.post(
        "account_contact",
        json={"email": "b@acme.com", "account_custom_fields": {"cus_field__Tier": ""}},
    )
    assert api.get(f"accounts/{EXAMPLE_ACCOUNT_ID}").json()["custom_fields"] == {
        "cus_field__Tags": ["a", "b"]
    }


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "email"]),
        ({"email": "not-an-email"}, ["body", "email"]),
        ({"email": "a@b.com", "first_name": 5}, ["body", "first_name"]),
        (
            {"email": "a@b.com", "contact_owner_email": "ghost@acme.com"},
            ["body", "contact_owner_email"],
        ),
        (
            {"email": "a@b.com", "account_owner_email": "ghost@acme.com"},
            ["body", "account_owner_email"],
        ),
        (
            {"email": "a@b.com", "contact_custom_fields": {"Lead": "x"}},
            ["body", "contact_custom_fields", "Lead"],
        ),
        (
            {"email": "a@b.com", "account_custom_fields": {"cus_field__n": 5}},
            ["body", "account_custom_fields", "cus_field__n", "str"],
        ),
        ({"email": "a@b.com", "account_custom_fields": "x"}, ["body", "account_custom_fields"]),
    ],
)
def test_account_contact_422_names_the_field(api: Any, body: Any, loc: list[Any]) -> None:
    assert loc in locs(api.post("account_contact", json=body))


def test_unknown_owner_message_names_the_email(api: Any) -> None:
    resp = api.post(
        "account_contact", json={"email": "a@b.com", "contact_owner_email": "ghost@acme.com"}
    )
    assert "ghost@acme.com" in resp.json()["detail"][0]["msg"]
    assert api.admin("GET", "stats")["writes_applied"] == 0


def test_create_get_patch_and_search_accounts(api: Any) -> None:
    made = api.post(
        "accounts",
        json={
            "name": "Wayne",
            "official_website": "https://wayne.com",
            "custom_fields": {"industry": "Tech"},
        },
    )
    assert made.status_code == 200
    acc = made.json()
    assert acc["domain_name"] == "wayne.com" and acc["custom_fields"] == {"industry": "Tech"}
    patched = api.patch(f"accounts/{acc['id']}", json={"name": "Wayne Ent", "x_url": ""}).json()
    assert patched["name"] == "Wayne Ent" and patched["official_website"] == "https://wayne.com"
    for i in range(3):
        api.post("accounts", json={"name": f"W{i}", "domain_name": f"w{i}.wayne.com"})
    hits = api.post("accounts/search", json={"domain_name": "WAYNE"}).json()
    assert [h["name"] for h in hits] == ["Wayne Ent", "W0", "W1", "W2"]
    page = api.post(
        "accounts/search", json={"domain_name": "wayne", "limit": 2, "offset": 1}
    ).json()
    assert [h["name"] for h in page] == ["W0", "W1"]
    assert set(hits[0]) >= {
        "id",
        "name",
        "status",
        "official_website",
        "domain_name",
        "linkedin_url",
        "facebook_url",
        "zoominfo_url",
        "x_url",
        "owner_email",
        "custom_fields",
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "loc"),
    [
        ("POST", "accounts", {}, ["body", "name"]),
        ("POST", "accounts", {"name": ""}, ["body", "name"]),
        (
            "POST",
            "accounts",
            {"name": "A", "owner_email": "ghost@acme.com"},
            ["body", "owner_email"],
        ),
        (
            "PATCH",
            f"accounts/{EXAMPLE_ACCOUNT_ID}",
            {"custom_fields": {"bogus": "1"}},
            ["body", "custom_fields", "bogus"],
        ),
        ("PATCH", "accounts/not-a-uuid", {}, ["path", "account_id"]),
        ("GET", "accounts/not-a-uuid", None, ["path", "account_id"]),
        ("POST", "accounts/search", {}, ["body", "domain_name"]),
        ("POST", "accounts/search", {"domain_name": "a", "limit": 0}, ["body", "limit"]),
        ("POST", "accounts/search", {"domain_name": "a", "offset": -1}, ["body", "offset"]),
        ("GET", "contacts/123", None, ["path", "contact_id"]),
    ],
)
def test_account_422s(api: Any, method: str, path: str, body: Any, loc: list[Any]) -> None:
    assert loc in locs(api.request(method, path, json=body))


@pytest.mark.parametrize(
    "path",
    [
        "accounts/0b9c0c6e-1111-4111-8111-111111111111",
        "contacts/0b9c0c6e-1111-4111-8111-111111111111",
    ],
)
def test_unknown_ids_are_404(api: Any, path: str) -> None:
    resp = api.get(path)
    assert resp.status_code == 404 and "not found" in resp.json()["detail"]
    assert api.patch("accounts/0b9c0c6e-1111-4111-8111-111111111111", json={}).status_code == 404


def test_get_contact_has_owner_account_and_opportunity_links(api: Any) -> None:
    opp = api.post(
        "opportunities",
        json={
            "display_name": "D",
            "account_id": EXAMPLE_ACCOUNT_ID,
            "primary_contact_email": "JANE.DOE@acme.com",
        },
    ).json()
    c = api.get(f"contacts/{EXAMPLE_CONTACT_ID}").json()
    assert c["owner_email"] == "john.doe@acme.com"
    assert c["account"]["id"] == EXAMPLE_ACCOUNT_ID
    assert c["opportunity_ids"] == [opp["id"]]


def test_retrieval_by_each_identifier(api: Any) -> None:
    by_email = api.get("account_and_contact_retrieval?contact_email=JANE.DOE@acme.com").json()
    assert by_email["contacts"][0]["id"] == EXAMPLE_CONTACT_ID
    assert by_email["account"]["id"] == EXAMPLE_ACCOUNT_ID
    by_phone = api.get("account_and_contact_retrieval?contact_phone_number=%2B14151234567").json()
    assert by_phone["contacts"][0]["id"] == EXAMPLE_CONTACT_ID
    by_domain = api.get("account_and_contact_retrieval?account_domain=acme.com").json()
    assert by_domain["account"]["id"] == EXAMPLE_ACCOUNT_ID
    assert {c["email"] for c in by_domain["contacts"]} == {"jane.doe@acme.com", "contact@acme.com"}
    # a phone stored in national format is found by its E.164 form
    api.post("account_contact", json={"email": "n@acme.com", "phone_number": "(415) 555-0100"})
    found = api.get("account_and_contact_retrieval?contact_phone_number=%2B14155550100").json()
    assert found["contacts"][0]["email"] == "n@acme.com"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 422),
        ("?contact_email=jane.doe@acme.com&account_domain=acme.com", 422),
        ("?contact_phone_number=14151234567", 422),  # '+' not encoded: a space, not E.164
        ("?contact_phone_number=%2B1-415", 422),
        ("?contact_email=nobody@acme.com", 404),
        ("?account_domain=acme", 404),  # exact match only
        ("?contact_phone_number=%2B14150000000", 404),
    ],
)
def test_retrieval_refusals(api: Any, query: str, status: int) -> None:
    resp = api.get("account_and_contact_retrieval" + query)
    assert resp.status_code == status, resp.text
