"""Which Salesforce Account each Intercom company is (SQL in DuckDB, see match_companies.sql)."""

from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.match.ambiguous import AmbiguousMatches
from intercom_salesforce.assets.partitions import daily_partitions, window_days
from intercom_salesforce.warehouse import (
    COMPANY_MATCHES,
    WAREHOUSE_POOL,
    ensure_warehouse,
    read_sql,
)

SQL = Path(__file__).parent / "sql"
FREE_MAIL_FILE = Path(__file__).parent / "free_mail_domains.txt"


def load_free_mail(conn: duckdb.DuckDBPyConnection, path: Path = FREE_MAIL_FILE) -> int:
    """The shipped free-mail/ISP list as the temp table ``_free_mail(domain)``."""
    domains = sorted(
        {
            line.strip().lower()
            for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        }
    )
    conn.execute(read_sql("free_mail.sql", SQL), [domains])
    return len(domains)


AMBIGUOUS_COMPANIES = AmbiguousMatches(
    "intercom_companies",
    "ambiguous_match",
    "website",
    "Several Salesforce Accounts match this company: nothing is written until a person "
    "chooses the surviving Account",
    "ambiguous_companies.sql",
    "rechecked_companies.sql",
    "_ambiguous_companies",
)


@dg.asset(
    group_name="match",
    kinds={"duckdb"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    deps=["intercom_companies", "salesforce_accounts_mirror"],
)
def company_matches(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
    """Per Intercom company in the window: the Account id, the rule that matched, candidates."""
    first_day, last_day = window_days(context.partition_time_window)
    run_id = context.run.run_id
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        load_free_mail(conn)
        conn.execute("BEGIN")
        conn.execute(read_sql("delete_company_matches.sql", SQL), [first_day, last_day])
        conn.execute(
            f"INSERT INTO {COMPANY_MATCHES} " + read_sql("match_companies.sql", SQL),
            [first_day, last_day, run_id],
        )
        queued = AMBIGUOUS_COMPANIES.queue(conn, first_day, last_day, run_id)
        conn.execute("COMMIT")
        by_rule = dict(
            conn.execute(
                read_sql("company_match_counts.sql", SQL), [first_day, last_day]
            ).fetchall()
        )
        sample = conn.execute(
            read_sql("company_match_sample.sql", SQL), [first_day, last_day]
        ).fetchall()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(by_rule.values()),
            **{f"rule_{k}": v for k, v in sorted(by_rule.items())},
            "matched": by_rule.get("external_id", 0) + by_rule.get("domain", 0),
            "sent_to_review": queued,
            "sample": dg.MetadataValue.md(
                "| company | rule | domain | account | candidates |\n|---|---|---|---|---|\n"
                + "\n".join("| " + " | ".join(str(v) for v in row) + " |" for row in sample)
            ),
        }
    )
