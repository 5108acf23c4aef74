"""Company endpoints: retrieve/filter, list (10,000 cap), scroll (one per app), contacts, segments.

Scroll rules (reference §3.1): one open scroll per app, a second one is ``400 scroll_exists``;
a scroll idle for 60 s expires; the end is an empty page after which the param expires; an
expired or unknown param is 404 (clients use it to stop); a network failure is a 500 that forces a
restart from scratch.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from intercom_salesforce.sandbox.intercom.custom_attributes import check_custom_attributes
from intercom_salesforce.sandbox.intercom.errors import (
    COMPANY_NOT_FOUND,
    SCROLL_EXISTS,
    SCROLL_NETWORK_ERROR,
    ApiError,
    json_response,
)
from intercom_salesforce.sandbox.intercom.paging import offset_pages
from intercom_salesforce.sandbox.intercom.search import parse_per_page

if TYPE_CHECKING:
    from intercom_salesforce.sandbox.intercom.app import ApiContext, ApiRequest


@dataclass
class ScrollState:
    """The app's one open company scroll."""

    param: str
    last_id: str | None
    last_used: float
    pages_served: int = 0


LIST_DEFAULT_PER_PAGE = 15
COMPANY_CONTACTS_PER_PAGE = 50
_HAS_USERS = (
    "EXISTS (SELECT 1 FROM contact_links l JOIN contacts c ON c.id = l.contact_id "
    "WHERE l.kind = 'companies' AND l.target_id = companies.id AND c.role = 'user')"
)


def _page_args(req: ApiRequest, default: int) -> tuple[int, int]:
    per_page = parse_per_page(req.args.get("per_page"), default, maximum=60)
    try:
        page = int(req.args.get("page", 1))
    except ValueError:
        raise ApiError(400, "parameter_invalid", "page must be an integer", "page") from None
    if page < 1:
        raise ApiError(400, "parameter_invalid", "page must be a positive integer", "page")
    return page, per_page


def _company_list(
    ctx: ApiContext, where: str, params: list, order: str, page: int, per_page: int
) -> dict:
    offset = (page - 1) * per_page
    ids, total = ctx.store.company_page(where, params, order, offset, per_page)
    return {
        "type": "list",
        "data": ctx.store.companies_by_ids(ids),
        "pages": offset_pages(page, per_page, total, lambda p: {"page": p, "starting_after": None}),
        "total_count": total,
    }


def retrieve_companies(ctx: ApiContext, req: ApiRequest) -> Response:
    """``GET /companies?company_id=|name=`` returns that company (or 404 ``company_not_found``);
    ``?tag_id=|segment_id=`` (or nothing) returns a page-numbered list."""
    args = req.args
    if "company_id" in args or "name" in args:
        if "company_id" in args:
            found = ctx.store.find_company(company_id=args["company_id"])
        else:
            found = ctx.store.find_company(name=args["name"])
        if found is None:
            raise ApiError(404, "company_not_found", COMPANY_NOT_FOUND)
        return json_response(200, ctx.store.get_company(found))
    page, per_page = _page_args(req, LIST_DEFAULT_PER_PAGE)
    where, params = "1 = 1", []
    for arg, kind in (("tag_id", "tags"), ("segment_id", "segments")):
        if args.get(arg):
            where += (
                " AND EXISTS (SELECT 1 FROM company_links cl WHERE cl.company_id = companies.id "
                f"AND cl.kind = '{kind}' AND cl.target_id = ?)"
            )
            params.append(args[arg])
    return json_response(
        200,
        _company_list(
            ctx, where, params, "companies.created_at DESC, companies.id DESC", page, per_page
        ),
    )


def list_companies(ctx: ApiContext, req: ApiRequest) -> Response:
    """``POST /companies/list``: sorted by ``last_request_at`` (default desc), companies without
    users are left out, and only the first 10,000 can be paged (§3.1; error text unverified)."""
    page, per_page = _page_args(req, LIST_DEFAULT_PER_PAGE)
    order = (req.args.get("order") or "desc").lower()
    if order not in ("asc", "desc"):
        raise ApiError(400, "parameter_invalid", "order must be asc or desc", "order")
    if (page - 1) * per_page >= ctx.config.companies_paging_cap:
        raise ApiError(400, "bad_request", "page limit reached, please use scroll API")
    direction = order.upper()
    sort = f"COALESCE(companies.last_request_at, 0) {direction}, companies.id {direction}"
    return json_response(200, _company_list(ctx, _HAS_USERS, [], sort, page, per_page))


def scroll_companies(ctx: ApiContext, req: ApiRequest) -> Response:
    """``GET /companies/scroll[?scroll_param=]`` → ``{type:list, data, pages:null,
    total_count:null, scroll_param}``; fixed page size (``config.scroll_page_size``)."""
    now = ctx.clock()
    param = req.args.get("scroll_param")
    with ctx.scroll_lock:
        state = ctx.scroll
        if state is not None and now - state.last_used >= ctx.config.scroll_idle_expiry_s:
            ctx.scroll = state = None
        if param is None:
            if state is not None:
                raise ApiError(400, "scroll_exists", SCROLL_EXISTS)
            state = ScrollState(param=str(uuid.uuid4()), last_id=None, last_used=now)
            ctx.scroll = state
        elif state is None or state.param != param:
            raise ApiError(404, "not_found", "scroll parameter not found")
        if ctx.faults.scroll_500(state.pages_served):
            ctx.scroll = None
            raise ApiError(500, "server_error", SCROLL_NETWORK_ERROR)
        where, params = "1 = 1", []
        if state.last_id is not None:
            where, params = "companies.id > ?", [state.last_id]
        ids, _ = ctx.store.company_page(
            where, params, "companies.id ASC", 0, ctx.config.scroll_page_size, count=False
        )
        state.pages_served += 1
        state.last_used = now
        if ids:
            state.last_id = ids[-1]
        else:
            # The empty page ends the scroll; its param is dead from now on.
            ctx.scroll = None
        body = {
            "type": "list",
            "data": ctx.store.companies_by_ids(ids),
            "pages": None,
            "total_count": None,
            "scroll_param": state.param,
        }
    return json_response(200, body)


