"""The mapping checked against the org's describe at run start.

A field Salesforce does not have, or will not let us write, fails the whole run before any data
moves; so does a value map that would send an inactive or unknown picklist value. Values that
only turn out to be unmappable row by row go to review instead (see ``compile.py``).
"""

from __future__ import annotations

from typing import Any

from .compile import describe_fields, field_sql
from .errors import MappingError
from .model import FieldMapping, Mapping, TruncateTransform
from .sources import SOURCES

PathKey = tuple[str | int, ...]


def _picklist_problem(obj: str, field: str, value: str, meta: dict[str, Any]) -> str | None:
    values = {p["value"]: p.get("active", False) for p in meta.get("picklistValues", [])}
    if value not in values:
        known = ", ".join(repr(v) for v, active in values.items() if active)
        return f"{obj}.{field}: {value!r} is not a picklist value (active: {known})"
    if not values[value]:
        return f"{obj}.{field}: {value!r} is an inactive picklist value"
    return None


def _field_values(fm: FieldMapping, path: PathKey) -> list[tuple[PathKey, str]]:
    """Constant values a field mapping can send: its ``value`` and every map output."""
    out: list[tuple[PathKey, str]] = []
    if fm.kind == "value" and isinstance(fm.value, str) and not fm.transforms:
        out.append((path + ("value",), fm.value))
    vm = fm.value_map
    if vm is not None:
        i = fm.transforms.index(vm)
        for key, value in vm.map.items():
            if value is not None:
                out.append((path + ("transforms", i, "map", key), value))
        if vm.has_default and vm.default is not None:
            out.append((path + ("transforms", i, "default"), vm.default))
    return out


def _check_field(
    mapping: Mapping, obj: str, field: str, meta: dict[str, Any], policy: str, path: PathKey
) -> list[str]:
    out = []
    if not meta.get("createable", False):
        out.append(mapping.problem(path, f"{obj}.{field} is not createable"))
    elif not meta.get("updateable", False) and policy != "salesforce":
        out.append(
            mapping.problem(
                path,
                f"{obj}.{field} is not updateable; set source_of_truth: salesforce to write it "
                "only on create",
            )
        )
    return out


def _mapped_field_problems(
    mapping: Mapping, name: str, field: str, fm: FieldMapping, meta: dict[str, Any]
) -> list[str]:
    """One mapped field against its describe entry: writable, a length for a bare truncate,
    constants in the picklist, a formatted timestamp for a date or datetime field."""
    path: PathKey = ("objects", name, "fields", field)
    out = _check_field(mapping, name, field, meta, fm.source_of_truth, path)
    for i, t in enumerate(fm.transforms):
        bare = t == "truncate" or (isinstance(t, TruncateTransform) and t.truncate is None)
        if bare and not meta.get("length"):
            out.append(
                mapping.problem(
                    path + ("transforms", i),
                    f"{name}.{field} has no length in describe; give truncate a length",
                )
            )
    if meta.get("type") in ("picklist", "multipicklist"):
        for vpath, value in _field_values(fm, path):
            problem = _picklist_problem(name, field, value, meta)
            if problem:
                out.append(mapping.problem(vpath, problem))
    if meta.get("type") in ("date", "datetime"):
        source = SOURCES[mapping.objects[name].source]
        typed, _ = field_sql(fm, source, meta.get("length") or 1, "")
        if typed.type == "TIMESTAMPTZ":
            out.append(
                mapping.problem(
                    path,
                    f"{name}.{field} is a {meta['type']}: format the timestamp with "
                    f"{{{meta['type']}: iso}}",
                )
            )
    return out


def _object_problems(mapping: Mapping, name: str, describe: dict[str, Any]) -> list[str]:
    obj = mapping.objects[name]
    fields = describe_fields({name: describe}, name)
    lower = {k.lower(): v for k, v in fields.items()}
    out: list[str] = []

    def meta_of(field: str, path: PathKey) -> dict[str, Any] | None:
        meta = fields.get(field) or lower.get(field.lower())
        if meta is None:
            out.append(mapping.problem(path, f"{name}.{field} is not a field of {name}"))
        return meta

    ext = meta_of(obj.external_id, ("objects", name, "external_id"))
    if ext is not None and not (ext.get("externalId") or ext.get("idLookup")):
        out.append(
            mapping.problem(
                ("objects", name, "external_id"),
                f"{name}.{obj.external_id} is not an External ID field",
            )
        )
    for field, fm in obj.fields.items():
        path: PathKey = ("objects", name, "fields", field)
        meta = meta_of(field, path)
        if meta is not None:
            out += _mapped_field_problems(mapping, name, field, fm, meta)
    out += _routing_problems(mapping, name, describe, meta_of)
    for setting in mapping.lifecycle_for(name):
        meta = meta_of(setting.field, setting.path)
        if meta is None:
            continue
        out += _check_field(mapping, name, setting.field, meta, "intercom", setting.path)
        if meta.get("type") == "picklist":
            problem = _picklist_problem(name, setting.field, setting.value, meta)
            if problem:
                out.append(mapping.problem(setting.path, problem))
    return out


def _routing_problems(
    mapping: Mapping, name: str, describe: dict[str, Any], meta_of: Any
) -> list[str]:
    out: list[str] = []
    record_types = {
        rt["developerName"]
        for rt in describe.get("recordTypeInfos", [])
        if rt.get("active") and rt.get("available") and not rt.get("master")
    }
    for i, rule in mapping.rules_for(name):
        for field, value in rule.set.items():
            path: PathKey = ("routing", i, "set", field)
            meta = meta_of(field, path)
            if meta is None:
                continue
            out += _check_field(mapping, name, field, meta, "salesforce", path)
            if field == "RecordTypeId" and value not in record_types:
                known = ", ".join(sorted(record_types)) or "none"
                out.append(
                    mapping.problem(
                        path, f"{name} has no active record type {value!r} (available: {known})"
                    )
                )
            elif field == "OwnerId" and "@" not in value and "Group" not in meta["referenceTo"]:
                out.append(
                    mapping.problem(path, f"{name} records cannot be owned by a queue ({value!r})")
                )
            elif meta.get("type") == "picklist":
                problem = _picklist_problem(name, field, value, meta)
                if problem:
                    out.append(mapping.problem(path, problem))
    return out


def check_against_describe(
    mapping: Mapping, describe: dict[str, dict], *, strict: bool = True
) -> list[str]:
    """Problems of ``mapping`` against the org: ``describe`` maps each object name to the JSON of
    ``/sobjects/{X}/describe``. Raises MappingError listing them all unless ``strict`` is False,
    in which case they are returned (an empty list means the mapping fits the org)."""
    problems: list[str] = []
    for name in mapping.objects:
        if name not in describe:
            problems.append(
                mapping.problem(("objects", name), f"{name} is not in the org's describe")
            )
            continue
        problems += _object_problems(mapping, name, describe[name])
    if problems and strict:
        raise MappingError(problems)
    return problems
