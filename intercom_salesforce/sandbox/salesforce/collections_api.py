"""sObject Collections: create, update, upsert and delete up to 200 records a call (ref. 5.5).

Each record gets its own result; with ``allOrNone`` one failure rolls every record back and the
records that had succeeded report ``ALL_OR_NONE_OPERATION_ROLLED_BACK``. Field names, ``Id``
included, are case-insensitive as everywhere in the REST API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from .describe import FieldDef, ObjectDef, get_object
from .dml import Writer
from .errors import ApiError, Call, json_response, method_not_allowed, not_found, read_body
from .ids import ID_RE, object_for_id, to_18
from .records import get_key, pop_key, values_from_json
from .routing import Route
from .sobjects_api import no_external_id, object_or_404
from .validation import RecordError

if TYPE_CHECKING:
    from .app import SalesforceEmulator

COLLECTION_LIMIT = 200
_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid "
    "and the request was using AllOrNone header",
    "fields": [],
}

#: One record's operation: fills ``result`` (``id`` as soon as it is known, ``created``).
Operation = Callable[[Any, dict[str, Any]], None]


def _records(call: Call, by_ids: bool) -> tuple[list[Any], bool]:
    """(records or ids, allOrNone): a delete takes ``?ids=`` (``by_ids``), the rest a JSON body."""
    if by_ids:
        ids = [i for i in call.args.get("ids", "").split(",") if i]
        records: list[Any] = ids
        all_or_none = call.args.get("allOrNone", "false").lower() == "true"
    else:
        body = read_body(call.request)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise ApiError(400, "JSON_PARSER_ERROR", 'Expected {"records": [...]}')
        records, all_or_none = body["records"], bool(body.get("allOrNone", False))
    if len(records) > COLLECTION_LIMIT:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    return records, all_or_none


def _typed(item: dict[str, Any]) -> ObjectDef:
    return object_or_404((item.get("attributes") or {}).get("type") or "")


class _Operations:
    """The per-record operations of one call, sharing its writer."""

    def __init__(self, app: SalesforceEmulator, writer: Writer) -> None:
        self.store = app.store
        self.writer = writer

    def _values(self, obj: ObjectDef, item: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """(the record's Id, its other values)."""
        rest = dict(item)
        record_id = pop_key(rest, "Id")
        return record_id, values_from_json(self.store, obj, rest)

    def create(self, item: dict[str, Any], result: dict[str, Any]) -> None:
        obj = _typed(item)
        _, values = self._values(obj, item)
        result["id"] = self.writer.insert(obj, values)

    def update(self, item: dict[str, Any], result: dict[str, Any]) -> None:
        obj = _typed(item)
        raw_id, values = self._values(obj, item)
        if not (isinstance(raw_id, str) and ID_RE.match(raw_id)):
            raise RecordError("MISSING_ARGUMENT", "Id not specified")
        result["id"] = to_18(raw_id)
        self.writer.update(obj, result["id"], values)

    def delete(self, item: str, result: dict[str, Any]) -> None:
        obj = object_or_404(object_for_id(item) or "")
        result["id"] = to_18(item)
        self.writer.delete(obj, result["id"])

    def refuse(self, item: Any, result: dict[str, Any]) -> None:
        raise method_not_allowed()

    def upserter(self, obj: ObjectDef, key_field: FieldDef) -> Operation:
        def upsert(item: dict[str, Any], result: dict[str, Any]) -> None:
            type_name = (item.get("attributes") or {}).get("type")
            if type_name and get_object(type_name) is not obj:
                raise RecordError("INVALID_TYPE", "Record type does not match")
            key, values = self._values(obj, item)
            if key_field.name != "Id":
                key = get_key(item, key_field.name)
            if key in (None, ""):
                raise RecordError("MISSING_ARGUMENT", f"{key_field.name} not specified")
            record_id, created = self.writer.upsert(obj, key_field, key, values)
            result.update(id=record_id, created=created)

        return upsert


def _result(operation: Operation, item: Any, method: str) -> dict[str, Any]:
    result: dict[str, Any] = {"id": None, "success": False, "errors": []}
    try:
        operation(item, result)
        result["success"] = True
    except RecordError as exc:
        result["errors"] = [exc.collection()]
    except ApiError as exc:
        result["errors"] = [{"statusCode": exc.code, "message": exc.message, "fields": []}]
    if method == "POST" and not result["success"]:
        result["id"] = None
    return result


def _apply(
    app: SalesforceEmulator, call: Call, operation: Operation, records: list[Any], all_or_none: bool
) -> Response:
    with app.store.transaction() as conn:
        conn.execute("SAVEPOINT collection")
        results = [_result(operation, item, call.method) for item in records]
        if all_or_none and not all(r["success"] for r in results):
            conn.execute("ROLLBACK TO collection")
            for r in results:
                if r["success"]:
                    r.update(success=False, id=None, errors=[dict(_ROLLED_BACK)])
                    r.pop("created", None)
        conn.execute("RELEASE collection")
    return json_response(results)


def collection(app: SalesforceEmulator, call: Call) -> Response:
    """``POST`` creates, ``PATCH`` updates (by ``Id``), ``DELETE ?ids=`` deletes."""
    records, all_or_none = _records(call, by_ids=call.method == "DELETE")
    ops = _Operations(app, app.writer(call))
    operation = {"POST": ops.create, "PATCH": ops.update, "DELETE": ops.delete}.get(
        call.method, ops.refuse
    )
    return _apply(app, call, operation, records, all_or_none)


def upsert(app: SalesforceEmulator, call: Call, name: str, field_name: str) -> Response:
    """``PATCH /composite/sobjects/{X}/{externalIdField}``; the body is read (and checked) before
    any other method is refused."""
    records, all_or_none = _records(call, by_ids=False)
    if call.method != "PATCH":
        raise not_found()
    obj = object_or_404(name)
    key_field = obj.field(field_name)
    if key_field is None or not (key_field.external_id or key_field.name == "Id"):
        raise no_external_id(field_name)
    ops = _Operations(app, app.writer(call))
    return _apply(app, call, ops.upserter(obj, key_field), records, all_or_none)


ROUTES = [
    Route("/composite/sobjects", collection),
    Route("/composite/sobjects/<name>/<field_name>", upsert),
]
