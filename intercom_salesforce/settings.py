"""The one place that decides where data comes from and goes to.

With no credentials in the environment, every resource points at the sandbox emulators that ship
with the package. With ``INTERCOM_ACCESS_TOKEN`` set, Intercom is the real service; with Salesforce
credentials set, Salesforce is. Secrets are bound with ``dg.EnvVar`` so they are read at run time and
never land in configuration, logs or metadata.

Sandbox Intercom feeding a real Salesforce org is refused: seeded sandbox people must never be
written into a production org. Real Intercom with the sandbox Salesforce is allowed (a dry run).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import dagster as dg
import duckdb

from intercom_salesforce.resources.intercom import REGION_BASE_URLS, IntercomResource
from intercom_salesforce.resources.salesforce import SalesforceResource
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.resources.warehouse import WarehouseResource

Mode = Literal["sandbox", "production"]

SANDBOX_INTERCOM_TOKEN = "sandbox-intercom-token"
SANDBOX_SF_CLIENT_ID = "sandbox-client-id"
SANDBOX_SF_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_INTERCOM_PORT = 8711
DEFAULT_SALESFORCE_PORT = 8712
SANDBOX_MAPPING = Path(__file__).resolve().parents[1] / "mappings" / "sandbox.yaml"


def project_root() -> Path:
    """The checkout (editable install) or the working directory, overridable for deployments."""
    if env := os.environ.get("INTERCOM_SALESFORCE_HOME"):
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def warehouse(self) -> Path:
        return Path(os.environ.get("WAREHOUSE_PATH", self.var / "warehouse.duckdb"))

    @property
    def sandbox(self) -> Path:
        return Path(os.environ.get("SANDBOX_DIR", self.var / "sandbox"))

    @property
    def work(self) -> Path:
        """CSV files uploaded to and downloaded from Salesforce, kept for audit and retry."""
        return Path(os.environ.get("SYNC_WORK_DIR", self.var / "work"))

    @property
    def webhook_queue(self) -> Path:
        return Path(os.environ.get("WEBHOOK_QUEUE_PATH", self.var / "webhooks.sqlite"))

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME", self.var / "dagster"))


def paths() -> Paths:
    return Paths(project_root())


def sandbox_intercom_url(env: Mapping[str, str] = os.environ) -> str:
    return env.get("SANDBOX_INTERCOM_URL", f"http://127.0.0.1:{DEFAULT_INTERCOM_PORT}")


def sandbox_salesforce_url(env: Mapping[str, str] = os.environ) -> str:
    return env.get("SANDBOX_SALESFORCE_URL", f"https://127.0.0.1:{DEFAULT_SALESFORCE_PORT}")


def intercom_mode(env: Mapping[str, str] = os.environ) -> Mode:
    return "production" if env.get("INTERCOM_ACCESS_TOKEN") else "sandbox"


SF_CREDENTIAL_VARS = ("SALESFORCE_CLIENT_ID", "SALESFORCE_USERNAME", "SALESFORCE_PRIVATE_KEY")


def salesforce_mode(env: Mapping[str, str] = os.environ) -> Mode:
    return "production" if any(env.get(v) for v in SF_CREDENTIAL_VARS) else "sandbox"


def salesforce_auth_flow(env: Mapping[str, str] = os.environ) -> str:
    """JWT bearer when a key is given, client credentials without a user, else the password grant."""
    if env.get("SALESFORCE_PRIVATE_KEY"):
        return "jwt"
    if env.get("SALESFORCE_USERNAME") and env.get("SALESFORCE_PASSWORD"):
        return "password"
    return "client_credentials"


class ConfigurationError(RuntimeError):
    pass


def build_intercom(env: Mapping[str, str] = os.environ) -> IntercomResource:
    if intercom_mode(env) == "sandbox":
        return IntercomResource(
            access_token=SANDBOX_INTERCOM_TOKEN, base_url=sandbox_intercom_url(env), mode="sandbox"
        )
    region = env.get("INTERCOM_REGION", "US").upper()
    base = env.get("INTERCOM_BASE_URL") or REGION_BASE_URLS.get(region)
    if not base:
        raise ConfigurationError(f"INTERCOM_REGION must be one of {sorted(REGION_BASE_URLS)}")
    return IntercomResource(
        access_token=dg.EnvVar("INTERCOM_ACCESS_TOKEN"), base_url=base, mode="production"
    )


# the first wait between polls of an open Bulk job (then backing off): a real org takes seconds
# per job, the emulator on loopback a poll or two
PRODUCTION_BULK_POLL_SECONDS = 0.5
SANDBOX_BULK_POLL_SECONDS = 0.1


def bulk_poll_seconds(env: Mapping[str, str], default: float) -> float:
    """``SALESFORCE_BULK_POLL_SECONDS`` when set (a positive number), else ``default``."""
    raw = env.get("SALESFORCE_BULK_POLL_SECONDS")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ConfigurationError(
            f"SALESFORCE_BULK_POLL_SECONDS must be a positive number of seconds, not {raw!r}"
        )
    return value


def build_salesforce(env: Mapping[str, str] = os.environ) -> SalesforceResource:
    if salesforce_mode(env) == "sandbox":
        return SalesforceResource(
            mode="sandbox",
            login_url=sandbox_salesforce_url(env),
            auth_flow="client_credentials",
            client_id=SANDBOX_SF_CLIENT_ID,
            client_secret=SANDBOX_SF_CLIENT_SECRET,
            ca_bundle=str(paths().sandbox / "tls" / "ca.pem"),
            poll_initial_seconds=bulk_poll_seconds(env, SANDBOX_BULK_POLL_SECONDS),
        )
    if intercom_mode(env) == "sandbox":
        raise ConfigurationError(
            "Salesforce credentials are set but INTERCOM_ACCESS_TOKEN is not: refusing to write "
            "sandbox people into a real Salesforce org. Set both, or neither."
        )
    flow = salesforce_auth_flow(env)

    def secret(name: str) -> dg.EnvVar | None:
        return dg.EnvVar(name) if env.get(name) else None

    return SalesforceResource(
        mode="production",
        login_url=env.get("SALESFORCE_LOGIN_URL", "https://login.salesforce.com"),
        auth_flow=flow,  # type: ignore[arg-type]
        client_id=env.get("SALESFORCE_CLIENT_ID"),
        client_secret=secret("SALESFORCE_CLIENT_SECRET"),
        username=env.get("SALESFORCE_USERNAME"),
        password=secret("SALESFORCE_PASSWORD"),
        security_token=secret("SALESFORCE_SECURITY_TOKEN"),
        private_key=secret("SALESFORCE_PRIVATE_KEY"),
        api_version=env.get("SALESFORCE_API_VERSION", "59.0"),
        poll_initial_seconds=bulk_poll_seconds(env, PRODUCTION_BULK_POLL_SECONDS),
    )


#: The warehouse's memory per connection unless ``WAREHOUSE_MEMORY_LIMIT`` says otherwise. At a
#: million contacts, 512MB runs out in the incremental Lead push over the whole 15-day window
#: (a re-run of the backfill), even with its field decisions in slices.
DEFAULT_WAREHOUSE_MEMORY_LIMIT = "768MB"


def warehouse_config(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """DuckDB settings of every connection to the warehouse. One process's connections to a file
    must agree on them, so the CLI and the sensors open it with these too.

    ``WAREHOUSE_MEMORY_LIMIT`` bounds each connection's memory: ``DEFAULT_WAREHOUSE_MEMORY_LIMIT``
    when unset, DuckDB's own default (80% of the machine's) when ``none``. Unbounded, DuckDB keeps
    what it reads cached and a run process grows with the workspace (3.8 GB at a million
    contacts); bounded, large joins, sorts and aggregates spill to ``<warehouse>.tmp``. What
    cannot spill is a primary key's index, which DuckDB holds whole in memory: the tables that
    grow with the workspace's records times fields have none (``create_warehouse.sql``).
    """
    limit = env.get("WAREHOUSE_MEMORY_LIMIT") or DEFAULT_WAREHOUSE_MEMORY_LIMIT
    if limit.strip().lower() == "none":
        return {}
    try:  # checked by DuckDB itself, in memory, so a bad value stops the load, not a run's step
        duckdb.connect(":memory:", config={"memory_limit": limit}).close()
    except duckdb.Error as exc:
        raise ConfigurationError(
            f"WAREHOUSE_MEMORY_LIMIT must be a size DuckDB takes, such as 4GB, or none, "
            f"not {limit!r}"
        ) from exc
    return {"memory_limit": limit}


def sync_tuning(env: Mapping[str, str] = os.environ) -> dict[str, int]:
    """``SyncSettings`` a deployment sizes to its warehouse's memory: ``SYNC_DECIDE_SLICE_ROWS``
    (matched records whose field decisions are joined at once) when set."""
    value = env.get("SYNC_DECIDE_SLICE_ROWS", "").strip()
    if not value:
        return {}
    if not value.isdigit() or int(value) < 1:
        raise ConfigurationError(
            f"SYNC_DECIDE_SLICE_ROWS must be a whole number of records, not {value!r}"
        )
    return {"decide_slice_rows": int(value)}


def build_warehouse(env: Mapping[str, str] = os.environ) -> WarehouseResource:
    """The warehouse file, each connection with ``warehouse_config``'s settings."""
    return WarehouseResource(
        database=str(paths().warehouse), connection_config=warehouse_config(env)
    )


