"""The version's resource index and ``/limits``, plus the 404 for any other authenticated path.

Every call under ``/services/data/vXX.X/`` counts against the daily allocation, unknown paths
included, so the catch-all is an authenticated route like the others (reference 3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from .errors import Call, json_response, not_found
from .routing import Route

if TYPE_CHECKING:
    from .app import SalesforceEmulator

_RESOURCES = ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
LIMIT_COUNTERS = ("api_usage", "bulk_batches", "bulk_query_jobs")


def limits_body(app: SalesforceEmulator) -> dict[str, Any]:
    """Body of ``GET /limits``: the configured daily allocation and what is used of it."""
    used = {key: int(app.store.get_meta(key, "0") or 0) for key in LIMIT_COUNTERS}

    def lim(mx: int, used_: int) -> dict[str, int]:
        return {"Max": mx, "Remaining": max(0, mx - used_)}

    return {
        "DailyApiRequests": lim(app.config.daily_api_requests, used["api_usage"]),
        "DailyBulkApiBatches": lim(15000, used["bulk_batches"]),
        "DailyBulkV2QueryJobs": lim(10000, used["bulk_query_jobs"]),
        "DailyBulkV2QueryFileStorageMB": lim(976562, 0),
        "DataStorageMB": lim(1024, 0),
        "FileStorageMB": lim(1024, 0),
    }


def index(app: SalesforceEmulator, call: Call) -> Response:
    base = f"/services/data/v{call.version}"
    return json_response({k: f"{base}/{k}" for k in _RESOURCES})


def limits(app: SalesforceEmulator, call: Call) -> Response:
    return json_response(limits_body(app))


def unknown(app: SalesforceEmulator, call: Call, rest: str) -> Response:
    raise not_found()


ROUTES = [
    Route("", index),
    Route("/limits", limits),
    Route("/<path:rest>", unknown),
]
