"""Unpartitioned Intercom reference data, refreshed whole: admins, teams, tags, data attributes."""

from intercom_salesforce.assets.extract.factory import build_stream_asset
from intercom_salesforce.extract.entities import REFERENCE

REFERENCE_ASSETS = [build_stream_asset(spec) for spec in REFERENCE]
