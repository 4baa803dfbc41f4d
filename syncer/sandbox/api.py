"""The 17 endpoints of Reevo's public API v1 under ``/api/v1/public``."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from syncer.sandbox import crm, sales
from syncer.sandbox import schemas as s
from syncer.sandbox.keys import Need, missing
from syncer.sandbox.state import SandboxState
from syncer.sandbox.util import SandboxHTTPError, issue

PREFIX = "/api/v1/public"

#: each permission check made by :func:`need` -> the permissions it asks for
_NEEDS: dict[Any, tuple[Need, ...]] = {}


def state_of(request: Request) -> SandboxState:
    """The sandbox state of the app serving this request."""
    st: SandboxState = request.app.state.sandbox
    return st


def need(*needs: Need) -> Any:
    """A dependency: a valid, unexpired key (401), within limits (429), with ``needs`` (403)."""

    async def check(request: Request) -> None:
        st = state_of(request)
        payload_type = request.query_params.get("payload_type")
        if payload_type is not None and payload_type != "json":
            msg = "payload_type must be 'json'"
            raise SandboxHTTPError(422, [issue(("query", "payload_type"), msg, payload_type)])
        raw = request.headers.get("x-api-key")
        if not raw:
            raise SandboxHTTPError(401, "Missing API key: send it in the x-api-key header")
        key = st.keys.get(raw)
        if key is None:
            raise SandboxHTTPError(401, "Invalid API key")
        if key.expired:
            raise SandboxHTTPError(401, "API key has expired")
        verdict = st.limiter.check()
        if not verdict.allowed:
            if verdict.reason == "rate_limited":
                rate = st.faults.rate_limit
                msg = (
                    f"Rate limit exceeded ({rate:g} requests per second);"
                    f" retry after {verdict.retry_after} s"
                )
            else:
                msg = (
                    f"Quota of public requests exhausted ({st.faults.daily_quota} per day);"
                    f" retry after {verdict.retry_after} s or ask your account manager for more"
                )
            raise SandboxHTTPError(
                429,
                msg,
                headers={"Retry-After": str(verdict.retry_after)},
                extra={"error": verdict.reason, "retry_after": verdict.retry_after},
            )
        lacking = missing(key.permissions, needs)
        if lacking:
            raise SandboxHTTPError(
                403,
                "API key lacks the permission(s): " + ", ".join(lacking),
                extra={"missing_permissions": lacking},
            )

    _NEEDS[check] = needs
    return Depends(check)


def route_needs(method: str, path: str) -> tuple[Need, ...]:
    """The permissions ``method path`` needs (``path`` as a target names it, e.g.
    ``accounts/{account_id}``): what a key must have before the body is looked at."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        if route.path == f"{PREFIX}/{path}" and method in (route.methods or ()):
            return tuple(n for d in route.dependencies for n in _NEEDS.get(d.dependency, ()))
    raise KeyError(f"the sandbox has no {method} {path}")


def ok(content: Any) -> JSONResponse:
    """A 200 JSON response (skips FastAPI's slower generic encoder)."""
    return JSONResponse(content)


def wrote(request: Request) -> None:
    """Mark this request as having applied a write (stats, commit-then-fail)."""
    state_of(request).stats.writes += 1
    request.scope["sandbox_wrote"] = True


router = APIRouter(prefix=PREFIX)

AW, AR = ("accounts", "write"), ("accounts", "read")
CW, CR = ("contacts", "write"), ("contacts", "read")
OW, OR = ("opportunities", "write"), ("opportunities", "read")


@router.post("/account_contact", dependencies=[need(CW, AW)])
async def account_contact(body: s.AccountContactIn, request: Request) -> JSONResponse:
    """Upsert a contact (by e-mail) and its account."""
    out = crm.upsert_account_contact(state_of(request).store, body)
    wrote(request)
    return ok(out)


@router.post("/accounts", dependencies=[need(AW)])
async def create_account(body: s.AccountIn, request: Request) -> JSONResponse:
    """Create an account."""
    out = crm.create_account(state_of(request).store, body)
    wrote(request)
    return ok(out)


@router.post("/accounts/search", dependencies=[need(AR)])
async def search_accounts(body: s.AccountSearch, request: Request) -> JSONResponse:
    """Accounts whose domain contains the string."""
    return ok(crm.search_accounts(state_of(request).store, body))


