"""The table of Intercom entities we stage: what differs between them is data, not code.

Each ``EntitySpec`` says how its records are read (``read``: one search over the window, one full
scroll filtered to it, one call per changed parent, or one whole list), how the endpoint pages
(``paging``), where the records sit in a response (``key``), the staging table and its typed
columns (with the dotted path each is read from), and for per-parent reads the parent entity and
the coverage table that remembers which parent versions were read. One asset factory
(``assets/extract/factory.py``) and one writer (``assets/extract/staging.py``) work from these
rows; tests parametrize over them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from intercom_salesforce.warehouse import ident, literal

DuckType = Literal["VARCHAR", "BIGINT", "DOUBLE", "BOOLEAN", "JSON", "TIMESTAMPTZ"]
# how each staged type is read out of a record's JSON (``json_transform``): timestamps arrive as
# Unix seconds and become TIMESTAMPTZ on insert. A float is rounded to the second and one past 64
# bits reads as NULL; both are a wrong JSON type, which the drift count reports
WIRE: dict[str, str] = {
    "VARCHAR": "VARCHAR",
    "BIGINT": "BIGINT",
    "DOUBLE": "DOUBLE",
    "BOOLEAN": "BOOLEAN",
    "JSON": "JSON",
    "TIMESTAMPTZ": "BIGINT",
}


@dataclass(frozen=True)
class Column:
    """One staged column: a top-level key of the record, a dotted path into a JSON key, or an
    SQL expression over the record's keys.

    Records never pass through Python row by row: the writer hands DuckDB each page's JSON and
    every column is SQL (``assets/extract/staging.py``). ``expr`` reads the struct ``s`` of the
    record's keys named in ``reads`` (key, staged type), and yields the column's value.
    """

    name: str
    type: DuckType = "VARCHAR"
    source: str | None = None  # dotted path in the API record; defaults to ``name``
    expr: str | None = None  # computed value (SQL over ``s``), overrides ``source``
    reads: tuple[tuple[str, DuckType], ...] = ()  # the keys ``expr`` reads, with their types

    @property
    def path(self) -> str:
        return self.source or self.name

    @property
    def direct(self) -> bool:
        """A plain top-level key, whose presence and JSON type can be observed for drift."""
        return self.expr is None and "." not in self.path

    def key_types(self) -> tuple[tuple[str, DuckType], ...]:
        """The record's top-level keys this column reads, with the type each is read as."""
        if self.expr is not None:
            return self.reads
        if "." in self.path:
            return ((self.path.split(".", 1)[0], "JSON"),)
        return ((self.path, self.type),)

    def select(self) -> str:
        """The column's value from ``s``, before the writer converts timestamps."""
        if self.expr is not None:
            return f"({self.expr})::{WIRE[self.type]}"
        if "." in self.path:
            top, rest = self.path.split(".", 1)
            inner = literal("$." + ".".join(json_key(p) for p in rest.split(".")))
            if self.type == "JSON":
                return f"json_extract(s.{ident(top)}, {inner})"
            return f"TRY_CAST(json_extract_string(s.{ident(top)}, {inner}) AS {WIRE[self.type]})"
        return f"s.{ident(self.path)}"


def json_key(key: str) -> str:
    """A key as one step of a JSON path, quoted so any name is read literally."""
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


ReadStrategy = Literal["search", "scroll", "children", "list"]
# how an endpoint pages; resources/intercom_paging.py has one paginator per style
PagingStyle = Literal["search", "cursor", "scroll", "page_number", "next_url", "single"]


@dataclass(frozen=True)
class SubList:
    """An embedded list Intercom cuts at 10 items (``has_more``), read in full from its url."""

    name: str
    paging: PagingStyle = "single"
    per_page: int | None = None


