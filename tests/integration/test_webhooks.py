"""Signed webhooks from the emulator are verified, queued once, and turned into runs."""

from __future__ import annotations

import dagster as dg
import requests

from intercom_salesforce.automation.sensors import build_webhook_sensor
from intercom_salesforce.definitions import defs, sync_conversations_job, sync_people_job
from intercom_salesforce.sandbox.intercom.config import IntercomEmulatorConfig
from intercom_salesforce.sandbox.intercom.webhooks import deliver, envelope
from intercom_salesforce.sandbox.serving import start_in_thread
from intercom_salesforce.settings import SANDBOX_INTERCOM_CLIENT_SECRET
from intercom_salesforce.webhooks.queue import WebhookQueue
from intercom_salesforce.webhooks.receiver import create_receiver


def test_signed_webhooks_become_runs(tmp_path):
    queue = WebhookQueue(tmp_path / "webhooks.sqlite")
    server = start_in_thread(create_receiver(queue, SANDBOX_INTERCOM_CLIENT_SECRET))
    config = IntercomEmulatorConfig()
    assert config.client_secret == SANDBOX_INTERCOM_CLIENT_SECRET
    try:
        assert requests.head(server.url, timeout=5).status_code == 200  # Intercom's URL check
        item = {"type": "conversation", "id": "4000007", "updated_at": 1764000000}
        assert deliver(server.url, "conversation.user.created", item, config).status_code == 200
        assert (
            deliver(
                server.url,
                "contact.lead.signed_up",
                {"type": "contact", "id": "abc", "updated_at": 1764003600},
                config,
            ).status_code
            == 200
        )
        # a forged delivery is refused and not queued
        body = envelope("conversation.admin.closed", item, config)
        forged = requests.post(
            server.url, json=body, timeout=5, headers={"X-Hub-Signature": "sha1=" + "0" * 40}
        )
        assert forged.status_code == 401
        # a redelivery of the same notification is queued once
        twice = envelope("conversation.admin.replied", item, config)
        import json

        from intercom_salesforce.sandbox.intercom.webhooks import sign

        raw = json.dumps(twice).encode()
        for _ in range(2):
            requests.post(
                server.url,
                data=raw,
                timeout=5,
                headers={
                    "X-Hub-Signature": sign(raw, config.client_secret),
                    "Content-Type": "application/json",
                },
            )
    finally:
        server.stop()

    sensor = build_webhook_sensor(
        sync_people_job, sync_conversations_job, str(tmp_path / "webhooks.sqlite")
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))
    requested = sorted((r.job_name, r.partition_key) for r in result.run_requests)
    assert requested == [
        ("sync_conversations_job", "2025-11-24"),
        ("sync_people_job", "2025-11-24"),
    ]
    assert WebhookQueue(tmp_path / "webhooks.sqlite").take() == []  # consumed
