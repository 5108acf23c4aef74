"""A person's choice for an ambiguous match: which Salesforce record survives.

``choose_survivor`` checks the choice against the review item and the mirror, keeps it in
``match.manual_matches`` (a later choice for the same person replaces it) and marks the item
``fixed``. The next run matches the person to that record (rule ``manual``, see match_people.sql)
and the push updates it by Id, stamping our external id on it, so later runs match it by
``external_id``. Nothing is merged or deleted in Salesforce: the other candidates stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from intercom_salesforce.assets.match.people import AMBIGUOUS_RULE
from intercom_salesforce.assets.quality.review_queue import set_status
from intercom_salesforce.warehouse import MIRROR_CONTACTS, MIRROR_LEADS, read_sql

SQL = Path(__file__).parent / "sql"
PEOPLE_ENTITY = "intercom_contacts"


class MergeRefused(ValueError):
    """The choice cannot be taken; the message says why."""


@dataclass(frozen=True)
class ManualMatch:
    intercom_contact_id: str
    sf_object: str  # Contact | Lead
    sf_id: str
    chosen_by: str | None
    note: str | None
    chosen_at: datetime
    review_item_id: int
    candidates: tuple[str, ...]
    converted_from: str | None = None  # the converted Lead given as the survivor
    forced: bool = False  # the survivor was not one of the candidates

    @property
    def target(self) -> str:
        return f"{self.sf_object}:{self.sf_id}"


def find_record(conn: duckdb.DuckDBPyConnection, sf_id: str) -> tuple[str, str, str | None] | None:
    """``(object, id, converted contact id)`` of a mirrored Contact or Lead, else None.

    A 15-character id (as shown in Salesforce URLs) finds its 18-character form.
    """
    rows = conn.execute(read_sql("find_record.sql", SQL), [sf_id]).fetchall()
    return rows[0] if len(rows) == 1 else None


def claimed_by_others(
    conn: duckdb.DuckDBPyConnection, person: str, sf_object: str, sf_id: str
) -> list[str]:
    """Other Intercom people the record is kept for: by our external id on it, or a choice."""
    rows = conn.execute(read_sql("claimed_by.sql", SQL), [sf_object, sf_id]).fetchall()
    return sorted({r[0] for r in rows if r[0] and r[0] != person})


def choose_survivor(
    conn: duckdb.DuckDBPyConnection,
    item_id: int,
    survivor: str,
    chosen_by: str | None = None,
    note: str | None = None,
    force: bool = False,
) -> ManualMatch:
    """Keep ``survivor`` (a Salesforce Id, or ``Contact:Id`` / ``Lead:Id`` as the candidates are
    written) as the match of review item ``item_id``'s person, and mark the item fixed.

    Raises ``MergeRefused`` when the item is missing or not an ambiguous match, when the survivor
    is not mirrored, or when it is not one of the item's candidates (unless ``force``).
    """
    row = conn.execute(read_sql("review_item.sql", SQL), [item_id]).fetchone()
    if row is None:
        raise MergeRefused(f"no review item {item_id}")
    entity, person, rule, candidates = row
    if entity != PEOPLE_ENTITY or rule != AMBIGUOUS_RULE:
        raise MergeRefused(
            f"review item {item_id} is {entity} / {rule}, not an {AMBIGUOUS_RULE} item of "
            f"{PEOPLE_ENTITY}: only ambiguous person matches can be merged"
        )
    candidates = tuple(candidates or ())
    given = survivor.strip()
    given_object, _, given_id = given.rpartition(":")
    found = find_record(conn, given_id)
    if found is None or (given_object and given_object != found[0]):
        raise MergeRefused(
            f"{given} is not a Contact or Lead in the Salesforce mirror "
            f"({MIRROR_CONTACTS}, {MIRROR_LEADS}); check the id, or let a run refresh the mirror"
        )
    sf_object, sf_id, converted_to = found
    converted_from = None
    if converted_to:  # a converted Lead is its Contact now, as matching resolves it
        converted_from, sf_object, sf_id = sf_id, "Contact", converted_to
    target = f"{sf_object}:{sf_id}"
    chosen = {target, f"Lead:{converted_from}"} if converted_from else {target}
    forced = not chosen & set(candidates)
    if forced and not force:
        raise MergeRefused(
            f"{given} is not one of the candidates of review item {item_id} "
            f"({', '.join(candidates) or 'none'}); pass --force to choose it anyway"
        )
    others = claimed_by_others(conn, person, sf_object, sf_id)
    if others and not force:
        raise MergeRefused(
            f"{target} is already kept for Intercom person {', '.join(others)}; choosing it for "
            f"{person} too would move our external id between them. Pass --force to choose it "
            "anyway"
        )
    now = datetime.now(UTC)
    conn.execute("BEGIN")
    try:
        conn.execute(
            read_sql("save_manual_match.sql", SQL),
            [person, sf_object, sf_id, chosen_by, note, now, item_id],
        ).fetchall()
        item_note = f"merged: survivor {target}" + (
            f" (converted Lead {converted_from})" if converted_from else ""
        )
        item_note += f", chosen by {chosen_by}" if chosen_by else ""
        item_note += f": {note}" if note else ""
        set_status(conn, item_id, "fixed", item_note)
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    return ManualMatch(
        intercom_contact_id=person,
        sf_object=sf_object,
        sf_id=sf_id,
        chosen_by=chosen_by,
        note=note,
        chosen_at=now,
        review_item_id=item_id,
        candidates=candidates,
        converted_from=converted_from,
        forced=forced,
    )
