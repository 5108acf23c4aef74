"""Webhook emitter: signed ``notification_event`` deliveries like Intercom's (reference §7).

The signature is ``X-Hub-Signature: sha1=<HMAC-SHA1(client_secret, raw body)>`` and the user agent
is ``intercom-parrot-service-client/1.0``. Intercom waits 5 s for an answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import requests

from intercom_salesforce.sandbox.intercom.config import IntercomEmulatorConfig

USER_AGENT = "intercom-parrot-service-client/1.0"
DELIVERY_TIMEOUT_S = 5.0


def sign(body: bytes, client_secret: str) -> str:
    """``sha1=<hex>`` HMAC of the raw body keyed with the app's client secret."""
    digest = hmac.new(client_secret.encode(), body, hashlib.sha1).hexdigest()
    return f"sha1={digest}"


def envelope(
    topic: str,
    item: dict[str, Any],
    config: IntercomEmulatorConfig,
    now: int | None = None,
    delivery_attempts: int = 1,
) -> dict[str, Any]:
    """The ``notification_event`` envelope; ``ping`` carries ``id: null``."""
    ts = int(time.time() if now is None else now)
    return {
        "type": "notification_event",
        "app_id": config.app_id,
        "id": None if topic == "ping" else f"notif_{uuid.uuid4()}",
        "topic": topic,
        "data": {"type": "notification_event_data", "item": item},
        "links": {},
        "delivery_status": "pending",
        "delivery_attempts": delivery_attempts,
        "delivered_at": 0,
        "first_sent_at": ts,
        "created_at": ts,
        "self": None,
    }


def deliver(
    url: str,
    topic: str,
    item: dict[str, Any],
    config: IntercomEmulatorConfig,
    session: requests.Session | None = None,
    now: int | None = None,
) -> requests.Response:
    """POST one signed notification to ``url`` and return the receiver's response."""
    body = json.dumps(envelope(topic, item, config, now)).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Hub-Signature": sign(body, config.client_secret),
    }
    poster = session or requests
    return poster.post(url, data=body, headers=headers, timeout=DELIVERY_TIMEOUT_S)
