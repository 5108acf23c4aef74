"""Conversions between wire text (CSV cells, JSON values, SOQL literals) and stored values.

Stored datetimes are always UTC in Salesforce's JSON form ``yyyy-MM-ddTHH:mm:ss.SSS+0000``
(reference 5.3), so they sort and compare correctly as plain strings inside SQLite; dates are
``yyyy-MM-dd``.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone

from .describe import FieldDef
from .ids import ID_RE, to_18

_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|[+-]\d{2}:?\d{2})$"
)
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_INT_RE = re.compile(r"^[+-]?\d+$")
_DOUBLE_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
# Salesforce's email syntax check, approximated: local part of the usual atext characters and dots,
# a domain with at least one dot and an alphabetic top-level label.
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$"
)


class BadValue(ValueError):
    """A literal that does not fit the field type (maps to INVALID_TYPE_ON_FIELD_IN_RECORD etc.)."""


def format_datetime(ts: float) -> str:
    """Epoch seconds -> ``2024-01-03T23:52:01.000+0000`` (JobInfo dates and record datetimes)."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def format_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def parse_datetime(text: str) -> str:
    """Accept the formats of reference 1.7 and return the normalised stored form."""
    m = _DATETIME_RE.match(text.strip())
    if not m:
        raise BadValue(text)
    year, month, day, hh, mm, ss, frac, zone = m.groups()
    try:
        if zone == "Z":
            tz = UTC
        else:
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        micro = int((frac or "0").ljust(6, "0")[:6])
        dt = datetime(int(year), int(month), int(day), int(hh), int(mm), int(ss), micro, tz)
    except ValueError as exc:
        raise BadValue(text) from exc
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def parse_date(text: str) -> str:
    m = _DATE_RE.match(text.strip())
    if not m:
        raise BadValue(text)
    try:
        datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise BadValue(text) from exc
    return text.strip()


def parse_boolean(text: str) -> bool:
    """xsd:boolean plus Python's ``True``/``False`` (reference 1.7: normalise case)."""
    low = text.strip().lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise BadValue(text)


def parse_for_field(f: FieldDef, text: str) -> object:
    """Convert one non-empty text value to the stored value for ``f``; raises :class:`BadValue`."""
    t = f.type
    if t == "boolean":
        return parse_boolean(text)
    if t == "int":
        if not _INT_RE.match(text.strip()):
            raise BadValue(text)
        return int(text)
    if t in ("double", "currency", "percent"):
        if not _DOUBLE_RE.match(text.strip()):
            raise BadValue(text)
        value = float(text)
        if math.isinf(value) or math.isnan(value):
            raise BadValue(text)
        return value
    if t == "date":
        return parse_date(text)
    if t == "datetime":
        return parse_datetime(text)
    if t in ("id", "reference"):
        if not ID_RE.match(text):
            raise BadValue(text)
        return to_18(text)
    if t == "email":
        return text.lower()
    return text


def json_to_text(value: object) -> str | None:
    """A JSON request value as the text the CSV path would have carried (REST shares validation)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def csv_text(value: object) -> str:
    """Stored value -> Bulk query CSV cell text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return str(value)