@router.patch("/accounts/{account_id}", dependencies=[need(AW)])
async def update_account(account_id: UUID, body: s.AccountPatch, request: Request) -> JSONResponse:
    """Update an account."""
    out = crm.update_account(state_of(request).store, account_id, body)
    wrote(request)
    return ok(out)


@router.get("/accounts/{account_id}", dependencies=[need(AR)])
async def get_account(account_id: UUID, request: Request) -> JSONResponse:
    """Get an account."""
    return ok(crm.account_view(crm.get_account(state_of(request).store, account_id)))


@router.get("/contacts/{contact_id}", dependencies=[need(CR)])
async def get_contact(contact_id: UUID, request: Request) -> JSONResponse:
    """Get a contact with its owner, custom fields, account and opportunity links."""
    store = state_of(request).store
    return ok(crm.contact_view(store, crm.get_contact(store, contact_id)))


@router.post("/opportunities", dependencies=[need(OW)])
async def create_opportunity(body: s.OpportunityIn, request: Request) -> JSONResponse:
    """Create an opportunity on an existing account."""
    out = sales.create_opportunity(state_of(request).store, body)
    wrote(request)
    return ok(out)


@router.post("/opportunities/search", dependencies=[need(OR)])
async def search_opportunities(body: s.OpportunitySearch, request: Request) -> JSONResponse:
    """Search opportunities; every given filter must match."""
    return ok(sales.search_opportunities(state_of(request).store, body))


@router.patch("/opportunities/{opportunity_id}", dependencies=[need(OW)])
async def update_opportunity(
    opportunity_id: UUID, body: s.OpportunityPatch, request: Request
) -> JSONResponse:
    """Update an opportunity (never its stage)."""
    out = sales.update_opportunity(state_of(request).store, opportunity_id, body)
    wrote(request)
    return ok(out)


@router.get("/opportunities/{opportunity_id}", dependencies=[need(OR)])
async def get_opportunity(opportunity_id: UUID, request: Request) -> JSONResponse:
    """Get an opportunity."""
    return ok(
        sales.opportunity_view(sales.get_opportunity(state_of(request).store, opportunity_id))
    )


@router.post("/opportunities/{opportunity_id}/shift_stage", dependencies=[need(OW)])
async def shift_stage(opportunity_id: UUID, body: s.ShiftStageIn, request: Request) -> JSONResponse:
    """Move an opportunity to another stage of its pipeline."""
    out = sales.shift_stage(state_of(request).store, opportunity_id, body)
    wrote(request)
    return ok(out)


@router.post("/tasks", dependencies=[need(("tasks", "write"))])
async def create_task(body: s.TaskIn, request: Request) -> JSONResponse:
    """Create a task."""
    out = sales.create_task(state_of(request).store, body)
    wrote(request)
    return ok(out)


@router.post("/manual_activities", dependencies=[need(("activities", "write"))])
async def create_activity(body: s.ManualActivityIn, request: Request) -> JSONResponse:
    """Log a manual activity."""
    out = sales.create_activity(state_of(request).store, body)
    wrote(request)
    return ok(out)


@router.post("/users/search", dependencies=[need(("users", "read"))])
async def search_users(body: s.UserSearch, request: Request) -> JSONResponse:
    """Organisation users with this e-mail (a list)."""
    return ok(sales.search_users(state_of(request).store, body))


@router.post("/mailboxes/search", dependencies=[need(("mailboxes", "read"))])
async def search_mailboxes(body: s.MailboxSearch, request: Request) -> JSONResponse:
    """Mailboxes of one owner (a list)."""
    return ok(sales.search_mailboxes(state_of(request).store, body))


@router.post("/sequence_enrollments", dependencies=[need(("sequence_enrollments", "write"))])
async def enroll(body: s.EnrollmentIn, request: Request) -> JSONResponse:
    """Enroll one contact in a sequence."""
    st = state_of(request)
    out = sales.enroll(st.store, body, st.rng)
    wrote(request)
    return ok(out)


@router.get("/account_and_contact_retrieval", dependencies=[need(AR, CR)])
async def retrieval(
    request: Request,
    contact_email: Annotated[str | None, Query()] = None,
    account_domain: Annotated[str | None, Query()] = None,
    contact_phone_number: Annotated[str | None, Query()] = None,
) -> JSONResponse:
    """Account and contacts by exactly one exact-match identifier."""
    store = state_of(request).store
    return ok(crm.retrieve(store, contact_email, account_domain, contact_phone_number))
