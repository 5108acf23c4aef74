"""The declarative field mapping: loading with file:line errors, checks against the sandbox org's
describe, the compiled SELECT on a real DuckDB, and properties of the transforms."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intercom_salesforce.mapping import (
    MappingError,
    check_against_describe,
    compile_select,
    load_mapping,
    output_fields,
    parse_mapping,
    resolve_references,
    routing_references,
)
from intercom_salesforce.mapping.compile import _value_map
from intercom_salesforce.mapping.expr import compile_expr
from intercom_salesforce.mapping.functions import Typed, lower, title, trim, truncate
from intercom_salesforce.mapping.model import MapTransform
from intercom_salesforce.mapping.sources import SOURCES
from intercom_salesforce.warehouse import ensure_warehouse
from tests.helpers import ALICE, QUEUE, REFS, sandbox_describe

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_MAPPING = ROOT / "mappings" / "sandbox.yaml"


def line_of(text: str, needle: str, occurrence: int = 0) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence]


# -- loading: every problem names file, line and field path ------------------------------------

BASE = """version: 1
objects:
  Lead:
    source: contacts
    external_id: Intercom_Contact_Id__c
    fields:
      Intercom_Contact_Id__c:
        from: id
      Email:
        from: email
        transforms: [trim, lower]
"""
EMAIL = "objects.Lead.fields.Email"


@pytest.mark.parametrize(
    ("old", "new", "line_needle", "path", "message"),
    [
        (
            "[trim, lower]",
            "[trim, lowr]",
            "lowr",
            f"{EMAIL}.transforms[1]",
            "unknown transform 'lowr'",
        ),
        (
            "transforms: [trim, lower]",
            "transforms:\n          - trim\n          - lowr",
            "- lowr",
            f"{EMAIL}.transforms[1]",
            "unknown transform 'lowr'",
        ),
        (
            "transforms: [trim, lower]",
            "transforms: [{mapp: {a: A}}]",
            "mapp",
            f"{EMAIL}.transforms[0]",
            "unknown transform with keys ['mapp']",
        ),
        (
            "transforms: [trim, lower]",
            "transforms:\n          - map: {a: A}\n            defualt: B",
            "defualt",
            f"{EMAIL}.transforms[0].defualt",
            "unknown key 'defualt'",
        ),
        (
            "transforms: [trim, lower]",
            "sourc_of_truth: newest",
            "sourc_of_truth",
            f"{EMAIL}.sourc_of_truth",
            "unknown key 'sourc_of_truth'",
        ),
        (
            "transforms: [trim, lower]",
            "clear_when_null: maybe",
            "clear_when_null",
            f"{EMAIL}.clear_when_null",
            "valid boolean",
        ),
        (
            "transforms: [trim, lower]",
            "transforms: [{truncate: many}]",
            "truncate",
            f"{EMAIL}.transforms[0].truncate",
            "valid integer",
        ),
        (
            "transforms: [trim, lower]",
            "source_of_truth: intercomm",
            "source_of_truth",
            f"{EMAIL}.source_of_truth",
            "'intercom', 'salesforce', 'newest' or 'fill_blank'",
        ),
        (
            "        from: email\n",
            "",
            "Email:",
            EMAIL,
            "exactly one of 'from', 'expr' or 'value' is required (got none)",
        ),
        (
            "transforms: [trim, lower]",
            "value: x",
            "Email:",
            EMAIL,
            "(got 'from' and 'value')",
        ),
        ("from: email", "from: emial", "emial", f"{EMAIL}.from", "unknown contacts column 'emial'"),
        (
            "from: email",
            "from: email.x",
            "email.x",
            f"{EMAIL}.from",
            "'email' is VARCHAR, not JSON",
        ),
        (
            "from: email",
            "expr: \"concat(name, ' ' email)\"",
            "expr",
            f"{EMAIL}.expr",
            "expected ')', found 'email' at column 18",
        ),
        (
            "from: email",
            'expr: "lowr(email)"',
            "expr",
            f"{EMAIL}.expr",
            "unknown function 'lowr'",
        ),
        (
            "from: email",
            'expr: "email; DROP TABLE x"',
            "expr",
            f"{EMAIL}.expr",
            "unexpected character ';'",
        ),
        ("version: 1", "version: 2", "version", "version", "Input should be 1"),
        (
            "version: 1",
            "version: 1\nrouting:\n  - when: {region: EMEA}\n    default: true\n    set: {A: b}",
            "- when",
            "routing[0]",
            "exactly one of 'when' or 'default: true'",
        ),
        (
            "version: 1",
            "version: 1\nrouting:\n  - when: {country: DE}\n    set: {A: b}",
            "country",
            "routing[0].when.country",
            "unknown key 'country'",
        ),
        ("  Lead:", "  Lead:\n    sourcee: x", "sourcee", "objects.Lead.sourcee", "unknown key"),
        (
            "transforms: [trim, lower]",
            "from: name",
            "from: name",
            "<yaml>",
            "duplicate key 'from'",
        ),
    ],
)
def test_bad_file_names_file_line_and_field(old, new, line_needle, path, message):
    text = BASE.replace(old, new, 1)
    assert text != BASE
    with pytest.raises(MappingError) as err:
        parse_mapping(text, "mappings/bad.yaml")
    expected = f"mappings/bad.yaml:{line_of(text, line_needle)}: {path}: "
    hits = [p for p in err.value.problems if p.startswith(expected)]
    assert hits, f"{expected!r} not in {err.value.problems}"
    assert message in hits[0]


def test_load_mapping_names_the_file(tmp_path):
    path = tmp_path / "deploy.yaml"
    path.write_text(BASE.replace("lower]", "lowr]"))
    with pytest.raises(MappingError, match=rf"^{path}:11: {EMAIL}\.transforms\[1\]: unknown"):
        load_mapping(path)


CROSS = (
    BASE
    + """  Account:
    source: companies
    external_id: Intercom_Company_Id__c
    fields:
      Intercom_Company_Id__c:
        from: company_id
      Name:
        from: name
