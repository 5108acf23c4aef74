"""What the stages after extraction read, so the extraction reads no more than that.

Data events cost one listing per changed contact, and only the mapping's lifecycle rules read them
(``lifecycle.events``: a field set when a contact did an event). With no such rule for an object
the mapping fills, no event is read at all. With rules for some objects only (``Lead.Status``,
say), a contact already matched for certain to an object no rule writes (a Salesforce Contact)
is not listed either: its events could change nothing that is sent. Nor is a contact with no email
whose ids match nothing (rule ``no_email``), which is neither updated nor created.
"""

from __future__ import annotations

from pathlib import Path

from intercom_salesforce.assets.match.rules import PERSON_MATCHED, MatchRule
from intercom_salesforce.assets.push.people import PEOPLE
from intercom_salesforce.mapping import load_mapping
from intercom_salesforce.mapping.model import Mapping
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.warehouse import literal


def _event_targets(mapping: Mapping) -> list[tuple[str, str]]:
    """(event name, object) of every lifecycle event rule that writes a mapped object."""
    return [
        (event, target.split(".", 1)[0])
        for event, targets in mapping.lifecycle.events.items()
        for target in targets
        if target.split(".", 1)[0] in mapping.objects
    ]


def mapping_event_names(mapping: Mapping) -> frozenset[str]:
    """Event names some lifecycle rule of a mapped object reads."""
    return frozenset(event for event, _ in _event_targets(mapping))


def event_objects(mapping: Mapping) -> frozenset[str]:
    """The mapped objects some lifecycle event rule writes a field of."""
    return frozenset(obj for _, obj in _event_targets(mapping))


def events_needed_sql(mapping: Mapping) -> str | None:
    """A condition on parent ``p`` (a contact of the window; the window's days are ``$1`` and
    ``$2``): false when its events could change nothing sent. That is when its newest match in
    the window is a certain one (by manual choice, id or email) to a person object no event rule
    writes, or has no email and ids that match nothing (``no_email``): such a person is neither
    updated nor created until it changes (an email arrives), and then it is in a later window.
    An unmatched, ambiguous or not yet matched contact is read: it may become a Lead, or be
    chosen in review. None when no event rule writes a person object (no event is read)."""
    written = event_objects(mapping)
    if not written:
        return None
    spared = [o for o in PEOPLE.objects if o not in written]
    reasons = [f"m.rule = {literal(MatchRule.NO_EMAIL)}"]
    if spared:
        rules = ", ".join(literal(r) for r in PERSON_MATCHED)
        objects = ", ".join(literal(o) for o in spared)
        reasons.append(f"(m.rule IN ({rules}) AND m.sf_object IN ({objects}))")
    return (
        f"NOT EXISTS (SELECT 1 FROM ({PEOPLE.latest_matches_sql()}) m WHERE m.id = p.id "
        f"AND ({' OR '.join(reasons)}))"
    )


def wanted_events(settings: SyncSettings) -> tuple[frozenset[str], str, str | None]:
    """What the data events read is for, from one load of the mapping: the event names worth
    reading (the mapping's, plus ``event_names`` once the mapping reads events at all, kept for
    reports; none when no rule reads events), why, and which contacts are worth a listing
    (``events_needed_sql``)."""
    mapping = load_mapping(Path(settings.mapping_file))
    names = mapping_event_names(mapping)
    if not names:
        why = f"no lifecycle rule in {settings.mapping_file} reads data events"
        return frozenset(), why, None
    names |= frozenset(settings.event_names)
    return names, "read by the mapping's lifecycle rules", events_needed_sql(mapping)
