"""Checks across models that the schema alone cannot make: paths against the staging columns,
expressions, the external id, routing and lifecycle targets.

They run at load, before anything talks to Salesforce, so a broken file never starts a run.
"""

from __future__ import annotations

from .expr import compile_expr, parse_path
from .functions import column_ref
from .guards import CLEAR_MARKER, is_clear_marker
from .model import FieldMapping, Mapping, MapTransform, ScopeRule
from .sources import SOURCES
from .writeback import writeback_problems

PathKey = tuple[str | int, ...]


def _field_problems(mapping: Mapping, name: str) -> list[str]:
    obj = mapping.objects[name]
    source = SOURCES[obj.source]
    out: list[str] = []
    for field, fm in obj.fields.items():
        base = ("objects", name, "fields", field)
        try:
            if fm.kind == "from":
                column_ref(source, parse_path(fm.from_ or ""))
            elif fm.kind == "expr":
                compile_expr(fm.expr or "", source)
        except ValueError as exc:
            key = "from" if fm.kind == "from" else "expr"
            out.append(mapping.problem(base + (key,), str(exc)))
    if isinstance(obj.create, str) and name != "Contact":
        out.append(
            mapping.problem(
                ("objects", name, "create"),
                f"{obj.create!r} applies to Contact only (a Contact under an Account); "
                f"use true or false for {name}",
            )
        )
    if obj.external_id not in obj.fields:
        out.append(
            mapping.problem(
                ("objects", name, "external_id"),
                f"the external id {obj.external_id!r} must also be mapped under 'fields'",
            )
        )
    return out


def _rule_target_problems(
    mapping: Mapping, rule: ScopeRule, path: PathKey, obj_name: str
) -> list[str]:
    """What a routing rule's conditions cannot read on one of its objects."""
    obj = mapping.objects[obj_name]
    conditions = rule.when.conditions() if rule.when else {}
    out: list[str] = []
    if "inbox" in conditions:
        out.append(
            mapping.problem(
                path + ("when", "inbox"),
                "inbox is a conversation's team inbox; use it under conversations.routing",
            )
        )
    if "team" in conditions and obj.source != "contacts":
        out.append(
            mapping.problem(
                path + ("when", "team"),
                f"team is the contact owner's team; {obj_name} is read from {obj.source}",
            )
        )
    for dim in ("brand", "region", "business_unit"):
        if dim in conditions:
            try:
                column_ref(SOURCES[obj.source], parse_path(getattr(mapping.scope_attributes, dim)))
            except ValueError as exc:
                out.append(mapping.problem(("scope_attributes", dim), str(exc)))
    return out


def _default_rule_problems(
    mapping: Mapping, rule: ScopeRule, index: int, obj_name: str, defaults: dict[str, int]
) -> list[str]:
    """One default rule per object, and never for a field the object maps under ``fields``."""
    path: PathKey = ("routing", index)
    out: list[str] = []
    if obj_name in defaults:
        out.append(
            mapping.problem(
                path + ("default",),
                f"a second default rule for {obj_name} (the first is "
                f"routing[{defaults[obj_name]}])",
            )
        )
    defaults.setdefault(obj_name, index)
    for field in rule.set:
        if field in mapping.objects[obj_name].fields:
            out.append(
                mapping.problem(
                    path + ("set", field),
                    f"{obj_name}.{field} is both mapped under 'fields' and set by "
                    "a default rule; keep one",
                )
            )
    return out


def _routing_problems(mapping: Mapping) -> list[str]:
    out: list[str] = []
    defaults: dict[str, int] = {}
    for i, rule in enumerate(mapping.routing):
        path: PathKey = ("routing", i)
        targets = rule.objects if rule.objects is not None else list(mapping.objects)
        for obj_name in rule.objects or []:
            if obj_name not in mapping.objects:
                out.append(mapping.problem(path + ("objects",), f"{obj_name!r} is not mapped"))
        for obj_name in (t for t in targets if t in mapping.objects):
            out += _rule_target_problems(mapping, rule, path, obj_name)
            if rule.default:
                out += _default_rule_problems(mapping, rule, i, obj_name, defaults)
        if not rule.set:
            out.append(mapping.problem(path + ("set",), "a rule must set at least one field"))
    return out


