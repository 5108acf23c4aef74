"""Field and object definitions: what describe reports and the emulator enforces per field.

``FieldDef``/``ObjectDef`` carry describe's properties (type, length, flags, picklist values,
references); they are built from the object files by :mod:`.object_files`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
