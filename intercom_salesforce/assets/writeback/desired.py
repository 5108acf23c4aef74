"""The desired Intercom state, set-based: every attribute and milestone of every matched record as
one cell, and each cell's action decided against what was last written.

``stage_desired`` leaves ``_writeback_decided`` (one row per record and attribute or ``tag:<key>``,
with its ``action``: write, attach, detach, adopt or keep, and whether it is a conflict) in the
connection; the statements are in ``sql/``, the per-attribute SQL comes from the mapping
(``mapping.writeback``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from intercom_salesforce.mapping import Mapping
from intercom_salesforce.mapping.model import AttributeMapping
from intercom_salesforce.mapping.writeback import (
    COMPANIES,
    PEOPLE,
    SalesforceSides,
    attribute_sql,
    condition_sql,
    plain_person_field,
)
from intercom_salesforce.warehouse import ident, literal, read_sql

SQL = Path(__file__).parent / "sql"
Model = Literal["contact", "company"]
TAG_PREFIX = "tag:"


@dataclass(frozen=True)
class Target:
    """One Intercom model the write-back fills: its sides relation and the mapping's entries."""

    model: Model
    section: str  # the to_intercom key of its attributes
    sides_sql: str
    sides_table: str
    source: SalesforceSides

    def attributes(self, mapping: Mapping) -> dict[str, AttributeMapping]:
        section = mapping.to_intercom
        return section.contacts if self.model == "contact" else section.companies

    def tags(self, mapping: Mapping) -> dict:
        tags = mapping.to_intercom.tags.items()
        return {k: t for k, t in tags if self.model == "contact" or t.companies}


CONTACT = Target("contact", "contacts", "people_sides.sql", "_writeback_people", PEOPLE)
COMPANY = Target("company", "companies", "company_sides.sql", "_writeback_companies", COMPANIES)


def _echo(am: AttributeMapping) -> tuple[str, str, str]:
    """SQL of (the Salesforce object, field, raw value) the push may have sent this value to."""
    plain = plain_person_field(am)
    if plain is None:
        return "NULL", "NULL", "NULL"
    side, field = plain
    obj = {"lead": "'Lead'", "contact": "'Contact'"}.get(side, "c.sf_object")
    return obj, literal(field), f"c.{ident(side)}->>{literal(field)}"


def _cells(target: Target, mapping: Mapping) -> list[str]:
    """One struct per attribute and tag of ``target``, over the sides row ``c``."""
    out = []
    for name, am in target.attributes(mapping).items():
        where = mapping.where(("to_intercom", target.section, name))
        obj, field, raw = _echo(am)
        out.append(
            f"struct_pack(attribute := {literal(name)}, "
            f"value := {attribute_sql(am, target.source, where)}, "
            f"intercom_value := c.custom_attributes->>{literal(name)}, "
            f"echo_object := {obj}, echo_field := {field}, echo_value := {raw})"
        )
    for key, milestone in target.tags(mapping).items():
        out.append(
            f"struct_pack(attribute := {literal(TAG_PREFIX + key)}, "
            f"value := CASE WHEN {condition_sql(milestone.when, target.source)} "
            "THEN 'true' ELSE 'false' END, intercom_value := NULL::VARCHAR, "
            "echo_object := NULL, echo_field := NULL, echo_value := NULL)"
        )
    return out


def _settings_rows(target: Target, mapping: Mapping) -> list[str]:
    """SQL VALUES rows of what each cell needs besides its value: kind, type, policy, tag."""
    rows = []
    for name, am in target.attributes(mapping).items():
        rows.append(
            f"({literal(target.model)}, {literal(name)}, 'attribute', {literal(am.type)}, "
            f"{literal(am.source_of_truth)}, {am.clear_when_null}, FALSE, NULL)"
        )
    for key, milestone in target.tags(mapping).items():
        rows.append(
            f"({literal(target.model)}, {literal(TAG_PREFIX + key)}, 'tag', NULL, 'salesforce', "
            f"FALSE, {milestone.remove_when_false}, {literal(milestone.tag)})"
        )
    return rows


def stage_desired(
    conn: duckdb.DuckDBPyConnection, target: Target, mapping: Mapping, instance_url: str
) -> int:
    """Decide every cell of ``target`` into ``_writeback_decided``; returns the records
    considered. The mapping must write something back to ``target``."""
    conn.execute(read_sql("opportunities.sql", SQL)).fetchall()
    conn.execute(read_sql(target.sides_sql, SQL), [instance_url]).fetchall()
    cells = _cells(target, mapping)
    settings = _settings_rows(target, mapping)
    typed = (
        "SELECT NULL::VARCHAR AS model, NULL::VARCHAR AS attribute, NULL::VARCHAR AS kind, "
        "NULL::VARCHAR AS data_type, NULL::VARCHAR AS policy, NULL::BOOLEAN AS clear_when_null, "
        "NULL::BOOLEAN AS remove_when_false, NULL::VARCHAR AS tag WHERE FALSE"
    )
    values = f" UNION ALL SELECT * FROM (VALUES {', '.join(settings)})" if settings else ""
    conn.execute(f"CREATE OR REPLACE TEMP TABLE _writeback_settings AS {typed}{values}").fetchall()
    unnest = (
        f"SELECT {literal(target.model)} AS model, c.intercom_id, c.write_id, c.sf_object, "
        f"c.sf_id, c.updated_at, c.sf_modified_at, unnest([{', '.join(cells)}]) AS cell "
        f"FROM {target.sides_table} c"
    )
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE _writeback_cells AS "
        f"SELECT * EXCLUDE (cell), unnest(cell) FROM ({unnest}) x"
    ).fetchall()
    conn.execute(read_sql("decide.sql", SQL)).fetchall()
    return conn.execute(f"SELECT count(*) FROM {target.sides_table}").fetchall()[0][0]
