"""Source of truth per field: which mapped values are actually sent, given Salesforce's record.

In a Bulk API 2.0 CSV an empty cell leaves a field unchanged and ``#N/A`` clears it, so each
policy reduces to "send the Intercom value, or NULL": ``intercom`` always sends it;
``salesforce`` only when the record is created; ``fill_blank`` when Salesforce's value is blank;
``newest`` when Intercom's record changed after Salesforce's. Routing values follow
``salesforce`` (assignment happens once), lifecycle values follow ``intercom``.
"""

from __future__ import annotations

from .compile import output_fields
from .model import Mapping

NULL_MARKER = "'#N/A'"


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


def compile_merge(
    mapping: Mapping,
    object_name: str,
    payload: str,
    current: str,
    modified_column: str = "LastModifiedDate",
) -> str:
    """A DuckDB SELECT applying each field's source of truth.

    ``payload`` is a relation shaped like ``compile_select``'s output; ``current`` the object's
    Salesforce records as mirrored, with the external id column, ``modified_column`` (for
    ``newest``) and a column per field whose policy reads Salesforce's value (``fill_blank``, or
    ``clear_when_null``). Output: ``_intercom_id``, ``_is_new``, the fields, ``_needs_review``.
    """
    ext = mapping.objects[object_name].external_id
    exists = f's."{ext}" IS NOT NULL'
    cols = ["p._intercom_id", f"NOT ({exists}) AS _is_new"]
    for name, (policy, clear) in field_policies(mapping, object_name).items():
        value = f'p."{name}"'
        if name == ext:
            cols.append(f'{value} AS "{name}"')
            continue
        if clear:
            value = (
                f'CASE WHEN {value} IS NULL AND s."{name}" IS NOT NULL '
                f"THEN {NULL_MARKER} ELSE {value} END"
            )
        if policy == "salesforce":
            value = f"CASE WHEN NOT ({exists}) THEN {value} END"
        elif policy == "fill_blank":
            blank = f"coalesce(CAST(s.\"{name}\" AS VARCHAR), '') = ''"
            value = f"CASE WHEN NOT ({exists}) OR {blank} THEN {value} END"
        elif policy == "newest":
            changed = f's."{modified_column}"'
            value = (
                f"CASE WHEN NOT ({exists}) OR {changed} IS NULL OR p._intercom_updated_at > "
                f"CAST({changed} AS TIMESTAMPTZ) THEN {value} END"
            )
        cols.append(f'{value} AS "{name}"')
    cols.append("p._needs_review")
    return (
        "SELECT " + ",\n       ".join(cols) + f"\nFROM ({payload}) p\n"
        f'LEFT JOIN ({current}) s ON s."{ext}" = p."{ext}"'
    )
