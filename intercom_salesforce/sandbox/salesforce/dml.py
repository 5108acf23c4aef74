"""Insert, update, upsert and delete of single records, shared by REST, Collections and Bulk.

A value of ``None`` in the ``values`` mapping means "set to null" (``#N/A`` in Bulk, JSON ``null``
in REST); fields absent from the mapping are left alone (an empty Bulk cell, reference 1.7).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from .describe import FieldDef, ObjectDef, get_object
from .ids import object_for_id
from .store import SalesforceStore, derive_fields, fill_system_fields
from .validation import (
    RecordError,
    check_reference,
    check_required,
    check_value,
    not_writable,
)
from .values import format_date, format_datetime

DUPLICATE_RULE_OBJECTS = ("Lead", "Contact")


class Writer:
    """Applies record changes for one request or one Bulk job, with the org's rules."""

    def __init__(
        self,
        store: SalesforceStore,
        user_id: str,
        clock: Callable[[], float],
        duplicate_rule: bool = True,
        lock_row_rate: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.user_id = user_id
        self.clock = clock
        self.duplicate_rule = duplicate_rule
        self.lock_row_rate = lock_row_rate
        self.rng = rng or random.Random(0)

    # -- helpers --------------------------------------------------------------------------------
    def _now(self) -> str:
        return format_datetime(self.clock())

    def _check_writable(self, obj: ObjectDef, values: dict[str, Any], insert: bool) -> None:
        for name in values:
            f = obj.field(name)
            assert f is not None
            if (insert and not f.createable) or (not insert and not f.updateable):
                raise not_writable(obj, f, insert)

    def _check_fields(
        self,
        obj: ObjectDef,
        doc: dict[str, Any],
        changed: list[FieldDef],
        own_id: str | None,
        current: dict[str, Any] | None = None,
    ) -> None:
        for f in changed:
            check_value(f, doc.get(f.name))
        for f in changed:
            value = doc.get(f.name)
            if value is not None and f.type == "reference":
                check_reference(self.store, obj, f, value)
        if (
            obj.name == "Task"
            and doc.get("WhatId")
            and object_for_id(doc.get("WhoId") or "") == ("Lead")
        ):
            # A Task about a Lead cannot also be related to another record (reference 9).
            what = obj.field("WhatId")
            assert what is not None
            raise RecordError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{what.label}: id value of incorrect type: {doc['WhatId']}",
                ["WhatId"],
            )
        for f in changed:
            value = doc.get(f.name)
            if f.unique and value is not None and value != (current or {}).get(f.name):
                others = [i for i in self.store.find_ids(obj.name, f.name, value) if i != own_id]
                if others:
                    raise RecordError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {f.name} duplicates value on record with id: "
                        f"{others[0]}",
                    )

    def _check_duplicates(self, obj: ObjectDef, doc: dict[str, Any]) -> None:
        """Standard Lead/Contact duplicate rules: alert on create, matched cross-object on Email.

        Through Bulk there is no allowSave, so the save is blocked (reference 6.7).
        """
        email = doc.get("Email")
        if not (self.duplicate_rule and obj.name in DUPLICATE_RULE_OBJECTS and email):
            return
        for rid in self.store.find_ids_multi(DUPLICATE_RULE_OBJECTS, "Email", email):
            got = self.store.get(rid) if rid.startswith("00Q") else None
            if got is None or not got[1].get("IsConverted"):
                raise RecordError("DUPLICATES_DETECTED", "Use one of these records?")

    def _maybe_lock(self, doc: dict[str, Any]) -> None:
        if self.lock_row_rate and self.rng.random() < self.lock_row_rate:
            parent = (
                doc.get("AccountId") or doc.get("WhatId") or doc.get("OwnerId") or doc.get("Id")
            )
            raise RecordError(
                "UNABLE_TO_LOCK_ROW",
                f"unable to obtain exclusive access to this record or 1 records: {parent}",
            )

    def _derive(self, obj: ObjectDef, doc: dict[str, Any]) -> None:
        derive_fields(obj.name, doc)
        if obj.name == "Task":
            account = None
            what = doc.get("WhatId")
            if what and object_for_id(what) == "Account":
                account = what
            elif what and object_for_id(what) == "Opportunity":
                got = self.store.get(what)
                account = got[1].get("AccountId") if got else None
            elif doc.get("WhoId") and object_for_id(doc["WhoId"]) == "Contact":
                got = self.store.get(doc["WhoId"])
                account = got[1].get("AccountId") if got else None
            doc["AccountId"] = account

    # -- operations -----------------------------------------------------------------------------
    def insert(self, obj: ObjectDef, values: dict[str, Any]) -> str:
        self._check_writable(obj, values, insert=True)
        doc = {k: v for k, v in values.items() if v is not None}
        doc["Id"] = self.store.new_id(obj.name)
        fill_system_fields(obj.name, doc, self._now(), self.user_id)
        check_required(obj, doc)
        changed = [obj.fields[k] for k in values if k in obj.fields]
        self._check_fields(obj, doc, changed, None)
        self._check_duplicates(obj, doc)
        self._maybe_lock(doc)
        self._derive(obj, doc)
        self.store.insert(obj.name, doc)
        return doc["Id"]

    def existing(self, obj: ObjectDef, record_id: str) -> dict[str, Any]:
        got = self.store.get(record_id)
        if got is None or got[0] != obj.name:
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        if got[1].get("IsDeleted"):
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
        return got[1]

    def update(
        self,
        obj: ObjectDef,
        record_id: str,
        values: dict[str, Any],
        skip_writable: tuple[str, ...] = (),
    ) -> None:
        current = self.existing(obj, record_id)
        if obj.name == "Lead" and current.get("IsConverted"):
            # Converted leads are read-only (reference 6.7).
            raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
        self._check_writable(
            obj, {k: v for k, v in values.items() if k not in skip_writable}, insert=False
        )
        doc = dict(current)
        doc.update(values)
        changed = [obj.fields[k] for k in values if k in obj.fields]
        required_nulls = {f.name: None for f in changed if doc.get(f.name) is None}
        if required_nulls:
            check_required(obj, {**doc, **required_nulls})
        self._check_fields(obj, doc, changed, record_id, current)
        self._maybe_lock(doc)
        now = self._now()
        doc["LastModifiedDate"] = now
        doc["SystemModstamp"] = now
        doc["LastModifiedById"] = self.user_id
        self._derive(obj, doc)
        self.store.update(obj.name, doc)

    def upsert(
        self, obj: ObjectDef, ext_field: FieldDef, key: Any, values: dict[str, Any]
    ) -> tuple[str, bool]:
        """Returns (id, created): 0 matches insert, 1 updates, more -> DUPLICATE_EXTERNAL_ID."""
        if ext_field.name == "Id":
            self.update(obj, key, {k: v for k, v in values.items() if k != "Id"})
            return key, False
        matches = self.store.find_ids(obj.name, ext_field.name, key)
        if not matches:
            return self.insert(obj, values), True
        if len(matches) > 1:
            raise RecordError(
                "DUPLICATE_EXTERNAL_ID",
                f"{ext_field.label}: more than one record found for external id field: "
                f"[{', '.join(matches)}]",
                [ext_field.name],
            )
        try:
            self.update(obj, matches[0], values)
        except RecordError as exc:
            exc.record_id = matches[0]
            raise
        return matches[0], False

    def delete(self, obj: ObjectDef, record_id: str, hard: bool = False) -> None:
        current = self.existing(obj, record_id)
        if hard:
            self.store.hard_delete(record_id)
            return
        doc = dict(current)
        now = self._now()
        doc.update(IsDeleted=True, SystemModstamp=now, LastModifiedDate=now)
        self.store.update(obj.name, doc)

    def convert_lead(self, lead_id: str, account_id: str | None = None) -> dict[str, Any]:
        """Seedable lead conversion: new Contact (and Account unless given), lead read-only."""
        lead_obj = get_object("Lead")
        assert lead_obj is not None
        lead = self.existing(lead_obj, lead_id)
        if lead.get("IsConverted"):
            raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
        now = self._now()
        account_obj, contact_obj = get_object("Account"), get_object("Contact")
        assert account_obj is not None and contact_obj is not None
        if account_id is None:
            account_id = self.store.new_id("Account")
            account = {"Id": account_id, "Name": lead.get("Company") or lead.get("LastName")}
            fill_system_fields("Account", account, now, self.user_id)
            self.store.insert("Account", account)
        contact_id = self.store.new_id("Contact")
        contact = {"Id": contact_id, "AccountId": account_id}
        for name in (
            "FirstName",
            "LastName",
            "Email",
            "Phone",
            "Title",
            "Intercom_Contact_Id__c",
            "Intercom_User_Id__c",
            "Intercom_Role__c",
            "Intercom_Last_Seen__c",
            "Intercom_Plan__c",
            "Intercom_Region__c",
        ):
            if lead.get(name) is not None:
                contact[name] = lead[name]
        fill_system_fields("Contact", contact, now, self.user_id)
        # "Map Lead Fields" copies the Intercom ids to the contact (reference 6.7).
        lead_doc = dict(lead)
        lead_doc.update(
            IsConverted=True,
            ConvertedContactId=contact_id,
            ConvertedAccountId=account_id,
            ConvertedDate=format_date(self.clock()),
            Status="Closed - Converted",
            LastModifiedDate=now,
            SystemModstamp=now,
        )
        self.store.update("Lead", lead_doc)
        self.store.insert("Contact", contact)
        return {"leadId": lead_id, "contactId": contact_id, "accountId": account_id}
