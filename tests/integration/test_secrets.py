"""Credentials never leave the process: not in logs, the Dagster event log, the warehouse or files.

The emulators are configured to accept only recognisable canary credentials, and the people sync
runs as a production deployment would: ``settings.build_resources`` sees the credentials in the
environment and binds them with ``EnvVar``. After the run, every place a secret could end up is
searched for the canaries (and for the Basic-auth form of the Salesforce client secret, and the
Salesforce session ids the org issued): captured logs and output (what a file-backed instance
would keep as compute logs), every event record of the run and the run itself, every text column
of every warehouse table, and every file under the deployment's ``var`` folder. Failed calls (a refused credential, an unreachable host) and a failed
run must not echo the secret either. The emulators must also listen on loopback only: they accept
sandbox credentials and have unauthenticated control endpoints.
"""

from __future__ import annotations

import base64
import logging
import socket
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import requests
from dagster._serdes import serialize_value

from intercom_salesforce.assets.quality.checks import CHECKS_BY_ENTITY
from intercom_salesforce.definitions import SYNC_ASSETS
from intercom_salesforce.resources.intercom import IntercomAPIError, IntercomResource
from intercom_salesforce.resources.salesforce import SalesforceAuthError, SalesforceResource
from intercom_salesforce.sandbox.intercom import IntercomEmulatorConfig
from intercom_salesforce.sandbox.runtime import RunningSandbox, SandboxState, seed, start
from intercom_salesforce.sandbox.salesforce import SalesforceEmulatorConfig, SalesforceStore
from intercom_salesforce.sandbox.serving import start_in_thread
from intercom_salesforce.settings import build_resources
from tests.helpers import full_range, world_size

SF_CLIENT_ID = "canary-client-id"
SF_SECRET = "CANARY-sf-secret-8f2a51c0d9e4"
IC_TOKEN = "CANARY-ic-token-3b7d90e1a6f2"
SF_BASIC = base64.b64encode(f"{SF_CLIENT_ID}:{SF_SECRET}".encode()).decode()
CANARIES = (SF_SECRET, IC_TOKEN, SF_BASIC)


