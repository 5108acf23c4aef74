"""A mapping compiled to one DuckDB SELECT per Salesforce object: set-based, no Python per row.

The inner query reads the staging row once and computes each field's mapped value, why a value
cannot be sent (a value-map miss, a custom attribute of the wrong type, an unreadable date) and the
routing and lifecycle conditions; the middle query picks each field's final value (lifecycle, then
routing rules, then the field mapping, then the default rule) and checks it (a picklist value the
org does not accept, the Bulk API's clear marker ``#N/A``, a value of the wrong kind for the
field); the outer query keeps every value that failed a check away from Salesforce, flagging the
record for review with the reasons instead (``guards.py``).
"""

from __future__ import annotations

from typing import Any

from . import guards
from .errors import MappingError
from .expr import compile_node, parse_expr, parse_path, refs
from .functions import (
    ROW,
    Typed,
    column_ref,
    email_domain,
    email_local,
    format_date,
    format_datetime,
    json_ref,
    literal,
    lower,
    null_if_blank,
    quote,
    split_name_first,
    split_name_last,
    text,
    title,
    trim,
    truncate,
    upper,
)
from .model import (
    DatetimeTransform,
    DateTransform,
    FieldMapping,
    Mapping,
    MapTransform,
    ScopeRule,
    TruncateTransform,
)
from .sources import SOURCES, Source

EVENTS_TABLE = "staging.intercom_data_events"
TAGS_TABLE = "staging.intercom_tags"
ADMINS_TABLE = "staging.intercom_admins"
TEAMS_TABLE = "staging.intercom_teams"
HELPER_COLUMNS = ("_intercom_id", "_intercom_updated_at")
_UNARY = {
    "trim": trim,
    "lower": lower,
    "upper": upper,
    "title": title,
    "null_if_blank": null_if_blank,
    "split_name_first": split_name_first,
    "split_name_last": split_name_last,
    "email_local": email_local,
    "email_domain": email_domain,
}


def describe_fields(describe: dict[str, dict] | None, object_name: str) -> dict[str, dict]:
    """Describe's field entries of ``object_name`` by name ({} without describe)."""
    if not describe or object_name not in describe:
        return {}
    return {f["name"]: f for f in describe[object_name].get("fields", [])}


def _source_value(
    fm: FieldMapping, source: Source, name: str, meta: dict[str, Any]
) -> tuple[Typed, list[guards.Check]]:
    """The field's value before transforms, and the checks on what the source holds.

    A path into a JSON column (a custom attribute) is read as what the field takes, cast where
    that loses nothing; a value map decides for itself what it accepts, so it gets no check.
    """
    checked = fm.value_map is None
    if fm.kind == "from":
        segments = parse_path(fm.from_ or "")
        raw = json_ref(source, segments)
        if raw is None or not checked:
            return column_ref(source, segments), []
        value, check = guards.json_value(name, fm.from_ or "", raw, guards.expectation(meta))
        return value, [check]
    if fm.kind == "expr":
        node = parse_expr(fm.expr or "")
        checks = []
        for ref in refs(node) if checked else []:
            raw = json_ref(source, ref.segments)
            if raw is not None:
                checks.append(guards.scalar_check(name, ".".join(ref.segments), raw))
        return compile_node(node, source), checks
    return literal(fm.value), []


def _value_map(x: Typed, t: MapTransform) -> tuple[Typed, str | None]:
    """CASE over the map; the second item is the SQL that is true for a value with no mapping."""
    probe = f"lower({text(x)})" if t.ignore_case else text(x)
    keys = [k.lower() if t.ignore_case else k for k in t.map]
    whens = " ".join(
        f"WHEN {probe} = {quote(k)} THEN {literal(v).sql}"
        for k, v in zip(keys, t.map.values(), strict=True)
    )
    fallback = literal(t.default).sql if t.has_default else "NULL"
    # NULL stays NULL: a default stands in for unmapped values, not for missing ones
    sql = f"CASE WHEN {probe} IS NULL THEN NULL {whens} ELSE {fallback} END"
    miss = None
    if not t.has_default:
        listed = ", ".join(quote(k) for k in keys)
        miss = (
            f"({probe} IS NOT NULL AND {probe} NOT IN ({listed}))"
            if keys
            else f"({probe} IS NOT NULL)"
        )
    return Typed(sql, "VARCHAR"), miss