def get_company(ctx: ApiContext, req: ApiRequest, company_id: str) -> Response:
    company = ctx.store.get_company(company_id)
    if company is None:
        raise ApiError(404, "company_not_found", COMPANY_NOT_FOUND)
    return json_response(200, company)


def company_contacts(ctx: ApiContext, req: ApiRequest, company_id: str) -> Response:
    """``GET /companies/{id}/contacts``: contacts in pages of 50 (recorded example)."""
    if ctx.store.get_company(company_id) is None:
        raise ApiError(404, "company_not_found", COMPANY_NOT_FOUND)
    page, per_page = _page_args(req, COMPANY_CONTACTS_PER_PAGE)
    ids, total = ctx.store.company_contact_ids(company_id, (page - 1) * per_page, per_page)
    pages = offset_pages(page, per_page, total)
    del pages["next"]
    return json_response(
        200,
        {
            "type": "list",
            "data": ctx.store.contacts_by_ids(ids),
            "total_count": total,
            "pages": pages,
        },
    )


def company_segments(ctx: ApiContext, req: ApiRequest, company_id: str) -> Response:
    company = ctx.store.get_company(company_id)
    if company is None:
        raise ApiError(404, "company_not_found", COMPANY_NOT_FOUND)
    return json_response(200, {"type": "list", "data": company["segments"]["segments"]})


#: Fields each company write takes (``create_or_update_company_request``,
#: ``update_company_request``): ``company_id`` is set once, on creation, and never changes.
UPDATE_FIELDS = frozenset(
    {"name", "plan", "size", "website", "industry", "custom_attributes", "monthly_spend"}
)
CREATE_FIELDS = UPDATE_FIELDS | {"company_id", "remote_created_at"}
_STRINGS = ("name", "plan", "website", "industry", "company_id")
_INTEGERS = ("size", "remote_created_at")


def _company_fields(ctx: ApiContext, body: Any, allowed: frozenset[str]) -> dict[str, Any]:
    """The write's fields, checked: a field the operation does not take is ``400 bad_request``
    "bad '<name>' parameter" (the documented example), custom attributes must be described for
    companies (``custom_attributes.py``), and ``monthly_spend`` keeps its whole part ("this will
    truncate floats")."""
    if not isinstance(body, dict):
        raise ApiError(400, "parameter_invalid", "Request body must be a JSON object")
    for key in body:
        if key not in allowed:
            raise ApiError(400, "bad_request", f"bad '{key}' parameter")
    fields = dict(body)
    for key in _STRINGS:
        if fields.get(key) is not None and not isinstance(fields[key], str):
            raise ApiError(400, "parameter_invalid", f"{key} must be a string", key)
    for key in _INTEGERS:
        value = fields.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ApiError(400, "parameter_invalid", f"{key} must be an integer", key)
    spend = fields.get("monthly_spend")
    if spend is not None:
        if isinstance(spend, bool) or not isinstance(spend, int | float):
            raise ApiError(400, "parameter_invalid", "monthly_spend must be a number")
        fields["monthly_spend"] = int(spend)
    check_custom_attributes(
        fields.get("custom_attributes"), ctx.store.custom_attribute_types("company")
    )
    if fields.get("plan") is not None:
        fields["plan"] = ctx.store.plan_named(fields["plan"])
    return fields


def create_or_update_company(ctx: ApiContext, req: ApiRequest) -> Response:
    """``POST /companies``: the company with this ``company_id`` is updated, or created when
    there is none. A create without ``company_id`` is refused (``400 parameter_not_found``; the
    description does not say what Intercom answers, so this is the emulator's choice). A new
    company has no users yet, so ``POST /companies/list`` leaves it out until one is attached."""
    fields = _company_fields(ctx, req.body, CREATE_FIELDS)
    key = fields.get("company_id")
    if not key:
        raise ApiError(400, "parameter_not_found", "company_id not specified", "company_id")
    found = ctx.store.find_company(company_id=key)
    now = ctx.now()
    if found is not None:
        fields.pop("company_id")
        ctx.store.update_company(found, fields, now)
        return json_response(200, ctx.store.get_company(found))
    created = ctx.store.create_company(
        **fields, created_at=now, updated_at=now, last_request_at=None
    )
    return json_response(200, created)


def update_company(ctx: ApiContext, req: ApiRequest, company_id: str) -> Response:
    """``PUT /companies/{id}`` (Intercom's id): merges the fields and moves ``updated_at``;
    ``company_id`` cannot be changed, so sending it is a bad parameter."""
    if ctx.store.get_company(company_id) is None:
        raise ApiError(404, "company_not_found", COMPANY_NOT_FOUND)
    fields = _company_fields(ctx, req.body, UPDATE_FIELDS)
    ctx.store.update_company(company_id, fields, ctx.now())
    return json_response(200, ctx.store.get_company(company_id))


ROUTES = [
    ("/companies", ["POST"], create_or_update_company),
    ("/companies/<company_id>", ["PUT"], update_company),
    ("/companies", ["GET"], retrieve_companies),
    ("/companies/list", ["POST"], list_companies),
    ("/companies/scroll", ["GET"], scroll_companies),
    ("/companies/<company_id>", ["GET"], get_company),
    ("/companies/<company_id>/contacts", ["GET"], company_contacts),
    ("/companies/<company_id>/segments", ["GET"], company_segments),
]
