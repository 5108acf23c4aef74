"""Per-record validation with Salesforce's status codes and message templates (reference 4).

Both the Bulk path (``sf__Error`` text ``CODE:message:fields --``) and the REST path (JSON
``{"statusCode"|"errorCode", "message", "fields"}``) raise :class:`RecordError`, so the two APIs
report the same failure for the same record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .describe import FieldDef, ObjectDef
from .ids import ID_RE, object_for_id, to_18
from .values import EMAIL_RE, BadValue, parse_for_field

if TYPE_CHECKING:
    from .store import SalesforceStore


class RecordError(Exception):
    """A per-record failure; ``str()`` is the Bulk ``sf__Error`` text."""

    def __init__(self, code: str, message: str, fields: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = list(fields)
        self.record_id = ""  # the record concerned, when known (Bulk ``sf__Id`` of a failure)

    def bulk_text(self) -> str:
        """``CODE:message:f1,f2 --``, or ``CODE:message:--`` without fields (reference 4.1)."""
        tail = f"{','.join(self.fields)} --" if self.fields else "--"
        return f"{self.code}:{self.message}:{tail}"

    def __str__(self) -> str:
        return self.bulk_text()

    def rest(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.code, "fields": self.fields}

    def collection(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


def invalid_type(f: FieldDef, text: str) -> RecordError:
    if f.type in ("id", "reference"):
        return RecordError(
            "MALFORMED_ID", f"{f.label}: id value of incorrect type: {text}", [f.name]
        )
    return RecordError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{f.label}: value not of required type: {text}",
        [f.name],
    )


def convert(f: FieldDef, text: str) -> Any:
    """Text -> stored value, raising the status code Salesforce uses for a bad literal."""
    try:
        return parse_for_field(f, text)
    except BadValue as exc:
        raise invalid_type(f, text) from exc


def not_writable(obj: ObjectDef, f: FieldDef, insert: bool) -> RecordError:
    if f.name == "Id" and insert:
        return RecordError(
            "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
        )
    return RecordError(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {f.name}. Please check the security settings of this "
        "field and verify that it is read/write for your profile or permission set.",
        [f.name],
    )


def check_required(obj: ObjectDef, doc: dict[str, Any]) -> None:
    missing = [
        f.name
        for f in obj.fields.values()
        if f.required_on_insert and doc.get(f.name) in (None, "")
    ]
    # Defaulted-but-required fields (Lead.Status, Task.Priority) cannot be nulled either.
    missing += [
        f.name
        for f in obj.fields.values()
        if f.createable
        and not f.nillable
        and f.defaulted_on_create
        and f.type != "boolean"
        and f.name in doc
        and doc[f.name] is None
        and f.name not in missing
    ]
    if missing:
        raise RecordError(
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )


def check_value(f: FieldDef, value: Any) -> None:
    """Length, email syntax and restricted picklist checks of one non-null value."""
    if value is None:
        return
    if f.is_text and f.length and isinstance(value, str) and len(value) > f.length:
        raise RecordError(
            "STRING_TOO_LONG",
            f"{f.label}: data value too large: {value} (max length={f.length})",
            [f.name],
        )
    if f.type == "email" and not EMAIL_RE.match(str(value)):
        raise RecordError(
            "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", [f.name]
        )
    if f.restricted_picklist:
        # Inactive values are rejected like unknown ones (reference 4.2).
        parts = str(value).split(";") if f.type == "multipicklist" else [str(value)]
        active = f.active_values()
        for part in parts:
            if part not in active:
                raise RecordError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{f.label}: bad value for restricted picklist field: {part}",
                    [f.name],
                )


def check_reference(store: SalesforceStore, obj: ObjectDef, f: FieldDef, value: str) -> None:
    """Lookup/owner/record-type integrity (reference 4.2 and 6.6)."""
    target = object_for_id(value)
    if f.name == "RecordTypeId":
        got = store.get(value)
        if (
            target != "RecordType"
            or got is None
            or got[1].get("SobjectType") != obj.name
            or not got[1].get("IsActive", True)
        ):
            raise RecordError(
                "INVALID_CROSS_REFERENCE_KEY",
                f"{f.label}: this ID value isn't valid for the user: {value}",
                [f.name],
            )
        return
    if target not in f.reference_to:
        # e.g. a queue id on an object only Users may own (reference 6.4, Task "Assigned To").
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION", f"{f.label}: id value of incorrect type: {value}", [f.name]
        )
    got = store.get(value)
    if got is None:
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
    if got[1].get("IsDeleted"):
        raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [f.name])
    if f.name == "OwnerId" and target == "Group":
        # Only queues that list this object in QueueSobject may own its records (reference 6.6).
        queue_ok = got[1].get("Type") == "Queue" and bool(
            store.records_of(
                "QueueSobject",
                "json_extract(doc,'$.QueueId') = ? AND json_extract(doc,'$.SobjectType') = ?",
                (value, obj.name),
            )
        )
        if not queue_ok:
            raise RecordError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{f.label}: id value of incorrect type: {value}",
                [f.name],
            )
    if target == "Lead" and got[1].get("IsConverted"):
        raise RecordError(
            "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [f.name]
        )


def parse_id(obj: ObjectDef, text: str, label: str | None = None) -> str:
    """A record id from the ``Id`` column; wrong syntax or key prefix -> MALFORMED_ID."""
    if not ID_RE.match(text or "") or object_for_id(text) != obj.name:
        raise RecordError(
            "MALFORMED_ID",
            f"{label or obj.label + ' ID'}: id value of incorrect type: {text}",
            ["Id"],
        )
    return to_18(text)
