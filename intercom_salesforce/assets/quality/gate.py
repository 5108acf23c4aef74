"""Run a suite over a window with Great Expectations and turn it into one check result per rule.

One GX validation per window evaluates structural and row rules together; GX's unexpected-row
reporting (``unexpected_index_column_names`` set to the record id) gives exactly which records
broke which row rule, so the same rule set both gates the batch and fills the review queue.
A second validation, over what staging observed of the payload's keys, finds schema drift.

The results, for the checks declared in checks.py:

* ``<prefix>_pass_gx_suite`` (ERROR): the structural rules (ids, uniqueness, the window, enums);
* ``<prefix>_no_schema_drift`` (ERROR): a payload key that never arrived or has the wrong type;
* ``<prefix>_no_bad_batch`` (ERROR): a row rule broken by more than its share of the window;
* ``<prefix>_<rule>`` (WARN), one per row rule: its failing rows wait in the review queue.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from intercom_salesforce.assets.quality.review_queue import (
    checked_records,
    queue_rule_failures,
    resolve_passing,
)
from intercom_salesforce.assets.quality.suites import RowRule, Suite
from intercom_salesforce.mapping import Mapping
from intercom_salesforce.warehouse import ident, literal, read_sql

logging.getLogger("great_expectations").setLevel(logging.WARNING)

SQL = Path(__file__).parent / "sql"
SAMPLE_SIZE = 5
DRIFT_RULES = ("schema_missing_column", "schema_wrong_type")


@dataclass
class RuleOutcome:
    """What GX said about one rule; ``failing`` is its unexpected index list (row rules)."""

    name: str
    success: bool
    unexpected: int = 0
    sample: list[Any] = field(default_factory=list)
    failing: list[dict[str, Any]] = field(default_factory=list)
    details: Any = None
    applies: bool = True


@dataclass(frozen=True)
class GateWindow:
    """The partition window a check runs over, as days (SQL) and epoch seconds (GX bounds)."""

    first_day: str
    last_day: str
    start: int
    end: int


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


def _run_suite(
    df: pd.DataFrame, name: str, expectations: dict[str, Any], index_column: str
) -> dict[str, Any]:
    """Validate ``df`` against {rule name: expectation} in one GX run; the results by rule."""
    gx, context = _gx_context()
    batch = (
        context.data_sources.add_pandas("staging")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("window")
        .get_batch(batch_parameters={"dataframe": df})
    )
    gx_suite = context.suites.add(gx.ExpectationSuite(name=name))
    for rule, expectation in expectations.items():
        expectation.meta = {"rule": rule}
        gx_suite.add_expectation(expectation)
    result = batch.validate(
        gx_suite,
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": [index_column],
            "partial_unexpected_count": SAMPLE_SIZE,
        },
    )
    return {r.expectation_config.meta["rule"]: r for r in result.results}


def _outcome(name: str, r: Any) -> RuleOutcome:
    res = r.result or {}
    failing = res.get("unexpected_index_list") or []
    return RuleOutcome(
        name, bool(r.success), int(res.get("unexpected_count") or 0), failing[:SAMPLE_SIZE], failing
    )


def validate(
    df: pd.DataFrame, suite: Suite, window: GateWindow, mapping: Mapping | None
) -> tuple[list[RuleOutcome], dict[str, RuleOutcome]]:
    """The structural outcomes, and the row rules' by rule name, from one GX run.

    A row rule the mapping leaves nothing to check passes without an expectation.
    """
    structural = {_describe(e.configuration): e for e in suite.structural(window.start, window.end)}
    built = {rule.name: rule.build(mapping) for rule in suite.row_rules}
    applied = {name: e for name, e in built.items() if e is not None}
    results = _run_suite(df, suite.check_name, {**structural, **applied}, suite.id_column)
    outcomes = [_outcome(name, results[name]) for name in structural]
    by_rule = {
        name: _outcome(name, results[name])
        if name in applied
        else RuleOutcome(name, True, applies=False)
        for name in built
    }
    return outcomes, by_rule


def drift_outcomes(conn: duckdb.DuckDBPyConnection, entity: str, run_id: str) -> list[RuleOutcome]:
    """Schema drift seen while staging: a key that never arrived, or a value of the wrong type.

    Validated by GX over the observations with the column name as the unexpected index, so the
    failed check names the drifted columns. No observations (nothing staged yet): no drift.
    """
    import great_expectations as gx

    from intercom_salesforce.assets.extract.drift import CREATE_SQL

    conn.execute(CREATE_SQL)
    df = conn.execute(read_sql("drift_observations.sql", SQL), [entity, run_id]).df()
    if df.empty:
        return [RuleOutcome(name, True) for name in DRIFT_RULES]
    expectations = {
        "schema_missing_column": gx.expectations.ExpectColumnValuesToBeInSet(
            column="key_never_arrived", value_set=[False]
        ),
        "schema_wrong_type": gx.expectations.ExpectColumnValuesToBeBetween(
            column="wrong_type", max_value=0
        ),
    }
    results = _run_suite(df, f"{entity}_payload_schema", expectations, "column_name")
    outcomes = []
    for name in DRIFT_RULES:
        r = results[name]
        failing = [f["column_name"] for f in (r.result or {}).get("unexpected_index_list") or []]
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
        outcomes.append(RuleOutcome(name, bool(r.success), len(failing), failing, [], details))
    return outcomes


def _json(value: Any) -> dg.MetadataValue:
    return dg.MetadataValue.json(json.loads(json.dumps(value, default=str)))


def _rule_json(o: RuleOutcome) -> dict[str, Any]:
    return {
        "passed": o.success,
        "unexpected": o.unexpected,
        **({"sample": o.sample} if o.sample else {}),
        **({"details": o.details} if o.details else {}),
    }


def _failed(outcomes: list[RuleOutcome]) -> str:
    return ", ".join(o.name for o in outcomes if not o.success) or "none"


def structure_result(suite: Suite, outcomes: list[RuleOutcome], rows: int) -> dg.AssetCheckResult:
    """The batch's shape: any structural rule failing blocks everything downstream."""
    return dg.AssetCheckResult(
        check_name=suite.check_name,
        asset_key=dg.AssetKey(suite.entity),
        passed=all(o.success for o in outcomes),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows_checked": rows,
            "failed_rules": _failed(outcomes),
            "rules": _json({o.name: _rule_json(o) for o in outcomes}),
        },
    )


