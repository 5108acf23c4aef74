"""Receives Intercom webhooks: checks the signature, queues conversation and contact events.

Intercom signs each delivery with ``X-Hub-Signature: sha1=<HMAC-SHA1(client secret, raw body)>``;
the comparison is constant-time (``hmac.compare_digest``). A HEAD request (Intercom's URL check) and
``ping`` get 200. Anything unsigned or wrongly signed gets 401 and is not queued. The receiver
answers at once (Intercom gives up after 5 s) and leaves the work to the sensor.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from werkzeug.wrappers import Request, Response

from intercom_salesforce.webhooks.queue import WebhookQueue

TOPIC_PREFIXES = ("conversation.", "conversation_part.", "contact.", "event.created")
log = logging.getLogger(__name__)


def valid_signature(body: bytes, header: str | None, client_secret: str) -> bool:
    if not header or not header.startswith("sha1="):
        return False
    expected = hmac.new(client_secret.encode(), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha1="))


def create_receiver(queue: WebhookQueue, client_secret: str) -> Any:
    @Request.application
    def app(request: Request) -> Response:
        if request.method == "HEAD":
            return Response(status=200)
        if request.method != "POST":
            return Response(status=405)
        body = request.get_data()
        if not valid_signature(body, request.headers.get("X-Hub-Signature"), client_secret):
            log.warning("webhook with a missing or wrong signature refused")
            return Response("invalid signature", status=401)
        try:
            envelope = json.loads(body)
        except ValueError:
            return Response("not JSON", status=400)
        topic = envelope.get("topic", "")
        if topic == "ping" or not envelope.get("id"):
            return Response(status=200)
        if topic.startswith(TOPIC_PREFIXES):
            queue.put(envelope)
        return Response(status=200)

    return app
