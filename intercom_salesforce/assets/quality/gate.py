"""Run a suite over a window with Great Expectations, queue the offending rows, decide the gate.

One GX validation per window evaluates structural and row rules together; GX's unexpected-row
reporting (``unexpected_index_column_names`` set to the record id) gives exactly which records
broke which row rule, so the same rule set both gates the batch and fills the review queue.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from intercom_salesforce.assets.quality.review_queue import queue_rule_failures, resolve_passing
from intercom_salesforce.assets.quality.suites import RowRule, Suite

logging.getLogger("great_expectations").setLevel(logging.WARNING)


@dataclass
class RuleOutcome:
    name: str
    kind: str  # structural | row
    success: bool
    unexpected: int = 0
    share: float = 0.0
    blocks: bool = False
    sample: list[Any] = field(default_factory=list)
    details: Any = None


def _describe(cfg: Any) -> str:
    column = cfg.kwargs.get("column") or ",".join(cfg.kwargs.get("column_list") or [])
    return f"{cfg.type}({column})" if column else cfg.type


def _gx_context() -> Any:
    """An ephemeral GX context (no project files to keep in sync), GX imported only when used."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return gx, context


def validate(df: pd.DataFrame, suite: Suite, start: int, end: int) -> Any:
    """Validate a frame against the suite's structural and row rules."""
    gx, context = _gx_context()
    asset = context.data_sources.add_pandas("staging").add_dataframe_asset(suite.entity)
    batch = asset.add_batch_definition_whole_dataframe("window").get_batch(
        batch_parameters={"dataframe": df}
    )
    gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.check_name))
    for expectation in suite.structural(start, end):
        expectation.meta = {"kind": "structural", "rule": _describe(expectation.configuration)}
        gx_suite.add_expectation(expectation)
    for rule in suite.row_rules:
        expectation = rule.build()
        expectation.meta = {"kind": "row", "rule": rule.name}
        gx_suite.add_expectation(expectation)
    return batch.validate(
        gx_suite,
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": [suite.id_column],
            "partial_unexpected_count": 5,
        },
    )


DRIFT_FRAME = """
    SELECT column_name, source_path, expected_type, records, missing, wrong_type, sample,
           (records > 0 AND missing = records) AS key_never_arrived
    FROM staging.payload_observations
    WHERE entity = $1 AND run_id = coalesce(
        (SELECT max(run_id) FROM staging.payload_observations WHERE entity = $1 AND run_id = $2),
        (SELECT arg_max(run_id, observed_at) FROM staging.payload_observations WHERE entity = $1))
"""


def drift_outcomes(conn: duckdb.DuckDBPyConnection, entity: str, run_id: str) -> list[RuleOutcome]:
    """Schema drift seen while staging: a key that never arrived, or a value of the wrong type.

    Validated by GX over the observations with the column name as the unexpected index, so the
    failed check names the drifted columns.
    """
    from intercom_salesforce.assets.extract.drift import CREATE_SQL

    conn.execute(CREATE_SQL)
    df = conn.execute(DRIFT_FRAME, [entity, run_id]).df()
    if df.empty:
        return []
    gx, context = _gx_context()
    batch = (
        context.data_sources.add_pandas("observations")
        .add_dataframe_asset(entity)
        .add_batch_definition_whole_dataframe("run")
        .get_batch(batch_parameters={"dataframe": df})
    )
    suite = context.suites.add(gx.ExpectationSuite(name=f"{entity}_payload_schema"))
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeInSet(column="key_never_arrived", value_set=[False])
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(column="wrong_type", max_value=0)
    )
    result = batch.validate(
        suite,
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": ["column_name"],
        },
    )
    outcomes = []
    for r, name in zip(result.results, ["schema_missing_column", "schema_wrong_type"], strict=True):
        failing = [f["column_name"] for f in (r.result or {}).get("unexpected_index_list") or []]
        details = None
        if failing:
            rows = df[df["column_name"].isin(failing)]
            details = {
                row.column_name: {
                    "source": row.source_path,
                    "expected": row.expected_type,
                    "missing": int(row.missing),
                    "wrong_type": int(row.wrong_type),
                    "sample": row.sample,
                }
                for row in rows.itertuples()
            }
        outcomes.append(
            RuleOutcome(
                name,
                "structural",
                bool(r.success),
                len(failing),
                blocks=not r.success,
                sample=failing,
                details=details,
            )
        )
    return outcomes