@dataclass(frozen=True)
class Coverage:
    """Which parent versions a per-parent read has covered: one row per parent with the
    ``updated_at`` whose children were read, so a parent is read again only once it changes."""

    table: str
    parent_column: str  # the parent's id
    count_column: str  # children staged at that read
    # where a response states the true number of children (Intercom caps some lists at 500):
    # when set, the row also keeps ``parts_total`` and ``truncated``
    total_paths: tuple[str, ...] = ()
    # the values of ``EntitySpec.wanted_field`` that read kept: a parent is read again when a
    # consumer asks for a value it did not keep
    wanted_column: str | None = None


@dataclass(frozen=True)
class EntitySpec:
    """One staged Intercom entity."""

    name: str  # asset name and table suffix: staging.<name>
    columns: tuple[Column, ...]
    read: ReadStrategy
    paging: PagingStyle
    path: str  # per-parent reads: a template with ``{id}``
    key: str  # where the records sit in a response body (dotted for a nested list)
    partitioned: bool = True
    description: str = ""
    id_column: str = "id"
    # the query of each call; a list read makes one call per set (data attributes per model),
    # a per-parent read formats ``{id}`` in the values with the parent's id
    param_sets: tuple[dict[str, str], ...] = ({},)
    # search entities: how ``updated_at`` filters match. "day": by workspace-local calendar day
    # (contact search, 2.14); "exact": to the second, where the documented operators may be
    # inclusive, so the search is widened by a day each side (conversation search)
    search_dates: Literal["day", "exact"] | None = None
    # embedded lists truncated at 10 items (``has_more``) that are fetched in full from their url
    sub_lists: tuple[SubList, ...] = ()
    # rows an incremental run replaces: a record's version in its own partition day
    upsert_key: tuple[str, ...] = ("id", "partition_date")
    # per-parent reads: whose changed records are read again, the field naming the parent on
    # each child (when Intercom's child does not carry it), and what was read at which version
    parent: EntitySpec | None = None
    parent_field: str | None = None
    coverage: Coverage | None = None
    # children kept only when this field holds a value a consumer asks for (event names that the
    # mapping's rules read); with no value asked for, nothing is read at all
    wanted_field: str | None = None
    # assets whose results decide which parents are worth reading (the matches: see consumers)
    after: tuple[str, ...] = ()

    @property
    def search_entity(self) -> str:
        """``contacts`` for ``/contacts/search``."""
        return self.path.split("/")[1]

    @property
    def parent_unit(self) -> str:
        """What a per-parent read counts in its metadata: ``conversations``, ``contacts``."""
        return self.parent.name.removeprefix("intercom_") if self.parent else "records"

    @property
    def table(self) -> str:
        return f"staging.{self.name}"

    @property
    def current_view(self) -> str:
        return f"staging.{self.name}_current"

    def key_types(self) -> dict[str, DuckType]:
        """The record's top-level keys the columns read, each with one type."""
        keys: dict[str, DuckType] = {}
        for c in self.columns:
            for key, type_ in c.key_types():
                if keys.setdefault(key, type_) != type_:
                    raise ValueError(
                        f"{self.name}: key {key!r} is read as {keys[key]} and as {type_} "
                        f"(column {c.name})"
                    )
        return keys

    def structure(self) -> str:
        """The ``json_transform`` structure that reads a record's keys in one parse."""
        return json.dumps({k: WIRE[t] for k, t in self.key_types().items()})

    @property
    def observed(self) -> tuple[Column, ...]:
        """Columns whose key presence and JSON type are watched for drift: plain top-level keys
        the API sends (not computed values, nested paths, or the parent id the reader adds)."""
        return tuple(c for c in self.columns if c.direct and c.name != self.parent_field)

    def create_sql(self) -> str:
        cols = ",\n    ".join(f"{ident(c.name)} {c.type}" for c in self.columns)
        extra = (
            ",\n    partition_date DATE NOT NULL" if self.partitioned else ""
        ) + ",\n    extracted_at TIMESTAMPTZ NOT NULL,\n    run_id VARCHAR"
        ddl = f"CREATE TABLE IF NOT EXISTS {self.table} (\n    {cols}{extra}\n);"
        # columns added since a warehouse was created (inserts are by name)
        ddl += "".join(
            f"\nALTER TABLE {self.table} ADD COLUMN IF NOT EXISTS {ident(c.name)} {c.type};"
            for c in self.columns
        )
        if self.partitioned:
            ts = "updated_at"
            ddl += (
                f"\nCREATE OR REPLACE VIEW {self.current_view} AS SELECT * FROM {self.table} "
                f"QUALIFY row_number() OVER (PARTITION BY {ident(self.id_column)} "
                f"ORDER BY {ts} DESC, extracted_at DESC) = 1;"
            )
        return ddl


