"""Each field's source of truth on updates of matched records, and the conflicts it leaves alone.

Three values meet per record and field: Intercom's mapped value (P), what we last pushed (L, from
``sync.field_state``) and Salesforce's current value (S, from the mirror, which reads every mapped
field), with both sides' record timestamps (Intercom ``updated_at``, Salesforce
``LastModifiedDate``). A field is sent when its policy says so:

* ``intercom``: whenever P differs from L (the usual diff), and again when someone changed the
  field in Salesforce only (S differs from both): Intercom owns it, so Salesforce's edit is
  overwritten (counted as ``salesforce_edits_overwritten``);
* ``salesforce``: never after the record exists (routing fields too: assignment happens once);
* ``fill_blank``: when S is blank;
* ``newest``: after a sync, when Intercom changed the field (P differs from L) and Salesforce did
  not (S equals L); before any sync, when S is blank or Intercom's record is the newer one.

A field that is not sent is pinned to L, so the diff sees no change and the CSV cell stays empty.
Salesforce's value is taken as L when the field was pushed after the mirror read the org (by
another run, between this run's mirror and its push), so a stale mirror is never an "edit".
When such a field changed on both sides since the last sync, to different values, a row goes to
``sync.sync_conflicts`` with both values, both timestamps and the rule; so does a record whose
Salesforce owner differs from the owner the routing rules choose. Later runs update the row, and
mark it resolved once the two sides agree again. Everything here is SQL over the run's temp tables.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from intercom_salesforce.assets.mirror.salesforce_objects import MIRROR_SPECS
from intercom_salesforce.warehouse import ident, literal, read_sql, upsert_conflicts

SQL = Path(__file__).parent / "sql"
PUSHED_NULL = "\x00null"  # a pushed NULL (cleared), told apart from "never pushed"
CONFLICTS = "sync.sync_conflicts"

_serial = itertools.count(1)


@dataclass(frozen=True)
class Decisions:
    """The relations of one object's update decisions, unique per call.

    ``matched``: the matched records (from the mapped relation); ``last``: what was last pushed,
    per field; ``salesforce``: their mirrored Salesforce rows; ``decided``: ``matched`` with each
    field's value to diff; ``conflicts``: this run's conflicts; ``drifted``: ``intercom`` fields
    edited in Salesforce only. ``columns``: the fields to send.
    """

    sobject: str
    columns: list[str] = field(default_factory=list)
    prefix: str = field(default_factory=lambda: f"_truth_{next(_serial)}")

    def table(self, step: str) -> str:
        return f"{self.prefix}_{self.sobject.lower()}_{step}"

    @property
    def matched(self) -> str:
        return self.table("matched")

    @property
    def last(self) -> str:
        return self.table("last")

    @property
    def salesforce(self) -> str:
        return self.table("salesforce")

    @property
    def decided(self) -> str:
        return self.table("decided")

    @property
    def conflicts(self) -> str:
        return self.table("conflicts")

    @property
    def drifted(self) -> str:
        return self.table("drifted")

    def drop(self, conn: duckdb.DuckDBPyConnection) -> None:
        for step in ("matched", "last", "salesforce", "decided", "conflicts", "drifted"):
            conn.execute(f"DROP TABLE IF EXISTS {ident(self.table(step))}").fetchall()


def _salesforce_value(mirrored: tuple[str, ...], field: str) -> str:
    """Salesforce's current value of ``field``: a mirrored column, else from ``_values``."""
    if field in mirrored:
        return f"sf.{ident(field)}::VARCHAR"
    return f"sf._values->>{literal(field)}"


def _joined(d: Decisions) -> str:
    """The matched records with their Salesforce row and what was last pushed."""
    return (
        f'FROM {ident(d.matched)} u JOIN {ident(d.salesforce)} sf ON sf."Id" = u._sf_id '
        f"LEFT JOIN {ident(d.last)} l ON l.external_id = u._intercom_id"
    )


