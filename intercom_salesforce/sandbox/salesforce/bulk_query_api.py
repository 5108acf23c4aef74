"""Bulk API 2.0 query: ``/jobs/query`` create, poll, abort and paged CSV results (reference 2).

The SOQL is parsed when the job is created, so a bad query is a synchronous 400; results are
served in locator pages (``Sforce-Locator``, ``Sforce-NumberOfRecords``) with the API version
that created the job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from . import bulk, bulk_jobs
from .errors import ApiError, Call, json_response, method_not_allowed
from .routing import Route
from .soql import parse_query

if TYPE_CHECKING:
    from .app import SalesforceEmulator


def _row_count(app: SalesforceEmulator, info: dict[str, Any]) -> int:
    """Rows the query will return, for the job's processing time."""
    if app.config.bulk_rows_per_second <= 0:
        return 0
    sql, params = parse_query(info["_query"]).count_sql(info["operation"] == "queryAll")
    return int(app.store.execute(sql, params)[0][0])


def jobs(app: SalesforceEmulator, call: Call) -> Response:
    """``POST`` creates a job (queued at once); ``GET`` lists them."""
    if call.method == "GET":
        return bulk_jobs.list_jobs(app, "query")
    if call.method != "POST":
        raise method_not_allowed()
    info = bulk_jobs.create(app, call, "query")
    app.store.incr_meta("bulk_query_jobs")
    bulk_jobs.start_clock(app, info, _row_count(app, info))
    bulk_jobs.finish_if_due(app, "query", info)
    app.store.update_job(info)
    return json_response(bulk.public_info(info))


def set_state(app: SalesforceEmulator, call: Call, info: dict[str, Any]) -> Response:
    target = bulk_jobs.target_state(call)
    if target == "Aborted" and info["state"] in ("Open", *bulk_jobs.OPEN_STATES):
        return bulk_jobs.abort(app, "query", info)
    raise bulk_jobs.bad_transition(info, target)


def job(app: SalesforceEmulator, call: Call, job_id: str) -> Response:
    return bulk_jobs.job(app, call, "query", job_id, set_state)


def _check_downloadable(call: Call, info: dict[str, Any]) -> None:
    if info["state"] != "JobComplete":
        raise ApiError(
            412,
            "JOB_NOT_COMPLETE",
            "can only download query results of successfully completed bulk job "
            f"with status: JOB_COMPLETE. Current status: {bulk_jobs.state_name(info['state'])}",
        )
    if float(call.version) != float(info["apiVersion"]):
        raise ApiError(
            409,
            "INVALIDVERSION",
            "Query results must be requested with the API version that created the job",
        )


def results(app: SalesforceEmulator, call: Call, job_id: str) -> Response:
    """One page of the result CSV from ``locator``, at most ``maxRecords`` rows."""
    info = bulk_jobs.job_or_404(app, "query", job_id)
    _check_downloadable(call, info)
    total = int(info["numberRecordsProcessed"])
    locator = call.args.get("locator")
    offset = bulk.decode_locator(locator) if locator and locator != "null" else 0
    max_records = call.args.get("maxRecords")
    limit = max(1, int(max_records) if max_records and max_records.isdigit() else total)
    lines = app.store.job_rows(info["id"], "q", offset, limit)
    eol = bulk.LINE_ENDINGS[info["lineEnding"]]
    nxt = offset + len(lines)
    response = Response(eol.join([info["_header"], *lines]) + eol, content_type="text/csv")
    response.headers["Sforce-NumberOfRecords"] = str(len(lines))
    response.headers["Sforce-Locator"] = bulk.encode_locator(nxt) if nxt < total else "null"
    return response


ROUTES = [
    Route("/jobs/query", jobs),
    Route("/jobs/query/<job_id>", job),
    Route("/jobs/query/<job_id>/results", results, ("GET",)),
]
