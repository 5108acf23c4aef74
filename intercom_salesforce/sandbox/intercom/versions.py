"""``Intercom-Version``: which versions the emulator serves, and in which version's shapes.

The store renders (and keeps) every record in 2.14's shapes, the version the project pins. A
request for a later version gets that JSON rewritten where the later description differs for what
the emulator serves. Diffing the component schemas of the official 2.14 and 2.16 descriptions
(``tests/sandbox/openapi/``), the differences in served responses are:

* ``contact.owner_id``: an integer in 2.14, a string in 2.16 (requests too: ``owner_id`` of a
  contact create/update is a string in 2.16);
* ``conversation.admin_assignee_id`` / ``team_assignee_id``: null when unassigned in 2.14, ``0``
  in 2.16 (no longer nullable);
* ``conversation.priority``: ``priority|not_priority`` in 2.14, ``none|low|medium|high|urgent``
  in 2.16. A 2.14 record carries one bit, so a prioritised conversation reads as ``high`` (the
  level the 2.16 description uses as its example) and any other as ``none``.

Everything else 2.16 adds to these resources is optional (``channel``, ``company``, ``scorecards``
on conversations, ``role`` on admins, ``notes`` on companies, ...) and is not rendered.

Versions served: 2.0 to 2.14 in 2.14's shapes, as the emulator always answered them (so clients
pinned to an older version, Airbyte's 2.11 among them, keep working; those versions' own
descriptions are not modelled); 2.16 in its own shapes; the Preview names in 2.16's, the newest
described, with Preview's exact-second search dates. 2.15 and the 1.x versions are not modelled:
they get Intercom's ``intercom_version_invalid`` error rather than shapes they never had.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

BASE = "2.14"
"""The shapes the store renders."""
PREVIEW_VERSIONS = frozenset({"Preview", "Unstable"})
SHAPES: dict[str, str] = {
    **{f"2.{i}": BASE for i in range(15)},
    "2.16": "2.16",
    **dict.fromkeys(PREVIEW_VERSIONS, "2.16"),
}
"""Each version served → the description whose shapes it is answered in."""
_PRIORITY = {"priority": "high", "not_priority": "none"}


def shapes_of(version: str) -> str | None:
    """The shapes ``version`` is answered in, or None when the emulator does not serve it."""
    return SHAPES.get(version)


def owner_id_in(version: str, value: Any) -> Any:
    """A contact's ``owner_id`` as a request of ``version`` sends it, as the store keeps it (an
    integer); a 2.16 string that is not a number is left for validation to refuse."""
    if shapes_of(version) == "2.16" and isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def adapt(version: str, response: Response) -> Response:
    """``response`` in ``version``'s shapes: 2.14 JSON as it is, 2.16 rewritten."""
    if shapes_of(version) == BASE or response.mimetype != "application/json":
        return response
    if not 200 <= response.status_code < 300:
        return response  # errors have one shape in every version
    body = to_2_16(json.loads(response.get_data()))
    response.set_data(json.dumps(body, separators=(",", ":")))
    return response


def to_2_16(value: Any) -> Any:
    """A decoded 2.14 body in 2.16's shapes (in place; returned for convenience)."""
    if isinstance(value, list):
        for item in value:
            to_2_16(item)
    elif isinstance(value, dict):
        kind = value.get("type")
        if kind == "contact" and isinstance(value.get("owner_id"), int):
            value["owner_id"] = str(value["owner_id"])
        elif kind == "conversation" and "priority" in value:
            _conversation(value)
        for item in value.values():
            if isinstance(item, dict | list):
                to_2_16(item)
    return value


def _conversation(conv: dict[str, Any]) -> None:
    conv["priority"] = _PRIORITY.get(conv["priority"], conv["priority"])
    for key in ("admin_assignee_id", "team_assignee_id"):
        if key in conv and conv[key] is None:
            conv[key] = 0