@dataclass
class Deployment:
    """A production-shaped checkout under a temporary home, its emulators, its environment."""

    home: Path
    sandbox: RunningSandbox
    state: SandboxState

    @property
    def var(self) -> Path:
        return self.home / "var"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("secrets-home")
    state = SandboxState(home / "var" / "sandbox")
    seed(state, world_size(40, conversations=4, long_conversations=0))
    sandbox = start(
        state,
        intercom_config=IntercomEmulatorConfig(access_token=IC_TOKEN),
        salesforce_config=SalesforceEmulatorConfig(client_id=SF_CLIENT_ID, client_secret=SF_SECRET),
    )
    ca = str(state.root / "tls" / "ca.pem")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("WAREHOUSE_PATH", "SYNC_WORK_DIR", "SANDBOX_DIR", "SYNC_MAPPING_FILE"):
            mp.delenv(name, raising=False)
        for name in ("SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "SALESFORCE_PRIVATE_KEY"):
            mp.delenv(name, raising=False)
        mp.setenv("INTERCOM_SALESFORCE_HOME", str(home))
        mp.setenv("INTERCOM_ACCESS_TOKEN", IC_TOKEN)
        mp.setenv("INTERCOM_BASE_URL", sandbox.intercom_url)
        mp.setenv("SALESFORCE_CLIENT_ID", SF_CLIENT_ID)
        mp.setenv("SALESFORCE_CLIENT_SECRET", SF_SECRET)
        mp.setenv("SALESFORCE_LOGIN_URL", sandbox.salesforce_url)
        # a production resource trusts the environment's CA bundle: here, the sandbox's CA
        mp.setenv("REQUESTS_CA_BUNDLE", ca)
        mp.setenv("CURL_CA_BUNDLE", ca)
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        yield Deployment(home, sandbox, state)
    sandbox.stop()


def issued_sessions(state: SandboxState) -> list[str]:
    """The Salesforce session ids the org handed out: credentials too, for two hours."""
    store = SalesforceStore(state.salesforce_db)
    try:
        return [r[0] for r in store.execute("SELECT token FROM tokens")]
    finally:
        store.close()


def leaks(text: str, needles: Iterable[str]) -> list[str]:
    return [n for n in needles if n and n in text]


def warehouse_texts(path: Path) -> Iterator[tuple[str, str]]:
    """(``schema.table.column``, value) of every text-like cell of every warehouse table."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            """SELECT table_schema, table_name, column_name FROM information_schema.columns
               WHERE data_type NOT IN ('BIGINT', 'INTEGER', 'DOUBLE', 'BOOLEAN', 'DATE',
                                       'TIMESTAMP', 'TIMESTAMP WITH TIME ZONE', 'HUGEINT',
                                       'SMALLINT', 'TINYINT', 'FLOAT', 'UBIGINT')
                 AND table_catalog = current_database()"""
        ).fetchall()
        for schema, table, column in columns:
            rows = con.execute(
                f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{schema}"."{table}" '
                f'WHERE "{column}" IS NOT NULL'
            ).fetchall()
            for (value,) in rows:
                yield f"{schema}.{table}.{column}", value
    finally:
        con.close()


def file_leaks(root: Path, needles: Iterable[str], skip: Path | None = None) -> list[str]:
    """Files under ``root`` holding a needle, read as bytes (sqlite, CSV, logs alike)."""
    encoded = [n.encode() for n in needles]
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if skip is not None and path.is_relative_to(skip):
            continue
        data = path.read_bytes()
        found += [f"{path.relative_to(root)}: {n.decode()}" for n in encoded if n in data]
    return found


def event_log_text(instance: dg.DagsterInstance, run_id: str) -> str:
    """Every stored record of the run: its events (messages, metadata, errors) and the run."""
    parts = [serialize_value(entry) for entry in instance.all_logs(run_id)]
    run = instance.get_run_by_id(run_id)
    assert run is not None
    parts.append(serialize_value(run))
    return "\n".join(parts)


def run_people_sync(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    first, last = full_range()
    return dg.materialize(
        [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]],
        resources=build_resources(),
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
        raise_on_error=False,
    )


def test_people_sync_leaves_no_secret_behind(
    deployment: Deployment, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    resources = build_resources()
    assert resources["salesforce"].mode == resources["intercom"].mode == "production"
    caplog.set_level(logging.DEBUG)
    with dg.DagsterInstance.ephemeral() as instance:
        result = run_people_sync(instance)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        pushed = result.asset_materializations_for_node("salesforce_lead_upserts")[-1].metadata
        assert pushed["sent"].value > 0  # authenticated with the canaries and wrote to the org
        events = event_log_text(instance, result.run_id)
    assert "salesforce_lead_upserts" in events
    sessions = issued_sessions(deployment.state)
    assert sessions, "the sync logged in to Salesforce"
    needles = (*CANARIES, *sessions)

    out, err = capfd.readouterr()
    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert leaks(out + err, needles) == []
    assert leaks(logged, needles) == []
    assert leaks(events, needles) == []
    warehouse = deployment.var / "warehouse.duckdb"
    assert warehouse.exists() and (deployment.var / "work").is_dir()
    cells = [
        (where, n) for where, value in warehouse_texts(warehouse) for n in leaks(value, needles)
    ]
    assert cells == []
    # the org's own database holds the sessions it issued; nothing else may
    assert file_leaks(deployment.var, CANARIES) == []
    assert file_leaks(deployment.var, sessions, skip=deployment.state.root) == []


def test_failed_calls_do_not_echo_the_secret(deployment: Deployment) -> None:
    """A refused credential, an unreachable host and a session that dies mid-run: the errors
    name the call and the status, never the credential sent."""
    wrong_secret = "CANARY-sf-wrong-5c1e77a0b3d8"
    wrong_token = "CANARY-ic-wrong-90d4c2e8f1a7"
    needles = (*CANARIES, wrong_secret, wrong_token)
    closed = _closed_port()

    def salesforce(**fields: str) -> SalesforceResource:
        base = {
            "login_url": deployment.sandbox.salesforce_url,
            "auth_flow": "client_credentials",
            "client_id": SF_CLIENT_ID,
            "client_secret": SF_SECRET,
        }
        return SalesforceResource(**{**base, **fields})

    def intercom(**fields: str) -> IntercomResource:
        base = {"access_token": IC_TOKEN, "base_url": deployment.sandbox.intercom_url}
        return IntercomResource(**{**base, **fields}, max_retries=1, backoff_base_seconds=0.001)

    failures: list[tuple[type[BaseException], object]] = [
        (SalesforceAuthError, lambda: salesforce(client_secret=wrong_secret).client()),
        (
            requests.ConnectionError,
            lambda: salesforce(login_url=closed.replace("http", "https")).client(),
        ),
        (
            SalesforceAuthError,
            lambda: salesforce(
                auth_flow="password",
                username="integration@sandbox.example.com",
                password=wrong_secret,
                security_token=wrong_token,
            ).client(),
        ),
        (IntercomAPIError, lambda: intercom(access_token=wrong_token).client().me()),
        (IntercomAPIError, lambda: intercom(base_url=closed).client().me()),
    ]
    for kind, call in failures:
        with pytest.raises(kind) as caught:
            call()  # type: ignore[operator]
        assert leaks(_exception_text(caught.value), needles) == [], kind

    # 401 mid-run: the session expires and the new login is refused
    client = salesforce().client()
    emulator = deployment.sandbox.salesforce.app  # type: ignore[union-attr]
    emulator.config.faults.expire_sessions = True
    emulator.config.client_secret = "rotated-elsewhere"
    try:
        with pytest.raises(SalesforceAuthError) as caught:
            client.call(lambda sf: sf.query("SELECT Id FROM User"))
    finally:
        emulator.config.client_secret = SF_SECRET
    text = _exception_text(caught.value)
    assert "401" in text or "invalid_client" in text
    assert leaks(text, (*needles, client.sf.session_id)) == []


def test_failed_run_records_no_secret(
    deployment: Deployment, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A run whose Intercom token is refused fails; neither its stored error nor what it printed
    carries the token."""
    wrong_token = "CANARY-ic-refused-71b0e9d2c4a5"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERCOM_ACCESS_TOKEN", wrong_token)
        mp.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
        mp.setenv("SYNC_WORK_DIR", str(tmp_path / "work"))
        with dg.DagsterInstance.ephemeral() as instance:
            result = run_people_sync(instance)
            assert not result.success
            failures = [e for e in result.all_events if e.is_step_failure]
            assert any(
                "401" in (e.message or "") or "401" in str(e.event_specific_data) for e in failures
            )
            events = event_log_text(instance, result.run_id)
    out, err = capfd.readouterr()
    assert leaks(events + out + err, (*CANARIES, wrong_token)) == []


def test_resource_repr_hides_secrets() -> None:
    """A resource printed in a log line or an error message must not show its credentials."""
    resources = [
        IntercomResource(access_token=IC_TOKEN, base_url="http://127.0.0.1:9"),
        SalesforceResource(
            auth_flow="password",
            client_id=SF_CLIENT_ID,
            client_secret=SF_SECRET,
            username="integration@sandbox.example.com",
            password=SF_SECRET,
            security_token=SF_SECRET,
            private_key=SF_SECRET,
        ),
    ]
    for resource in resources:
        assert leaks(f"{resource!r} {resource!s}", CANARIES) == []


def test_emulators_listen_on_loopback_only(deployment: Deployment) -> None:
    for server in (deployment.sandbox.intercom, deployment.sandbox.salesforce):
        assert server is not None
        assert server.server.socket.getsockname()[0] == "127.0.0.1"
    for host in ("0.0.0.0", "", "::", socket.gethostname()):
        with pytest.raises(ValueError, match="loopback"):
            start_in_thread(lambda environ, start_response: [], host=host)
    with pytest.raises(ValueError, match="loopback"):
        start(deployment.state, host="0.0.0.0")


def _closed_port() -> str:
    """``http://127.0.0.1:PORT`` of a port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _exception_text(exc: BaseException) -> str:
    """What a log or a failure event could carry: message, repr, the whole chained traceback."""
    return "\n".join([str(exc), repr(exc), *traceback.format_exception(exc)])
