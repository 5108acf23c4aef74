"""The Great Expectations suite that gates staged contacts before anything reaches Salesforce.

Structural expectations (columns, ids, timestamps in the window) and row expectations whose bad
share over a threshold means something upstream broke (a broken email field, say) both fail the
check; the check is blocking, so the match and push assets do not run on a bad batch.
GX's unexpected-row reporting, keyed by the contact id, supplies the failing ids for metadata.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import dagster as dg
import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig

from intercom_salesforce.warehouse import STAGING_CONTACTS

CONTACTS_SUITE_CHECK = "contacts_pass_gx_suite"
EMAIL_REGEX = r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"
MAX_BAD_EMAIL_SHARE = 0.05

EXPECTED_COLUMNS = [
    "id",
    "workspace_id",
    "external_id",
    "role",
    "email",
    "email_domain",
    "name",
    "phone",
    "owner_id",
    "unsubscribed_from_emails",
    "created_at",
    "updated_at",
    "signed_up_at",
    "last_seen_at",
    "custom_attributes",
    "location",
    "tags",
    "companies",
    "partition_date",
    "extracted_at",
    "run_id",
]

logging.getLogger("great_expectations").setLevel(logging.WARNING)


def contacts_expectations(window_start_epoch: int, window_end_epoch: int) -> list[Any]:
    """One rule set, built per window because the timestamp bounds are the window's."""
    e = gx.expectations
    return [
        e.ExpectTableColumnsToMatchSet(
            column_set=EXPECTED_COLUMNS + ["updated_epoch"], exact_match=True
        ),
        e.ExpectColumnValuesToNotBeNull(column="id"),
        e.ExpectColumnValuesToBeUnique(column="id"),
        e.ExpectColumnValuesToNotBeNull(column="updated_epoch"),
        e.ExpectColumnValuesToBeBetween(
            column="updated_epoch", min_value=window_start_epoch, max_value=window_end_epoch - 1
        ),
        e.ExpectColumnValuesToBeInSet(column="role", value_set=["user", "lead"]),
        e.ExpectColumnValuesToMatchRegex(
            column="email", regex=EMAIL_REGEX, mostly=1 - MAX_BAD_EMAIL_SHARE
        ),
    ]


def run_suite(df: pd.DataFrame, name: str, expectations: list[Any]) -> Any:
    """Validate a frame in an ephemeral GX context (no project files to keep in sync)."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("staging").add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe("window").get_batch(
        batch_parameters={"dataframe": df}
    )
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for expectation in expectations:
        suite.add_expectation(expectation)
    return batch.validate(
        suite,
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": ["id"],
            "partial_unexpected_count": 5,
        },
    )


def validate_contacts_window(conn, first_day: str, last_day: str, window) -> dg.AssetCheckResult:
    """Validate the window's staged rows and turn the GX result into a Dagster check result."""
    df = conn.execute(
        f"SELECT *, epoch(updated_at)::BIGINT AS updated_epoch FROM {STAGING_CONTACTS} "
        "WHERE partition_date BETWEEN ? AND ?",
        [first_day, last_day],
    ).df()
    result = run_suite(
        df,
        "intercom_contacts",
        contacts_expectations(int(window.start.timestamp()), int(window.end.timestamp())),
    )
    per_rule: dict[str, Any] = {}
    failed_rules = []
    for r in result.results:
        cfg = r.expectation_config
        name = cfg.type + (f"({cfg.kwargs['column']})" if "column" in cfg.kwargs else "")
        res = r.result or {}
        unexpected = res.get("unexpected_count", 0) or 0
        per_rule[name] = {"success": bool(r.success), "unexpected": int(unexpected)}
        if not r.success:
            failed_rules.append(name)
            sample = (res.get("unexpected_index_list") or [])[:5]
            if sample:
                per_rule[name]["sample"] = sample
            if cfg.type == "expect_table_columns_to_match_set":
                per_rule[name]["details"] = res.get("details")
    rows = len(df)
    return dg.AssetCheckResult(
        check_name=CONTACTS_SUITE_CHECK,
        passed=bool(result.success),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows_checked": rows,
            "failed_rules": ", ".join(failed_rules) or "none",
            "rules": dg.MetadataValue.json(json.loads(json.dumps(per_rule, default=str))),
            "see_all_sql": dg.MetadataValue.md(
                f"```sql\nSELECT * FROM {STAGING_CONTACTS}\n"
                f"WHERE partition_date BETWEEN '{first_day}' AND '{last_day}';\n```"
            ),
        },
    )
