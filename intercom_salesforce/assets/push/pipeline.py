"""What the people and the conversation pushes share: the checked mapping, the asset settings,
the run's push settings, filling a batch's ``pending`` relation and the asset's end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from intercom_salesforce.assets.partitions import daily_partitions
from intercom_salesforce.assets.push.batch import PushBatch, PushOutcome
from intercom_salesforce.assets.push.bulk_upsert import PushRun
from intercom_salesforce.mapping import Mapping, MappingError, check_against_describe, load_mapping
from intercom_salesforce.mapping.conversations import check_conversation_target
from intercom_salesforce.resources.salesforce import SalesforceClient
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.warehouse import WAREHOUSE_POOL, ident

PUSH = dict(
    group_name="push",
    kinds={"salesforce", "duckdb"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
)
REFERENCE_MIRRORS = [
    "salesforce_users_mirror",
    "salesforce_queues_mirror",
    "salesforce_queue_sobjects_mirror",
    "salesforce_record_types_mirror",
]


def load_checked_mapping(
    sf: SalesforceClient, path: str, conversations: bool = False
) -> tuple[Mapping, dict[str, dict]]:
    """The mapping file, validated against the org's describe of every mapped object (and of
    the conversation target, when ``conversations``)."""
    try:
        mapping = load_mapping(Path(path))
        names = list(mapping.objects)
        if conversations and mapping.conversations.target not in names:
            names.append(mapping.conversations.target)
        describe = {name: sf.call(lambda s, n=name: getattr(s, n).describe()) for name in names}
        check_against_describe(mapping, describe)
        if conversations:
            check_conversation_target(mapping, describe[mapping.conversations.target])
    except MappingError as exc:
        raise dg.Failure(description=f"The mapping cannot be used with this org:\n{exc}") from exc
    return mapping, describe


def push_run(settings: SyncSettings, run_id: str, stage: str) -> PushRun:
    """The run's push settings, with CSV files under the run's folder for ``stage``."""
    return PushRun(
        run_id=run_id,
        work_dir=settings.run_dir(run_id, stage),
        max_bytes=settings.max_upload_bytes,
        max_attempts=settings.push_attempts,
        retry_base_seconds=settings.push_retry_seconds,
    )


def fill_pending(
    conn: duckdb.DuckDBPyConnection,
    batch: PushBatch,
    source: str,
    ext_sql: str,
    key_sql: str,
    columns: dict[str, str],
    where: str = "TRUE",
    params: list[Any] | None = None,
    append: bool = False,
) -> None:
    """``batch.pending`` from ``source``: ext, _key and one column per field (name -> SQL over
    ``source``), for the rows ``where`` selects; ``append`` adds them to the rows already
    there (a batch filled slice by slice)."""
    cols = ", ".join(f"{sql} AS {ident(name)}" for name, sql in columns.items())
    into = (
        f"INSERT INTO {ident(batch.pending)} BY NAME"
        if append
        else f"CREATE OR REPLACE TEMP TABLE {ident(batch.pending)} AS"
    )
    conn.execute(
        f"""{into} SELECT {ext_sql} AS ext, {key_sql} AS _key, {cols} FROM {source}
            WHERE {where}""",
        params or [],
    ).fetchall()


def sample_table(header: list[str], rows: list[tuple]) -> dg.MetadataValue:
    """A few per-record outcomes as a markdown table."""
    return dg.MetadataValue.md(
        "| "
        + " | ".join(header)
        + " |\n|"
        + "---|" * len(header)
        + "\n"
        + "\n".join("| " + " | ".join(str(v) for v in row) + " |" for row in rows)
    )


def finish(outcome: PushOutcome, metadata: dict[str, Any], hint: str = "") -> dg.MaterializeResult:
    """The asset's result; a failure when a Bulk job did not complete."""
    if outcome.failed_jobs:
        raise dg.Failure(
            description="Bulk job(s) did not complete: " + "; ".join(outcome.failed_jobs) + hint,
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)
