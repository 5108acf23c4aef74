"""The Intercom transport: query strings encoded as requests encodes them, response headers,
dropped connections and proxies, against loopback sockets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from intercom_salesforce.resources.intercom import IntercomResource
from intercom_salesforce.resources.intercom_transport import (
    Response,
    TransportError,
    parse_headers,
    query_url,
)

keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)
values = st.one_of(
    st.none(),
    st.integers(),
    st.booleans(),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.lists(st.text(max_size=5).filter(str.strip), min_size=1, max_size=3),
)


@given(st.dictionaries(keys, values, max_size=5), st.booleans())
def test_query_url_matches_requests(params: dict, has_query: bool):
    """Same URL as requests prepares: ``None`` left out, lists repeated, an existing query kept."""
    url = "https://api.intercom.io/events" + ("?type=user" if has_query else "")
    expected = requests.Request("GET", url, params=params).prepare().url
    got = query_url(url, params)
    assert parse_qs(urlsplit(got).query, keep_blank_values=True) == parse_qs(
        urlsplit(expected).query, keep_blank_values=True
    )


def test_query_url_without_params_is_the_url():
    assert query_url("https://x/events?page=2", None) == "https://x/events?page=2"
    assert query_url("https://x/events", {"a": None}) == "https://x/events"


def test_headers_without_a_status_line_and_with_odd_spacing():
    headers = parse_headers([b"X-A:1\r\n", b"x-b:  two words \r\n", b"Bad line\r\n", b"\r\n"])
    assert dict(headers) == {"x-a": "1", "x-b": "two words"}
    assert headers.get("X-B") == "two words" and "X-C" not in headers


def test_headers_are_the_last_responses_case_insensitive():
    """A proxy's answer to CONNECT comes first; only the API's headers count, in any case."""
    lines = [
        b"HTTP/1.1 200 Connection established\r\n",
        b"Proxy-Agent: squid\r\n",
        b"\r\n",
        b"HTTP/1.1 429 Too Many Requests\r\n",
        b"X-RateLimit-Remaining: 0\r\n",
        b"x-ratelimit-reset: 1767225600\r\n",
        b"Vary: Accept\r\n",
        b"Vary: Origin\r\n",
        b"\r\n",
    ]
    headers = parse_headers(lines)
    assert headers["x-ratelimit-remaining"] == "0"
    assert headers["X-RateLimit-Reset"] == "1767225600"
    assert headers["vary"] == "Accept, Origin"
    assert "Proxy-Agent" not in headers


# a header name is an RFC 9110 token
header_names = st.text(
    st.sampled_from(
        "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ),
    min_size=1,
)
header_values = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=12)
spaces = st.text(st.sampled_from(" \t"), max_size=2)


@given(
    st.lists(st.tuples(header_names, spaces, header_values, spaces), max_size=8),
    st.booleans(),
)
def test_headers_are_the_last_responses_trimmed_and_joined(headers: list, proxied: bool):
    """Whatever the names' case and the spaces around values: each name once, lower-cased, its
    values stripped and joined in order; a proxy's answer before them says nothing."""
    lines = [b"HTTP/1.1 200 Connection established\r\n", b"Via: proxy\r\n", b"\r\n"]
    lines = (lines if proxied else []) + [b"HTTP/1.1 200 OK\r\n"]
    expected: dict[str, list[str]] = {}
    for name, before, value, after in headers:
        lines.append(f"{name}:{before}{value}{after}\r\n".encode())
        expected.setdefault(name.lower(), []).append(value)
    got = parse_headers([*lines, b"\r\n"])
    assert dict(got) == {name: ", ".join(vals) for name, vals in expected.items()}


class RawServer:
    """A loopback HTTP/1.1 server that answers requests as ``answer(n)`` says: the bytes to send
    for the n-th request (counted over all connections), or None to close the connection
    without a byte; records each request's first line and its body."""

    def __init__(self, answer: Callable[[int], bytes | None]):
        self.answer, self.lines, self.bodies = answer, [], []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader:
            while line := reader.readline():
                self.lines.append(line.decode().strip())
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                self.bodies.append(reader.read(length))
                reply = self.answer(len(self.lines))
                if reply is None:
                    return
                conn.sendall(reply)

    def close(self) -> None:
        self.sock.close()


def ok(body: bytes = b'{"type": "list", "data": []}') -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def test_a_request_resent_after_a_dropped_connection_counts_as_a_call_and_a_failure():
    """libcurl sends a request again on a fresh connection when a kept-alive one closes before
    answering; the client must see that call, or its counts and its limiter fall short."""
    server = RawServer(lambda n: None if n == 2 else ok())
    try:
        client = IntercomResource(access_token="t", base_url=server.url).client()
        for _ in range(3):
            assert client.get("/tags") == {"type": "list", "data": []}
        assert len(server.lines) == 4
        assert client.stats.calls == 4
        assert client.stats.connection_errors == 1 and client.stats.retries == 1
        assert client.limiter._used == 4
    finally:
        server.close()