def build_resources(env: Mapping[str, str] = os.environ) -> dict[str, object]:
    p = paths()
    return {
        "intercom": build_intercom(env),
        "salesforce": build_salesforce(env),
        "warehouse": build_warehouse(env),
        "sync_settings": SyncSettings(
            work_dir=str(p.work),
            # the deployment's mapping; the sandbox's ships with the project
            mapping_file=env.get("SYNC_MAPPING_FILE", str(SANDBOX_MAPPING)),
            **sync_tuning(env),
        ),
    }


SANDBOX_INTERCOM_CLIENT_SECRET = "sandbox-intercom-client-secret"


def intercom_client_secret(env: Mapping[str, str] = os.environ) -> str:
    """The app's client secret that signs webhooks (the sandbox's when Intercom is emulated)."""
    if intercom_mode(env) == "sandbox":
        return SANDBOX_INTERCOM_CLIENT_SECRET
    secret = env.get("INTERCOM_CLIENT_SECRET")
    if not secret:
        raise ConfigurationError("INTERCOM_CLIENT_SECRET is needed to verify Intercom webhooks")
    return secret


def workspace_timezone(env: Mapping[str, str] = os.environ) -> str:
    """Daily partitions are days in the Intercom workspace's timezone (``/me`` -> app.timezone).

    Partition definitions are static, so the timezone is configuration; the extract asset checks
    it against ``/me`` and stops with a clear error if they disagree.
    """
    return env.get("INTERCOM_WORKSPACE_TIMEZONE", "America/Los_Angeles")


