"""A dry run's plan: what a push would write to Salesforce, recorded instead of sent.

A run tagged ``intercom_salesforce/dry_run=true`` runs every step up to the push (extract, checks,
match, mirror, mapping, source of truth, field diff) and then writes nothing to Salesforce: no
Bulk job is created. The push asset runs its usual statements inside one DuckDB transaction that
is rolled back (``planning``), so the diff sees exactly what the real push would see (a drifted
field forgotten, a record just queued for review), yet ``sync.field_state``, ``sync.sync_state``,
``sync.sync_results``, ``sync.sync_conflicts``, ``sync.routing_decisions`` and the review queue
are left as they were.

While the transaction is open, each step adds its records to the plan's temp table:

* ``add_batch`` after ``field_diff.prepare_changes``: every pending record is ``create``,
  ``update`` (with its changed fields, old -> new) or ``unchanged``;
* ``add_conflicts`` after the source-of-truth decisions: fields left alone, Salesforce's value
  and Intercom's;
* ``add_reviews`` / ``add_waiting``: records held back (review) or waiting for their person.

Before the rollback the plan is copied to a Parquet file under the run's work folder; after it,
that file is loaded into ``sync.plans`` and exported as one CSV per object.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

from intercom_salesforce.assets.mirror.salesforce_objects import MIRROR_SPECS
from intercom_salesforce.assets.push.batch import PushBatch
from intercom_salesforce.assets.push.recovery import SETTLED
from intercom_salesforce.warehouse import ident, literal, read_sql

SQL = Path(__file__).parent / "sql"
DRY_RUN_TAG = "intercom_salesforce/dry_run"
PLANS = "sync.plans"
ACTIONS = ("create", "update", "unchanged", "review", "conflict", "waiting")
SAMPLE_ROWS = 12

_serial = itertools.count(1)


def is_dry_run(tags: Mapping[str, str]) -> bool:
    """Whether a run's tags ask for a plan instead of a push."""
    return tags.get(DRY_RUN_TAG, "").strip().lower() == "true"


def _old_value_sql(sobject: str, fields: list[str]) -> tuple[str, str]:
    """Where a changed field's value before comes from, and the join that brings it: the
    mirrored Salesforce record when the object's mirror reads the mapped fields, else the
    value last pushed (``sync.field_state``, joined as ``fs``)."""
    spec = next((s for s in MIRROR_SPECS if s.sobject == sobject and s.mapped), None)
    if spec is None:
        return "fs.value", ""
    columns = [f for f in fields if f in spec.fields]
    cases = "".join(
        f" WHEN {literal(f)} THEN sf.{ident(f)}::VARCHAR" for f in columns
    )  # mirrored columns first, as the source-of-truth rules read them
    value = (
        f"CASE c.field{cases} ELSE sf._values->>c.field END" if cases else "sf._values->>c.field"
    )
    return (
        f'CASE WHEN sf."Id" IS NOT NULL THEN {value} ELSE fs.value END',
        f'LEFT JOIN {spec.table} sf ON sf."Id" = r.sf_id',
    )


