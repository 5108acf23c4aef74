"""Intercom REST API 2.14 emulator: a SQLite store and a WSGI app that answers like Intercom.

Facts behind the odd behaviour (day-granular contact search, one company scroll per app, the
500-part cap on conversations, 10-second rate-limit windows) are cited from
``shared/reference/intercom.md`` in the modules that implement them.
"""

from intercom_salesforce.sandbox.intercom.app import create_app
from intercom_salesforce.sandbox.intercom.config import FaultConfig, IntercomEmulatorConfig
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.sandbox.intercom.world_types import IntercomWorldData

__all__ = [
    "FaultConfig",
    "IntercomEmulatorConfig",
    "IntercomStore",
    "IntercomWorldData",
    "create_app",
]
