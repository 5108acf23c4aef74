"""What the stages after extraction read, so the extraction reads no more than that.

Data events cost one listing per changed contact, and only the mapping's lifecycle rules read them
(``lifecycle.events``: a field set when a contact did an event). With no such rule for an object
the mapping fills, no event is read at all.
"""

from __future__ import annotations

from pathlib import Path

from intercom_salesforce.mapping import load_mapping
from intercom_salesforce.mapping.model import Mapping
from intercom_salesforce.resources.sync_settings import SyncSettings


def mapping_event_names(mapping: Mapping) -> frozenset[str]:
    """Event names some lifecycle rule of a mapped object reads."""
    return frozenset(
        event
        for event, targets in mapping.lifecycle.events.items()
        if any(target.split(".", 1)[0] in mapping.objects for target in targets)
    )


def wanted_event_names(settings: SyncSettings) -> tuple[frozenset[str], str]:
    """The event names worth reading and why: the mapping's, plus ``event_names`` once the
    mapping reads events at all (kept for reports); none when no rule reads events."""
    names = mapping_event_names(load_mapping(Path(settings.mapping_file)))
    if not names:
        return frozenset(), f"no lifecycle rule in {settings.mapping_file} reads data events"
    return names | frozenset(settings.event_names), "read by the mapping's lifecycle rules"
