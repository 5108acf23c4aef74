"""A SOQL subset compiled to SQLite SQL over the JSON record documents (reference 5.3 and 9).

Supported: ``SELECT f1, Parent.f2 | COUNT() FROM Obj [WHERE ...] [ORDER BY f [ASC|DESC] [NULLS
FIRST|LAST], ...] [LIMIT n] [OFFSET n]`` with ``= != <> < > <= >= IN NOT IN LIKE AND OR NOT``,
parentheses, ``NULL``, ``TRUE``/``FALSE``, quoted strings, numbers, date and datetime literals
and the day literals ``TODAY``, ``YESTERDAY``, ``TOMORROW``, ``LAST_N_DAYS:n``, ``NEXT_N_DAYS:n``.
Conditions become bound-parameter SQL (``json_extract``), and equality on External ID / idLookup
fields becomes an ``ext_keys`` index probe, so filtering 100k rows does not scan in Python. String
comparisons are case-insensitive as in Salesforce; errors carry the real status codes
(``MALFORMED_QUERY``, ``INVALID_FIELD``, ``INVALID_TYPE``) and the ``ERROR at Row:Column`` layout.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .describe import FieldDef, ObjectDef, get_object
from .ids import ID_RE, to_18
from .store import key_for
from .values import BadValue, csv_text, parse_date, parse_datetime

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
  | (?P<daterange>(?i:LAST_N_DAYS|NEXT_N_DAYS):\d+)
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?![\w])
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)
_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
    "_": "\\_",
    "%": "\\%",
}
_KEYWORDS = {
    "select",
    "from",
    "where",
    "order",
    "by",
    "limit",
    "offset",
    "and",
    "or",
    "not",
    "in",
    "like",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "null",
    "true",
    "false",
    "group",
    "having",
    "count",
    "typeof",
    "includes",
    "excludes",
}
_DAY_LITERALS = {"YESTERDAY": -1, "TODAY": 0, "TOMORROW": 1}
_SYSTEM_COLUMNS = {
    "Id": "id",
    "IsDeleted": "is_deleted",
    "SystemModstamp": "system_modstamp",
    "LastModifiedDate": "last_modified_date",
}


class SoqlError(Exception):
    """A query error with its REST ``errorCode``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Token:
    kind: str
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass
class Column:
    """A selected or filtered field: ``rel`` is the lookup field when the path goes to a parent."""

    path: str
    field: FieldDef
    rel: FieldDef | None = None
    parents: tuple[ObjectDef, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.rel.relationship_name}.{self.field.name}" if self.rel else self.field.name


