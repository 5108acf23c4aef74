"""Unpartitioned Intercom reference data, refreshed whole: admins, teams, tags, data attributes."""

from datetime import UTC, datetime

import dagster as dg
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.extract.entities import REFERENCE, EntitySpec
from intercom_salesforce.assets.extract.records import Progress, finish
from intercom_salesforce.assets.extract.staging import StagingWriter
from intercom_salesforce.resources.intercom import IntercomResource
from intercom_salesforce.warehouse import WAREHOUSE_POOL, ensure_warehouse

# data attributes are read once per model; the others are one unpaginated list each
PARAM_SETS = {"intercom_data_attributes": [{"model": "contact"}, {"model": "company"}]}


def build_reference_asset(spec: EntitySpec) -> dg.AssetsDefinition:
    @dg.asset(
        name=spec.name,
        group_name="extract",
        kinds={"intercom", "duckdb"},
        pool=WAREHOUSE_POOL,
        description=spec.description,
    )
    def _asset(
        context: dg.AssetExecutionContext, intercom: IntercomResource, warehouse: DuckDBResource
    ) -> dg.MaterializeResult:
        started = datetime.now(UTC)
        client = intercom.client(context.log)
        progress = Progress(context, spec.name)
        with warehouse.get_connection() as conn:
            ensure_warehouse(conn)
            writer = StagingWriter(conn, spec, context.run.run_id)
            for params in PARAM_SETS.get(spec.name, [None]):
                body = client.get(spec.path, params=params)
                records = body.get(spec.key) or []
                progress.page(len(records))
                for record in records:
                    writer.add(record)
            rows = writer.finish_all()
            metadata = finish(
                conn,
                spec,
                context,
                client,
                progress,
                intercom,
                started=started,
                rows=rows,
                written=writer.written,
            )
        return dg.MaterializeResult(metadata=metadata)

    return _asset


REFERENCE_ASSETS = [build_reference_asset(spec) for spec in REFERENCE]