Step = str | MapTransform | TruncateTransform | DateTransform | DatetimeTransform


def _apply(
    value: Typed, t: Step, length: int | None, name: str, where: str
) -> tuple[Typed, guards.Check | None]:
    """One transform on ``value``, and the check it adds (a value-map miss, an unreadable date)."""
    if isinstance(t, str) and t != "truncate":
        return _UNARY[t](value), None
    if t == "truncate" or isinstance(t, TruncateTransform):
        n = t.truncate if isinstance(t, TruncateTransform) else None
        n = n or length
        if not n:
            raise MappingError(f"{where}: truncate needs a length: give one or a describe")
        return truncate(value, n), None
    if isinstance(t, MapTransform):
        mapped, miss = _value_map(value, t)
        reason = (
            f"{quote(name + ': ')} || {guards.snippet(text(value))} || ' has no value in the map'"
        )
        return mapped, guards.Check(miss, reason) if miss else None
    if isinstance(t, DateTransform):
        formatted = format_date(value, t.date)
    else:
        formatted = format_datetime(value, t.datetime)
    # a timestamp always formats; text or Unix seconds may not be a date at all
    check = None if value.type == "TIMESTAMPTZ" else guards.date_check(name, value, formatted)
    return formatted, check


def field_sql(
    fm: FieldMapping,
    source: Source,
    length: int | None,
    where: str,
    name: str = "",
    meta: dict[str, Any] | None = None,
) -> tuple[Typed, list[guards.Check]]:
    """The mapped value of one field and the checks that send the record to review instead.

    ``length`` is describe's length, used by a bare ``truncate``; ``where`` names the field in
    errors; ``name`` and ``meta`` (describe's entry) name the field in reasons and say what it
    takes.
    """
    value, checks = _source_value(fm, source, name, meta or {})
    for t in fm.transforms:
        value, check = _apply(value, t, length, name, where)
        if check is not None:
            checks.append(check)
    return value, checks


def _in(sql: str, values: list[str]) -> str:
    return f"{sql} IN ({', '.join(quote(v) for v in values)})"


def _list_of(values: list[str]) -> str:
    return "[" + ", ".join(quote(v) for v in values) + "]::VARCHAR[]"


def rule_condition(mapping: Mapping, rule: ScopeRule, source: Source) -> str:
    """SQL true when ``rule`` matches the staging row (every given dimension matches)."""
    if rule.when is None:
        return "TRUE"
    parts: list[str] = []
    for dim, values in rule.when.conditions().items():
        if dim in ("brand", "region", "business_unit"):
            ref = column_ref(source, parse_path(getattr(mapping.scope_attributes, dim)))
            parts.append(f"coalesce({_in(text(ref), values)}, FALSE)")
        elif dim == "tag":
            ids = f'coalesce(from_json({ROW}."{source.tag_column}", \'["VARCHAR"]\'), [])'
            named = (
                f"coalesce((SELECT list(t.id) FROM {TAGS_TABLE} t "
                f"WHERE {_in('t.name', values)}), [])"
            )
            parts.append(f"list_has_any({ids}, list_concat({named}, {_list_of(values)}))")
        else:  # team: the contact owner's teams, by name or id
            teams = (
                f"coalesce((SELECT flatten(list(from_json(a.team_ids, '[\"VARCHAR\"]'))) "
                f"FROM {ADMINS_TABLE} a WHERE a.id = CAST({ROW}.owner_id AS VARCHAR)), [])"
            )
            named = (
                f"coalesce((SELECT list(t.id) FROM {TEAMS_TABLE} t "
                f"WHERE {_in('t.name', values)}), [])"
            )
            parts.append(f"list_has_any({teams}, list_concat({named}, {_list_of(values)}))")
    return "(" + " AND ".join(parts) + ")"


