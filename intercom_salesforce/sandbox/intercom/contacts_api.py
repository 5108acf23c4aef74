"""Contact endpoints: list, retrieve, create, update, search and the addressable sub-lists."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from intercom_salesforce.sandbox.intercom import versions
from intercom_salesforce.sandbox.intercom.custom_attributes import check_custom_attributes
from intercom_salesforce.sandbox.intercom.errors import (
    COMPANY_NOT_FOUND,
    NOT_FOUND,
    USER_NOT_FOUND,
    ApiError,
    json_response,
    text_response,
)
from intercom_salesforce.sandbox.intercom.paging import (
    Page,
    cursor_page,
    offset_pages,
    search_page,
)
from intercom_salesforce.sandbox.intercom.search import (
    DateRules,
    QueryCompiler,
    parse_per_page,
)
from intercom_salesforce.sandbox.intercom.search_fields import contact_resolver
from intercom_salesforce.sandbox.intercom.shapes import CONTACT_WRITABLE
from intercom_salesforce.sandbox.intercom.store import NotFound
from intercom_salesforce.sandbox.intercom.store.hydrate import list_text

if TYPE_CHECKING:
    from intercom_salesforce.sandbox.intercom.app import ApiContext, ApiRequest

LIST_DEFAULT_PER_PAGE = 10
"""``GET /contacts`` really returns 10 by default (Intercom-OpenAPI PR #639, reference §2.1)."""
SEARCH_DEFAULT_PER_PAGE = 50
COMPANY_LIMIT = 1000
"""A contact can be attached to at most 1000 companies (§2.2)."""


def _contact_or_404(ctx: ApiContext, contact_id: str) -> None:
    if not ctx.store.contact_exists(contact_id):
        raise ApiError(404, "not_found", USER_NOT_FOUND)


def list_contacts(ctx: ApiContext, req: ApiRequest) -> Response:
    """``GET /contacts``: cursor pages in creation order (oldest first; order unverified)."""
    per_page = parse_per_page(req.args.get("per_page"), LIST_DEFAULT_PER_PAGE)
    page = cursor_page(
        ctx.store,
        "contacts",
        "1 = 1",
        [],
        "contacts.created_at",
        True,
        per_page,
        req.args.get("starting_after") or None,
    )
    return _contact_list(ctx, page)


def _contact_list(ctx: ApiContext, page: Page) -> Response:
    """``{type: list, data, total_count, pages}`` with the contacts as stored text."""
    data = ctx.store.contact_bodies(page.ids)
    tail = {"total_count": page.total, "pages": page.pages}
    return text_response(200, list_text({"type": "list"}, "data", data, tail))


def search_contacts(ctx: ApiContext, req: ApiRequest) -> Response:
    """``POST /contacts/search``. Pagination comes from the body only: a ``starting_after`` in the
    query string is ignored and page 1 comes back (Community thread, reference §2.3)."""
    body = req.body
    if not isinstance(body, dict) or "query" not in body:
        raise ApiError(400, "parameter_not_found", "query parameter is required", "query")
    exact = ctx.config.search_date_mode == "exact" or req.preview
    rules = DateRules("exact" if exact else "day", ctx.tz)
    resolver = contact_resolver(ctx.store.custom_attribute_types("contact"))
    where, params = QueryCompiler(resolver, rules).compile(body["query"])
    if ctx.config.search_index_delay_s > 0:
        # "Contact Creation Delay": new contacts reach search only after a while.
        where = f"({where}) AND contacts.created_at <= ?"
        params.append(int(ctx.clock() - ctx.config.search_index_delay_s))
    page = search_page(
        ctx.store, "contacts", body, resolver, where, params, SEARCH_DEFAULT_PER_PAGE
    )
    response = _contact_list(ctx, page)
    _mutate_while_paging(ctx, "contacts", where, params)
    return response


def _mutate_while_paging(ctx: ApiContext, table: str, where: str, params: list[Any]) -> None:
    """Fault: bump ``updated_at`` of a few matching records after serving a page, so the result
    set shifts under a paging client (Airbyte #26301, reference §8c)."""
    fc = ctx.faults.config
    if not fc.mutate_while_paging or fc.mutate_per_page <= 0:
        return
    ids = ctx.store.sample_ids(
        table, where, params, fc.mutate_per_page, ctx.faults.next_mutation_seed()
    )
    ctx.store.touch(table, ids, ctx.now())


def get_contact(ctx: ApiContext, req: ApiRequest, contact_id: str) -> Response:
    found = ctx.store.contact_bodies([contact_id], single=True)
    if not found:
        raise ApiError(404, "not_found", USER_NOT_FOUND)
    return text_response(200, found[0])


def find_by_external_id(ctx: ApiContext, req: ApiRequest, external_id: str) -> Response:
    contact = ctx.store.find_contact_by_external_id(external_id)
    if contact is None:
        raise ApiError(404, "not_found", USER_NOT_FOUND)
    return json_response(200, contact)


def _writable_fields(body: Any, version: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "parameter_invalid", "Request body must be a JSON object")
    fields = {k: v for k, v in body.items() if k in CONTACT_WRITABLE}
    if "owner_id" in fields:
        fields["owner_id"] = versions.owner_id_in(version, fields["owner_id"])
    role = fields.get("role")
    if role is not None and role not in ("user", "lead"):
        raise ApiError(400, "parameter_invalid", f"Invalid role '{role}'", "role")
    for key in ("signed_up_at", "last_seen_at", "owner_id"):
        value = fields.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ApiError(400, "parameter_invalid", f"{key} must be an integer", key)
    return fields


def _check_custom(ctx: ApiContext, fields: dict[str, Any]) -> None:
    """Custom attributes checked against the workspace's contact attributes
    (``custom_attributes.py``)."""
    if "custom_attributes" in fields:
        check_custom_attributes(
            fields["custom_attributes"], ctx.store.custom_attribute_types("contact")
        )


def _conflict(ctx: ApiContext, fields: dict[str, Any], exclude: str | None = None) -> None:
    """Users are unique by external_id and by email: a duplicate is a 409 naming the holder."""
    checks = []
    if fields.get("external_id"):
        checks.append(("external_id = ?", fields["external_id"]))
    if fields.get("email") and fields.get("role", "user") == "user":
        checks.append(("email = ? COLLATE NOCASE AND role = 'user'", fields["email"]))
    for cond, value in checks:
        rows = ctx.store.query(
            f"SELECT id FROM contacts WHERE {cond} AND id != ? LIMIT 1",  # noqa: S608
            (value, exclude or ""),
        )
        if rows:
            raise ApiError(
                409,
                "conflict",
                f"A contact matching those details already exists with id={rows[0][0]}",
            )


def create_contact(ctx: ApiContext, req: ApiRequest) -> Response:
    """``POST /contacts``: needs at least one of email, external_id or role."""
    fields = _writable_fields(req.body, req.version)
    _check_custom(ctx, fields)
    if not any(fields.get(k) for k in ("email", "external_id", "role")):
        raise ApiError(400, "parameter_invalid", "Either email, external_id or role is required")
    _conflict(ctx, fields)
    now = ctx.now()
    contact = ctx.store.create_contact(**fields, created_at=now, updated_at=now)
    return json_response(200, contact)


def update_contact(ctx: ApiContext, req: ApiRequest, contact_id: str) -> Response:
    """``PUT /contacts/{id}``: merges fields and custom attributes (``null`` clears one, the others
    stay) and moves ``updated_at`` on every successful update, as the reference's checklist has
    it. An unknown contact is 404 before the body's attributes are judged. The emulator sends no
    webhooks of its own (``webhooks.py`` only builds and signs deliveries), so none fires here."""
    fields = _writable_fields(req.body, req.version)
    _contact_or_404(ctx, contact_id)
    _check_custom(ctx, fields)
    _conflict(ctx, fields, exclude=contact_id)
    try:
        contact = ctx.store.update_contact(contact_id, **fields, updated_at=ctx.now())
    except NotFound:
        raise ApiError(404, "not_found", USER_NOT_FOUND) from None
    return json_response(200, contact)


def _page_args(req: ApiRequest, default: int) -> tuple[int, int]:
    per_page = parse_per_page(req.args.get("per_page"), default)
    try:
        page = max(1, int(req.args.get("page", 1)))
    except ValueError:
        raise ApiError(400, "parameter_invalid", "page must be an integer", "page") from None
    return page, per_page


def contact_companies(ctx: ApiContext, req: ApiRequest, contact_id: str) -> Response:
    """All companies of a contact (the embedded list stops at 10). The recorded example answers
    with ``data`` (the schema names the array ``companies``); the example is followed."""
    _contact_or_404(ctx, contact_id)
    page, per_page = _page_args(req, 50)
    ids = ctx.store.link_ids(contact_id, "companies")
    chunk = ids[(page - 1) * per_page : page * per_page]
    return json_response(
        200,
        {
            "type": "list",
            "data": ctx.store.companies_by_ids(chunk),
            "pages": offset_pages(page, per_page, len(ids)),
            "total_count": len(ids),
        },
    )


def attach_company(ctx: ApiContext, req: ApiRequest, contact_id: str) -> Response:
    """``POST /contacts/{id}/companies {"id"}`` with the documented errors (§3.3)."""
    _contact_or_404(ctx, contact_id)
    body = req.body if isinstance(req.body, dict) else {}
    company_id = body.get("id")
    if not company_id:
        raise ApiError(400, "parameter_not_found", "company not specified")
    company_id = str(company_id)
    if ctx.store.get_company(company_id) is None:
        raise ApiError(404, "company_not_found", COMPANY_NOT_FOUND)
    existing = ctx.store.link_ids(contact_id, "companies")
    if company_id not in existing and len(existing) >= COMPANY_LIMIT:
        raise ApiError(
            400,
            "contact_company_limit_exceeded",
            "Contact has reached the maximum of 1000 company associations",
        )
    if ctx.store.add_contact_link(contact_id, "companies", company_id):
        ctx.store.touch("contacts", [contact_id], ctx.now())
    return json_response(200, ctx.store.get_company(company_id))


def _tag_doc(ctx: ApiContext, tag_id: str) -> dict[str, Any]:
    tag = ctx.store.get_doc("tags", tag_id) or {"type": "tag", "id": tag_id, "name": ""}
    return {"type": "tag", "id": tag["id"], "name": tag.get("name") or ""}


def _tagging_admin(ctx: ApiContext, contact: dict[str, Any]) -> str:
    """Who tagged a seeded contact: its owner when it has one, else the workspace's first admin
    (seeds carry tag ids only)."""
    if contact.get("owner_id") is not None:
        return str(contact["owner_id"])
    admins = ctx.store.all_docs("admins")
    return admins[0]["id"] if admins else "0"


def contact_tags(ctx: ApiContext, req: ApiRequest, contact_id: str) -> Response:
    """The contact's tags with ``applied_at``/``applied_by``, as the recorded example shows them:
    recorded for tags applied through the API, the contact's creation for seeded ones."""
    contact = ctx.store.get_contact(contact_id, single=False)
    if contact is None:
        raise ApiError(404, "not_found", USER_NOT_FOUND)
    taggings = ctx.store.taggings(contact_id)
    seeded = (contact["created_at"], _tagging_admin(ctx, contact))
    tags = []
    for tag_id in ctx.store.link_ids(contact_id, "tags"):
        applied_at, admin_id = taggings.get(tag_id, seeded)
        tags.append(
            {
                **_tag_doc(ctx, tag_id),
                "applied_at": applied_at,
                "applied_by": {"type": "admin", "id": admin_id},
            }
        )
    return json_response(200, {"type": "list", "data": tags})


def tag_contact(ctx: ApiContext, req: ApiRequest, contact_id: str) -> Response:
    """``POST /contacts/{id}/tags {"id"}`` → the tag with ``applied_at``/``applied_by``."""
    _contact_or_404(ctx, contact_id)
    body = req.body if isinstance(req.body, dict) else {}
    tag_id = body.get("id")
    if tag_id is None:
        raise ApiError(400, "parameter_not_found", "tag not specified", "id")
    tag_id = str(tag_id)
    if ctx.store.get_doc("tags", tag_id) is None:
        raise ApiError(404, "not_found", NOT_FOUND)
    now = ctx.now()
    admins = ctx.store.all_docs("admins")
    applied_by = {"type": "admin", "id": admins[0]["id"] if admins else "0"}
    if ctx.store.add_contact_link(contact_id, "tags", tag_id):
        ctx.store.record_tagging(contact_id, tag_id, now, applied_by["id"])
        ctx.store.touch("contacts", [contact_id], now)
    return json_response(
        200, {**_tag_doc(ctx, tag_id), "applied_at": now, "applied_by": applied_by}
    )


def untag_contact(ctx: ApiContext, req: ApiRequest, contact_id: str, tag_id: str) -> Response:
    """``DELETE /contacts/{id}/tags/{tag_id}`` → the removed tag with when and by whom it had been
    applied (the 2.14 example). Unknown contact: 404 "User Not Found"; unknown tag, or a tag the
    contact does not carry: 404 "Resource Not Found" (the description documents only the unknown
    tag; that a tag not applied is refused alike is this emulator's reading, since the answer
    describes the tagging being removed). Detaching moves the contact's ``updated_at``, as tagging
    does (``tag_contact``): the contact changed, and an incremental reader must see it."""
    contact = ctx.store.get_contact(contact_id, single=False)
    if contact is None:
        raise ApiError(404, "not_found", USER_NOT_FOUND)
    if ctx.store.get_doc("tags", tag_id) is None:
        raise ApiError(404, "not_found", NOT_FOUND)
    applied_at, admin_id = ctx.store.taggings(contact_id).get(
        tag_id, (contact["created_at"], _tagging_admin(ctx, contact))
    )
    if not ctx.store.remove_contact_link(contact_id, "tags", tag_id):
        raise ApiError(404, "not_found", NOT_FOUND)
    ctx.store.touch("contacts", [contact_id], ctx.now())
    return json_response(
        200,
        {
            **_tag_doc(ctx, tag_id),
            "applied_at": applied_at,
            "applied_by": {"type": "admin", "id": admin_id},
        },
    )


def contact_notes(ctx: ApiContext, req: ApiRequest, contact_id: str) -> Response:
    """Notes are seeded as ids only, so each note carries the contact and an empty body."""
    contact = ctx.store.get_contact(contact_id, single=False)
    if contact is None:
        raise ApiError(404, "not_found", USER_NOT_FOUND)
    page, per_page = _page_args(req, 50)
    ids = ctx.store.link_ids(contact_id, "notes")
    chunk = ids[(page - 1) * per_page : page * per_page]
    notes = [
        {
            "type": "note",
            "id": note_id,
            "created_at": contact["created_at"],
            "contact": {"type": "contact", "id": contact_id},
            "author": None,
            "body": "",
        }
        for note_id in chunk
    ]
    pages = {
        "type": "pages",
        "next": None,
        "page": page,
        "per_page": per_page,
        "total_pages": math.ceil(len(ids) / per_page),
    }
    return json_response(
        200, {"type": "list", "data": notes, "total_count": len(ids), "pages": pages}
    )


def contact_segments(ctx: ApiContext, req: ApiRequest, contact_id: str) -> Response:
    _contact_or_404(ctx, contact_id)
    segments = []
    for seg_id in ctx.store.link_ids(contact_id, "segments"):
        seg = ctx.store.get_doc("segments", seg_id)
        if seg is not None:
            seg.pop("count", None)
            segments.append(seg)
    return json_response(200, {"type": "list", "data": segments})


ROUTES = [
    ("/contacts", ["GET"], list_contacts),
    ("/contacts", ["POST"], create_contact),
    ("/contacts/search", ["POST"], search_contacts),
    ("/contacts/find_by_external_id/<path:external_id>", ["GET"], find_by_external_id),
    ("/contacts/<contact_id>", ["GET"], get_contact),
    ("/contacts/<contact_id>", ["PUT"], update_contact),
    ("/contacts/<contact_id>/companies", ["GET"], contact_companies),
    ("/contacts/<contact_id>/companies", ["POST"], attach_company),
    ("/contacts/<contact_id>/tags", ["GET"], contact_tags),
    ("/contacts/<contact_id>/tags", ["POST"], tag_contact),
    ("/contacts/<contact_id>/tags/<tag_id>", ["DELETE"], untag_contact),
    ("/contacts/<contact_id>/notes", ["GET"], contact_notes),
    ("/contacts/<contact_id>/segments", ["GET"], contact_segments),
]
