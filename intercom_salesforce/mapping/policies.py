"""Source of truth per field, as the push applies it (``assets/push/truth.py``).

``intercom`` values are sent when they change; ``salesforce`` ones only when the record is
created; ``fill_blank`` when Salesforce's value is blank; ``newest`` when only Intercom changed
since the last sync. Routing values follow ``salesforce`` (assignment happens once), lifecycle
values follow ``intercom``.
"""

from __future__ import annotations

from .compile import output_fields
from .model import Mapping


def field_policies(mapping: Mapping, object_name: str) -> dict[str, tuple[str, bool]]:
    """{field: (source_of_truth, clear_when_null)} for every column ``compile_select`` yields."""
    obj = mapping.objects[object_name]
    lifecycle = {s.field for s in mapping.lifecycle_for(object_name)}
    out: dict[str, tuple[str, bool]] = {}
    for name in output_fields(mapping, object_name):
        fm = obj.fields.get(name)
        if fm is not None:
            out[name] = (fm.source_of_truth, fm.clear_when_null)
        elif name in lifecycle:
            out[name] = ("intercom", False)
        else:
            out[name] = ("salesforce", False)
    return out