def _field_sql(
    d: Decisions, field: str, policy: str, mirrored: tuple[str, ...], read_at: str, owner: bool
) -> tuple[str, str | None, str | None]:
    """One field's value to diff, and the struct of its conflict or of its drift (or None):
    NULL on a record without one, so a single scan of the join finds every field's."""
    p = f"u.{ident(field)}::VARCHAR"
    raw = f"l.{ident(field + '_v')}"
    last = f"nullif({raw}, {literal(PUSHED_NULL)})"
    has_last = f"({raw} IS NOT NULL)"
    # a push newer than the mirror's read (another run's, between this run's mirror and
    # push) is what Salesforce holds now: the mirrored value predates it, and is no edit
    stale = f"coalesce(l.{ident(field + '_at')} > {read_at}, FALSE)"
    s = f"CASE WHEN {stale} THEN {last} ELSE {_salesforce_value(mirrored, field)} END"
    blank = f"(coalesce({s}, '') = '')"
    changed_here = f"NOT sync.sf_same({p}, {last})"
    changed_there = f"NOT sync.sf_same({s}, {last})"
    send = {
        "intercom": "TRUE",
        "salesforce": "FALSE",
        "fill_blank": blank,
        "newest": (
            f"CASE WHEN {has_last} THEN {changed_here} AND NOT ({changed_there}) "
            f'ELSE {blank} OR u._intercom_updated_at > sf."LastModifiedDate" END'
        ),
    }[policy]
    decided = f"CASE WHEN {send} THEN {p} ELSE {last} END AS {ident(field)}"
    if policy == "intercom":
        # edited in Salesforce only: Intercom owns the field, so its value is sent again
        drifted = f"""CASE WHEN {has_last} AND {p} IS NOT NULL AND NOT ({changed_here})
                  AND {changed_there} AND NOT sync.sf_same({p}, {s})
                THEN {{'ext': u._intercom_id::VARCHAR, 'field': {literal(field)}}} END"""
        return decided, None, drifted
    if field == "OwnerId" and owner:
        return decided, None, None
    conflict = f"""CASE WHEN {has_last} AND {changed_here} AND {changed_there} AND NOT ({send})
              AND NOT sync.sf_same({p}, {s})
            THEN {{'ext': u._intercom_id::VARCHAR, 'sf_id': u._sf_id::VARCHAR,
                  'field': {literal(field)}, 'kind': 'both_changed', 'rule': {literal(policy)},
                  'intercom_value': {p}, 'salesforce_value': ({s})::VARCHAR,
                  'last_synced_value': ({last})::VARCHAR,
                  'intercom_updated_at': u._intercom_updated_at::TIMESTAMPTZ,
                  'salesforce_modified_at': sf."LastModifiedDate"::TIMESTAMPTZ,
                  'last_synced_at': l.{ident(field + "_at")}::TIMESTAMPTZ}} END"""
    return decided, conflict, None


def _one_scan(d: Decisions, cases: list[str]) -> list[str]:
    """The rows of every non-NULL struct of ``cases``, from one scan of the join (rather than
    one join per field), as a list of at most one query."""
    if not cases:
        return []
    return [
        f"SELECT unnest(c) FROM (SELECT unnest([{', '.join(cases)}]) AS c {_joined(d)}) "
        "WHERE c IS NOT NULL"
    ]


def _mirror_read_at(conn: duckdb.DuckDBPyConnection, sobject: str) -> str:
    """When the mirror last read the org, as a SQL literal."""
    mirrored_at = conn.execute(
        "SELECT refreshed_at FROM mirror.high_water_marks WHERE sobject = ?", [sobject]
    ).fetchone()
    if mirrored_at and mirrored_at[0]:
        return f"'{mirrored_at[0].isoformat()}'::TIMESTAMPTZ"
    return "NULL::TIMESTAMPTZ"


def _union(conn: duckdb.DuckDBPyConnection, table: str, empty: str, queries: list[str]) -> None:
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {ident(table)} AS " + "\nUNION ALL\n".join([empty, *queries])
    ).fetchall()


