"""Salesforce context back in Intercom: owner, status, account, deal stage and milestone tags.

Each asset computes the desired state of its Intercom model in DuckDB (``desired.py``), writes
only the cells whose action says so (``calls.py``), and records per call what happened
(``sync.intercom_write_results``), what was written (``sync.intercom_field_state``), conflicts
(``sync.sync_conflicts``, direction ``to_intercom``) and rejected records (the review queue, which
holds them back until a person acts).
"""

import json
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pyarrow as pa
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.quality.review_queue import upsert_items
from intercom_salesforce.mapping import Mapping, MappingError, load_mapping
from intercom_salesforce.resources.intercom import IntercomClient, IntercomResource
from intercom_salesforce.resources.salesforce import SalesforceResource
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.warehouse import (
    INTERCOM_WRITE_RESULTS,
    WAREHOUSE_POOL,
    ensure_warehouse,
    read_sql,
    upsert_conflicts,
)

from .calls import (
    Call,
    Cell,
    Outcome,
    ensure_attributes,
    plan_calls,
    run_calls,
    tag_ids,
    untypable,
)
from .desired import COMPANY, CONTACT, Target, stage_desired

SQL = Path(__file__).parent / "sql"
REJECTED_RULE = "intercom_rejected"
MIRRORS = [
    "salesforce_queues_mirror",
    "salesforce_users_mirror",
    "salesforce_accounts_mirror",
    "salesforce_contacts_mirror",
    "salesforce_leads_mirror",
    "salesforce_opportunities_mirror",
]


def _mapping(settings: SyncSettings) -> Mapping:
    try:
        return load_mapping(Path(settings.mapping_file))
    except MappingError as exc:
        raise dg.Failure(description=f"The mapping file cannot be read:\n{exc}") from exc


def _cells(conn: duckdb.DuckDBPyConnection) -> list[Cell]:
    rows = conn.execute(
        "SELECT model, intercom_id, write_id, attribute, kind, data_type, tag, value, action "
        "FROM _writeback_decided WHERE action IN ('write', 'attach', 'detach') "
        "ORDER BY model, intercom_id, attribute"
    ).fetchall()
    return [Cell(*row) for row in rows]


def _result_rows(outcomes: list[Outcome], run_id: str, now: datetime) -> list[dict[str, Any]]:
    """One row per call and record: a company tag call writes several companies (the record's
    ``updated_before`` is joined from the decided state in SQL)."""
    rows = []
    for o in outcomes:
        for record in sorted({c.intercom_id for c in o.call.cells}):
            rows.append(
                {
                    "run_id": run_id,
                    "model": o.call.model,
                    "intercom_id": record,
                    "operation": o.call.operation,
                    "status": o.status,
                    "http_status": o.http_status,
                    "error": o.error,
                    "payload": json.dumps(o.call.payload) if o.call.payload is not None else None,
                    "updated_after": (
                        datetime.fromtimestamp(o.updated_at, UTC) if o.updated_at else None
                    ),
                    "recorded_at": now,
                }
            )
    return rows


DONE_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("intercom_id", pa.string()),
        ("attribute", pa.string()),
        ("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)


def _load(conn: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, select: str) -> None:
    """The temp table ``table`` as ``select`` over ``rows`` (an Arrow table, named ``rows``)."""
    conn.register("_writeback_rows", rows)
    try:
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}").fetchall()
    finally:
        conn.unregister("_writeback_rows")


def _record(
    conn: duckdb.DuckDBPyConnection, target: Target, outcomes: list[Outcome], run_id: str
) -> int:
    """Results, written cells and rejections into the warehouse; returns rejections queued."""
    now = datetime.now(UTC)
    rows = _result_rows(outcomes, run_id, now)
    if rows:
        _load(
            conn,
            "_writeback_results",
            pa.Table.from_pylist(rows),
            "SELECT r.*, s.updated_at AS updated_before FROM _writeback_rows r "
            f"LEFT JOIN {target.sides_table} s USING (intercom_id)",
        )
        conn.execute(
            f"INSERT INTO {INTERCOM_WRITE_RESULTS} BY NAME SELECT * FROM _writeback_results"
        ).fetchall()
    done = [
        {
            "model": c.model,
            "intercom_id": c.intercom_id,
            "attribute": c.attribute,
            "updated_at": datetime.fromtimestamp(o.updated_at, UTC) if o.updated_at else None,
        }
        for o in outcomes
        if o.status == "written"
        for c in o.call.cells
    ]
    _load(
        conn,
        "_writeback_done",
        pa.Table.from_pylist(done, schema=DONE_SCHEMA),
        "FROM _writeback_rows",
    )
    conn.execute(read_sql("record_written.sql", SQL), [now, run_id]).fetchall()
    rejected = [
        {"record_id": r["intercom_id"], "value": r["error"]}
        for r in rows
        if r["status"] == "rejected"
    ]
    if not rejected:
        return 0
    _load(
        conn,
        "_writeback_rejected",
        pa.Table.from_pylist(rejected),
        "SELECT record_id, NULL::DATE AS partition_date, value FROM _writeback_rows",
    )
    return upsert_items(
        conn,
        "_writeback_rejected",
        f"intercom_{target.model}s_writeback",
        REJECTED_RULE,
        "custom_attributes",
        f"Intercom rejected the write to this {target.model}: see the value for its error",
        run_id,
    )


