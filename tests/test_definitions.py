"""The code location loads, validates, and holds the graph the product promises."""

import subprocess
import sys
from pathlib import Path

from intercom_salesforce import settings
from intercom_salesforce.definitions import defs

ROOT = Path(__file__).resolve().parents[1]


def test_graph_checks_jobs_schedules():
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "intercom_contacts",
        "salesforce_contacts_mirror",
        "salesforce_leads_mirror",
        "person_matches",
        "salesforce_lead_upserts",
    } <= keys
    check_keys = defs.resolve_asset_graph().asset_check_keys
    assert any(k.name == "contacts_pass_gx_suite" for k in check_keys)
    spec = next(
        s for c in defs.asset_checks for s in c.check_specs if s.name == "contacts_pass_gx_suite"
    )
    assert spec.blocking
    # one spec per rule: structure, drift and a bad batch block; a row rule only warns
    blocking = {s.name: s.blocking for c in defs.asset_checks for s in c.check_specs}
    assert blocking["contacts_no_schema_drift"] and blocking["contacts_no_bad_batch"]
    assert not blocking["contacts_email_format"] and not blocking["contacts_plan_unmapped"]
    assert defs.resolve_job_def("sync_people_job").partitions_def is not None
    assert defs.resolve_schedule_def("sync_people_job_hourly").cron_schedule == "5 * * * *"
    assert defs.resolve_schedule_def("sync_conversations_job_hourly").cron_schedule == "35 * * * *"


def test_dagster_definitions_validate(tmp_path):
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "definitions",
            "validate",
            "-w",
            str(ROOT / "workspace.yaml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "DAGSTER_HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed validation" in proc.stdout + proc.stderr


def test_mode_selection_from_environment():
    assert settings.intercom_mode({}) == "sandbox"
    assert settings.salesforce_mode({}) == "sandbox"
    assert settings.build_intercom({}).mode == "sandbox"
    real = {
        "INTERCOM_ACCESS_TOKEN": "x",
        "SALESFORCE_CLIENT_ID": "id",
        "SALESFORCE_USERNAME": "u@example.com",
        "SALESFORCE_PRIVATE_KEY": "pem",
    }
    assert settings.intercom_mode(real) == "production"
    assert settings.salesforce_auth_flow(real) == "jwt"
    sf = settings.build_salesforce(real)
    assert sf.mode == "production" and sf.auth_flow == "jwt"
    assert (
        settings.salesforce_auth_flow(
            {"SALESFORCE_CLIENT_ID": "id", "SALESFORCE_CLIENT_SECRET": "s"}
        )
        == "client_credentials"
    )


def test_sandbox_intercom_into_real_salesforce_is_refused():
    import pytest

    with pytest.raises(settings.ConfigurationError, match="refusing"):
        settings.build_salesforce({"SALESFORCE_CLIENT_ID": "id", "SALESFORCE_CLIENT_SECRET": "s"})


def test_every_sensor_interval_comes_from_its_setting():
    import pytest

    for sensor in defs.sensors:
        assert sensor.minimum_interval_seconds == settings.sensor_interval_seconds(sensor.name)
    assert {s.name for s in defs.sensors} == set(settings.SENSOR_INTERVALS)
    assert settings.sensor_interval_seconds("stale_run_sensor", {}) == 60
    fast = {"SYNC_SENSOR_INTERVAL_SECONDS": "1", "SYNC_FAILURE_AUDIT_INTERVAL_SECONDS": "2"}
    assert settings.sensor_interval_seconds("intercom_webhook_sensor", fast) == 1
    assert settings.sensor_interval_seconds("sync_failure_audit", fast) == 2
    with pytest.raises(settings.ConfigurationError, match="STALE_RUN_SENSOR_INTERVAL_SECONDS"):
        settings.sensor_interval_seconds(
            "stale_run_sensor", {"STALE_RUN_SENSOR_INTERVAL_SECONDS": "0"}
        )
