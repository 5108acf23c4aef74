"""The root command group, and :func:`main`, the ``intercom-salesforce`` console script."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from intercom_salesforce.cli.demo import demo
from intercom_salesforce.cli.plan import plan
from intercom_salesforce.cli.review import review
from intercom_salesforce.cli.sandbox import sandbox
from intercom_salesforce.cli.sync import sync
from intercom_salesforce.cli.trace import trace
from intercom_salesforce.cli.webhooks import webhooks

PROG = "intercom-salesforce"


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    help="The demo, the sandbox's seed/reset/serve, one sync run, the plan of one (a dry run), "
    "a record's trace, the review queue and the webhook receiver.",
)
def cli() -> None:
    """Nothing to do before a command: each one loads what it needs."""


for command in (demo, sync, plan, trace, sandbox, review, webhooks):
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code (2 for a usage error).

    Parsed and invoked without click's standalone mode, so a command's own exit code comes
    back to the caller (tests call ``main([...])``) and Ctrl-C stays a ``KeyboardInterrupt``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        with cli.make_context(PROG, args) as ctx:
            return cli.invoke(ctx) or 0
    except click.exceptions.Exit as exc:  # --help
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
