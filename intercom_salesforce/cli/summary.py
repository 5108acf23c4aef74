"""The summary printed after a run from the command line: what it did, per record.

Its queries are in ``intercom_salesforce/sql/summary/``, beside the statements that create the
tables they read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click
import duckdb

from intercom_salesforce import settings, warehouse
from intercom_salesforce.assets.match.rules import PERSON_MATCHED, MatchRule
from intercom_salesforce.warehouse import SQL_DIR, read_sql

if TYPE_CHECKING:
    import dagster as dg

SQL = SQL_DIR / "summary"
SOBJECTS = ("Account", "Lead", "Contact")


def _rows(con: duckdb.DuckDBPyConnection, name: str, params: Sequence[str] = ()) -> list[tuple]:
    """Rows of one summary query; none when a failed step left its table missing."""
    try:
        return con.execute(read_sql(name, SQL), list(params)).fetchall()
    except duckdb.CatalogException:
        return []


def _count(con: duckdb.DuckDBPyConnection, name: str, params: Sequence[str] = ()) -> int:
    rows = _rows(con, name, params)
    return rows[0][0] if rows else 0


def connect_read_only(path: str) -> duckdb.DuckDBPyConnection:
    config = settings.warehouse_config()
    try:
        return warehouse.connect(path, config, read_only=True)
    except duckdb.ConnectionException:
        # a failed step's traceback can keep its read-write connection alive in this process
        return warehouse.connect(path, config)


def print_summary(run_id: str, first: str, last: str, checks_passed: bool) -> None:
    """What the run did, per record (a record retried three times counts once, by its last
    outcome); a run whose steps failed still gets the part of the summary it produced."""
    path = settings.paths().warehouse
    if not path.exists():
        click.echo(f"\nRun {run_id} wrote no warehouse ({path}): see its failure above.")
        return
    with connect_read_only(str(path)) as con:
        staged = _count(con, "staged_contacts.sql", [first, last])
        rules = dict(_rows(con, "match_rules.sql", [run_id]))
        by_object: dict[str, dict[str, int]] = {}
        for sobject, outcome, n in _rows(con, "push_outcomes.sql", [run_id]):
            by_object.setdefault(sobject, {})[outcome] = n
        conflicts = _count(con, "open_conflicts.sql")
        review = _count(con, "open_review.sql")
        jobs = [r[0] for r in _rows(con, "bulk_jobs.sql", [run_id])]
    matched = sum(rules.get(r, 0) for r in PERSON_MATCHED)
    click.echo(f"\nSummary of run {run_id}")
    click.echo(f"  extracted from Intercom:  {staged} contacts staged")
    click.echo(
        f"  checked (GX suite):       {'passed' if checks_passed else 'FAILED: nothing was pushed'}"
    )
    click.echo(
        f"  matched in Salesforce:    {matched} "
        f"(external id {rules.get(MatchRule.EXTERNAL_ID, 0)}, "
        f"user id {rules.get(MatchRule.USER_ID, 0)}, "
        f"email {rules.get(MatchRule.EMAIL, 0)}, chosen {rules.get(MatchRule.MANUAL, 0)}), "
        f"ambiguous {rules.get(MatchRule.AMBIGUOUS, 0)}, "
        f"no email {rules.get(MatchRule.NO_EMAIL, 0)}, "
        f"unmatched {rules.get(MatchRule.NONE, 0)}"
    )
    for sobject in SOBJECTS:
        outcomes = by_object.get(sobject, {})
        click.echo(
            f"  Salesforce {sobject + 's:':<15}created {outcomes.get('created', 0)}, "
            f"updated {outcomes.get('updated', 0)}, failed {outcomes.get('failed', 0)}, "
            f"unprocessed {outcomes.get('unprocessed', 0)}"
        )
    click.echo(f"  conflicts left alone:     {conflicts}  (sync.sync_conflicts)")
    click.echo(f"  Bulk jobs:                {', '.join(jobs) or 'none (nothing changed)'}")
    click.echo(f"  waiting in review:        {review}  (intercom-salesforce review list)")


def print_conversation_summary(run_id: str) -> None:
    """What the conversation sync wrote: its records per Salesforce object (Tasks, Notes or the
    custom object), and its Bulk jobs."""
    with connect_read_only(str(settings.paths().warehouse)) as con:
        by_object: dict[str, dict[str, int]] = {}
        for sobject, outcome, n in _rows(con, "push_outcomes.sql", [run_id]):
            by_object.setdefault(sobject, {})[outcome] = n
        jobs = [r[0] for r in _rows(con, "bulk_jobs.sql", [run_id])]
    click.echo(f"\nSummary of run {run_id} (conversations)")
    for sobject, outcomes in sorted(by_object.items()):
        click.echo(
            f"  Salesforce {sobject + 's:':<15}created {outcomes.get('created', 0)}, "
            f"updated {outcomes.get('updated', 0)}, failed {outcomes.get('failed', 0)}, "
            f"unprocessed {outcomes.get('unprocessed', 0)}"
        )
    if not by_object:
        click.echo("  nothing to write (no conversation changed)")
    click.echo(f"  Bulk jobs:                {', '.join(jobs) or 'none (nothing changed)'}")


def print_writeback_summary(result: dg.ExecuteInProcessResult) -> None:
    """One line per Intercom model the write-back wrote, from its assets' metadata."""
    for node, label in (
        ("intercom_contacts_writeback", "people"),
        ("intercom_companies_writeback", "companies"),
    ):
        events = result.asset_materializations_for_node(node)
        if not events:
            continue
        md = {k: v.value for k, v in events[-1].metadata.items()}
        if f"{label}_considered" not in md:
            click.echo(f"  Intercom {label + ':':<17}{md.get('skipped', 'nothing to write back')}")
            continue
        click.echo(
            f"  Intercom {label + ':':<17}{md[f'{label}_considered']} considered, "
            f"{md[f'{label}_written']} written, {md[f'{label}_unchanged']} unchanged, "
            f"{md[f'{label}_failed']} failed; {md['attributes_created']} attributes created, "
            f"tags +{md['tags_added']} -{md['tags_removed']}, {md['api_calls']} API calls"
        )


def trace_example(run_id: str) -> str | None:
    """An Intercom id worth tracing after the people run ``run_id`` (one it wrote)."""
    with connect_read_only(str(settings.paths().warehouse)) as con:
        rows = _rows(con, "trace_example.sql", [run_id])
    return rows[0][0] if rows else None
