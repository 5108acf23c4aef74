"""Partitioned Intercom record streams -> staging tables, one workspace-local day per partition.

Contacts and conversations come from the search endpoints (one search per run, whatever the number
of days: see ``search_filter``); companies from a full scroll filtered to the window (2.14 has no
company search); conversation parts and data events from one call per changed parent. Each is
built by ``build_stream_asset`` from its row in the entity table (``extract/entities.py``).

Incremental by default. Every run records in ``staging.extract_runs`` the instant up to which its
window is complete (its start, less ``search_lag_seconds``). The next run over days that an earlier
run covered reads only what changed since that mark: it searches from the mark's day (day-granular
filters cannot start mid-day), newest first, and stops at the first record older than the mark.
Records updated while a run paged are therefore read by the next one. Rows are upserted by id and
partition day, so an incremental run never removes the window's other rows. A full refresh (run tag
``intercom_salesforce/full_refresh=true``, or no earlier run covering the window) reads the whole
window and replaces it.
"""

from intercom_salesforce.assets.extract.factory import FULL_REFRESH_TAG, build_stream_asset
from intercom_salesforce.extract.entities import (
    COMPANIES,
    CONTACTS,
    CONVERSATION_PARTS,
    CONVERSATIONS,
    DATA_EVENTS,
)

__all__ = ["FULL_REFRESH_TAG", "RECORD_ASSETS"]

intercom_contacts = build_stream_asset(CONTACTS)
intercom_conversations = build_stream_asset(CONVERSATIONS)
intercom_companies = build_stream_asset(COMPANIES)
intercom_conversation_parts = build_stream_asset(CONVERSATION_PARTS)
intercom_data_events = build_stream_asset(DATA_EVENTS)

RECORD_ASSETS = [
    intercom_contacts,
    intercom_conversations,
    intercom_companies,
    intercom_conversation_parts,
    intercom_data_events,
]
