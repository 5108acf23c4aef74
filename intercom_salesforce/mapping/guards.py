"""Per-record guards: values that must not reach the Bulk API, and why.

A mapped value is held back when Salesforce would refuse it (a list where a number belongs, a
date outside what Salesforce accepts) or would read it as an instruction instead of data (the
literal ``#N/A`` clears a field in a Bulk API 2.0 CSV, and the Bulk API has no way to escape it).
Each guard is a ``Check``: SQL that is true for such a value, and SQL text saying why, naming the
field and what was found, for the person reviewing it. The compiled SELECT leaves the field empty,
sets ``_unmapped_<Field>`` (the record waits in review instead of being pushed) and collects the
reasons in ``_review_reason``.

Values of another type than the field takes are cast when the cast loses nothing (the text
``"42"`` into a number field, the number 42 into a text field); anything else goes to review.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from .functions import Typed, clean_text, quote, text

CLEAR_MARKER = "#N/A"  # Bulk API 2.0: a cell holding exactly this sets the field to null
DATE_MIN, DATE_MAX = "1700-01-01", "4000-12-31"  # the dates Salesforce accepts

Expectation = Literal["text", "integer", "number", "boolean", "date", "datetime"]
_BY_TYPE: dict[str, Expectation] = {
    "int": "integer",
    "double": "number",
    "currency": "number",
    "percent": "number",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}
_WANTED = {
    "text": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "date": "a date",
    "datetime": "a date and time",
}
_NUMBERS = "('BIGINT', 'UBIGINT', 'DOUBLE')"
_EDGE = "' ' || chr(9) || chr(10)"  # spaces, tabs and line breaks around a value


class Check(NamedTuple):
    condition: str  # SQL, true when the value must not be sent
    reason: str  # SQL text naming the field and what was found


def expectation(meta: dict[str, Any] | None) -> Expectation:
    """What a Salesforce field takes, from its describe entry (text without one)."""
    return _BY_TYPE.get((meta or {}).get("type", ""), "text")


def is_clear_marker(value: object) -> bool:
    """True for a constant the Bulk API would read as "clear the field"."""
    return isinstance(value, str) and value.strip().upper() == CLEAR_MARKER


def snippet(sql: str, n: int = 40) -> str:
    """SQL quoting the first ``n`` characters of a text value, for a reason a person reads."""
    return (
        f"('\"' || left({sql}, {n}) || "
        f"CASE WHEN length({sql}) > {n} THEN '...' ELSE '' END || '\"')"
    )


def _found(raw: str) -> str:
    """SQL describing the JSON value ``raw``: ``an object``, ``a list``, ``a boolean true``,
    ``a fractional number 4.5``, ``text "forty"``."""
    s = f"json_extract_string({raw}, '$')"
    fractional = f"try_cast({s} AS DOUBLE) <> floor(try_cast({s} AS DOUBLE))"
    return (
        f"CASE json_type({raw}) WHEN 'OBJECT' THEN 'an object' WHEN 'ARRAY' THEN 'a list' "
        f"WHEN 'BOOLEAN' THEN 'a boolean ' || {s} "
        f"WHEN 'VARCHAR' THEN 'text ' || {snippet(clean_text(Typed(s, 'VARCHAR')).sql)} "
        f"WHEN 'DOUBLE' THEN CASE WHEN {fractional} THEN 'a fractional number ' "
        f"ELSE 'a number ' END || {s} "
        f"ELSE 'a number ' || {s} END"
    )


def _described(x: Typed) -> str:
    """SQL describing a typed value for a reason: ``text "..."`` or ``a number 12``."""
    if x.type == "VARCHAR":
        return f"'text ' || {snippet(x.sql)}"
    return f"'a value ' || {snippet(text(x))}"


def _cast_json(raw: str, expect: Expectation) -> str:
    """SQL of the JSON value ``raw`` as the text of what the field takes, or NULL when no
    lossless cast exists."""
    t = f"json_type({raw})"
    s = f"json_extract_string({raw}, '$')"
    trimmed = f"trim({s})"
    if expect == "integer":
        whole = f"try_cast({s} AS DOUBLE)"
        return (
            f"CASE WHEN {t} IN ('BIGINT', 'UBIGINT') THEN {s} "
            f"WHEN {t} = 'DOUBLE' AND {whole} = floor({whole}) "
            f"THEN try_cast({whole} AS BIGINT)::VARCHAR "
            f"WHEN {t} = 'VARCHAR' AND regexp_full_match({trimmed}, '[+-]?[0-9]+') "
            f"THEN try_cast({trimmed} AS BIGINT)::VARCHAR END"
        )
    if expect == "number":
        decimal = r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)"
        return (
            f"CASE WHEN {t} IN {_NUMBERS} THEN {s} "
            f"WHEN {t} = 'VARCHAR' AND regexp_full_match({trimmed}, '{decimal}') "
            f"THEN {trimmed} END"
        )
    if expect == "boolean":
        low = f"lower({trimmed})"
        return (
            f"CASE WHEN {t} = 'BOOLEAN' THEN {s} "
            f"WHEN {t} = 'VARCHAR' AND {low} IN ('true', 'false') THEN {low} END"
        )
    cleaned = clean_text(Typed(s, "VARCHAR")).sql
    if expect in ("date", "datetime"):  # text to parse, or Unix seconds
        return f"CASE WHEN {t} = 'VARCHAR' THEN {cleaned} WHEN {t} IN {_NUMBERS} THEN {s} END"
    return f"CASE WHEN {t} NOT IN ('OBJECT', 'ARRAY') THEN {cleaned} END"


def json_value(field: str, path: str, raw: str, expect: Expectation) -> tuple[Typed, Check]:
    """A JSON path's value for a field taking ``expect``, cast where that loses nothing, and the
    check that holds back any other value (an object, a list, ``"forty"`` for a number)."""
    value = _cast_json(raw, expect)
    condition = f"({raw} IS NOT NULL AND json_type({raw}) <> 'NULL' AND ({value}) IS NULL)"
    reason = (
        f"{quote(f'{field}: {path} holds ')} || {_found(raw)} || "
        f"{quote(f'; the field takes {_WANTED[expect]}')}"
    )
    return Typed(value, "VARCHAR"), Check(condition, reason)


def scalar_check(field: str, path: str, raw: str) -> Check:
    """An object or list read inside an expression would be sent as JSON text: hold it back."""
    return Check(
        f"coalesce(json_type({raw}) IN ('OBJECT', 'ARRAY'), FALSE)",
        f"{quote(f'{field}: {path} holds ')} || {_found(raw)} || "
        f"{quote('; a single value was expected')}",
    )


def date_check(field: str, before: Typed, after: Typed) -> Check:
    """A value the date transform could not read would silently become "leave unchanged"."""
    return Check(
        f"({before.sql} IS NOT NULL AND {after.sql} IS NULL)",
        f"{quote(f'{field}: ')} || {_described(before)} || ' is not a date'",
    )


def _range(ts: str) -> str:
    return f"{ts} BETWEEN DATE '{DATE_MIN}' AND DATE '{DATE_MAX}' + INTERVAL 1 DAY"


def output_checks(field: str, v: str, expect: Expectation) -> list[Check]:
    """Checks of the final text ``v`` of a field: never the clear marker, and a value of the
    kind the field takes (Salesforce would refuse the whole record otherwise)."""
    head = quote(f"{field}: ") + f" || {snippet(v)}"
    checks = [
        Check(
            f"(contains({v}, '#') AND upper(trim({v}, {_EDGE})) = '{CLEAR_MARKER}')",
            quote(
                f"{field}: the value is {CLEAR_MARKER}, which the Bulk API reads as "
                "'clear this field', never as text"
            ),
        )
    ]
    if expect == "integer":
        checks.append(
            Check(
                f"NOT regexp_full_match({v}, '[+-]?[0-9]+')",
                f"{head} || ' is not a whole number'",
            )
        )
    elif expect == "number":
        checks.append(
            Check(
                f"NOT coalesce(isfinite(try_cast({v} AS DOUBLE)), FALSE)",
                f"{head} || ' is not a number'",
            )
        )
    elif expect == "boolean":
        checks.append(
            Check(f"lower({v}) NOT IN ('true', 'false')", f"{head} || ' is not true or false'")
        )
    elif expect in ("date", "datetime"):
        ts = (
            f"try_strptime({v}, '%Y-%m-%d')"
            if expect == "date"
            else f"timezone('UTC', try_cast({v} AS TIMESTAMPTZ))"
        )
        checks.append(
            Check(
                f"NOT coalesce({_range(ts)}, FALSE)",
                f"{head} || CASE WHEN {ts} IS NULL THEN ' is not {_WANTED[expect]}' "
                f"ELSE ' is outside the dates Salesforce accepts ({DATE_MIN} to {DATE_MAX})' END",
            )
        )
    return [Check(f"({v} IS NOT NULL AND {c.condition})", c.reason) for c in checks]


def first_reason(checks: list[Check]) -> str | None:
    """SQL of the first failing check's reason (NULL when all pass); None without checks."""
    if not checks:
        return None
    whens = " ".join(f"WHEN {c.condition} THEN {c.reason}" for c in checks)
    return f"CASE {whens} END"
