"""SQL for each transform and expression function, as DuckDB expressions over typed inputs.

Transforms and expression functions share these builders so ``lower`` means the same in a
``transforms`` list and in an ``expr``. Each builder takes and returns ``Typed`` (SQL text and its
DuckDB type) so date formatting knows whether it got a timestamp, Unix seconds or text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .sources import Source

# Salesforce's datetime form, as the warehouse's sync.sf_datetime macro writes it
SF_DATETIME = "replace(strftime({ts}, '%Y-%m-%dT%H:%M:%S.%gZ'), '.000Z', 'Z')"
SF_DATE = "%Y-%m-%d"
ROW = "c"  # alias of the staging row in compiled SQL


class Typed(NamedTuple):
    sql: str
    type: str  # VARCHAR, BIGINT, DOUBLE, BOOLEAN, TIMESTAMPTZ, JSON or NULL


def quote(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def literal(value: str | int | float | bool | None) -> Typed:
    if value is None:
        return Typed("NULL", "NULL")
    if isinstance(value, bool):
        return Typed(quote("true" if value else "false"), "VARCHAR")
    if isinstance(value, int):
        return Typed(str(value), "BIGINT")
    if isinstance(value, float):
        return Typed(repr(value), "DOUBLE")
    return Typed(quote(value), "VARCHAR")


def column_ref(source: Source, segments: tuple[str, ...]) -> Typed:
    """SQL reading a staging column or a key inside one of its JSON columns.

    Raises ValueError with a message meant for the mapping's author.
    """
    column, rest = segments[0], segments[1:]
    kind = source.column_type(column)
    if kind is None:
        known = ", ".join(source.column_names)
        raise ValueError(f"unknown {source.name} column {column!r} (known: {known})")
    ref = f'{ROW}."{column}"'
    if not rest:
        return clean_text(Typed(ref, kind)) if kind == "VARCHAR" else Typed(ref, kind)
    return clean_text(
        Typed(f"json_extract_string({ref}, {quote(_json_path(column, kind, rest))})", "VARCHAR")
    )


def _json_path(column: str, kind: str, rest: tuple[str, ...]) -> str:
    if kind != "JSON":
        raise ValueError(f"{column!r} is {kind}, not JSON: it has no keys")
    for seg in rest:
        if not seg or '"' in seg or "\\" in seg:
            raise ValueError(f"unsupported key {seg!r} in a JSON path")
    return "$." + ".".join(f'"{s}"' for s in rest)


def json_ref(source: Source, segments: tuple[str, ...]) -> str | None:
    """SQL of the JSON value (not its text) at a path into a JSON column, so its JSON type can be
    checked; None when ``segments`` is a plain column."""
    column, rest = segments[0], segments[1:]
    kind = source.column_type(column)
    if not rest or kind is None:
        return None
    return f'json_extract({ROW}."{column}", {quote(_json_path(column, kind, rest))})'


def text(x: Typed) -> str:
    return x.sql if x.type == "VARCHAR" else f"CAST({x.sql} AS VARCHAR)"


def _utc_timestamp(x: Typed) -> str:
    """A naive UTC TIMESTAMP from a timestamp, Unix seconds, or text holding either."""
    if x.type == "TIMESTAMPTZ":
        return f"timezone('UTC', {x.sql})"
    if x.type in ("BIGINT", "DOUBLE"):
        return f"timezone('UTC', to_timestamp({x.sql}))"
    t = text(x)
    seconds = f"try_cast({t} AS DOUBLE)"
    return (
        f"timezone('UTC', coalesce(try_cast({t} AS TIMESTAMPTZ), "
        f"CASE WHEN abs({seconds}) < 1e11 THEN to_timestamp({seconds}) END))"
    )


# whitespace of any kind, as Python's str.split() sees it: ASCII (tabs, line breaks, vertical tab,
# form feed, the file/group/record/unit separators), NEL, and Unicode spaces (NBSP, em space, ...)
SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f\x85\p{Z}]"
_EDGE_SPACE = f"'^{SPACE}+|{SPACE}+$'"
# C0 control characters Salesforce does not keep: all but tab and line feed (carriage returns
# are turned into line feeds first, as Salesforce stores line breaks)
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


def clean_text(x: Typed) -> Typed:
    """Text as Salesforce stores it: CRLF and lone CR become LF, NUL and the other C0 control
    characters except tab and line feed are dropped.

    Every text read from staging passes through here, so the value we send (and remember in
    ``sync.field_state``) is the value Salesforce will hold and the mirror will read back; a
    value that differed would look changed, and be sent again, on every run.
    """
    t = text(x)
    fixed = rf"regexp_replace(regexp_replace({t}, '\r\n?', chr(10), 'g'), '{_CONTROL}', '', 'g')"
    return Typed(
        rf"CASE WHEN regexp_matches({t}, '[\x00-\x08\x0b-\x1f]') THEN {fixed} ELSE {t} END",
        "VARCHAR",
    )


def _strip(sql: str) -> str:
    return f"regexp_replace({sql}, {_EDGE_SPACE}, '', 'g')"


def trim(x: Typed) -> Typed:
    return Typed(_strip(text(x)), "VARCHAR")


def lower(x: Typed) -> Typed:
    return Typed(f"lower({text(x)})", "VARCHAR")


def upper(x: Typed) -> Typed:
    return Typed(f"upper({text(x)})", "VARCHAR")


def title(x: Typed) -> Typed:
    """Each space-separated word capitalised, the rest lower-cased (idempotent)."""
    return Typed(
        f"array_to_string(list_transform(string_split({text(x)}, ' '), "
        "lambda w: upper(left(w, 1)) || lower(substr(w, 2))), ' ')",
        "VARCHAR",
    )


def null_if_blank(x: Typed) -> Typed:
    t = text(x)
    return Typed(f"CASE WHEN {_strip(t)} = '' THEN NULL ELSE {t} END", "VARCHAR")


def truncate(x: Typed, length: int) -> Typed:
    return Typed(f"left({text(x)}, {int(length)})", "VARCHAR")


def _words(x: Typed) -> str:
    """The text with edge whitespace stripped and every inner run of whitespace (line breaks and
    tabs included) made one space, so a name's words are separated by exactly one space."""
    return f"regexp_replace({_strip(text(x))}, '{SPACE}+', ' ', 'g')"


