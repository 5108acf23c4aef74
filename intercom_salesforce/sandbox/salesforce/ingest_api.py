"""Bulk API 2.0 ingest: ``/jobs/ingest`` create, upload, close, poll, results (reference 1).

A job is ``Open`` until the client sends ``UploadComplete``; its rows are processed when it
completes (see :mod:`.bulk_jobs`) with the same writer as the REST API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from . import bulk, bulk_jobs
from .errors import ApiError, Call, json_response, method_not_allowed
from .routing import Route
from .values import format_datetime

if TYPE_CHECKING:
    from .app import SalesforceEmulator

_RESULTS = "any(successfulResults, failedResults, unprocessedrecords, unprocessedRecords)"


def jobs(app: SalesforceEmulator, call: Call) -> Response:
    """``POST`` creates an ``Open`` job; ``GET`` lists them."""
    if call.method == "POST":
        return json_response(bulk.public_info(bulk_jobs.create(app, call, "ingest")))
    if call.method == "GET":
        return bulk_jobs.list_jobs(app, "ingest")
    raise method_not_allowed()


def _rows(data: bytes | None) -> int:
    """Data rows of an upload (lines after the header), for the job's processing time."""
    if not data:
        return 0
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return max(0, lines - 1)


def _close(app: SalesforceEmulator, info: dict[str, Any]) -> Response:
    """``UploadComplete``: the job is queued; the answer shows it as closed, not yet run."""
    info["state"] = "UploadComplete"
    info["systemModstamp"] = format_datetime(app.clock())
    with app.lock:
        if app.config.faults.fail_next_jobs > 0:
            app.config.faults.fail_next_jobs -= 1
            info["_fail"] = True
    bulk_jobs.start_clock(app, info, _rows(app.store.job_data(info["id"])))
    reply = bulk.public_info(info)
    bulk_jobs.finish_if_due(app, "ingest", info)
    app.store.update_job(info, polls=0)
    return json_response(reply)


def set_state(app: SalesforceEmulator, call: Call, info: dict[str, Any]) -> Response:
    target = bulk_jobs.target_state(call)
    if target == "UploadComplete" and info["state"] == "Open":
        return _close(app, info)
    if target == "Aborted" and info["state"] in ("Open", *bulk_jobs.OPEN_STATES):
        return bulk_jobs.abort(app, "ingest", info)
    raise bulk_jobs.bad_transition(info, target)


def job(app: SalesforceEmulator, call: Call, job_id: str) -> Response:
    return bulk_jobs.job(app, call, "ingest", job_id, set_state)


def upload(app: SalesforceEmulator, call: Call, job_id: str) -> Response:
    """``PUT .../batches``: the job's one CSV upload (150 MB after base64 at most)."""
    info = bulk_jobs.job_or_404(app, "ingest", job_id)
    if info["state"] != "Open" or info.get("_uploaded"):
        raise ApiError(
            409, "INVALIDJOBSTATE", "Data can only be uploaded once, while the job is Open"
        )
    data = call.request.get_data()
    if len(data) > bulk.MAX_UPLOAD_BYTES:
        raise ApiError(
            400, "INVALIDBATCH", "InvalidBatch : Upload exceeds 150 MB after base64 encoding"
        )
    info["_uploaded"] = True
    app.store.update_job(info, data=data)
    return Response(status=201)


def results(app: SalesforceEmulator, call: Call, job_id: str, result: str) -> Response:
    """successfulResults / failedResults (once the job ended) / unprocessedrecords (any time)."""
    bulk_jobs.job_or_404(app, "ingest", job_id)
    info = bulk_jobs.poll(app, "ingest", job_id, advance=False)
    result_kind = result[0]
    if result_kind in ("s", "f") and info["state"] not in bulk.TERMINAL:
        raise ApiError(
            400, "INVALIDJOBSTATE", f"Results are not available while the job is {info['state']}"
        )
    return Response(bulk.ingest_result_csv(app.store, info, result_kind), content_type="text/csv")


ROUTES = [
    Route("/jobs/ingest", jobs),
    Route("/jobs/ingest/<job_id>", job),
    Route("/jobs/ingest/<job_id>/batches", upload, ("PUT",)),
    Route(f"/jobs/ingest/<job_id>/<{_RESULTS}:result>", results, ("GET",)),
]
