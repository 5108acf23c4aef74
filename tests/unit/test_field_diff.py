"""Only changed fields are sent: empty cell = unchanged, #N/A = cleared, unchanged records dropped."""

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intercom_salesforce.assets.push.batch import PushBatch, PushOutcome
from intercom_salesforce.assets.push.field_diff import prepare_changes
from intercom_salesforce.warehouse import ensure_warehouse

COLUMNS = ["Ext__c", "LastName", "Email", "Phone"]
BATCH = PushBatch("Lead", "Ext__c", tuple(COLUMNS))


def pending(con, rows):
    table = f'"{BATCH.pending}"'
    con.execute(
        f'CREATE OR REPLACE TEMP TABLE {table} ("Ext__c" VARCHAR, "LastName" VARCHAR, '
        '"Email" VARCHAR, "Phone" VARCHAR)'
    )
    con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", rows)
    con.execute(f"ALTER TABLE {table} ADD COLUMN ext VARCHAR")
    con.execute(f"ALTER TABLE {table} ADD COLUMN _key VARCHAR")
    con.execute(f'UPDATE {table} SET ext = "Ext__c", _key = "Ext__c"')


def remember(con):
    """What a successful push would record."""
    con.execute(
        f'DELETE FROM sync.field_state f USING "{BATCH.changes}" c '
        "WHERE f.sobject = 'Lead' AND f.external_id = c.ext AND f.field = c.field"
    )
    con.execute(
        "INSERT INTO sync.field_state "
        f"SELECT 'Lead', ext, field, value, now() FROM \"{BATCH.changes}\""
    )


@pytest.fixture()
def con():
    c = duckdb.connect()
    ensure_warehouse(c)
    return c


def sent(con) -> dict[str, dict]:
    cur = con.execute(f'SELECT * EXCLUDE (ext) FROM "{BATCH.send}" ORDER BY 1')
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def test_new_then_one_changed_field_then_cleared(con):
    pending(con, [("a", "Smith", "a@x.io", "1"), ("b", "Jones", "b@x.io", None)])
    out = PushOutcome()
    assert prepare_changes(con, BATCH, out) == 2
    assert sent(con)["b"] == {
        "Ext__c": "b",
        "LastName": "Jones",
        "Email": "b@x.io",
        "Phone": None,
    }  # a null on a new record is simply not set
    remember(con)

    pending(con, [("a", "Smith", "a@x.io", "2"), ("b", "Jones", "b@x.io", None)])
    out = PushOutcome()
    assert prepare_changes(con, BATCH, out) == 1
    assert out.unchanged == 1 and out.fields_sent == 1
    assert sent(con) == {"a": {"Ext__c": "a", "LastName": None, "Email": None, "Phone": "2"}}
    remember(con)

    pending(con, [("a", "Smith", "a@x.io", None), ("b", "Jones", "b@x.io", None)])
    prepare_changes(con, BATCH, PushOutcome())
    assert sent(con) == {"a": {"Ext__c": "a", "LastName": None, "Email": None, "Phone": "#N/A"}}


value = st.one_of(st.none(), st.text(max_size=8))


@settings(max_examples=60, deadline=None)
@given(
    before=st.lists(st.tuples(value, value, value), min_size=1, max_size=8),
    after=st.lists(st.tuples(value, value, value), min_size=1, max_size=8),
)
def test_sending_the_changes_reproduces_the_new_state(before, after):
    """Applying what is sent (empty = keep, #N/A = clear) to the old state gives the new one."""
    con = duckdb.connect()
    ensure_warehouse(con)
    n = min(len(before), len(after))
    pending(con, [(f"k{i}", *before[i]) for i in range(n)])
    prepare_changes(con, BATCH, PushOutcome())
    remember(con)
    old = {f"k{i}": dict(zip(COLUMNS[1:], before[i], strict=True)) for i in range(n)}
    pending(con, [(f"k{i}", *after[i]) for i in range(n)])
    prepare_changes(con, BATCH, PushOutcome())
    for key, row in sent(con).items():
        for f in COLUMNS[1:]:
            if row[f] == "#N/A":
                old[key][f] = None
            elif row[f] is not None:
                old[key][f] = row[f]
    assert old == {f"k{i}": dict(zip(COLUMNS[1:], after[i], strict=True)) for i in range(n)}
