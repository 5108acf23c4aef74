"""Workspace endpoints: /me, admins, teams, tags, segments, data attributes, events."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from intercom_salesforce.sandbox.intercom.errors import NOT_FOUND, ApiError, json_response
from intercom_salesforce.sandbox.intercom.search import parse_per_page
from intercom_salesforce.sandbox.intercom.store.events import EventContact

if TYPE_CHECKING:
    from intercom_salesforce.sandbox.intercom.app import ApiContext, ApiRequest

DEFAULT_ADMIN = {
    "type": "admin",
    "id": "1",
    "name": "Sandbox Admin",
    "email": "admin@sandbox.example",
    "job_title": "Admin",
    "away_mode_enabled": False,
    "away_mode_reassign": False,
    "has_inbox_seat": True,
    "team_ids": [],
    "avatar": None,
}
_ATTRIBUTE_NAME = re.compile(r"^[\w \-$€£¥₹¢]+$")
_MODEL_WORD = {"contact": "people", "company": "company"}
_DATA_TYPES = ("string", "integer", "float", "boolean", "datetime", "date", "options")


def _std(
    model: str, name: str, label: str, data_type: str, api_writable: bool = False
) -> dict[str, Any]:
    return {
        "type": "data_attribute",
        "name": name.rsplit(".", 1)[-1],
        "full_name": name,
        "label": label,
        "description": label,
        "data_type": data_type,
        "api_writable": api_writable,
        "ui_writable": False,
        "messenger_writable": False,
        "custom": False,
        "archived": False,
        "model": model,
    }


#: Standard attributes (identified by ``full_name``; only custom ones carry an ``id``, §5).
STANDARD_ATTRIBUTES: dict[str, list[dict[str, Any]]] = {
    "contact": [
        _std("contact", "name", "Name", "string", True),
        _std("contact", "email", "Email", "string", True),
        _std("contact", "phone", "Phone", "string", True),
        _std("contact", "external_id", "User ID", "string", True),
        _std("contact", "role", "Role", "string"),
        _std("contact", "owner_id", "Owner", "integer", True),
        _std("contact", "created_at", "Created at", "date"),
        _std("contact", "updated_at", "Updated at", "date"),
        _std("contact", "signed_up_at", "Signed up", "date", True),
        _std("contact", "last_seen_at", "Last seen", "date", True),
        _std("contact", "last_contacted_at", "Last contacted", "date"),
        _std("contact", "last_replied_at", "Last heard from", "date"),
        _std("contact", "unsubscribed_from_emails", "Unsubscribed from emails", "boolean", True),
        _std("contact", "location.country", "Country", "string"),
        _std("contact", "location.city", "City", "string"),
        _std("contact", "companies", "Companies", "string"),
        _std("contact", "tags", "Tags", "string"),
    ],
    "company": [
        _std("company", "name", "Company name", "string", True),
        _std("company", "company_id", "Company ID", "string"),
        _std("company", "last_request_at", "Company last seen", "date"),
        _std("company", "remote_created_at", "Company created at", "date", True),
        _std("company", "user_count", "People", "integer"),
        _std("company", "session_count", "Company web sessions", "integer"),
        _std("company", "plan.name", "Plan", "string", True),
        _std("company", "monthly_spend", "Monthly Spend", "float", True),
        _std("company", "size", "Company size", "integer", True),
        _std("company", "industry", "Company industry", "string", True),
        _std("company", "website", "Company website", "string", True),
    ],
    "conversation": [],
}


def _admin(doc: dict[str, Any]) -> dict[str, Any]:
    """Admin as ``/admins`` returns it: ``avatar`` is a URL string there (``admin`` schema)."""
    out = {**DEFAULT_ADMIN, **doc}
    avatar = out.get("avatar")
    if isinstance(avatar, dict):
        out["avatar"] = avatar.get("image_url")
    return out


def _me_admin(ctx: ApiContext) -> dict[str, Any]:
    admins = ctx.store.all_docs("admins")
    return _admin(admins[0]) if admins else dict(DEFAULT_ADMIN)


def me(ctx: ApiContext, req: ApiRequest) -> Response:
    """``GET /me``: the admin, with every field ``admin_with_app`` documents, plus ``app`` with
    the workspace id, region and **timezone** that contact-search day boundaries use (§1, §2.4)."""
    admin = _me_admin(ctx)
    app_info = ctx.store.app_info()
    cfg = ctx.config
    body = {
        "type": "admin",
        "id": admin["id"],
        "email": admin["email"],
        "name": admin["name"],
        "job_title": admin["job_title"],
        "away_mode_enabled": admin["away_mode_enabled"],
        "away_mode_reassign": admin["away_mode_reassign"],
        "team_ids": admin["team_ids"],
        "email_verified": True,
        "app": {
            "type": "app",
            "id_code": cfg.app_id,
            "name": cfg.app_name,
            "created_at": int(app_info.get("created_at") or cfg.app_created_at),
            "secure": False,
            "identity_verification": False,
            "timezone": cfg.timezone,
            "region": cfg.region,
        },
        "avatar": {"type": "avatar", "image_url": admin.get("avatar")},
        "has_inbox_seat": admin["has_inbox_seat"],
    }
    return json_response(200, body)


def list_admins(ctx: ApiContext, req: ApiRequest) -> Response:
    admins = [_admin(a) for a in ctx.store.all_docs("admins")]
    return json_response(200, {"type": "admin.list", "admins": admins})


def get_admin(ctx: ApiContext, req: ApiRequest, admin_id: str) -> Response:
    doc = ctx.store.get_doc("admins", admin_id)
    if doc is None:
        raise ApiError(404, "admin_not_found", "Admin not found")
    return json_response(200, _admin(doc))


def list_teams(ctx: ApiContext, req: ApiRequest) -> Response:
    return json_response(200, {"type": "team.list", "teams": ctx.store.all_docs("teams")})


def get_team(ctx: ApiContext, req: ApiRequest, team_id: str) -> Response:
    doc = ctx.store.get_doc("teams", team_id)
    if doc is None:
        raise ApiError(404, "team_not_found", "Team not found")
    return json_response(200, doc)


def _tag(doc: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tag", "id": doc["id"], "name": doc.get("name") or ""}


def list_tags(ctx: ApiContext, req: ApiRequest) -> Response:
    return json_response(
        200, {"type": "list", "data": [_tag(t) for t in ctx.store.all_docs("tags")]}
    )


def get_tag(ctx: ApiContext, req: ApiRequest, tag_id: str) -> Response:
    doc = ctx.store.get_doc("tags", tag_id)
    if doc is None:
        raise ApiError(404, "not_found", NOT_FOUND)
    return json_response(200, _tag(doc))


def _segment(ctx: ApiContext, doc: dict[str, Any], include_count: bool) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k != "count"}
    if include_count:
        out["count"] = doc.get("count", ctx.store.segment_count(doc["id"]))
    return out


def list_segments(ctx: ApiContext, req: ApiRequest) -> Response:
    include_count = req.args.get("include_count") == "true"
    segments = [_segment(ctx, s, include_count) for s in ctx.store.all_docs("segments")]
    return json_response(200, {"type": "segment.list", "segments": segments, "pages": {}})


def get_segment(ctx: ApiContext, req: ApiRequest, segment_id: str) -> Response:
    doc = ctx.store.get_doc("segments", segment_id)
    if doc is None:
        raise ApiError(404, "not_found", NOT_FOUND)
    return json_response(200, _segment(ctx, doc, req.args.get("include_count") == "true"))


def list_data_attributes(ctx: ApiContext, req: ApiRequest) -> Response:
    """``GET /data_attributes?model=contact|company|conversation[&include_archived=true]``."""
    model = req.args.get("model")
    if model is not None and model not in STANDARD_ATTRIBUTES:
        raise ApiError(400, "parameter_invalid", f"Model '{model}' isn't an option", "model")
    include_archived = req.args.get("include_archived") == "true"
    models = [model] if model else list(STANDARD_ATTRIBUTES)
    data: list[dict[str, Any]] = []
    for m in models:
        data.extend(STANDARD_ATTRIBUTES[m])
        stored = ctx.store.data_attributes(m, include_archived)
        data.extend({k: v for k, v in d.items() if k != "seq"} for d in stored)
    return json_response(200, {"type": "list", "data": data})


def _check_attribute_name(ctx: ApiContext, model: str, name: Any) -> str:
    """A new attribute's name: present, of the allowed characters (so no dots), not a standard
    attribute's and not taken by a custom one of either model, with Intercom's messages (the 2.14
    examples; the standard-attribute message from Intercom's "Create data attributes" page)."""
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "parameter_not_found", "Name is required", "name")
    if not _ATTRIBUTE_NAME.match(name):
        raise ApiError(
            400,
            "parameter_invalid",
            "Your name for this attribute must only contain alphanumeric characters, currency "
            "symbols, and hyphens",
        )
    wanted = _MODEL_WORD[model]
    for other, attrs in STANDARD_ATTRIBUTES.items():
        if other in _MODEL_WORD and any(a["name"].lower() == name.lower() for a in attrs):
            raise ApiError(
                400,
                "parameter_invalid",
                f"'{name}' is one of our standard attributes for your {_MODEL_WORD[other]} data. "
                f"To save this as new {wanted} data, use a different name.",
            )
    for existing in ctx.store.data_attributes(None, include_archived=True):
        if existing["name"].lower() == name.lower() and existing["model"] in _MODEL_WORD:
            raise ApiError(
                400,
                "parameter_invalid",
                f"You already have '{name}' in your {_MODEL_WORD[existing['model']]} data. To save "
                f"this as new {wanted} data, use a different name.",
            )
    return name


