"""``intercom-salesforce sandbox``: seed, reset and serve the local Intercom and Salesforce
emulators."""

from __future__ import annotations

import shutil
import time
from typing import TYPE_CHECKING

import click

from intercom_salesforce import settings

if TYPE_CHECKING:
    from intercom_salesforce.sandbox.runtime import SandboxState


def sandbox_state() -> SandboxState:
    """The sandbox's files under var/ (the demo uses the same)."""
    from intercom_salesforce.sandbox.runtime import SandboxState

    return SandboxState(settings.paths().sandbox)


@click.group(help="the local Intercom and Salesforce emulators")
def sandbox() -> None:
    """The emulators' commands; ``make demo`` and ``make sandbox`` call them."""


@sandbox.command(name="seed", help="generate and load the deterministic world")
@click.option("--contacts", type=int, default=300)
@click.option("--days", type=int, default=14)
@click.option("--seed", "seed_value", type=int, default=7)
@click.option("--reset", "fresh", is_flag=True)
def seed_command(contacts: int, days: int, seed_value: int, fresh: bool) -> int:
    """The same world for the same numbers, so runs and benchmarks compare."""
    from intercom_salesforce.sandbox.runtime import reset, seed
    from intercom_salesforce.sandbox.world import WorldSize

    state = sandbox_state()
    if fresh:
        reset(state)
    info = seed(
        state,
        WorldSize(contacts=contacts, days=days),
        seed_value=seed_value,
        timezone=settings.workspace_timezone(),
    )
    click.echo(f"Seeded the sandbox in {info['seconds']} s under {state.root}")
    click.echo(f"  Intercom:   {info['intercom']}")
    click.echo(f"  Salesforce: {info['salesforce']}")
    return 0


@sandbox.command(name="reset", help="delete the sandbox state")
@click.option("--warehouse", is_flag=True, help="also delete the warehouse")
def reset_command(warehouse: bool) -> int:
    """Start over; the warehouse too when asked, since it remembers the old world's ids."""
    from intercom_salesforce.sandbox.runtime import reset

    state = sandbox_state()
    reset(state)
    if warehouse:
        for path in (settings.paths().warehouse, settings.paths().work):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    click.echo(f"Sandbox state removed from {state.root}")
    return 0


@sandbox.command(name="serve", help="serve both emulators in the foreground")
@click.option("--intercom-port", type=int, default=settings.DEFAULT_INTERCOM_PORT)
@click.option("--salesforce-port", type=int, default=settings.DEFAULT_SALESFORCE_PORT)
def serve_command(intercom_port: int, salesforce_port: int) -> int:
    """Both emulators until Ctrl-C, seeding a first world if there is none."""
    from intercom_salesforce.sandbox.runtime import seed, start

    state = sandbox_state()
    if state.seeded() is None:
        seed(state, timezone=settings.workspace_timezone())
    running = start(state, intercom_port=intercom_port, salesforce_port=salesforce_port)
    click.echo(f"Intercom emulator:   {running.intercom_url}")
    click.echo(
        f"Salesforce emulator: {running.salesforce_url}  (records: {running.salesforce_url}/_sandbox/)"
    )
    click.echo("Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        running.stop()
    return 0
