"""Which people's data events are worth a call: the mapping's event rules against each person's
newest match, in SQL over a real warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

from intercom_salesforce.assets.extract.consumers import event_objects, events_needed_sql
from intercom_salesforce.mapping import load_mapping
from intercom_salesforce.warehouse import ensure_warehouse

SANDBOX_MAPPING = Path(__file__).resolve().parents[2] / "mappings" / "sandbox.yaml"


def mapping_with_events(tmp_path: Path, events: dict):
    raw = yaml.safe_load(SANDBOX_MAPPING.read_text())
    raw["lifecycle"]["events"] = events
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_mapping(path)


def people_needed(
    tmp_path: Path, needed: str, matches: list[tuple], people: list[str]
) -> list[str]:
    """The ``people`` that condition ``needed`` keeps, on a warehouse holding ``matches``
    (id, partition day, rule, object), for a window of November 2026."""
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_warehouse(conn)
    conn.executemany(
        "INSERT INTO match.person_matches (intercom_contact_id, partition_date, rule, sf_object, "
        "matched_at) VALUES (?, ?, ?, ?, now())",
        matches,
    )
    got = conn.execute(
        f"SELECT p.id FROM unnest($3::VARCHAR[]) AS p(id) WHERE {needed} ORDER BY 1",
        ["2026-11-01", "2026-11-30", people],
    ).fetchall()
    return [r[0] for r in got]


def test_people_matched_for_certain_to_a_contact_or_with_no_email_are_spared(tmp_path):
    mapping = load_mapping(SANDBOX_MAPPING)  # requested-demo sets Lead.Status only
    assert event_objects(mapping) == {"Lead"}
    needed = events_needed_sql(mapping)
    assert needed is not None
    rows = [
        ("to_contact", "2026-11-02", "email", "Contact"),
        ("to_lead", "2026-11-02", "external_id", "Lead"),
        ("unmatched", "2026-11-02", "none", None),
        ("ambiguous", "2026-11-02", "ambiguous", None),
        ("no_email", "2026-11-02", "no_email", None),
        # no email on an earlier day, an email since: the newest match counts
        ("email_since", "2026-11-01", "no_email", None),
        ("email_since", "2026-11-02", "none", None),
        # matched to a Contact on an earlier day, to a Lead on the newest: the newest counts
        ("moved", "2026-11-01", "email", "Contact"),
        ("moved", "2026-11-03", "email", "Lead"),
        ("moved_back", "2026-11-01", "email", "Lead"),
        ("moved_back", "2026-11-03", "manual", "Contact"),
        # a match outside the window says nothing about it
        ("old_contact", "2026-10-01", "email", "Contact"),
    ]
    people = sorted({r[0] for r in rows} | {"never_matched"})
    assert people_needed(tmp_path, needed, rows, people) == [
        "ambiguous",
        "email_since",
        "moved",
        "never_matched",
        "old_contact",
        "to_lead",
        "unmatched",
    ]


def test_only_people_with_no_email_are_spared_when_every_person_object_follows_events(tmp_path):
    both = mapping_with_events(
        tmp_path,
        {"requested-demo": {"Lead.Status": "Marketing Qualified", "Contact.Title": "Demo"}},
    )
    assert event_objects(both) == {"Lead", "Contact"}
    needed = events_needed_sql(both)
    assert needed is not None
    rows = [
        ("to_contact", "2026-11-02", "email", "Contact"),
        ("to_lead", "2026-11-02", "external_id", "Lead"),
        ("no_email", "2026-11-02", "no_email", None),
    ]
    people = [r[0] for r in rows]
    assert people_needed(tmp_path, needed, rows, people) == ["to_contact", "to_lead"]


def test_no_condition_when_no_event_rule_writes_a_person(tmp_path):
    assert events_needed_sql(mapping_with_events(tmp_path, {})) is None
