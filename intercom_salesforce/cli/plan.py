"""``intercom-salesforce plan``: what a sync would write to Salesforce, without writing it.

It runs the sync job in this process like ``sync`` does, tagged ``intercom_salesforce/dry_run=true``:
extraction, checks, mirror, match, mapping, sources of truth and the field diff all run; the push
assets record their plan (``sync.plans``, a CSV per object under the work folder, a sample in the
materialization) instead of creating Bulk jobs, and leave the sync state as it was. The summary is
read from the push assets' materializations, so it shows exactly what the run recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from intercom_salesforce.cli.runs import prepare_dagster_home, run_job

if TYPE_CHECKING:
    import dagster as dg

# which sync plans which Salesforce object
PEOPLE_OBJECTS = ("Account", "Lead", "Contact")
CONVERSATION_OBJECTS = ("Task", "Intercom_Conversation__c", "Note")
JOBS = {"sync_people_job": PEOPLE_OBJECTS, "sync_conversations_job": CONVERSATION_OBJECTS}
ACTIONS = ("create", "update", "unchanged", "review", "conflict", "waiting")


def days(partition: str | None, first: str | None, last: str | None) -> tuple[str, str]:
    """The window: one ``--partition`` day, or ``--from``..``--to`` (default: the last day)."""
    from intercom_salesforce.assets.partitions import daily_partitions

    if partition and (first or last):
        raise click.UsageError("--partition cannot be combined with --from/--to")
    if partition:
        return partition, partition
    last = last or daily_partitions.get_last_partition_key()
    return first or last, last


def planned_objects(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    """sObject -> its plan's metadata values, from the run's dry-run materializations."""
    found: dict[str, dict] = {}
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        if "dry_run" in metadata and "sobject" in metadata:
            found[str(metadata["sobject"].value)] = {k: v.value for k, v in metadata.items()}
    return found


def plan_line(sobject: str, values: dict) -> str:
    """One object's counts (``waiting`` only when some conversation waits for its person), the
    fields its creates and updates would send, and its CSV."""
    counts = ", ".join(
        f"{action} {values.get(f'plan_{action}', 0)}"
        for action in ACTIONS
        if action != "waiting" or values.get("plan_waiting")
    )
    return (
        f"  {sobject + ':':<12}{counts}; {values.get('plan_fields_changed', 0)} fields to send\n"
        f"  {'':<12}{values.get('plan_csv', '')}"
    )


def print_plan(result: dg.ExecuteInProcessResult, objects: tuple[str, ...]) -> None:
    """The per-object summary of one dry run; a failed run says which steps failed."""
    click.echo(f"\nPlan of run {result.run_id} (nothing was written to Salesforce)")
    planned = planned_objects(result)
    for sobject in objects:
        if sobject in planned:
            click.echo(plan_line(sobject, planned[sobject]))
    if not result.success:
        failed = sorted({e.step_key for e in result.all_events if e.is_step_failure})
        click.echo(f"  the run failed at: {', '.join(failed)} (see the log above)")


@click.command(name="plan", help="what a sync would write to Salesforce, without writing it")
@click.option("--partition", help="one day")
@click.option("--from", "first", help="first day (default: the last day)")
@click.option("--to", "last", help="last day (default: today's partition)")
@click.option(
    "--object",
    "sobject",
    type=click.Choice([*PEOPLE_OBJECTS, *CONVERSATION_OBJECTS]),
    help="only this object's sync and summary (default: people, then conversations)",
)
def plan(partition: str | None, first: str | None, last: str | None, sobject: str | None) -> int:
    """Run the sync job(s) with the dry-run tag and print each object's plan; 1 if a run
    failed."""
    from intercom_salesforce.assets.push.plan import DRY_RUN_TAG

    first, last = days(partition, first, last)
    prepare_dagster_home()
    ok = True
    for job, objects in JOBS.items():
        if sobject is not None and sobject not in objects:
            continue
        click.echo(f"Planning {job} over {first} .. {last} ...")
        result = run_job(
            job, first, last, "intercom-salesforce plan", quiet=True, tags={DRY_RUN_TAG: "true"}
        )
        print_plan(result, (sobject,) if sobject else objects)
        ok = ok and result.success
    return 0 if ok else 1