def partitions_start(env: Mapping[str, str] = os.environ) -> str:
    return env.get("SYNC_START_DATE", "2025-01-01")


# sensor name -> (environment variable, default seconds); the change and webhook sensors share one
SENSOR_INTERVALS: dict[str, tuple[str, int]] = {
    "intercom_conversations_sensor": ("SYNC_SENSOR_INTERVAL_SECONDS", 60),
    "intercom_contacts_sensor": ("SYNC_SENSOR_INTERVAL_SECONDS", 60),
    "intercom_webhook_sensor": ("SYNC_SENSOR_INTERVAL_SECONDS", 60),
    "sync_failure_audit": ("SYNC_FAILURE_AUDIT_INTERVAL_SECONDS", 30),
    "stale_run_sensor": ("STALE_RUN_SENSOR_INTERVAL_SECONDS", 60),
    "salesforce_changes_sensor": ("WRITEBACK_SENSOR_INTERVAL_SECONDS", 60),
}


def sensor_interval_seconds(sensor: str, env: Mapping[str, str] = os.environ) -> int:
    """The least time between two evaluations of ``sensor`` by the daemon, in whole seconds.

    Each comes from an environment variable (its default in parentheses), so a deployment can poll less
    often and a local stack (the ``dagster dev`` test) react in seconds, without editing code:

    * ``SYNC_SENSOR_INTERVAL_SECONDS`` (60): ``intercom_conversations_sensor``,
      ``intercom_contacts_sensor`` and ``intercom_webhook_sensor``; each tick of the first two costs
      Intercom search calls;
    * ``SYNC_FAILURE_AUDIT_INTERVAL_SECONDS`` (30): ``sync_failure_audit``;
    * ``STALE_RUN_SENSOR_INTERVAL_SECONDS`` (60): ``stale_run_sensor``;
    * ``WRITEBACK_SENSOR_INTERVAL_SECONDS`` (60): ``salesforce_changes_sensor``; each tick costs one
      SOQL query per watched Salesforce object.

    The daemon evaluates sensors at most every 5 seconds whatever the interval says.
    """
    var, default = SENSOR_INTERVALS[sensor]
    raw = env.get(var, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(
            f"{var} must be a whole number of seconds (1 or more), not {raw!r}"
        )
    return int(raw)
