"""The ``expr`` language: a few whitelisted functions over staging paths and literals.

Grammar (whitespace between tokens is ignored)::

    expr    := call | path | STRING | NUMBER | 'null'
    call    := NAME '(' [expr (',' expr)*] ')'
    path    := NAME ('.' NAME | '[' STRING ']')*
    NAME    := [A-Za-z_][A-Za-z0-9_-]*
    STRING  := "'" ( [^'] | "''" )* "'"
    NUMBER  := -?[0-9]+ ('.' [0-9]+)?

Expressions compile to DuckDB SQL through ``functions.FUNCTIONS``; nothing in an expression is
passed to SQL as written except string literals (quoted) and numbers, so a mapping file can never
inject SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .functions import FUNCTIONS, Typed, column_ref, literal
from .sources import Source

_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_-]*)|(?P<string>'(?:[^']|'')*')"
    r"|(?P<number>-?[0-9]+(?:\.[0-9]+)?)|(?P<punct>[(),.\[\]]))"
)


class ExprError(ValueError):
    """A syntax or reference error; ``column`` is 1-based within the expression."""

    def __init__(self, message: str, column: int) -> None:
        self.column = column
        super().__init__(f"{message} at column {column}")


@dataclass(frozen=True)
class Lit:
    value: str | int | float | None


@dataclass(frozen=True)
class Ref:
    segments: tuple[str, ...]
    column: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Lit | Ref | Call, ...]
    column: int


Node = Lit | Ref | Call


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            col = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise ExprError(f"unexpected character {text[col - 1]!r}", col)
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind) + 1))
        pos = m.end()
    out.append(("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self, kind: str, value: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if tok[0] != kind or (value is not None and tok[1] != value):
            want = repr(value) if value else kind
            got = repr(tok[1]) if tok[0] != "end" else "end of expression"
            raise ExprError(f"expected {want}, found {got}", tok[2])
        self.i += 1
        return tok

    def expr(self) -> Node:
        kind, value, col = self.peek()
        if kind == "string":
            self.i += 1
            return Lit(value[1:-1].replace("''", "'"))
        if kind == "number":
            self.i += 1
            return Lit(float(value) if "." in value else int(value))
        if kind != "name":
            got = repr(value) if kind != "end" else "end of expression"
            raise ExprError(f"expected a value, found {got}", col)
        self.i += 1
        if value == "null":
            return Lit(None)
        if self.peek()[1] == "(":
            return self.call(value, col)
        return self.path(value, col)

    def call(self, name: str, col: int) -> Call:
        self.take("punct", "(")
        args: list[Node] = []
        if self.peek()[1] != ")":
            args.append(self.expr())
            while self.peek()[1] == ",":
                self.i += 1
                args.append(self.expr())
        self.take("punct", ")")
        return Call(name, tuple(args), col)

    def path(self, first: str, col: int) -> Ref:
        segments = [first]
        while self.peek()[1] in (".", "["):
            if self.take("punct")[1] == ".":
                segments.append(self.take("name")[1])
            else:
                segments.append(self.take("string")[1][1:-1].replace("''", "'"))
                self.take("punct", "]")
        return Ref(tuple(segments), col)


def parse_expr(text: str) -> Node:
    """The syntax tree of ``text``; raises ExprError naming the column of the problem."""
    parser = _Parser(text)
    node = parser.expr()
    kind, value, col = parser.peek()
    if kind != "end":
        raise ExprError(f"unexpected {value!r} after the expression", col)
    return node


def parse_path(text: str) -> tuple[str, ...]:
    """The segments of a ``from`` path such as ``custom_attributes.plan``."""
    node = parse_expr(text)
    if not isinstance(node, Ref):
        raise ExprError("'from' takes a column or a dotted path; use 'expr' for functions", 1)
    return node.segments


def compile_node(node: Node, source: Source) -> Typed:
    """DuckDB SQL for ``node`` over ``source``'s staging row; raises ExprError."""
    if isinstance(node, Lit):
        return literal(node.value)
    if isinstance(node, Ref):
        try:
            return column_ref(source, node.segments)
        except ValueError as exc:
            raise ExprError(str(exc), node.column) from None
    spec = FUNCTIONS.get(node.name)
    if spec is None:
        known = ", ".join(sorted(FUNCTIONS))
        raise ExprError(f"unknown function {node.name!r} (known: {known})", node.column)
    builder, fewest, most = spec
    n = len(node.args)
    if n < fewest or (most is not None and n > most):
        want = str(fewest) if most == fewest else f"{fewest} or more" if most is None else ""
        want = want or f"{fewest} to {most}"
        raise ExprError(f"{node.name}() takes {want} argument(s), got {n}", node.column)
    args = [compile_node(a, source) for a in node.args]
    try:
        return builder(*args)
    except ValueError as exc:
        raise ExprError(str(exc), node.column) from None


def compile_expr(text: str, source: Source) -> Typed:
    return compile_node(parse_expr(text), source)


def refs(node: Node) -> list[Ref]:
    """Every path the expression reads, in order (for checks on what each one holds)."""
    if isinstance(node, Ref):
        return [node]
    if isinstance(node, Call):
        return [r for a in node.args for r in refs(a)]
    return []