# seconds since the epoch that a TIMESTAMPTZ (and Salesforce) can hold: years 1 to 9999
EPOCH_RANGE = (-62135596800, 253402300799)


def _out_of_range(*names: str) -> Column:
    """The record's timestamps no date can hold (milliseconds or microseconds sent as seconds),
    as sent: staged as NULL, kept here, so the quality gate puts the record in review."""
    lo, hi = EPOCH_RANGE
    entries = ", ".join(f"{{'k': {literal(n)}, 'v': s.{ident(n)}}}" for n in names)
    bad = f"list_filter([{entries}], lambda e: e.v NOT BETWEEN {lo} AND {hi})"
    return Column(
        "invalid_timestamps",
        "JSON",
        expr=f"CASE WHEN len({bad}) > 0 THEN to_json(map_from_entries({bad})) END",
        reads=tuple((n, "TIMESTAMPTZ") for n in names),
    )


def _id_items(value: str) -> str:
    """The ids of a JSON array holding objects with an ``id`` or plain ids."""
    return (
        f"to_json(list_transform(json_extract({value}, '$[*]'), lambda i: "
        "CASE WHEN json_type(i) = 'OBJECT' THEN json_extract(i, '$.id') ELSE i END))"
    )


def _ids(sub: str) -> Column:
    """Ids of an embedded addressable list (``{"data": [...]}``), or of a plain id list."""
    v = f"s.{ident(sub)}"
    data = f"json_extract({v}, '$.data')"
    return Column(
        sub,
        "JSON",
        expr=(
            f"CASE json_type({v}) "
            f"WHEN 'OBJECT' THEN CASE WHEN json_type({data}) = 'ARRAY' THEN {_id_items(data)} END "
            f"WHEN 'ARRAY' THEN {_id_items(v)} END"
        ),
        reads=((sub, "JSON"),),
    )


def _nested_list(name: str, sub: str, inner: str, attr: str = "id") -> Column:
    """``attr`` of each object in ``sub.inner`` (Intercom's ``{"type": ..., "tags": [...]}``)."""
    v = f"s.{ident(sub)}"
    items = f"json_extract({v}, {literal('$.' + json_key(inner) + '[*]')})"
    objects = f"list_filter({items}, lambda i: json_type(i) = 'OBJECT')"
    values = (
        f"list_transform({objects}, lambda i: json_extract(i, {literal('$.' + json_key(attr))}))"
    )
    return Column(
        name,
        "JSON",
        expr=f"CASE WHEN json_type({v}) = 'OBJECT' THEN to_json({values}) END",
        reads=((sub, "JSON"),),
    )


