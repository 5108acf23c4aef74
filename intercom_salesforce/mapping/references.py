"""Ids for the names routing uses, looked up in the warehouse's mirror of the org.

The mapping file names owners by email and queues and record types by DeveloperName so it reads
the same in every org; the Ids differ per org and are resolved here, once per run, from the
mirrored User, Group (queue), QueueSobject and RecordType rows.
"""

from __future__ import annotations

from typing import Any

from .compile import routing_references
from .errors import MappingError
from .model import ASSIGNEE, Mapping

PathKey = tuple[str | int, ...]


def _rows(conn: Any, sql: str, params: list[Any]) -> dict[str, str]:
    return {name: sf_id for name, sf_id in conn.execute(sql, params).fetchall()}


def _lookup(
    conn: Any, object_name: str, owners: set[str], record_types: set[str]
) -> dict[str, dict[str, str]]:
    """{"OwnerId": {email or queue: Id}, "RecordTypeId": {dev name: Id}} found in the mirror."""
    users = sorted(o for o in owners if "@" in o)
    queues = sorted(o for o in owners if "@" not in o)
    found: dict[str, dict[str, str]] = {"OwnerId": {}, "RecordTypeId": {}}
    if users:
        by_email = _rows(
            conn,
            'SELECT lower("Email"), min("Id") FROM mirror.salesforce_users '
            'WHERE "IsActive" AND lower("Email") IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1',
            [[u.lower() for u in users]],
        )
        found["OwnerId"] = {u: by_email[u.lower()] for u in users if u.lower() in by_email}
    if queues:
        found["OwnerId"] |= _rows(
            conn,
            'SELECT q."DeveloperName", q."Id" FROM mirror.salesforce_queues q '
            'JOIN mirror.salesforce_queue_sobjects s ON s."QueueId" = q."Id" '
            'WHERE s."SobjectType" = ? AND q."DeveloperName" IN (SELECT unnest(?::VARCHAR[]))',
            [object_name, queues],
        )
    if record_types:
        found["RecordTypeId"] = _rows(
            conn,
            'SELECT "DeveloperName", "Id" FROM mirror.salesforce_record_types '
            'WHERE "IsActive" AND "SobjectType" = ? '
            'AND "DeveloperName" IN (SELECT unnest(?::VARCHAR[]))',
            [object_name, sorted(record_types)],
        )
    return found


def _unresolved(
    mapping: Mapping,
    object_name: str,
    wanted: list[tuple[PathKey, str, str]],
    found: dict[str, dict[str, str]],
) -> list[str]:
    problems = []
    for path, field, name in wanted:
        if field in found and name not in found[field]:
            what = {
                "RecordTypeId": "an active record type",
                "OwnerId": "an active user" if "@" in name else "a queue for this object",
            }[field]
            problems.append(
                mapping.problem(
                    path, f"{name!r} is not {what} on {object_name} in the mirrored org"
                )
            )
    return problems


def resolve_references(conn: Any, mapping: Mapping, object_name: str) -> dict[str, dict[str, str]]:
    """{"OwnerId": {email or queue: Id}, "RecordTypeId": {dev name: Id}} for ``object_name``.

    ``conn`` is a DuckDB connection to the warehouse. Users must be active; queues must accept
    the object; record types must be active on it. Any name left unresolved raises MappingError
    naming the rule's line.
    """
    names = routing_references(mapping, object_name)
    found = _lookup(
        conn, object_name, names.get("OwnerId", set()), names.get("RecordTypeId", set())
    )
    wanted = [
        (("routing", i, "set", field), field, name)
        for i, rule in mapping.rules_for(object_name)
        for field, name in rule.set.items()
        if field in ("OwnerId", "RecordTypeId")
    ]
    problems = _unresolved(mapping, object_name, wanted, found)
    if problems:
        raise MappingError(problems)
    return found


def resolve_conversation_references(conn: Any, mapping: Mapping) -> dict[str, dict[str, str]]:
    """The same for ``conversations.routing``, on the configured target object; ``assignee``
    is resolved per conversation, not here."""
    target = mapping.conversations.target
    wanted = [
        (("conversations", "routing", i, "set", field), field, name)
        for i, rule in enumerate(mapping.conversations.routing)
        for field, name in rule.set.items()
        if not (field == "OwnerId" and name == ASSIGNEE)
    ]
    owners = {name for _, field, name in wanted if field == "OwnerId"}
    record_types = {name for _, field, name in wanted if field == "RecordTypeId"}
    found = _lookup(conn, target, owners, record_types)
    problems = _unresolved(mapping, target, wanted, found)
    if problems:
        raise MappingError(problems)
    return found
