"""Salesforce's error envelope and the request plumbing every resource module shares.

Errors use the JSON array ``[{"message", "errorCode", ...}]`` that simple-salesforce indexes with
``[0]`` (reference 7.3), so every handler raises :class:`ApiError` and the app renders it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

NOT_FOUND = "The requested resource does not exist"


class ApiError(Exception):
    """An error answered as ``[{"message", "errorCode", **extra}]`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self) -> Response:
        return json_response(
            [{"message": self.message, "errorCode": self.code, **self.extra}], self.status
        )


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json;charset=UTF-8")


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", NOT_FOUND)


def method_not_allowed() -> ApiError:
    return ApiError(405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed")


def read_body(request: Request) -> Any:
    """The JSON body (``None`` when empty); malformed JSON is Salesforce's JSON_PARSER_ERROR."""
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "JSON_PARSER_ERROR",
            f"Unexpected character at [line:{exc.lineno}, column:{exc.colno}]",
        ) from exc


def read_object(request: Request) -> dict[str, Any]:
    """A body that must be a JSON object (job creation, fault settings, single records)."""
    body = read_body(request)
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    return body


@dataclass(frozen=True)
class Call:
    """One routed request: the HTTP request, the API version in its URL (``""`` outside
    ``/services/data/vXX.X``) and the user its token belongs to (``""`` when unauthenticated)."""

    request: Request
    version: str = ""
    user_id: str = ""

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def args(self) -> Any:
        return self.request.args