routing:
  - when: {team: Sales}
    set: {OwnerId: Inbound_Leads}
  - default: true
    objects: [Account]
    set: {Name: Unknown}
lifecycle:
  events:
    requested-demo: {Opportunity.StageName: Prospecting, Account.Name: Demo}
"""
)


def test_cross_field_problems_are_all_reported_with_lines():
    with pytest.raises(MappingError) as err:
        parse_mapping(CROSS, "m.yaml")
    problems = err.value.problems
    expected = [
        (line_of(CROSS, "team: Sales"), "routing[0].when.team", "contact owner's team"),
        (line_of(CROSS, "Name: Unknown"), "routing[1].set.Name", "both mapped"),
        (line_of(CROSS, "requested-demo"), "lifecycle.events.requested-demo.Opportunity", ""),
        (line_of(CROSS, "requested-demo"), "lifecycle.events.requested-demo.Account.Name", ""),
    ]
    for line, path, message in expected:
        assert any(p.startswith(f"m.yaml:{line}: {path}") and message in p for p in problems), (
            line,
            path,
            problems,
        )


# -- the sandbox mapping against the sandbox org ---------------------------------------------


def test_sandbox_mapping_loads_and_fits_the_sandbox_org():
    mapping = load_mapping(SANDBOX_MAPPING)
    assert set(mapping.objects) == {"Lead", "Contact", "Account"}
    assert check_against_describe(mapping, sandbox_describe()) == []
    lead = output_fields(mapping, "Lead")
    for field in ("FirstName", "LastName", "Email", "Company", "Intercom_Plan__c", "OwnerId"):
        assert field in lead
    assert "Status" in lead  # set by lifecycle only
    assert routing_references(mapping, "Lead")["OwnerId"] == {
        "alice@sandbox-corp.example.com",
        "Inbound_Leads",
    }


def test_sandbox_mapping_fits_the_emulator_describe(sandbox):
    """The same check with describe fetched through simple-salesforce from the emulator."""
    client = sandbox.salesforce().client()
    describe = {
        name: client.call(lambda sf, n=name: getattr(sf, n).describe())
        for name in ("Lead", "Contact", "Account")
    }
    assert check_against_describe(load_mapping(SANDBOX_MAPPING), describe) == []


def _sandbox_variant(old: str, new: str, occurrence: int = 0, needle: str = "") -> tuple[str, int]:
    """The sandbox mapping with the ``occurrence``-th ``old`` replaced by ``new``, and the line of
    ``needle`` within the replacement (its first line by default)."""
    text = SANDBOX_MAPPING.read_text()
    at = -1
    for _ in range(occurrence + 1):
        at = text.index(old, at + 1)
    text = text[:at] + new + text[at + len(old) :]
    return text, text[: at + new.index(needle)].count("\n") + 1


# (old, new, occurrence of old, text on the expected line, field path, message)
DESCRIBE_CASES = [
    (
        "enterprise: Enterprise\n",
        "enterprise: Enterprise\n              legacy-gold: Legacy\n",
        0,
        "legacy-gold",
        "objects.Lead.fields.Intercom_Plan__c.transforms[2].map.legacy-gold",
        "Lead.Intercom_Plan__c: 'Legacy' is an inactive picklist value",
    ),
    (
        "enterprise: Enterprise\n",
        "enterprise: Enterprise\n              gold: Gold\n",
        1,
        "gold",
        "objects.Contact.fields.Intercom_Plan__c.transforms[2].map.gold",
        "Contact.Intercom_Plan__c: 'Gold' is not a picklist value",
    ),
    (
        "Intercom_Region__c:\n",
        "Intercom_Territory__c:\n",
        0,
        "",
        "objects.Lead.fields.Intercom_Territory__c",
        "Lead.Intercom_Territory__c is not a field of Lead",
    ),
    (
        "      Intercom_Role__c:\n",
        "      Name: {from: name}\n      Intercom_Role__c:\n",
        1,
        "",
        "objects.Contact.fields.Name",
        "Contact.Name is not createable",
    ),
    (
        "RecordTypeId: Support_Lead\n",
        "RecordTypeId: Support_Leads\n",
        0,
        "",
        "routing[1].set.RecordTypeId",
        "Lead has no active record type 'Support_Leads'",
    ),
    (
        "LeadSource: Partner Referral\n",
        "LeadSource: Referral\n",
        0,
        "",
        "routing[2].set.LeadSource",
        "Lead.LeadSource: 'Referral' is not a picklist value",
    ),
    (
        "Lead.Status: Marketing Qualified\n",
        "Lead.Status: MQL\n",
        0,
        "",
        "lifecycle.events.requested-demo.Lead.Status",
        "'MQL' is not a picklist value",
    ),
    (
        "Intercom_Last_Seen__c:\n        from: last_seen_at\n        transforms: [{datetime: iso}]\n",
        "Intercom_Last_Seen__c:\n        from: last_seen_at\n",
        0,
        "",
        "objects.Lead.fields.Intercom_Last_Seen__c",
        "Lead.Intercom_Last_Seen__c is a datetime: format the timestamp with {datetime: iso}",
    ),
    (
        "      Phone:\n",
        "      IsConverted: {value: 'true'}\n      Phone:\n",
        0,
        "",
        "objects.Lead.fields.IsConverted",
        "Lead.IsConverted is not createable",
    ),
]


@pytest.mark.parametrize(("old", "new", "occurrence", "needle", "path", "message"), DESCRIBE_CASES)
def test_describe_check_rejects_with_object_field_and_line(
    old, new, occurrence, needle, path, message
):
    text, line = _sandbox_variant(old, new, occurrence, needle)
    mapping = parse_mapping(text, "sandbox.yaml")
    problems = check_against_describe(mapping, sandbox_describe(), strict=False)
    where = f"sandbox.yaml:{line}: {path}: "
    assert any(p.startswith(where) and message in p for p in problems), (where, problems)
    with pytest.raises(MappingError, match=r"sandbox\.yaml:\d+: "):
        check_against_describe(mapping, sandbox_describe())


def test_users_may_own_contacts():
    text, _ = _sandbox_variant(
        "    objects: [Lead]\n    when: {tag: vip}",
        "    objects: [Lead, Contact]\n    when: {tag: vip}",
    )
    assert check_against_describe(parse_mapping(text, "m.yaml"), sandbox_describe()) == []


def test_queue_owner_on_an_object_queues_cannot_own():
    text, _ = _sandbox_variant(
        "    objects: [Lead]\n    default: true",
        "    objects: [Lead, Contact]\n    default: true",
    )
    mapping = parse_mapping(text, "sandbox.yaml")
    problems = check_against_describe(mapping, sandbox_describe(), strict=False)
    assert any(
        "routing[3].set.OwnerId: Contact records cannot be owned by a queue" in p for p in problems
    ), problems


def test_an_object_missing_from_the_org_stops_the_run():
    mapping = load_mapping(SANDBOX_MAPPING)
    describe = sandbox_describe()
    del describe["Account"]
    with pytest.raises(MappingError, match=r"sandbox\.yaml:\d+: objects\.Account: Account is not"):
        check_against_describe(mapping, describe)


# -- compiled SQL on a real DuckDB --------------------------------------------------------------

SEEN = "2026-11-20 10:11:12+00"
PEOPLE = [
    # id, name, email, role, custom attributes, tag ids
    (
        "c-ada",
        "  Ada   Lovelace ",
        "\t ADA.Lovelace@Example.COM\u00a0",
        "lead",
        {"plan": " Pro ", "region": "EMEA"},
        ["t-vip"],
    ),
    (
        "c-plato",
        "Plato",
        "plato@athens.example",
        "user",
        {"plan": "legacy-gold", "region": "NA"},
        [],
    ),
    ("c-anon", None, None, "lead", {}, None),
    (
        "c-long",
        "X" * 50 + " " + "Y" * 100,
        "e" * 90 + "@x.io",
        "visitor",
        {"plan": "free"},
        ["t-partner"],
    ),
    ("c-upgraded", "Grace Hopper", "grace@navy.example", "user", {"plan": "enterprise"}, []),
    ("c-demo", "Alan Turing", "alan@bletchley.example", "lead", {"plan": "STARTER"}, []),
]


@pytest.fixture()
def warehouse(tmp_path):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_warehouse(conn)
    insert = (
        "INSERT INTO staging.intercom_contacts (id, name, email, role, custom_attributes, tags, "
        "last_seen_at, updated_at, partition_date, extracted_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, '2026-11-20', now())"
    )
    for cid, name, email, role, attrs, tags in PEOPLE:
        conn.execute(
            insert,
            [
                cid,
                name,
                email,
                role,
                json.dumps(attrs),
                json.dumps(tags),
                SEEN,
                "2026-11-20 12:00+00",
            ],
        )
    # Grace was a lead the day before
    conn.execute(
        insert,
        ["c-upgraded", "Grace Hopper", None, "lead", "{}", "[]", SEEN, "2026-11-19 12:00+00"],
    )
    conn.execute(
        "INSERT INTO staging.intercom_tags VALUES ('t-vip', 'vip', now(), NULL), ('t-partner', 'partner', now(), NULL)"
    )
    conn.execute(
        "INSERT INTO staging.intercom_data_events (id, event_name, intercom_user_id, created_at, "
        "updated_at, partition_date, extracted_at) VALUES "
        "('e1', 'requested-demo', 'c-demo', now(), now(), '2026-11-20', now()), "
        "('e2', 'viewed-pricing', 'c-ada', now(), now(), '2026-11-20', now())"
    )
    companies = [
        ("co-1", "cmp-1", " Initech ", "software", 120),
        ("co-2", "cmp-2", "Hooli", "Aerospace", 5),
        ("co-3", "cmp-3", "Nil", None, None),
    ]
    for cid, ext, name, industry, size in companies:
        conn.execute(
            "INSERT INTO staging.intercom_companies (id, company_id, name, industry, size, "
            "updated_at, partition_date, extracted_at) VALUES (?, ?, ?, ?, ?, now(), '2026-11-20', now())",
            [cid, ext, name, industry, size],
        )
    yield conn
    conn.close()


def _rows(conn, sql: str) -> dict[str, dict]:
    rel = conn.sql(sql)
    return {r[0]: dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()}


def test_compiled_lead_select_gives_the_expected_rows(warehouse):
    mapping = load_mapping(SANDBOX_MAPPING)
    describe = sandbox_describe()
    record_types = {
        rt["developerName"]: rt["recordTypeId"] for rt in describe["Lead"]["recordTypeInfos"]
    }
    rows = _rows(warehouse, compile_select(mapping, "Lead", describe, REFS))
    assert set(rows) == {p[0] for p in PEOPLE}

    ada = rows["c-ada"]
    assert (ada["FirstName"], ada["LastName"]) == ("Ada", "Lovelace")
    assert ada["Email"] == "ada.lovelace@example.com"
    assert ada["Intercom_Plan__c"] == "Pro" and ada["_unmapped_Intercom_Plan__c"] is False
    assert ada["Intercom_Region__c"] == "EMEA"
    assert ada["Intercom_Last_Seen__c"] == "2026-11-20T10:11:12Z"
    assert ada["OwnerId"] == ALICE  # vip wins the owner; EMEA still sets the record type
    assert ada["RecordTypeId"] == record_types["Support_Lead"]
    assert ada["LeadSource"] == "Intercom" and ada["Company"] == "[not provided]"
    assert ada["Status"] is None and ada["_needs_review"] is False

    plato = rows["c-plato"]
    assert (plato["FirstName"], plato["LastName"]) == (None, "Plato")
    assert plato["Intercom_Plan__c"] is None  # legacy-gold has no mapping: review, not Salesforce
    assert plato["_unmapped_Intercom_Plan__c"] is True and plato["_needs_review"] is True
    assert plato["OwnerId"] == QUEUE and plato["RecordTypeId"] == record_types["Sales_Lead"]

    anon = rows["c-anon"]
    assert anon["LastName"] == "[not provided]" and anon["Email"] is None
    assert anon["Intercom_Plan__c"] is None and anon["_unmapped_Intercom_Plan__c"] is False

    long = rows["c-long"]
    assert long["FirstName"] == "X" * 40  # describe: FirstName length 40
    assert long["LastName"] == "Y" * 80  # describe: LastName length 80
    assert long["Email"] == "e" * 80
    assert long["Intercom_Plan__c"] == "Free"
    assert long["LeadSource"] == "Partner Referral"
    assert long["Intercom_Role__c"] is None  # not a value of the picklist
    assert long["_unmapped_Intercom_Role__c"] is True and long["_needs_review"] is True

    assert rows["c-upgraded"]["Status"] == "Working - Contacted"
    assert rows["c-demo"]["Status"] == "Marketing Qualified"
    assert rows["c-demo"]["Intercom_Plan__c"] == "Starter"


def test_compiled_account_select_maps_industry_with_a_default(warehouse):
    mapping = load_mapping(SANDBOX_MAPPING)
    rows = _rows(warehouse, compile_select(mapping, "Account", sandbox_describe()))
    assert rows["co-1"]["Name"] == "Initech" and rows["co-1"]["Industry"] == "Technology"
    assert rows["co-1"]["Intercom_Company_Id__c"] == "cmp-1"
    assert rows["co-1"]["NumberOfEmployees"] == 120
    assert rows["co-2"]["Industry"] == "Other" and rows["co-2"]["_needs_review"] is False
    assert rows["co-3"]["Industry"] is None  # missing stays missing; the default is for misses


def test_routing_needs_resolved_owner_ids(warehouse):
    mapping = load_mapping(SANDBOX_MAPPING)
    with pytest.raises(MappingError, match=r"routing\[0\]\.set\.OwnerId: no Salesforce Id"):
        compile_select(mapping, "Lead", sandbox_describe())


def test_resolve_references_reads_the_mirrored_org(warehouse):
    mapping = load_mapping(SANDBOX_MAPPING)
    warehouse.execute(
        "INSERT INTO mirror.salesforce_users VALUES (?, 'Alice@Sandbox-Corp.example.com', true, "
        "'Alice Admin', now())",
        [ALICE],
    )
    warehouse.execute(
        "INSERT INTO mirror.salesforce_queues VALUES (?, 'Inbound Leads', 'Inbound_Leads', NULL, now())",
        [QUEUE],
    )
    warehouse.execute(
        "INSERT INTO mirror.salesforce_queue_sobjects VALUES ('03g1', ?, 'Lead', now())", [QUEUE]
    )
    warehouse.execute(
        "INSERT INTO mirror.salesforce_record_types VALUES "
        "('012A', 'Sales Lead', 'Sales_Lead', 'Lead', true, now()), "
        "('012B', 'Support Lead', 'Support_Lead', 'Lead', true, now())"
    )
    refs = resolve_references(warehouse, mapping, "Lead")
    assert refs["OwnerId"] == {"alice@sandbox-corp.example.com": ALICE, "Inbound_Leads": QUEUE}
    assert refs["RecordTypeId"] == {"Sales_Lead": "012A", "Support_Lead": "012B"}
    warehouse.execute('UPDATE mirror.salesforce_users SET "IsActive" = false')
    with pytest.raises(MappingError, match=r"routing\[0\]\.set\.OwnerId: .* not an active user"):
        resolve_references(warehouse, mapping, "Lead")


# -- transform properties -------------------------------------------------------------------------

_DB = duckdb.connect()
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60
)


def _eval(build, value: str | None):
    x = Typed("c.v", "VARCHAR")
    return _DB.execute(
        f"SELECT {build(x).sql} FROM (SELECT ?::VARCHAR AS v) c", [value]
    ).fetchone()[0]


@settings(max_examples=150, deadline=None)
@given(TEXT, st.integers(min_value=1, max_value=80))
def test_truncate_never_exceeds_the_length(value, n):
    out = _eval(lambda x: truncate(x, n), value)
    assert len(out) <= n and out == value[:n]


@settings(max_examples=150, deadline=None)
@given(TEXT)
def test_lower_trim_and_title_are_idempotent(value):
    for fn in (lower, trim, title):
        once = _eval(fn, value)
        assert _eval(fn, once) == once


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=8).filter(lambda s: "\x00" not in s),
        st.sampled_from(["A", "B", "C"]),
        max_size=5,
    ),
    st.one_of(st.none(), TEXT),
    st.booleans(),
)
def test_value_map_is_total_with_a_default_and_flags_misses_without(mapping, value, with_default):
    t = MapTransform(map=mapping, default="Z") if with_default else MapTransform(map=mapping)
    x = Typed("c.v", "VARCHAR")
    sql, miss = _value_map(x, t)
    row = _DB.execute(
        f"SELECT {sql.sql}, {miss or 'FALSE'} FROM (SELECT ?::VARCHAR AS v) c", [value]
    ).fetchone()
    if value is None:
        assert row == (None, False)
    elif value in mapping:
        assert row == (mapping[value], False)
    elif with_default:
        assert row == ("Z", False)
    else:
        assert row == (None, True)


EXPRESSIONS = """version: 1
scope_attributes:
  brand: custom_attributes.brand
  business_unit: location.country
