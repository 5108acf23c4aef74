"""``intercom-salesforce webhooks``: the optional receiver of Intercom's signed webhooks."""

from __future__ import annotations

import click

from intercom_salesforce import settings


@click.group(help="the optional Intercom webhook receiver")
def webhooks() -> None:
    """The receiver's commands."""


@webhooks.command(name="serve", help="receive signed webhooks and queue them")
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=8713)
def serve_command(host: str, port: int) -> int:
    """Serve until stopped; the webhook sensor turns what it queues into runs."""
    from werkzeug.serving import run_simple

    from intercom_salesforce.webhooks.queue import WebhookQueue
    from intercom_salesforce.webhooks.receiver import create_receiver

    queue = WebhookQueue(settings.paths().webhook_queue)
    app = create_receiver(queue, settings.intercom_client_secret())
    click.echo(
        f"Receiving Intercom webhooks on http://{host}:{port}/ "
        f"(queue {queue.path}); put it behind HTTPS for Intercom."
    )
    run_simple(host, port, app, threaded=True)
    return 0
