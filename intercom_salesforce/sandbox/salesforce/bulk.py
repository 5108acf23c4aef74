"""Bulk API 2.0 ingest and query jobs (reference sections 1, 2 and 7.4).

A job's state advances when it is polled: ``UploadComplete`` -> ``InProgress`` (for
``bulk_polls_to_complete - 1`` polls) -> ``JobComplete``/``Failed``, so a client polling with
``wait=0`` still observes ``InProgress``. The uploaded CSV is processed row by row with the same
:class:`~.dml.Writer` the REST API uses; results are kept as pre-rendered CSV lines in the store.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import random
from dataclasses import dataclass
from typing import Any

from .describe import FieldDef, ObjectDef, get_object
from .dml import Writer
from .soql import Query, SoqlError, parse_query
from .store import SalesforceStore, key_for
from .validation import RecordError, convert, parse_id
from .values import format_datetime

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
QUERY_OPERATIONS = ("query", "queryAll")
TERMINAL = ("JobComplete", "Failed", "Aborted")
MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # 150 MB after base64 (reference 1.4)
RETRIES_EXHAUSTED = (
    "InternalServerError : Failed to process the batch after the maximum number of retries (10). "
    "Resubmit the remaining records in a smaller job."
)


class JobRequestError(Exception):
    """A job request Salesforce refuses synchronously (HTTP 400 with the array envelope)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def public_info(info: dict[str, Any]) -> dict[str, Any]:
    """JobInfo as sent to clients: internal bookkeeping keys start with ``_``."""
    out = {k: v for k, v in info.items() if not k.startswith("_")}
    if out.get("state") != "Open":
        out.pop("contentUrl", None)
    return out


def create_ingest_job(
    body: dict[str, Any], version: str, user_id: str, now: float, job_id: str
) -> dict[str, Any]:
    """Validate a create-job body (reference 1.2) and return the new JobInfo (state ``Open``)."""
    obj = get_object(str(body.get("object") or ""))
    operation = body.get("operation")
    if operation not in INGEST_OPERATIONS:
        raise JobRequestError("INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    if obj is None:
        raise JobRequestError(
            "INVALIDJOB", f"InvalidJob : Unable to find object: {body.get('object')}"
        )
    delimiter = body.get("columnDelimiter", "COMMA")
    line_ending = body.get("lineEnding", "LF")
    if delimiter not in DELIMITERS:
        raise JobRequestError("INVALIDJOB", f"InvalidJob : Invalid column delimiter: {delimiter}")
    if line_ending not in LINE_ENDINGS:
        raise JobRequestError("INVALIDJOB", f"InvalidJob : Invalid line ending: {line_ending}")
    if body.get("contentType", "CSV") != "CSV":
        raise JobRequestError(
            "INVALIDJOB", f"InvalidJob : Invalid content type: {body.get('contentType')}"
        )
    ext = body.get("externalIdFieldName")
    if operation == "upsert":
        f = obj.field(ext or "")
        if not ext:
            raise JobRequestError(
                "INVALIDJOB", "InvalidJob : External ID was blank for upsert operation"
            )
        if f is None or not (f.external_id or f.name == "Id"):
            raise JobRequestError(
                "INVALIDJOB",
                f"InvalidJob : Field {ext} is not an External ID or Id field on {obj.name}",
            )
        ext = f.name
    stamp = format_datetime(now)
    info: dict[str, Any] = {
        "id": job_id,
        "operation": operation,
        "object": obj.name,
        "createdById": user_id,
        "createdDate": stamp,
        "systemModstamp": stamp,
        "state": "Open",
    }
    if operation == "upsert":
        info["externalIdFieldName"] = ext
    if body.get("assignmentRuleId"):
        info["assignmentRuleId"] = body["assignmentRuleId"]
    info.update(
        {
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version),
            "jobType": "V2Ingest",
            "contentUrl": f"services/data/v{version}/jobs/ingest/{job_id}/batches",
            "lineEnding": line_ending,
            "columnDelimiter": delimiter,
            "numberRecordsProcessed": 0,
            "numberRecordsFailed": 0,
            "retries": 0,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
        }
    )
    return info


