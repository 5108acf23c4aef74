"""Incremental extraction: day boundaries in the workspace's timezone, mid-day runs, the cost of a
run after a few changes, full refresh, and the hourly schedule's partition range."""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest
import requests

from intercom_salesforce.assets.extract.records import FULL_REFRESH_TAG, intercom_contacts
from intercom_salesforce.assets.partitions import daily_partitions
from intercom_salesforce.automation.schedules import hourly_current_partition_schedule
from intercom_salesforce.extract.entities import CONTACTS
from intercom_salesforce.resources.intercom import IntercomResource
from intercom_salesforce.resources.warehouse import WarehouseResource
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.settings import SANDBOX_INTERCOM_TOKEN
from tests.helpers import make_sandbox, repeated_keys, wait_past

LA = ZoneInfo("America/Los_Angeles")
PER_PAGE = 10


@pytest.fixture(scope="module")
def big_sandbox(tmp_path_factory: pytest.TempPathFactory):
    sb = make_sandbox(tmp_path_factory.mktemp("sandbox"), contacts=1000)
    yield sb
    sb.running.stop()


def run_contacts(
    sandbox, warehouse: Path, first: str, last: str, full_refresh: bool = False, lag: float = 300
):
    tags = {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }
    if full_refresh:
        tags[FULL_REFRESH_TAG] = "true"
    result = dg.materialize(
        [intercom_contacts],
        resources={
            "intercom": IntercomResource(
                access_token=SANDBOX_INTERCOM_TOKEN,
                base_url=sandbox.running.intercom_url,
                mode="sandbox",
                per_page=PER_PAGE,
                search_lag_seconds=lag,
            ),
            "warehouse": WarehouseResource(database=str(warehouse)),
        },
        instance=dg.DagsterInstance.ephemeral(),
        tags=tags,
        raise_on_error=False,
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    md = result.asset_materializations_for_node("intercom_contacts")[-1].metadata
    return {k: v.value for k, v in md.items()}


def touch(sandbox, contact_id: str, ts: int | None = None) -> int:
    body = {} if ts is None else {"updated_at": ts}
    resp = requests.post(
        f"{sandbox.running.intercom_url}/_sandbox/contacts/{contact_id}/touch",
        json=body,
        timeout=10,
    )
    resp.raise_for_status()
    return resp.json()["updated_at"]


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def today() -> datetime:
    return datetime.now(LA).replace(hour=0, minute=0, second=0, microsecond=0)


def test_day_boundaries_follow_the_workspace_timezone(sandbox, tmp_path):
    store = IntercomStore(sandbox.state.intercom_db)
    late, early = [r[0] for r in store.query("SELECT id FROM contacts ORDER BY id LIMIT 2")]
    midnight = today() - timedelta(days=2)
    before = int((midnight - timedelta(minutes=30)).timestamp())  # 23:30 on day -3
    after = int((midnight + timedelta(minutes=30)).timestamp())  # 00:30 on day -2
    touch(sandbox, late, before)
    touch(sandbox, early, after)
    # UTC puts both on the same day: only the workspace's days tell them apart
    assert datetime.fromtimestamp(before, ZoneInfo("UTC")).date() == midnight.date()
    day_3 = (midnight - timedelta(days=1)).date().isoformat()
    day_2 = midnight.date().isoformat()

    warehouse = tmp_path / "warehouse.duckdb"
    keys = daily_partitions.get_partition_keys()
    run_contacts(sandbox, warehouse, keys[-17], keys[-1])
    staged = dict(
        query(
            warehouse,
            "SELECT id, partition_date::VARCHAR FROM staging.intercom_contacts WHERE id IN (?, ?)",
            [late, early],
        )
    )
    assert staged == {late: day_3, early: day_2}

    # one day alone: its search returns exactly the contacts of that workspace day
    single = tmp_path / "single.duckdb"
    run_contacts(sandbox, single, day_2, day_2)
    expected = {
        cid
        for cid, ts in store.query("SELECT id, updated_at FROM contacts")
        if datetime.fromtimestamp(ts, LA).date().isoformat() == day_2
    }
    got = {r[0] for r in query(single, "SELECT id FROM staging.intercom_contacts")}
    assert early in got and late not in got and got == expected
    store.close()


def test_mid_day_incremental_run_picks_up_the_rest_of_the_day(sandbox, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    key = daily_partitions.get_last_partition_key()
    first = run_contacts(sandbox, warehouse, key, key)
    assert first["extract_mode"] == "full_refresh"
    store = IntercomStore(sandbox.state.intercom_db)
    contact = store.query("SELECT id FROM contacts ORDER BY id DESC LIMIT 1")[0][0]
    store.close()
    # updated after the first run, later the same day
    end_of_day = int((today() + timedelta(days=1)).timestamp()) - 1
    updated = touch(sandbox, contact, min(int(time.time()) + 5, end_of_day))
    second = run_contacts(sandbox, warehouse, key, key)
    assert second["extract_mode"] == "incremental"
    rows = query(
        warehouse,
        "SELECT partition_date::VARCHAR, epoch(updated_at)::BIGINT "
        "FROM staging.intercom_contacts_current WHERE id = ?",
        [contact],
    )
    assert rows == [(key, updated)]


def test_incremental_run_fetches_only_what_changed(big_sandbox, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    keys = daily_partitions.get_partition_keys()
    first, last = keys[-17], keys[-1]
    n_contacts = big_sandbox.seeded["intercom"]["contacts"]

    def run_contacts(*args, **kw):
        # the emulator has no search indexing delay: no lag, so the counts below are exact
        return globals()["run_contacts"](*args, lag=0, **kw)

    full = run_contacts(big_sandbox, warehouse, first, last)
    assert full["records_staged"] == n_contacts
    assert full["api_calls"] >= n_contacts / PER_PAGE

    store = IntercomStore(big_sandbox.state.intercom_db)
    # changed contacts whose current version is from an earlier day than today: the new version
    # is then a second row (a contact already updated today keeps one row per day)
    changed = [
        r[0]
        for r in store.query(
            "SELECT id FROM contacts WHERE updated_at < strftime('%s', 'now') - 2 * 86400 "
            "ORDER BY random() LIMIT 10"
        )
    ]
    store.close()
    assert len(changed) == n_contacts // 100
    stamps = {cid: touch(big_sandbox, cid) for cid in changed}

    inc = run_contacts(big_sandbox, warehouse, first, last)
    assert inc["extract_mode"] == "incremental"
    assert inc["records_staged"] == len(changed)
    # /me, the pages of changed records, the page that reaches the mark, and any truncated lists
    assert inc["api_calls"] <= 1 + math.ceil(len(changed) / PER_PAGE) + 1 + inc["sub_list_calls"]
    current = dict(
        query(
            warehouse,
            "SELECT id, epoch(updated_at)::BIGINT FROM staging.intercom_contacts_current "
            f"WHERE id IN ({','.join('?' * len(changed))})",
            changed,
        )
    )
    assert current == stamps
    # nothing else of the window went away: the older versions stay in their own days
    assert query(warehouse, "SELECT count(*) FROM staging.intercom_contacts")[0][0] == (
        n_contacts + len(changed)
    )
    assert query(warehouse, "SELECT count(*) FROM staging.intercom_contacts_current")[0][0] == (
        n_contacts
    )
    assert query(warehouse, "SELECT count(DISTINCT id) FROM staging.intercom_contacts")[0][0] == (
        n_contacts
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert repeated_keys(con, CONTACTS) == 0  # one row per contact and day

    # an old partition re-run never overrides newer data
    old_day = query(
        warehouse,
        "SELECT min(partition_date)::VARCHAR FROM staging.intercom_contacts WHERE id = ?",
        [changed[0]],
    )[0][0]
    run_contacts(big_sandbox, warehouse, old_day, old_day, full_refresh=True)
    assert (
        query(
            warehouse,
            "SELECT epoch(updated_at)::BIGINT FROM staging.intercom_contacts_current WHERE id = ?",
            [changed[0]],
        )[0][0]
        == stamps[changed[0]]
    )

    # a full refresh reads the whole window again and replaces it; it starts in a later second
    # than the changes, since a mark within their second reads them again (times are whole
    # seconds, so the next run cannot tell whether they came before or after it)
    wait_past(max(stamps.values()))
    refresh = run_contacts(big_sandbox, warehouse, first, last, full_refresh=True)
    assert refresh["extract_mode"] == "full_refresh"
    assert refresh["api_calls"] >= n_contacts / PER_PAGE
    assert query(warehouse, "SELECT count(*) FROM staging.intercom_contacts")[0][0] == n_contacts

    # with nothing changed, an incremental run costs a constant
    quiet = run_contacts(big_sandbox, warehouse, first, last)
    assert quiet["records_staged"] == 0 and quiet["api_calls"] <= 2
    runs = query(
        warehouse,
        "SELECT mode, count(*) FROM staging.extract_runs WHERE entity = 'intercom_contacts' "
        "GROUP BY 1 ORDER BY 1",
    )
    assert runs == [("full_refresh", 3), ("incremental", 2)]


def test_hourly_schedule_requests_yesterday_and_today():
    job = dg.define_asset_job(
        "extract_job", selection=[intercom_contacts], partitions_def=daily_partitions
    )
    schedule = hourly_current_partition_schedule(job)
    assert schedule.execution_timezone == "America/Los_Angeles"

    def request_at(when: datetime) -> dg.RunRequest:
        context = dg.build_schedule_context(scheduled_execution_time=when)
        result = schedule.evaluate_tick(context)
        assert len(result.run_requests) == 1
        return result.run_requests[0]

    # five past midnight: the run still reads the day that just ended
    req = request_at(datetime(2026, 3, 9, 0, 5, tzinfo=LA))
    assert req.tags["dagster/asset_partition_range_start"] == "2026-03-08"
    assert req.tags["dagster/asset_partition_range_end"] == "2026-03-09"
    assert req.partition_key is None
    later = request_at(datetime(2026, 3, 9, 23, 5, tzinfo=LA))
    assert later.tags["dagster/asset_partition_range_end"] == "2026-03-09"
    assert later.run_key != req.run_key
