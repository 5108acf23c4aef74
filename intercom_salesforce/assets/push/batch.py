"""One push batch: the records of one Bulk operation on one sObject, and the relations it owns.

Every step of a push reads and writes named DuckDB tables. A ``PushBatch`` owns their names
(unique per batch, so two batches of one run, or of one connection, never overwrite each other's
tables) and knows what Salesforce is asked to do with them: the sObject, the operation and the
key column that identifies a record in the CSV and in the result files.

The relations, in the order a record passes through them:

``pending``      ext, _key, one VARCHAR column per field: what the caller wants Salesforce to hold
``changes``      ext, field, value: the fields that differ from what was last pushed
``send``         the key column, the changed cells (empty: unchanged, ``#N/A``: cleared), ext
``upload``       the rows of ``send`` this attempt uploads (all, then the transient failures)
``files``        ``upload`` with the CSV file each row goes to
``ok`` / ``failed`` / ``unprocessed``: the three result files of a job, each with ``ext``
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

import duckdb

from intercom_salesforce.warehouse import ident

# ``update`` exists in Bulk API 2.0 too; updates of matched records are sent as upserts keyed on
# ``Id`` (the same write, and the result files say created/updated the same way)
Operation = Literal["upsert", "insert", "update"]
CLEAR = "#N/A"  # the Bulk API 2.0 cell that clears a field

_serial = itertools.count(1)


@dataclass(frozen=True)
class PushBatch:
    """The records of one Bulk operation: ``key_field`` is the upsert key (our external id, or
    ``Id`` for matched records) or, for an insert, a column unique per record that the result
    files echo back (a Note's Title)."""

    sobject: str
    key_field: str
    columns: tuple[str, ...]
    operation: Operation = "upsert"
    clearable: frozenset[str] | None = None  # None: every field may be cleared
    review_entity: str = ""
    prefix: str = field(default_factory=lambda: f"_push_{next(_serial)}")

    def table(self, step: str) -> str:
        """The name of this batch's relation ``step``."""
        return f"{self.prefix}_{self.sobject.lower()}_{step}"

    @property
    def pending(self) -> str:
        return self.table("pending")

    @property
    def changes(self) -> str:
        return self.table("changes")

    @property
    def send(self) -> str:
        return self.table("send")

    @property
    def upload(self) -> str:
        return self.table("upload")

    @property
    def ok(self) -> str:
        return self.table("ok")

    @property
    def failed(self) -> str:
        return self.table("failed")

    @property
    def unprocessed(self) -> str:
        return self.table("unprocessed")

    @property
    def fields(self) -> list[str]:
        """The Salesforce fields sent besides the key."""
        return [c for c in self.columns if c != self.key_field]

    @property
    def external_id_field(self) -> str | None:
        """What Salesforce is told to upsert on (inserts and updates name none)."""
        return self.key_field if self.operation == "upsert" else None

    def tables(self) -> dict[str, str]:
        """Quoted names, for the ``.sql`` templates of the steps."""
        steps = ("pending", "changes", "send", "upload", "ok", "failed", "unprocessed")
        return {step: ident(self.table(step)) for step in steps} | {"key": ident(self.key_field)}

    def drop(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Free the batch's tables once its results are recorded."""
        steps = ("pending", "changes", "send", "upload", "ok", "failed", "unprocessed", "retry")
        for step in steps:
            conn.execute(f"DROP TABLE IF EXISTS {ident(self.table(step))}").fetchall()
            conn.execute(f"DROP TABLE IF EXISTS {ident(self.table(step) + '_files')}").fetchall()


@dataclass
class PushOutcome:
    """What one or more batches did: the figures of a push asset's metadata."""

    considered: int = 0
    unchanged: int = 0
    sent: int = 0
    fields_sent: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    unprocessed: int = 0
    retried: int = 0
    sent_to_review: int = 0
    conflicts: int = 0  # fields left alone in this run (still open or new)
    conflicts_new: int = 0
    salesforce_edits_overwritten: int = 0
    bytes_uploaded: int = 0
    job_ids: list[str] = field(default_factory=list)
    failed_jobs: list[str] = field(default_factory=list)
    errors_by_code: dict[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict:
        return {
            "considered": self.considered,
            "unchanged": self.unchanged,
            "sent": self.sent,
            "fields_sent": self.fields_sent,
            "created": self.created,
            "updated": self.updated,
            "failed": self.failed,
            "unprocessed": self.unprocessed,
            "retried": self.retried,
            "sent_to_review": self.sent_to_review,
            "conflicts": self.conflicts,
            "conflicts_new": self.conflicts_new,
            "salesforce_edits_overwritten": self.salesforce_edits_overwritten,
            "bytes_uploaded": self.bytes_uploaded,
            "bulk_job_ids": ", ".join(self.job_ids) or "none",
        }


def merge_outcomes(*outcomes: PushOutcome) -> PushOutcome:
    """The figures of several batches as one: counts add up, lists and code counts join."""
    total = PushOutcome()
    for o in outcomes:
        for name, value in vars(o).items():
            current = getattr(total, name)
            if isinstance(value, int):
                setattr(total, name, current + value)
            elif isinstance(value, list):
                current.extend(value)
            elif isinstance(value, dict):
                for k, v in value.items():
                    current[k] = current.get(k, 0) + v
    return total