@dataclass
class Query:
    obj: ObjectDef
    columns: list[Column]
    count_only: bool
    where_sql: str
    where_params: list[Any]
    order_sql: str
    limit: int | None
    offset: int
    rels: dict[str, tuple[FieldDef, str]] = field(default_factory=dict)
    aggregate: bool = False

    def _joins(self) -> str:
        return "".join(
            f" LEFT JOIN records {alias} ON {alias}.id = json_extract(t0.doc, '$.{rel.name}')"
            f" AND {alias}.is_deleted = 0"
            for rel, alias in self.rels.values()
        )

    def _from(self, include_deleted: bool) -> tuple[str, list[Any]]:
        sql = f" FROM records t0{self._joins()} WHERE t0.object = ?"
        if not include_deleted:
            sql += " AND t0.is_deleted = 0"
        if self.where_sql:
            sql += f" AND ({self.where_sql})"
        return sql, [self.obj.name, *self.where_params]

    def _columns(self) -> str:
        cols = ["t0.id", "t0.object", "t0.doc"]
        for _rel, alias in self.rels.values():
            cols += [f"{alias}.id", f"{alias}.object", f"{alias}.doc"]
        return ", ".join(cols)

    def _order(self) -> str:
        return f" ORDER BY {self.order_sql + ', ' if self.order_sql else ''}t0.rid"

    def count_sql(self, include_deleted: bool = False) -> tuple[str, list[Any]]:
        frm, params = self._from(include_deleted)
        inner = f"SELECT t0.rid{frm}"
        if self.limit is not None or self.offset:
            inner += " LIMIT ? OFFSET ?"
            params += [self.limit if self.limit is not None else -1, self.offset]
        return f"SELECT COUNT(*) FROM ({inner})", params

    def page_sql(
        self, start: int, size: int, include_deleted: bool = False
    ) -> tuple[str, list[Any]]:
        """Rows ``start``..``start+size`` of the result, after the query's own OFFSET."""
        frm, params = self._from(include_deleted)
        if self.limit is not None:
            size = max(0, min(size, self.limit - start))
        sql = f"SELECT {self._columns()}{frm}{self._order()} LIMIT ? OFFSET ?"
        return sql, params + [size, self.offset + start]

    def rids_sql(self, include_deleted: bool = False) -> tuple[str, list[Any]]:
        """The ``rid`` of every row of the result, in its order, LIMIT and OFFSET applied.

        A Bulk query job reads these once and then its rows by ``rid`` (``rows_sql``): paging
        the query itself by OFFSET would sort and skip the earlier rows again on every page.
        """
        frm, params = self._from(include_deleted)
        sql = f"SELECT t0.rid{frm}{self._order()} LIMIT ? OFFSET ?"
        return sql, params + [self.limit if self.limit is not None else -1, self.offset]

    def rows_sql(self) -> str:
        """The rows whose ``rid`` is in the JSON array bound to the one parameter, ``rid`` last."""
        return (
            f"SELECT {self._columns()}, t0.rid FROM records t0{self._joins()}"
            " WHERE t0.rid IN (SELECT value FROM json_each(?))"
        )

    # -- rendering ------------------------------------------------------------------------------
    def _docs(self, row: tuple) -> tuple[dict[str, Any], dict[str, dict[str, Any] | None]]:
        base = json.loads(row[2])
        base["Id"] = row[0]
        parents: dict[str, dict[str, Any] | None] = {}
        for i, key in enumerate(self.rels):
            pid, pobj, pdoc = row[3 + 3 * i : 6 + 3 * i]
            if pid is None:
                parents[key] = None
            else:
                doc = json.loads(pdoc)
                doc["Id"], doc["__type"] = pid, pobj
                parents[key] = doc
        return base, parents

    def render_json(self, rows: list[tuple], version: str) -> list[dict[str, Any]]:
        """REST records: ``attributes`` plus fields in SELECT order, parents nested or ``None``."""
        out = []
        for row in rows:
            base, parents = self._docs(row)
            rec: dict[str, Any] = {"attributes": _attributes(self.obj.name, base["Id"], version)}
            for col in self.columns:
                if col.rel is None:
                    rec[col.field.name] = base.get(col.field.name)
                    continue
                relname = col.rel.relationship_name or ""
                parent = parents[relname.lower()]
                if parent is None:
                    rec[relname] = None
                    continue
                nested = rec.get(relname)
                if not isinstance(nested, dict):
                    nested = {"attributes": _attributes(parent["__type"], parent["Id"], version)}
                    rec[relname] = nested
                nested[col.field.name] = parent.get(col.field.name)
            out.append(rec)
        return out

    def csv_header(self) -> list[str]:
        return [c.name for c in self.columns]

    def render_csv_values(self, rows: list[tuple]) -> list[list[str | None]]:
        """Bulk query cells in SELECT order; ``None`` marks a null (written as an empty cell)."""
        out = []
        for row in rows:
            base, parents = self._docs(row)
            cells: list[str | None] = []
            for col in self.columns:
                rel_key = (col.rel.relationship_name or "").lower() if col.rel else ""
                src = base if col.rel is None else parents[rel_key]
                value = None if src is None else src.get(col.field.name)
                cells.append(None if value is None else csv_text(value))
            out.append(cells)
        return out