objects:
  Lead:
    source: contacts
    external_id: Intercom_Contact_Id__c
    fields:
      Intercom_Contact_Id__c: {from: id}
      Description:
        expr: "join(' / ', title(name), custom_attributes['Favourite colour'], upper(location.country))"
      Title:
        expr: "concat(email_domain(email), '#', left(id, 2))"
      Signed_Up__c:
        from: signed_up_at
        transforms: [{date: iso}]
      Signed_Up_EU__c:
        from: signed_up_at
        transforms: [{date: '%d/%m/%Y'}]
      Demo_At__c:
        from: custom_attributes.requested_demo_at
        transforms: [{datetime: iso}]
      Seats__c: {value: 3}
      Rating:
        from: custom_attributes.rating
        transforms: [{map: {hot: Hot}, default: null}]
routing:
  - when: {team: Sales, brand: [Core, Labs]}
    set: {OwnerId: sales@x.example}
  - when: {business_unit: Germany}
    set: {OwnerId: de@x.example}
"""


def test_expressions_dates_and_scope_dimensions(warehouse):
    warehouse.execute("DELETE FROM staging.intercom_contacts")
    people = [
        (
            "k1",
            "ada LOVELACE",
            "ada@calc.example",
            1,
            {
                "brand": "Core",
                "Favourite colour": "teal",
                "requested_demo_at": 1763640000,
                "rating": "hot",
            },
            {"country": "France"},
        ),
        (
            "k2",
            "grace hopper",
            "grace@navy.example",
            1,
            {"brand": "Other", "rating": "cold"},
            {"country": "Germany"},
        ),
        ("k3", None, None, None, {}, None),
    ]
    for cid, name, email, owner, attrs, location in people:
        warehouse.execute(
            "INSERT INTO staging.intercom_contacts (id, name, email, owner_id, custom_attributes, "
            "location, signed_up_at, updated_at, partition_date, extracted_at) VALUES "
            "(?, ?, ?, ?, ?, ?, '2026-03-04 23:30:00+00', now(), '2026-11-20', now())",
            [
                cid,
                name,
                email,
                owner,
                json.dumps(attrs),
                json.dumps(location) if location else None,
            ],
        )
    warehouse.execute(
        "INSERT INTO staging.intercom_admins (id, name, team_ids, extracted_at) "
        "VALUES ('1', 'Alice', '[5017000]', now())"
    )
    warehouse.execute(
        "INSERT INTO staging.intercom_teams VALUES ('5017000', 'Sales', '[1]', now(), NULL)"
    )
    mapping = parse_mapping(EXPRESSIONS, "expr.yaml")
    refs = {"OwnerId": {"sales@x.example": "005S", "de@x.example": "005D"}}
    sql = compile_select(mapping, "Lead", references=refs)
    rows = _rows(warehouse, sql)
    k1, k2, k3 = rows["k1"], rows["k2"], rows["k3"]
    assert k1["Description"] == "Ada Lovelace / teal / FRANCE"
    assert k2["Description"] == "Grace Hopper / GERMANY"  # a missing part is skipped
    assert k3["Description"] is None and k3["Title"] == "#k3"
    assert k1["Title"] == "calc.example#k1"
    assert (k1["Signed_Up__c"], k1["Signed_Up_EU__c"]) == ("2026-03-04", "04/03/2026")  # UTC
    assert k1["Demo_At__c"] == "2025-11-20T12:00:00Z" and k2["Demo_At__c"] is None
    assert k1["Seats__c"] == 3
    assert (k1["Rating"], k2["Rating"]) == ("Hot", None)  # default: null -> no review
    assert "_unmapped_Rating" not in k1 and k2["_needs_review"] is False
    assert (k1["OwnerId"], k2["OwnerId"], k3["OwnerId"]) == ("005S", "005D", None)


@settings(max_examples=150, deadline=None)
@given(TEXT)
def test_any_string_literal_in_an_expression_stays_a_literal(value):
    """Quotes and SQL in a literal never escape it: the expression evaluates to the text."""
    literal = "'" + value.replace("'", "''") + "'"
    sql = compile_expr(f"concat({literal}, '|', {literal})", SOURCES["contacts"]).sql
    assert _DB.execute(f"SELECT {sql}").fetchone()[0] == f"{value}|{value}"
