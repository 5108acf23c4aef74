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

import duckdb

from intercom_salesforce.assets.mirror.salesforce_objects import MIRROR_SPECS

PUSHED_NULL = "\x00null"  # a pushed NULL (cleared), told apart from "never pushed"
CONFLICTS = "sync.sync_conflicts"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _salesforce_value(mirrored: tuple[str, ...], field: str) -> str:
    """Salesforce's current value of ``field``: a mirrored column, else from ``_values``."""
    if field in mirrored:
        return f"sf.{_q(field)}::VARCHAR"
    return f"sf._values->>{_lit(field)}"


def stage_updates(
    conn: duckdb.DuckDBPyConnection,
    sobject: str,
    policies: dict[str, tuple[str, bool]],
    where: str,
    params: list,
    routed_owner: bool,
) -> list[str]:
    """``_decided``: the matched records (``where`` over ``_mapped``) with each field's value to
    diff (P when the policy sends it, else L) and ``_conflicts_now``: this run's conflicts.

    Returns the columns to send: every field except those Salesforce owns after create.
    """
    spec = next(s for s in MIRROR_SPECS if s.sobject == sobject)
    mirrored_at = conn.execute(
        "SELECT refreshed_at FROM mirror.high_water_marks WHERE sobject = ?", [sobject]
    ).fetchone()
    read_at = (
        f"'{mirrored_at[0].isoformat()}'::TIMESTAMPTZ"
        if mirrored_at and mirrored_at[0]
        else "NULL::TIMESTAMPTZ"
    )
    fields = list(policies)
    field_list = ", ".join(_lit(f) for f in fields)
    decided, conflicts, drifted = [], [], []
    for field, (policy, _clear) in policies.items():
        p = f"u.{_q(field)}::VARCHAR"
        raw = f"l.{_q(field + '_v')}"
        last = f"nullif({raw}, {_lit(PUSHED_NULL)})"
        has_last = f"({raw} IS NOT NULL)"
        # a push newer than the mirror's read (another run's, between this run's mirror and
        # push) is what Salesforce holds now: the mirrored value predates it, and is no edit
        stale = f"coalesce(l.{_q(field + '_at')} > {read_at}, FALSE)"
        s = f"CASE WHEN {stale} THEN {last} ELSE {_salesforce_value(spec.fields, field)} END"
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
        decided.append(f"CASE WHEN {send} THEN {p} ELSE {last} END AS {_q(field)}")
        if policy == "intercom":
            # edited in Salesforce only: Intercom owns the field, so its value is sent again
            drifted.append(
                f"""SELECT u._intercom_id AS ext, {_lit(field)} AS field
                    FROM _upd u JOIN _sf sf ON sf."Id" = u._sf_id
                    LEFT JOIN _last l ON l.external_id = u._intercom_id
                    WHERE {has_last} AND {p} IS NOT NULL AND NOT ({changed_here})
                      AND {changed_there} AND NOT sync.sf_same({p}, {s})"""
            )
            continue
        if field == "OwnerId" and routed_owner:
            continue
        conflicts.append(
            f"""SELECT u._intercom_id AS ext, u._sf_id AS sf_id, {_lit(field)} AS field,
                       'both_changed' AS kind, {_lit(policy)} AS rule, {p} AS intercom_value,
                       {s} AS salesforce_value, {last} AS last_synced_value,
                       u._intercom_updated_at AS intercom_updated_at,
                       sf."LastModifiedDate" AS salesforce_modified_at,
                       l.{_q(field + "_at")} AS last_synced_at
                FROM _upd u JOIN _sf sf ON sf."Id" = u._sf_id
                LEFT JOIN _last l ON l.external_id = u._intercom_id
                WHERE {has_last} AND {changed_here} AND {changed_there} AND NOT ({send})
                  AND NOT sync.sf_same({p}, {s})"""
        )
    if routed_owner:
        conflicts.append(
            """SELECT u._intercom_id, u._sf_id, 'OwnerId', 'owner', u._routing_rule,
                       u."OwnerId", sf."OwnerId", NULL, u._intercom_updated_at,
                       sf."LastModifiedDate", NULL::TIMESTAMPTZ
                FROM _upd u JOIN _sf sf ON sf."Id" = u._sf_id
                WHERE u."OwnerId" IS NOT NULL AND u."OwnerId" IS DISTINCT FROM sf."OwnerId" """
        )
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _upd AS SELECT * FROM _mapped WHERE {where}", params
    ).fetchall()
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _last AS
            SELECT * FROM (
                PIVOT (SELECT external_id, field, coalesce(value, {_lit(PUSHED_NULL)}) AS value,
                              pushed_at
                       FROM sync.field_state WHERE sobject = ? AND field IN ({field_list})
                         AND external_id IN (SELECT _intercom_id FROM _upd))
                ON field IN ({field_list}) USING first(value) AS v, max(pushed_at) AS at
                GROUP BY external_id)""",
        [sobject],
    ).fetchall()
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _sf AS SELECT * FROM {spec.table}
            WHERE "Id" IN (SELECT _sf_id FROM _upd)"""
    ).fetchall()
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _decided AS
            SELECT u.* EXCLUDE ({", ".join(_q(f) for f in fields)}), {", ".join(decided)}
            FROM _upd u LEFT JOIN _sf sf ON sf."Id" = u._sf_id
            LEFT JOIN _last l ON l.external_id = u._intercom_id"""
    ).fetchall()
    empty = (
        "SELECT NULL::VARCHAR AS ext, NULL::VARCHAR AS sf_id, NULL::VARCHAR AS field, "
        "NULL::VARCHAR AS kind, NULL::VARCHAR AS rule, NULL::VARCHAR AS intercom_value, "
        "NULL::VARCHAR AS salesforce_value, NULL::VARCHAR AS last_synced_value, "
        "NULL::TIMESTAMPTZ AS intercom_updated_at, NULL::TIMESTAMPTZ AS salesforce_modified_at, "
        "NULL::TIMESTAMPTZ AS last_synced_at WHERE FALSE"
    )
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE _conflicts_now AS "
        + "\nUNION ALL\n".join([empty, *conflicts])
    ).fetchall()
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE _drifted AS "
        + "\nUNION ALL\n".join(
            ["SELECT NULL::VARCHAR AS ext, NULL::VARCHAR AS field WHERE FALSE", *drifted]
        )
    ).fetchall()
    return [f for f, (policy, _c) in policies.items() if policy != "salesforce"]


def forget_drifted(conn: duckdb.DuckDBPyConnection, sobject: str) -> int:
    """Forget the pushed state of ``intercom`` fields someone changed in Salesforce, so the diff
    sends Intercom's value again; returns how many fields that is."""
    conn.execute(
        """DELETE FROM sync.field_state f USING _drifted d
           WHERE f.sobject = ? AND f.external_id = d.ext AND f.field = d.field""",
        [sobject],
    ).fetchall()
    return conn.execute("SELECT count(*) FROM _drifted").fetchall()[0][0]