def stage_updates(
    conn: duckdb.DuckDBPyConnection,
    mapped: str,
    sobject: str,
    policies: dict[str, tuple[str, bool]],
    where: str,
    params: list,
    routed_owner: bool,
) -> Decisions:
    """The matched records (``where`` over the table ``mapped``) -> ``decided``: each field's
    value to diff (P when the policy sends it, else L), ``conflicts``: this run's conflicts and
    ``drifted``; the returned ``Decisions`` names them and lists the columns to send: every
    field except those Salesforce owns after create.
    """
    spec = next(s for s in MIRROR_SPECS if s.sobject == sobject)
    d = Decisions(sobject, [f for f, (policy, _c) in policies.items() if policy != "salesforce"])
    read_at = _mirror_read_at(conn, sobject)
    fields = list(policies)
    decided, conflicts, drifted = [], [], []
    for field_name, (policy, _clear) in policies.items():
        value, conflict, drift = _field_sql(
            d, field_name, policy, spec.fields, read_at, routed_owner
        )
        decided.append(value)
        conflicts += [conflict] if conflict else []
        drifted += [drift] if drift else []
    conflicts = _one_scan(d, conflicts)
    if routed_owner:
        conflicts.append(read_sql("select_owner_conflicts.sql", SQL).format(joined=_joined(d)))
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {ident(d.matched)} AS "
        + read_sql("select_matched.sql", SQL).format(mapped=ident(mapped), where=where),
        params,
    ).fetchall()
    field_list = ", ".join(literal(f) for f in fields)
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {ident(d.last)} AS "
        + read_sql("select_last_pushed.sql", SQL).format(
            pushed_null=literal(PUSHED_NULL), fields=field_list, matched=ident(d.matched)
        ),
        [sobject],
    ).fetchall()
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE {ident(d.salesforce)} AS SELECT * FROM {spec.table}
            WHERE "Id" IN (SELECT _sf_id FROM {ident(d.matched)})"""
    ).fetchall()
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE {ident(d.decided)} AS
            SELECT u.* EXCLUDE ({", ".join(ident(f) for f in fields)}), {", ".join(decided)}
            FROM {ident(d.matched)} u LEFT JOIN {ident(d.salesforce)} sf ON sf."Id" = u._sf_id
            LEFT JOIN {ident(d.last)} l ON l.external_id = u._intercom_id"""
    ).fetchall()
    _union(conn, d.conflicts, read_sql("empty_conflicts.sql", SQL), conflicts)
    _union(
        conn,
        d.drifted,
        "SELECT NULL::VARCHAR AS ext, NULL::VARCHAR AS field WHERE FALSE",
        _one_scan(d, drifted),
    )
    return d


def forget_drifted(conn: duckdb.DuckDBPyConnection, d: Decisions) -> int:
    """Forget the pushed state of ``intercom`` fields someone changed in Salesforce, so the diff
    sends Intercom's value again; returns how many fields that is."""
    conn.execute(
        f"""DELETE FROM sync.field_state f USING {ident(d.drifted)} d
           WHERE f.sobject = ? AND f.external_id = d.ext AND f.field = d.field""",
        [d.sobject],
    ).fetchall()
    return conn.execute(f"SELECT count(*) FROM {ident(d.drifted)}").fetchall()[0][0]


def record_conflicts(conn: duckdb.DuckDBPyConnection, d: Decisions, run_id: str) -> tuple[int, int]:
    """Upsert this run's conflicts; resolve earlier ones of the same records that are gone.

    Returns (conflicts seen in this run, of which new: not already open).
    """
    tables = {"conflicts": ident(d.conflicts), "matched": ident(d.matched)}
    new = conn.execute(
        read_sql("count_new_conflicts.sql", SQL).format(**tables), [d.sobject]
    ).fetchall()[0][0]
    rows = read_sql("conflict_rows.sql", SQL).format(
        sobject=literal(d.sobject), conflicts=tables["conflicts"]
    )
    upsert_conflicts(conn, rows, run_id)
    conn.execute(read_sql("resolve_conflicts.sql", SQL).format(**tables), [d.sobject]).fetchall()
    return conn.execute(f"SELECT count(*) FROM {ident(d.conflicts)}").fetchall()[0][0], new
