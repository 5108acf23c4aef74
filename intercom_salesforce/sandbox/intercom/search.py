"""Translate Intercom's search DSL into a SQLite WHERE clause with bound parameters.

Rules come from the 2.14 description of ``POST /contacts/search`` and ``POST /conversations/search``
(reference §2.3, §2.4, §4.1): a query is one filter ``{field, operator, value}`` or a group
``{operator: AND|OR, value: [...]}``; at most 2 levels of nesting and 15 filters per group; the
operator must suit the field's type and the value must match it, or the query fails with 400.

Contact timestamps match **by calendar day in the workspace timezone** in 2.14 (§2.4): ``=`` is the
whole day of the given instant, ``>`` starts at the next day, ``<`` ends before that day, and the
other operators are errors. ``exact`` mode reproduces Preview: exact seconds for standard timestamps
while date custom attributes stay day-granular in UTC.

String fields also take ``>`` and ``<``. The operator tables list them for integers and dates only,
yet Intercom serves them on strings by string comparison (clients page conversations with
``{"field": "id", "operator": ">", "value": ""}``). The reference gives no collation, so the
emulator takes the plainest reading and applies it alike to contacts and conversations:

* order is the code-point order of the text (SQLite's binary order of UTF-8), never numeric:
  ids are strings in both "Accepted Fields" tables, so ``"10" < "9"``;
* a field whose ``=`` ignores case (``email``, ``email_domain``) orders without case too, so
  ``<``, ``=`` and ``>`` split its values consistently;
* both are strict on every entity: the "(or equal)" of the conversations table is written for its
  integer and date types (see ``DateRules``), and a strict ``id > last seen id`` is what lets a
  client page without seeing the boundary record twice;
* a record without a value matches neither (``""`` sorts before every other string, so
  ``> ""`` serves every record holding a value and ``< ""`` none);
* ``source.body`` compares word by word, as its ``=`` does (§4.1);
* ``>=`` and ``<=`` stay integer-only, as the contacts table lists them.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

MAX_NESTING = 2
MAX_FILTERS_PER_GROUP = 15
MAX_PER_PAGE = 150
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
STRING_OPS = frozenset({"=", "!=", "IN", "NIN", "~", "!~", "^", "$", ">", "<"})
NUMBER_OPS = frozenset({"=", "!=", "IN", "NIN", "<", ">", "<=", ">="})
BOOLEAN_OPS = frozenset({"=", "!=", "IN", "NIN"})
DAY_DATE_OPS = frozenset({"=", "<", ">"})
EXACT_DATE_OPS = frozenset({"=", "!=", "<", ">", "<=", ">="})
LINK_OPS = frozenset({"=", "!=", "IN", "NIN"})
TAG_OPS = frozenset({"=", "!="})
ALL_OPS = STRING_OPS | NUMBER_OPS
INVALID_CURSOR = (
    "Invalid starting_after param. Please try again using a starting_after value from a "
    "paginated response"
)


class SearchError(Exception):
    """A query the API rejects; rendered as a 400 ``error.list``."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Field:
    """A searchable field: its type and the SQL that reads it.

    ``kind`` is one of string, integer, float, boolean, date, tag (contacts' ``tag_id``: = and !=
    only), link (a many-valued id such as a conversation's ``contact_ids``) or words
    (``source.body``, matched per word). For tag/link fields ``sql`` is an EXISTS subquery template
    with ``{cond}`` where the id condition goes.
    """

    name: str
    kind: str
    sql: str
    custom_date: bool = False
    nocase: bool = False
    sortable: bool = True


@dataclass(frozen=True)
class DateRules:
    """How timestamp filters match: ``day`` (2.14 contacts), ``exact`` (Preview) or ``inclusive``
    (conversations when ``>``/``<`` are read as "greater/lower or equal")."""

    mode: str
    tz: ZoneInfo


def day_bounds(ts: int, tz: ZoneInfo | Any) -> tuple[int, int]:
    """Epoch seconds of the start of ``ts``'s calendar day in ``tz`` and of the next day."""
    day = datetime.fromtimestamp(ts, tz).date()
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    return int(start.timestamp()), int(end.timestamp())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_integral(value: Any) -> bool:
    """An integer as JSON Schema counts one: an int, or a float with an integral value
    (``1796011587.0``, which widely used clients send for dates), within the signed 64 bits
    Intercom's integer fields (and SQLite) hold. Booleans are not numbers here."""
    if isinstance(value, float):
        return value.is_integer() and INT64_MIN <= value <= INT64_MAX
    return _is_int(value) and INT64_MIN <= value <= INT64_MAX


def _type_ok(kind: str, value: Any) -> bool:
    if kind in ("string", "words"):
        return isinstance(value, str)
    if kind in ("integer", "date"):
        return _is_integral(value)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("tag", "link"):
        return isinstance(value, str) or _is_integral(value)
    return False


def _as_int(value: Any) -> Any:
    """An integral float as the int it stands for; anything else unchanged."""
    return int(value) if isinstance(value, float) else value


