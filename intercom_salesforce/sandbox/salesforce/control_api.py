"""The sandbox's own endpoints under ``/_sandbox/``: no session, not counted, not Salesforce's.

* ``GET``/``PUT /_sandbox/config/faults`` - read or change :class:`~.config.SalesforceFaults`
  (a ``PUT`` changes only the settings it names; naming ``holds`` replaces the hold rules)
* ``GET /_sandbox/holds`` and ``POST /_sandbox/holds/release`` - the hold fault
* ``POST /_sandbox/reset-limits`` - zero the daily counters
* ``GET /_sandbox/requests`` - recent requests
* ``POST /_sandbox/leads/{id}/convert`` - convert a Lead
* ``GET /_sandbox/`` and ``GET /_sandbox/{Object}?page=N`` - HTML pages of the org's records
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from intercom_salesforce.sandbox.hold import hold_control

from .baseline import INTEGRATION_USER_ID
from .dml import Writer
from .errors import ApiError, Call, json_response, read_body, read_object
from .ids import ID_RE, to_18
from .inspect_pages import object_page, overview_page
from .org_api import LIMIT_COUNTERS, limits_body
from .routing import Route
from .sobjects_api import object_or_404
from .validation import RecordError

if TYPE_CHECKING:
    from .app import SalesforceEmulator

_HTML = "text/html; charset=utf-8"


def overview(app: SalesforceEmulator, call: Call) -> Response:
    return Response(overview_page(app.store), content_type=_HTML)


def faults(app: SalesforceEmulator, call: Call) -> Response:
    """A ``PUT`` changes only the settings it names, and replaces the hold rules (answering what
    they held) only when it names ``holds``."""
    if call.method == "PUT":
        body = read_object(call.request)
        try:
            new = app.config.faults.updated(body)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "INVALID_FIELD", str(exc)) from exc
        app.install_faults(new)
        if "holds" in body:
            app.holds.configure(new.holds)
    return json_response(app.config.faults.to_dict())


def _holds(app: SalesforceEmulator, call: Call, action: str | None) -> Response:
    body = read_body(call.request) if call.method == "POST" else None
    app.holds.sync(app.config.faults.holds)
    status, payload = hold_control(app.holds, call.method, action, call.args, body)
    if status != 200:
        code = "NOT_FOUND" if status == 404 else "INVALID_FIELD"
        raise ApiError(status, code, payload["error"])
    return json_response(payload)


def holds(app: SalesforceEmulator, call: Call) -> Response:
    return _holds(app, call, None)


def hold_action(app: SalesforceEmulator, call: Call, action: str) -> Response:
    return _holds(app, call, action)


def reset_limits(app: SalesforceEmulator, call: Call) -> Response:
    for key in LIMIT_COUNTERS:
        app.store.set_meta(key, "0")
    return json_response(limits_body(app))


def requests_log(app: SalesforceEmulator, call: Call) -> Response:
    return json_response(list(app.request_log))


def convert_lead(app: SalesforceEmulator, call: Call, lead_id: str) -> Response:
    body = read_body(call.request) or {}
    account_id = body.get("accountId") if isinstance(body, dict) else None
    try:
        with app.store.transaction():
            lead_id = to_18(lead_id) if ID_RE.match(lead_id) else lead_id
            result = Writer(app.store, INTEGRATION_USER_ID, app.clock).convert_lead(
                lead_id, account_id
            )
    except RecordError as exc:
        return json_response([exc.rest()], 400)
    return json_response(result)


def records_page(app: SalesforceEmulator, call: Call, name: str) -> Response:
    obj = object_or_404(name)
    page = call.args.get("page", "1")
    return Response(
        object_page(app.store, obj, int(page) if page.isdigit() else 1), content_type=_HTML
    )


ROUTES = [
    Route("/_sandbox", overview),
    Route("/_sandbox/config/faults", faults),
    Route("/_sandbox/holds", holds),
    Route("/_sandbox/holds/<action>", hold_action),
    Route("/_sandbox/reset-limits", reset_limits, ("POST",)),
    Route("/_sandbox/requests", requests_log),
    Route("/_sandbox/leads/<lead_id>/convert", convert_lead, ("POST",)),
    Route("/_sandbox/<name>", records_page, ("GET",)),
]