def create_query_job(
    body: dict[str, Any], version: str, user_id: str, now: float, job_id: str
) -> dict[str, Any]:
    """Validate a query job (reference 2): the SOQL is parsed now, so bad queries are a 400."""
    operation = body.get("operation")
    if operation not in QUERY_OPERATIONS:
        raise JobRequestError("INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    delimiter = body.get("columnDelimiter", "COMMA")
    line_ending = body.get("lineEnding", "LF")
    if delimiter not in DELIMITERS or line_ending not in LINE_ENDINGS:
        raise JobRequestError("INVALIDJOB", "InvalidJob : Invalid column delimiter or line ending")
    text = body.get("query") or ""
    try:
        query = parse_query(text)
    except SoqlError as exc:
        raise JobRequestError(exc.code, exc.message) from exc
    if query.count_only or query.offset:
        # Bulk API 2.0 query does not support aggregates or OFFSET (reference 2).
        raise JobRequestError(
            "API_ERROR", "Aggregate queries and OFFSET are not supported by Bulk API 2.0"
        )
    stamp = format_datetime(now)
    return {
        "id": job_id,
        "operation": operation,
        "object": query.obj.name,
        "createdById": user_id,
        "createdDate": stamp,
        "systemModstamp": stamp,
        "state": "UploadComplete",
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": float(version),
        "jobType": "V2Query",
        "lineEnding": line_ending,
        "columnDelimiter": delimiter,
        "numberRecordsProcessed": 0,
        "retries": 0,
        "totalProcessingTime": 0,
        "_query": text,
    }


# -- CSV helpers ------------------------------------------------------------------------------
def _cell(value: str, delimiter: str) -> str:
    """Minimal quoting for echoed original cells (they appear "as uploaded", reference 1.6)."""
    if value and (delimiter in value or '"' in value or "\n" in value or "\r" in value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def echo_row(row: list[str], delimiter: str) -> str:
    return delimiter.join(_cell(c, delimiter) for c in row)


@dataclass
class _Column:
    header: str
    field: FieldDef | None  # the field written (the lookup field for relationship columns)
    parent: ObjectDef | None = None
    parent_field: FieldDef | None = None


class _HeaderError(Exception):
    pass


def _resolve_header(obj: ObjectDef, header: list[str]) -> list[_Column]:
    """Map CSV header names to fields; any unknown name fails the whole job (reference 1.7)."""
    cols: list[_Column] = []
    for name in header:
        not_found = _HeaderError(f"InvalidBatch : Field name not found : {name}")
        if "." not in name:
            f = obj.field(name)
            if f is None:
                raise not_found
            cols.append(_Column(name, f))
            continue
        type_prefix = None
        path = name
        if ":" in name:
            type_prefix, path = name.split(":", 1)
        rel_name, _, parent_field_name = path.partition(".")
        rel = obj.relationship(rel_name)
        if rel is None or "." in parent_field_name:
            raise not_found
        if rel.polymorphic and type_prefix is None:
            raise _HeaderError(
                f"InvalidBatch : Polymorphic foreign key {rel_name} requires an object type "
                f"prefix, e.g. {rel.reference_to[0]}:{path} : {name}"
            )
        if not rel.polymorphic and type_prefix is not None:
            raise _HeaderError(
                "InvalidBatch : Type is not needed for non polymorphic foreign key references : "
                f"{name}"
            )
        parent_name = type_prefix or rel.reference_to[0]
        parent = get_object(parent_name)
        if parent is None or parent.name not in rel.reference_to:
            raise not_found
        pf = parent.field(parent_field_name)
        if pf is None or not pf.indexed:
            raise not_found
        cols.append(_Column(name, rel, parent, pf))
    return cols


class IngestProcessor:
    """Runs one closed ingest job against the store."""

    def __init__(
        self, store: SalesforceStore, writer: Writer, shuffle: bool, rng: random.Random
    ) -> None:
        self.store = store
        self.writer = writer
        self.shuffle = shuffle
        self.rng = rng

    def read_rows(self, info: dict[str, Any], data: bytes) -> tuple[list[str], list[list[str]]]:
        delimiter = DELIMITERS[info["columnDelimiter"]]
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _HeaderError("ClientInputError : Data is not valid UTF-8") from exc
        first_nl = text.find("\n")
        if first_nl >= 0:
            crlf = first_nl > 0 and text[first_nl - 1] == "\r"
            if crlf != (info["lineEnding"] == "CRLF"):
                raise _HeaderError(
                    "ClientInputError : LineEnding is invalid on user data. Current LineEnding "
                    f"setting is {info['lineEnding']}"
                )
        try:
            rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
        except csv.Error as exc:
            raise _HeaderError(f"ClientInputError : Invalid CSV: {exc}") from exc
        if not rows:
            raise _HeaderError("InvalidBatch : Empty CSV file")
        return rows[0], rows[1:]

    def fail(
        self,
        info: dict[str, Any],
        message: str,
        header: list[str] | None,
        rows: list[list[str]],
        retries: int = 0,
    ) -> None:
        """Job-level failure: nothing processed, every row reported as unprocessed."""
        delimiter = DELIMITERS[info["columnDelimiter"]]
        info.update(
            state="Failed",
            errorMessage=message,
            numberRecordsProcessed=0,
            numberRecordsFailed=0,
            retries=retries,
        )
        if header is not None:
            info["_header"] = header
            self.store.add_job_rows(info["id"], "u", (echo_row(r, delimiter) for r in rows))

    def run(self, info: dict[str, Any], data: bytes | None, fail_message: str | None) -> None:
        obj = get_object(info["object"])
        assert obj is not None
        try:
            header, rows = self.read_rows(info, data or b"")
        except _HeaderError as exc:
            self.fail(info, str(exc), None, [])
            return
        if fail_message:
            self.fail(info, fail_message, header, rows, retries=10)
            return
        try:
            columns = _resolve_header(obj, header)
        except _HeaderError as exc:
            self.fail(info, str(exc), header, rows)
            return
        info["_header"] = header
        delimiter = DELIMITERS[info["columnDelimiter"]]
        op = info["operation"]
        ext_name = info.get("externalIdFieldName")
        ext_field = obj.field(ext_name) if ext_name else None
        ext_index = next(
            (
                i
                for i, c in enumerate(columns)
                if c.field is not None
                and c.parent is None
                and ext_field is not None
                and c.field.name == ext_field.name
            ),
            None,
        )
        dup_keys: set[str] = set()
        if op == "upsert" and ext_field is not None and ext_index is not None:
            seen: dict[str, int] = {}
            for r in rows:
                if ext_index < len(r) and r[ext_index] not in ("", "#N/A"):
                    k = key_for(ext_field, r[ext_index]) or ""
                    seen[k] = seen.get(k, 0) + 1
            dup_keys = {k for k, n in seen.items() if n > 1}
        ok_lines: list[str] = []
        fail_lines: list[str] = []
        failed = 0
        with self.store.transaction():
            for raw in rows:
                row = (raw + [""] * len(columns))[: len(columns)]
                known_id = ""
                try:
                    record_id, created = self._one(
                        obj, op, columns, row, ext_field, ext_index, dup_keys
                    )
                    ok_lines.append(
                        _quoted(record_id)
                        + delimiter
                        + _quoted(str(created).lower())
                        + (delimiter + echo_row(raw, delimiter) if raw else "")
                    )
                except RecordError as exc:
                    known_id = exc.record_id
                    failed += 1
                    fail_lines.append(
                        _quoted(known_id)
                        + delimiter
                        + _quoted(exc.bulk_text())
                        + (delimiter + echo_row(raw, delimiter) if raw else "")
                    )
        if self.shuffle:
            self.rng.shuffle(ok_lines)
            self.rng.shuffle(fail_lines)
        self.store.add_job_rows(info["id"], "s", ok_lines)
        self.store.add_job_rows(info["id"], "f", fail_lines)
        info.update(
            state="JobComplete",
            numberRecordsProcessed=len(rows),
            numberRecordsFailed=failed,
            totalProcessingTime=len(rows) // 10 + 1,
            apiActiveProcessingTime=len(rows) // 10 + 1,
        )

    def _cell_value(self, col: _Column, cell: str) -> Any:
        """A non-empty cell as the value to write (``#N/A`` nulls the field, reference 1.7)."""
        f = col.field
        assert f is not None
        if cell == "#N/A":
            return None
        if col.parent is not None and col.parent_field is not None:
            matches = self.store.find_ids(col.parent.name, col.parent_field.name, cell)
            if len(matches) != 1:
                raise RecordError(
                    "INVALID_FIELD",
                    f"Foreign key external ID: {cell} not found for field "
                    f"{col.parent_field.name} in entity {col.parent.name}",
                )
            return matches[0]
        return convert(f, cell)

    def _row_values(
        self, obj: ObjectDef, op: str, columns: list[_Column], row: list[str]
    ) -> tuple[str | None, dict[str, Any]]:
        """(the row's record Id, its field values); empty cells leave fields alone."""
        values: dict[str, Any] = {}
        record_id: str | None = None
        for col, cell in zip(columns, row, strict=True):
            f = col.field
            assert f is not None
            if f.name == "Id" and col.parent is None and op != "insert":
                if cell:
                    record_id = parse_id(obj, cell)
                continue
            if op in ("delete", "hardDelete") or cell == "":
                continue  # empty cell: leave unchanged / not set (reference 1.7)
            values[f.name] = self._cell_value(col, cell)
        return record_id, values

    def _by_id(
        self, obj: ObjectDef, op: str, record_id: str | None, values: dict[str, Any]
    ) -> tuple[str, bool]:
        """update, delete, hardDelete, and upsert on ``Id`` (no Id: an upsert inserts)."""
        if record_id is None:
            if op == "upsert":
                return self.writer.insert(obj, values), True
            raise RecordError("MISSING_ARGUMENT", f"Id not specified in an {op} call")
        try:
            if op in ("update", "upsert"):
                self.writer.update(obj, record_id, values)
            else:
                self.writer.delete(obj, record_id, hard=op == "hardDelete")
        except RecordError as exc:
            exc.record_id = record_id
            raise
        return record_id, False

    def _one(
        self,
        obj: ObjectDef,
        op: str,
        columns: list[_Column],
        row: list[str],
        ext_field: FieldDef | None,
        ext_index: int | None,
        dup_keys: set[str],
    ) -> tuple[str, bool]:
        record_id, values = self._row_values(obj, op, columns, row)
        if op == "insert":
            return self.writer.insert(obj, values), True
        if op != "upsert" or (ext_field is not None and ext_field.name == "Id"):
            return self._by_id(obj, op, record_id, values)
        assert ext_field is not None
        key = row[ext_index] if ext_index is not None else ""
        if key in ("", "#N/A"):
            raise RecordError("MISSING_ARGUMENT", f"{ext_field.name} not specified")
        if (key_for(ext_field, key) or "") in dup_keys:
            raise RecordError(
                "DUPLICATE_VALUE", f"Duplicate external id specified: {key}", [ext_field.name]
            )
        return self.writer.upsert(obj, ext_field, values.get(ext_field.name, key), values)


def ingest_result_csv(store: SalesforceStore, info: dict[str, Any], kind: str) -> str:
    """successfulResults / failedResults / unprocessedrecords body (reference 1.6)."""
    delimiter = DELIMITERS[info["columnDelimiter"]]
    eol = LINE_ENDINGS[info["lineEnding"]]
    header = info.get("_header")
    if header is None:
        header = []
    echoed = echo_row(header, delimiter)
    if kind == "s":
        head = f'"sf__Id"{delimiter}"sf__Created"' + (delimiter + echoed if header else "")
    elif kind == "f":
        head = f'"sf__Id"{delimiter}"sf__Error"' + (delimiter + echoed if header else "")
    else:
        head = echoed
    lines = [head, *store.job_rows(info["id"], kind)]
    return eol.join(lines) + eol


QUERY_RENDER_ROWS = 5000  # rows of a query job's result read and rendered at a time


def run_query_job(store: SalesforceStore, info: dict[str, Any]) -> None:
    """Materialise a query job's CSV rows (every value quoted, nulls empty; reference 2).

    The result's row ids are read once, in order; the rows are then read and rendered 5,000 at
    a time by id, so the cost grows with the result, not with its square.
    """
    query: Query = parse_query(info["_query"])
    include_deleted = info["operation"] == "queryAll"
    delimiter = DELIMITERS[info["columnDelimiter"]]
    info["_header"] = delimiter.join(_quoted(h) for h in query.csv_header())
    rids = [r[0] for r in store.execute(*query.rids_sql(include_deleted))]
    rows_sql = query.rows_sql()
    total, page = 0, QUERY_RENDER_ROWS
    for start in range(0, len(rids), page):
        chunk = rids[start : start + page]
        by_rid = {row[-1]: row for row in store.execute(rows_sql, [json.dumps(chunk)])}
        rows = [by_rid[rid] for rid in chunk if rid in by_rid]  # gone since: hard-deleted
        lines = [
            delimiter.join("" if v is None else _quoted(v) for v in cells)
            for cells in query.render_csv_values(rows)
        ]
        total += store.add_job_rows(info["id"], "q", lines, start=total)
    info.update(
        state="JobComplete", numberRecordsProcessed=total, totalProcessingTime=total // 100 + 1
    )


def encode_locator(offset: int) -> str:
    """Opaque locator like Salesforce's (``MTAwMDA`` = base64 of ``10000`` without padding)."""
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int:
    try:
        padded = locator + "=" * (-len(locator) % 4)
        return int(base64.b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise JobRequestError("INVALIDLOCATOR", f"Invalid locator: {locator}") from exc