def _attributes(type_name: str, record_id: str, version: str) -> dict[str, str]:
    return {"type": type_name, "url": f"/services/data/v{version}/sobjects/{type_name}/{record_id}"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize(text)
        self.i = 0
        self.obj: ObjectDef | None = None
        self.rels: dict[str, tuple[FieldDef, str]] = {}
        self.params: list[Any] = []

    # -- errors ---------------------------------------------------------------------------------
    def error(self, code: str, message: str, pos: int | None = None) -> SoqlError:
        pos = self.tokens[min(self.i, len(self.tokens) - 1)].pos if pos is None else pos
        line_no = self.text.count("\n", 0, pos) + 1
        line_start = self.text.rfind("\n", 0, pos) + 1
        line_end = self.text.find("\n", pos)
        line = self.text[line_start : line_end if line_end >= 0 else len(self.text)]
        col = pos - line_start + 1
        return SoqlError(
            code, f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{line_no}:Column:{col}\n{message}"
        )

    def _tokenize(self, text: str) -> list[Token]:
        tokens: list[Token] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN_RE.match(text, pos)
            if not m:
                self.tokens = [Token("eof", "", pos)]
                raise self.error("MALFORMED_QUERY", f"unexpected token: '{text[pos]}'", pos)
            kind = m.lastgroup or ""
            if kind != "ws":
                tokens.append(Token(kind, m.group(), pos))
            pos = m.end()
        tokens.append(Token("eof", "", len(text)))
        return tokens

    # -- token helpers --------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "ident" and self.tok.upper in words

    def take_kw(self, word: str) -> None:
        if not self.is_kw(word):
            raise self.unexpected()
        self.i += 1

    def unexpected(self) -> SoqlError:
        if self.tok.kind == "eof":
            return self.error("MALFORMED_QUERY", "unexpected token: '<EOF>'")
        return self.error("MALFORMED_QUERY", f"unexpected token: '{self.tok.text}'")

    def take(self, kind: str, text: str | None = None) -> Token:
        t = self.tok
        if t.kind != kind or (text is not None and t.text != text):
            raise self.unexpected()
        self.i += 1
        return t

    # -- grammar --------------------------------------------------------------------------------
    def parse(self) -> Query:
        self.take_kw("SELECT")
        select_tokens, count_only = self.parse_select()
        self.take_kw("FROM")
        self.obj = obj = self.parse_from()
        columns = self.resolve_columns(select_tokens)
        where_sql = ""
        if self.is_kw("WHERE"):
            self.i += 1
            where_sql = self.parse_or()
        if self.is_kw("GROUP", "HAVING"):
            raise self.error("MALFORMED_QUERY", "GROUP BY is not supported by this org")
        order_by = self.parse_order_by()
        limit, offset = self.parse_limit_offset()
        if self.tok.kind != "eof":
            raise self.unexpected()
        return Query(
            obj,
            columns,
            count_only,
            where_sql,
            self.params,
            order_by,
            limit,
            offset,
            self.rels,
        )

    def parse_select(self) -> tuple[list[Token], bool]:
        """The field tokens of the SELECT list, or ``([], True)`` for ``SELECT COUNT()``."""
        if self.is_kw("COUNT") and self.tokens[self.i + 1].text == "(":
            self.i += 2
            self.take("punct", ")")
            return [], True
        select_tokens: list[Token] = []
        while True:
            if self.tok.kind != "ident" or self.tok.text.lower() in ("from",):
                raise self.unexpected()
            if self.tokens[self.i + 1].text == "(":
                raise self.error(
                    "MALFORMED_QUERY", f"Aggregate function {self.tok.text} is not supported"
                )
            select_tokens.append(self.take("ident"))
            if self.tok.text != ",":
                return select_tokens, False
            self.i += 1

    def parse_from(self) -> ObjectDef:
        from_tok = self.take("ident")
        obj = get_object(from_tok.text)
        if obj is None:
            raise self.error(
                "INVALID_TYPE",
                f"sObject type '{from_tok.text}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
                from_tok.pos,
            )
        return obj

    def resolve_columns(self, select_tokens: list[Token]) -> list[Column]:
        """Selected columns, each once (SOQL ignores a repeated field)."""
        columns: list[Column] = []
        seen: set[str] = set()
        for t in select_tokens:
            col = self.resolve(t)
            if col.name.lower() not in seen:
                seen.add(col.name.lower())
                columns.append(col)
        return columns

    def parse_order_by(self) -> str:
        if not self.is_kw("ORDER"):
            return ""
        self.i += 1
        self.take_kw("BY")
        order_parts = [self.parse_order_item()]
        while self.tok.text == ",":
            self.i += 1
            order_parts.append(self.parse_order_item())
        return ", ".join(order_parts)

    def parse_order_item(self) -> str:
        """``Field [ASC|DESC] [NULLS FIRST|LAST]``; nulls sort first ascending, as in SOQL."""
        col = self.resolve(self.take("ident"))
        expr = self.expr(col)
        if col.field.is_text:
            expr += " COLLATE NOCASE"
        direction = "ASC"
        if self.is_kw("ASC", "DESC"):
            direction = self.tok.upper
            self.i += 1
        nulls = "NULLS FIRST" if direction == "ASC" else "NULLS LAST"
        if self.is_kw("NULLS"):
            self.i += 1
            if not self.is_kw("FIRST", "LAST"):
                raise self.unexpected()
            nulls = f"NULLS {self.tok.upper}"
            self.i += 1
        return f"{expr} {direction} {nulls}"

    def parse_limit_offset(self) -> tuple[int | None, int]:
        limit = None
        offset = 0
        if self.is_kw("LIMIT"):
            self.i += 1
            limit = self.int_literal()
        if self.is_kw("OFFSET"):
            self.i += 1
            offset = self.int_literal()
        return limit, offset

    def int_literal(self) -> int:
        t = self.take("number")
        if not re.fullmatch(r"\d+", t.text):
            raise self.error("MALFORMED_QUERY", f"unexpected token: '{t.text}'", t.pos)
        return int(t.text)

    def resolve(self, t: Token) -> Column:
        assert self.obj is not None
        parts = t.text.split(".")
        if len(parts) == 1:
            f = self.obj.field(parts[0])
            if f is None:
                raise self.no_column(t, parts[0], self.obj.name)
            return Column(t.text, f)
        if len(parts) > 2:
            raise self.error(
                "MALFORMED_QUERY", "Only one level of parent relationship is supported", t.pos
            )
        rel = self.obj.relationship(parts[0])
        if rel is None:
            raise self.error(
                "INVALID_FIELD",
                f"Didn't understand relationship '{parts[0]}' in field path. If you are "
                "attempting to use a custom relationship, be sure to append the '__r' after the "
                "custom relationship name. Please reference your WSDL or the describe call for "
                "the appropriate names.",
                t.pos,
            )
        parents = tuple(o for o in (get_object(n) for n in rel.reference_to) if o is not None)
        f = next((p.field(parts[1]) for p in parents if p.field(parts[1]) is not None), None)
        if f is None:
            raise self.no_column(t, parts[1], parents[0].name if len(parents) == 1 else "Name")
        key = (rel.relationship_name or "").lower()
        if key not in self.rels:
            self.rels[key] = (rel, f"p{len(self.rels) + 1}")
        return Column(t.text, f, rel, parents)

    def no_column(self, t: Token, name: str, entity: str) -> SoqlError:
        return self.error(
            "INVALID_FIELD",
            f"No such column '{name}' on entity '{entity}'. If you are attempting to use a custom "
            "field, be sure to append the '__c' after the custom field name. Please reference "
            "your WSDL or the describe call for the appropriate names.",
            t.pos,
        )

    def expr(self, col: Column) -> str:
        rel_key = (col.rel.relationship_name or "").lower() if col.rel else ""
        alias = "t0" if col.rel is None else self.rels[rel_key][1]
        if col.field.name in _SYSTEM_COLUMNS:
            return f"{alias}.{_SYSTEM_COLUMNS[col.field.name]}"
        return f"json_extract({alias}.doc, '$.{col.field.name}')"

    def parse_or(self) -> str:
        parts = [self.parse_and()]
        while self.is_kw("OR"):
            self.i += 1
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def parse_and(self) -> str:
        parts = [self.parse_not()]
        while self.is_kw("AND"):
            self.i += 1
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def parse_not(self) -> str:
        if self.is_kw("NOT"):
            self.i += 1
            return f"(NOT COALESCE({self.parse_not()}, 0))"
        if self.tok.text == "(":
            self.i += 1
            inner = self.parse_or()
            self.take("punct", ")")
            return inner
        return self.parse_comparison()

    def literal(self, col: Column) -> tuple[str, Any]:
        """(kind, Python value) of the next literal, type-checked against the field."""
        t = self.tok
        f = col.field
        self.i += 1
        if t.kind == "ident" and t.upper == "NULL":
            return "null", None
        if t.kind == "ident" and t.upper in ("TRUE", "FALSE"):
            if f.type != "boolean":
                raise self.type_error(f, "boolean", t)
            return "value", 1 if t.upper == "TRUE" else 0
        if f.type == "boolean":
            raise self.type_error(f, "boolean", t)
        if t.kind == "string":
            return self.string_literal(f, t)
        if t.kind == "number":
            if f.type not in ("int", "double", "currency", "percent"):
                raise self.type_error(f, f.type, t)
            return "value", float(t.text) if "." in t.text or "e" in t.text.lower() else int(t.text)
        if t.kind in ("datetime", "date"):
            return "value", self.date_literal(f, t)
        self.i -= 1
        raise self.unexpected()

    def string_literal(self, f: FieldDef, t: Token) -> tuple[str, Any]:
        if f.type in ("int", "double", "currency", "percent", "date", "datetime"):
            raise self.type_error(f, f.type, t, quoted=True)
        value = _unquote(t.text)
        if f.type in ("id", "reference") and ID_RE.match(value):
            value = to_18(value)
        return "text", value

    def date_literal(self, f: FieldDef, t: Token) -> str:
        """A date or datetime literal in the stored form of a date or datetime field."""
        try:
            if f.type == "datetime":
                return parse_datetime(t.text if t.kind == "datetime" else t.text + "T00:00:00Z")
            if f.type == "date" and t.kind == "date":
                return parse_date(t.text)
        except BadValue:
            pass
        raise self.type_error(f, f.type, t)

    def type_error(self, f: FieldDef, type_name: str, t: Token, quoted: bool = False) -> SoqlError:
        hint = " and should not be enclosed in quotes" if quoted else ""
        if f.is_text or f.type in ("id", "reference"):
            hint = " and should be enclosed in quotes"
            type_name = "string" if f.is_text else "id"
        return self.error(
            "INVALID_FIELD",
            f"value of filter criterion for field '{f.name}' must be of type {type_name}{hint}",
            t.pos,
        )

    def date_range(self, col: Column) -> tuple[str, str] | None:
        """``TODAY``, ``YESTERDAY``, ``TOMORROW``, ``LAST_N_DAYS:n``, ``NEXT_N_DAYS:n`` as a
        half-open [start, end) range in the field's stored form (UTC days)."""
        t = self.tok
        word = t.text.upper()
        if not (t.kind == "daterange" or (t.kind == "ident" and word in _DAY_LITERALS)):
            return None
        if col.field.type not in ("date", "datetime"):
            raise self.type_error(col.field, col.field.type, t)
        self.i += 1
        today = datetime.now(UTC).date()
        if t.kind == "daterange":
            name, _, n = word.partition(":")
            # LAST_N_DAYS:n runs from n days ago through today; NEXT_N_DAYS:n starts tomorrow.
            start, end = (
                (today - timedelta(days=int(n)), today + timedelta(days=1))
                if name == "LAST_N_DAYS"
                else (today + timedelta(days=1), today + timedelta(days=int(n) + 1))
            )
        else:
            offset = _DAY_LITERALS[word]
            start = today + timedelta(days=offset)
            end = start + timedelta(days=1)
        if col.field.type == "date":
            return start.isoformat(), end.isoformat()
        return (
            parse_datetime(f"{start.isoformat()}T00:00:00Z"),
            parse_datetime(f"{end.isoformat()}T00:00:00Z"),
        )

    def range_condition(self, expr: str, op: str, start: str, end: str) -> str:
        if op == "=":
            return f"({expr} >= {self._bind(start)} AND {expr} < {self._bind(end)})"
        if op == "!=":
            return (
                f"({expr} IS NULL OR {expr} < {self._bind(start)} OR {expr} >= {self._bind(end)})"
            )
        bound, cmp = {"<": (start, "<"), "<=": (end, "<"), ">": (end, ">="), ">=": (start, ">=")}[
            op
        ]
        return f"{expr} {cmp} {self._bind(bound)}"

    def _bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def _keyed(self, col: Column) -> bool:
        return (
            col.rel is None and col.field.indexed and col.field.name != "Id" and (col.field.is_text)
        )

    def parse_comparison(self) -> str:
        col = self.resolve(self.take("ident"))
        expr = self.expr(col)
        if self.is_kw("NOT") or self.is_kw("IN"):
            return self.in_condition(col, expr)
        if self.is_kw("LIKE"):
            return self.like_condition(col, expr)
        if self.tok.kind != "op":
            raise self.unexpected()
        op = self.tok.text
        self.i += 1
        op = "!=" if op == "<>" else op
        bounds = self.date_range(col)
        if bounds is not None:
            return self.range_condition(expr, op, *bounds)
        kind, value = self.literal(col)
        if kind == "null":
            return self.null_condition(expr, op)
        if op == "=" and self._keyed(col):
            return self.key_condition(col, [value])
        if col.field.is_text:
            cond = f"lower({expr}) {op} lower({self._bind(value)})"
        else:
            cond = f"{expr} {op} {self._bind(value)}"
        if op == "!=":
            # In SOQL, ``Field != 'x'`` also matches records where the field is null.
            return f"({expr} IS NULL OR {cond})"
        return cond

    def null_condition(self, expr: str, op: str) -> str:
        if op == "=":
            return f"{expr} IS NULL"
        if op == "!=":
            return f"{expr} IS NOT NULL"
        raise self.error("MALFORMED_QUERY", "invalid operator for null value")

    def key_condition(self, col: Column, values: list[Any]) -> str:
        """Match an External ID / idLookup field through ``ext_keys``, as Salesforce matches keys."""
        assert self.obj is not None
        obj_mark = self._bind(self.obj.name)
        field_mark = self._bind(col.field.name)
        key_marks = ",".join(self._bind(key_for(col.field, v)) for v in values)
        return (
            f"t0.id IN (SELECT id FROM ext_keys WHERE object = {obj_mark} AND "
            f"field = {field_mark} AND key IN ({key_marks}))"
        )

    def in_values(self, col: Column) -> list[Any]:
        """``( literal, ... )`` of an IN list; nulls never match and are dropped."""
        self.take("punct", "(")
        values = []
        while True:
            kind, value = self.literal(col)
            if kind != "null":
                values.append(value)
            if self.tok.text != ",":
                break
            self.i += 1
        self.take("punct", ")")
        return values

    def in_condition(self, col: Column, expr: str) -> str:
        negate = self.is_kw("NOT")
        if negate:
            self.i += 1
        self.take_kw("IN")
        values = self.in_values(col)
        if not values:
            return "0" if not negate else "1"
        if self._keyed(col) and not negate:
            return self.key_condition(col, values)
        ci = col.field.is_text
        target = f"lower({expr})" if ci else expr
        marks = ",".join(f"lower({self._bind(v)})" if ci else self._bind(v) for v in values)
        if negate:
            return f"({expr} IS NULL OR {target} NOT IN ({marks}))"
        return f"{target} IN ({marks})"

    def like_condition(self, col: Column, expr: str) -> str:
        self.i += 1
        t = self.take("string")
        if not col.field.is_text and col.field.type not in ("id", "reference"):
            raise self.error("INVALID_FIELD", f"invalid operator on {col.field.type} field", t.pos)
        pattern = _unquote(t.text, keep_like_escapes=True)
        return f"{expr} LIKE {self._bind(pattern)} ESCAPE '\\'"


def _unquote(text: str, keep_like_escapes: bool = False) -> str:
    body = text[1:-1]
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            rep = _ESCAPES.get(nxt, nxt)
            if not keep_like_escapes and nxt in "_%":
                rep = nxt
            elif keep_like_escapes and nxt == "\\":
                rep = "\\\\"  # a literal backslash stays escaped for LIKE ... ESCAPE '\\'
            out.append(rep)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_query(text: str) -> Query:
    """Parse and resolve a SOQL statement; raises :class:`SoqlError`."""
    if not text or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "unexpected token: '<EOF>'")
    return _Parser(text).parse()