@dataclass(frozen=True)
class PlanLog:
    """The plan of one push asset: its temp table (unique per plan, like a batch's relations)
    and the folder its Parquet hand-off and CSV files go to."""

    run_id: str
    folder: Path
    prefix: str = field(default_factory=lambda: f"_plan_{next(_serial)}")

    @property
    def table(self) -> str:
        return f"{self.prefix}_records"

    @property
    def parquet(self) -> Path:
        return self.folder / "plan.parquet"

    def create(self, conn: duckdb.DuckDBPyConnection) -> None:
        conn.execute(read_sql("create_plan.sql", SQL).format(plan=ident(self.table))).fetchall()

    def add_batch(self, conn: duckdb.DuckDBPyConnection, batch: PushBatch) -> None:
        """A diffed batch (``pending`` and ``changes``): created, updated or unchanged records."""
        old, join = _old_value_sql(batch.sobject, batch.fields)
        key_id = "p._key" if batch.key_field == "Id" else "NULL::VARCHAR"
        conn.execute(
            read_sql("plan_batch.sql", SQL).format(
                plan=ident(self.table),
                pending=ident(batch.pending),
                changes=ident(batch.changes),
                key_id=key_id,
                old=old,
                mirror_join=join,
            ),
            [batch.sobject],
        ).fetchall()

    def add_conflicts(self, conn: duckdb.DuckDBPyConnection, sobject: str, conflicts: str) -> None:
        """The fields the source-of-truth rules leave alone (``Decisions.conflicts``)."""
        conn.execute(
            read_sql("plan_conflicts.sql", SQL).format(
                plan=ident(self.table), conflicts=ident(conflicts)
            ),
            [sobject],
        ).fetchall()

    def add_reviews(
        self,
        conn: duckdb.DuckDBPyConnection,
        mapped: str,
        sobject: str,
        update_rules: tuple[str, ...],
        entity: str,
        blocking: list[str],
        not_blocking: str,
    ) -> None:
        """Records of ``sobject`` in the mapped relation that review holds back: a mapped value
        the org refuses, or an item waiting in the queue (after this run's own items)."""
        conn.execute(
            read_sql("plan_reviews.sql", SQL).format(plan=ident(self.table), mapped=ident(mapped)),
            [sobject, list(update_rules), entity, blocking, not_blocking],
        ).fetchall()

    def add_waiting(self, conn: duckdb.DuckDBPyConnection, sobject: str, source: str) -> None:
        """Conversations whose person is not in Salesforce yet: nothing is written for them."""
        conn.execute(
            f"""INSERT INTO {ident(self.table)}
                SELECT ?, conversation_id, NULL, 'waiting', NULL,
                       'the person is not in Salesforce yet'
                FROM {source} WHERE _pending""",
            [sobject],
        ).fetchall()

    def keep(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Copy the plan out of the transaction that is about to be rolled back."""
        conn.execute(
            f"COPY {ident(self.table)} TO {literal(str(self.parquet))} (FORMAT parquet)"
        ).fetchall()

    def save(self, conn: duckdb.DuckDBPyConnection) -> None:
        """The kept plan into ``sync.plans`` (replacing a retried step's rows of this run)."""
        if not self.parquet.exists():
            return
        params = [self.run_id, str(self.parquet)]
        conn.execute(read_sql("delete_plan.sql", SQL), params).fetchall()
        conn.execute(read_sql("save_plan.sql", SQL), params).fetchall()


@contextmanager
def planning(conn: duckdb.DuckDBPyConnection, plan: PlanLog) -> Iterator[PlanLog]:
    """Run the push's statements against the warehouse and undo them all: the plan is kept
    (Parquet, then ``sync.plans``), every table the push would move is left as it was."""
    conn.execute("BEGIN TRANSACTION")
    try:
        plan.create(conn)
        yield plan
        plan.keep(conn)
    finally:
        conn.execute("ROLLBACK")
    plan.save(conn)


def plan_counts(conn: duckdb.DuckDBPyConnection, run_id: str, sobject: str) -> dict[str, int]:
    """Records per action (every action listed), and the fields the updates change."""
    rows = conn.execute(
        f"""SELECT action, count(*), coalesce(sum(len(changes)), 0) FROM {PLANS}
            WHERE run_id = ? AND sobject = ? GROUP BY action""",
        [run_id, sobject],
    ).fetchall()
    counts = dict.fromkeys(ACTIONS, 0) | {action: n for action, n, _fields in rows}
    counts["fields_changed"] = sum(f for action, _n, f in rows if action in ("create", "update"))
    return counts


def export_csv(conn: duckdb.DuckDBPyConnection, run_id: str, sobject: str, folder: Path) -> Path:
    """The object's plan as ``<folder>/plan-<sObject>.csv``, one line per record and action."""
    path = folder / f"plan-{sobject}.csv"
    conn.execute(
        f"COPY ({read_sql('select_plan_rows.sql', SQL)}) TO {literal(str(path))} (HEADER)",
        [run_id, sobject],
    ).fetchall()
    return path


def plan_sample(conn: duckdb.DuckDBPyConnection, run_id: str, sobject: str) -> dg.MetadataValue:
    """A few records of each action as a Markdown table (cells stripped of ``|`` and breaks)."""
    rows = conn.execute(read_sql("select_plan_sample.sql", SQL), [run_id, sobject, 3]).fetchall()
    header = ["action", "intercom id", "sf id", "fields (old → new)", "detail"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(str(v) for v in row) + " |" for row in rows[:SAMPLE_ROWS]),
    ]
    return dg.MetadataValue.md("\n".join(lines))


def plan_metadata(
    conn: duckdb.DuckDBPyConnection, plan: PlanLog, sobject: str, mode: str
) -> dict[str, object]:
    """The dry run's materialization metadata: counts per action, the CSV, a sample table.
    Values are record ids and mapped field values, never credentials."""
    counts = plan_counts(conn, plan.run_id, sobject)
    csv = export_csv(conn, plan.run_id, sobject, plan.folder)
    open_jobs = len(
        conn.execute(read_sql("select_open_jobs.sql", SQL), [sobject, list(SETTLED)]).fetchall()
    )
    return {
        "dry_run": True,
        "mode": mode,
        "sobject": sobject,
        **{f"plan_{name}": n for name, n in counts.items()},
        # a real run first collects these (recovery); a plan leaves them to it
        "bulk_jobs_awaiting_recovery": open_jobs,
        "plan_csv": dg.MetadataValue.path(str(csv)),
        "plan_table": f"{PLANS} (run_id, sobject)",
        "sample": plan_sample(conn, plan.run_id, sobject),
    }
