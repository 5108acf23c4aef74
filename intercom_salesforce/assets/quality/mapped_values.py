"""Value sets a row rule takes from the deployment's mapping file rather than from constants.

A value map without a default sends any value it lacks to review, so the values a rule should
accept are the map's keys, compared the way the map compares: after the transforms listed before
it (``trim``, ``lower``...) and ignoring case when the map says so. When several objects fill a
field from the same Intercom path (Lead and Contact both map the plan), a value is accepted only
if every one of them maps it.
"""

from __future__ import annotations

from dataclasses import dataclass

from intercom_salesforce.mapping import functions
from intercom_salesforce.mapping.model import SIMPLE_TRANSFORMS, FieldMapping, Mapping, MapTransform
from intercom_salesforce.warehouse import ident


@dataclass(frozen=True)
class MappedValues:
    """The keys a value map accepts, and the SQL (over the frame's column) of what it looks up."""

    keys: list[str]
    probe: str


def lookup_sql(column: str, fm: FieldMapping, vm: MapTransform) -> str:
    """The value the map looks up, from the raw ``column``: text as Salesforce keeps it, then
    the transforms before the map. A transform that needs more than the value (a bare
    ``truncate`` takes describe's length) ends the list: what follows is compared raw."""
    value = functions.clean_text(functions.Typed(f"CAST({ident(column)} AS VARCHAR)", "VARCHAR"))
    for t in fm.transforms[: fm.transforms.index(vm)]:
        if not isinstance(t, str) or t not in SIMPLE_TRANSFORMS or t == "truncate":
            break
        value = getattr(functions, t)(value)
    sql = functions.text(value)
    return f"lower({sql})" if vm.ignore_case else sql


def mapped_values(mapping: Mapping, source: str, path: str, column: str) -> MappedValues | None:
    """The keys every value map without default over ``path`` of ``source`` shares, and how the
    value is looked up (the first such field's way).

    None when no field of a ``source`` object is mapped from ``path`` through such a map: the
    deployment then takes any value there, and a rule about it has nothing to check.
    """
    found = [
        (fm, vm)
        for obj in mapping.objects.values()
        if obj.source == source
        for fm in obj.fields.values()
        if fm.kind == "from"
        and fm.from_ == path
        and (vm := fm.value_map) is not None
        and not vm.has_default
    ]
    if not found:
        return None
    key_sets = [{k.lower() if vm.ignore_case else k for k in vm.map} for _, vm in found]
    fm, vm = found[0]
    return MappedValues(sorted(set.intersection(*key_sets)), lookup_sql(column, fm, vm))
