"""Object metadata of the emulated org and the describe JSON built from it.

The objects are data (see :mod:`.object_files`): one file per object under ``objects/`` with the
object's describe properties and a table of its fields. Field types, lengths and flags follow the
Salesforce Object/Field Reference for a new Developer Edition org (reference sections 5.2 and 6),
plus the custom fields the Intercom sync uses. The same definitions drive SOQL validation, CSV
parsing and per-record validation, so describe never disagrees with what the emulator enforces.
"""

from __future__ import annotations

from typing import Any

from .metadata import (
    MASTER_RECORD_TYPE_ID,
    SOAP_TYPES,
    STRING_TYPES,
    FieldDef,
    ObjectDef,
    PicklistValue,
)
from .object_files import ORG_OBJECTS, load_objects

OBJECTS: dict[str, ObjectDef] = load_objects()
_OBJECTS_LOWER = {k.lower(): v for k, v in OBJECTS.items()}
RECORD_TYPE_OBJECTS = tuple(n for n, o in OBJECTS.items() if "RecordTypeId" in o.fields)


def get_object(name: str) -> ObjectDef | None:
    """Case-insensitive object lookup (SOQL ``FROM contact`` works in Salesforce)."""
    return _OBJECTS_LOWER.get((name or "").lower())


def _urls(version: str, name: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def global_describe(version: str) -> dict[str, Any]:
    """Body of ``GET /sobjects`` (reference 5.2)."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [
            {
                "name": o.name,
                "label": o.label,
                "labelPlural": o.label_plural,
                "keyPrefix": o.key_prefix,
                "custom": o.custom,
                "createable": o.createable,
                "updateable": o.updateable,
                "deletable": o.deletable,
                "queryable": True,
                "searchable": True,
                "retrieveable": True,
                "layoutable": True,
                "urls": _urls(version, o.name),
            }
            for o in OBJECTS.values()
        ],
    }


def field_describe(f: FieldDef) -> dict[str, Any]:
    byte_length = f.length * 3 if f.is_text or f.type in ("id", "reference") else 0
    return {
        "name": f.name,
        "label": f.label,
        "type": f.type,
        "length": f.length,
        "byteLength": byte_length,
        "precision": f.precision,
        "scale": f.scale,
        "digits": f.digits,
        "nillable": f.nillable,
        "createable": f.createable,
        "updateable": f.updateable,
        "defaultedOnCreate": f.defaulted_on_create,
        "calculated": f.calculated,
        "custom": f.custom,
        "externalId": f.external_id,
        "unique": f.unique,
        "caseSensitive": f.case_sensitive,
        "idLookup": f.id_lookup,
        "nameField": f.name == "Name",
        "namePointing": f.polymorphic and f.name == "OwnerId",
        "restrictedPicklist": f.restricted_picklist,
        "picklistValues": [
            {
                "value": p.value,
                "label": p.value,
                "active": p.active,
                "defaultValue": p.default,
                "validFor": None,
            }
            for p in f.picklist
        ],
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "polymorphicForeignKey": f.polymorphic,
        "cascadeDelete": False,
        "filterable": True,
        "sortable": f.type != "textarea",
        "groupable": f.is_text,
        "soapType": SOAP_TYPES.get(f.type, "xsd:string"),
        "defaultValue": f.default_value(),
        "autoNumber": False,
        "htmlFormatted": False,
        "dependentPicklist": False,
    }


def object_describe(
    obj: ObjectDef, version: str, record_types: list[dict[str, Any]]
) -> dict[str, Any]:
    """Body of ``GET /sobjects/{X}/describe``; ``record_types`` are the org's RecordType rows."""
    rt_infos: list[dict[str, Any]] = []
    if obj.field("RecordTypeId") is not None:
        active = [r for r in record_types if r.get("IsActive", True)]
        for i, rt in enumerate(active):
            rt_infos.append(
                {
                    "recordTypeId": rt["Id"],
                    "name": rt.get("Name"),
                    "developerName": rt.get("DeveloperName"),
                    "active": True,
                    "available": True,
                    "defaultRecordTypeMapping": i == 0,
                    "master": False,
                    "urls": {
                        "layout": f"/services/data/v{version}/sobjects/{obj.name}/describe/"
                        f"layouts/{rt['Id']}"
                    },
                }
            )
    rt_infos.append(
        {
            "recordTypeId": MASTER_RECORD_TYPE_ID,
            "name": "Master",
            "developerName": "Master",
            "active": True,
            "available": True,
            "defaultRecordTypeMapping": not rt_infos,
            "master": True,
            "urls": {
                "layout": f"/services/data/v{version}/sobjects/{obj.name}/describe/layouts/"
                f"{MASTER_RECORD_TYPE_ID}"
            },
        }
    )
    children = []
    for child in OBJECTS.values():
        for f in child.fields.values():
            if obj.name in f.reference_to and f.name not in ("CreatedById", "LastModifiedById"):
                children.append(
                    {
                        "childSObject": child.name,
                        "field": f.name,
                        "relationshipName": None,
                        "cascadeDelete": False,
                    }
                )
    return {
        "name": obj.name,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "keyPrefix": obj.key_prefix,
        "custom": obj.custom,
        "createable": obj.createable,
        "updateable": obj.updateable,
        "deletable": obj.deletable,
        "queryable": True,
        "searchable": True,
        "retrieveable": True,
        "layoutable": True,
        "fields": [field_describe(f) for f in obj.fields.values()],
        "recordTypeInfos": rt_infos,
        "childRelationships": children,
        "urls": _urls(version, obj.name),
    }


__all__ = [
    "MASTER_RECORD_TYPE_ID",
    "OBJECTS",
    "ORG_OBJECTS",
    "RECORD_TYPE_OBJECTS",
    "SOAP_TYPES",
    "STRING_TYPES",
    "FieldDef",
    "ObjectDef",
    "PicklistValue",
    "field_describe",
    "get_object",
    "global_describe",
    "object_describe",
]
