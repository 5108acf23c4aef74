"""``intercom-salesforce sync``: one sync run over a range of days, in this process (what the
schedules run)."""

from __future__ import annotations

import click

from intercom_salesforce.cli.runs import checks_passed, prepare_dagster_home, run_job
from intercom_salesforce.cli.summary import print_summary

JOBS = {
    "people": "sync_people_job",
    "conversations": "sync_conversations_job",
    "reference": "refresh_reference_job",
}


@click.command(name="sync", help="one sync run over a range of days, in this process")
@click.option("--job", "job_key", type=click.Choice(list(JOBS)), default="people")
@click.option("--from", "first", help="first day (default: the last day)")
@click.option("--to", "last", help="last day (default: today's partition)")
@click.option("--quiet", is_flag=True, help="only warnings from Dagster")
def sync(job_key: str, first: str | None, last: str | None, quiet: bool) -> int:
    """Run the job after the run guard's checks, then print its summary; 1 if it failed."""
    from intercom_salesforce.assets.partitions import daily_partitions

    prepare_dagster_home()
    last = last or daily_partitions.get_last_partition_key()
    first = first or last
    job = JOBS[job_key]
    click.echo(f"Running {job} over {first} .. {last} ...")
    result = run_job(job, first, last, "intercom-salesforce sync", quiet=quiet)
    print_summary(result.run_id, first, last, checks_passed=checks_passed(result))
    return 0 if result.success else 1
