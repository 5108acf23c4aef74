"""The org's objects as data: one JSON file per object under ``objects/``, loaded once.

A file holds the object's describe properties (``name``, ``label``, ``labelPlural``, optional
``custom``, ``queueOwnable``, ``createable``, ``updateable``, ``deletable``) and ``fields``, a table
with one row per field in describe's order and describe's property names (``type``, ``length``,
``nillable``, ``externalId``, ``referenceTo``, ``relationshipName``, ``picklistValues`` with
``defaultValue`` and ``inactiveValues``...); a property a row leaves out has describe's usual
default. Adding a field to the emulated org is adding a row.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from .metadata import FieldDef, ObjectDef, PicklistValue

_OBJECTS_DIR = Path(__file__).with_name("objects")
#: describe's name of each ``FieldDef`` flag, as the object files spell them.
_FLAGS = {
    "nillable": "nillable",
    "createable": "createable",
    "updateable": "updateable",
    "defaultedOnCreate": "defaulted_on_create",
    "externalId": "external_id",
    "unique": "unique",
    "caseSensitive": "case_sensitive",
    "idLookup": "id_lookup",
    "calculated": "calculated",
    "custom": "custom",
    "restrictedPicklist": "restricted_picklist",
    "length": "length",
    "precision": "precision",
    "scale": "scale",
    "digits": "digits",
}
_OBJECT_FLAGS = {
    "custom": "custom",
    "queueOwnable": "queue_ownable",
    "createable": "createable",
    "updateable": "updateable",
    "deletable": "deletable",
}


def _picklist(row: dict[str, Any]) -> tuple[PicklistValue, ...]:
    default = row.get("defaultValue")
    active = tuple(PicklistValue(v, True, v == default) for v in row.get("picklistValues", ()))
    return active + tuple(PicklistValue(v, False) for v in row.get("inactiveValues", ()))


def field_from_row(row: dict[str, Any]) -> FieldDef:
    """One row of an object file; an External ID is always an idLookup field, as in Salesforce."""
    flags = {attr: row[key] for key, attr in _FLAGS.items() if key in row}
    if flags.get("external_id"):
        flags["id_lookup"] = True
    return FieldDef(
        row["name"],
        row["label"],
        row["type"],
        picklist=_picklist(row),
        reference_to=tuple(row.get("referenceTo", ())),
        relationship_name=row.get("relationshipName"),
        **flags,
    )


def object_from_file(path: Path) -> ObjectDef:
    """An object file: the object's describe properties and a table of its fields, in order."""
    data = json.loads(path.read_text(encoding="utf-8"))
    flags = {attr: data[key] for key, attr in _OBJECT_FLAGS.items() if key in data}
    fields_ = [field_from_row(row) for row in data["fields"]]
    return ObjectDef(
        data["name"],
        data["label"],
        data["labelPlural"],
        fields={f.name: f for f in fields_},
        **flags,
    )


def _with_record_type_objects(objects: dict[str, ObjectDef]) -> dict[str, ObjectDef]:
    """``RecordType.SobjectType`` offers every object that can have record types (those with a
    ``RecordTypeId`` field), so the object files cannot disagree with it."""
    names = tuple(sorted(o.name for o in objects.values() if "RecordTypeId" in o.fields))
    record_type = objects["RecordType"]
    sobject_type = record_type.fields["SobjectType"]
    values = tuple(PicklistValue(n) for n in names)
    fields_ = {**record_type.fields, "SobjectType": replace(sobject_type, picklist=values)}
    objects["RecordType"] = replace(record_type, fields=fields_)
    return objects


#: The org's objects, in the order describe lists them; each is defined by ``objects/{name}.json``.
ORG_OBJECTS = (
    "User",
    "Group",
    "QueueSobject",
    "RecordType",
    "Account",
    "Contact",
    "Lead",
    "Opportunity",
    "Task",
    "Note",
    "Intercom_Conversation__c",
)


def load_objects(directory: Path = _OBJECTS_DIR) -> dict[str, ObjectDef]:
    """The object files of :data:`ORG_OBJECTS`, keyed by object name."""
    objects = {n: object_from_file(directory / f"{n}.json") for n in ORG_OBJECTS}
    return _with_record_type_objects(objects)
