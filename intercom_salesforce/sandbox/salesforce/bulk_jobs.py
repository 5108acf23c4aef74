"""The life of a Bulk API 2.0 job, shared by ingest and query jobs (reference 1, 2).

A job advances when it is polled: ``UploadComplete`` -> ``InProgress`` -> ``JobComplete`` or
``Failed``. It completes once it has been polled ``bulk_polls_to_complete`` (+ the
``slow_job_polls`` fault) times and, when ``bulk_rows_per_second`` is set, once its rows have had
the time a real org would take over them (``rows / rate`` seconds after it was closed).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from . import bulk
from .dml import Writer
from .errors import (
    ApiError,
    Call,
    json_response,
    method_not_allowed,
    not_found,
    read_body,
    read_object,
)
from .values import format_datetime

if TYPE_CHECKING:
    from .app import SalesforceEmulator

OPEN_STATES = ("UploadComplete", "InProgress")


def job_or_404(app: SalesforceEmulator, kind: str, job_id: str) -> dict[str, Any]:
    found = app.store.job(job_id)
    if found is None or found[0] != kind:
        raise not_found()
    return found[1]


def bulk_writer(app: SalesforceEmulator, info: dict[str, Any]) -> Writer:
    """The writer of a job: no allowSave header in Bulk, and rows may fail to lock (fault)."""
    return Writer(
        app.store,
        info["createdById"],
        app.clock,
        duplicate_rule=app.config.duplicate_rule_enabled,
        lock_row_rate=app.config.faults.lock_row_rate,
        rng=app.rng,
    )


def start_clock(app: SalesforceEmulator, info: dict[str, Any], rows: int) -> None:
    """Note when a job closed with ``rows`` rows may complete (``bulk_rows_per_second``)."""
    rate = app.config.bulk_rows_per_second
    info["_ready_at"] = app.clock() + (rows / rate if rate > 0 else 0.0)


def _due(app: SalesforceEmulator, info: dict[str, Any], polls: int) -> bool:
    return polls >= info.get("_needed", 0) and app.clock() >= info.get("_ready_at", 0.0)


def finish(app: SalesforceEmulator, kind: str, info: dict[str, Any]) -> None:
    """Run the job to its end state (its rows are processed now, in one transaction)."""
    if kind == "query":
        bulk.run_query_job(app.store, info)
    else:
        proc = bulk.IngestProcessor(
            app.store, bulk_writer(app, info), app.config.shuffle_results, app.rng
        )
        proc.run(
            info,
            app.store.job_data(info["id"]),
            bulk.RETRIES_EXHAUSTED if info.get("_fail") else None,
        )
        batches = max(1, math.ceil(info.get("numberRecordsProcessed", 0) / 10000))
        app.store.incr_meta("bulk_batches", batches)
    info["systemModstamp"] = format_datetime(app.clock())


def finish_if_due(app: SalesforceEmulator, kind: str, info: dict[str, Any]) -> None:
    """Finish a job needing no poll at once (``bulk_polls_to_complete: 0``, no row time)."""
    if _due(app, info, 0):
        finish(app, kind, info)


def poll(app: SalesforceEmulator, kind: str, job_id: str, advance: bool = True) -> dict[str, Any]:
    """Read a job, moving it one step along its state progression when ``advance``."""
    with app.store.transaction():
        found = app.store.job(job_id)
        assert found is not None
        _, info, polls = found
        if not advance or info["state"] not in OPEN_STATES:
            return info
        polls += 1
        if _due(app, info, polls):
            finish(app, kind, info)
        else:
            info["state"] = "InProgress"
            info["systemModstamp"] = format_datetime(app.clock())
        app.store.update_job(info, polls=polls)
        return info


def abort(app: SalesforceEmulator, kind: str, info: dict[str, Any]) -> Response:
    info["state"] = "Aborted"
    info["systemModstamp"] = format_datetime(app.clock())
    if kind == "ingest":
        _store_unprocessed(app, info)
    app.store.update_job(info)
    return json_response(bulk.public_info(info))


def _store_unprocessed(app: SalesforceEmulator, info: dict[str, Any]) -> None:
    data = app.store.job_data(info["id"])
    if not data:
        return
    proc = bulk.IngestProcessor(app.store, bulk_writer(app, info), False, app.rng)
    try:
        header, rows = proc.read_rows(info, data)
    except Exception:  # noqa: BLE001 - an unreadable upload simply has no unprocessed rows
        return
    info["_header"] = header
    delimiter = bulk.DELIMITERS[info["columnDelimiter"]]
    app.store.add_job_rows(info["id"], "u", (bulk.echo_row(r, delimiter) for r in rows))


def bad_transition(info: dict[str, Any], target: Any) -> ApiError:
    return ApiError(
        400,
        "INVALIDJOBSTATE",
        f"Cannot change the state of job {info['id']} from {info['state']} to {target}",
    )


def target_state(call: Call) -> Any:
    """The ``state`` a ``PATCH`` asks for (``None`` when the body names none)."""
    body = read_body(call.request)
    return body.get("state") if isinstance(body, dict) else None


# -- handlers shared by /jobs/ingest and /jobs/query ----------------------------------------------
def create(app: SalesforceEmulator, call: Call, kind: str) -> dict[str, Any]:
    """Validate and store a new job; the caller finishes what its kind needs at creation."""
    body = read_object(call.request)
    creator = bulk.create_ingest_job if kind == "ingest" else bulk.create_query_job
    try:
        info = creator(body, call.version, call.user_id, app.clock(), app.store.new_id("BulkJob"))
    except bulk.JobRequestError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc
    info["_needed"] = app.config.bulk_polls_to_complete + app.config.faults.slow_job_polls
    app.store.save_job(info, kind)
    return info


def list_jobs(app: SalesforceEmulator, kind: str) -> Response:
    return json_response(
        {
            "done": True,
            "records": [bulk.public_info(i) for i in app.store.jobs(kind)],
            "nextRecordsUrl": None,
        }
    )


def delete(app: SalesforceEmulator, info: dict[str, Any]) -> Response:
    if info["state"] not in ("UploadComplete", *bulk.TERMINAL):
        raise ApiError(
            400, "API_ERROR", f"Job {info['id']} cannot be deleted in state {info['state']}"
        )
    app.store.delete_job(info["id"])
    return Response(status=204)


def job(app: SalesforceEmulator, call: Call, kind: str, job_id: str, set_state: Any) -> Response:
    """``GET`` polls, ``PATCH`` changes the state (``set_state``), ``DELETE`` removes the job."""
    info = job_or_404(app, kind, job_id)
    if call.method == "GET":
        return json_response(bulk.public_info(poll(app, kind, job_id)))
    if call.method == "PATCH":
        return set_state(app, call, info)
    if call.method == "DELETE":
        return delete(app, info)
    raise method_not_allowed()


def state_name(state: str) -> str:
    """``JobComplete`` -> ``JOB_COMPLETE``, as Salesforce spells states in messages."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", state).upper()
