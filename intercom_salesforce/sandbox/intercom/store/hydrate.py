"""Stored rows → the API's JSON: the one place records are rendered, and their JSON text assembled.

Contacts and conversations are rendered when they are written and kept as compact JSON text in
their row's ``body``; reads splice those texts into the response, so serving a page costs no
per-record Python work. The text is exactly ``json.dumps(shape, separators=(",", ":"))`` of the
shape built here, so the bytes on the wire are the same as rendering per request.

* a contact's row keeps only this text (its ``doc`` column *is* the single-GET shape): the stored
  document is that shape without the embedded lists (``contact_doc``); list items drop its last
  key, ``enabled_push_messaging``, which only the single GET carries (reference §2.2);
* a conversation's ``body`` is the list shape; the single GET appends ``conversation_parts``, the
  last key, from the parts' stored texts.
"""

from __future__ import annotations

import json
from typing import Any

EMBEDDED_LIMIT = 10
"""Contacts embed at most 10 tags/notes/companies; ``has_more`` points at the full list (§2.2)."""
_PUSH_KEY = ',"enabled_push_messaging":'
_PLURAL = {"tag": "tags", "note": "notes", "company": "companies"}


def dumps(value: Any) -> str:
    """The emulator's JSON text: compact, as ``errors.json_response`` writes it."""
    return json.dumps(value, separators=(",", ":"))


# --- contacts ---------------------------------------------------------------------------------


def addressable_list(
    parent: str, parent_id: str, kind: str, ids: list[str], url_kind: str | None = None
) -> dict[str, Any]:
    """The embedded ``{type:list, data, url, total_count, has_more}`` list, truncated to 10."""
    plural = _PLURAL[kind]
    data: list[dict[str, Any]] = []
    for item_id in ids[:EMBEDDED_LIMIT]:
        if kind == "company":
            data.append({"id": item_id, "type": "company", "url": f"/companies/{item_id}"})
        else:
            data.append({"type": kind, "id": item_id, "url": f"/{plural}/{item_id}"})
    return {
        "type": "list",
        "data": data,
        "url": f"/{parent}/{parent_id}/{url_kind or plural}",
        "total_count": len(ids),
        "has_more": len(ids) > EMBEDDED_LIMIT,
    }


def _subscriptions(contact_id: str) -> dict[str, Any]:
    return {
        "type": "list",
        "data": [],
        "url": f"/contacts/{contact_id}/subscriptions",
        "total_count": 0,
        "has_more": False,
    }


def render_contact(doc: dict[str, Any], links: dict[str, list[str]]) -> dict[str, Any]:
    """The single-GET contact from a stored document plus its tag/note/company ids: the embedded
    lists follow ``custom_attributes``, as in the recorded example."""
    out: dict[str, Any] = {}
    cid = doc["id"]
    for key, value in doc.items():
        out[key] = value
        if key == "custom_attributes":
            out["tags"] = addressable_list("contacts", cid, "tag", links.get("tags", []))
            out["notes"] = addressable_list("contacts", cid, "note", links.get("notes", []))
            out["companies"] = addressable_list(
                "contacts", cid, "company", links.get("companies", [])
            )
            out["opted_out_subscription_types"] = _subscriptions(cid)
            out["opted_in_subscription_types"] = _subscriptions(cid)
    return out


_CONTACT_RENDERED_ONLY = (
    "tags",
    "notes",
    "companies",
    "opted_out_subscription_types",
    "opted_in_subscription_types",
)


def contact_doc(rendered: dict[str, Any]) -> dict[str, Any]:
    """The stored document back from a rendered contact (the inverse of ``render_contact``)."""
    return {k: v for k, v in rendered.items() if k not in _CONTACT_RENDERED_ONLY}


def contact_body(doc: dict[str, Any], links: dict[str, list[str]]) -> str:
    """A contact's stored ``body`` (the single-GET shape)."""
    return dumps(render_contact(doc, links))


def contact_text(body: str, single: bool) -> str:
    """The JSON of one contact as a list item (``single`` false) or for the single GET."""
    if single:
        return body
    return body[: body.rindex(_PUSH_KEY)] + "}"


# --- companies --------------------------------------------------------------------------------


def render_company(
    doc: dict[str, Any],
    tags: list[dict[str, Any]],
    segments: list[dict[str, Any]],
    user_count: int,
) -> dict[str, Any]:
    out = dict(doc)
    out["user_count"] = user_count
    out["tags"] = {"type": "tag.list", "tags": tags}
    out["segments"] = {"type": "segment.list", "segments": segments}
    return out


# --- conversations ----------------------------------------------------------------------------


def render_conversation(
    doc: dict[str, Any],
    contacts: list[dict[str, Any]],
    teammates: list[str] | None,
    tags: list[dict[str, Any]],
    parts_total: int,
) -> dict[str, Any]:
    """The conversation as list items show it (no parts, §4.1); tags follow
    ``team_assignee_id`` and contacts/teammates follow ``source``, as in the recorded example."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        out[key] = value
        if key == "team_assignee_id":
            out["tags"] = {"type": "tag.list", "tags": tags}
        if key == "source":
            out["contacts"] = {"type": "contact.list", "contacts": contacts}
            out["teammates"] = (
                None
                if teammates is None
                else {
                    "type": "admin.list",
                    "teammates": [{"type": "admin", "id": t} for t in teammates],
                }
            )
    stats = out.get("statistics")
    if stats is not None:
        # The statistics always show the true number, even past the 500-part cap (§4.1).
        out["statistics"] = {**stats, "count_conversation_parts": parts_total}
    return out


def conversation_with_parts(body: str, parts: list[str], parts_total: int) -> str:
    """The single-GET conversation: its ``body`` plus the (capped) parts list as the last key."""
    return (
        body[:-1]
        + ',"conversation_parts":{"type":"conversation_part.list","conversation_parts":['
        + ",".join(parts)
        + '],"total_count":'
        + str(parts_total)
        + "}}"
    )


# --- lists ------------------------------------------------------------------------------------


def list_text(head: dict[str, Any], key: str, items: list[str], tail: dict[str, Any]) -> str:
    """``{**head, key: [items...], **tail}`` as JSON text, with ``items`` already JSON."""
    parts = [dumps(head)[:-1]] if head else ["{"]
    parts.append(("," if head else "") + dumps(key) + ":[" + ",".join(items) + "]")
    if tail:
        parts.append("," + dumps(tail)[1:])
    else:
        parts.append("}")
    return "".join(parts)