def run_gate(
    conn: duckdb.DuckDBPyConnection,
    suite: Suite,
    first_day: str,
    last_day: str,
    window: dg.TimeWindow,
    run_id: str,
) -> dg.AssetCheckResult:
    """Check the window, put offending rows in the review queue, return the blocking result."""
    df = conn.execute(suite.frame_sql, [first_day, last_day]).df()
    start, end = int(window.start.timestamp()), int(window.end.timestamp())
    result = validate(df, suite, start, end)
    rules = {r.name: r for r in suite.row_rules}
    outcomes: list[RuleOutcome] = []
    queued = 0
    rows = len(df)
    failing_by_rule: dict[str, set[str]] = {}
    for r in result.results:
        meta = r.expectation_config.meta or {}
        res = r.result or {}
        unexpected = int(res.get("unexpected_count") or 0)
        outcome = RuleOutcome(
            meta.get("rule", r.expectation_config.type),
            meta.get("kind", "?"),
            bool(r.success),
            unexpected,
        )
        outcome.sample = (res.get("unexpected_index_list") or [])[:5]
        if outcome.kind == "structural":
            outcome.blocks = not r.success
            if r.expectation_config.type == "expect_table_columns_to_match_set":
                outcome.details = res.get("details")
        else:
            rule: RowRule = rules[outcome.name]
            outcome.share = unexpected / rows if rows else 0.0
            outcome.blocks = outcome.share > rule.max_bad_share and rows >= rule.min_rows_for_share
            failing = res.get("unexpected_index_list") or []
            failing_by_rule[rule.name] = {str(f[suite.id_column]) for f in failing}
            if failing:
                queued += queue_rule_failures(conn, suite, rule, df, failing, run_id)
        outcomes.append(outcome)
    resolved = 0
    if suite.row_rules and rows:
        conn.register("_checked_df", df[[suite.id_column]].astype(str))
        conn.execute(
            f'CREATE OR REPLACE TEMP TABLE _checked AS SELECT DISTINCT "{suite.id_column}" '
            "AS record_id FROM _checked_df"
        )
        conn.unregister("_checked_df")
        resolved = resolve_passing(
            conn, suite.entity, list(rules), "SELECT record_id FROM _checked", [], failing_by_rule
        )
    outcomes.extend(drift_outcomes(conn, suite.entity, run_id))
    drifted = sorted({c for o in outcomes if o.name.startswith("schema_") for c in o.sample})
    passed = not any(o.blocks for o in outcomes)
    failed_names = [o.name for o in outcomes if not o.success]
    per_rule = {
        o.name: {
            "kind": o.kind,
            "passed": o.success,
            "unexpected": o.unexpected,
            **({"share": round(o.share, 4)} if o.kind == "row" else {}),
            "blocks": o.blocks,
            **({"sample": o.sample} if o.sample else {}),
            **({"details": o.details} if o.details else {}),
        }
        for o in outcomes
    }
    blocking = [o.name for o in outcomes if o.blocks]
    return dg.AssetCheckResult(
        check_name=suite.check_name,
        asset_key=dg.AssetKey(suite.entity),
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows_checked": rows,
            "blocking_rules": ", ".join(blocking) or "none",
            "schema_drift_columns": ", ".join(drifted) or "none",
            "failed_rules": ", ".join(failed_names) or "none",
            "rows_sent_to_review": queued,
            "review_items_resolved": resolved,
            **{f"unexpected_{o.name}": o.unexpected for o in outcomes if o.kind == "row"},
            "rules": dg.MetadataValue.json(json.loads(json.dumps(per_rule, default=str))),
            "see_all_sql": dg.MetadataValue.md(
                "```sql\nSELECT * FROM quality.review_queue\n"
                f"WHERE entity = '{suite.entity}' AND partition_date BETWEEN '{first_day}' "
                f"AND '{last_day}'\nORDER BY rule, record_id;\n```"
            ),
        },
    )
