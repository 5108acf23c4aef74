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
    """Per-record reads run on ``workers`` threads (24 by default), each with its connection; a
    worker busy on our side leaves its connection idle on the server's. Every one of them must
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
