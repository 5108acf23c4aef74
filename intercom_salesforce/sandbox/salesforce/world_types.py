"""The shape of seed data handed to :meth:`SalesforceStore.load_world`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class SalesforceWorldData:
    """Records to load, keyed by sObject name.

    Names: ``User``, ``Group``, ``QueueSobject``, ``RecordType``, ``Account``, ``Contact``,
    ``Lead``, ``Opportunity``, ... Each record is a dict of API field names to values and already
    carries an 18-character ``Id`` from :func:`ids.make_id`. Values may be iterators so large
    worlds stream into the store.
    """

    records: dict[str, Iterable[dict]] = field(default_factory=dict)
