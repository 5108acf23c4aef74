"""A token without a permission: the requests it may not make, answered as Intercom answers them.

An Intercom access token carries the permissions its app was granted in the Developer Hub; a call
that needs one it lacks is refused with ``401`` and ``{"code": "token_unauthorized", "message":
"Not authorized to access resource"}`` (the body seen in intercom-php issues #189 and #257 and
intercom-ruby #323 for calls outside a token's scopes; the reference lists the code in §6 and
Airbyte's 401 "Permission Scope Error" in §8c). Intercom's message does not name the permission,
so a client that wants to must know which call needs which.

``FaultConfig.unauthorized`` lists the refused requests as ``{"method", "path"}`` rules (``path``
a regular expression over the whole API path, as hold rules take it), e.g. ``{"method": "POST",
"path": "/data_attributes"}`` for a token that may read but not create data attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from intercom_salesforce.sandbox.hold import RequestRule

PERMISSION_CODE = "token_unauthorized"
PERMISSION_MESSAGE = "Not authorized to access resource"


@dataclass(frozen=True)
class UnauthorizedRule(RequestRule):
    """Requests the token may not make: ``method`` (``*`` for any) and a ``path`` regex."""

    KIND: ClassVar[str] = "unauthorized rule"


def parse_unauthorized(data: Any) -> list[UnauthorizedRule]:
    """Rules from their JSON form (a list of ``{"method", "path"}`` objects)."""
    if data is None:
        return []
    if not isinstance(data, list | tuple):
        raise ValueError("unauthorized must be a list of rules")
    rules = []
    for item in data:
        if isinstance(item, UnauthorizedRule):
            rules.append(item)
            continue
        if not isinstance(item, dict):
            raise ValueError(f"an unauthorized rule is a JSON object, not {item!r}")
        unknown = set(item) - {f.name for f in fields(UnauthorizedRule)}
        if unknown:
            raise ValueError(f"unknown unauthorized rule settings: {sorted(unknown)}")
        rules.append(UnauthorizedRule(**item))
    return rules
