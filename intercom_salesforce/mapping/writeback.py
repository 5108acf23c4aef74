"""The ``to_intercom`` section compiled: each attribute and milestone as SQL over the Salesforce
side of a matched record.

Expressions read ``side.Field`` paths, where a side is one mirrored Salesforce record related to
the Intercom contact or company (``SIDES``). The write-back builds one row per Intercom record
with every side as a JSON column (``assets/writeback/sql/*_sides.sql``), so the mapping's own
``from``/``expr``/transforms compile here exactly as they do for the push, through the same
builders (``compile.field_sql``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .compile import field_sql
from .expr import compile_expr, parse_expr, parse_path, refs
from .functions import Typed, column_ref, quote, text
from .model import SF_NAME, AttributeMapping, FieldMapping, Mapping, Scalar

# side -> the Salesforce objects whose fields it holds
SIDES: dict[str, tuple[str, ...]] = {
    "person": ("Lead", "Contact"),  # the matched Contact, else the Lead
    "lead": ("Lead",),  # the person's Lead (converted or not)
    "contact": ("Contact",),  # the person's Contact (directly, or its Lead's conversion)
    "owner": ("User",),  # the person's owner: a User, or a queue (Id, Name, Email)
    "account": ("Account",),
    "account_owner": ("User",),
    "opportunity": ("Opportunity",),  # the Account's most recently modified open or won one
    "won_opportunity": ("Opportunity",),  # the Account's most recently closed won one
    "org": (),  # instance_url: the org's address, for record links
}
COMPANY_SIDES = ("account", "account_owner", "opportunity", "won_opportunity", "org")
ORG_FIELDS = ("instance_url",)
# the User fields the mirror keeps (owners are read from mirror.salesforce_users as they are)
USER_FIELDS = ("Id", "Email", "IsActive", "Name")
# the longest text a custom attribute is sent with (Intercom's limit for string attributes)
ATTRIBUTE_LENGTH = 255


@dataclass(frozen=True)
class SalesforceSides:
    """The row the write-back compiles against: one JSON column per side (the ``Source`` shape
    ``column_ref`` reads)."""

    sides: tuple[str, ...]
    name: str = "salesforce"

    def column_type(self, name: str) -> str | None:
        return "JSON" if name in self.sides else None

    @property
    def column_names(self) -> list[str]:
        return list(self.sides)


PEOPLE = SalesforceSides(tuple(SIDES))
COMPANIES = SalesforceSides(COMPANY_SIDES)


def _path_problem(segments: tuple[str, ...], source: SalesforceSides) -> str | None:
    """Why ``side.Field`` cannot be read on ``source``, or None."""
    side = segments[0]
    if side not in source.sides:
        where = "a company" if source is COMPANIES else "a person"
        return f"{side!r} is not a side of {where} (known: {', '.join(source.sides)})"
    if len(segments) != 2:
        return f"a path is side.Field, got {'.'.join(segments)!r}"
    if not re.match(SF_NAME, segments[1]):
        return f"{segments[1]!r} is not a Salesforce field name"
    if side == "org" and segments[1] not in ORG_FIELDS:
        return f"org has {', '.join(ORG_FIELDS)} only"
    if SIDES[side] == ("User",) and segments[1] not in USER_FIELDS:
        return f"{side} has {', '.join(USER_FIELDS)} only"
    return None


def _paths(am: FieldMapping) -> list[tuple[str, ...]]:
    """Every path a field mapping reads."""
    if am.kind == "from":
        return [parse_path(am.from_ or "")]
    if am.kind == "expr":
        return [r.segments for r in refs(parse_expr(am.expr or ""))]
    return []


def attribute_sql(am: AttributeMapping, source: SalesforceSides, where: str) -> str:
    """The attribute's value as text (NULL: no value), over the sides row ``c``."""
    value, _checks = field_sql(am, source, ATTRIBUTE_LENGTH, where, where)  # type: ignore[arg-type]
    return _typed(value, am.type)


def _typed(value: Typed, kind: str) -> str:
    """Text of the value as the attribute's type holds it (a number or boolean that does not read
    as one is no value)."""
    t = text(value)
    if kind == "integer":
        return f"CAST(CAST(round(try_cast({t} AS DOUBLE)) AS BIGINT) AS VARCHAR)"
    if kind == "float":
        return f"CAST(try_cast({t} AS DOUBLE) AS VARCHAR)"
    if kind == "boolean":
        return f"CAST(try_cast({t} AS BOOLEAN) AS VARCHAR)"
    return f"nullif({t}, '')"


