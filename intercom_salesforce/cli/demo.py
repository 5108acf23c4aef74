"""``intercom-salesforce demo``: seed the sandbox once, serve it, and sync every day it holds."""

from __future__ import annotations

import os
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import click

from intercom_salesforce import settings
from intercom_salesforce.cli.runs import (
    checks_passed,
    prepare_dagster_home,
    print_stages,
    run_job,
)
from intercom_salesforce.cli.sandbox import sandbox_state
from intercom_salesforce.cli.summary import (
    print_conversation_summary,
    print_summary,
    print_writeback_summary,
    trace_example,
)

if TYPE_CHECKING:
    from intercom_salesforce.resources.intercom import IntercomResource
    from intercom_salesforce.sandbox.runtime import SandboxState

CREDENTIAL_VARS = (
    "INTERCOM_ACCESS_TOKEN",
    *settings.SF_CREDENTIAL_VARS,
    "SALESFORCE_CLIENT_SECRET",
    "SALESFORCE_PASSWORD",
)


def partition_range(intercom: IntercomResource) -> tuple[str, str] | None:
    """First and last day with data: the oldest ``updated_at`` in Intercom, through today."""
    from intercom_salesforce.assets.partitions import daily_partitions

    client = intercom.client()
    page = next(
        client.search_pages(
            "contacts",
            {"field": "updated_at", "operator": ">", "value": 0},
            per_page=1,
            sort={"field": "updated_at", "order": "ascending"},
        )
    )
    if not page.get("data"):
        return None
    oldest = (
        datetime.fromtimestamp(
            page["data"][0]["updated_at"], ZoneInfo(settings.workspace_timezone())
        )
        .date()
        .isoformat()
    )
    first = max(oldest, daily_partitions.get_first_partition_key())
    return first, daily_partitions.get_last_partition_key()


def _port(url: str) -> int:
    return urlparse(url).port or (443 if url.startswith("https") else 80)


def _sandbox_only() -> None:
    """The demo never talks to a real org: drop credentials and point at the emulators."""
    for var in CREDENTIAL_VARS:
        if os.environ.pop(var, None):
            click.echo(f"(demo runs on the sandbox: ignoring {var} for this run)")
    os.environ.setdefault(
        "SANDBOX_INTERCOM_URL", f"http://127.0.0.1:{settings.DEFAULT_INTERCOM_PORT}"
    )
    os.environ.setdefault(
        "SANDBOX_SALESFORCE_URL", f"https://127.0.0.1:{settings.DEFAULT_SALESFORCE_PORT}"
    )


def _seeded(fresh: bool, contacts: int) -> SandboxState:
    """The sandbox, seeded once (again after ``--reset``, which also drops the warehouse)."""
    from intercom_salesforce.sandbox.runtime import reset, seed
    from intercom_salesforce.sandbox.world import WorldSize

    state = sandbox_state()
    if fresh:
        reset(state)
        if settings.paths().warehouse.exists():
            settings.paths().warehouse.unlink()
    if state.seeded() is None:
        click.echo("Seeding the sandbox ...")
        info = seed(state, WorldSize(contacts=contacts), timezone=settings.workspace_timezone())
        click.echo(f"  Intercom {info['intercom']}\n  Salesforce {info['salesforce']}")
    else:
        click.echo(f"Using the existing sandbox in {state.root} (make demo-reset to start over)")
    return state


@click.command(name="demo", help="seed (once), serve the sandbox, sync every partition")
@click.option("--reset", "fresh", is_flag=True, help="start from a fresh sandbox")
@click.option("--contacts", type=int, default=300)
def demo(fresh: bool, contacts: int) -> int:
    """``make demo``: one run over every day the sandbox holds, then its summary."""
    _sandbox_only()
    from intercom_salesforce.sandbox.runtime import start

    state = _seeded(fresh, contacts)
    running = start(
        state,
        intercom_port=_port(settings.sandbox_intercom_url()),
        salesforce_port=_port(settings.sandbox_salesforce_url()),
        reuse_running=True,
    )
    try:
        home = prepare_dagster_home()
        window = partition_range(settings.build_resources()["intercom"])
        if window is None:
            click.echo("Intercom holds no contacts; nothing to sync.")
            return 0
        first, last = window
        click.echo(
            f"Running sync_people_job over partitions {first} .. {last} "
            f"({settings.workspace_timezone()}) as one run ..."
        )
        result = run_job("sync_people_job", first, last, "make demo", quiet=True)
        print_stages(result)
        print_summary(result.run_id, first, last, checks_passed=checks_passed(result))
        ok = result.success
        if ok:
            ok = _conversations(first, last) and _writeback() and _next_plan(first, last)
            _trace(result.run_id)
        click.echo("\nWhere to look next:")
        click.echo(f"  Dagster UI (run history, metadata):   make dev   (DAGSTER_HOME={home})")
        click.echo(
            f"  Salesforce sandbox records:           {running.salesforce_url}/_sandbox/Lead"
        )
        click.echo(f"  Warehouse:                            duckdb {settings.paths().warehouse}")
        return 0 if ok else 1
    finally:
        running.stop()


def _conversations(first: str, last: str) -> bool:
    """The conversation sync over the same days (Tasks, Notes or the custom object)."""
    click.echo(f"\nRunning sync_conversations_job over partitions {first} .. {last} ...")
    result = run_job("sync_conversations_job", first, last, "make demo", quiet=True)
    print_stages(result)
    print_conversation_summary(result.run_id)
    return result.success


def _writeback() -> bool:
    """Salesforce context back on the Intercom contacts and companies, and its summary line."""
    click.echo("\nRunning salesforce_writeback_job (Salesforce context back to Intercom) ...")
    result = run_job("salesforce_writeback_job", "", "", "make demo", quiet=True)
    print_stages(result)
    if result.success:
        print_writeback_summary(result)
    return result.success


def _next_plan(first: str, last: str) -> bool:
    """The plan of the next people run: on a sandbox nobody changed, nothing to do."""
    from intercom_salesforce.assets.push.plan import DRY_RUN_TAG
    from intercom_salesforce.cli.plan import PEOPLE_OBJECTS, print_plan

    click.echo("\nPlanning the next people run (a dry run: nothing is written) ...")
    result = run_job(
        "sync_people_job", first, last, "make demo", quiet=True, tags={DRY_RUN_TAG: "true"}
    )
    print_plan(result, PEOPLE_OBJECTS)
    return result.success


def _trace(run_id: str) -> None:
    """One person's story, as ``intercom-salesforce trace`` prints it."""
    from intercom_salesforce.cli.summary import connect_read_only
    from intercom_salesforce.cli.trace import print_story, stories

    example = trace_example(run_id)
    if example is None:
        return
    click.echo(f"\nThe story of one person (intercom-salesforce trace {example}):")
    with connect_read_only(str(settings.paths().warehouse)) as con:
        for record in stories(con, example):
            print_story(record)