def normalise_value(kind: str, value: Any) -> Any:
    """The value of a type-checked filter with integral floats made ints where the field holds
    integers, so SQL compares (and ids render, and day bounds compute) as for the integer."""
    if kind not in ("integer", "date", "tag", "link"):
        return value
    if isinstance(value, list):
        return [_as_int(v) for v in value]
    return _as_int(value)


def _allowed_ops(field: Field, rules: DateRules) -> frozenset[str]:
    if field.kind in ("string", "words"):
        return STRING_OPS
    if field.kind in ("integer", "float"):
        return NUMBER_OPS
    if field.kind == "boolean":
        return BOOLEAN_OPS
    if field.kind == "tag":
        return TAG_OPS
    if field.kind == "link":
        return LINK_OPS
    if rules.mode == "day" or field.custom_date:
        return DAY_DATE_OPS
    return EXACT_DATE_OPS


def _check_value(field: Field, name: str, op: str, value: Any) -> None:
    """The value must suit the operator (a non-empty array for IN/NIN, null only for =/!= on
    scalar fields) and the field's type, else the query is a 400."""
    if op in ("IN", "NIN"):
        if not isinstance(value, list) or not value:
            raise SearchError(
                "parameter_invalid", f"The {op} operator requires an array value", "value"
            )
        for item in value:
            if not _type_ok(field.kind, item):
                raise SearchError(
                    "parameter_invalid",
                    f"Value {item!r} does not match the type of field '{name}'",
                    "value",
                )
    elif value is None:
        if op not in ("=", "!=") or field.kind in ("tag", "link"):
            raise SearchError("parameter_invalid", f"A null value is not valid for '{op}'", "value")
    elif not _type_ok(field.kind, value):
        raise SearchError(
            "parameter_invalid",
            f"Value {value!r} does not match the type of field '{name}' ({field.kind})",
            "value",
        )


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class QueryCompiler:
    """Compile one search body's ``query`` for an entity whose fields ``resolve`` knows."""

    def __init__(self, resolve: Callable[[str, Any], Field | None], rules: DateRules) -> None:
        self.resolve = resolve
        self.rules = rules

    def compile(self, query: Any) -> tuple[str, list[Any]]:
        if not isinstance(query, dict):
            raise SearchError("parameter_invalid", "query must be an object", "query")
        params: list[Any] = []
        return self._node(query, 0, params), params

    def _node(self, node: Any, depth: int, params: list[Any]) -> str:
        if not isinstance(node, dict):
            raise SearchError("parameter_invalid", "Each filter must be an object", "query")
        op = node.get("operator")
        if "field" not in node and op in ("AND", "OR"):
            if depth >= MAX_NESTING:
                raise SearchError(
                    "parameter_invalid",
                    f"Too many nested filters: the maximum nesting is {MAX_NESTING}",
                    "query",
                )
            items = node.get("value")
            if not isinstance(items, list) or not items:
                raise SearchError(
                    "parameter_invalid", f"{op} operator requires an array of filters", "query"
                )
            if len(items) > MAX_FILTERS_PER_GROUP:
                raise SearchError(
                    "parameter_invalid",
                    f"Too many filters in an {op} group: the maximum is {MAX_FILTERS_PER_GROUP}",
                    "query",
                )
            parts = [self._node(item, depth + 1, params) for item in items]
            return "(" + f" {op} ".join(parts) + ")"
        return self._filter(node, params)

    def _filter(self, node: dict[str, Any], params: list[Any]) -> str:
        name = node.get("field")
        op = node.get("operator")
        value = node.get("value")
        if not isinstance(name, str) or not name:
            raise SearchError("parameter_invalid", "Each filter needs a field", "field")
        if op not in ALL_OPS:
            raise SearchError("parameter_invalid", f"Operator '{op}' isn't supported", "operator")
        field = self.resolve(name, value)
        if field is None:
            raise SearchError("parameter_invalid", f"'{name}' is not a searchable field", "field")
        if op not in _allowed_ops(field, self.rules):
            raise SearchError(
                "parameter_invalid",
                f"Operator '{op}' is not supported for field '{name}' of type {field.kind}",
                "operator",
            )
        _check_value(field, name, op, value)
        value = normalise_value(field.kind, value)
        if field.kind in ("tag", "link"):
            return self._link(field, op, value, params)
        if field.kind == "date":
            return self._date(field, op, value, params)
        if field.kind == "words":
            return self._words(field, op, value, params)
        return self._scalar(field, op, value, params)

    def _scalar(self, field: Field, op: str, value: Any, params: list[Any]) -> str:
        expr = field.sql
        collate = " COLLATE NOCASE" if field.nocase else ""
        if value is None:
            return f"{expr} IS NULL" if op == "=" else f"{expr} IS NOT NULL"
        if op == "=":
            params.append(value)
            return f"{expr} = ?{collate}"
        if op == "!=":
            params.append(value)
            return f"({expr} IS NULL OR {expr} != ?{collate})"
        if op in ("IN", "NIN"):
            params.extend(value)
            marks = ",".join("?" * len(value))
            if op == "IN":
                return f"{expr}{collate} IN ({marks})"
            return f"({expr} IS NULL OR {expr}{collate} NOT IN ({marks}))"
        if op in ("<", ">", "<=", ">="):
            # Strings compare as the field's ``=`` does (module docstring); numbers ignore collate.
            params.append(value)
            return f"{expr} {op} ?{collate}"
        pattern = {
            "~": f"%{_like_escape(value)}%",
            "!~": f"%{_like_escape(value)}%",
            "^": f"{_like_escape(value)}%",
            "$": f"%{_like_escape(value)}",
        }[op]
        params.append(pattern)
        if op == "!~":
            return f"({expr} IS NULL OR {expr} NOT LIKE ? ESCAPE '\\')"
        return f"{expr} LIKE ? ESCAPE '\\'"

    def _date(self, field: Field, op: str, value: Any, params: list[Any]) -> str:
        expr = field.sql
        if value is None:
            return f"{expr} IS NULL" if op == "=" else f"{expr} IS NOT NULL"
        mode = self.rules.mode
        if mode == "day" or field.custom_date:
            # Preview keeps date custom attributes day-granular, but in UTC (§2.4).
            tz = self.rules.tz if mode == "day" else UTC
            start, end = day_bounds(int(value), tz)
            if op == "=":
                params.extend([start, end])
                return f"({expr} >= ? AND {expr} < ?)"
            if op == ">":
                params.append(end)
                return f"{expr} >= ?"
            params.append(start)
            return f"{expr} < ?"
        if mode == "inclusive" and op in (">", "<"):
            op = op + "="
        if op == "!=":
            # Preview: != also matches contacts where the timestamp is unset.
            params.append(value)
            return f"({expr} IS NULL OR {expr} != ?)"
        if op in ("IN", "NIN"):
            return self._scalar(field, op, value, params)
        params.append(value)
        return f"{expr} {op} ?"

    def _link(self, field: Field, op: str, value: Any, params: list[Any]) -> str:
        values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        params.extend(values)
        cond = f"IN ({','.join('?' * len(values))})"
        exists = field.sql.format(cond=cond)
        return exists if op in ("=", "IN") else f"NOT {exists}"

    def _words(self, field: Field, op: str, value: Any, params: list[Any]) -> str:
        if op in ("=", "!=", "IN", "NIN"):
            values = value if isinstance(value, list) else [value]
            params.extend(values)
            checks = " OR ".join(f"ic_has_word({field.sql}, ?)" for _ in values)
            return f"({checks})" if op in ("=", "IN") else f"NOT ({checks})"
        if op in (">", "<"):
            params.append(value)
            return f"ic_has_word_beyond({field.sql}, ?, {1 if op == '>' else -1})"
        return self._scalar(field, op, value, params)


