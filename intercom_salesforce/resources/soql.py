"""Values in SOQL: quoted and escaped, never pasted into the query text.

A SOQL string literal is delimited by single quotes and uses backslash escapes, so a value holding
``'`` or ``\\`` (``O'Brien``, a name typed as ``a\\b``) would end the literal early or swallow the
closing quote: the query fails, or, worse, matches other records than meant. Every query that
carries a value builds it with these helpers. They wrap simple-salesforce's own escaping
(``simple_salesforce.format``, written from Salesforce's "Quoted String Escape Sequences") so there
is one escaping rule for the whole client stack; datetimes keep their milliseconds, which
``SystemModstamp`` comparisons need and simple-salesforce's quoting drops.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from simple_salesforce.format import quote_soql_value, soql_escapes, soql_like_escapes


def soql_datetime(ts: datetime) -> str:
    """A SOQL datetime literal in UTC with milliseconds; naive datetimes are taken as UTC."""
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return f"{ts:%Y-%m-%dT%H:%M:%S}.{ts.microsecond // 1000:03d}Z"


def quote(value: Any) -> str:
    """``value`` as a SOQL literal: strings quoted and escaped, ``None`` as ``null``, booleans and
    numbers bare, datetimes to the millisecond, lists as ``('a','b')`` for ``IN``."""
    if isinstance(value, datetime):
        return soql_datetime(value)
    if isinstance(value, list | tuple | set | frozenset):
        if not value:
            raise ValueError("an IN list needs at least one value")
        return "(" + ",".join(quote(v) for v in value) + ")"
    return quote_soql_value(value)


def in_list(values: Iterable[Any]) -> str:
    """``('a','b',...)`` for ``Field IN ...``, each value quoted (order kept, duplicates dropped)."""
    return quote(tuple(dict.fromkeys(values)))


def like_escape(text: str) -> str:
    """``text`` escaped for use inside a LIKE pattern: quotes and backslashes as in any literal,
    and ``%`` and ``_`` so they match themselves rather than act as wildcards (not quoted)."""
    return text.translate(soql_escapes).translate(soql_like_escapes)


def starts_with(prefix: str) -> str:
    """A quoted LIKE pattern matching the values that begin with ``prefix``, taken literally."""
    return f"'{like_escape(prefix)}%'"


__all__ = ["in_list", "like_escape", "quote", "soql_datetime", "starts_with"]