CONTACTS = EntitySpec(
    name="intercom_contacts",
    read="search",
    paging="search",
    path="/contacts/search",
    key="data",
    search_dates="day",
    sub_lists=(SubList("tags"), SubList("companies", "page_number", per_page=60)),
    description=(
        "Intercom contacts (users and leads) updated in the partition's days: one row per contact "
        "and partition day of its updated_at; intercom_contacts_current keeps the newest version "
        "per id. Truncated tags/companies lists are fetched in full."
    ),
    columns=(
        Column("id"),
        Column("workspace_id"),
        Column("external_id"),
        Column("role"),
        Column("email"),
        Column("email_domain"),
        Column("name"),
        Column("phone"),
        Column("owner_id", "BIGINT"),
        Column("unsubscribed_from_emails", "BOOLEAN"),
        Column("created_at", "TIMESTAMPTZ"),
        Column("updated_at", "TIMESTAMPTZ"),
        Column("signed_up_at", "TIMESTAMPTZ"),
        Column("last_seen_at", "TIMESTAMPTZ"),
        _out_of_range("created_at", "signed_up_at", "last_seen_at"),
        Column("custom_attributes", "JSON"),
        Column("location", "JSON"),
        _ids("tags"),
        _ids("companies"),
    ),
)

CONVERSATIONS = EntitySpec(
    name="intercom_conversations",
    read="search",
    paging="search",
    path="/conversations/search",
    key="conversations",
    search_dates="exact",
    description=(
        "Intercom conversations (metadata, tags, assignees, statistics; no parts) updated in the "
        "partition's days. Conversation search documents '>' as 'greater or equal' and no day "
        "rounding, so it asks for a day more on each side and the window is applied exactly here."
    ),
    columns=(
        Column("id"),
        Column("title"),
        Column("state"),
        Column("open", "BOOLEAN"),
        Column("priority"),
        Column("created_at", "TIMESTAMPTZ"),
        Column("updated_at", "TIMESTAMPTZ"),
        Column("waiting_since", "TIMESTAMPTZ"),
        Column("snoozed_until", "TIMESTAMPTZ"),
        Column("admin_assignee_id", "BIGINT"),
        Column("team_assignee_id", "BIGINT"),
        _nested_list("contact_ids", "contacts", "contacts"),
        _nested_list("teammate_ids", "teammates", "teammates"),
        _nested_list("tag_ids", "tags", "tags"),
        _nested_list("tag_names", "tags", "tags", "name"),
        Column("source", "JSON"),
        Column("statistics", "JSON"),
        Column("custom_attributes", "JSON"),
        Column("parts_total", "BIGINT", source="statistics.count_conversation_parts"),
    ),
)

COMPANIES = EntitySpec(
    name="intercom_companies",
    read="scroll",
    paging="scroll",
    path="/companies/scroll",
    key="data",
    description=(
        "Intercom companies updated in the window, from one full scroll (2.14 has no company "
        "search; the list endpoint stops at 10,000). A scroll interrupted by a 500 restarts from "
        "the beginning and repeats collapse on id; an incremental run still scrolls everything "
        "but stages only companies changed since the mark."
    ),
    columns=(
        Column("id"),
        Column("company_id"),
        Column("name"),
        Column("website"),
        Column("industry"),
        Column("size", "BIGINT"),
        Column("monthly_spend", "DOUBLE"),
        Column("user_count", "BIGINT"),
        Column("session_count", "BIGINT"),
        Column("plan", "JSON"),
        Column("created_at", "TIMESTAMPTZ"),
        Column("updated_at", "TIMESTAMPTZ"),
        Column("remote_created_at", "TIMESTAMPTZ"),
        Column("last_request_at", "TIMESTAMPTZ"),
        Column("custom_attributes", "JSON"),
        _nested_list("tag_ids", "tags", "tags"),
    ),
)

CONVERSATION_PARTS = EntitySpec(
    name="intercom_conversation_parts",
    read="children",
    paging="single",
    path="/conversations/{id}",
    key="conversation_parts.conversation_parts",
    upsert_key=("id",),
    parent=CONVERSATIONS,
    parent_field="conversation_id",
    coverage=Coverage(
        "staging.intercom_conversation_coverage",
        "conversation_id",
        "parts_retrieved",
        total_paths=("statistics.count_conversation_parts", "conversation_parts.total_count"),
    ),
    description=(
        "Parts of the conversations that changed in the window, one call per conversation whose "
        "updated_at moved since its parts were read (staging.intercom_conversation_coverage). "
        "Intercom returns at most the 500 most recent parts: a conversation with more is "
        "flagged there and in metadata, never silently short; parts are upserted by id."
    ),
    columns=(
        Column("id"),
        Column("conversation_id"),
        Column("part_type"),
        Column("body"),
        Column("created_at", "TIMESTAMPTZ"),
        Column("updated_at", "TIMESTAMPTZ"),
        Column("author", "JSON"),
        Column("assigned_to", "JSON"),
        Column("redacted", "BOOLEAN"),
    ),
)

