"""A sensor on Salesforce changes: the write-back runs once the org has records newer than the
mirror read.

Each tick asks every watched object for its newest ``SystemModstamp`` (one REST query each, a
single row: ``ORDER BY SystemModstamp DESC LIMIT 1``) and compares it with the newest stamp
already seen: the cursor, else the mirror's high-water marks (``mirror.high_water_marks``, read
when the warehouse is free). Anything newer asks for one write-back run, keyed by the newest
stamps, so a repeated tick is a no-op.
"""

import json
from datetime import datetime
from typing import Any

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from intercom_salesforce.resources.salesforce import SalesforceResource
from intercom_salesforce.settings import sensor_interval_seconds
from intercom_salesforce.warehouse import MIRROR_HWM, connect

WATCHED = ("User", "Account", "Contact", "Lead", "Opportunity")


def newest_stamps(salesforce: SalesforceResource) -> dict[str, str]:
    """{object: its newest SystemModstamp (ISO text)}; objects without records are left out."""
    sf = salesforce.client()
    out: dict[str, str] = {}
    for sobject in WATCHED:
        soql = f"SELECT SystemModstamp FROM {sobject} ORDER BY SystemModstamp DESC LIMIT 1"
        records = sf.call(lambda s, q=soql: s.query(q)).get("records") or []
        if records and records[0].get("SystemModstamp"):
            out[sobject] = records[0]["SystemModstamp"]
    return out


def mirrored_stamps(warehouse: DuckDBResource) -> dict[str, str]:
    """The mirror's high-water marks, or {} while the warehouse is busy or not there yet."""
    try:
        conn = connect(warehouse.database, warehouse.connection_config, read_only=True)
    except duckdb.Error:
        return {}
    try:
        rows = conn.execute(f"SELECT sobject, system_modstamp FROM {MIRROR_HWM}").fetchall()
    except duckdb.Error:
        return {}
    finally:
        conn.close()
    return {s: ts.isoformat() for s, ts in rows if ts is not None}


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def changed(newest: dict[str, str], seen: dict[str, str]) -> list[str]:
    """The objects with a record stamped after what was seen (all of them when nothing was)."""
    return sorted(o for o, ts in newest.items() if o not in seen or _ts(ts) > _ts(seen[o]))


def build_salesforce_sensor(job: Any) -> dg.SensorDefinition:
    @dg.sensor(
        name="salesforce_changes_sensor",
        job=job,
        minimum_interval_seconds=sensor_interval_seconds("salesforce_changes_sensor"),
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Salesforce records changed since the mirror read them (newest "
        "SystemModstamp per object) start the write-back to Intercom.",
    )
    def _sensor(
        context: dg.SensorEvaluationContext,
        salesforce: SalesforceResource,
        warehouse: DuckDBResource,
    ) -> dg.SensorResult:
        seen = json.loads(context.cursor) if context.cursor else mirrored_stamps(warehouse)
        newest = newest_stamps(salesforce)
        moved = changed(newest, seen)
        cursor = json.dumps({**seen, **newest}, sort_keys=True)
        if not moved:
            return dg.SensorResult(skip_reason="no Salesforce changes since", cursor=cursor)
        stamp = max(newest[o] for o in moved)
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"salesforce_changes:{','.join(moved)}:{stamp}",
                    tags={"intercom_salesforce/trigger": "salesforce_changes_sensor"},
                )
            ],
            cursor=cursor,
        )

    return _sensor
