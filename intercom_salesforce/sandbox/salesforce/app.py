"""The WSGI application: OAuth, REST (describe, SOQL, sObjects, Collections, limits), Bulk API 2.0,
and the unauthenticated ``/_sandbox/`` control and inspection pages.

Every authenticated call under ``/services/data/vXX.X/`` is counted against the daily allocation and
answered with ``Sforce-Limit-Info`` (reference 3); errors use the JSON array envelope
``[{"message", "errorCode", ...}]`` that simple-salesforce indexes with ``[0]`` (reference 7.3).

Hold faults (``SalesforceFaults.holds``) wrap everything outside ``/_sandbox/``: a request matching
a hold rule is read whole and waits before :meth:`SalesforceEmulator.respond` (the request is not
applied yet) or after it (applied, only the response withheld), until ``POST
/_sandbox/holds/release``, the rule's timeout, or the server stopping (see ``sandbox.hold``).
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from intercom_salesforce.sandbox.hold import HoldRegistry, hold_control
from intercom_salesforce.sandbox.latency import Latency

from . import bulk
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
from .config import SalesforceEmulatorConfig, SalesforceFaults
from .describe import OBJECTS, ObjectDef, get_object, global_describe, object_describe
from .dml import Writer
from .ids import ID_RE, object_for_id, to_18
from .inspect_pages import object_page, overview_page
from .soql import SoqlError, parse_query
from .store import SalesforceStore
from .validation import RecordError, convert
from .values import format_datetime, json_to_text

_VERSION_RE = re.compile(r"^/services/data/v(\d+\.\d+)(/.*)?$")
_SOAP_RE = re.compile(r"^/services/Soap/u/(\d+\.\d+)/?$")
_COLLECTION_LIMIT = 200
_SEASONS = ("Winter", "Spring", "Summer")
_NOT_FOUND = "The requested resource does not exist"
_log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self) -> Response:
        return json_response(
            [{"message": self.message, "errorCode": self.code, **self.extra}], self.status
        )


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json;charset=UTF-8")


def _is_control(path: str) -> bool:
    return path == "/_sandbox" or path.startswith("/_sandbox/")


def _release_label(version: float) -> str:
    idx = int(version) - 59
    return f"{_SEASONS[idx % 3]} '{24 + idx // 3}"


class SalesforceEmulator:
    """WSGI callable; one instance serves one store with one (mutable at run time) config."""

    def __init__(
        self,
        store: SalesforceStore,
        config: SalesforceEmulatorConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.rng = random.Random(config.faults.seed)
        self.lock = threading.RLock()
        self.request_log: deque[dict[str, Any]] = deque(maxlen=5000)
        self.cursors: OrderedDict[str, tuple[str, bool]] = OrderedDict()
        self.holds = HoldRegistry(config.faults.holds)
        self.latency = Latency(config.latency_ms, config.latency_jitter_ms)

    # -- WSGI entry -------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        request = Request(environ)
        ticket = None
        if not _is_control(request.path):
            self.holds.sync(self.config.faults.holds)
            ticket = self.holds.ticket(request.method, request.path)
        if ticket is not None and not ticket.rule.after:
            request.get_data(cache=True)  # the whole request is received before it waits
            self.holds.hold(ticket, environ)
        if not _is_control(request.path):
            self.latency.wait()
        response = self.respond(request)
        if ticket is not None and ticket.rule.after:
            self.holds.hold(ticket, environ)
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        """Dispatch one request, turning errors into Salesforce's envelope, and log it."""
        try:
            response = self.dispatch(request)
        except ApiError as exc:
            response = exc.response()
        except Exception:  # noqa: BLE001 - answer like Salesforce's platform error, keep the trace
            _log.exception("Salesforce emulator failed on %s %s", request.method, request.path)
            response = ApiError(
                500,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you "
                "contact support: sandbox-internal (-1)",
            ).response()
        if request.path != "/_sandbox/requests":
            self.request_log.append(
                {
                    "time": format_datetime(self.clock()),
                    "method": request.method,
                    "path": request.path,
                    "query": request.query_string.decode("latin-1"),
                    "status": response.status_code,
                }
            )
        return response

    def own_url(self, request: Request) -> str:
        """Scheme, host and port the request arrived on, no trailing slash (reference 7.1)."""
        return request.host_url.rstrip("/")

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if _is_control(path):
            return self.control(request)
        if path.rstrip("/") == "/services/oauth2/token":
            return self.token(request)
        soap = _SOAP_RE.match(path)
        if soap and request.method == "POST":
            return self.soap_login(request, soap.group(1))
        if path.rstrip("/") == "/services/data":
            return json_response(
                [
                    {
                        "label": _release_label(v),
                        "url": f"/services/data/v{v:.1f}",
                        "version": f"{v:.1f}",
                    }
                    for v in (float(n) for n in range(31, 63))
                ]
            )
        m = _VERSION_RE.match(path)
        if not m:
            raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
        version, rest = m.group(1), (m.group(2) or "/")
        user_id = self.authorize(request)
        cap = self.config.daily_api_requests
        try:
            used = self.count_call()
        except ApiError as exc:
            response = exc.response()
            response.headers["Sforce-Limit-Info"] = f"api-usage={cap}/{cap}"
            return response
        try:
            response = self.faulted() or self.route(request, version, rest, user_id)
        except ApiError as exc:
            response = exc.response()
        response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{cap}"
        return response

    # -- auth, limits, faults ------------------------------------------------------------------
    def authorize(self, request: Request) -> str:
        with self.lock:
            if self.config.faults.expire_sessions:
                self.config.faults.expire_sessions = False
                self.store.revoke_tokens()
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        found = self.store.token(token.strip()) if scheme.lower() in ("bearer", "oauth") else None
        if found is None or found[1] + self.config.token_ttl_seconds < self.clock():
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return found[0]

    def count_call(self) -> int:
        with self.lock:
            used = int(self.store.get_meta("api_usage", "0") or 0)
            if used >= self.config.daily_api_requests:
                # Exhaustion is a 403, never a 429 or Retry-After (reference 3).
                raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self.store.set_meta("api_usage", str(used + 1))
            return used + 1

    def faulted(self) -> Response | None:
        faults = self.config.faults
        with self.lock:
            roll = self.rng.random()
        if roll < faults.http_503_rate:
            return ApiError(
                503, "SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again later."
            ).response()
        if roll < faults.http_503_rate + faults.http_500_rate:
            return ApiError(
                500,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you "
                f"contact support: {self.rng.randrange(10**9)}-"
                f"{self.rng.randrange(10**5)}"
                " (-1)",
            ).response()
        return None

    def token(self, request: Request) -> Response:
        if request.method != "POST":
            raise ApiError(405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed")
        own = self.own_url(request)
        now = self.clock()
        try:
            username = authenticate(
                self.config, request.form.to_dict(), request.headers.get("Authorization"), own, now
            )
        except OAuthError as exc:
            return json_response(exc.body(), exc.status)
        user_id = self.user_id_for(username)
        token = new_token(self.config.org_id)
        self.store.add_token(token, user_id, now)
        return json_response(token_response(self.config, token, user_id, own, int(now * 1000)))

    def soap_login(self, request: Request, version: str) -> Response:
        """Partner API ``login()`` (reference 5.1; being retired, kept for older clients)."""
        username, password = soap_credentials(request.get_data(as_text=True))
        xml = "text/xml; charset=utf-8"
        if (
            username != self.config.username
            or password != self.config.password + self.config.security_token
        ):
            return Response(soap_fault(), status=500, content_type=xml)
        now = self.clock()
        user_id = self.user_id_for(username)
        token = new_token(self.config.org_id)
        self.store.add_token(token, user_id, now)
        body = soap_login_response(
            token, self.own_url(request), version, self.config.org_id, user_id, username
        )
        return Response(body, content_type=xml)

    def user_id_for(self, username: str) -> str:
        ids = self.store.find_ids("User", "Username", username)
        return ids[0] if ids else INTEGRATION_USER_ID

    # -- routing --------------------------------------------------------------------------------
    def route(self, request: Request, version: str, rest: str, user_id: str) -> Response:
        parts = [p for p in rest.split("/") if p]
        if not parts:
            base = f"/services/data/v{version}"
            return json_response(
                {
                    k: f"{base}/{k}"
                    for k in ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
                }
            )
        head = parts[0]
        if head == "limits" and len(parts) == 1:
            return json_response(self.limits())
        if head == "sobjects":
            return self.sobjects(request, version, parts[1:], user_id)
        if head in ("query", "queryAll") and len(parts) <= 2:
            return self.rest_query(
                request, version, head == "queryAll", parts[1] if len(parts) == 2 else None
            )
        if head == "composite" and len(parts) >= 2 and parts[1] == "sobjects":
            return self.collections(request, parts[2:], user_id)
        if head == "jobs" and len(parts) >= 2 and parts[1] in ("ingest", "query"):
            return self.jobs(request, version, parts[1], parts[2:], user_id)
        raise ApiError(404, "NOT_FOUND", _NOT_FOUND)

    def limits(self) -> dict[str, Any]:
        used = int(self.store.get_meta("api_usage", "0") or 0)
        batches = int(self.store.get_meta("bulk_batches", "0") or 0)
        query_jobs = int(self.store.get_meta("bulk_query_jobs", "0") or 0)
        cap = self.config.daily_api_requests

        def lim(mx: int, used_: int) -> dict[str, int]:
            return {"Max": mx, "Remaining": max(0, mx - used_)}

        return {
            "DailyApiRequests": lim(cap, used),
            "DailyBulkApiBatches": lim(15000, batches),
            "DailyBulkV2QueryJobs": lim(10000, query_jobs),
            "DailyBulkV2QueryFileStorageMB": lim(976562, 0),
            "DataStorageMB": lim(1024, 0),
            "FileStorageMB": lim(1024, 0),
        }

    # -- sObjects -------------------------------------------------------------------------------
    def _object(self, name: str) -> ObjectDef:
        obj = get_object(name)
        if obj is None:
            raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
        return obj

    def _record_types(self, obj: ObjectDef) -> list[dict[str, Any]]:
        return self.store.records_of(
            "RecordType", "json_extract(doc,'$.SobjectType') = ?", (obj.name,)
        )

    def _body(self, request: Request) -> Any:
        try:
            return json.loads(request.get_data(as_text=True) or "null")
        except json.JSONDecodeError as exc:
            raise ApiError(
                400,
                "JSON_PARSER_ERROR",
                f"Unexpected character at [line:{exc.lineno}, column:{exc.colno}]",
            ) from exc

    def _writer(self, request: Request, user_id: str) -> Writer:
        header = request.headers.get("Sforce-Duplicate-Rule-Header", "")
        allow_save = "allowsave=true" in header.replace(" ", "").lower()
        return Writer(
            self.store,
            user_id,
            self.clock,
            duplicate_rule=self.config.duplicate_rule_enabled and not allow_save,
        )

    def sobjects(self, request: Request, version: str, parts: list[str], user_id: str) -> Response:
        method = request.method
        if not parts:
            return json_response(global_describe(version))
        obj = self._object(parts[0])
        if len(parts) == 1:
            if method == "POST":
                return self.create(request, obj, user_id)
            info = next(s for s in global_describe(version)["sobjects"] if s["name"] == obj.name)
            return json_response({"objectDescribe": info, "recentItems": []})
        if len(parts) == 2 and parts[1] == "describe":
            return json_response(object_describe(obj, version, self._record_types(obj)))
        if len(parts) == 2:
            return self.by_id(request, version, obj, parts[1], user_id)
        if len(parts) == 3:
            return self.by_external_id(request, version, obj, parts[1], parts[2], user_id)
        raise ApiError(404, "NOT_FOUND", _NOT_FOUND)

    def values_from_json(self, obj: ObjectDef, body: dict[str, Any]) -> dict[str, Any]:
        """JSON record -> field values; nested ``{"Rel": {"ExtField": v}}`` resolves a parent."""
        values: dict[str, Any] = {}
        for key, raw in body.items():
            if key == "attributes":
                continue
            if isinstance(raw, dict):
                rel = obj.relationship(key)
                if rel is None:
                    raise ApiError(
                        400,
                        "INVALID_FIELD",
                        f"No such column '{key}' on sobject of type {obj.name}",
                    )
                type_name = (raw.get("attributes") or {}).get("type") or rel.reference_to[0]
                parent = get_object(type_name)
                items = [(k, v) for k, v in raw.items() if k != "attributes"]
                if parent is None or parent.name not in rel.reference_to or len(items) != 1:
                    raise ApiError(
                        400, "INVALID_FIELD", f"Invalid foreign key relationship name {key}"
                    )
                pf = parent.field(items[0][0])
                if pf is None or not pf.indexed:
                    raise ApiError(
                        400,
                        "INVALID_FIELD",
                        f"No such column '{items[0][0]}' on sobject of type {parent.name}",
                    )
                matches = self.store.find_ids(parent.name, pf.name, items[0][1])
                if len(matches) != 1:
                    raise RecordError(
                        "INVALID_FIELD",
                        f"Foreign key external ID: {items[0][1]} not found for "
                        f"field {pf.name} in entity {parent.name}",
                    )
                values[rel.name] = matches[0]
                continue
            f = obj.field(key)
            if f is None:
                raise ApiError(
                    400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}"
                )
            text = json_to_text(raw)
            values[f.name] = None if text in (None, "") else convert(f, text)
        return values

    def create(self, request: Request, obj: ObjectDef, user_id: str) -> Response:
        body = self._body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        try:
            with self.store.transaction():
                new_id = self._writer(request, user_id).insert(
                    obj, self.values_from_json(obj, body)
                )
        except RecordError as exc:
            return json_response([exc.rest()], 400)
        return json_response({"id": new_id, "success": True, "errors": []}, 201)

    def record_json(
        self, obj: ObjectDef, doc: dict[str, Any], version: str, only: list[str] | None = None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {
                "type": obj.name,
                "url": f"/services/data/v{version}/sobjects/{obj.name}/{doc['Id']}",
            }
        }
        names = [f.name for f in obj.fields.values()]
        if only:
            names = [obj.fields[n].name for n in names if n.lower() in {o.lower() for o in only}]
        for name in names:
            out[name] = doc.get(name)
        return out

    def by_id(
        self, request: Request, version: str, obj: ObjectDef, ident: str, user_id: str
    ) -> Response:
        if not (ID_RE.match(ident) and object_for_id(ident) == obj.name):
            if request.method in ("GET", "PATCH", "DELETE"):
                raise ApiError(
                    404,
                    "NOT_FOUND",
                    f"Provided external ID field does not exist or is not accessible: {ident}",
                )
            raise ApiError(405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed")
        record_id = to_18(ident)
        got = self.store.get(record_id)
        if got is None or got[0] != obj.name or got[1].get("IsDeleted"):
            raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
        method = request.method
        if method == "GET":
            fields_param = request.args.get("fields")
            only = [f.strip() for f in fields_param.split(",")] if fields_param else None
            return json_response(self.record_json(obj, got[1], version, only))
        try:
            with self.store.transaction():
                writer = self._writer(request, user_id)
                if method == "PATCH":
                    body = self._body(request)
                    writer.update(obj, record_id, self.values_from_json(obj, body or {}))
                elif method == "DELETE":
                    writer.delete(obj, record_id)
                else:
                    raise ApiError(405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed")
        except RecordError as exc:
            return json_response([exc.rest()], 400)
        return Response(status=204)

    def by_external_id(
        self,
        request: Request,
        version: str,
        obj: ObjectDef,
        field_name: str,
        value: str,
        user_id: str,
    ) -> Response:
        f = obj.field(field_name)
        if f is None or not (f.external_id or f.id_lookup):
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field_name}",
            )
        matches = self.store.find_ids(obj.name, f.name, value)
        urls = [f"/services/data/v{version}/sobjects/{obj.name}/{m}" for m in matches]
        method = request.method
        if len(matches) > 1:
            return json_response(urls, 300)
        if method == "GET":
            if not matches:
                raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
            got = self.store.get(matches[0])
            assert got is not None
            return json_response(self.record_json(obj, got[1], version))
        if method == "DELETE":
            if not matches:
                raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
            with self.store.transaction():
                self._writer(request, user_id).delete(obj, matches[0])
            return Response(status=204)
        if method not in ("PATCH", "POST"):
            raise ApiError(405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed")
        body = self._body(request) or {}
        try:
            with self.store.transaction():
                values = self.values_from_json(obj, body)
                if f.external_id:
                    values[f.name] = convert(f, value)
                record_id, created = self._writer(request, user_id).upsert(obj, f, value, values)
        except RecordError as exc:
            return json_response([exc.rest()], 400)
        return json_response(
            {"id": record_id, "success": True, "errors": [], "created": created},
            201 if created else 200,
        )

    # -- SOQL over REST -------------------------------------------------------------------------
    def rest_query(
        self, request: Request, version: str, include_deleted: bool, cursor: str | None
    ) -> Response:
        start = 0
        if cursor is not None:
            locator, _, offset = cursor.rpartition("-")
            entry = self.cursors.get(locator)
            if entry is None or not offset.isdigit():
                raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            soql, include_deleted = entry
            start = int(offset)
        else:
            soql = request.args.get("q", "")
        try:
            query = parse_query(soql)
        except SoqlError as exc:
            raise ApiError(400, exc.code, exc.message) from exc
        sql, params = query.count_sql(include_deleted)
        total = self.store.execute(sql, params)[0][0]
        if query.count_only:
            return json_response({"totalSize": total, "done": True, "records": []})
        sql, params = query.page_sql(start, self._page_size(request), include_deleted)
        rows = self.store.execute(sql, params)
        body: dict[str, Any] = {"totalSize": total, "done": start + len(rows) >= total}
        if not body["done"]:
            with self.lock:
                locator = cursor.rpartition("-")[0] if cursor else self.store.new_id("QueryLocator")
                self.cursors[locator] = (soql, include_deleted)
                while len(self.cursors) > 1000:
                    self.cursors.popitem(last=False)
            endpoint = "queryAll" if include_deleted else "query"
            body["nextRecordsUrl"] = (
                f"/services/data/v{version}/{endpoint}/{locator}-{start + len(rows)}"
            )
        body["records"] = query.render_json(rows, version)
        return json_response(body)

    def _page_size(self, request: Request) -> int:
        """``Sforce-Query-Options: batchSize=n`` (200..2000) overrides the page size (ref. 3)."""
        m = re.search(r"batchSize=(\d+)", request.headers.get("Sforce-Query-Options", ""))
        if m:
            return max(200, min(2000, int(m.group(1))))
        return self.config.query_page_size

    # -- sObject Collections --------------------------------------------------------------------
    def collections(self, request: Request, parts: list[str], user_id: str) -> Response:
        """Create/update/upsert/delete up to 200 records (reference 5.5)."""
        method = request.method
        if method == "DELETE" and not parts:
            ids = [i for i in request.args.get("ids", "").split(",") if i]
            all_or_none = request.args.get("allOrNone", "false").lower() == "true"
            records: list[Any] = ids
        else:
            body = self._body(request)
            if not isinstance(body, dict) or not isinstance(body.get("records"), list):
                raise ApiError(400, "JSON_PARSER_ERROR", 'Expected {"records": [...]}')
            records = body["records"]
            all_or_none = bool(body.get("allOrNone", False))
        if len(records) > _COLLECTION_LIMIT:
            raise ApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        upsert_obj = upsert_field = None
        if parts:
            if method != "PATCH" or len(parts) != 2:
                raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
            upsert_obj = self._object(parts[0])
            upsert_field = upsert_obj.field(parts[1])
            if upsert_field is None or not (upsert_field.external_id or upsert_field.name == "Id"):
                raise ApiError(
                    404,
                    "NOT_FOUND",
                    f"Provided external ID field does not exist or is not accessible: {parts[1]}",
                )
        writer = self._writer(request, user_id)
        results: list[dict[str, Any]] = []
        with self.store.transaction() as conn:
            conn.execute("SAVEPOINT collection")
            for item in records:
                result: dict[str, Any] = {"id": None, "success": False, "errors": []}
                try:
                    if method == "DELETE":
                        obj = self._object(object_for_id(item) or "")
                        rid = to_18(item)
                        result["id"] = rid
                        writer.delete(obj, rid)
                    else:
                        type_name = (item.get("attributes") or {}).get("type")
                        obj = upsert_obj or self._object(type_name or "")
                        if (
                            upsert_obj is not None
                            and type_name
                            and get_object(type_name) is not upsert_obj
                        ):
                            raise RecordError("INVALID_TYPE", "Record type does not match")
                        values = self.values_from_json(
                            obj, {k: v for k, v in item.items() if k != "Id"}
                        )
                        if upsert_obj is not None and upsert_field is not None:
                            key = item.get(upsert_field.name)
                            if key in (None, ""):
                                raise RecordError(
                                    "MISSING_ARGUMENT", f"{upsert_field.name} not specified"
                                )
                            rid, created = writer.upsert(obj, upsert_field, key, values)
                            result["created"] = created
                        elif method == "POST":
                            rid = writer.insert(obj, values)
                        elif method == "PATCH":
                            rid = (
                                to_18(item.get("Id") or "")
                                if ID_RE.match(item.get("Id") or "")
                                else ""
                            )
                            if not rid:
                                raise RecordError("MISSING_ARGUMENT", "Id not specified")
                            result["id"] = rid
                            writer.update(obj, rid, values)
                        else:
                            raise ApiError(405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed")
                        result["id"] = rid
                    result["success"] = True
                except RecordError as exc:
                    result["errors"] = [exc.collection()]
                except ApiError as exc:
                    result["errors"] = [
                        {"statusCode": exc.code, "message": exc.message, "fields": []}
                    ]
                if method == "POST" and not result["success"]:
                    result["id"] = None
                results.append(result)
            if all_or_none and not all(r["success"] for r in results):
                conn.execute("ROLLBACK TO collection")
                for r in results:
                    if r["success"]:
                        r.update(
                            success=False,
                            id=None,
                            errors=[
                                {
                                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                    "message": "Record rolled back because not all records were valid "
                                    "and the request was using AllOrNone header",
                                    "fields": [],
                                }
                            ],
                        )
                        r.pop("created", None)
            conn.execute("RELEASE collection")
        return json_response(results)

    # -- Bulk API 2.0 ---------------------------------------------------------------------------
    def _job(self, kind: str, job_id: str) -> dict[str, Any]:
        found = self.store.job(job_id)
        if found is None or found[0] != kind:
            raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
        return found[1]

    def jobs(
        self, request: Request, version: str, kind: str, parts: list[str], user_id: str
    ) -> Response:
        method = request.method
        if not parts:
            if method == "POST":
                body = self._body(request)
                if not isinstance(body, dict):
                    raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
                creator = bulk.create_ingest_job if kind == "ingest" else bulk.create_query_job
                try:
                    info = creator(
                        body, version, user_id, self.clock(), self.store.new_id("BulkJob")
                    )
                except bulk.JobRequestError as exc:
                    raise ApiError(exc.status, exc.code, exc.message) from exc
                info["_needed"] = (
                    self.config.bulk_polls_to_complete + self.config.faults.slow_job_polls
                )
                self.store.save_job(info, kind)
                if kind == "query":
                    self.store.incr_meta("bulk_query_jobs")
                    if info["_needed"] <= 0:
                        self._finish(kind, info)
                        self.store.update_job(info)
                return json_response(bulk.public_info(info))
            if method == "GET":
                return json_response(
                    {
                        "done": True,
                        "records": [bulk.public_info(i) for i in self.store.jobs(kind)],
                        "nextRecordsUrl": None,
                    }
                )
            raise ApiError(405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed")
        job_id = parts[0]
        info = self._job(kind, job_id)
        if len(parts) == 1:
            if method == "GET":
                return json_response(bulk.public_info(self.poll(kind, job_id)))
            if method == "PATCH":
                return self.set_state(request, kind, info)
            if method == "DELETE":
                if info["state"] not in ("UploadComplete", *bulk.TERMINAL):
                    raise ApiError(
                        400, "API_ERROR", f"Job {job_id} cannot be deleted in state {info['state']}"
                    )
                self.store.delete_job(job_id)
                return Response(status=204)
            raise ApiError(405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed")
        sub = parts[1]
        if kind == "ingest" and sub == "batches" and len(parts) == 2 and method == "PUT":
            return self.upload(request, info)
        if (
            kind == "ingest"
            and len(parts) == 2
            and method == "GET"
            and sub
            in ("successfulResults", "failedResults", "unprocessedrecords", "unprocessedRecords")
        ):
            info = self.poll(kind, job_id, advance=False)
            result_kind = {"s": "s", "f": "f", "u": "u"}[sub[0]]
            if result_kind in ("s", "f") and info["state"] not in bulk.TERMINAL:
                raise ApiError(
                    400,
                    "INVALIDJOBSTATE",
                    f"Results are not available while the job is {info['state']}",
                )
            return Response(
                bulk.ingest_result_csv(self.store, info, result_kind), content_type="text/csv"
            )
        if kind == "query" and sub == "results" and len(parts) == 2 and method == "GET":
            return self.query_results(request, version, info)
        raise ApiError(404, "NOT_FOUND", _NOT_FOUND)

    def upload(self, request: Request, info: dict[str, Any]) -> Response:
        if info["state"] != "Open" or info.get("_uploaded"):
            raise ApiError(
                409, "INVALIDJOBSTATE", "Data can only be uploaded once, while the job is Open"
            )
        data = request.get_data()
        if len(data) > bulk.MAX_UPLOAD_BYTES:
            raise ApiError(
                400, "INVALIDBATCH", "InvalidBatch : Upload exceeds 150 MB after base64 encoding"
            )
        info["_uploaded"] = True
        self.store.update_job(info, data=data)
        return Response(status=201)

    def set_state(self, request: Request, kind: str, info: dict[str, Any]) -> Response:
        body = self._body(request) or {}
        target = body.get("state") if isinstance(body, dict) else None
        state = info["state"]
        if target == "UploadComplete" and kind == "ingest" and state == "Open":
            info["state"] = "UploadComplete"
            info["systemModstamp"] = format_datetime(self.clock())
            with self.lock:
                if self.config.faults.fail_next_jobs > 0:
                    self.config.faults.fail_next_jobs -= 1
                    info["_fail"] = True
            reply = bulk.public_info(info)
            if info["_needed"] <= 0:
                self._finish(kind, info)
            self.store.update_job(info, polls=0)
            return json_response(reply)
        if target == "Aborted" and state in ("Open", "UploadComplete", "InProgress"):
            info["state"] = "Aborted"
            info["systemModstamp"] = format_datetime(self.clock())
            if kind == "ingest":
                self._store_unprocessed(info)
            self.store.update_job(info)
            return json_response(bulk.public_info(info))
        raise ApiError(
            400,
            "INVALIDJOBSTATE",
            f"Cannot change the state of job {info['id']} from {state} to {target}",
        )

    def _store_unprocessed(self, info: dict[str, Any]) -> None:
        data = self.store.job_data(info["id"])
        if not data:
            return
        proc = bulk.IngestProcessor(self.store, self._bulk_writer(info), False, self.rng)
        try:
            header, rows = proc.read_rows(info, data)
        except Exception:  # noqa: BLE001 - an unreadable upload simply has no unprocessed rows
            return
        info["_header"] = header
        delimiter = bulk.DELIMITERS[info["columnDelimiter"]]
        self.store.add_job_rows(info["id"], "u", (bulk.echo_row(r, delimiter) for r in rows))

    def _bulk_writer(self, info: dict[str, Any]) -> Writer:
        return Writer(
            self.store,
            info["createdById"],
            self.clock,
            duplicate_rule=self.config.duplicate_rule_enabled,
            lock_row_rate=self.config.faults.lock_row_rate,
            rng=self.rng,
        )

    def _finish(self, kind: str, info: dict[str, Any]) -> None:
        if kind == "query":
            bulk.run_query_job(self.store, info)
        else:
            proc = bulk.IngestProcessor(
                self.store, self._bulk_writer(info), self.config.shuffle_results, self.rng
            )
            proc.run(
                info,
                self.store.job_data(info["id"]),
                bulk.RETRIES_EXHAUSTED if info.get("_fail") else None,
            )
            batches = max(1, math.ceil(info.get("numberRecordsProcessed", 0) / 10000))
            self.store.incr_meta("bulk_batches", batches)
        info["systemModstamp"] = format_datetime(self.clock())

    def poll(self, kind: str, job_id: str, advance: bool = True) -> dict[str, Any]:
        """Read a job, moving it one step along its state progression when ``advance``."""
        with self.store.transaction():
            found = self.store.job(job_id)
            assert found is not None
            _, info, polls = found
            if not advance or info["state"] not in ("UploadComplete", "InProgress"):
                return info
            polls += 1
            if polls >= info.get("_needed", 0):
                self._finish(kind, info)
            else:
                info["state"] = "InProgress"
                info["systemModstamp"] = format_datetime(self.clock())
            self.store.update_job(info, polls=polls)
            return info

    def query_results(self, request: Request, version: str, info: dict[str, Any]) -> Response:
        if info["state"] != "JobComplete":
            status = re.sub(r"(?<!^)(?=[A-Z])", "_", info["state"]).upper()
            raise ApiError(
                412,
                "JOB_NOT_COMPLETE",
                "can only download query results of successfully completed bulk job "
                f"with status: JOB_COMPLETE. Current status: {status}",
            )
        if float(version) != float(info["apiVersion"]):
            raise ApiError(
                409,
                "INVALIDVERSION",
                "Query results must be requested with the API version that created the job",
            )
        total = int(info["numberRecordsProcessed"])
        locator = request.args.get("locator")
        offset = bulk.decode_locator(locator) if locator and locator != "null" else 0
        max_records = request.args.get("maxRecords")
        limit = int(max_records) if max_records and max_records.isdigit() else total
        limit = max(1, limit)
        lines = self.store.job_rows(info["id"], "q", offset, limit)
        eol = bulk.LINE_ENDINGS[info["lineEnding"]]
        nxt = offset + len(lines)
        body = eol.join([info["_header"], *lines]) + eol
        response = Response(body, content_type="text/csv")
        response.headers["Sforce-NumberOfRecords"] = str(len(lines))
        response.headers["Sforce-Locator"] = bulk.encode_locator(nxt) if nxt < total else "null"
        return response

    # -- /_sandbox control and inspection ------------------------------------------------------
    def fault_control(self, request: Request) -> Response:
        """``GET``/``PUT /_sandbox/config/faults``: a PUT changes only the settings it names, and
        replaces the hold rules (answering what they held) only when it names ``holds``."""
        if request.method == "PUT":
            body = self._body(request)
            if not isinstance(body, dict):
                raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
            try:
                faults = SalesforceFaults.from_dict({**self.config.faults.to_dict(), **body})
            except (TypeError, ValueError) as exc:
                raise ApiError(400, "INVALID_FIELD", str(exc)) from exc
            with self.lock:
                self.config.faults = faults
                self.rng = random.Random(faults.seed)
            if "holds" in body:
                self.holds.configure(faults.holds)
        return json_response(self.config.faults.to_dict())

    def hold_control(self, request: Request, rest: list[str]) -> Response:
        """``GET /_sandbox/holds`` and ``POST /_sandbox/holds/release`` (see ``sandbox.hold``)."""
        if len(rest) > 1:
            raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
        body = self._body(request) if request.method == "POST" else None
        self.holds.sync(self.config.faults.holds)
        status, payload = hold_control(
            self.holds, request.method, rest[0] if rest else None, request.args, body
        )
        if status != 200:
            code = "NOT_FOUND" if status == 404 else "INVALID_FIELD"
            raise ApiError(status, code, payload["error"])
        return json_response(payload)

    def control(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p][1:]
        method = request.method
        if not parts:
            return Response(overview_page(self.store), content_type="text/html; charset=utf-8")
        if parts == ["config", "faults"]:
            return self.fault_control(request)
        if parts[0] == "holds":
            return self.hold_control(request, parts[1:])
        if parts == ["reset-limits"] and method == "POST":
            for key in ("api_usage", "bulk_batches", "bulk_query_jobs"):
                self.store.set_meta(key, "0")
            return json_response(self.limits())
        if parts == ["requests"]:
            return json_response(list(self.request_log))
        if len(parts) == 3 and parts[0] == "leads" and parts[2] == "convert" and method == "POST":
            body = self._body(request) or {}
            try:
                with self.store.transaction():
                    lead_id = to_18(parts[1]) if ID_RE.match(parts[1]) else parts[1]
                    result = Writer(self.store, INTEGRATION_USER_ID, self.clock).convert_lead(
                        lead_id, body.get("accountId") if isinstance(body, dict) else None
                    )
            except RecordError as exc:
                return json_response([exc.rest()], 400)
            return json_response(result)
        if len(parts) == 1 and method == "GET":
            obj = get_object(parts[0])
            if obj is None:
                raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
            page = request.args.get("page", "1")
            return Response(
                object_page(self.store, obj, int(page) if page.isdigit() else 1),
                content_type="text/html; charset=utf-8",
            )
        raise ApiError(404, "NOT_FOUND", _NOT_FOUND)


def create_app(
    store: SalesforceStore, config: SalesforceEmulatorConfig, clock: Callable[[], float] = time.time
) -> SalesforceEmulator:
    """Build the emulator's WSGI app; werkzeug's per-request access log is silenced."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return SalesforceEmulator(store, config, clock)


__all__ = ["OBJECTS", "SalesforceEmulator", "create_app"]
