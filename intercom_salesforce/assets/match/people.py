"""Which Salesforce Lead or Contact each Intercom person is (SQL in DuckDB, see match_people.sql)."""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.match.companies import load_free_mail
from intercom_salesforce.assets.partitions import daily_partitions, window_days
from intercom_salesforce.assets.quality.review_queue import resolve_passing, upsert_items
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.warehouse import PERSON_MATCHES, WAREHOUSE_POOL, ensure_warehouse, read_sql

SQL = Path(__file__).parent / "sql"
AMBIGUOUS_RULE = "ambiguous_match"


def queue_ambiguous(conn, first_day: str, last_day: str, run_id: str) -> int:
    """The dedupe safeguard: several candidates means no write, and a person chooses.

    Once a person has chosen (``review merge``, see manual.py) the match is ``manual``, never
    ``ambiguous``, so the item is not queued again: it stays ``fixed`` (resolve_passing only
    touches open items), or, if someone reopened it, becomes ``resolved``.
    """
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _ambiguous_people AS
            SELECT intercom_contact_id AS record_id, partition_date,
                   email_normalized AS value, candidates
            FROM {PERSON_MATCHES}
            WHERE partition_date BETWEEN ? AND ? AND rule = 'ambiguous'""",
        [first_day, last_day],
    )
    failing = {r[0] for r in conn.execute("SELECT record_id FROM _ambiguous_people").fetchall()}
    queued = upsert_items(
        conn,
        "_ambiguous_people",
        "intercom_contacts",
        AMBIGUOUS_RULE,
        "email",
        "Several Salesforce records match this person: nothing is written until a person "
        "chooses the surviving record",
        run_id,
        candidates_column="candidates",
    )
    resolve_passing(
        conn,
        "intercom_contacts",
        [AMBIGUOUS_RULE],
        f"SELECT intercom_contact_id FROM {PERSON_MATCHES} WHERE partition_date BETWEEN ? AND ?",
        [first_day, last_day],
        {AMBIGUOUS_RULE: failing},
    )
    return queued


@dg.asset(
    group_name="match",
    kinds={"duckdb"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    deps=[
        "intercom_contacts",
        "salesforce_contacts_mirror",
        "salesforce_leads_mirror",
        "salesforce_accounts_mirror",
        "company_matches",
        "salesforce_account_upserts",
    ],
)
def person_matches(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, sync_settings: SyncSettings
):
    """Per Intercom person in the window: the Salesforce id, the rule that matched, candidates."""
    first_day, last_day = window_days(context.partition_time_window)
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        conn.execute("BEGIN")
        conn.execute(
            f"DELETE FROM {PERSON_MATCHES} WHERE partition_date BETWEEN ? AND ?",
            [first_day, last_day],
        )
        load_free_mail(conn)
        conn.execute(
            f"INSERT INTO {PERSON_MATCHES} BY NAME " + read_sql("match_people.sql", SQL),
            [first_day, last_day, context.run.run_id, sync_settings.match_account_by_email_domain],
        )
        queued = queue_ambiguous(conn, first_day, last_day, context.run.run_id)
        conn.execute("COMMIT")
        by_rule = dict(
            conn.execute(
                f"SELECT rule, count(*) FROM {PERSON_MATCHES} "
                "WHERE partition_date BETWEEN ? AND ? GROUP BY 1 ORDER BY 1",
                [first_day, last_day],
            ).fetchall()
        )
        sample = conn.execute(
            f"SELECT intercom_contact_id, rule, sf_object, sf_id, candidates::VARCHAR "
            f"FROM {PERSON_MATCHES} WHERE partition_date BETWEEN ? AND ? "
            "AND rule IN ('ambiguous', 'email', 'external_id', 'manual') ORDER BY rule, 1 LIMIT 10",
            [first_day, last_day],
        ).fetchall()
    total = sum(by_rule.values())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": total,
            **{f"rule_{k}": v for k, v in by_rule.items()},
            "matched": sum(
                by_rule.get(r, 0) for r in ("manual", "external_id", "user_id", "email")
            ),
            "sent_to_review": queued,
            "sample": dg.MetadataValue.md(
                "| intercom id | rule | object | sf id | candidates |\n|---|---|---|---|---|\n"
                + "\n".join("| " + " | ".join(str(v) for v in row) + " |" for row in sample)
            ),
        }
    )