def _event_condition(event: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM {EVENTS_TABLE} e "
        f"WHERE e.intercom_user_id = {ROW}.id AND e.event_name = {quote(event)})"
    )


def _lead_to_user_condition(source: Source) -> str:
    return (
        f"({ROW}.role = 'user' AND EXISTS (SELECT 1 FROM {source.history} h "
        f"WHERE h.id = {ROW}.id AND h.role = 'lead'))"
    )


def _reference_value(
    field: str, name: str, object_name: str, ids: dict[str, dict[str, str]], where: str
) -> str:
    """The Id a routing name stands for, as a SQL literal."""
    if name in ids.get(field, {}):
        return quote(ids[field][name])
    raise MappingError(
        f"{where}: no Salesforce Id for {field} {name!r} on {object_name}; record types come "
        "from describe, owners and queues must be resolved first (see routing_references)"
    )


def _record_type_ids(describe: dict[str, Any]) -> dict[str, str]:
    return {
        rt["developerName"]: rt["recordTypeId"]
        for rt in describe.get("recordTypeInfos", [])
        if rt.get("active") and rt.get("available")
    }


def output_fields(mapping: Mapping, object_name: str) -> list[str]:
    """The Salesforce columns ``compile_select`` yields, in order (the CSV's columns)."""
    out = list(mapping.objects[object_name].fields)
    for _, rule in mapping.rules_for(object_name):
        out += [f for f in rule.set if f not in out]
    for setting in mapping.lifecycle_for(object_name):
        if setting.field not in out:
            out.append(setting.field)
    return out


def _checked(fm: FieldMapping | None) -> bool:
    """Whether a field's final value is checked per record: any value read from Intercom, unless
    a value map turns it into one of the file's constants (checked at load)."""
    return fm is not None and fm.kind != "value" and fm.value_map is None


def review_fields(
    mapping: Mapping, object_name: str, describe: dict[str, dict] | None = None
) -> list[str]:
    """Fields with an ``_unmapped_<Field>`` column: every field read from Intercom (a value may
    be the clear marker, of the wrong type, or an unreadable date), value maps without default,
    and picklists."""
    obj = mapping.objects[object_name]
    fields = describe_fields(describe, object_name)
    out = []
    for name in output_fields(mapping, object_name):
        fm = obj.fields.get(name)
        vm = fm.value_map if fm else None
        picklist = fields.get(name, {}).get("type") == "picklist"
        if (vm is not None and not vm.has_default) or (picklist and fm is not None) or _checked(fm):
            out.append(name)
    return out


class _Overrides:
    """Values that replace a field's mapped value when a condition holds, in precedence order
    (lifecycle, then routing rules), plus the default rule's values."""

    def __init__(self) -> None:
        self.columns: list[str] = []  # condition columns of the inner query
        self.whens: dict[str, list[tuple[str, str]]] = {}  # field -> [(condition, value SQL)]
        self.defaults: dict[str, str] = {}  # field -> value SQL

    def add(self, field: str, column: str, condition: str, value: str) -> None:
        self.columns.append(f"{condition} AS {column}")
        self.whens.setdefault(field, []).append((f"m.{column}", value))


def _overrides(
    mapping: Mapping, object_name: str, source: Source, ids: dict[str, dict[str, str]]
) -> _Overrides:
    out = _Overrides()
    for n, setting in enumerate(mapping.lifecycle_for(object_name)):
        cond = _event_condition(setting.event) if setting.event else _lead_to_user_condition(source)
        out.add(setting.field, f"_lifecycle_{n}", cond, quote(setting.value))
    for i, rule in mapping.rules_for(object_name):
        cond = rule_condition(mapping, rule, source)
        for field, name in rule.set.items():
            if field in ("RecordTypeId", "OwnerId"):
                where = mapping.where(("routing", i, "set", field))
                sql = _reference_value(field, name, object_name, ids, where)
            else:
                sql = quote(name)
            if rule.default:
                out.defaults.setdefault(field, sql)
            else:
                out.whens.setdefault(field, []).append((f"m._rule_{i}", sql))
        if not rule.default:
            out.columns.append(f"{cond} AS _rule_{i}")
    return out