def _options(raw: Any) -> list[str]:
    """A list attribute's options: ``[{"value": ...}, ...]``, at least two."""
    if not isinstance(raw, list):
        raise ApiError(400, "parameter_invalid", "Options isn't an array")
    values = [o.get("value") if isinstance(o, dict) else o for o in raw]
    if len(values) < 2:
        raise ApiError(
            400,
            "parameter_invalid",
            "You must have at least two options on a list type data attribute",
        )
    if not all(isinstance(v, str) and v.strip() for v in values):
        raise ApiError(400, "parameter_invalid", "Options must be non-empty strings")
    return values


def create_data_attribute(ctx: ApiContext, req: ApiRequest) -> Response:
    """``POST /data_attributes`` with the documented 400 messages (2.14 examples), checked in
    the order the examples imply: the model first (the "too few options" example sends none and
    is answered about its model), then the name, the data type and a list's options. A list
    attribute is stored as ``string`` with ``options`` (§5). A token lacking the permission is
    refused before this runs (``FaultConfig.unauthorized``)."""
    body = req.body if isinstance(req.body, dict) else {}
    model = body.get("model")
    if model not in ("contact", "company"):
        raise ApiError(
            400,
            "parameter_invalid",
            "The Data Attribute model field must be either contact or company",
        )
    name = _check_attribute_name(ctx, model, body.get("name"))
    data_type = body.get("data_type")
    if data_type not in _DATA_TYPES:
        raise ApiError(400, "parameter_invalid", "Data Type isn't an option")
    options = None
    if data_type == "options":
        options = _options(body.get("options"))
        data_type = "string"
    now = ctx.now()
    attr: dict[str, Any] = {
        "model": model,
        "name": name,
        "full_name": f"custom_attributes.{name}",
        "label": name,
        "description": body.get("description") or "",
        "data_type": data_type,
        "api_writable": True,
        "ui_writable": False,
        "messenger_writable": bool(body.get("messenger_writable", False)),
        "custom": True,
        "archived": False,
        "admin_id": _me_admin(ctx)["id"],
        "created_at": now,
        "updated_at": now,
    }
    if options is not None:
        attr["options"] = options
    return json_response(200, ctx.store.create_data_attribute(attr))


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


