"""Reading a mapping file: YAML with line numbers, then the schema, then cross-field checks.

Errors always name the file, the line and the field path, because the person fixing a mapping
is looking at the YAML, not at pydantic's model tree.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .checks import semantic_problems
from .errors import MappingError
from .model import Mapping, format_path

PathKey = tuple[str | int, ...]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that keeps mapping keys as written (``no:`` or ``1:`` in a value map stay
    strings) and refuses duplicate keys, which plain YAML silently lets the last one win."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
            else:
                key = self.construct_object(key_node, deep=deep)
            if key in out:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            out[key] = self.construct_object(value_node, deep=deep)
        return out


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    lambda loader, node: loader.construct_mapping(node, deep=True),
)


def _record_lines(node: yaml.Node, path: PathKey, lines: dict[PathKey, int]) -> None:
    """Line (1-based) of every key and list item, by its path in the loaded data."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            lines[path + (key,)] = key_node.start_mark.line + 1
            _record_lines(value_node, path + (key,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1
            _record_lines(item, path + (i,), lines)


def parse_yaml(text: str, name: str) -> tuple[Any, dict[PathKey, int]]:
    """The document and the line of each path in it; YAML syntax errors become MappingError."""
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines: dict[PathKey, int] = {(): node.start_mark.line + 1}
        _record_lines(node, (), lines)
        return loader.construct_document(node), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise MappingError(f"{name}:{line}: <yaml>: {exc.problem or exc}") from None
    finally:
        loader.dispose()


def _data_path(data: Any, loc: tuple[Any, ...]) -> PathKey:
    """The part of pydantic's ``loc`` that exists in the data (drops union tags, aliases)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if part == "from_" and isinstance(node, dict) and "from" in node:
            part = "from"
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            path.append(part)
            node = node[part]
    return tuple(path)


def _message(error: dict[str, Any], data: Any, path: PathKey) -> str:
    kind = error["type"]
    if kind == "unknown_transform":
        value = error["input"]
        if isinstance(value, dict):
            return f"unknown transform with keys {sorted(value)!r}"
        return f"unknown transform {value!r}"
    if kind == "extra_forbidden":
        return f"unknown key {path[-1]!r}" if path else "unknown key"
    if kind == "missing":
        return f"missing required key {error['loc'][-1]!r}"
    msg = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if kind != "value_error" and isinstance(value, str | int | float | bool):
        msg += f" (got {value!r})"
    return msg


def _validation_problems(exc: ValidationError, data: Any, lines: dict, name: str) -> list[str]:
    out: list[str] = []
    for error in exc.errors():
        path = _data_path(data, tuple(error["loc"]))
        line = next((lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in lines), 1)
        problem = f"{name}:{line}: {format_path(path)}: {_message(error, data, path)}"
        if problem not in out:
            out.append(problem)
    return out


@functools.lru_cache(maxsize=16)
def parse_mapping(text: str, name: str = "<mapping>") -> Mapping:
    """Validate mapping YAML ``text``; ``name`` is used in error messages (usually the path).

    Kept per text and name: every asset of a run loads the mapping, and parsing it with line
    numbers is pure-Python YAML work. The models are frozen, so callers share one safely; a file
    that changes is new text, parsed again. Errors are not kept.
    """
    data, lines = parse_yaml(text, name)
    if not isinstance(data, dict):
        raise MappingError(f"{name}:1: <top>: a mapping file is a YAML mapping with 'version: 1'")
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        raise MappingError(_validation_problems(exc, data, lines, name)) from None
    mapping._file = name
    mapping._lines = lines
    problems = semantic_problems(mapping)
    if problems:
        raise MappingError(problems)
    return mapping


def load_mapping(path: str | Path) -> Mapping:
    """Load and check a deployment's mapping file (not yet against the org: see validate.py)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{path}: cannot read mapping file: {exc.strerror}") from None
    return parse_mapping(text, str(path))
