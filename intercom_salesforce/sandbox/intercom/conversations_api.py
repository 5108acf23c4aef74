"""Conversation endpoints: list, search and retrieve with parts (reference §4.1)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from intercom_salesforce.sandbox.intercom.contacts_api import _mutate_while_paging
from intercom_salesforce.sandbox.intercom.errors import (
    NOT_FOUND,
    ApiError,
    json_response,
    text_response,
)
from intercom_salesforce.sandbox.intercom.paging import Page, cursor_page, search_page
from intercom_salesforce.sandbox.intercom.search import (
    DateRules,
    QueryCompiler,
    parse_per_page,
)
from intercom_salesforce.sandbox.intercom.search_fields import conversation_resolver
from intercom_salesforce.sandbox.intercom.store.hydrate import list_text

if TYPE_CHECKING:
    from intercom_salesforce.sandbox.intercom.app import ApiContext, ApiRequest

DEFAULT_PER_PAGE = 20
_TAG_RE = re.compile(r"<[^>]+>")


def _list_body(ctx: ApiContext, page: Page) -> Response:
    """``{type: conversation.list, pages, total_count, conversations}``, conversations as stored."""
    head = {"type": "conversation.list", "pages": page.pages, "total_count": page.total}
    items = ctx.store.conversation_bodies(page.ids)
    return text_response(200, list_text(head, "conversations", items, {}))


def list_conversations(ctx: ApiContext, req: ApiRequest) -> Response:
    """``GET /conversations``: newest activity first; the cursor's sort value is ``updated_at`` in
    milliseconds, as in the cursor seen in public issues (``[1670251580000, id, 3]``)."""
    per_page = parse_per_page(req.args.get("per_page"), DEFAULT_PER_PAGE)
    page = cursor_page(
        ctx.store,
        "conversations",
        "1 = 1",
        [],
        "conversations.updated_at * 1000",
        False,
        per_page,
        req.args.get("starting_after") or None,
    )
    return _list_body(ctx, page)


def search_conversations(ctx: ApiContext, req: ApiRequest) -> Response:
    """``POST /conversations/search``: same DSL and limits as contacts. Timestamps compare to the
    second; ``config.conversation_search_gt_inclusive`` reads ``>``/``<`` as "or equal", as the
    operator table words it (unverified)."""
    body = req.body
    if not isinstance(body, dict) or "query" not in body:
        raise ApiError(400, "parameter_not_found", "query parameter is required", "query")
    mode = "inclusive" if ctx.config.conversation_search_gt_inclusive else "exact"
    resolver = conversation_resolver()
    where, params = QueryCompiler(resolver, DateRules(mode, ctx.tz)).compile(body["query"])
    page = search_page(ctx.store, "conversations", body, resolver, where, params, DEFAULT_PER_PAGE)
    response = _list_body(ctx, page)
    _mutate_while_paging(ctx, "conversations", where, params)
    return response


def _plaintext(value: Any) -> Any:
    return _TAG_RE.sub("", value) if isinstance(value, str) else value


def get_conversation(ctx: ApiContext, req: ApiRequest, conversation_id: str) -> Response:
    """Full conversation with at most the 500 most recent parts; ``total_count`` and
    ``statistics.count_conversation_parts`` keep the true number (§4.1)."""
    text = ctx.store.conversation_text(conversation_id)
    if text is None:
        raise ApiError(404, "not_found", NOT_FOUND)
    if req.args.get("display_as") != "plaintext":
        return text_response(200, text)
    conversation = json.loads(text)
    conversation["source"]["body"] = _plaintext(conversation["source"].get("body"))
    for part in conversation["conversation_parts"]["conversation_parts"]:
        part["body"] = _plaintext(part.get("body"))
    return json_response(200, conversation)


ROUTES = [
    ("/conversations", ["GET"], list_conversations),
    ("/conversations/search", ["POST"], search_conversations),
    ("/conversations/<conversation_id>", ["GET"], get_conversation),
]
