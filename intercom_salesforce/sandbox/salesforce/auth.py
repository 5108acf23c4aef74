"""OAuth 2.0 token endpoint (reference 5.1): client credentials, password and JWT bearer grants.

Success and error bodies follow the shapes in reference 5.1/4.3: errors are HTTP 400 with
``{"error": ..., "error_description": ...}``, never the REST array envelope.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import re
import secrets
from typing import Any
from xml.sax.saxutils import escape

import jwt

from .config import SalesforceEmulatorConfig

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
JWT_MAX_LIFETIME = 180  # exp at most ~3 minutes ahead (reference 5.1)
JWT_SKEW = 30


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip()).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = raw.partition(":")
    return client_id, secret


def _check_client(
    config: SalesforceEmulatorConfig, client_id: str | None, secret: str | None
) -> None:
    if client_id != config.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if secret != config.client_secret:
        raise OAuthError("invalid_client", "invalid client credentials")


def authenticate(
    config: SalesforceEmulatorConfig,
    form: dict[str, str],
    authorization: str | None,
    own_url: str,
    now: float,
) -> str:
    """Check a token request; the username it authenticates, or :class:`OAuthError`."""
    grant = form.get("grant_type")
    if grant == "client_credentials":
        creds = _basic_auth(authorization) or (form.get("client_id"), form.get("client_secret"))
        _check_client(config, creds[0], creds[1])
        return config.username
    if grant == "password":
        _check_client(config, form.get("client_id"), form.get("client_secret"))
        if (
            form.get("username") != config.username
            or form.get("password") != config.password + config.security_token
        ):
            raise OAuthError("invalid_grant", "authentication failure")
        return config.username
    if grant == JWT_GRANT:
        return _jwt_user(config, form.get("assertion") or "", own_url, now)
    raise OAuthError("unsupported_grant_type", "grant type not supported")


def _jwt_user(config: SalesforceEmulatorConfig, assertion: str, own_url: str, now: float) -> str:
    if not config.jwt_public_key_pem:
        raise OAuthError("invalid_grant", "invalid assertion")
    audiences = [*LOGIN_AUDIENCES, own_url, own_url + "/"]
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            config.jwt_public_key_pem,
            algorithms=["RS256"],
            audience=audiences,
            options={"require": ["iss", "sub", "aud", "exp"], "verify_exp": False},
        )
    except jwt.InvalidAudienceError as exc:
        raise OAuthError("invalid_grant", "audience is invalid") from exc
    except jwt.PyJWTError as exc:
        raise OAuthError("invalid_grant", "invalid assertion") from exc
    exp = float(claims["exp"])
    if exp < now - JWT_SKEW:
        raise OAuthError("invalid_grant", "expired authorization code")
    if exp > now + JWT_MAX_LIFETIME + JWT_SKEW:
        raise OAuthError("invalid_grant", "invalid assertion")
    if claims["iss"] != config.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if claims["sub"] != config.username:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    return config.username


def new_token(org_id: str) -> str:
    """Opaque session id shaped like Salesforce's (``00D…!AQ…``)."""
    return f"{org_id[:15]}!AQ{secrets.token_urlsafe(72)}"


def token_response(
    config: SalesforceEmulatorConfig, token: str, user_id: str, own_url: str, issued_at_ms: int
) -> dict[str, str]:
    identity = f"https://login.salesforce.com/id/{config.org_id}/{user_id}"
    signature = base64.b64encode(
        hmac.new(
            config.client_secret.encode(),
            f"{identity}{issued_at_ms}".encode(),
            hashlib.sha256,
        ).digest()
    ).decode()
    return {
        "access_token": token,
        "instance_url": own_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": str(issued_at_ms),
        "signature": signature,
        "scope": "api",
    }


_SOAP_FIELD = r"<(?:\w+:)?{name}>(.*?)</(?:\w+:)?{name}>"
_SOAP_ENV = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" {ns} '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{body}'
    "</soapenv:Body></soapenv:Envelope>"
)
INVALID_LOGIN = "Invalid username, password, security token; or user locked out."


def soap_credentials(body: str) -> tuple[str, str]:
    """(username, password) from a partner ``login()`` envelope, as simple-salesforce sends it."""
    found = []
    for name in ("username", "password"):
        m = re.search(_SOAP_FIELD.format(name=name), body, re.S)
        found.append(html.unescape(m.group(1)) if m else "")
    return found[0], found[1]


def soap_login_response(
    token: str, own_url: str, version: str, org_id: str, user_id: str, username: str
) -> str:
    """SOAP ``loginResponse``; simple-salesforce reads ``sessionId`` and ``serverUrl`` (7.1)."""
    result = (
        f"<loginResponse><result><metadataServerUrl>{own_url}/services/Soap/m/{version}/"
        f"{org_id[:15]}</metadataServerUrl><passwordExpired>false</passwordExpired>"
        f"<sandbox>true</sandbox><serverUrl>{own_url}/services/Soap/u/{version}/{org_id[:15]}"
        f"</serverUrl><sessionId>{escape(token)}</sessionId><userId>{user_id}</userId>"
        f"<userInfo><organizationId>{org_id}</organizationId><userId>{user_id}</userId>"
        f"<userName>{escape(username)}</userName></userInfo></result></loginResponse>"
    )
    return _SOAP_ENV.format(ns='xmlns="urn:partner.soap.sforce.com"', body=result)


def soap_fault(code: str = "INVALID_LOGIN", message: str = INVALID_LOGIN) -> str:
    """HTTP 500 fault body with ``sf:exceptionCode``/``sf:exceptionMessage`` (reference 5.1)."""
    fault = (
        f"<soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {message}"
        f'</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>'
        f"{code}</sf:exceptionCode><sf:exceptionMessage>{message}</sf:exceptionMessage>"
        f"</sf:LoginFault></detail></soapenv:Fault>"
    )
    return _SOAP_ENV.format(ns='xmlns:sf="urn:fault.partner.soap.sforce.com"', body=fault)
