"""Which Salesforce Lead or Contact each Intercom person is (SQL in DuckDB, see match_people.sql)."""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.match.ambiguous import AmbiguousMatches
from intercom_salesforce.assets.match.companies import load_free_mail
from intercom_salesforce.assets.match.rules import PERSON_MATCHED, MatchRule
from intercom_salesforce.assets.partitions import daily_partitions, window_days
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.warehouse import PERSON_MATCHES, WAREHOUSE_POOL, ensure_warehouse, read_sql

SQL = Path(__file__).parent / "sql"
AMBIGUOUS_RULE = "ambiguous_match"
# the rules worth a look in the asset's sample of matches
SAMPLE_RULES = [
    str(r) for r in (MatchRule.AMBIGUOUS, MatchRule.EMAIL, MatchRule.EXTERNAL_ID, MatchRule.MANUAL)
]


AMBIGUOUS_PEOPLE = AmbiguousMatches(
    "intercom_contacts",
    AMBIGUOUS_RULE,
    "email",
    "Several Salesforce records match this person: nothing is written until a person "
    "chooses the surviving record",
    "ambiguous_people.sql",
    "rechecked_people.sql",
    "_ambiguous_people",
)


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
        conn.execute(read_sql("delete_person_matches.sql", SQL), [first_day, last_day])
        load_free_mail(conn)
        conn.execute(
            f"INSERT INTO {PERSON_MATCHES} BY NAME " + read_sql("match_people.sql", SQL),
            [first_day, last_day, context.run.run_id, sync_settings.match_account_by_email_domain],
        )
        queued = AMBIGUOUS_PEOPLE.queue(conn, first_day, last_day, context.run.run_id)
        conn.execute("COMMIT")
        by_rule = dict(
            conn.execute(read_sql("person_match_counts.sql", SQL), [first_day, last_day]).fetchall()
        )
        sample = conn.execute(
            read_sql("person_match_sample.sql", SQL), [first_day, last_day, SAMPLE_RULES]
        ).fetchall()
    total = sum(by_rule.values())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": total,
            **{f"rule_{k}": v for k, v in by_rule.items()},
            "matched": sum(by_rule.get(r, 0) for r in PERSON_MATCHED),
            "sent_to_review": queued,
            "sample": dg.MetadataValue.md(
                "| intercom id | rule | object | sf id | candidates |\n|---|---|---|---|---|\n"
                + "\n".join("| " + " | ".join(str(v) for v in row) + " |" for row in sample)
            ),
        }
    )
