"""Sensors on a real instance against the emulator: a new conversation asks for its day's run."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from intercom_salesforce.definitions import conversation_sensor, defs
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from tests.helpers import wait_past


def tick(sandbox, cursor: str | None, instance):
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"intercom": sandbox.intercom()},
        definitions=defs,
    )
    result = conversation_sensor.evaluate_tick(context)
    return result, context.cursor


def test_new_conversation_requests_a_run_for_its_day(sandbox):
    with dg.DagsterInstance.ephemeral() as instance:
        first, cursor = tick(sandbox, None, instance)
        assert not first.run_requests and cursor
        quiet, cursor = tick(sandbox, cursor, instance)
        assert not quiet.run_requests

        wait_past(int(cursor))  # the new conversation must be newer than the cursor's second
        store = IntercomStore(sandbox.state.intercom_db)
        contact = store.query("SELECT id FROM contacts LIMIT 1")[0][0]
        conv = store.create_conversation(contacts=[contact], title="Need a quote", state="open")
        store.close()
        result, new_cursor = tick(sandbox, cursor, instance)
        day = (
            datetime.fromtimestamp(conv["updated_at"], ZoneInfo("America/Los_Angeles"))
            .date()
            .isoformat()
        )
        assert [r.partition_key for r in result.run_requests] == [day]
        assert int(new_cursor) == conv["updated_at"]
        again, _ = tick(sandbox, new_cursor, instance)
        assert not again.run_requests
