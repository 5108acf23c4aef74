"""Object metadata of the emulated org: objects, fields, and the describe JSON built from them.

Field types, lengths and flags follow the Salesforce Object/Field Reference as summarised in
reference sections 5.2 and 6 (Lead, Contact, Account, Task, Note, queues, record types), plus the
custom fields the Intercom sync uses. The same definitions drive SOQL validation, CSV parsing and
per-record validation, so describe never disagrees with what the emulator enforces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


def _pl(*values: str, default: str | None = None, inactive: tuple[str, ...] = ()) -> tuple:
    return tuple(PicklistValue(v, True, v == default) for v in values) + tuple(
        PicklistValue(v, False) for v in inactive
    )


def _s(name: str, label: str, length: int = 255, **kw: Any) -> FieldDef:
    return FieldDef(name, label, kw.pop("type", "string"), length, **kw)


def _ref(name: str, label: str, to: tuple[str, ...], rel: str | None, **kw: Any) -> FieldDef:
    return FieldDef(name, label, "reference", 18, reference_to=to, relationship_name=rel, **kw)


def _ro(f: FieldDef) -> FieldDef:
    """A read-only (system-maintained) copy of a field."""
    from dataclasses import replace

    return replace(f, createable=False, updateable=False)


def _system_fields(label: str, owner: tuple[str, ...] | None, name_field: FieldDef | None) -> list:
    out = [
        FieldDef(
            "Id",
            f"{label} ID",
            "id",
            18,
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
            id_lookup=True,
        ),
        FieldDef(
            "IsDeleted",
            "Deleted",
            "boolean",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
        ),
    ]
    if name_field is not None:
        out.append(name_field)
    if owner is not None:
        out.append(
            _ref("OwnerId", "Owner ID", owner, "Owner", nillable=False, defaulted_on_create=True)
        )
    for fname, flabel in (
        ("CreatedDate", "Created Date"),
        ("LastModifiedDate", "Last Modified Date"),
        ("SystemModstamp", "System Modstamp"),
    ):
        out.append(
            FieldDef(
                fname,
                flabel,
                "datetime",
                nillable=False,
                createable=False,
                updateable=False,
                defaulted_on_create=True,
            )
        )
    for fname, flabel, rel in (
        ("CreatedById", "Created By ID", "CreatedBy"),
        ("LastModifiedById", "Last Modified By ID", "LastModifiedBy"),
    ):
        out.append(
            _ref(
                fname,
                flabel,
                ("User",),
                rel,
                nillable=False,
                createable=False,
                updateable=False,
                defaulted_on_create=True,
            )
        )
    return out


def _intercom_person_fields() -> list[FieldDef]:
    return [
        _s(
            "Intercom_Contact_Id__c",
            "Intercom Contact Id",
            255,
            external_id=True,
            unique=True,
            custom=True,
        ),
        _s("Intercom_User_Id__c", "Intercom User Id", 255, external_id=True, custom=True),
        FieldDef(
            "Intercom_Role__c",
            "Intercom Role",
            "picklist",
            255,
            custom=True,
            picklist=_pl("user", "lead"),
        ),
        FieldDef("Intercom_Last_Seen__c", "Intercom Last Seen", "datetime", custom=True),
        FieldDef(
            "Intercom_Plan__c",
            "Intercom Plan",
            "picklist",
            255,
            custom=True,
            restricted_picklist=True,
            picklist=_pl("Free", "Starter", "Pro", "Enterprise", inactive=("Legacy",)),
        ),
        _s("Intercom_Region__c", "Intercom Region", 40, custom=True),
    ]


INDUSTRIES = _pl(
    "Agriculture",
    "Banking",
    "Education",
    "Energy",
    "Finance",
    "Healthcare",
    "Manufacturing",
    "Media",
    "Retail",
    "Technology",
    "Telecommunications",
    "Other",
)
USER_OR_QUEUE = ("Group", "User")


def _obj(name: str, label: str, plural: str, fields_: list[FieldDef], **kw: Any) -> ObjectDef:
    return ObjectDef(name, label, plural, fields={f.name: f for f in fields_}, **kw)


def _full_name() -> FieldDef:
    return _ro(
        FieldDef(
            "Name",
            "Full Name",
            "string",
            121,
            calculated=True,
            nillable=False,
            defaulted_on_create=True,
        )
    )


def _build() -> dict[str, ObjectDef]:
    objs: list[ObjectDef] = []
    objs.append(
        _obj(
            "User",
            "User",
            "Users",
            _system_fields("User", None, _full_name())
            + [
                _s("Username", "Username", 80, nillable=False, unique=True, id_lookup=True),
                _s("FirstName", "First Name", 40),
                _s("LastName", "Last Name", 80, nillable=False),
                _s("Email", "Email", 128, type="email", nillable=False),
                _s("Alias", "Alias", 8, nillable=False),
                FieldDef("IsActive", "Active", "boolean", nillable=False, defaulted_on_create=True),
            ],
        )
    )
    objs.append(
        _obj(
            "Group",
            "Group",
            "Groups",
            _system_fields("Group", None, _s("Name", "Name", 40, nillable=False))
            + [
                _s("DeveloperName", "Developer Name", 80, nillable=False),
                FieldDef(
                    "Type",
                    "Type",
                    "picklist",
                    40,
                    nillable=False,
                    restricted_picklist=True,
                    picklist=_pl("Regular", "Role", "Queue", "Organization"),
                ),
                _s("Email", "Email", 255, type="email"),
            ],
        )
    )
    objs.append(
        _obj(
            "QueueSobject",
            "Queue sObject",
            "Queue sObjects",
            _system_fields("Queue sObject", None, None)
            + [
                _ref("QueueId", "Group ID", ("Group",), "Queue", nillable=False, updateable=False),
                FieldDef(
                    "SobjectType",
                    "sObject Type",
                    "picklist",
                    40,
                    nillable=False,
                    updateable=False,
                    picklist=_pl("Lead", "Case", "Intercom_Conversation__c"),
                ),
            ],
            updateable=False,
        )
    )
    objs.append(
        _obj(
            "RecordType",
            "Record Type",
            "Record Types",
            _system_fields("Record Type", None, _s("Name", "Record Type Name", 80, nillable=False))
            + [
                _s("DeveloperName", "Record Type Name", 80, nillable=False),
                FieldDef(
                    "SobjectType",
                    "sObject Type Name",
                    "picklist",
                    40,
                    nillable=False,
                    picklist=_pl("Account", "Lead"),
                ),
                FieldDef("IsActive", "Active", "boolean", nillable=False, defaulted_on_create=True),
                _s("Description", "Description", 255),
            ],
        )
    )
    rt_ref = _ref("RecordTypeId", "Record Type ID", ("RecordType",), "RecordType")
    objs.append(
        _obj(
            "Account",
            "Account",
            "Accounts",
            _system_fields("Account", ("User",), _s("Name", "Account Name", 255, nillable=False))
            + [
                rt_ref,
                FieldDef(
                    "Type",
                    "Account Type",
                    "picklist",
                    255,
                    picklist=_pl(
                        "Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"
                    ),
                ),
                _s("Website", "Website", 255, type="url"),
                _s("Phone", "Account Phone", 40, type="phone"),
                FieldDef("Industry", "Industry", "picklist", 255, picklist=INDUSTRIES),
                FieldDef("NumberOfEmployees", "Employees", "int", digits=8),
                FieldDef("AnnualRevenue", "Annual Revenue", "currency", precision=18),
                FieldDef("Description", "Account Description", "textarea", 32000),
                _s(
                    "Intercom_Company_Id__c",
                    "Intercom Company Id",
                    255,
                    external_id=True,
                    unique=True,
                    custom=True,
                ),
            ],
        )
    )
    objs.append(
        _obj(
            "Contact",
            "Contact",
            "Contacts",
            _system_fields("Contact", ("User",), _full_name())
            + [
                _s("FirstName", "First Name", 40),
                _s("LastName", "Last Name", 80, nillable=False),
                _ref("AccountId", "Account ID", ("Account",), "Account"),
                _s("Email", "Email", 80, type="email", id_lookup=True),
                _s("Phone", "Business Phone", 40, type="phone"),
                _s("Title", "Title", 128),
                FieldDef("Description", "Contact Description", "textarea", 32000),
                *_intercom_person_fields(),
            ],
        )
    )
    objs.append(
        _obj(
            "Lead",
            "Lead",
            "Leads",
            _system_fields("Lead", USER_OR_QUEUE, _full_name())
            + [
                rt_ref,
                _s("FirstName", "First Name", 40),
                _s("LastName", "Last Name", 80, nillable=False),
                _s("Company", "Company", 255, nillable=False),
                _s("Email", "Email", 80, type="email", id_lookup=True),
                _s("Phone", "Phone", 40, type="phone"),
                _s("Title", "Title", 128),
                _s("Website", "Website", 255, type="url"),
                FieldDef(
                    "Status",
                    "Status",
                    "picklist",
                    255,
                    nillable=False,
                    defaulted_on_create=True,
                    picklist=_pl(
                        "Open - Not Contacted",
                        "Working - Contacted",
                        "Marketing Qualified",
                        "Closed - Converted",
                        "Closed - Not Converted",
                        default="Open - Not Contacted",
                    ),
                ),
                FieldDef(
                    "LeadSource",
                    "Lead Source",
                    "picklist",
                    255,
                    picklist=_pl("Web", "Intercom", "Phone Inquiry", "Partner Referral", "Other"),
                ),
                FieldDef("Industry", "Industry", "picklist", 255, picklist=INDUSTRIES),
                FieldDef("Rating", "Rating", "picklist", 255, picklist=_pl("Hot", "Warm", "Cold")),
                FieldDef("Description", "Description", "textarea", 32000),
                _ro(
                    FieldDef(
                        "IsConverted",
                        "Converted",
                        "boolean",
                        nillable=False,
                        defaulted_on_create=True,
                    )
                ),
                _ro(
                    _ref(
                        "ConvertedContactId",
                        "Converted Contact ID",
                        ("Contact",),
                        "ConvertedContact",
                    )
                ),
                _ro(
                    _ref(
                        "ConvertedAccountId",
                        "Converted Account ID",
                        ("Account",),
                        "ConvertedAccount",
                    )
                ),
                _ro(FieldDef("ConvertedDate", "Converted Date", "date")),
                *_intercom_person_fields(),
            ],
            queue_ownable=True,
        )
    )
    objs.append(
        _obj(
            "Opportunity",
            "Opportunity",
            "Opportunities",
            _system_fields("Opportunity", ("User",), _s("Name", "Name", 120, nillable=False))
            + [
                _ref("AccountId", "Account ID", ("Account",), "Account"),
                FieldDef(
                    "StageName",
                    "Stage",
                    "picklist",
                    255,
                    nillable=False,
                    picklist=_pl(
                        "Prospecting",
                        "Qualification",
                        "Proposal/Price Quote",
                        "Negotiation/Review",
                        "Closed Won",
                        "Closed Lost",
                    ),
                ),
                FieldDef("CloseDate", "Close Date", "date", nillable=False),
                FieldDef("Amount", "Amount", "currency", precision=18, scale=2),
                _ro(
                    FieldDef(
                        "IsClosed", "Closed", "boolean", nillable=False, defaulted_on_create=True
                    )
                ),
                _ro(FieldDef("IsWon", "Won", "boolean", nillable=False, defaulted_on_create=True)),
            ],
        )
    )
    task_owner = _ref(
        "OwnerId", "Assigned To", ("User",), "Owner", nillable=False, defaulted_on_create=True
    )
    task_fields = [f for f in _system_fields("Activity", None, None)]
    task_fields.insert(2, task_owner)
    objs.append(
        _obj(
            "Task",
            "Task",
            "Tasks",
            task_fields
            + [
                _ref("WhoId", "Name ID", ("Contact", "Lead"), "Who"),
                _ref(
                    "WhatId",
                    "Related To ID",
                    ("Account", "Opportunity", "Intercom_Conversation__c"),
                    "What",
                ),
                _ro(_ref("AccountId", "Account ID", ("Account",), "Account")),
                FieldDef(
                    "Subject",
                    "Subject",
                    "combobox",
                    255,
                    picklist=_pl("Call", "Send Letter", "Send Quote", "Other"),
                ),
                FieldDef("ActivityDate", "Due Date Only", "date"),
                FieldDef(
                    "Status",
                    "Status",
                    "picklist",
                    255,
                    nillable=False,
                    defaulted_on_create=True,
                    picklist=_pl(
                        "Not Started",
                        "In Progress",
                        "Completed",
                        "Waiting on someone else",
                        "Deferred",
                        default="Not Started",
                    ),
                ),
                FieldDef(
                    "Priority",
                    "Priority",
                    "picklist",
                    255,
                    nillable=False,
                    defaulted_on_create=True,
                    picklist=_pl("High", "Normal", "Low", default="Normal"),
                ),
                _ro(
                    FieldDef(
                        "IsClosed", "Closed", "boolean", nillable=False, defaulted_on_create=True
                    )
                ),
                FieldDef("Description", "Comments", "textarea", 32000),
                FieldDef(
                    "Type",
                    "Type",
                    "picklist",
                    255,
                    picklist=_pl("Call", "Email", "Meeting", "Other"),
                ),
                FieldDef(
                    "TaskSubtype",
                    "Task Subtype",
                    "picklist",
                    255,
                    updateable=False,
                    picklist=_pl("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"),
                ),
                _s(
                    "Intercom_Conversation_Id__c",
                    "Intercom Conversation Id",
                    255,
                    external_id=True,
                    unique=True,
                    custom=True,
                ),
                _s("Intercom_Link__c", "Intercom Link", 255, type="url", custom=True),
            ],
        )
    )
    objs.append(
        _obj(
            "Note",
            "Note",
            "Notes",
            _system_fields("Note", ("User",), None)
            + [
                _ref(
                    "ParentId",
                    "Parent ID",
                    ("Account", "Contact", "Lead", "Opportunity", "Intercom_Conversation__c"),
                    "Parent",
                    nillable=False,
                    updateable=False,
                ),
                _s("Title", "Title", 80, nillable=False),
                FieldDef("Body", "Body", "textarea", 32000),
                FieldDef(
                    "IsPrivate", "Private", "boolean", nillable=False, defaulted_on_create=True
                ),
            ],
        )
    )
    conv_name = _s("Name", "Intercom Conversation Name", 80, defaulted_on_create=True)
    objs.append(
        _obj(
            "Intercom_Conversation__c",
            "Intercom Conversation",
            "Intercom Conversations",
            _system_fields("Record", USER_OR_QUEUE, conv_name)
            + [
                _s(
                    "Intercom_Conversation_Id__c",
                    "Intercom Conversation Id",
                    255,
                    external_id=True,
                    unique=True,
                    custom=True,
                ),
                _ref("Contact__c", "Contact", ("Contact",), "Contact__r", custom=True),
                _ref("Lead__c", "Lead", ("Lead",), "Lead__r", custom=True),
                _ref("Account__c", "Account", ("Account",), "Account__r", custom=True),
                FieldDef(
                    "State__c",
                    "State",
                    "picklist",
                    255,
                    custom=True,
                    picklist=_pl("open", "closed", "snoozed"),
                ),
                FieldDef("Transcript__c", "Transcript", "textarea", 32000, custom=True),
                _s("Link__c", "Link", 255, type="url", custom=True),
                _s("Tags__c", "Tags", 255, custom=True),
                FieldDef("Opened_At__c", "Opened At", "datetime", custom=True),
                FieldDef("Closed_At__c", "Closed At", "datetime", custom=True),
            ],
            custom=True,
            queue_ownable=True,
        )
    )
    return {o.name: o for o in objs}


OBJECTS: dict[str, ObjectDef] = _build()
_OBJECTS_LOWER = {k.lower(): v for k, v in OBJECTS.items()}
RECORD_TYPE_OBJECTS = ("Account", "Lead")


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
