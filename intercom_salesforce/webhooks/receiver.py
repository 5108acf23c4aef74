"""Receives Intercom webhooks: checks the signature, queues conversation and contact events.

Intercom signs each delivery with ``X-Hub-Signature: sha1=<HMAC-SHA1(client secret, raw body)>``;
the comparison is constant-time (``hmac.compare_digest`` over bytes, so no header can turn it into
an error). A HEAD request (Intercom's URL check) and ``ping`` get 200. The receiver answers at once
(Intercom gives up after 5 s) and leaves the work to the sensor. Every answer has a JSON body:

* 413 when the body is larger than ``WEBHOOK_MAX_BODY_BYTES`` (default 1 MiB; Intercom's
  notifications are a few kilobytes): judged on ``Content-Length`` before anything is read, and
  while reading a chunked body, so a huge request never sits in memory;
* 401 when unsigned or wrongly signed; nothing is parsed or queued;
* 400 when signed but not a notification (not JSON, not an object, no string ``id``/``topic``,
  no ``data.item`` object): the sender has a bug, and a retry would not help;
* 200 ``queued``, ``duplicate`` (a redelivery of a notification id already seen: Intercom delivers
  at least once), ``ignored`` (a topic that starts no sync) or ``pong``;
* 500 only when the queue cannot be written, so that Intercom delivers again later.

Run it with ``intercom-salesforce webhooks serve``, which listens on 127.0.0.1 unless told
otherwise: put it behind an HTTPS reverse proxy rather than exposing it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request, Response

from intercom_salesforce.webhooks.queue import MalformedNotification, WebhookQueue, parse_envelope

TOPIC_PREFIXES = ("conversation.", "conversation_part.", "contact.", "event.created")
MAX_BODY_ENV = "WEBHOOK_MAX_BODY_BYTES"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
READ_CHUNK_BYTES = 64 * 1024
log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    """The request body is over the limit; nothing more of it is read."""


def max_body_bytes_setting(env: Mapping[str, str] = os.environ) -> int:
    """The body size limit from the environment; a bad value stops the receiver from starting
    rather than silently running without a limit."""
    raw = env.get(MAX_BODY_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_BODY_BYTES
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{MAX_BODY_ENV} must be a whole number of bytes, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"{MAX_BODY_ENV} must be positive, not {value}")
    return value


def valid_signature(body: bytes, header: str | None, client_secret: str) -> bool:
    """True when ``header`` is ``sha1=<hex HMAC of body>``; compared in constant time, as bytes,
    so a non-ASCII header is just a wrong signature (``compare_digest`` refuses non-ASCII str)."""
    if not header:
        return False
    scheme, _, provided = header.partition("=")
    if scheme.strip().lower() != "sha1":
        return False
    expected = hmac.new(client_secret.encode(), body, hashlib.sha1).hexdigest().encode("ascii")
    return hmac.compare_digest(expected, provided.strip().lower().encode("utf-8", "replace"))


def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or BodyTooLarge as soon as it is known to exceed ``limit``.

    A declared ``Content-Length`` is judged before reading; a chunked body is read in pieces never
    larger than what is still allowed, so a reader never waits for, or holds, more than limit + 1
    bytes.
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyTooLarge
    stream = request.stream
    body = bytearray()
    while chunk := stream.read(min(READ_CHUNK_BYTES, limit + 1 - len(body))):
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


def _json(payload: dict[str, Any], status: int, **headers: str) -> Response:
    return Response(
        json.dumps(payload), status=status, mimetype="application/json", headers=headers
    )


def _accept(envelope: Any, queue: WebhookQueue) -> Response:
    """Queue a verified notification, or say why it is not queued."""
    if isinstance(envelope, Mapping) and envelope.get("topic") == "ping":
        return _json({"status": "pong"}, 200)  # the ping carries id null and nothing to queue
    try:
        note = parse_envelope(envelope)
    except MalformedNotification as exc:
        log.warning("signed webhook refused as malformed: %s", exc)
        return _json({"error": f"not a notification: {exc}"}, 400)
    if not note["topic"].startswith(TOPIC_PREFIXES):
        return _json({"status": "ignored"}, 200)
    queued = queue.put(envelope)
    return _json({"status": "queued" if queued else "duplicate"}, 200)


def _handle(request: Request, queue: WebhookQueue, client_secret: str, limit: int) -> Response:
    if request.method == "HEAD":
        return Response(status=200)
    if request.method != "POST":
        return _json({"error": "only POST (and HEAD) are accepted"}, 405, Allow="HEAD, POST")
    try:
        body = read_body(request, limit)
    except BodyTooLarge:
        log.warning("webhook larger than %d bytes refused", limit)
        return _json({"error": f"body larger than {limit} bytes"}, 413)
    if not valid_signature(body, request.headers.get("X-Hub-Signature"), client_secret):
        log.warning("webhook with a missing or wrong signature refused")
        return _json({"error": "missing or invalid X-Hub-Signature"}, 401)
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        return _json({"error": "body is not JSON"}, 400)
    return _accept(envelope, queue)


def create_receiver(
    queue: WebhookQueue, client_secret: str, max_body_bytes: int | None = None
) -> Any:
    """The WSGI app. ``max_body_bytes`` defaults to ``WEBHOOK_MAX_BODY_BYTES`` (1 MiB when unset).

    An empty secret is refused: anyone could sign with it.
    """
    if not client_secret:
        raise ValueError("the client secret that verifies webhooks is empty")
    limit = max_body_bytes_setting() if max_body_bytes is None else max_body_bytes
    if limit < 1:
        raise ValueError(f"max_body_bytes must be positive, not {limit}")

    @Request.application
    def app(request: Request) -> Response:
        try:
            return _handle(request, queue, client_secret, limit)
        except Exception:
            # the queue could not be written (disk full, file locked too long): a 5xx makes
            # Intercom deliver again, and the details stay in our log, not in the answer
            log.exception("webhook could not be queued")
            return _json({"error": "could not queue the notification; deliver again later"}, 500)

    return app
