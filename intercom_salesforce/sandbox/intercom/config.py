"""Configuration of the Intercom emulator and of the faults it injects.

Both dataclasses round-trip through plain JSON (``to_dict``/``from_dict``) so the control endpoint
``PUT /_sandbox/faults`` and a demo config file can replace them at runtime.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from intercom_salesforce.sandbox.faults import FaultSettings
from intercom_salesforce.sandbox.hold import HoldRule
from intercom_salesforce.sandbox.intercom.permissions import UnauthorizedRule, parse_unauthorized


@dataclass
class FaultConfig(FaultSettings):
    """Faults seen in the wild (reference §6, §8c); every one is off by default.

    ``error_rate`` answers that share of API requests with 500/502/503 (503 carries Intercom's
    ``service_unavailable`` body). ``rate_limit_storm`` answers the next *n* requests with 429.
    ``slow_ms`` delays every API response. ``drop_connection_rate`` closes the socket without a
    response. ``empty_body_rate`` answers ``200`` with an empty body (tap-intercom fix #66).
    ``scroll_500_after_pages`` makes the company scroll fail with the documented 500 after that many
    pages, once per configuration (the restarted scroll then completes). ``mutate_while_paging`` bumps ``updated_at`` of matching records while a client pages a
    search, so records move between pages. ``seed`` makes the fault dice reproducible.

    ``holds`` stops clients at an exact point, for crash tests: a list of
    :class:`~intercom_salesforce.sandbox.hold.HoldRule` (``{"method", "path", "after", "nth",
    "timeout_s", "name"}``, ``path`` a regex over the API path without ``path_prefix``). A matching
    request is read (and handled first when ``after`` is true) and its response withheld until
    ``POST /_sandbox/holds/release`` or the rule's timeout, e.g. ``{"method": "POST", "path":
    "/contacts/search"}`` or ``{"method": "GET", "path": "/conversations/[^/]+", "nth": 3}``.
    See :mod:`intercom_salesforce.sandbox.hold`.

    ``unauthorized`` makes the token lack a permission: matching requests (``{"method", "path"}``,
    e.g. ``{"method": "POST", "path": "/data_attributes"}``) are answered ``401
    token_unauthorized`` "Not authorized to access resource". See
    :mod:`intercom_salesforce.sandbox.intercom.permissions`.
    """

    error_rate: float = 0.0
    rate_limit_storm: int = 0
    slow_ms: int = 0
    drop_connection_rate: float = 0.0
    empty_body_rate: float = 0.0
    scroll_500_after_pages: int | None = None
    mutate_while_paging: bool = False
    mutate_per_page: int = 2
    # schema drift: rename keys ({"email": "email_address"}) or change their JSON type
    # ({"updated_at": "string"}) in every contact object the API returns
    drift_rename: dict[str, str] = field(default_factory=dict)
    drift_retype: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    holds: list[HoldRule] = field(default_factory=list)
    # requests the token lacks the permission for: 401 token_unauthorized (permissions.py)
    unauthorized: list[UnauthorizedRule] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.unauthorized = parse_unauthorized(self.unauthorized)


@dataclass
class IntercomEmulatorConfig:
    """Workspace identity and API behaviour switches.

    ``rate_limit_per_minute`` is enforced in fixed 10-second windows of ``limit/6`` (reference §6);
    ``rate_limit_window_seconds`` shortens the windows (the allowance shrinks with them) so that
    tests of 429 storms wait a second per storm rather than up to ten.
    ``search_date_mode`` is ``"day"`` for 2.14 (calendar-day matching in ``timezone``, §2.4) or
    ``"exact"`` for the Preview behaviour. ``conversation_search_gt_inclusive`` exists because the
    conversation search table documents ``>`` as "Greater (or equal) than" (unverified, §2.4).
    ``search_index_delay_s`` hides contacts younger than that from search (the documented "Contact
    Creation Delay"). ``require_accept`` answers 406 when no Accept header is sent (HTTP responses
    page; off by default because many clients omit it). ``path_prefix`` serves the API under a
    prefix (``/intercom`` → ``http://host/intercom/contacts``) for gateways that share one host.
    ``latency_ms`` ± ``latency_jitter_ms`` delays every API response, as the internet would.
    """

    access_token: str = "sandbox-intercom-token"
    app_id: str = "sbx4pp1d"
    app_name: str = "Sandbox Workspace"
    timezone: str = "America/Los_Angeles"
    region: str = "US"
    default_version: str = "2.14"
    rate_limit_per_minute: int = 10000
    rate_limit_window_seconds: int = 10
    search_date_mode: str = "day"
    client_secret: str = "sandbox-intercom-client-secret"
    faults: FaultConfig = field(default_factory=FaultConfig)
    app_created_at: int = 1672531200
    conversation_search_gt_inclusive: bool = False
    search_index_delay_s: float = 0.0
    scroll_page_size: int = 100
    scroll_idle_expiry_s: float = 60.0
    companies_paging_cap: int = 10000
    events_window_days: int = 90
    send_retry_after: bool = False
    require_accept: bool = False
    request_log_size: int = 10000
    path_prefix: str = ""
    # network latency of every API response (sandbox/latency.py): base and uniform jitter, in ms
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["faults"] = self.faults.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntercomEmulatorConfig:
        data = dict(data)
        faults = FaultConfig.from_dict(data.pop("faults", None))
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config settings: {sorted(unknown)}")
        return cls(faults=faults, **data)

    @property
    def window_allowance(self) -> int:
        """Requests allowed per window: for 10-second windows the per-minute limit split six ways,
        rounded up (1,000/min → 167, as in the 2.17 rate-limit page's example)."""
        return -(-self.rate_limit_per_minute * self.rate_limit_window_seconds // 60)