def _metadata(
    target: Target, considered: int, cells: list[Cell], outcomes: list[Outcome], extra: dict
) -> dict[str, Any]:
    """Records considered, written, unchanged (nothing to send) and failed; cells and tags."""
    by_status: dict[str, set[str]] = {"written": set(), "rejected": set(), "failed": set()}
    tags: Counter[str] = Counter()
    for o in outcomes:
        records = {c.intercom_id for c in o.call.cells}
        by_status[o.status] |= records
        if o.status == "written":
            tags.update(c.action for c in o.call.cells if c.kind == "tag")
    touched = {c.intercom_id for c in cells}
    failed = by_status["rejected"] | by_status["failed"]
    label = "people" if target.model == "contact" else "companies"
    return {
        f"{label}_considered": considered,
        f"{label}_written": len(by_status["written"] - failed),
        f"{label}_unchanged": considered - len(touched),
        f"{label}_failed": len(failed),
        "attributes_written": sum(
            1
            for o in outcomes
            if o.status == "written"
            for c in o.call.cells
            if c.kind == "attribute"
        ),
        "tags_added": tags["attach"],
        "tags_removed": tags["detach"],
        "writes_rejected": sum(1 for o in outcomes if o.status == "rejected"),
        **extra,
    }


def _samples(outcomes: list[Outcome], n: int = 5) -> dict[str, dg.MetadataValue]:
    """A few calls of each ending, as Markdown tables: what the audit log shows of the run."""
    out: dict[str, dg.MetadataValue] = {}
    for status in ("written", "rejected", "failed"):
        some = [o for o in outcomes if o.status == status][:n]
        if not some:
            continue
        lines = ["| call | records | HTTP | error |", "|---|---|---|---|"]
        lines += [
            f"| {o.call.method} {o.call.path} | {', '.join(sorted({c.intercom_id for c in o.call.cells}))} "
            f"| {o.http_status or ''} | {(o.error or '').replace('|', '/')[:200]} |"
            for o in some
        ]
        out[f"sample_{status}"] = dg.MetadataValue.md("\n".join(lines))
    return out


def _write(
    client: IntercomClient, target: Target, mapping: Mapping, cells: list[Cell]
) -> tuple[list[Outcome], list[str]]:
    """Create what is missing, then make every call; returns outcomes and attributes created."""
    attributes = target.attributes(mapping)
    wanted = {
        (target.model, c.attribute): attributes[c.attribute].type
        for c in cells
        if c.kind == "attribute"
    }
    created = ensure_attributes(client, wanted) if wanted else []
    sendable, refused = untypable(cells)
    ids = tag_ids(client, {c.tag for c in sendable if c.kind == "tag" and c.tag})
    calls: list[Call] = plan_calls(sendable, ids)
    return refused + list(run_calls(client, calls)), created


def run_writeback(
    context: dg.AssetExecutionContext,
    target: Target,
    intercom: IntercomResource,
    salesforce: SalesforceResource,
    warehouse: DuckDBResource,
    settings: SyncSettings,
) -> dg.MaterializeResult:
    mapping = _mapping(settings)
    if not (target.attributes(mapping) or target.tags(mapping)):
        return dg.MaterializeResult(metadata={"skipped": "the mapping writes nothing back"})
    run_id = context.run.run_id
    sf = salesforce.client(context.log)
    instance_url = sf.sf.base_url.split("/services")[0]
    client = intercom.client(context.log)
    # closed on a failure too (a refused permission): the warehouse is this process's again
    with warehouse.get_connection() as conn, closing(conn):
        ensure_warehouse(conn)
        considered = stage_desired(conn, target, mapping, instance_url)
        conn.execute(read_sql("adopt_values.sql", SQL), [datetime.now(UTC), run_id]).fetchall()
        upsert_conflicts(conn, read_sql("conflict_rows.sql", SQL), run_id)
        conn.execute(read_sql("resolve_conflicts.sql", SQL)).fetchall()
        conflicts = conn.execute(
            "SELECT count(*) FROM _writeback_decided WHERE conflict"
        ).fetchall()[0][0]
        cells = _cells(conn)
        outcomes, created = _write(client, target, mapping, cells) if cells else ([], [])
        queued = _record(conn, target, outcomes, run_id)
    failed = [o for o in outcomes if o.status != "written"]
    for o in failed[:5]:
        context.log.warning(f"{o.call.method} {o.call.path}: {o.status} {o.http_status} {o.error}")
    samples = _samples(outcomes)
    metadata = _metadata(
        target,
        considered,
        cells,
        outcomes,
        {
            "attributes_created": len(created),
            "conflicts": conflicts,
            "sent_to_review": queued,
            **client.stats.as_metadata(),
            **samples,
        },
    )
    return dg.MaterializeResult(metadata=metadata)


def _build(target: Target, name: str, matches: str, description: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        group_name="writeback",
        kinds={"intercom", "duckdb"},
        pool=WAREHOUSE_POOL,
        deps=[*MIRRORS, matches],
        description=description,
    )
    def _asset(
        context: dg.AssetExecutionContext,
        intercom: IntercomResource,
        salesforce: SalesforceResource,
        warehouse: DuckDBResource,
        sync_settings: SyncSettings,
    ) -> dg.MaterializeResult:
        return run_writeback(context, target, intercom, salesforce, warehouse, sync_settings)

    return _asset


intercom_contacts_writeback = _build(
    CONTACT,
    "intercom_contacts_writeback",
    "person_matches",
    "Salesforce context on matched Intercom contacts: the mapping's to_intercom.contacts "
    "attributes and milestone tags, only the values that changed since they were last written.",
)
intercom_companies_writeback = _build(
    COMPANY,
    "intercom_companies_writeback",
    "company_matches",
    "Salesforce Account context on matched Intercom companies: to_intercom.companies attributes "
    "and the milestone tags that apply to companies.",
)
WRITEBACK_ASSETS = [intercom_contacts_writeback, intercom_companies_writeback]