DATA_EVENTS = EntitySpec(
    name="intercom_data_events",
    read="children",
    paging="next_url",
    path="/events",
    key="events",
    param_sets=({"type": "user", "intercom_user_id": "{id}"},),
    upsert_key=("id",),
    parent=CONTACTS,
    coverage=Coverage(
        "staging.intercom_contact_event_coverage",
        "contact_id",
        "events_read",
        wanted_column="event_names",
    ),
    wanted_field="event_name",
    after=("person_matches",),
    description=(
        "Data events of the contacts that changed in the window, only when the mapping's rules "
        "read events, and only the names they read (plus sync_settings.event_names). Intercom "
        "has no workspace-wide feed: one listing per contact whose updated_at moved since its "
        "events were read (staging.intercom_contact_event_coverage). Read after the matches: a "
        "contact matched for certain to an object no event rule writes (a Salesforce Contact, "
        "when only Lead fields follow events) is not listed, nor one with no email whose ids "
        "match nothing (neither updated nor created)."
    ),
    columns=(
        Column("id"),
        Column("event_name"),
        Column("intercom_user_id"),
        Column("user_id"),
        Column("email"),
        Column("created_at", "TIMESTAMPTZ"),
        Column("metadata", "JSON"),
        Column("updated_at", "TIMESTAMPTZ", source="created_at"),  # events never change
    ),
)

ADMINS = EntitySpec(
    name="intercom_admins",
    read="list",
    paging="single",
    path="/admins",
    key="admins",
    partitioned=False,
    description="Intercom admins (teammates): names, emails, teams.",
    columns=(
        Column("id"),
        Column("name"),
        Column("email"),
        Column("job_title"),
        Column("away_mode_enabled", "BOOLEAN"),
        Column("has_inbox_seat", "BOOLEAN"),
        Column("team_ids", "JSON"),
    ),
)

TEAMS = EntitySpec(
    name="intercom_teams",
    read="list",
    paging="single",
    path="/teams",
    key="teams",
    partitioned=False,
    description="Intercom teams and their admins.",
    columns=(Column("id"), Column("name"), Column("admin_ids", "JSON")),
)

TAGS = EntitySpec(
    name="intercom_tags",
    read="list",
    paging="single",
    path="/tags",
    key="data",
    partitioned=False,
    description="Intercom tags.",
    columns=(Column("id"), Column("name")),
)

DATA_ATTRIBUTES = EntitySpec(
    name="intercom_data_attributes",
    read="list",
    paging="single",
    path="/data_attributes",
    key="data",
    param_sets=({"model": "contact"}, {"model": "company"}),
    partitioned=False,
    id_column="full_name",
    description="Contact and company data attributes (standard and custom), with types.",
    columns=(
        Column("full_name"),
        Column("model"),
        Column("name"),
        Column("label"),
        Column("data_type"),
        Column("options", "JSON"),
        Column("custom", "BOOLEAN"),
        Column("archived", "BOOLEAN"),
        Column("api_writable", "BOOLEAN"),
    ),
)

PARTITIONED = (CONTACTS, CONVERSATIONS, COMPANIES, CONVERSATION_PARTS, DATA_EVENTS)
REFERENCE = (ADMINS, TEAMS, TAGS, DATA_ATTRIBUTES)
ALL = PARTITIONED + REFERENCE
