"""One extraction in its own process (called by the other ``extract_*`` benchmarks).

Argument: a JSON object with ``url``, ``warehouse``, ``assets`` (asset names), ``first``/``last``
partition keys, ``full_refresh`` and ``resource_config`` (extra ``IntercomResource`` fields).
Prints one JSON line: per-asset materialization metadata, wall seconds and this process's peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    import dagster as dg

    from intercom_salesforce.assets.extract.records import RECORD_ASSETS
    from intercom_salesforce.assets.extract.reference import REFERENCE_ASSETS
    from intercom_salesforce.resources.intercom import IntercomResource
    from intercom_salesforce.resources.sync_settings import SyncSettings
    from intercom_salesforce.resources.warehouse import WarehouseResource
    from intercom_salesforce.settings import SANDBOX_INTERCOM_TOKEN

    args = json.loads(sys.argv[1])
    by_name = {a.key.to_user_string(): a for a in [*RECORD_ASSETS, *REFERENCE_ASSETS]}
    assets = [by_name[name] for name in args["assets"]]
    tags = {
        "dagster/asset_partition_range_start": args["first"],
        "dagster/asset_partition_range_end": args["last"],
    }
    if args.get("full_refresh"):
        tags["intercom_salesforce/full_refresh"] = "true"
    work = tempfile.mkdtemp(prefix="extract-bench-")
    started = time.monotonic()
    result = dg.materialize(
        assets,
        resources={
            "intercom": IntercomResource(
                access_token=SANDBOX_INTERCOM_TOKEN,
                base_url=args["url"],
                mode="sandbox",
                **args.get("resource_config", {}),
            ),
            "warehouse": WarehouseResource(database=args["warehouse"]),
            "sync_settings": SyncSettings(work_dir=work),
        },
        instance=dg.DagsterInstance.ephemeral(),
        tags=tags,
        raise_on_error=False,
    )
    seconds = time.monotonic() - started
    report: dict = {
        "success": result.success,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_seconds": round(sum(os.times()[:2]), 2),  # this process's own, imports included
        "assets": {},
    }
    if not result.success:
        report["errors"] = [str(e.message)[:2000] for e in result.all_events if e.is_failure]
    for asset in assets:
        name = asset.key.to_user_string()
        mats = result.asset_materializations_for_node(name)
        if mats:
            report["assets"][name] = {
                k: (v.value if isinstance(v.value, int | float | str | bool) else str(v.value))
                for k, v in mats[-1].metadata.items()
            }
    print(json.dumps(report))
    return 0 if result.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