def _conversation_problems(mapping: Mapping) -> list[str]:
    """Conversation routing: one default at most; scope dimensions read from the contact."""
    out: list[str] = []
    default: int | None = None
    for i, rule in enumerate(mapping.conversations.routing):
        path: tuple[str | int, ...] = ("conversations", "routing", i)
        if rule.default:
            if default is not None:
                out.append(
                    mapping.problem(
                        path + ("default",),
                        f"a second default rule (the first is conversations.routing[{default}])",
                    )
                )
            default = i if default is None else default
        conditions = rule.when.conditions() if rule.when else {}
        for dim in ("brand", "region", "business_unit"):
            if dim in conditions:
                try:
                    column_ref(
                        SOURCES["contacts"], parse_path(getattr(mapping.scope_attributes, dim))
                    )
                except ValueError as exc:
                    out.append(mapping.problem(("scope_attributes", dim), str(exc)))
    return out


def _lifecycle_problems(mapping: Mapping) -> list[str]:
    out: list[str] = []
    targets: list[tuple[tuple[str | int, ...], str]] = [
        (("lifecycle", "role_change", "lead_to_user", t), t)
        for t in mapping.lifecycle.role_change.lead_to_user or {}
    ]
    for event, settings in mapping.lifecycle.events.items():
        targets += [(("lifecycle", "events", event, t), t) for t in settings]
    for path, target in targets:
        obj_name = target.split(".", 1)[0]
        obj = mapping.objects.get(obj_name)
        if obj is None:
            out.append(mapping.problem(path, f"{obj_name!r} is not mapped"))
        elif obj.source != "contacts":
            out.append(
                mapping.problem(path, f"lifecycle applies to people; {obj_name} reads companies")
            )
    return out


def _constants(fm: FieldMapping, path: PathKey) -> list[tuple[PathKey, object]]:
    """The constants a field mapping can send: its ``value``, map outputs and defaults."""
    out: list[tuple[PathKey, object]] = (
        [(path + ("value",), fm.value)] if fm.kind == "value" else []
    )
    for i, t in enumerate(fm.transforms):
        if isinstance(t, MapTransform):
            out += [(path + ("transforms", i, "map", k), v) for k, v in t.map.items()]
            out.append((path + ("transforms", i, "default"), t.default))
    return out


def _clear_marker_problems(mapping: Mapping) -> list[str]:
    """A constant ``#N/A`` would clear the field in every record instead of writing text: the Bulk
    API has no way to send it as data. ``clear_when_null`` is how a mapping clears a field."""
    found: list[tuple[PathKey, object]] = []
    for name, obj in mapping.objects.items():
        for field, fm in obj.fields.items():
            found += _constants(fm, ("objects", name, "fields", field))
    for i, rule in enumerate(mapping.routing):
        found += [(("routing", i, "set", f), v) for f, v in rule.set.items()]
    for name in mapping.objects:
        found += [(s.path, s.value) for s in mapping.lifecycle_for(name)]
    return [
        mapping.problem(
            path,
            f"{value!r} is the Bulk API's {CLEAR_MARKER} marker: it would clear the field, not "
            "write text (use clear_when_null to clear a field)",
        )
        for path, value in found
        if is_clear_marker(value)
    ]


def semantic_problems(mapping: Mapping) -> list[str]:
    """Every cross-field problem of ``mapping``, each naming file, line and field path."""
    out: list[str] = []
    for name in mapping.objects:
        out += _field_problems(mapping, name)
    out += _routing_problems(mapping)
    out += _conversation_problems(mapping)
    out += _lifecycle_problems(mapping)
    out += _clear_marker_problems(mapping)
    out += writeback_problems(mapping)
    return out
