"""Control endpoints under ``/_sandbox/`` (no auth, not rate limited, not part of Intercom's API).

* ``GET /_sandbox/health`` — liveness.
* ``GET /_sandbox/requests`` — the request log; ``DELETE`` clears it.
* ``GET /_sandbox/faults`` / ``PUT /_sandbox/faults`` — read / replace the ``FaultConfig``.
* ``GET /_sandbox/config`` — the emulator config (token included: it is a sandbox value).
* ``POST /_sandbox/contacts/<id>/touch`` and ``POST /_sandbox/conversations/<id>/touch`` — set
  ``updated_at`` (body ``{"updated_at": ts}``, default now) to simulate changes.
* ``GET /_sandbox/counts`` — number of records per entity.
* ``GET /_sandbox/holds`` (``?rule=NAME&held=N&wait=SECONDS`` to wait for held requests) and
  ``POST /_sandbox/holds/release`` (``{"rule": NAME, "drop": false, "disarm": true}``) — the hold
  fault's rules, what they hold, and their release (:mod:`intercom_salesforce.sandbox.hold`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from intercom_salesforce.sandbox.hold import hold_control
from intercom_salesforce.sandbox.intercom.config import FaultConfig
from intercom_salesforce.sandbox.intercom.errors import ApiError, json_response
from intercom_salesforce.sandbox.intercom.store.base import COUNTED

if TYPE_CHECKING:
    from intercom_salesforce.sandbox.intercom.app import IntercomEmulator


def _body(request: Request) -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def health(app: IntercomEmulator, request: Request) -> Response:
    return json_response(200, {"ok": True})


def requests_log(app: IntercomEmulator, request: Request) -> Response:
    if request.method == "DELETE":
        app.log.clear()
        return json_response(200, {"cleared": True})
    return json_response(200, {"requests": app.log.entries()})


def faults(app: IntercomEmulator, request: Request) -> Response:
    if request.method == "PUT":
        app.ctx.faults.replace(FaultConfig.from_dict(_body(request)))
        app.ctx.config.faults = app.ctx.faults.config
    return json_response(200, app.ctx.faults.config.to_dict())


def faults_injected(app: IntercomEmulator, request: Request) -> Response:
    """How many faults of each kind were served, so a soak can report what it survived."""
    return json_response(200, dict(app.ctx.faults.injected))


def config(app: IntercomEmulator, request: Request) -> Response:
    return json_response(200, app.ctx.config.to_dict())


def counts(app: IntercomEmulator, request: Request) -> Response:
    store = app.ctx.store
    return json_response(200, {name: store.count(name) for name in COUNTED})


def _touch(app: IntercomEmulator, request: Request, entity: str, record_id: str) -> Response:
    ts = _body(request).get("updated_at")
    when = app.ctx.now() if ts is None else int(ts)
    if not app.ctx.store.touch(entity, [record_id], when):
        raise ApiError(404, "not_found", f"{entity[:-1]} {record_id} not found")
    return json_response(200, {"id": record_id, "updated_at": when})


def touch_contact(app: IntercomEmulator, request: Request, contact_id: str) -> Response:
    return _touch(app, request, "contacts", contact_id)


def touch_conversation(app: IntercomEmulator, request: Request, conversation_id: str) -> Response:
    return _touch(app, request, "conversations", conversation_id)


def _holds(app: IntercomEmulator, request: Request, action: str | None) -> Response:
    body = _body(request) if request.method == "POST" else None
    app.holds.sync(app.ctx.faults.config.holds)
    status, payload = hold_control(app.holds, request.method, action, request.args, body)
    if status != 200:
        code = "not_found" if status == 404 else "parameter_invalid"
        raise ApiError(status, code, payload["error"])
    return json_response(200, payload)


def holds(app: IntercomEmulator, request: Request) -> Response:
    return _holds(app, request, None)


def release_holds(app: IntercomEmulator, request: Request) -> Response:
    return _holds(app, request, "release")


ROUTES = [
    ("/_sandbox/health", ["GET"], health),
    ("/_sandbox/requests", ["GET", "DELETE"], requests_log),
    ("/_sandbox/faults", ["GET", "PUT"], faults),
    ("/_sandbox/faults/injected", ["GET"], faults_injected),
    ("/_sandbox/config", ["GET"], config),
    ("/_sandbox/counts", ["GET"], counts),
    ("/_sandbox/holds", ["GET"], holds),
    ("/_sandbox/holds/release", ["POST"], release_holds),
    ("/_sandbox/contacts/<contact_id>/touch", ["POST"], touch_contact),
    ("/_sandbox/conversations/<conversation_id>/touch", ["POST"], touch_conversation),
]