def drift_result(suite: Suite, outcomes: list[RuleOutcome]) -> dg.AssetCheckResult:
    """The payload's keys as staging saw them: a missing or retyped key blocks."""
    drifted = sorted({c for o in outcomes for c in o.sample})
    return dg.AssetCheckResult(
        check_name=suite.drift_check_name,
        asset_key=dg.AssetKey(suite.entity),
        passed=all(o.success for o in outcomes),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "schema_drift_columns": ", ".join(drifted) or "none",
            "failed_rules": _failed(outcomes),
            "rules": _json({o.name: _rule_json(o) for o in outcomes}),
        },
    )


def _see_sql(suite: Suite, window: GateWindow, rule: str | None = None) -> dg.MetadataValue:
    only = f" AND rule = {literal(rule)}" if rule else ""
    return dg.MetadataValue.md(
        "```sql\nSELECT * FROM quality.review_queue\n"
        f"WHERE entity = {literal(suite.entity)}{only} AND partition_date BETWEEN "
        f"{literal(window.first_day)} AND {literal(window.last_day)}\nORDER BY rule, record_id;\n```"
    )


@dataclass(frozen=True)
class RowReview:
    """One row rule's outcome after its failures went to review."""

    rule: RowRule
    outcome: RuleOutcome
    share: float
    over_share: bool
    queued: int
    resolved: int


def review_rule(
    conn: duckdb.DuckDBPyConnection,
    suite: Suite,
    rule: RowRule,
    outcome: RuleOutcome,
    df: pd.DataFrame,
    run_id: str,
) -> RowReview:
    """Queue the rule's failing rows, resolve the items of rows that pass it now, judge its share.

    Needs ``_rechecked`` (review_queue.checked_records) holding the frame's records.
    """
    rows = len(df)
    queued = (
        queue_rule_failures(conn, suite, rule, df, outcome.failing, run_id)
        if outcome.failing
        else 0
    )
    still = {str(f[suite.id_column]) for f in outcome.failing}
    resolved = resolve_passing(conn, suite.entity, [rule.name], {rule.name: still})
    share = outcome.unexpected / rows if rows else 0.0
    over = share > rule.max_bad_share and rows >= rule.min_rows_for_share
    return RowReview(rule, outcome, share, over, queued, resolved)


