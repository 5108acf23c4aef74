"""Normalise seed/write dicts into the stored 2.14 documents (``store/hydrate.py`` renders them).

Field order and defaults follow the recorded responses in the OpenAPI description (for example the
``GET /contacts/{id}`` example): every documented key is present, unset values are ``null``,
timestamps are Unix-second integers.
"""

from __future__ import annotations

from typing import Any

CONTACT_NULLABLE_FIELDS = (
    "external_id",
    "phone",
    "name",
    "avatar",
    "owner_id",
)
CONTACT_TIMESTAMP_FIELDS = (
    "created_at",
    "updated_at",
    "signed_up_at",
    "last_seen_at",
    "last_replied_at",
    "last_contacted_at",
    "last_email_opened_at",
    "last_email_clicked_at",
)
DEVICE_FIELDS = (
    "language_override",
    "browser",
    "browser_version",
    "browser_language",
    "os",
)
ANDROID_FIELDS = (
    "android_app_name",
    "android_app_version",
    "android_device",
    "android_os_version",
    "android_sdk_version",
    "android_last_seen_at",
)
IOS_FIELDS = (
    "ios_app_name",
    "ios_app_version",
    "ios_device",
    "ios_os_version",
    "ios_sdk_version",
    "ios_last_seen_at",
)
UTM_FIELDS = ("utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term", "referrer")
CONTACT_LINK_KINDS = ("tags", "notes", "companies", "segments")
#: Fields a client may set with ``POST /contacts`` / ``PUT /contacts/{id}``.
CONTACT_WRITABLE = frozenset(
    {
        "role",
        "external_id",
        "email",
        "phone",
        "name",
        "avatar",
        "signed_up_at",
        "last_seen_at",
        "owner_id",
        "unsubscribed_from_emails",
        "custom_attributes",
    }
)


def _avatar(value: Any) -> dict[str, Any] | None:
    if value is None or value == {}:
        return None
    if isinstance(value, str):
        return {"type": "avatar", "image_url": value}
    return {"type": "avatar", "image_url": value.get("image_url")}


def _location(value: dict[str, Any] | None) -> dict[str, Any]:
    loc = {
        "type": "location",
        "country": None,
        "region": None,
        "city": None,
        "country_code": None,
        "continent_code": None,
    }
    if value:
        loc.update({k: v for k, v in value.items() if k != "type"})
    return loc


def _social_profiles(value: Any) -> dict[str, Any]:
    data = (value.get("data") or []) if isinstance(value, dict) else (value or [])
    return {
        "type": "list",
        "data": [
            {"type": "social_profile", "name": p.get("name"), "url": p.get("url")} for p in data
        ],
    }


def email_domain(email: str | None) -> str:
    if not email or "@" not in email:
        return ""
    return email.rsplit("@", 1)[1].lower()


def normalize_contact(fields: dict[str, Any], app_id: str) -> dict[str, Any]:
    """A stored contact document: the API shape without the addressable lists (kept as links)."""
    f = fields
    email = f.get("email") or ""
    doc: dict[str, Any] = {
        "type": "contact",
        "id": f["id"],
        "workspace_id": f.get("workspace_id") or app_id,
        "external_id": f.get("external_id"),
        "role": f.get("role") or "user",
        "email": email,
        "email_domain": f.get("email_domain") or email_domain(email),
        "phone": f.get("phone"),
        "name": f.get("name"),
        "avatar": _avatar(f.get("avatar")),
        "owner_id": f.get("owner_id"),
        "social_profiles": _social_profiles(f.get("social_profiles")),
        "has_hard_bounced": bool(f.get("has_hard_bounced", False)),
        "marked_email_as_spam": bool(f.get("marked_email_as_spam", False)),
        "unsubscribed_from_emails": bool(f.get("unsubscribed_from_emails", False)),
    }
    for name in CONTACT_TIMESTAMP_FIELDS:
        value = f.get(name)
        doc[name] = int(value) if value is not None else None
    for name in DEVICE_FIELDS:
        doc[name] = f.get(name)
    doc["location"] = _location(f.get("location"))
    for name in ANDROID_FIELDS + IOS_FIELDS:
        doc[name] = f.get(name)
    doc["custom_attributes"] = dict(f.get("custom_attributes") or {})
    for name in UTM_FIELDS:
        doc[name] = f.get(name)
    doc["enabled_push_messaging"] = f.get("enabled_push_messaging")
    return doc