# --- sorting and cursors ----------------------------------------------------------------------


def parse_sort(sort: Any, resolve: Callable[[str, Any], Field | None]) -> tuple[Field | None, bool]:
    """``sort {field, order}``: order ascending|descending (default descending) else
    ``400 invalid_sort_order``; ``tag_id`` and other id-list fields cannot sort (reference §2.3)."""
    if sort is None:
        return None, True
    if not isinstance(sort, dict) or not isinstance(sort.get("field"), str):
        raise SearchError("parameter_invalid", "sort must be an object with a field", "sort")
    order = sort.get("order", "descending")
    if order not in ("ascending", "descending"):
        raise SearchError(
            "invalid_sort_order",
            f"Invalid sort order '{order}'. Must be one of: ascending, descending",
            "order",
        )
    field = resolve(sort["field"], None)
    if field is None or not field.sortable or field.kind in ("tag", "link", "words"):
        raise SearchError(
            "parameter_invalid", f"'{sort['field']}' cannot be used as a sort field", "sort"
        )
    return field, order == "ascending"


def encode_cursor(sort_value: Any, last_id: str, next_page: int) -> str:
    """Opaque cursor: base64 of ``[sort value or -1, last id, next page]`` as seen in public
    issues (reference §2.1)."""
    raw = json.dumps([sort_value if sort_value is not None else -1, last_id, next_page])
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: Any) -> tuple[Any, str, int]:
    """Inverse of ``encode_cursor``; anything else is the documented 400."""
    if not isinstance(cursor, str) or not cursor:
        raise SearchError("client_error", INVALID_CURSOR, "starting_after")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.b64decode(padded.encode(), validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise SearchError("client_error", INVALID_CURSOR, "starting_after") from exc
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not isinstance(value[1], str)
        or not _is_int(value[2])
        or value[2] < 2
        or isinstance(value[0], list | dict)
    ):
        raise SearchError("client_error", INVALID_CURSOR, "starting_after")
    return value[0], value[1], value[2]


def parse_per_page(raw: Any, default: int, maximum: int = MAX_PER_PAGE) -> int:
    """``per_page`` above the maximum is clamped; non-positive or non-integer is a 400."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise SearchError("parameter_invalid", "per_page must be an integer", "per_page") from exc
    if isinstance(raw, bool) or value < 1:
        raise SearchError("parameter_invalid", "per_page must be a positive integer", "per_page")
    return min(value, maximum)