def rule_result(
    suite: Suite, review: RowReview, rows: int, window: GateWindow
) -> dg.AssetCheckResult:
    """One row rule as a warning: the records breaking it wait in review, the rest go on."""
    o = review.outcome
    return dg.AssetCheckResult(
        check_name=suite.rule_check_name(review.rule),
        asset_key=dg.AssetKey(suite.entity),
        passed=o.success,
        severity=dg.AssetCheckSeverity.WARN,
        description=None if o.success else review.rule.reason,
        metadata={
            "rule": review.rule.name,
            "applies": o.applies,
            "rows_checked": rows,
            "unexpected_count": o.unexpected,
            "unexpected_share": round(review.share, 4),
            "sample": _json(o.sample),
            "rows_sent_to_review": review.queued,
            "review_items_resolved": review.resolved,
            "see_all_sql": _see_sql(suite, window, review.rule.name),
        },
    )


def batch_result(
    suite: Suite, reviews: list[RowReview], rows: int, window: GateWindow
) -> dg.AssetCheckResult:
    """A row rule broken by more than its share of the window means something upstream broke."""
    blocking = [r.rule.name for r in reviews if r.over_share]
    return dg.AssetCheckResult(
        check_name=suite.batch_check_name,
        asset_key=dg.AssetKey(suite.entity),
        passed=not blocking,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows_checked": rows,
            "blocking_rules": ", ".join(blocking) or "none",
            "rows_sent_to_review": sum(r.queued for r in reviews),
            "review_items_resolved": sum(r.resolved for r in reviews),
            **{f"unexpected_{r.rule.name}": r.outcome.unexpected for r in reviews},
            "rules": _json(
                {
                    r.rule.name: {
                        "unexpected": r.outcome.unexpected,
                        "share": round(r.share, 4),
                        "max_bad_share": r.rule.max_bad_share,
                        "min_rows_for_share": r.rule.min_rows_for_share,
                        "blocks": r.over_share,
                    }
                    for r in reviews
                }
            ),
            "see_all_sql": _see_sql(suite, window),
        },
    )


def with_derived_columns(
    conn: duckdb.DuckDBPyConnection, df: pd.DataFrame, suite: Suite, mapping: Mapping | None
) -> pd.DataFrame:
    """The frame plus the columns the row rules derive from the mapping, computed in DuckDB."""
    derived = {
        name: sql
        for rule in suite.row_rules
        if rule.derive is not None
        for name, sql in rule.derive(mapping).items()
    }
    if not derived:
        return df
    columns = ", ".join(f"{sql} AS {ident(name)}" for name, sql in derived.items())
    conn.register("_frame", df.assign(_row=range(len(df))))
    try:
        values = conn.execute(f"SELECT {columns} FROM _frame ORDER BY _row").df()
    finally:
        conn.unregister("_frame")
    return df.assign(**{name: values[name].to_numpy() for name in derived})


def run_gate(
    conn: duckdb.DuckDBPyConnection,
    suite: Suite,
    window: GateWindow,
    run_id: str,
    mapping: Mapping | None = None,
) -> list[dg.AssetCheckResult]:
    """Check the window, put offending rows in the review queue, one result per declared check."""
    df = conn.execute(suite.frame_sql, [window.first_day, window.last_day]).df()
    df = with_derived_columns(conn, df, suite, mapping)
    structural, by_rule = validate(df, suite, window, mapping)
    results = [
        structure_result(suite, structural, len(df)),
        drift_result(suite, drift_outcomes(conn, suite.entity, run_id)),
    ]
    if suite.row_rules:
        checked_records(conn, df[suite.id_column])
        reviews = [
            review_rule(conn, suite, rule, by_rule[rule.name], df, run_id)
            for rule in suite.row_rules
        ]
        results.append(batch_result(suite, reviews, len(df), window))
        results += [rule_result(suite, r, len(df), window) for r in reviews]
    return results