def record_conflicts(conn: duckdb.DuckDBPyConnection, sobject: str, run_id: str) -> tuple[int, int]:
    """Upsert this run's conflicts; resolve earlier ones of the same records that are gone.

    Returns (conflicts seen in this run, of which new: not already open).
    """
    new = conn.execute(
        f"""SELECT count(*) FROM _conflicts_now n WHERE NOT EXISTS (
                SELECT 1 FROM {CONFLICTS} c WHERE c.sobject = ? AND c.external_id = n.ext
                AND c.field = n.field AND c.resolved_at IS NULL)""",
        [sobject],
    ).fetchall()[0][0]
    conn.execute(
        f"""INSERT INTO {CONFLICTS}
            SELECT ?, ext, sf_id, field, kind, rule, intercom_value, salesforce_value,
                   last_synced_value, intercom_updated_at, salesforce_modified_at,
                   last_synced_at, now(), now(), NULL, ?
            FROM _conflicts_now
            ON CONFLICT (sobject, external_id, field) DO UPDATE SET
                sf_id = excluded.sf_id, kind = excluded.kind, rule = excluded.rule,
                intercom_value = excluded.intercom_value,
                salesforce_value = excluded.salesforce_value,
                last_synced_value = excluded.last_synced_value,
                intercom_updated_at = excluded.intercom_updated_at,
                salesforce_modified_at = excluded.salesforce_modified_at,
                last_synced_at = excluded.last_synced_at,
                last_seen_at = now(), resolved_at = NULL, run_id = excluded.run_id""",
        [sobject, run_id],
    ).fetchall()
    conn.execute(
        f"""UPDATE {CONFLICTS} c SET resolved_at = now()
            WHERE c.sobject = ? AND c.resolved_at IS NULL
              AND c.external_id IN (SELECT _intercom_id FROM _upd)
              AND NOT EXISTS (SELECT 1 FROM _conflicts_now n
                              WHERE n.ext = c.external_id AND n.field = c.field)""",
        [sobject],
    ).fetchall()
    return conn.execute("SELECT count(*) FROM _conflicts_now").fetchall()[0][0], new