def normalize_company(fields: dict[str, Any], app_id: str, now: int) -> dict[str, Any]:
    """A stored company document (tags/segments/user_count are filled at render time)."""
    f = fields
    created = f.get("created_at") if f.get("created_at") is not None else now
    plan = f.get("plan") or {}
    if plan and "type" not in plan:
        plan = {"type": "plan", **plan}
    doc: dict[str, Any] = {
        "type": "company",
        "company_id": f.get("company_id") or f["id"],
        "id": f["id"],
        "app_id": f.get("app_id") or app_id,
        "name": f.get("name"),
        "remote_created_at": f.get("remote_created_at", created),
        "created_at": int(created),
        "updated_at": int(f.get("updated_at") if f.get("updated_at") is not None else created),
        "last_request_at": f.get("last_request_at", created),
        "size": f.get("size"),
        "website": f.get("website"),
        "industry": f.get("industry"),
        "monthly_spend": f.get("monthly_spend", 0),
        "session_count": f.get("session_count", 0),
        "user_count": 0,
        "plan": plan,
        "custom_attributes": dict(f.get("custom_attributes") or {}),
    }
    # Optional scalars the schema types as non-null: omit rather than send null.
    for key in ("size", "website", "industry", "name", "last_request_at", "remote_created_at"):
        if doc[key] is None:
            del doc[key]
    return doc


def part_defaults() -> dict[str, Any]:
    """A fresh part with every documented key (a literal per call: cheaper than a deep copy)."""
    return {
        "type": "conversation_part",
        "id": None,
        "part_type": "comment",
        "body": None,
        "created_at": None,
        "updated_at": None,
        "notified_at": None,
        "assigned_to": None,
        "author": None,
        "attachments": [],
        "external_id": None,
        "redacted": False,
        "email_message_metadata": None,
        "metadata": {},
        "state": "open",
        "tags": [],
        "event_details": None,
        "app_package_code": None,
    }


def normalize_part(part: dict[str, Any], part_id: str, created_at: int) -> dict[str, Any]:
    doc = part_defaults()
    doc.update(part)
    doc["id"] = str(part.get("id") or part_id)
    doc["created_at"] = int(part.get("created_at") or created_at)
    doc["updated_at"] = int(part.get("updated_at") or doc["created_at"])
    doc["notified_at"] = int(part.get("notified_at") or doc["created_at"])
    if doc["author"] is None:
        doc["author"] = {
            "type": "bot",
            "id": "0",
            "name": "Operator",
            "email": "operator@intercom.io",
        }
    doc["author"] = _author(doc["author"])
    return doc


def _author(author: dict[str, Any] | None) -> dict[str, Any] | None:
    """``conversation_part_author.email`` is a non-null string: an author without an email (a
    lead who never gave one) carries ``""``, like a contact's ``email``."""
    if author is None:
        return None
    out = dict(author)
    if out.get("email") is None:
        out["email"] = ""
    if out.get("id") is not None:
        out["id"] = str(out["id"])
    return out


def _statistics(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """``conversation_statistics`` types every metric as a non-null integer/string, so metrics that
    have not happened yet (no close, no reply) are left out rather than sent as null."""
    if value is None:
        return None
    stats = {k: v for k, v in value.items() if v is not None}
    stats.setdefault("type", "conversation_statistics")
    return stats


def normalize_conversation(fields: dict[str, Any], now: int) -> dict[str, Any]:
    """A stored conversation document (contacts/teammates/tags/parts are kept as links/rows)."""
    f = fields
    created = int(f.get("created_at") if f.get("created_at") is not None else now)
    state = f.get("state") or ("open" if f.get("open", True) else "closed")
    source = {
        "type": "conversation",
        "id": str(f["id"]),
        "delivered_as": "customer_initiated",
        "subject": "",
        "body": "",
        "author": {"type": "user", "id": "", "name": None, "email": ""},
        "attachments": [],
        "url": None,
        "redacted": False,
    }
    source.update(f.get("source") or {})
    source["author"] = _author(source.get("author"))
    doc: dict[str, Any] = {
        "type": "conversation",
        "id": str(f["id"]),
        "title": f.get("title"),
        "created_at": created,
        "updated_at": int(f.get("updated_at") if f.get("updated_at") is not None else created),
        "waiting_since": f.get("waiting_since"),
        "snoozed_until": f.get("snoozed_until"),
        "open": bool(f.get("open", state != "closed")),
        "state": state,
        "read": bool(f.get("read", False)),
        "priority": f.get("priority") or "not_priority",
        "admin_assignee_id": f.get("admin_assignee_id"),
        "team_assignee_id": f.get("team_assignee_id"),
        "conversation_rating": f.get("conversation_rating"),
        "source": source,
        "custom_attributes": dict(f.get("custom_attributes") or {}),
        "first_contact_reply": f.get("first_contact_reply"),
        "sla_applied": f.get("sla_applied"),
        "statistics": _statistics(f.get("statistics")),
        "linked_objects": f.get("linked_objects")
        or {"type": "list", "data": [], "total_count": 0, "has_more": False},
        "ai_agent_participated": bool(f.get("ai_agent_participated", False)),
        "ai_agent": f.get("ai_agent"),
    }
    for key in ("admin_assignee_id", "team_assignee_id"):
        if doc[key] is not None:
            doc[key] = int(doc[key])
    return doc
