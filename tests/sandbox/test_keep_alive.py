"""Both emulators keep HTTP/1.1 connections alive, as Intercom and Salesforce do: a client that
reuses its connections (a ``requests.Session``, simple-salesforce) opens one, not one per call."""

from __future__ import annotations

from tests.helpers import Sandbox


def _connections(session, url: str) -> int:
    """Connections the session has opened to ``url``'s host so far."""
    pools = session.get_adapter(url).poolmanager.pools
    # urllib3's pool container refuses plain iteration (not thread-safe); keys() is its way
    return sum(pools[key].num_connections for key in pools.keys())  # noqa: SIM118


def test_intercom_answers_many_calls_on_one_connection(sandbox: Sandbox):
    session = sandbox.intercom().client().session
    url = sandbox.running.intercom_url
    for _ in range(5):  # the client's session carries the token and the API version
        resp = session.get(f"{url}/admins", timeout=10)
        assert resp.status_code == 200, resp.text
        assert resp.headers.get("Connection", "").lower() != "close"
    assert _connections(session, url) == 1


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
        resp = client.session.get(f"{url}/admins", timeout=10)
        assert resp.status_code == 200, resp.text
        assert resp.headers.get("Connection", "").lower() != "close", len(clients)
    for client in clients:
        client.session.get(f"{url}/admins", timeout=10)
        assert _connections(client.session, url) == 1
