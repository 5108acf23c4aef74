"""sObject resources: global and per-object describe, record CRUD, upsert by external id.

``/sobjects/{X}/{id}`` and ``/sobjects/{X}/{field}/{value}`` follow reference 5.2-5.4: a key that
is not an id of ``X`` is read as an external id field name; a deleted record is ``NOT_FOUND`` to a
read and ``ENTITY_IS_DELETED`` to a change, as on a real org.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from .describe import ObjectDef, get_object, global_describe, object_describe
from .errors import (
    ApiError,
    Call,
    json_response,
    method_not_allowed,
    not_found,
    read_body,
    read_object,
)
from .ids import ID_RE, object_for_id, to_18
from .records import record_json, values_from_json
from .routing import Route
from .validation import RecordError, convert

if TYPE_CHECKING:
    from .app import SalesforceEmulator


def object_or_404(name: str) -> ObjectDef:
    obj = get_object(name)
    if obj is None:
        raise not_found()
    return obj


def no_external_id(name: str) -> ApiError:
    return ApiError(
        404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {name}"
    )


def _record_error(exc: RecordError) -> Response:
    return json_response([exc.rest()], 400)


# -- describe -----------------------------------------------------------------------------------
def describe_global(app: SalesforceEmulator, call: Call) -> Response:
    return json_response(global_describe(call.version))


def object_info(app: SalesforceEmulator, call: Call, name: str) -> Response:
    obj = object_or_404(name)
    info = next(s for s in global_describe(call.version)["sobjects"] if s["name"] == obj.name)
    return json_response({"objectDescribe": info, "recentItems": []})


def describe(app: SalesforceEmulator, call: Call, name: str) -> Response:
    obj = object_or_404(name)
    record_types = app.store.records_of(
        "RecordType", "json_extract(doc,'$.SobjectType') = ?", (obj.name,)
    )
    return json_response(object_describe(obj, call.version, record_types))


# -- records by id --------------------------------------------------------------------------------
def create(app: SalesforceEmulator, call: Call, name: str) -> Response:
    obj = object_or_404(name)
    body = read_object(call.request)
    try:
        with app.store.transaction():
            new_id = app.writer(call).insert(obj, values_from_json(app.store, obj, body))
    except RecordError as exc:
        return _record_error(exc)
    return json_response({"id": new_id, "success": True, "errors": []}, 201)


def _live_record(app: SalesforceEmulator, call: Call, obj: ObjectDef, ident: str) -> dict[str, Any]:
    """The record ``ident`` of ``obj``; a deleted one only exists for a read's 404."""
    if not (ID_RE.match(ident) and object_for_id(ident) == obj.name):
        if call.method in ("GET", "PATCH", "DELETE"):
            raise no_external_id(ident)
        raise method_not_allowed()
    got = app.store.get(to_18(ident))
    if got is None or got[0] != obj.name:
        raise not_found()
    if got[1].get("IsDeleted"):
        if call.method in ("PATCH", "DELETE"):
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", fields=[])
        raise not_found()
    return got[1]


def by_id(app: SalesforceEmulator, call: Call, name: str, ident: str) -> Response:
    """``GET``/``PATCH``/``DELETE /sobjects/{X}/{id}``."""
    obj = object_or_404(name)
    doc = _live_record(app, call, obj, ident)
    if call.method == "GET":
        fields_param = call.args.get("fields")
        only = [f.strip() for f in fields_param.split(",")] if fields_param else None
        return json_response(record_json(obj, doc, call.version, only))
    if call.method not in ("PATCH", "DELETE"):
        raise method_not_allowed()
    try:
        with app.store.transaction():
            writer = app.writer(call)
            if call.method == "PATCH":
                body = read_body(call.request) or {}
                writer.update(obj, doc["Id"], values_from_json(app.store, obj, body))
            else:
                writer.delete(obj, doc["Id"])
    except RecordError as exc:
        return _record_error(exc)
    return Response(status=204)


# -- records by external id -----------------------------------------------------------------------
def _upsert(
    app: SalesforceEmulator, call: Call, obj: ObjectDef, field_name: str, value: str
) -> Response:
    f = obj.field(field_name)
    assert f is not None
    body = read_body(call.request) or {}
    try:
        with app.store.transaction():
            values = values_from_json(app.store, obj, body)
            if f.external_id:
                values[f.name] = convert(f, value)
            record_id, created = app.writer(call).upsert(obj, f, value, values)
    except RecordError as exc:
        return _record_error(exc)
    return json_response(
        {"id": record_id, "success": True, "errors": [], "created": created},
        201 if created else 200,
    )


def by_external_id(
    app: SalesforceEmulator, call: Call, name: str, field_name: str, value: str
) -> Response:
    """``/sobjects/{X}/{field}/{value}``: read, delete or upsert by an external id (5.4)."""
    obj = object_or_404(name)
    f = obj.field(field_name)
    if f is None or not f.indexed:
        raise no_external_id(field_name)
    matches = app.store.find_ids(obj.name, f.name, value)
    if len(matches) > 1:
        return json_response(
            [f"/services/data/v{call.version}/sobjects/{obj.name}/{m}" for m in matches], 300
        )
    if call.method in ("PATCH", "POST"):
        return _upsert(app, call, obj, field_name, value)
    if call.method not in ("GET", "DELETE"):
        raise method_not_allowed()
    if not matches:
        raise not_found()
    if call.method == "DELETE":
        with app.store.transaction():
            app.writer(call).delete(obj, matches[0])
        return Response(status=204)
    got = app.store.get(matches[0])
    assert got is not None
    return json_response(record_json(obj, got[1], call.version))


ROUTES = [
    Route("/sobjects", describe_global),
    Route("/sobjects/<name>", create, ("POST",)),
    Route("/sobjects/<name>", object_info),
    Route("/sobjects/<name>/describe", describe),
    Route("/sobjects/<name>/<ident>", by_id),
    Route("/sobjects/<name>/<field_name>/<value>", by_external_id),
]
