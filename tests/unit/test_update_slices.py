"""The matched records' decisions are worked out in slices: every record in exactly one."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from intercom_salesforce.assets.push.people import update_slices


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.text(min_size=1, max_size=24), unique=True, max_size=60),
    st.integers(min_value=1, max_value=25),
)
def test_every_matched_record_is_in_exactly_one_slice(ids: list[str], slice_rows: int):
    conn = duckdb.connect()
    conn.execute("CREATE TEMP TABLE mapped (_intercom_id VARCHAR, _sf_object VARCHAR)")
    rows = [(i, "Lead" if n % 3 else "Contact") for n, i in enumerate(ids)]
    if rows:
        conn.executemany("INSERT INTO mapped VALUES (?, ?)", rows)
    where = "_sf_object = ?"
    parts = update_slices(conn, "mapped", where, ["Lead"], slice_rows)
    leads = sorted(i for i, o in rows if o == "Lead")
    assert len(parts) == max(1, -(-len(leads) // slice_rows))
    seen = [
        r[0]
        for part in parts
        for r in conn.execute(f"SELECT _intercom_id FROM mapped WHERE {part}", ["Lead"]).fetchall()
    ]
    assert sorted(seen) == leads  # each once: none lost, none twice, no Contact let in