def _final_checks(
    name: str, fm: FieldMapping | None, meta: dict[str, Any], with_why: bool
) -> list[guards.Check]:
    """Checks of a field's mapped value ``m."<name>"`` in the middle query, in the order their
    reasons are given: what the inner query found, the picklist, then the value itself."""
    mapped = f'm."{name}"'
    checks = []
    if with_why:
        checks.append(guards.Check(f'm."_why_{name}" IS NOT NULL', f'm."_why_{name}"'))
    if meta.get("type") == "picklist" and fm is not None:
        active = _active_values(meta)
        valid = _in(mapped, active) if active else "FALSE"
        checks.append(
            guards.Check(
                f"({mapped} IS NOT NULL AND NOT coalesce({valid}, FALSE))",
                f"{quote(name + ': ')} || {guards.snippet(text(Typed(mapped, 'VARCHAR')))} "
                "|| ' is not an active value of the picklist'",
            )
        )
    if _checked(fm):
        checks += guards.output_checks(name, f"{mapped}::VARCHAR", guards.expectation(meta))
    return checks


def _inner_columns(
    mapping: Mapping, object_name: str, source: Source, fields: dict[str, dict]
) -> tuple[list[str], set[str]]:
    """The inner query's field columns and ``_why_<Field>`` columns (why the source value of a
    field cannot be sent), with the names of the fields that have one."""
    obj = mapping.objects[object_name]
    inner: list[str] = []
    with_why: set[str] = set()
    for name, fm in obj.fields.items():
        meta = fields.get(name, {})
        where = mapping.where(("objects", object_name, "fields", name))
        value, checks = field_sql(fm, source, meta.get("length") or None, where, name, meta)
        inner.append(f'{value.sql} AS "{name}"')
        why = guards.first_reason(checks)
        if why is not None:
            inner.append(f'{why} AS "_why_{name}"')
            with_why.add(name)
    return inner, with_why


