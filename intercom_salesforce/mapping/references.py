"""Ids for the names routing uses, looked up in the warehouse's mirror of the org.

The mapping file names owners by email and queues and record types by DeveloperName so it reads
the same in every org; the Ids differ per org and are resolved here, once per run, from the
mirrored User, Group (queue), QueueSobject and RecordType rows.
"""

from __future__ import annotations

from typing import Any

from .compile import routing_references
from .errors import MappingError
from .model import Mapping


def _rows(conn: Any, sql: str, params: list[Any]) -> dict[str, str]:
    return {name: sf_id for name, sf_id in conn.execute(sql, params).fetchall()}


def resolve_references(conn: Any, mapping: Mapping, object_name: str) -> dict[str, dict[str, str]]:
    """{"OwnerId": {email or queue: Id}, "RecordTypeId": {dev name: Id}} for ``object_name``.

    ``conn`` is a DuckDB connection to the warehouse. Users must be active; queues must accept
    the object; record types must be active on it. Any name left unresolved raises MappingError
    naming the rule's line.
    """
    wanted = routing_references(mapping, object_name)
    owners = sorted(wanted.get("OwnerId", set()))
    users = [o for o in owners if "@" in o]
    queues = [o for o in owners if "@" not in o]
    found: dict[str, dict[str, str]] = {"OwnerId": {}, "RecordTypeId": {}}
    if users:
        found["OwnerId"] |= _rows(
            conn,
            'SELECT lower("Email"), min("Id") FROM mirror.salesforce_users '
            'WHERE "IsActive" AND lower("Email") IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1',
            [[u.lower() for u in users]],
        )
        found["OwnerId"] = {
            u: found["OwnerId"][u.lower()] for u in users if u.lower() in found["OwnerId"]
        }
    if queues:
        found["OwnerId"] |= _rows(
            conn,
            'SELECT q."DeveloperName", q."Id" FROM mirror.salesforce_queues q '
            'JOIN mirror.salesforce_queue_sobjects s ON s."QueueId" = q."Id" '
            'WHERE s."SobjectType" = ? AND q."DeveloperName" IN (SELECT unnest(?::VARCHAR[]))',
            [object_name, queues],
        )
    record_types = sorted(wanted.get("RecordTypeId", set()))
    if record_types:
        found["RecordTypeId"] = _rows(
            conn,
            'SELECT "DeveloperName", "Id" FROM mirror.salesforce_record_types '
            'WHERE "IsActive" AND "SobjectType" = ? '
            'AND "DeveloperName" IN (SELECT unnest(?::VARCHAR[]))',
            [object_name, record_types],
        )
    problems = []
    for i, rule in mapping.rules_for(object_name):
        for field, name in rule.set.items():
            if field in found and name not in found[field]:
                what = {
                    "RecordTypeId": "an active record type",
                    "OwnerId": "an active user" if "@" in name else "a queue for this object",
                }[field]
                problems.append(
                    mapping.problem(
                        ("routing", i, "set", field),
                        f"{name!r} is not {what} on {object_name} in the mirrored org",
                    )
                )
    if problems:
        raise MappingError(problems)
    return found
