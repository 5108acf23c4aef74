"""``intercom-salesforce demo``: seed the sandbox once, serve it, and sync every day it holds."""

from __future__ import annotations

import os
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import click

from intercom_salesforce import settings
from intercom_salesforce.cli.runs import checks_passed, prepare_dagster_home, run_job
from intercom_salesforce.cli.sandbox import sandbox_state
from intercom_salesforce.cli.summary import print_summary

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
        print_summary(result.run_id, first, last, checks_passed=checks_passed(result))
        click.echo("\nWhere to look next:")
        click.echo(f"  Dagster UI (run history, metadata):   make dev   (DAGSTER_HOME={home})")
        click.echo(
            f"  Salesforce sandbox records:           {running.salesforce_url}/_sandbox/Lead"
        )
        click.echo(f"  Warehouse:                            duckdb {settings.paths().warehouse}")
        return 0 if result.success else 1
    finally:
        running.stop()
