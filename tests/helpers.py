"""What the tests share: a seeded sandbox and the resources aimed at it, syncing a partition range
in process, and reading the warehouse, the org and the mapping's describe.

Test modules import from here (and from the harnesses ``crash_harness`` and ``soak``), never
from one another, so running one test module never runs, or depends on, another's definitions.
"""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import yaml
from openapi_schema_validator import OAS30Validator
from simple_salesforce import Salesforce

from intercom_salesforce.assets.partitions import daily_partitions
from intercom_salesforce.assets.quality.checks import CHECKS_BY_ENTITY
from intercom_salesforce.definitions import SYNC_ASSETS
from intercom_salesforce.extract.entities import EntitySpec
from intercom_salesforce.resources.intercom import IntercomResource
from intercom_salesforce.resources.salesforce import SalesforceResource
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.resources.warehouse import WarehouseResource
from intercom_salesforce.sandbox.runtime import RunningSandbox, SandboxState, seed, start
from intercom_salesforce.sandbox.salesforce.describe import OBJECTS, object_describe
from intercom_salesforce.sandbox.tls import ensure_tls, trusting_session
from intercom_salesforce.sandbox.world import World, WorldSize
from intercom_salesforce.settings import (
    SANDBOX_INTERCOM_TOKEN,
    SANDBOX_SF_CLIENT_ID,
    SANDBOX_SF_CLIENT_SECRET,
)
from intercom_salesforce.warehouse import ident

TIMEZONE = "America/Los_Angeles"
# the world most tests run against (the ``sandbox`` fixture's, seeded once per test process)
DEFAULT_CONTACTS = 200
# the days its records' updated_at spread over: four, which still holds records either side of
# local midnight two and three days back, and no more, since every partition a range run
# materializes costs Dagster events (the product's sandbox spreads over WorldSize's 14 days)
WORLD_DAYS = 4


def world_size(contacts: int = DEFAULT_CONTACTS, **sizes: int) -> WorldSize:
    """The tests' world of ``contacts`` people over ``WORLD_DAYS`` days, which
    ``full_range`` covers."""
    return WorldSize(contacts=contacts, days=WORLD_DAYS, **sizes)


# -- the sandbox -------------------------------------------------------------------------------


@dataclass
class Sandbox:
    """Both emulators served on ephemeral ports over one state folder, and what was seeded."""

    state: SandboxState
    running: RunningSandbox
    seeded: dict

    def intercom(self) -> IntercomResource:
        return IntercomResource(
            access_token=SANDBOX_INTERCOM_TOKEN, base_url=self.running.intercom_url, mode="sandbox"
        )

    def salesforce(self) -> SalesforceResource:
        return SalesforceResource(
            mode="sandbox",
            login_url=self.running.salesforce_url,
            auth_flow="client_credentials",
            client_id=SANDBOX_SF_CLIENT_ID,
            client_secret=SANDBOX_SF_CLIENT_SECRET,
            ca_bundle=str(self.state.root / "tls" / "ca.pem"),
            poll_initial_seconds=0.05,
        )

    def resources(self, tmp: Path) -> dict:
        return {
            "intercom": self.intercom(),
            "salesforce": self.salesforce(),
            "warehouse": WarehouseResource(database=str(tmp / "warehouse.duckdb")),
            "sync_settings": SyncSettings(work_dir=str(tmp / "work")),
        }


def make_sandbox(root: Path, contacts: int = DEFAULT_CONTACTS) -> Sandbox:
    """A sandbox seeded here with its own world size, served until ``running.stop()``."""
    state = SandboxState(root)
    info = seed(state, world_size(contacts), timezone=TIMEZONE)
    return Sandbox(state, start(state), info)


def seed_template(root: Path, contacts: int = DEFAULT_CONTACTS) -> SandboxState:
    """A seeded state folder, TLS material included, that is never served: only copied."""
    state = SandboxState(root)
    seed(state, world_size(contacts), timezone=TIMEZONE)
    ensure_tls(root)
    return state


