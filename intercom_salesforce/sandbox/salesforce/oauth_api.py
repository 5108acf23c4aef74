"""Log-in resources: the OAuth token endpoint, the SOAP ``login()`` call and the version list.

None of them needs a session; they are how a client gets one (reference 5.1, 7.1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from .auth import (
    OAuthError,
    authenticate,
    new_token,
    soap_credentials,
    soap_fault,
    soap_login_response,
    token_response,
)
from .baseline import INTEGRATION_USER_ID
from .errors import Call, json_response, method_not_allowed
from .routing import Route

if TYPE_CHECKING:
    from .app import SalesforceEmulator

_SEASONS = ("Winter", "Spring", "Summer")
_XML = "text/xml; charset=utf-8"


def _release_label(version: float) -> str:
    idx = int(version) - 59
    return f"{_SEASONS[idx % 3]} '{24 + idx // 3}"


def _user_id_for(app: SalesforceEmulator, username: str) -> str:
    ids = app.store.find_ids("User", "Username", username)
    return ids[0] if ids else INTEGRATION_USER_ID


def _issue(app: SalesforceEmulator, username: str, now: float) -> tuple[str, str]:
    """A new access token for ``username``: (token, user id)."""
    user_id = _user_id_for(app, username)
    token = new_token(app.config.org_id)
    app.store.add_token(token, user_id, now)
    return token, user_id


def token(app: SalesforceEmulator, call: Call) -> Response:
    """``POST /services/oauth2/token``: every grant :func:`auth.authenticate` knows."""
    if call.method != "POST":
        raise method_not_allowed()
    request = call.request
    own = app.own_url(request)
    now = app.clock()
    try:
        username = authenticate(
            app.config, request.form.to_dict(), request.headers.get("Authorization"), own, now
        )
    except OAuthError as exc:
        return json_response(exc.body(), exc.status)
    access_token, user_id = _issue(app, username, now)
    return json_response(token_response(app.config, access_token, user_id, own, int(now * 1000)))


def soap_login(app: SalesforceEmulator, call: Call, soap_version: str) -> Response:
    """Partner API ``login()`` (reference 5.1; being retired, kept for older clients)."""
    username, password = soap_credentials(call.request.get_data(as_text=True))
    config = app.config
    if username != config.username or password != config.password + config.security_token:
        return Response(soap_fault(), status=500, content_type=_XML)
    access_token, user_id = _issue(app, username, app.clock())
    body = soap_login_response(
        access_token, app.own_url(call.request), soap_version, config.org_id, user_id, username
    )
    return Response(body, content_type=_XML)


def versions(app: SalesforceEmulator, call: Call) -> Response:
    """``GET /services/data``: the API versions the org serves."""
    return json_response(
        [
            {"label": _release_label(v), "url": f"/services/data/v{v:.1f}", "version": f"{v:.1f}"}
            for v in (float(n) for n in range(31, 63))
        ]
    )


ROUTES = [
    Route("/services/oauth2/token", token),
    Route("/services/Soap/u/<version:soap_version>", soap_login, ("POST",)),
    Route("/services/data", versions),
]