def split_name_first(x: Typed) -> Typed:
    """Everything before the last word, words joined by one space; NULL for a one-word name
    (Salesforce's FirstName). Any whitespace separates words: a name typed with a line break
    between its parts must not lose its first name."""
    return Typed(f"nullif(regexp_extract({_words(x)}, '^(.+) [^ ]+$', 1), '')", "VARCHAR")


def split_name_last(x: Typed) -> Typed:
    """The last word (Salesforce's LastName)."""
    return Typed(f"nullif(regexp_extract({_words(x)}, '([^ ]+)$', 1), '')", "VARCHAR")


def email_local(x: Typed) -> Typed:
    return Typed(f"nullif(split_part({_strip(text(x))}, '@', 1), '')", "VARCHAR")


def email_domain(x: Typed) -> Typed:
    return Typed(f"nullif(split_part({_strip(text(x))}, '@', 2), '')", "VARCHAR")


def format_date(x: Typed, fmt: str = "iso") -> Typed:
    pattern = SF_DATE if fmt == "iso" else fmt
    return Typed(f"strftime({_utc_timestamp(x)}, {quote(pattern)})", "VARCHAR")


def format_datetime(x: Typed, fmt: str = "iso") -> Typed:
    ts = _utc_timestamp(x)
    if fmt == "iso":
        return Typed(SF_DATETIME.format(ts=ts), "VARCHAR")
    return Typed(f"strftime({ts}, {quote(fmt)})", "VARCHAR")


def concat(*parts: Typed) -> Typed:
    """Parts joined; a NULL part counts as empty, and an empty result is NULL."""
    return Typed(f"nullif(concat({', '.join(text(p) for p in parts)}), '')", "VARCHAR")


def join(sep: Typed, *parts: Typed) -> Typed:
    """Non-NULL parts joined by ``sep`` (``join(' ', first, last)`` skips a missing first)."""
    args = ", ".join(text(p) for p in parts)
    return Typed(f"nullif(concat_ws({text(sep)}, {args}), '')", "VARCHAR")


def coalesce(*parts: Typed) -> Typed:
    kinds = {p.type for p in parts if p.type != "NULL"}
    if len(kinds) <= 1:
        return Typed(
            f"coalesce({', '.join(p.sql for p in parts)})", kinds.pop() if kinds else "NULL"
        )
    return Typed(f"coalesce({', '.join(text(p) for p in parts)})", "VARCHAR")


def nullif(x: Typed, y: Typed) -> Typed:
    return Typed(f"nullif({text(x)}, {text(y)})", "VARCHAR")


def left(x: Typed, n: Typed) -> Typed:
    if n.type != "BIGINT":
        raise ValueError("left() takes a whole number as its length")
    return truncate(x, int(n.sql))


def _fmt_arg(f: Callable[[Typed, str], Typed]) -> Callable[..., Typed]:
    def call(x: Typed, fmt: Typed | None = None) -> Typed:
        if fmt is None:
            return f(x, "iso")
        if fmt.type != "VARCHAR" or not fmt.sql.startswith("'"):
            raise ValueError("the format must be a string literal")
        return f(x, fmt.sql[1:-1].replace("''", "'"))

    return call


# name -> (builder, fewest args, most args or None for any number)
FUNCTIONS: dict[str, tuple[Callable[..., Typed], int, int | None]] = {
    "trim": (trim, 1, 1),
    "lower": (lower, 1, 1),
    "upper": (upper, 1, 1),
    "title": (title, 1, 1),
    "null_if_blank": (null_if_blank, 1, 1),
    "split_name_first": (split_name_first, 1, 1),
    "split_name_last": (split_name_last, 1, 1),
    "email_local": (email_local, 1, 1),
    "email_domain": (email_domain, 1, 1),
    "left": (left, 2, 2),
    "concat": (concat, 1, None),
    "join": (join, 2, None),
    "coalesce": (coalesce, 1, None),
    "nullif": (nullif, 2, 2),
    "date": (_fmt_arg(format_date), 1, 2),
    "datetime": (_fmt_arg(format_datetime), 1, 2),
}
