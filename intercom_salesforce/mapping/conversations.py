"""Conversation routing compiled to SQL: which rule routes each conversation, and to whom.

Rules live under ``conversations.routing`` in the mapping file. Their conditions read the
conversation (its tags, its team inbox, the teams of its assignee) and, for brand, region and
business unit, the conversation's contact (through ``scope_attributes``). The first rule whose
conditions hold wins; a field it does not set comes from the default rule; with no rule at all
the owner is the assignee's active Salesforce user. The rule's name goes with the record, so
``sync.routing_decisions`` can say why each record has its owner.
"""

from __future__ import annotations

from typing import Any

from .compile import TAGS_TABLE, TEAMS_TABLE
from .errors import MappingError
from .expr import parse_path
from .functions import ROW, column_ref, quote, text
from .model import ASSIGNEE, ConversationRule, Mapping
from .sources import SOURCES
from .validate import PathKey

CONTACTS_VIEW = SOURCES["contacts"].view


def _ids_named(table: str, values: list[str]) -> str:
    """Ids of the tags or teams named in ``values``, plus the values themselves (ids given)."""
    listed = ", ".join(quote(v) for v in values)
    return (
        f"list_concat(coalesce((SELECT list(x.id) FROM {table} x WHERE x.name IN ({listed})), "
        f"[]), [{listed}]::VARCHAR[])"
    )


def rule_condition(mapping: Mapping, rule: ConversationRule, alias: str = "p") -> str:
    """SQL over the payload relation ``alias`` that is true when ``rule``'s conditions hold."""
    if rule.when is None:
        return "TRUE"
    parts: list[str] = []
    for dim, values in rule.when.conditions().items():
        listed = ", ".join(quote(v) for v in values)
        if dim == "tag":
            parts.append(
                f"(list_has_any({alias}._tag_names, [{listed}]::VARCHAR[]) "
                f"OR list_has_any({alias}._tag_ids, {_ids_named(TAGS_TABLE, values)}))"
            )
        elif dim == "inbox":  # the team inbox the conversation is assigned to
            parts.append(
                f"coalesce(list_contains({_ids_named(TEAMS_TABLE, values)}, "
                f"{alias}._team_id), FALSE)"
            )
        elif dim == "team":  # the team inbox, or any team of the assigned teammate
            teams = f"list_concat([{alias}._team_id]::VARCHAR[], {alias}._assignee_team_ids)"
            parts.append(f"list_has_any({teams}, {_ids_named(TEAMS_TABLE, values)})")
        else:  # brand, region, business_unit: the contact's scope attributes
            ref = column_ref(
                SOURCES["contacts"], parse_path(getattr(mapping.scope_attributes, dim))
            )
            parts.append(
                f"coalesce((SELECT {text(ref)} FROM {CONTACTS_VIEW} {ROW} "
                f"WHERE {ROW}.id = {alias}._contact_id) IN ({listed}), FALSE)"
            )
    return "(" + " AND ".join(parts) + ")"


def _value(field: str, name: str, refs: dict[str, dict[str, str]], alias: str) -> str:
    if field == "OwnerId" and name == ASSIGNEE:
        return f"{alias}._assignee_user_id"
    return quote(refs[field][name])


def compile_routing(
    mapping: Mapping, payload: str, refs: dict[str, dict[str, str]] | None = None
) -> str:
    """``payload`` with ``_route_rule``, ``_route_owner`` and ``_route_record_type`` added.

    ``refs`` are the Ids of the owners, queues and record types the rules name (see
    ``resolve_conversation_references``).
    """
    refs = refs or {}
    rules = list(enumerate(mapping.conversations.routing))
    default = next(((i, r) for i, r in rules if r.default), None)
    matching = [(i, r) for i, r in rules if not r.default]
    index = (
        "CASE "
        + " ".join(f"WHEN {rule_condition(mapping, r)} THEN {i}" for i, r in matching)
        + " END"
        if matching
        else "NULL::INTEGER"
    )

    def field_sql(field: str, fallback: str) -> str:
        base = (
            _value(field, default[1].set[field], refs, "p")
            if default and field in default[1].set
            else fallback
        )
        whens = [
            f"WHEN {i} THEN {_value(field, r.set[field], refs, 'p')}"
            for i, r in matching
            if field in r.set
        ]
        if not whens:
            return base
        return f"coalesce(CASE p._route_index {' '.join(whens)} END, {base})"

    labels = " ".join(f"WHEN {i} THEN {quote(r.label(i))}" for i, r in matching)
    default_label = quote(default[1].label(default[0])) if default else "'assignee (no rule)'"
    label = f"CASE p._route_index {labels} ELSE {default_label} END" if labels else default_label
    return (
        f"SELECT p.* EXCLUDE (_route_index), {label} AS _route_rule, "
        f"{field_sql('OwnerId', 'p._assignee_user_id')} AS _route_owner, "
        f"{field_sql('RecordTypeId', 'NULL::VARCHAR')} AS _route_record_type\n"
        f"FROM (SELECT p.*, {index} AS _route_index FROM ({payload}) p) p"
    )


def routes_record_types(mapping: Mapping) -> bool:
    return any("RecordTypeId" in r.set for r in mapping.conversations.routing)


def check_conversation_target(
    mapping: Mapping, describe: dict[str, Any], fields: list[str] | None = None
) -> None:
    """Raise MappingError when the target lacks a field we write or routing does not fit it."""
    target = mapping.conversations.target
    known = {f["name"]: f for f in describe.get("fields", [])}
    problems = [
        mapping.problem(
            ("conversations", "target"),
            f"{target}.{name} is not a createable field in this org",
        )
        for name in fields or []
        if not known.get(name, {}).get("createable", False)
    ]
    problems += conversation_problems(mapping, describe)
    if problems:
        raise MappingError(problems)


def conversation_problems(mapping: Mapping, describe: dict[str, Any]) -> list[str]:
    """Conversation routing against the target object's describe (owner kinds, record types)."""
    target = mapping.conversations.target
    fields = {f["name"]: f for f in describe.get("fields", [])}
    record_types = {
        rt["developerName"]
        for rt in describe.get("recordTypeInfos", [])
        if rt.get("active") and rt.get("available") and not rt.get("master")
    }
    out: list[str] = []
    for i, rule in enumerate(mapping.conversations.routing):
        for field, value in rule.set.items():
            path: PathKey = ("conversations", "routing", i, "set", field)
            meta = fields.get(field)
            if meta is None:
                out.append(mapping.problem(path, f"{target} has no field {field}"))
            elif (
                field == "OwnerId"
                and value != ASSIGNEE
                and "@" not in value
                and ("Group" not in meta.get("referenceTo", []))
            ):
                out.append(
                    mapping.problem(
                        path, f"{target} records cannot be owned by a queue ({value!r})"
                    )
                )
            elif field == "RecordTypeId" and value not in record_types:
                known = ", ".join(sorted(record_types)) or "none"
                out.append(
                    mapping.problem(
                        path, f"{target} has no active record type {value!r} (available: {known})"
                    )
                )
    return out