def compile_select(
    mapping: Mapping,
    object_name: str,
    describe: dict[str, dict] | None = None,
    references: dict[str, dict[str, str]] | None = None,
    carry: dict[str, str] | None = None,
) -> str:
    """A DuckDB SELECT over the object's staging view: ``_intercom_id``, ``_intercom_updated_at``,
    one column per Salesforce field (``output_fields``), ``_unmapped_<Field>`` per review field,
    ``_needs_review`` and ``_review_reason`` (why, field by field; NULL when nothing is wrong),
    and each ``carry`` column (output name -> a column of the staging view) as it is: read in
    the same scan, not looked up again by id.

    ``describe`` ({object: describe JSON}) supplies truncate lengths, record type Ids, the
    picklist values a field accepts and the type each field takes; ``references`` ({"OwnerId":
    {email or queue: Id}, ...}) the Ids routing names stand for. NULL in a field column means
    "leave unchanged"; a value that failed a check is NULL too, and its record needs review.
    """
    if object_name not in mapping.objects:
        raise MappingError(f"{mapping.where(('objects',))}: {object_name!r} is not mapped")
    obj = mapping.objects[object_name]
    source = SOURCES[obj.source]
    fields = describe_fields(describe, object_name)
    ids = {k: dict(v) for k, v in (references or {}).items()}
    if describe and object_name in describe:
        record_types = _record_type_ids(describe[object_name])
        ids["RecordTypeId"] = {**record_types, **ids.get("RecordTypeId", {})}

    inner = [f"{ROW}.id AS _intercom_id", f"{ROW}.updated_at AS _intercom_updated_at"]
    field_columns, with_why = _inner_columns(mapping, object_name, source, fields)
    inner += field_columns
    over = _overrides(mapping, object_name, source, ids)
    inner += over.columns

    middle = ["m._intercom_id", "m._intercom_updated_at"]
    for name, column in (carry or {}).items():
        inner.append(f'{ROW}."{column}" AS "{name}"')
        middle.append(f'm."{name}"')
    to_review = review_fields(mapping, object_name, describe)
    for name in output_fields(mapping, object_name):
        fm = obj.fields.get(name)
        mapped = f'm."{name}"' if fm is not None else over.defaults.get(name, "NULL")
        whens = over.whens.get(name, [])
        if whens:
            case = " ".join(f"WHEN {c} THEN {v}" for c, v in whens)
            middle.append(f'CASE {case} ELSE {mapped} END AS "{name}"')
        else:
            middle.append(f'{mapped} AS "{name}"')
        if name in to_review:
            reason = guards.first_reason(
                _final_checks(name, fm, fields.get(name, {}), name in with_why)
            )
            if reason and whens:  # a lifecycle or routing value replaced the mapped one
                replaced = " OR ".join(c for c, _ in whens)
                reason = f"CASE WHEN NOT coalesce({replaced}, FALSE) THEN {reason} END"
            middle.append(f'{reason or "NULL::VARCHAR"} AS "_reason_{name}"')
    middle.append(f"{_routing_label(mapping, object_name)} AS _routing_rule")
    return (
        _outer(to_review)
        + " FROM (\nSELECT "
        + ",\n       ".join(middle)
        + "\nFROM (\nSELECT "
        + ",\n       ".join(inner)
        + f"\nFROM {source.view} {ROW}\n) m\n) r"
    )


def _outer(to_review: list[str]) -> str:
    """The outer SELECT: a field whose value failed a check is left empty, and flagged."""
    if not to_review:
        return "SELECT *, FALSE AS _needs_review, NULL::VARCHAR AS _review_reason"
    reasons = [f'"_reason_{n}"' for n in to_review]
    kept = ", ".join(f'CASE WHEN "_reason_{n}" IS NULL THEN "{n}" END AS "{n}"' for n in to_review)
    flags = ", ".join(f'"_reason_{n}" IS NOT NULL AS "_unmapped_{n}"' for n in to_review)
    needs = " OR ".join(f"{r} IS NOT NULL" for r in reasons)
    return (
        f"SELECT * EXCLUDE ({', '.join(reasons)}) REPLACE ({kept}),\n       {flags},\n"
        f"       ({needs}) AS _needs_review,\n"
        f"       nullif(concat_ws('; ', {', '.join(reasons)}), '') AS _review_reason"
    )


def _routing_label(mapping: Mapping, object_name: str) -> str:
    """SQL naming the first routing rule that matched the row (the default when none did): the
    rule kept with each record in ``sync.routing_decisions``."""
    whens, default = [], "NULL::VARCHAR"
    for i, rule in mapping.rules_for(object_name):
        label = quote(rule.name or f"routing[{i}]")
        if rule.default:
            default = label
        else:
            whens.append(f"WHEN m._rule_{i} THEN {label}")
    return f"CASE {' '.join(whens)} ELSE {default} END" if whens else default


def _active_values(meta: dict[str, Any]) -> list[str]:
    return [p["value"] for p in meta.get("picklistValues", []) if p.get("active")]


def routing_references(mapping: Mapping, object_name: str) -> dict[str, set[str]]:
    """Names routing needs Ids for: {"RecordTypeId": {dev names}, "OwnerId": {emails, queues}}.

    Owners containing ``@`` are users (by email), the others queues (by DeveloperName).
    """
    out: dict[str, set[str]] = {}
    for _, rule in mapping.rules_for(object_name):
        for field, name in rule.set.items():
            if field in ("RecordTypeId", "OwnerId"):
                out.setdefault(field, set()).add(name)
    return out