def sandbox_from(template: SandboxState, root: Path) -> Sandbox:
    """A sandbox over a copy of ``template``'s state: the seeded world without seeding again.

    Nothing has the template's stores open, so its SQLite files (and any WAL beside them) are a
    consistent copy; the copy's records are as old as the template's, minutes at most.
    """
    shutil.copytree(template.root, root)
    state = SandboxState(root)
    return Sandbox(state, start(state), state.seeded() or {})


def wait_past(ts: int) -> None:
    """Until the clock is in a later second than ``ts``: Intercom's times are whole seconds, and
    a change sensor reads what changed after its cursor's second."""
    while time.time() < ts + 1:
        time.sleep(ts + 1 - time.time())


# -- syncing in process -------------------------------------------------------------------------


def full_range() -> tuple[str, str]:
    """The days every record of a ``world_size`` world falls in (it spreads them over
    ``WORLD_DAYS`` before now), with a day's margin either side: every partition a range run
    materializes costs Dagster events, so the range holds no empty days."""
    keys = daily_partitions.get_partition_keys()
    return keys[-(WORLD_DAYS + 2)], keys[-1]


def materialize_range(
    assets: list[Any],
    resources: dict[str, Any],
    first: str,
    last: str,
    *,
    succeed: bool = True,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Run ``assets`` over the days ``first``..``last`` in one run (as a backfill does), with
    ``tags`` besides the range's; with ``succeed`` the run must succeed, and the failures are
    shown when it does not."""
    result = dg.materialize(
        assets,
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
            **(tags or {}),
        },
        raise_on_error=False,
    )
    if succeed:
        assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def run_range(
    sandbox: Sandbox,
    tmp: Path,
    first: str,
    last: str,
    instance: dg.DagsterInstance | None = None,
    **settings: Any,
) -> dg.ExecuteInProcessResult:
    """The people sync with the contacts' quality gate over ``first``..``last``; may fail.
    ``settings``: ``SyncSettings`` fields other than the defaults."""
    resources = sandbox.resources(tmp)
    resources["sync_settings"] = SyncSettings(work_dir=str(tmp / "work"), **settings)
    return dg.materialize(
        [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]],
        resources=resources,
        instance=instance or dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
        raise_on_error=False,
    )


def sync(sandbox: Sandbox, tmp_path: Path, mapping_file: str, assets, first: str, last: str, **kw):
    """``materialize_range`` with the sync reading ``mapping_file``."""
    resources = sandbox.resources(tmp_path)
    resources["sync_settings"] = SyncSettings(
        work_dir=str(tmp_path / "work"), mapping_file=mapping_file
    )
    return materialize_range(assets, resources, first, last, **kw)


# -- reading what a sync left -------------------------------------------------------------------


def warehouse_rows(tmp_path: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of ``sql`` over the test's warehouse, opened read-only for just this query."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def repeated_keys(
    con: duckdb.DuckDBPyConnection, spec: EntitySpec, key: tuple[str, ...] = ()
) -> int:
    """Rows of ``spec``'s staging table sharing ``key`` (its upsert key unless given) with another.

    Asked of the table itself: the ``*_current`` views keep one row per id by construction, so a
    duplicate there cannot be seen.
    """
    cols = ", ".join(ident(k) for k in key or spec.upsert_key)
    return con.execute(
        f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {spec.table} "
        f"GROUP BY {cols} HAVING count(*) > 1)"
    ).fetchone()[0]


@dataclass
class Clock:
    """A clock a test moves (an emulator's ``clock``), so processing time needs no sleeping."""

    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def client_credentials_token(session: Any, url: str) -> str:
    """An access token from the Salesforce emulator's client-credentials flow."""
    r = session.post(
        f"{url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(SANDBOX_SF_CLIENT_ID, SANDBOX_SF_CLIENT_SECRET),
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def simple_salesforce(sandbox: Sandbox) -> Salesforce:
    """simple_salesforce on the emulator, logged in as the sync logs in, trusting its CA."""
    client = sandbox.salesforce().client()
    return Salesforce(
        instance_url=client.sf.base_url.split("/services")[0],
        session_id=client.sf.session_id,
        session=trusting_session(sandbox.state.root / "tls" / "ca.pem"),
    )


def soql(sandbox: Sandbox, query: str) -> list[dict]:
    """Every record ``query`` selects in the emulated org."""
    return simple_salesforce(sandbox).query_all(query)["records"]


# -- the mapping against the seeded org ----------------------------------------------------------

ALICE, QUEUE = "005000000000010AAA", "00G000000000001AAA"
# the named references the sandbox mapping uses, resolved as the org resolves them
REFS = {"OwnerId": {"alice@sandbox-corp.example.com": ALICE, "Inbound_Leads": QUEUE}}


def sandbox_describe() -> dict[str, dict]:
    """Describe JSON of the seeded sandbox org, as ``/sobjects/{X}/describe`` returns it."""
    record_types = World().salesforce_record_types()
    return {
        name: object_describe(
            OBJECTS[name], "60.0", [r for r in record_types if r["SobjectType"] == name]
        )
        for name in ("Lead", "Contact", "Account")
    }


# -- Intercom's official descriptions -------------------------------------------------------------

OPENAPI_DIR = Path(__file__).parent / "sandbox" / "openapi"
#: The ``Intercom-Version`` values whose official description the tests keep (``OPENAPI_DIR``).
INTERCOM_DESCRIBED_VERSIONS = ("2.14", "2.16")


@functools.cache
def intercom_description(version: str) -> dict[str, Any]:
    """Intercom's official OpenAPI description of ``version``, parsed once per process."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = (OPENAPI_DIR / f"intercom-openapi-{version}.yaml").read_text()
    data = yaml.load(text, Loader=loader)  # noqa: S506 - safe loader
    assert data["openapi"].startswith("3.0"), "OpenAPI 3.0: OAS30Validator applies"
    return data


def _inline(schemas: dict[str, Any], node: Any, stack: tuple[str, ...]) -> Any:
    """``node`` with every ``$ref`` inlined; recursive refs are cut to ``{}``.

    Siblings of a ``$ref`` (the descriptions write ``$ref`` + ``nullable: true``) are merged into
    the inlined schema, which is what the description means.
    """
    if isinstance(node, list):
        return [_inline(schemas, x, stack) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in stack:
            return {}
        target = _inline(schemas, schemas[name], (*stack, name))
        return _allow_null({**target, **{k: v for k, v in node.items() if k != "$ref"}})
    return _allow_null({k: _inline(schemas, v, stack) for k, v in node.items()})


def _allow_null(node: dict[str, Any]) -> dict[str, Any]:
    """OAS 3.0 applies ``nullable`` to ``type`` only, so null would still fail anyOf/allOf
    branches of a schema the description marks nullable (event_details, applied_by)."""
    if node.get("nullable") and any(k in node for k in ("anyOf", "allOf", "oneOf")):
        return {"anyOf": [{"enum": [None]}, {k: v for k, v in node.items() if k != "nullable"}]}
    return node


def openapi_validator(version: str) -> Callable[[Any, str], None]:
    """``check(body, schema_name)``: assert ``body`` validates against the named component
    schema of Intercom's ``version`` description.

    No format checker is used: the descriptions tag integer timestamps ``format: date-time``.
    """
    schemas = intercom_description(version)["components"]["schemas"]
    cache: dict[str, OAS30Validator] = {}

    def check(body: Any, name: str) -> None:
        if name not in cache:
            ref = {"$ref": f"#/components/schemas/{name}"}
            cache[name] = OAS30Validator(_inline(schemas, ref, ()))
        errors = sorted(cache[name].iter_errors(body), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]

    return check