def test_a_connection_dropped_for_good_is_a_transport_error_naming_the_call():
    server = RawServer(lambda n: None)
    try:
        transport = IntercomResource(access_token="secret-token", base_url=server.url).client()
        with pytest.raises(TransportError) as failed:
            transport.transport.request("GET", f"{server.url}/tags", params={"email": "a@b.c"})
        assert failed.value.sent == 1
        assert f"GET {server.url}/tags:" in str(failed.value)
        assert "secret-token" not in str(failed.value) and "a@b.c" not in str(failed.value)
    finally:
        server.close()


def test_a_proxy_of_the_environment_carries_the_calls(monkeypatch: pytest.MonkeyPatch):
    """``HTTPS_PROXY`` routes calls to an https host through a CONNECT tunnel, as requests does."""
    proxy = RawServer(lambda n: b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    try:
        for var in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        client = IntercomResource(access_token="t", base_url="https://api.intercom.io").client()
        with pytest.raises(TransportError):
            client.transport.request("GET", "https://api.intercom.io/me")
        assert proxy.lines[0].startswith("CONNECT api.intercom.io:443 ")
    finally:
        proxy.close()


def test_one_connection_carries_gets_and_writes_in_any_order():
    """A handle reused after a plain GET sets only the URL; a write after it, and a GET after a
    write, must still go out as themselves (method and body), on the one kept-alive connection."""
    server = RawServer(lambda n: ok(b'{"n": %d}' % n))
    try:
        client = IntercomResource(access_token="t", base_url=server.url).client()
        assert client.get("/tags", {"page": "1"}) == {"n": 1}
        assert client.get("/tags", {"page": "2"}) == {"n": 2}
        assert client.request("POST", "/tags", json={"name": "vip"}) == {"n": 3}
        assert client.get("/admins") == {"n": 4}
        assert client.request("PUT", "/contacts/1", json={"name": "A"}) == {"n": 5}
        assert client.request("DELETE", "/tags/7") == {"n": 6}
        assert client.get("/me") == {"n": 7}
        assert [line.rsplit(" ", 1)[0] for line in server.lines] == [
            "GET /tags?page=1",
            "GET /tags?page=2",
            "POST /tags",
            "GET /admins",
            "PUT /contacts/1",
            "DELETE /tags/7",
            "GET /me",
        ]
        assert server.bodies == [b"", b"", b'{"name":"vip"}', b"", b'{"name":"A"}', b"", b""]
        assert client.transport.connections_opened == 1
    finally:
        server.close()


def limits_of(values: tuple[str, str, str] | None) -> tuple[int, int, float] | None:
    """What the client takes from the three rate-limit values (``IntercomClient``)."""
    try:
        return None if values is None else (int(values[0]), int(values[1]), float(values[2]))
    except ValueError:
        return None


rate_names = st.sampled_from(
    ["X-RateLimit-Limit", "x-ratelimit-remaining", "X-RATELIMIT-RESET", "X-RateLimit-Other", "Via"]
)
rate_values = st.one_of(st.integers(0, 10**10).map(str), header_values)
numbers = st.integers(0, 10**10).map(str)


@given(
    st.tuples(numbers, numbers, numbers),
    st.lists(st.tuples(rate_names, spaces, rate_values, spaces), max_size=4),
    st.lists(st.tuples(rate_names, rate_values), max_size=3),
    st.booleans(),
)
def test_rate_limits_are_read_as_the_parsed_headers_hold_them(
    limits: tuple, extra: list, before: list, proxied: bool
):
    """``Response.rate_limits`` (read without parsing every header, once per call) gives the
    client the same limits as the parsed headers would: any case and spacing, repeated headers
    unusable, an earlier response's headers ignored."""
    first = [b"HTTP/1.1 200 Connection established\r\n"]
    first += [f"{name}: {value}\r\n".encode() for name, value in before] + [b"\r\n"]
    lines = (first if proxied else []) + [b"HTTP/1.1 200 OK\r\n"]
    names = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
    lines += [f"{n.lower()}: {v}\r\n".encode() for n, v in zip(names, limits, strict=True)]
    lines += [f"{n}:{b}{v}{a}\r\n".encode() for n, b, v, a in extra] + [b"\r\n"]
    response = Response(200, lines, b"{}")
    parsed = parse_headers(lines)
    expected = tuple(parsed[n] for n in names) if all(n in parsed for n in names) else None
    assert limits_of(response.rate_limits()) == limits_of(expected)
    assert response.headers == parsed
