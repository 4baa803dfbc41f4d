"""What the accounts and opportunities targets rely on, held against Reevo's page
(/work/shared/reevo-api/README.md): a *contains* domain search, paged; opportunities created in
the first open stage; stages moved only by shift_stage, closed ones with their own reasons;
writes of these endpoints hit by commit-then-fail and resets; and stats a test can count
PATCHes and stage moves by."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from syncer.sandbox import EXAMPLE_ACCOUNT_ID
from syncer.sandbox.schemas import STAGE_KEYS


def locs(resp: Any) -> list[list[Any]]:
    assert resp.status_code == 422, resp.text
    return [e["loc"] for e in resp.json()["detail"]]


def account(api: Any, name: str, domain: str) -> str:
    resp = api.post("accounts", json={"name": name, "domain_name": domain})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["id"])


def opportunity(api: Any, name: str = "Deal", account_id: str = EXAMPLE_ACCOUNT_ID) -> Any:
    resp = api.post("opportunities", json={"display_name": name, "account_id": account_id})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_account_search_contains_the_domain_and_pages(api: Any) -> None:
    """Substrings match each other (the client keeps the exact ones); limit/offset page it."""
    ids = [account(api, n, d) for n, d in (("AU", "acme.com.au"), ("Not", "notacme.com"))]

    def found(**body: Any) -> list[str]:
        resp = api.post("accounts/search", json=body)
        assert resp.status_code == 200, resp.text
        return [a["id"] for a in resp.json()]

    assert found(domain_name="acme.com") == [EXAMPLE_ACCOUNT_ID, *ids]
    assert found(domain_name="ACME.COM.AU") == ids[:1]
    assert found(domain_name="acme.com", limit=1, offset=1) == ids[:1]
    assert found(domain_name="acme.com", limit=2, offset=2) == ids[1:]
    assert found(domain_name="acme.com", offset=3) == []


def test_opportunity_search_name_contains_and_the_rest_exact(api: Any) -> None:
    """The page does not say whether display_name is exact: the sandbox matches it as
    *contains* (the harder case for a client, which keeps only exact names)."""
    other = account(api, "Other", "other.com")
    ids = [opportunity(api, "Deal")["id"], opportunity(api, "Deal 2")["id"]]
    opportunity(api, "Deal", other)
    resp = api.post(
        "opportunities/search", json={"display_name": "deal", "account_id": EXAMPLE_ACCOUNT_ID}
    )
    assert [o["id"] for o in resp.json()] == ids
    assert {o["account_id"] for o in resp.json()} == {EXAMPLE_ACCOUNT_ID}


def test_a_new_opportunity_is_in_the_first_open_stage_of_its_pipeline(api: Any) -> None:
    made = opportunity(api)
    assert (made["stage_name"], made["pipeline_name"]) == ("Prospecting", "Default Pipeline")


@pytest.mark.parametrize("key", STAGE_KEYS)
def test_patch_refuses_stage_keys(api: Any, key: str) -> None:
    opp = opportunity(api)
    resp = api.patch(f"opportunities/{opp['id']}", json={key: "Qualified", "amount": 5})
    assert resp.status_code == 422 and "shift_stage" in resp.text
    assert api.get(f"opportunities/{opp['id']}").json()["amount"] is None  # nothing applied


@pytest.mark.parametrize(
    ("stage", "good", "other"),
    [
        ("Closed Won", ["Product fit"], ["No budget"]),
        ("Closed Lost", ["No budget"], ["Product fit"]),
    ],
)
def test_closed_stages_need_their_own_reasons(
    api: Any, stage: str, good: list[str], other: list[str]
) -> None:
    path = f"opportunities/{opportunity(api)['id']}/shift_stage"
    for reasons in (None, [], other):
        resp = api.post(path, json={"target_stage_name": stage, "closed_reason_names": reasons})
        assert locs(resp) == [["body", "closed_reason_names"]], reasons
    out = api.post(path, json={"target_stage_name": stage, "closed_reason_names": good}).json()
    assert (out["stage_name"], out["closed_reason_names"]) == (stage, good)


def _writes(api: Any) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """One write of each endpoint the new targets use: name -> (method, path, body)."""
    opp = opportunity(api, "Before")["id"]
    return {
        "POST accounts": ("POST", "accounts", {"name": "New", "domain_name": "new.com"}),
        "PATCH accounts/{account_id}": ("PATCH", f"accounts/{EXAMPLE_ACCOUNT_ID}", {"x_url": "x"}),
        "POST opportunities": (
            "POST",
            "opportunities",
            {"display_name": "New", "account_id": EXAMPLE_ACCOUNT_ID},
        ),
        "PATCH opportunities/{opportunity_id}": ("PATCH", f"opportunities/{opp}", {"amount": 7}),
        "POST opportunities/{opportunity_id}/shift_stage": (
            "POST",
            f"opportunities/{opp}/shift_stage",
            {"target_stage_name": "Qualified"},
        ),
    }


def _applied(api: Any, route: str) -> bool:
    dump = api.admin("GET", "dump")
    acc = next(a for a in dump["accounts"] if a["id"] == EXAMPLE_ACCOUNT_ID)
    before = next(o for o in dump["opportunities"] if o["display_name"] == "Before")
    return {
        "POST accounts": any(a["domain_name"] == "new.com" for a in dump["accounts"]),
        "PATCH accounts/{account_id}": acc["x_url"] == "x",
        "POST opportunities": any(o["display_name"] == "New" for o in dump["opportunities"]),
        "PATCH opportunities/{opportunity_id}": before["amount"] == "7",
        "POST opportunities/{opportunity_id}/shift_stage": before["stage_name"] == "Qualified",
    }[route]


ROUTES = [
    "POST accounts",
    "PATCH accounts/{account_id}",
    "POST opportunities",
    "PATCH opportunities/{opportunity_id}",
    "POST opportunities/{opportunity_id}/shift_stage",
]


@pytest.mark.parametrize("route", ROUTES)
def test_commit_then_fail_applies_these_writes_then_fails(api: Any, route: str) -> None:
    method, path, body = _writes(api)[route]
    before = api.admin("GET", "stats")["by_route_status"].get(route, {})
    api.admin("PUT", "faults", json={"commit_then_fail_rate": 1, "commit_then_fail_mode": "500"})
    assert api.request(method, path, json=body).status_code == 500
    api.admin("PUT", "faults", json={"commit_then_fail_rate": 0})
    assert _applied(api, route)
    assert api.admin("GET", "stats")["by_route_status"][route] == {**before, "500": 1}


@pytest.mark.parametrize("route", ROUTES)
def test_a_reset_drops_these_writes_unapplied(api: Any, route: str) -> None:
    method, path, body = _writes(api)[route]
    before = api.admin("GET", "stats")["by_route_status"].get(route, {})
    api.admin("PUT", "faults", json={"reset_rate": 1})
    with pytest.raises(httpx.RemoteProtocolError):
        api.request(method, path, json=body)
    api.admin("PUT", "faults", json={"reset_rate": 0})
    assert not _applied(api, route)
    # counted by its route even though it was dropped before routing (not by its concrete path)
    stats = api.admin("GET", "stats")
    assert stats["by_route_status"][route] == {**before, "reset": 1}
    assert "{" not in route or f"/api/v1/public/{path}" not in stats["by_path"]


def test_stats_count_by_method_and_route(api: Any) -> None:
    """PATCHes and stage moves are counted apart from the GETs and POSTs of the same path."""
    opp = opportunity(api)["id"]
    api.get(f"opportunities/{opp}")
    for amount in (1, 2):
        api.patch(f"opportunities/{opp}", json={"amount": amount})
    api.post(f"opportunities/{opp}/shift_stage", json={"target_stage_name": "Qualified"})
    api.post(f"opportunities/{opp}/shift_stage", json={"target_stage_name": "Nope"})
    stats = api.admin("GET", "stats")
    assert stats["by_route"] == {
        "POST opportunities": 1,
        "GET opportunities/{opportunity_id}": 1,
        "PATCH opportunities/{opportunity_id}": 2,
        "POST opportunities/{opportunity_id}/shift_stage": 2,
    }
    assert stats["by_route_status"]["POST opportunities/{opportunity_id}/shift_stage"] == {
        "200": 1,
        "422": 1,
    }
    # the old keys stay: by route template, GET and PATCH together
    assert stats["by_path"]["/api/v1/public/opportunities/{opportunity_id}"] == 3


def test_fault_routes_aim_the_failures_at_some_routes(api: Any) -> None:
    """A test can make only POST accounts commit-then-fail, while the search and the PATCH
    that follow it are answered."""
    api.admin(
        "PUT",
        "faults",
        json={
            "commit_then_fail_rate": 1,
            "commit_then_fail_mode": "500",
            "fault_routes": "POST accounts, POST opportunities",
        },
    )
    assert api.post("accounts", json={"name": "A", "domain_name": "a.com"}).status_code == 500
    made = api.post("accounts/search", json={"domain_name": "a.com"}).json()
    assert [a["name"] for a in made] == ["A"]  # applied
    assert api.patch(f"accounts/{made[0]['id']}", json={"name": "B"}).status_code == 200
    body = {"display_name": "D", "account_id": made[0]["id"]}
    assert api.post("opportunities", json=body).status_code == 500
    api.admin("PUT", "faults", json={"fault_routes": "", "fail_rate": 1})
    assert api.post("accounts/search", json={"domain_name": "a.com"}).status_code >= 500
    for bad in ("accounts", "FETCH accounts", "POST /accounts", 3):
        resp = api.request("PUT", "/_sandbox/faults", json={"fault_routes": bad})
        assert resp.status_code == 422, bad


def test_an_object_deleted_in_reevo_is_gone_everywhere(api: Any) -> None:
    """``DELETE /_sandbox/objects/{kind}/{id}`` plays someone deleting or merging an object in
    Reevo's UI: its id answers 404 and searches no longer find it."""
    gone = account(api, "Gone", "gone.com")
    opp = opportunity(api, "Gone deal", gone)["id"]
    assert api.request("DELETE", f"/_sandbox/objects/accounts/{gone}").json() == {"deleted": gone}
    assert api.request("DELETE", f"/_sandbox/objects/opportunities/{opp}").status_code == 200
    assert api.patch(f"accounts/{gone}", json={"name": "X"}).status_code == 404
    assert (
        api.post(
            f"opportunities/{opp}/shift_stage", json={"target_stage_name": "Qualified"}
        ).status_code
        == 404
    )
    assert api.post("accounts/search", json={"domain_name": "gone.com"}).json() == []
    assert api.post("opportunities/search", json={"display_name": "Gone deal"}).json() == []
    assert api.get("account_and_contact_retrieval?account_domain=gone.com").status_code == 404
    for path in (f"accounts/{gone}", f"nothings/{gone}", "meta/custom_fields_mode"):
        assert api.request("DELETE", f"/_sandbox/objects/{path}").status_code == 404
