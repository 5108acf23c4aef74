"""``POST /tags``: create or rename a tag, tag or untag companies, tag contacts (2.14).

One endpoint, five operations told apart by the body (``create_or_update_tag_request``,
``tag_company_request``, ``untag_company_request``, ``tag_multiple_users_request``); each answers
the tag as ``{type, id, name}``. A body without a ``name`` is ``400 parameter_invalid``
"invalid tag parameters" (the documented example); an unknown company is ``404 company_not_found``,
an unknown contact ``404 not_found`` "User Not Found", an unknown tag id ``404 not_found``
"Resource Not Found". Every item is resolved before anything changes, so a refused request
changes nothing.

Tagging or untagging moves the record's ``updated_at``: Intercom's tagging of a contact does
(reference §3.3 observes attachments moving the contact), the emulator already moves contacts on
``POST /contacts/{id}/tags``, and a company is treated alike so an incremental reader of
companies sees its new tags. Whether Intercom moves a company's ``updated_at`` on tagging is
unverified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from intercom_salesforce.sandbox.intercom.errors import (
    COMPANY_NOT_FOUND,
    NOT_FOUND,
    USER_NOT_FOUND,
    ApiError,
    json_response,
)

if TYPE_CHECKING:
    from intercom_salesforce.sandbox.intercom.app import ApiContext, ApiRequest

INVALID_TAG = "invalid tag parameters"


def _invalid() -> ApiError:
    return ApiError(400, "parameter_invalid", INVALID_TAG)


def _basic(tag: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tag", "id": tag["id"], "name": tag.get("name") or ""}


def _items(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
        raise _invalid()
    return value


def _company(ctx: ApiContext, item: dict[str, Any]) -> str:
    """The Intercom id of the company an item names by ``id`` or by ``company_id``."""
    if item.get("id") is not None:
        found = str(item["id"]) if ctx.store.get_company(str(item["id"])) else None
    elif item.get("company_id") is not None:
        found = ctx.store.find_company(company_id=str(item["company_id"]))
    else:
        raise _invalid()
    if found is None:
        raise ApiError(404, "company_not_found", COMPANY_NOT_FOUND)
    return found


def _tag_companies(ctx: ApiContext, name: str, companies: Any) -> dict[str, Any]:
    """Tag each company (creating the tag when it is new) or untag those marked ``untag``."""
    changes = [(_company(ctx, item), item.get("untag") is True) for item in _items(companies)]
    tag = ctx.store.find_tag(name)
    if tag is None:
        if all(untag for _, untag in changes):
            raise ApiError(404, "not_found", NOT_FOUND)
        tag = ctx.store.save_tag(name)
    ctx.store.tag_companies(tag["id"], changes, ctx.now())
    return tag


def _tag_users(ctx: ApiContext, name: str, users: Any) -> dict[str, Any]:
    """Tag each contact, as ``POST /contacts/{id}/tags`` does, creating the tag when it is new."""
    ids = []
    for item in _items(users):
        contact_id = str(item.get("id") or "")
        if not contact_id or not ctx.store.contact_exists(contact_id):
            raise ApiError(404, "not_found", USER_NOT_FOUND)
        ids.append(contact_id)
    tag = ctx.store.find_tag(name) or ctx.store.save_tag(name)
    now = ctx.now()
    admins = ctx.store.all_docs("admins")
    admin_id = admins[0]["id"] if admins else "0"
    for contact_id in ids:
        if ctx.store.add_contact_link(contact_id, "tags", tag["id"]):
            ctx.store.record_tagging(contact_id, tag["id"], now, admin_id)
            ctx.store.touch("contacts", [contact_id], now)
    return tag


def _create_or_rename(ctx: ApiContext, name: str, tag_id: Any) -> dict[str, Any]:
    """A new tag, the existing one of that name (names ignore case), or tag ``id`` renamed."""
    if tag_id is None:
        return ctx.store.find_tag(name) or ctx.store.save_tag(name)
    tag_id = str(tag_id)
    if ctx.store.get_doc("tags", tag_id) is None:
        raise ApiError(404, "not_found", NOT_FOUND)
    clash = ctx.store.find_tag(name)
    if clash is not None and clash["id"] != tag_id:
        raise _invalid()
    return ctx.store.save_tag(name, tag_id)


def create_or_update_tag(ctx: ApiContext, req: ApiRequest) -> Response:
    """``POST /tags`` → the tag acted on (``tag_basic``)."""
    body = req.body
    if not isinstance(body, dict):
        raise _invalid()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _invalid()
    if "companies" in body:
        tag = _tag_companies(ctx, name, body["companies"])
    elif "users" in body:
        tag = _tag_users(ctx, name, body["users"])
    else:
        tag = _create_or_rename(ctx, name, body.get("id"))
    return json_response(200, _basic(tag))


ROUTES = [("/tags", ["POST"], create_or_update_tag)]
