"""Settings of the Salesforce emulator: accepted credentials, enforced limits, injected faults.

Both dataclasses round-trip through plain JSON (``to_dict``/``from_dict``) so the sandbox CLI can
keep them in a file and the ``/_sandbox/config/faults`` control endpoint can change faults at run
time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from intercom_salesforce.sandbox.faults import FaultSettings
from intercom_salesforce.sandbox.hold import HoldRule

from .ids import make_id


@dataclass
class SalesforceFaults(FaultSettings):
    """Failures to inject, so retry and recovery paths can be exercised without a real org.

    ``lock_row_rate`` is the share of Bulk rows failing with the transient ``UNABLE_TO_LOCK_ROW``
    (reference 4.2); ``fail_next_jobs`` makes the next N ingest jobs end ``Failed`` as if
    Salesforce's internal retries were exhausted (reference 3, "Batch processing time / retries");
    ``http_503_rate``/``http_500_rate`` answer a share of API calls with ``SERVER_UNAVAILABLE`` /
    ``UNKNOWN_EXCEPTION``; ``slow_job_polls`` adds polls before a job completes;
    ``expire_sessions`` invalidates every issued token once, so the next request gets a 401.

    ``holds`` stops clients at an exact point of the protocol, for crash tests: a list of
    :class:`~intercom_salesforce.sandbox.hold.HoldRule` (``{"method", "path", "after", "nth",
    "timeout_s", "name"}``); a matching request is read, applied first when ``after`` is true, and
    its response withheld until ``POST /_sandbox/holds/release`` (or the rule's timeout). For
    example ``{"method": "POST", "path": ".*/jobs/ingest", "after": true}`` leaves a created job
    whose id the client never learned, ``{"method": "PUT", "path": ".*/jobs/ingest/[^/]+/batches"}``
    a client killed mid-upload (the data is never stored). See :mod:`intercom_salesforce.sandbox.hold`.
    """

    lock_row_rate: float = 0.0
    fail_next_jobs: int = 0
    http_503_rate: float = 0.0
    http_500_rate: float = 0.0
    slow_job_polls: int = 0
    expire_sessions: bool = False
    seed: int = 0
    holds: list[HoldRule] = field(default_factory=list)


@dataclass
class SalesforceEmulatorConfig:
    """What the emulator accepts and enforces; defaults match a freshly provisioned sandbox."""

    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    username: str = "integration@sandbox.example.com"
    password: str = "sandbox-password"
    security_token: str = ""
    jwt_public_key_pem: str | None = None
    token_ttl_seconds: int = 7200
    org_id: str = field(default_factory=lambda: make_id("Organization", 1))
    daily_api_requests: int = 100000
    query_page_size: int = 2000
    bulk_polls_to_complete: int = 2
    # Bulk rows processed per second: a job stays InProgress rows/rate seconds (0 = instant)
    bulk_rows_per_second: float = 0.0
    duplicate_rule_enabled: bool = True
    shuffle_results: bool = False
    # network latency of every API response (sandbox/latency.py): base and uniform jitter, in ms
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    faults: SalesforceFaults = field(default_factory=SalesforceFaults)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SalesforceEmulatorConfig:
        data = dict(data)
        faults = SalesforceFaults.from_dict(data.pop("faults", None) or {})
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown Salesforce emulator settings: {sorted(unknown)}")
        return cls(**data, faults=faults)
