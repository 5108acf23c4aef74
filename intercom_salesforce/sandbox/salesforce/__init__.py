"""Salesforce REST + Bulk API 2.0 emulator: a local org that simple-salesforce talks to unchanged.

Entry points: :func:`create_app` (WSGI app), :class:`SalesforceStore` (SQLite org data),
:class:`SalesforceEmulatorConfig`/:class:`SalesforceFaults` (settings) and
:class:`SalesforceWorldData` (seed records). Serve it over TLS (simple-salesforce forces https):
``start_in_thread(create_app(store, config), ssl_context=ensure_tls(dir).ssl_context)``.

Unauthenticated control and inspection endpoints:

* ``GET``/``PUT /_sandbox/config/faults`` - read or change :class:`SalesforceFaults` (partial PUT;
  ``holds`` lists hold rules that stop clients at an exact protocol step for crash tests)
* ``GET /_sandbox/holds[?rule=NAME&held=N&wait=SECONDS]`` - each hold rule with how many requests
  it holds now and their paths; ``POST /_sandbox/holds/release`` (``{"rule", "drop", "disarm"}``)
  lets them go (see :mod:`intercom_salesforce.sandbox.hold`)
* ``POST /_sandbox/reset-limits`` - zero the daily API / batch / query-job counters
* ``GET /_sandbox/requests`` - log of recent requests (method, path, query, status)
* ``POST /_sandbox/leads/{id}/convert`` - convert a Lead (optional JSON ``{"accountId": ...}``)
* ``GET /_sandbox/`` and ``GET /_sandbox/{Object}?page=N`` - HTML pages of objects and records
"""

from .app import create_app
from .config import SalesforceEmulatorConfig, SalesforceFaults
from .store import SalesforceStore
from .world_types import SalesforceWorldData

__all__ = [
    "SalesforceEmulatorConfig",
    "SalesforceFaults",
    "SalesforceStore",
    "SalesforceWorldData",
    "create_app",
]
