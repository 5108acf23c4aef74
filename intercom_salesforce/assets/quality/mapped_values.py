"""Value sets a row rule takes from the deployment's mapping file rather than from constants.

A value map without a default sends any value it lacks to review, so the values a rule should
accept are the map's keys. When several objects fill a field from the same Intercom path (Lead and
Contact both map the plan), a value is accepted only if every one of them maps it.
"""

from __future__ import annotations

from intercom_salesforce.mapping import Mapping


def mapped_keys(mapping: Mapping, source: str, path: str) -> list[str] | None:
    """The keys every value map without default over ``path`` of ``source`` shares, sorted.

    None when no field of a ``source`` object is mapped from ``path`` through such a map: the
    deployment then takes any value there, and a rule about it has nothing to check.
    """
    key_sets = [
        {key.lower() if vm.ignore_case else key for key in vm.map}
        for obj in mapping.objects.values()
        if obj.source == source
        for fm in obj.fields.values()
        if fm.kind == "from"
        and fm.from_ == path
        and (vm := fm.value_map) is not None
        and not vm.has_default
    ]
    if not key_sets:
        return None
    return sorted(set.intersection(*key_sets))
