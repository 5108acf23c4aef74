"""Both emulators keep HTTP/1.1 connections alive, as Intercom and Salesforce do: a client that
reuses its connections (the Intercom client's libcurl handles, simple-salesforce's
``requests.Session``) opens one, not one per call."""

from __future__ import annotations

from tests.helpers import Sandbox


def _pool_connections(pools) -> int:
    # urllib3's pool container refuses plain iteration (not thread-safe); keys() is its way
    return sum(pools[key].num_connections for key in pools.keys())  # noqa: SIM118


def _connections(session, url: str) -> int:
    """Connections a ``requests.Session`` has opened to ``url``'s host so far."""
    return _pool_connections(session.get_adapter(url).poolmanager.pools)


def _intercom_connections(client) -> int:
    """Connections an Intercom client has opened so far (it calls one host)."""
    return client.transport.connections_opened


def test_intercom_answers_many_calls_on_one_connection(sandbox: Sandbox):
    client = sandbox.intercom().client()
    url = sandbox.running.intercom_url
    for _ in range(5):  # the client's transport carries the token and the API version
        resp = client.transport.request("GET", f"{url}/admins")
        assert resp.status_code == 200, resp.text
        assert resp.headers.get("Connection", "").lower() != "close"
    assert _intercom_connections(client) == 1


def test_salesforce_answers_many_calls_on_one_tls_connection(sandbox: Sandbox):
    client = sandbox.salesforce().client()  # the token call opens the connection
    for _ in range(5):
        client.call(lambda sf: sf.limits())
    assert _connections(client.session, sandbox.running.salesforce_url) == 1


def test_intercom_keeps_every_workers_idle_connection_alive(sandbox: Sandbox):
    """Per-record reads keep ``workers`` calls in flight (24 by default), each on its connection;
    a call's answer waiting on our side leaves its connection idle on the server's. Every one of them must
    stay open, or each call pays a new connection (cheroot keeps 10 unless told otherwise)."""
    workers = sandbox.intercom().workers
    assert workers > 10
    clients = [sandbox.intercom().client() for _ in range(workers)]
    url = sandbox.running.intercom_url
    for client in clients:  # one call each: all their connections are idle at once
        resp = client.transport.request("GET", f"{url}/admins")
        assert resp.status_code == 200, resp.text
        assert resp.headers.get("Connection", "").lower() != "close", len(clients)
    for client in clients:
        client.transport.request("GET", f"{url}/admins")
        assert _intercom_connections(client) == 1


def test_per_record_reads_reuse_their_connections_from_one_read_to_the_next(sandbox: Sandbox):
    """The hub running per-record reads keeps its connections between reads (a page's few
    truncated lists are a read each), and plain calls in between keep theirs."""
    client = sandbox.intercom().client()
    for _ in range(5):
        got = list(client.map_concurrent(lambda _: client.get("/admins"), range(3), workers=3))
        assert all(not isinstance(r, BaseException) for _, r in got), got
        client.get("/admins")  # a plain call, as a search page is read, between the reads
    assert _intercom_connections(client) == 4  # three for the reads, one for the plain calls
