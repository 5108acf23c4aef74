"""Keeps Salesforce in step with Intercom: extract, gate, match, map and push with Dagster."""

import warnings

# Two Dagster settings the asset graph relies on are marked beta or preview: a single-run
# backfill policy (a backfill of many days is one run) and partitioned asset checks (the quality
# gate runs per day). Both are known and chosen; their warnings would only bury the project's own
# output, so these two messages, and no others, are silenced.
for _message in (
    r"Parameter `backfill_policy` of function `asset` is currently in beta",
    r"Specifying a partitions_def on an AssetCheckSpec is currently in preview",
):
    warnings.filterwarnings("ignore", message=_message)