def _event_identifier(args: Any) -> tuple[str, str]:
    """The one identifier ``GET /events`` names its contact by, in the order Intercom reads them."""
    for key in ("intercom_user_id", "user_id", "email"):
        if args.get(key):
            return key, args[key]
    raise ApiError(400, "parameter_not_found", "intercom_user_id, user_id or email is required")


def _summary_header(key: str, value: str, contact: EventContact | None) -> dict[str, str]:
    """``email``/``intercom_user_id``/``user_id`` of an ``event.summary``: the contact's, or the
    identifier asked for when it names nobody."""
    if contact is None:
        return {k: (value if k == key else "") for k in ("email", "intercom_user_id", "user_id")}
    return {
        "email": contact.email or "",
        "intercom_user_id": contact.id,
        "user_id": contact.user_id or "",
    }


def _event_summary(
    ctx: ApiContext, header: dict[str, str], contact: EventContact | None
) -> Response:
    summaries = [
        {
            "name": s["name"],
            "first": _iso(s["first"]),
            "last": _iso(s["last"]),
            "count": s["count"],
            "description": "",
        }
        for s in (ctx.store.event_summaries(contact) if contact else [])
    ]
    return json_response(200, {"type": "event.summary", **header, "events": summaries})


def list_events(ctx: ApiContext, req: ApiRequest) -> Response:
    """``GET /events?type=user&(intercom_user_id|user_id|email)``: one contact's events, newest
    first, only the last 90 days listable; ``pages.next`` is a full URL; ``summary=true`` gives
    per-name counts with ISO first/last (§5). There is no workspace-wide feed.

    The identifier is resolved to its contact first (``store/events.py``), so every form lists
    the same events; one that names no contact lists none."""
    args = req.args
    if args.get("type") != "user":
        raise ApiError(400, "parameter_invalid", "type must be user", "type")
    key, value = _event_identifier(args)
    contact = ctx.store.event_contact(key, value)
    if args.get("summary") == "true":
        return _event_summary(ctx, _summary_header(key, value, contact), contact)
    per_page = parse_per_page(args.get("per_page"), 50, maximum=100)
    before_ms = args.get("before")
    try:
        before = int(before_ms) // 1000 if before_ms else None
    except ValueError:
        raise ApiError(400, "parameter_invalid", "before must be an integer", "before") from None
    since = ctx.now() - ctx.config.events_window_days * 86400
    events = ctx.store.events_for(contact, since, before, per_page + 1) if contact else []
    pages: dict[str, Any] = {}
    if len(events) > per_page:
        events = events[:per_page]
        query = {k: v for k, v in args.items() if k != "before"}
        query["before"] = str(events[-1]["created_at"] * 1000)
        query["per_page"] = str(per_page)
        pages["next"] = f"{req.base_url()}/events?{urlencode(query)}"
    return json_response(200, {"type": "event.list", "events": events, "pages": pages})


ROUTES = [
    ("/me", ["GET"], me),
    ("/admins", ["GET"], list_admins),
    ("/admins/<admin_id>", ["GET"], get_admin),
    ("/teams", ["GET"], list_teams),
    ("/teams/<team_id>", ["GET"], get_team),
    ("/tags", ["GET"], list_tags),
    ("/tags/<tag_id>", ["GET"], get_tag),
    ("/segments", ["GET"], list_segments),
    ("/segments/<segment_id>", ["GET"], get_segment),
    ("/data_attributes", ["GET"], list_data_attributes),
    ("/data_attributes", ["POST"], create_data_attribute),
    ("/events", ["GET"], list_events),
]
