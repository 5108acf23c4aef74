"""The mapping's ``to_intercom`` section: a bad entry fails at load naming file, line and field;
the sandbox's section compiles; and the write-back's decisions on a real DuckDB: policies,
conflicts, our own writes and the push's values never taken for edits."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from intercom_salesforce.assets.writeback.desired import CONTACT, stage_desired
from intercom_salesforce.mapping import MappingError, load_mapping, parse_mapping
from intercom_salesforce.mapping.writeback import writeback_fields
from intercom_salesforce.warehouse import ensure_warehouse

ROOT = Path(__file__).resolve().parents[2]
BASE = """version: 1
objects:
  Lead:
    source: contacts
    external_id: Intercom_Contact_Id__c
    fields:
      Intercom_Contact_Id__c:
        from: id
to_intercom:
  contacts:
    sf_owner_name:
      from: owner.Name
    sf_lead_status:
      from: lead.Status
      source_of_truth: SOURCE
    sf_amount:
      from: opportunity.Amount
      type: float
  companies:
    sf_tier:
      from: account.Tier__c
  tags:
    mql:
      tag: MQL
      when: {lead.Status: Marketing Qualified}
      remove_when_false: true
"""


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "message"),
    [
        (
            "from: owner.Name",
            "from: boss.Name",
            "boss.Name",
            "to_intercom.contacts.sf_owner_name.from",
            "'boss' is not a side of a person",
        ),
        (
            "from: account.Tier__c",
            "from: lead.IsConverted",
            "lead.IsConverted",
            "to_intercom.companies.sf_tier.from",
            "'lead' is not a side of a company",
        ),
        (
            "type: float",
            "type: money",
            "type: money",
            "to_intercom.contacts.sf_amount.type",
            "Input should be",
        ),
        (
            "from: owner.Name",
            "from: owner.Name.First",
            "owner.Name.First",
            "to_intercom.contacts.sf_owner_name.from",
            "a path is side.Field",
        ),
        (
            "source_of_truth: SOURCE",
            "source_of_truth: loudest",
            "loudest",
            "to_intercom.contacts.sf_lead_status.source_of_truth",
            "Input should be",
        ),
        (
            "remove_when_false: true",
            "remove_when_false: true\n      companies: true",
            "lead.Status: Marketing",
            "to_intercom.tags.mql.when.lead.Status",
            "'lead' is not a side of a company",
        ),
        (
            "    sf_owner_name:\n      from: owner.Name",
            '    sf_owner_name:\n      expr: "nope(owner.Name)"',
            "nope(",
            "to_intercom.contacts.sf_owner_name.expr",
            "unknown function 'nope'",
        ),
        (
            "    sf_tier:\n",
            "    SF_Amount:\n",
            "SF_Amount",
            "to_intercom.companies.SF_Amount",
            "one namespace",
        ),
        (
            "        from: id\n",
            "        from: id\n      Status:\n        from: custom_attributes.sf_lead_status\n",
            "custom_attributes.sf_lead_status",
            "objects.Lead.fields.Status.from",
            "would echo",
        ),
        (
            "      tag: MQL\n",
            "      tag: MQL\n      colour: red\n",
            "colour",
            "to_intercom.tags.mql.colour",
            "unknown key",
        ),
    ],
)
def test_bad_to_intercom_entry_names_file_line_and_field(old, new, needle, path, message):
    text = BASE.replace("SOURCE", "salesforce").replace(old.replace("SOURCE", "salesforce"), new, 1)
    assert text != BASE.replace("SOURCE", "salesforce")
    with pytest.raises(MappingError) as err:
        parse_mapping(text, "m.yaml")
    expected = f"m.yaml:{line_of(text, needle)}: {path}: "
    hits = [p for p in err.value.problems if p.startswith(expected)]
    assert hits, f"{expected!r} not in {err.value.problems}"
    assert message in hits[0]


def test_sandbox_section_loads_and_names_the_fields_the_mirror_reads():
    mapping = load_mapping(ROOT / "mappings" / "sandbox.yaml")
    section = mapping.to_intercom
    assert {"sf_owner_name", "sf_lead_status", "sf_opportunity_stage", "sf_record_url"} <= set(
        section.contacts
    )
    assert section.contacts["sf_lead_status"].source_of_truth == "salesforce"
    assert section.tags["closed_won"].companies
    assert {"Tier__c", "Type", "Name"} <= writeback_fields(mapping, "Account")
    assert {"StageName", "Amount", "IsClosed", "CloseDate"} <= writeback_fields(
        mapping, "Opportunity"
    )
    assert writeback_fields(mapping, "Contact") >= {"Lifecycle_Stage__c"}


# -- decisions, on a real DuckDB -----------------------------------------------------------------

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
T1 = datetime(2026, 1, 2, 10, 0, tzinfo=UTC)


def _world(conn: duckdb.DuckDBPyConnection, status: str, intercom_status: str, updated: datetime):
    """One Intercom contact matched to one Lead (owner u1), staged at ``updated``."""
    ensure_warehouse(conn)
    conn.execute(
        "INSERT INTO staging.intercom_contacts (id, updated_at, custom_attributes, partition_date, "
        "extracted_at) VALUES ('c1', ?, json_object('sf_lead_status', ?::VARCHAR), "
        "DATE '2026-01-01', now())",
        [updated, intercom_status],
    )
    conn.execute(
        'INSERT INTO mirror.salesforce_leads ("Id", "Status", "OwnerId", '
        '"Intercom_Contact_Id__c", "LastModifiedDate", "_values") '
        "VALUES ('00Q1', ?, 'u1', 'c1', ?, json_object('Status', ?::VARCHAR))",
        [status, T1, status],
    )
    conn.execute(
        "INSERT INTO mirror.salesforce_users (\"Id\", \"Name\") VALUES ('u1', 'Ada Owner') "
        "ON CONFLICT DO NOTHING"
    )


def _last(conn, attribute: str, value: str | None, intercom_updated_at: datetime) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO sync.intercom_field_state VALUES "
        "('contact', 'c1', ?, ?, ?, ?, 'r0')",
        [attribute, value, T0, intercom_updated_at],
    )


def _decide(conn, source: str = "salesforce") -> dict[str, tuple]:
    mapping = parse_mapping(BASE.replace("SOURCE", source), "m.yaml")
    stage_desired(conn, CONTACT, mapping, "https://org.example")
    rows = conn.execute(
        "SELECT attribute, action, conflict, value FROM _writeback_decided"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


@pytest.fixture()
def conn(tmp_path):
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield c
    c.close()


def test_first_run_writes_salesforce_values_and_never_clears(conn):
    _world(conn, "Open", "", T0)
    decided = _decide(conn)
    assert decided["sf_owner_name"] == ("write", False, "Ada Owner")
    assert decided["sf_lead_status"] == ("write", False, "Open")
    assert decided["sf_amount"] == ("keep", False, None)  # no opportunity: nothing to clear
    assert decided["tag:mql"] == ("keep", False, "false")


def test_our_own_write_read_back_is_no_change(conn):
    _world(conn, "Open", "Open", T1)  # staged after our write: Intercom holds what we wrote
    _last(conn, "sf_lead_status", "Open", T0)
    _last(conn, "sf_owner_name", "Ada Owner", T0)
    decided = _decide(conn)
    assert decided["sf_lead_status"][:2] == ("keep", False)
    assert decided["sf_owner_name"][:2] == ("keep", False)


def test_a_staged_version_older_than_our_write_is_not_intercom_s_value(conn):
    _world(conn, "Working", "Old", T0)  # staged before our write of "Open"
    _last(conn, "sf_lead_status", "Open", T1)
    assert _decide(conn)["sf_lead_status"] == ("write", False, "Working")


def test_a_value_the_push_sent_is_not_written_back(conn):
    _world(conn, "Marketing Qualified", "", T0)
    conn.execute(
        "INSERT INTO sync.field_state VALUES ('Lead', 'c1', 'Status', 'Marketing Qualified', ?)",
        [T0],
    )
    assert _decide(conn)["sf_lead_status"][0] == "keep"


@pytest.mark.parametrize(
    ("policy", "action"),
    [("salesforce", "write"), ("intercom", "keep"), ("fill_blank", "keep"), ("newest", "keep")],
)
def test_both_sides_changed_is_a_conflict_the_policy_decides(conn, policy, action):
    _world(conn, "Working", "Edited", T1)
    _last(conn, "sf_lead_status", "Open", T0)
    # newest: Intercom's record (T1) is as new as the Lead (T1), not older
    assert _decide(conn, policy)["sf_lead_status"] == (action, True, "Working")


@pytest.mark.parametrize(
    ("policy", "action"),
    [("salesforce", "write"), ("intercom", "keep"), ("fill_blank", "keep"), ("newest", "write")],
)
def test_before_the_first_write_an_intercom_value_counts_per_policy(conn, policy, action):
    # Intercom holds its own value (staged T0), the Lead changed later (T1): newest takes the Lead
    _world(conn, "Working", "Theirs", T0)
    assert _decide(conn, policy)["sf_lead_status"] == (action, False, "Working")
