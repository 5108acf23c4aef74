"""The Intercom client against the emulator on loopback: paging, retries, rate limits, scrolls."""

from __future__ import annotations

import math
import pathlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from intercom_salesforce.resources.intercom import (
    REGION_BASE_URLS,
    IntercomAPIError,
    IntercomResource,
    path_template,
)
from intercom_salesforce.resources.intercom_paging import CursorPages, NextUrlPages
from intercom_salesforce.sandbox.intercom import (
    FaultConfig,
    IntercomEmulatorConfig,
    IntercomStore,
    create_app,
)
from intercom_salesforce.sandbox.serving import start_in_thread
from intercom_salesforce.sandbox.tls import SandboxTLS, ensure_tls
from intercom_salesforce.sandbox.world import World, WorldSize
from intercom_salesforce.settings import SANDBOX_INTERCOM_TOKEN

SIZE = WorldSize(contacts=40, companies=12, conversations=4, long_conversations=0)


class Emulator:
    def __init__(self, url: str, store: IntercomStore, server: Any):
        self.url, self.store, self.server = url, store, server

    def resource(self, **fields: Any) -> IntercomResource:
        fields.setdefault("backoff_base_seconds", 0.001)
        return IntercomResource(
            access_token=SANDBOX_INTERCOM_TOKEN, base_url=self.url, mode="sandbox", **fields
        )

    def log(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.url}/_sandbox/requests", timeout=10).json()["requests"]

    def faults(self, **faults: Any) -> None:
        requests.put(f"{self.url}/_sandbox/faults", json=faults, timeout=10).raise_for_status()


