"""Searchable fields of contacts and conversations, as the 2.14 "Accepted Fields" tables list them.

Indexed columns serve the fields extractors filter and sort on; the rest read the JSON document.
JSON paths that carry client text (custom attribute names) are escaped as SQL string literals;
filter values are always bound parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from intercom_salesforce.sandbox.intercom.search import Field

_CONTACT_COLUMNS: dict[str, tuple[str, bool]] = {
    # name: (kind, nocase)
    "id": ("string", False),
    "external_id": ("string", False),
    "email": ("string", True),
    "email_domain": ("string", True),
    "role": ("string", False),
    "name": ("string", False),
    "phone": ("string", False),
    "owner_id": ("integer", False),
    "created_at": ("date", False),
    "updated_at": ("date", False),
    "signed_up_at": ("date", False),
    "last_seen_at": ("date", False),
}
_CONTACT_JSON: dict[str, str] = {
    "last_contacted_at": "date",
    "last_replied_at": "date",
    "last_email_opened_at": "date",
    "last_email_clicked_at": "date",
    "android_last_seen_at": "date",
    "ios_last_seen_at": "date",
    "language_override": "string",
    "browser": "string",
    "browser_version": "string",
    "browser_language": "string",
    "os": "string",
    "location.country": "string",
    "location.region": "string",
    "location.city": "string",
    "location.country_code": "string",
    "unsubscribed_from_emails": "boolean",
    "marked_email_as_spam": "boolean",
    "has_hard_bounced": "boolean",
    "android_app_name": "string",
    "android_app_version": "string",
    "android_device": "string",
    "android_os_version": "string",
    "android_sdk_version": "string",
    "ios_app_name": "string",
    "ios_app_version": "string",
    "ios_device": "string",
    "ios_os_version": "string",
    "ios_sdk_version": "string",
}
_DATA_TYPES = {
    "string": "string",
    "integer": "integer",
    "float": "float",
    "boolean": "boolean",
    "date": "date",
    "datetime": "date",
}


def _json_path(path: str) -> str:
    return "$." + ".".join('"' + p.replace('"', '""') + '"' for p in path.split("."))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _infer_kind(value: Any) -> str | None:
    sample = value[0] if isinstance(value, list) and value else value
    if isinstance(sample, bool):
        return "boolean"
    if isinstance(sample, int):
        return "integer"
    if isinstance(sample, float):
        return "float"
    if isinstance(sample, str):
        return "string"
    return None


def contact_resolver(custom_types: dict[str, str]) -> Callable[[str, Any], Field | None]:
    """Field lookup for ``POST /contacts/search``.

    Custom attributes take their type from ``/data_attributes``; an attribute the workspace does not
    define takes the type of the query value (unverified: the real API may reject it).
    """

    def resolve(name: str, value: Any) -> Field | None:
        if name in _CONTACT_COLUMNS:
            kind, nocase = _CONTACT_COLUMNS[name]
            return Field(name, kind, f"contacts.{name}", nocase=nocase)
        if name in _CONTACT_JSON:
            return Field(
                name, _CONTACT_JSON[name], f"json_extract(contacts.doc, {_quote(_json_path(name))})"
            )
        if name == "avatar":
            return Field(name, "string", "json_extract(contacts.doc, '$.avatar.image_url')")
        if name == "tag_id":
            return Field(
                name,
                "tag",
                "EXISTS (SELECT 1 FROM contact_links l WHERE l.contact_id = contacts.id "
                "AND l.kind = 'tags' AND l.target_id {cond})",
                sortable=False,
            )
        if name == "segment_id":
            return Field(
                name,
                "tag",
                "EXISTS (SELECT 1 FROM contact_links l WHERE l.contact_id = contacts.id "
                "AND l.kind = 'segments' AND l.target_id {cond})",
                sortable=False,
            )
        if name.startswith("custom_attributes.") and len(name) > len("custom_attributes."):
            attr = name[len("custom_attributes.") :]
            declared = custom_types.get(attr)
            kind = _DATA_TYPES.get(declared or "") or _infer_kind(value)
            if kind is None:
                if value is not None:
                    return None
                kind = "string"  # sorting on an undeclared attribute: compare as text
            sql = f"json_extract(contacts.doc, {_quote(_json_path('custom_attributes.' + attr))})"
            return Field(name, kind, sql, custom_date=kind == "date")
        return None

    return resolve


_CONVERSATION_JSON: dict[str, tuple[str, str]] = {
    # name: (kind, JSON path in the stored document)
    "waiting_since": ("date", "waiting_since"),
    "snoozed_until": ("date", "snoozed_until"),
    "source.type": ("string", "source.type"),
    "source.id": ("string", "source.id"),
    "source.delivered_as": ("string", "source.delivered_as"),
    "source.subject": ("string", "source.subject"),
    "source.body": ("words", "source.body"),
    "source.author.id": ("string", "source.author.id"),
    "source.author.type": ("string", "source.author.type"),
    "source.author.name": ("string", "source.author.name"),
    "source.author.email": ("string", "source.author.email"),
    "source.url": ("string", "source.url"),
    "admin_assignee_id": ("integer", "admin_assignee_id"),
    "team_assignee_id": ("integer", "team_assignee_id"),
    "channel_initiated": ("string", "source.delivered_as"),
    "open": ("boolean", "open"),
    "read": ("boolean", "read"),
    "state": ("string", "state"),
    "priority": ("string", "priority"),
    "statistics.time_to_assignment": ("integer", "statistics.time_to_assignment"),
    "statistics.time_to_admin_reply": ("integer", "statistics.time_to_admin_reply"),
    "statistics.time_to_first_close": ("integer", "statistics.time_to_first_close"),
    "statistics.time_to_last_close": ("integer", "statistics.time_to_last_close"),
    "statistics.median_time_to_reply": ("integer", "statistics.median_time_to_reply"),
    "statistics.first_contact_reply_at": ("date", "statistics.first_contact_reply_at"),
    "statistics.first_assignment_at": ("date", "statistics.first_assignment_at"),
    "statistics.first_admin_reply_at": ("date", "statistics.first_admin_reply_at"),
    "statistics.first_close_at": ("date", "statistics.first_close_at"),
    "statistics.last_assignment_at": ("date", "statistics.last_assignment_at"),
    "statistics.last_assignment_admin_reply_at": (
        "date",
        "statistics.last_assignment_admin_reply_at",
    ),
    "statistics.last_contact_reply_at": ("date", "statistics.last_contact_reply_at"),
    "statistics.last_admin_reply_at": ("date", "statistics.last_admin_reply_at"),
    "statistics.last_close_at": ("date", "statistics.last_close_at"),
    "statistics.last_closed_by_id": ("string", "statistics.last_closed_by_id"),
    "statistics.count_reopens": ("integer", "statistics.count_reopens"),
    "statistics.count_assignments": ("integer", "statistics.count_assignments"),
    "conversation_rating.requested_at": ("date", "conversation_rating.created_at"),
    "conversation_rating.replied_at": ("date", "conversation_rating.updated_at"),
    "conversation_rating.score": ("integer", "conversation_rating.rating"),
    "conversation_rating.remark": ("string", "conversation_rating.remark"),
    "conversation_rating.contact_id": ("string", "conversation_rating.contact.id"),
    "conversation_rating.admin_d": ("string", "conversation_rating.teammate.id"),
    "ai_agent_participated": ("boolean", "ai_agent_participated"),
    "ai_agent.resolution_state": ("string", "ai_agent.resolution_state"),
    "ai_agent.last_answer_type": ("string", "ai_agent.last_answer_type"),
    "ai_agent.rating": ("integer", "ai_agent.rating"),
    "ai_agent.rating_remark": ("string", "ai_agent.rating_remark"),
    "ai_agent.source_type": ("string", "ai_agent.source_type"),
    "ai_agent.source_title": ("string", "ai_agent.source_title"),
}
_CONVERSATION_LINKS = {"contact_ids": "contacts", "teammate_ids": "teammates", "tag_ids": "tags"}


def conversation_resolver() -> Callable[[str, Any], Field | None]:
    """Field lookup for ``POST /conversations/search`` (2.14 accepted-fields table)."""

    def resolve(name: str, value: Any) -> Field | None:
        if name == "id":
            return Field(name, "string", "conversations.id")
        if name in ("created_at", "updated_at"):
            return Field(name, "date", f"conversations.{name}")
        if name == "statistics.count_conversation_parts":
            return Field(
                name,
                "integer",
                "(SELECT COUNT(*) FROM conversation_parts p "
                "WHERE p.conversation_id = conversations.id)",
            )
        if name in _CONVERSATION_LINKS:
            kind = _CONVERSATION_LINKS[name]
            return Field(
                name,
                "link",
                "EXISTS (SELECT 1 FROM conversation_links l "
                "WHERE l.conversation_id = conversations.id "
                f"AND l.kind = '{kind}' AND l.target_id {{cond}})",
                sortable=False,
            )
        if name in _CONVERSATION_JSON:
            kind, path = _CONVERSATION_JSON[name]
            return Field(name, kind, f"json_extract(conversations.doc, {_quote(_json_path(path))})")
        if name.startswith("custom_attributes.") and len(name) > len("custom_attributes."):
            kind = _infer_kind(value)
            if kind is None:
                return None
            return Field(name, kind, f"json_extract(conversations.doc, {_quote(_json_path(name))})")
        return None

    return resolve
