"""Intercom's error envelope: every error is an ``error.list`` with a request id (reference §6)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from werkzeug.wrappers import Response


class ApiError(Exception):
    """Raised by handlers; rendered by the app as ``{"type":"error.list",...}``."""

    def __init__(self, status: int, code: str, message: str | None, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def error_body(code: str, message: str | None, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"type": "error.list", "request_id": str(uuid.uuid4()), "errors": [error]}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return text_response(status, json.dumps(body, separators=(",", ":")), headers)


def text_response(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    """A response whose JSON is already text (records served as stored, ``store/hydrate.py``)."""
    return Response(
        text, status=status, content_type="application/json; charset=utf-8", headers=headers
    )


def error_response(
    status: int, code: str, message: str | None, field: str | None = None
) -> Response:
    return json_response(status, error_body(code, message, field))


NOT_FOUND = "Resource Not Found"
USER_NOT_FOUND = "User Not Found"
COMPANY_NOT_FOUND = "Company Not Found"
UNAUTHORIZED = "Access Token Invalid"
SERVICE_UNAVAILABLE = "Sorry, the API service is temporarily unavailable"
VERSION_INVALID = "Requested resource is not available in current API version."
SCROLL_EXISTS = "scroll already exists for this app"
SCROLL_NETWORK_ERROR = (
    "Request failed due to an internal network error. Please restart the scroll operation."
)
