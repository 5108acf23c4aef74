"""``intercom-salesforce review``: the review queue, for a person: list, show, fix, dismiss,
reopen, and merge (choose the surviving record of an ambiguous match)."""

from __future__ import annotations

from pathlib import Path

import click
import duckdb

from intercom_salesforce import settings, warehouse
from intercom_salesforce.warehouse import ensure_warehouse, read_sql

SQL = Path(__file__).parent / "sql"

# command, the status it sets, its help
STATUS_COMMANDS = (
    ("fix", "fixed", "mark fixed: pushed on the next run"),
    ("dismiss", "dismissed", "dismiss: never pushed"),
    ("reopen", "open", "back to the queue"),
)
EFFECT = {
    "fixed": "it is pushed on the next run",
    "dismissed": "it is never pushed",
    "open": "it waits again",
}


def _os_user() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (some containers)
        return None


def _warehouse(read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The warehouse, or a clear exit when a run holds it (DuckDB allows one writer process)."""
    path = settings.paths().warehouse
    try:
        con = warehouse.connect(str(path), settings.warehouse_config(), read_only=read_only)
    except duckdb.IOException as exc:
        raise SystemExit(
            f"The warehouse {path} is busy (a run is writing to it); try again: {exc}"
        ) from exc
    if not read_only:
        ensure_warehouse(con)
    return con


@click.group(help="the review queue: list, show, fix, dismiss, merge")
def review() -> None:
    """What the checks and the matching could not decide waits here for a person."""


@review.command(name="list", help="items waiting for a person")
@click.option(
    "--status", default="open", type=click.Choice(["open", "fixed", "dismissed", "resolved"])
)
@click.option("--entity")
@click.option("--rule")
@click.option("--limit", type=int, default=50)
def list_command(status: str, entity: str | None, rule: str | None, limit: int) -> int:
    """One line per item, oldest rule first, and how many there are in all."""
    params = [status, entity or None, rule or None]
    with _warehouse() as con:
        rows = con.execute(read_sql("review_list.sql", SQL), [*params, limit]).fetchall()
        total = con.execute(read_sql("review_count.sql", SQL), params).fetchall()[0][0]
    click.echo(f"{'item':>6}  {'entity':<22} {'record':<26} {'rule':<22} {'age(d)':>6}  value")
    for item, entity_, record, rule_, value, _day, age in rows:
        click.echo(f"{item:>6}  {entity_:<22} {record:<26} {rule_:<22} {age:>6}  {value[:40]}")
    click.echo(f"{total} item(s) {status}" + (f", {len(rows)} shown" if total > len(rows) else ""))
    return 0


@review.command(name="show", help="one item, whole")
@click.argument("item", type=int)
def show_command(item: int) -> int:
    """Every column of the item, one per line."""
    with _warehouse() as con:
        cur = con.execute(read_sql("review_item.sql", SQL), [item])
        row = cur.fetchone()
        names = [d[0] for d in cur.description]
    if row is None:
        click.echo(f"no review item {item}")
        return 1
    for name, value in zip(names, row, strict=True):
        click.echo(f"{name:>15}: {value}")
    return 0


def set_status(item: int, status: str, note: str | None) -> int:
    """fix, dismiss or reopen one item; an ambiguous match is refused, since marking it fixed
    would choose nothing: the person would stay ambiguous and unsynced."""
    from intercom_salesforce.assets.match.people import AMBIGUOUS_RULE
    from intercom_salesforce.assets.quality import review_queue

    with _warehouse() as con:
        rule = con.execute(read_sql("review_item_rule.sql", SQL), [item]).fetchone()
        if rule and rule[0] == AMBIGUOUS_RULE and status == "fixed":
            click.echo(
                f"item {item} is an ambiguous match: choose the surviving record with "
                f"`intercom-salesforce review merge {item} --survivor SF_ID`",
                err=True,
            )
            return 1
        done = review_queue.set_status(con, item, status, note)
    if done is None:
        click.echo(f"no review item {item}")
        return 1
    click.echo(
        f"item {done['item_id']} ({done['entity']} {done['record_id']}, {done['rule']}) "
        f"is {done['status']}: {EFFECT[status]}"
    )
    return 0


def _status_command(name: str, status: str, text: str) -> None:
    @review.command(name=name, help=text)
    @click.argument("item", type=int)
    @click.option("--note")
    def command(item: int, note: str | None) -> int:
        """One status command: the same decision under its own name."""
        return set_status(item, status, note)


for _name, _status, _text in STATUS_COMMANDS:
    _status_command(_name, _status, _text)


@review.command(name="merge", help="choose the surviving Salesforce record of an ambiguous match")
@click.argument("item", type=int)
@click.option(
    "--survivor", required=True, help="the Contact or Lead Id (a converted Lead: its Contact)"
)
@click.option("--note")
@click.option("--by", "chosen_by", default=_os_user, help="who chose (default: the OS user)")
@click.option("--force", is_flag=True, help="accept a survivor that is not a candidate")
def merge_command(
    item: int, survivor: str, note: str | None, chosen_by: str | None, force: bool
) -> int:
    """Record the person's choice; the next run matches to it (rule ``manual``)."""
    from intercom_salesforce.assets.match.manual import MergeRefused, choose_survivor

    with _warehouse() as con:
        try:
            chosen = choose_survivor(con, item, survivor, chosen_by, note, force)
        except MergeRefused as exc:
            click.echo(f"not merged: {exc}", err=True)
            return 1
    if chosen.converted_from:
        click.echo(
            f"Lead {chosen.converted_from} was converted: its Contact {chosen.sf_id} survives"
        )
    others = [c for c in chosen.candidates if c != chosen.target]
    click.echo(
        f"item {chosen.review_item_id} ({chosen.intercom_contact_id}) is fixed: "
        f"{chosen.target} survives"
        + (" (not one of the candidates, forced)" if chosen.forced else "")
        + f", chosen by {chosen.chosen_by or 'unknown'}"
    )
    if others:
        click.echo(f"  left as they are in Salesforce: {', '.join(others)}")
    click.echo(
        f"  the next run matches {chosen.intercom_contact_id} to {chosen.target} (rule manual) "
        "and stamps our external id on it"
    )
    return 0
