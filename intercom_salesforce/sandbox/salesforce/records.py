"""JSON records in and out of the REST resources (sObjects and sObject Collections).

Field names are case-insensitive in Salesforce's REST API as in SOQL, so every lookup here goes
through :meth:`ObjectDef.field`; ``attributes`` is metadata, never a field.
"""

from __future__ import annotations

from typing import Any

from .describe import FieldDef, ObjectDef, get_object
from .errors import ApiError
from .store import SalesforceStore
from .validation import RecordError, convert
from .values import json_to_text


def no_such_column(name: str, obj: ObjectDef) -> ApiError:
    return ApiError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}")


def pop_key(record: dict[str, Any], name: str) -> Any:
    """Remove and return ``record[name]`` whatever the case of the key (``id``, ``ID``, ``Id``)."""
    for key in list(record):
        if key.lower() == name.lower():
            return record.pop(key)
    return None


def get_key(record: dict[str, Any], name: str) -> Any:
    """``record[name]`` whatever the case of the key."""
    return next((v for k, v in record.items() if k.lower() == name.lower()), None)


def _parent_id(
    store: SalesforceStore, obj: ObjectDef, key: str, raw: dict[str, Any]
) -> tuple[FieldDef, str]:
    """``{"Rel": {"attributes": ..., "ExtField": v}}`` -> (lookup field, parent id)."""
    rel = obj.relationship(key)
    if rel is None:
        raise no_such_column(key, obj)
    type_name = (raw.get("attributes") or {}).get("type") or rel.reference_to[0]
    parent = get_object(type_name)
    items = [(k, v) for k, v in raw.items() if k.lower() != "attributes"]
    if parent is None or parent.name not in rel.reference_to or len(items) != 1:
        raise ApiError(400, "INVALID_FIELD", f"Invalid foreign key relationship name {key}")
    name, value = items[0]
    pf = parent.field(name)
    if pf is None or not pf.indexed:
        raise no_such_column(name, parent)
    matches = store.find_ids(parent.name, pf.name, value)
    if len(matches) != 1:
        raise RecordError(
            "INVALID_FIELD",
            f"Foreign key external ID: {value} not found for field {pf.name} in entity "
            f"{parent.name}",
        )
    return rel, matches[0]


def values_from_json(
    store: SalesforceStore, obj: ObjectDef, body: dict[str, Any]
) -> dict[str, Any]:
    """JSON record -> field values; nested ``{"Rel": {"ExtField": v}}`` resolves a parent."""
    values: dict[str, Any] = {}
    for key, raw in body.items():
        if key.lower() == "attributes":
            continue
        if isinstance(raw, dict):
            rel, parent_id = _parent_id(store, obj, key, raw)
            values[rel.name] = parent_id
            continue
        f: FieldDef | None = obj.field(key)
        if f is None:
            raise no_such_column(key, obj)
        text = json_to_text(raw)
        values[f.name] = None if text in (None, "") else convert(f, text)
    return values


def record_json(
    obj: ObjectDef, doc: dict[str, Any], version: str, only: list[str] | None = None
) -> dict[str, Any]:
    """A record as ``GET /sobjects/{X}/{id}`` answers it (``only``: the ``fields`` parameter)."""
    out: dict[str, Any] = {
        "attributes": {
            "type": obj.name,
            "url": f"/services/data/v{version}/sobjects/{obj.name}/{doc['Id']}",
        }
    }
    names = [f.name for f in obj.fields.values()]
    if only:
        wanted = {o.lower() for o in only}
        names = [n for n in names if n.lower() in wanted]
    for name in names:
        out[name] = doc.get(name)
    return out
