"""Salesforce record ids: 15-character case-sensitive bodies with the 3-character checksum suffix.

Key prefixes follow the real org (Account 001, Contact 003, Lead 00Q, ...), so ids produced by the
emulator look and validate like real ones.
"""

from __future__ import annotations

import re

KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Note": "002",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "RecordType": "012",
    "Group": "00G",
    "Lead": "00Q",
    "Task": "00T",
    "QueueSobject": "03g",
    "Case": "500",
    "Intercom_Conversation__c": "a01",
    "BulkJob": "750",
    "QueryLocator": "01g",
    "Organization": "00D",
}
PREFIX_TO_OBJECT = {v: k for k, v in KEY_PREFIXES.items()}
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")


def checksum(id15: str) -> str:
    """The 3-character suffix that makes a 15-character id case-insensitive."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for pos, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << pos
        suffix += _SUFFIX_CHARS[bits]
    return suffix


def make_id(object_name: str, number: int, pod: str = "8d") -> str:
    """Deterministic 18-character id for the ``number``-th record of ``object_name``."""
    prefix = KEY_PREFIXES[object_name]
    body = ""
    n = number
    for _ in range(10):
        n, r = divmod(n, 62)
        body = _ALNUM[r] + body
    id15 = f"{prefix}{pod}{body}"[:15]
    return id15 + checksum(id15)


def to_18(record_id: str) -> str:
    """Normalise a 15- or 18-character id to 18 characters; raises ValueError if malformed."""
    if not ID_RE.match(record_id or ""):
        raise ValueError(f"malformed id: {record_id!r}")
    if len(record_id) == 18:
        return record_id[:15] + checksum(record_id[:15])
    return record_id + checksum(record_id)


def object_for_id(record_id: str) -> str | None:
    """The sObject name an id's key prefix belongs to, if known."""
    return PREFIX_TO_OBJECT.get(record_id[:3]) if record_id else None
