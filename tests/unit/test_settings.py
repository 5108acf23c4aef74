"""The Bulk poll wait: one setting, a default per mode, a clear error for a bad value."""

import pytest

from intercom_salesforce.settings import (
    PRODUCTION_BULK_POLL_SECONDS,
    SANDBOX_BULK_POLL_SECONDS,
    ConfigurationError,
    build_salesforce,
    bulk_poll_seconds,
)


def test_sandbox_polls_sooner_than_production_unless_set():
    assert build_salesforce({}).poll_initial_seconds == SANDBOX_BULK_POLL_SECONDS
    assert SANDBOX_BULK_POLL_SECONDS < PRODUCTION_BULK_POLL_SECONDS
    assert build_salesforce({"SALESFORCE_BULK_POLL_SECONDS": "0.02"}).poll_initial_seconds == 0.02


@pytest.mark.parametrize("raw", ["0", "-1", "soon"])
def test_a_bad_poll_wait_is_refused_by_name(raw):
    with pytest.raises(ConfigurationError, match="SALESFORCE_BULK_POLL_SECONDS"):
        bulk_poll_seconds({"SALESFORCE_BULK_POLL_SECONDS": raw}, 0.5)