@pytest.fixture(scope="module")
def world_db(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("intercom") / "seed.sqlite"
    store = IntercomStore(path)
    store.load_world(World(size=SIZE).intercom())
    store.close()
    return path


@pytest.fixture
def make_emulator(
    world_db: pathlib.Path, tmp_path: pathlib.Path
) -> Iterator[Callable[..., Emulator]]:
    started: list[Emulator] = []

    def make(tls: SandboxTLS | None = None, **config: Any) -> Emulator:
        path = tmp_path / f"intercom{len(started)}.sqlite"
        path.write_bytes(world_db.read_bytes())
        store = IntercomStore(path)
        server = start_in_thread(
            create_app(store, IntercomEmulatorConfig(**config)),
            ssl_context=tls.ssl_context if tls else None,
        )
        emu = Emulator(server.url, store, server)
        started.append(emu)
        return emu

    yield make

    def stop() -> None:
        for emu in started:
            emu.server.stop()
            emu.store.close()

    threading.Thread(target=stop, daemon=True).start()


# --- paging ---------------------------------------------------------------------------------


def test_search_list_and_next_url_paging(make_emulator):
    emu = make_emulator()
    client = emu.resource(per_page=7).client()
    query = {"field": "updated_at", "operator": ">", "value": 0}
    found = [c["id"] for p in client.search_pages("contacts", query) for c in p["data"]]
    assert len(found) == len(set(found)) == emu.store.count("contacts")
    listed = [c["id"] for p in CursorPages("/contacts").pages(client) for c in p["data"]]
    assert sorted(listed) == sorted(found)
    # search pagination travels in the body
    searches = [e for e in emu.log() if e["path"] == "/contacts/search"]
    assert len(searches) == math.ceil(len(found) / 7)
    assert all("starting_after" not in e["query"] for e in searches)
    assert "starting_after" in searches[-1]["body"]["pagination"]
    # events: pages.next is a full URL
    contact, n_events = emu.store.query(
        "SELECT contact_id, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
    )[0]
    events = [
        e
        for p in NextUrlPages(
            "/events", {"type": "user", "intercom_user_id": contact}, per_page=1
        ).pages(client)
        for e in p["events"]
    ]
    assert len(events) == n_events > 1
    assert all(e["intercom_user_id"] == contact for e in events)


def test_every_request_is_counted_with_version_and_timeout(make_emulator):
    emu = make_emulator()
    client = emu.resource(api_version="2.14").client()
    client.me()
    client.get("/conversations/4000001")
    client.get("/conversations/4000002")
    list(client.search_pages("contacts", {"field": "role", "operator": "=", "value": "user"}))
    log = emu.log()
    assert client.stats.calls == len(log)
    assert client.stats.by_path["GET /conversations/{id}"] == 2
    assert client.stats.by_path["POST /contacts/search"] == sum(
        e["path"] == "/contacts/search" for e in log
    )
    assert {e["headers"]["Intercom-Version"] for e in log} == {"2.14"}
    assert {e["headers"]["Authorization"] for e in log} == {"Bearer <redacted>"}
    assert path_template("https://api.intercom.io/contacts/5f1a2b/tags?x=1") == (
        "/contacts/{id}/tags"
    )


def test_region_base_urls():
    def resource(**kw: Any) -> IntercomResource:
        return IntercomResource(access_token="t", **kw)

    assert resource().client().base_url == "https://api.intercom.io"
    assert resource(region="EU").client().base_url == "https://api.eu.intercom.io"
    assert resource(region="AU").client().base_url == "https://api.au.intercom.io"
    assert REGION_BASE_URLS["US"] == "https://api.intercom.io"
    assert resource(region="EU", base_url="http://127.0.0.1:1/").client().base_url == (
        "http://127.0.0.1:1"
    )


def test_every_call_has_a_timeout(make_emulator):
    emu = make_emulator(faults=FaultConfig(slow_ms=400))
    impatient = emu.resource(timeout_seconds=0.1, max_retries=2).client()
    with pytest.raises(IntercomAPIError):
        impatient.get("/tags")
    assert impatient.stats.connection_errors == 3 and impatient.stats.retries == 2
    assert emu.resource(timeout_seconds=5).client().get("/tags")["data"]


# --- retries --------------------------------------------------------------------------------


def test_retries_5xx_dropped_connections_and_empty_bodies(make_emulator):
    emu = make_emulator(
        faults=FaultConfig(error_rate=0.25, drop_connection_rate=0.15, empty_body_rate=0.15, seed=5)
    )
    client = emu.resource(max_retries=25).client()
    for _ in range(25):
        assert client.get("/tags")["data"]
    stats = client.stats
    assert stats.server_errors > 0 and stats.connection_errors > 0 and stats.empty_bodies > 0
    assert stats.retries == stats.server_errors + stats.connection_errors + stats.empty_bodies
    assert stats.calls == 25 + stats.retries == len(emu.log())
    assert stats.seconds_waited > 0


def test_gives_up_after_max_retries(make_emulator):
    emu = make_emulator(faults=FaultConfig(error_rate=1.0, seed=1))
    client = emu.resource(max_retries=3).client()
    with pytest.raises(IntercomAPIError) as failed:
        client.get("/tags")
    assert failed.value.status in (500, 502, 503)
    assert client.stats.calls == 4 == len(emu.log())


def test_client_errors_are_final(make_emulator):
    emu = make_emulator()
    client = emu.resource().client()
    with pytest.raises(IntercomAPIError) as failed:
        client.get("/contacts/does-not-exist")
    assert failed.value.status == 404 and client.stats.calls == 1


# --- rate limits ----------------------------------------------------------------------------


def test_429_waits_until_the_window_resets(make_emulator):
    emu = make_emulator(faults=FaultConfig(rate_limit_storm=1))
    client = emu.resource().client()
    assert client.get("/tags")["data"]
    first, second = emu.log()
    reset = (math.floor(first["at"] / 10) + 1) * 10  # X-RateLimit-Reset of the 429
    assert second["at"] >= reset
    assert client.stats.rate_limited == 1 and client.stats.seconds_waited > 0


def test_client_side_limiter_keeps_the_configured_share(make_emulator):
    emu = make_emulator()
    # 600/min in 1-second windows at half share: 5 calls per window
    client = emu.resource(
        rate_limit_per_minute=600, rate_limit_share=0.5, rate_limit_window_seconds=1
    ).client()
    started = time.monotonic()
    for _ in range(16):
        client.get("/tags")
    # the client counts a call in the window it sent it in; the server logs it on arrival, so a
    # call sent at the very end of a window may be logged in the next one
    per_window = Counter(math.floor(e["at"]) for e in emu.log())
    assert max(per_window.values()) <= 6
    # 16 calls at 5 per window span at least four windows
    assert time.monotonic() - started >= 2.0 and client.stats.seconds_waited > 0
    assert client.stats.rate_limited == 0


def test_remaining_header_leaves_other_clients_their_share(make_emulator):
    # the app's real limit is 60/min (10 per window); this run may use half of what is left
    emu = make_emulator(rate_limit_per_minute=60)
    client = emu.resource(rate_limit_share=0.5).client()
    for _ in range(8):
        client.get("/tags")
    assert client.stats.rate_limited == 0
    per_window = Counter(math.floor(e["at"] / 10) for e in emu.log())
    assert max(per_window.values()) <= 6


# --- company scroll -------------------------------------------------------------------------


def test_scroll_exists_waits_and_retries(make_emulator):
    emu = make_emulator(scroll_page_size=5, scroll_idle_expiry_s=0.5)
    other = requests.get(
        f"{emu.url}/companies/scroll",
        headers={"Authorization": f"Bearer {SANDBOX_INTERCOM_TOKEN}"},
        timeout=10,
    )
    assert other.status_code == 200  # another client's scroll is now open
    client = emu.resource(scroll_wait_seconds=0.3).client()
    ids = [c["id"] for page in client.scroll_companies() for c in page]
    assert len(ids) == len(set(ids)) == emu.store.count("companies")
    statuses = [e for e in emu.log() if e["path"] == "/companies/scroll"]
    assert len(statuses) > emu.store.count("companies") // 5 + 1  # at least one refused
    assert client.stats.seconds_waited >= 0.3


def test_scroll_500_restarts_and_transient_errors_retry_in_place(make_emulator):
    emu = make_emulator(
        scroll_page_size=3, faults=FaultConfig(scroll_500_after_pages=2, error_rate=0.2, seed=4)
    )
    client = emu.resource(max_retries=20).client()
    seen = [c["id"] for page in client.scroll_companies() for c in page]
    expected = {r[0] for r in emu.store.query("SELECT id FROM companies")}
    assert set(seen) == expected
    assert len(seen) == len(expected) + 6  # the two pages before the 500 were read twice
    assert client.stats.scroll_restarts == 1 and client.stats.server_errors > 1


def test_scroll_gives_up_when_the_other_scroll_never_ends(make_emulator):
    emu = make_emulator(scroll_idle_expiry_s=3600)
    requests.get(
        f"{emu.url}/companies/scroll",
        headers={"Authorization": f"Bearer {SANDBOX_INTERCOM_TOKEN}"},
        timeout=10,
    )
    client = emu.resource(scroll_wait_seconds=0.01, scroll_max_restarts=2).client()
    with pytest.raises(IntercomAPIError) as failed:
        list(client.scroll_companies())
    assert failed.value.status == 400 and client.stats.calls == 3


@pytest.mark.parametrize(
    ("no_proxy", "expected"), [("", "http://proxy.example:3128"), ("api.intercom.io", None)]
)
def test_proxy_and_ca_bundle_of_the_environment_still_apply(
    monkeypatch: pytest.MonkeyPatch, no_proxy: str, expected: str | None
):
    """The client reads the environment once rather than on every call: a proxy (unless
    ``NO_PROXY`` names the host) and a CA bundle set there still apply to its calls."""
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/corporate/ca.pem")
    transport = (
        IntercomResource(access_token="t", base_url="https://api.intercom.io").client().transport
    )
    assert transport.proxy == expected
    assert transport.ca_bundle == "/etc/corporate/ca.pem"


def test_tls_is_verified_against_the_ca_bundle_of_the_environment(
    make_emulator, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
):
    """Intercom speaks HTTPS: the client verifies the server against the CA bundle the
    environment names (as requests does), keeps its TLS connection alive, and refuses a server
    that bundle does not vouch for at once, naming the call."""
    tls = ensure_tls(tmp_path / "state")
    emu = make_emulator(tls=tls)
    assert emu.url.startswith("https://")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_path))
    client = emu.resource().client()
    for _ in range(3):
        assert client.get("/admins")["type"] == "admin.list"
    assert client.transport.connections_opened == 1

    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    untrusting = emu.resource().client()  # certifi's bundle: not the sandbox CA
    with pytest.raises(IntercomAPIError) as failed:
        untrusting.get("/admins")
    assert "GET /admins" in str(failed.value) and "curl error 60" in str(failed.value)
    assert untrusting.stats.retries == 0  # no retry mends an untrusted certificate