def _condition_value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def condition_sql(when: dict[str, Scalar | list[Scalar]], source: SalesforceSides) -> str:
    """SQL true when every condition holds (values compared as text, ignoring case)."""
    parts = []
    for path, wanted in when.items():
        ref = column_ref(source, parse_path(path))  # type: ignore[arg-type]
        values = wanted if isinstance(wanted, list) else [wanted]
        listed = ", ".join(quote(_condition_value(v).lower()) for v in values)
        parts.append(f"coalesce(lower({text(ref)}) IN ({listed}), FALSE)")
    return "(" + " AND ".join(parts) + ")"


def plain_person_field(am: AttributeMapping) -> tuple[str, str] | None:
    """(side, field) when the attribute is one field of the person's record, read as is or
    transformed: the value the push may have sent to Salesforce itself."""
    if am.kind != "from":
        return None
    segments = parse_path(am.from_ or "")
    if segments[0] in ("person", "lead", "contact") and len(segments) == 2:
        return segments[0], segments[1]
    return None


def writeback_fields(mapping: Mapping, sobject: str) -> set[str]:
    """The fields of ``sobject`` the ``to_intercom`` section reads (for the mirror)."""
    section = mapping.to_intercom
    paths: list[tuple[str, ...]] = []
    for am in [*section.contacts.values(), *section.companies.values()]:
        paths += _paths(am)
    for milestone in section.tags.values():
        paths += [parse_path(p) for p in milestone.when]
    fields = {p[1] for p in paths if len(p) == 2 and sobject in SIDES.get(p[0], ())}
    if sobject == "Opportunity" and (fields or _reads_opportunities(paths)):
        # how "the most recent open or won one" is chosen
        fields |= {"IsClosed", "IsWon", "LastModifiedDate", "CloseDate"}
    return fields


def _reads_opportunities(paths: list[tuple[str, ...]]) -> bool:
    return any(p[0] in ("opportunity", "won_opportunity") for p in paths)


def _attribute_problems(
    mapping: Mapping, model: str, am: AttributeMapping, name: str, source: SalesforceSides
) -> list[str]:
    base = ("to_intercom", model, name)
    key = "from" if am.kind == "from" else "expr"
    try:
        for segments in _paths(am):
            problem = _path_problem(segments, source)
            if problem:
                return [mapping.problem(base + (key,), problem)]
        if am.kind == "expr":
            compile_expr(am.expr or "", source)  # type: ignore[arg-type]
        attribute_sql(am, source, mapping.where(base))
    except ValueError as exc:
        return [mapping.problem(base + (key,), str(exc))]
    return []


def _tag_problems(mapping: Mapping) -> list[str]:
    out: list[str] = []
    names: dict[str, str] = {}
    for key, milestone in mapping.to_intercom.tags.items():
        base = ("to_intercom", "tags", key)
        source = COMPANIES if milestone.companies else PEOPLE
        for path in milestone.when:
            try:
                problem = _path_problem(parse_path(path), source)
            except ValueError as exc:
                problem = str(exc)
            if problem:
                out.append(mapping.problem(base + ("when", path), problem))
        other = names.setdefault(milestone.tag.lower(), key)
        if other != key:
            out.append(mapping.problem(base + ("tag",), f"tag {milestone.tag!r} is also {other}"))
    return out


def _echo_problems(mapping: Mapping) -> list[str]:
    """A Salesforce field filled from an attribute the write-back writes would echo each side's
    writes back to the other for ever: refused at load."""
    written = {
        "contacts": {n.lower() for n in mapping.to_intercom.contacts},
        "companies": {n.lower() for n in mapping.to_intercom.companies},
    }
    out: list[str] = []
    for obj_name, obj in mapping.objects.items():
        for field, fm in obj.fields.items():
            try:
                paths = _paths(fm)
            except ValueError:
                continue  # a broken path or expression: reported by the field's own check
            for p in paths:
                if (
                    p[0] == "custom_attributes"
                    and len(p) == 2
                    and p[1].lower() in written[obj.source]
                ):
                    out.append(
                        mapping.problem(
                            ("objects", obj_name, "fields", field, fm.kind),
                            f"custom_attributes.{p[1]} is written back from Salesforce "
                            "(to_intercom): mapping it to Salesforce too would echo each "
                            "side's writes",
                        )
                    )
    return out


def writeback_problems(mapping: Mapping) -> list[str]:
    """Every problem of the ``to_intercom`` section, each naming file, line and field path."""
    out: list[str] = []
    section = mapping.to_intercom
    for name, am in section.contacts.items():
        out += _attribute_problems(mapping, "contacts", am, name, PEOPLE)
    people = {n.lower() for n in section.contacts}
    for name, am in section.companies.items():
        out += _attribute_problems(mapping, "companies", am, name, COMPANIES)
        if name.lower() in people:
            out.append(
                mapping.problem(
                    ("to_intercom", "companies", name),
                    f"{name!r} is also a contacts attribute: Intercom keeps one namespace of "
                    "attribute names for people and companies",
                )
            )
    return out + _tag_problems(mapping) + _echo_problems(mapping)
