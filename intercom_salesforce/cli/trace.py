"""``intercom-salesforce trace``: one record's story across runs, from the warehouse alone.

Why a person landed where they did is spread over the tables each step keeps (staging, the review
queue, the match, the routing decision, conflicts, Bulk results and jobs, dry-run plans), each row
stamped with the Dagster run that wrote it. The trace puts them in one list, newest first, with
the run ids to open in the UI. Its queries are in ``intercom_salesforce/sql/trace/``.
"""

from __future__ import annotations

import json
from typing import Any

import click
import duckdb

from intercom_salesforce import settings
from intercom_salesforce.cli.summary import connect_read_only
from intercom_salesforce.warehouse import SQL_DIR, read_sql

SQL = SQL_DIR / "trace"


def stories(con: duckdb.DuckDBPyConnection, identifier: str) -> list[dict[str, Any]]:
    """Every Intercom record ``identifier`` names, each with its steps, newest first."""
    found = con.execute(read_sql("resolve.sql", SQL), [identifier]).fetchall()
    story = read_sql("story.sql", SQL)
    return [
        {
            "intercom_id": record_id,
            "kind": kind,
            "steps": [
                {
                    "at": at.isoformat() if at else None,
                    "run_id": run_id,
                    "step": step,
                    "summary": summary,
                    "detail": json.loads(detail) if detail else None,
                }
                for at, run_id, step, summary, detail in con.execute(story, [record_id]).fetchall()
            ],
        }
        for record_id, kind in found
    ]


def print_story(record: dict[str, Any]) -> None:
    """One record's steps as lines: when, which run, what happened."""
    click.echo(f"\n{record['kind']} {record['intercom_id']} (newest first)")
    for s in record["steps"]:
        at = (s["at"] or "")[:19].replace("T", " ")
        click.echo(f"  {at:<19}  run {s['run_id'] or '-':<36}  {s['step']:<9}  {s['summary']}")


@click.command(name="trace", help="one record's story across runs, newest first")
@click.argument("identifier")
@click.option("--json", "as_json", is_flag=True, help="the story as JSON")
def trace(identifier: str, as_json: bool) -> int:
    """Trace an email, an Intercom id or a Salesforce Id; 1 when nothing is known of it."""
    path = settings.paths().warehouse
    if not path.exists():
        click.echo(f"No warehouse at {path}: run a sync first.")
        return 1
    with connect_read_only(str(path)) as con:
        try:
            records = stories(con, identifier)
        except duckdb.CatalogException:
            records = []
    if as_json:
        click.echo(json.dumps(records, indent=2, default=str))
    else:
        for record in records:
            print_story(record)
    if not records:
        click.echo(f"Nothing in the warehouse is named {identifier!r}.", err=as_json)
        return 1
    return 0
