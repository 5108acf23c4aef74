"""The review queue's size by reason and age, materialized after each sync so it plots over time."""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from intercom_salesforce.warehouse import WAREHOUSE_POOL, ensure_warehouse, read_sql

SQL = Path(__file__).parent / "sql"


@dg.asset(
    group_name="quality", kinds={"duckdb"}, pool=WAREHOUSE_POOL, deps=["salesforce_lead_upserts"]
)
def review_queue_summary(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
    """Open review items per rule and per age; numeric metadata, so the UI plots each series."""
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        by_status = dict(conn.execute(read_sql("review_status_counts.sql", SQL)).fetchall())
        by_rule = conn.execute(read_sql("review_open_by_rule.sql", SQL)).fetchall()
        by_age = dict(conn.execute(read_sql("review_open_by_age.sql", SQL)).fetchall())
    open_items = by_status.get("open", 0)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": open_items,
            "open": open_items,
            "fixed_awaiting_push": by_status.get("fixed", 0),
            "dismissed": by_status.get("dismissed", 0),
            "resolved": by_status.get("resolved", 0),
            **{f"open_{rule}": n for _entity, rule, n, _oldest in by_rule},
            **{
                f"open_age_{bucket}": by_age.get(bucket, 0)
                for bucket in ("under_1d", "1d_to_7d", "over_7d")
            },
            "by_reason": dg.MetadataValue.md(
                "| entity | rule | open | oldest |\n|---|---|---|---|\n"
                + "\n".join(f"| {e} | {r} | {n} | {o} |" for e, r, n, o in by_rule)
            ),
            "how_to_resolve": "intercom-salesforce review list | show ID | fix ID | dismiss ID",
        }
    )
