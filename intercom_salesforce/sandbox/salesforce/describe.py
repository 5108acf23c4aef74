"""Object metadata of the emulated org: objects, fields, and the describe JSON built from them.

The objects are data: one file per object under ``objects/`` (``Lead.json``...) with the object's
describe properties and a table of its fields, loaded once at import. Field types, lengths and
flags follow the Salesforce Object/Field Reference for a new Developer Edition org (reference
sections 5.2 and 6), plus the custom fields the Intercom sync uses. The same definitions drive
SOQL validation, CSV parsing and per-record validation, so describe never disagrees with what the
emulator enforces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .ids import KEY_PREFIXES

MASTER_RECORD_TYPE_ID = "012000000000000AAA"
STRING_TYPES = {
    "string",
    "textarea",
    "email",
    "phone",
    "url",
    "picklist",
    "multipicklist",
    "combobox",
    "encryptedstring",
}
SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


@dataclass(frozen=True)
class PicklistValue:
    value: str
    active: bool = True
    default: bool = False


@dataclass(frozen=True)
class FieldDef:
    """One field as describe reports it; ``required_on_insert`` follows reference 5.2."""

    name: str
    label: str
    type: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    external_id: bool = False
    unique: bool = False
    case_sensitive: bool = False
    id_lookup: bool = False
    calculated: bool = False
    custom: bool = False
    picklist: tuple[PicklistValue, ...] = ()
    restricted_picklist: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    precision: int = 0
    scale: int = 0
    digits: int = 0

    @property
    def polymorphic(self) -> bool:
        return len(self.reference_to) > 1

    @property
    def required_on_insert(self) -> bool:
        return (
            self.createable
            and not self.nillable
            and not self.defaulted_on_create
            and self.type != "boolean"
        )

    @property
    def is_text(self) -> bool:
        return self.type in STRING_TYPES

    @property
    def indexed(self) -> bool:
        """Usable as upsert key or ``Rel.Field`` column (reference 1.7: External ID/idLookup)."""
        return self.external_id or self.id_lookup

    def default_value(self) -> str | None:
        for pv in self.picklist:
            if pv.default and pv.active:
                return pv.value
        return None

    def active_values(self) -> set[str]:
        return {pv.value for pv in self.picklist if pv.active}


@dataclass
class ObjectDef:
    name: str
    label: str
    label_plural: str
    custom: bool = False
    queue_ownable: bool = False
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    fields: dict[str, FieldDef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_lower = {k.lower(): f for k, f in self.fields.items()}
        self._rel_by_lower = {
            f.relationship_name.lower(): f for f in self.fields.values() if f.relationship_name
        }
        self.indexed_fields: list[FieldDef] = [
            f for f in self.fields.values() if f.indexed and f.name != "Id"
        ]
        # Values Salesforce fills on create when a field is not given (picklist defaults, flags).
        self.create_defaults: list[tuple[str, object]] = []
        for f in self.fields.values():
            if not f.defaulted_on_create:
                continue
            if f.default_value() is not None:
                self.create_defaults.append((f.name, f.default_value()))
            elif f.type == "boolean":
                self.create_defaults.append((f.name, f.name == "IsActive"))

    @property
    def key_prefix(self) -> str:
        return KEY_PREFIXES[self.name]

    def field(self, name: str) -> FieldDef | None:
        """Case-insensitive field lookup (as in SOQL and CSV headers)."""
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        return self._rel_by_lower.get(name.lower())


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
    objects["RecordType"] = replace_fields(record_type, fields_)
    return objects


def replace_fields(obj: ObjectDef, fields_: dict[str, FieldDef]) -> ObjectDef:
    return ObjectDef(
        obj.name,
        obj.label,
        obj.label_plural,
        obj.custom,
        obj.queue_ownable,
        obj.createable,
        obj.updateable,
        obj.deletable,
        fields_,
    )


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
