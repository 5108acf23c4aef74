"""``intercom-salesforce``: the demo, the sandbox's seed/reset/serve, one sync run, the plan of
one (a dry run), the review queue, the webhook receiver, and a run summary.

One module per command group (``demo``, ``sync``, ``plan``, ``sandbox``, ``review``, ``webhooks``), the
root group and the console script's :func:`main` in ``app``, running a job in ``runs``, and the
summary printed after a run in ``summary``.
"""

from intercom_salesforce.cli.app import main
from intercom_salesforce.cli.summary import print_summary

__all__ = ["main", "print_summary"]
