"""A batch of hostile Intercom records, synced through both emulators: each one ends in Salesforce
exactly as Salesforce stores it, or waits in review with a reason; nothing crashes, the ordinary
records of the same batch are all pushed, and the next idle run sends nothing.

The corpus goes into the Intercom emulator's store directly (the store takes what Intercom could
hold; the public API would refuse some of it), so the extract reads it over HTTP like any record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from intercom_salesforce.assets.extract.records import intercom_companies
from intercom_salesforce.assets.extract.reference import REFERENCE_ASSETS
from intercom_salesforce.assets.quality.checks import CHECKS_BY_ENTITY
from intercom_salesforce.definitions import CONVERSATION_ASSETS, SYNC_ASSETS
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.settings import SANDBOX_MAPPING
from tests.helpers import full_range, make_sandbox, soql, sync, warehouse_rows

LONG_FIRST, LONG_LAST = "A" * 5_000, "B" * 4_999  # a 10,000-character name
BLOB = "x" * 200_000


@dataclass
class Case:
    """One corpus record and where it must end.

    ``lead``: the Lead fields Salesforce must hold (read back by SOQL); ``review``: the review
    rules any of which may hold it, and text its value or reason must mention; ``either``: in
    Salesforce or in review (which one of a group is not decided); ``skipped``: the match rule of
    a person deliberately not synced.
    """

    key: str
    contact: dict[str, Any]
    lead: dict[str, Any] | None = None
    review: tuple[tuple[str, ...], str] | None = None
    skipped: str | None = None
    either: bool = False  # in Salesforce, or in review (one of a group)
    intercom_id: str = field(default="", init=False)


def _person(key: str, name: str | None = "Corpus Person", **kw: Any) -> dict[str, Any]:
    email = kw.pop("email", f"{key}@corpus.example")
    attrs = kw.pop("custom_attributes", {})
    return {"role": "lead", "name": name, "email": email, "custom_attributes": attrs, **kw}


MAPPED = ("mapping_unmapped_value",)
REJECTED = ("salesforce_rejected",)


def corpus() -> list[Case]:
    """Every kind of bad input, each with its expected end."""
    return [
        # emails: malformed, oversize, unicode, messy but fine
        Case(
            "email-no-at",
            _person("email-no-at", email="not-an-email"),
            review=(("email_format",), ""),
        ),
        Case(
            "email-two-at",
            _person("email-two-at", email="a@@b.example"),
            review=(("email_format",), ""),
        ),
        Case(
            "email-long",
            _person("email-long", email="e" * 90 + "@corpus.example"),
            review=(("email_length",), ""),
        ),
        Case(
            "email-unicode",
            _person("email-unicode", email="jörg@bücher.example"),
            review=(REJECTED, "INVALID_EMAIL_ADDRESS"),
        ),
        Case(
            "email-messy",
            _person("email-messy", email="  Mixed.Case@Corpus.EXAMPLE\u00a0"),
            lead={"Email": "mixed.case@corpus.example"},
        ),
        # names: 10,000 characters, line breaks, right-to-left text, emoji
        Case(
            "name-long",
            _person("name-long", name=f"{LONG_FIRST} {LONG_LAST}"),
            lead={"FirstName": "A" * 40, "LastName": "B" * 80},
        ),
        Case(
            "name-one-long-word",
            _person("name-one-long-word", name="C" * 10_000),
            lead={"FirstName": None, "LastName": "C" * 80},
        ),
        Case(
            "name-newline",
            _person("name-newline", name="Ada\nLovelace"),
            lead={"FirstName": "Ada", "LastName": "Lovelace"},
        ),
        Case(
            "name-crlf-tab",
            _person("name-crlf-tab", name="  Grace\r\n\tBrewster  Hopper \n"),
            lead={"FirstName": "Grace Brewster", "LastName": "Hopper"},
        ),
        Case(
            "name-arabic",
            _person("name-arabic", name="مريم العربية"),
            lead={"FirstName": "مريم", "LastName": "العربية"},
        ),
        Case(
            "name-hebrew-mixed",
            _person("name-hebrew-mixed", name="דוד Cohen כהן"),
            lead={"FirstName": "דוד Cohen", "LastName": "כהן"},
        ),
        Case(
            "name-emoji",
            _person("name-emoji", name="Zoë 🚀 👩\u200d💻Smith"),
            lead={"FirstName": "Zoë 🚀", "LastName": "👩\u200d💻Smith"},
        ),
        Case(
            "name-bidi-override",
            _person("name-bidi-override", name="Eve \u202eevil\u202c"),
            lead={"FirstName": "Eve", "LastName": "\u202eevil\u202c"},
        ),
        # control characters and NUL bytes
        Case(
            "ctrl-name",
            _person("ctrl-name", name="Nu\x00ll\x07 By\x1bte"),
            lead={"FirstName": "Null", "LastName": "Byte"},
        ),
        Case(
            "ctrl-notes",
            _person(
                "ctrl-notes",
                custom_attributes={
                    "notes": "line 1\r\nline 2\rline 3\x00\x08 end\x0c",
                    "region": "na\x00\r\n",
                },
            ),
            lead={"Description": "line 1\nline 2\nline 3 end", "Intercom_Region__c": "NA"},
        ),
        Case(
            "ctrl-phone",
            _person("ctrl-phone", phone="+1 415\x00 555 0100\r"),
            lead={"Phone": "+1 415 555 0100"},
        ),
        # CSV metacharacters and spreadsheet formula prefixes: data, stored as given
        Case(
            "csv-quotes",
            _person("csv-quotes", name='Bob "The Builder", Jr.'),
            lead={"FirstName": 'Bob "The Builder",', "LastName": "Jr."},
        ),
        Case(
            "csv-formula",
            _person("csv-formula", name='=HYPERLINK("http://x") =1+2'),
            lead={"FirstName": '=HYPERLINK("http://x")', "LastName": "=1+2"},
        ),
        Case(
            "csv-prefixes",
            _person("csv-prefixes", name="+44 -minus @at"),
            lead={"FirstName": "+44 -minus", "LastName": "@at"},
        ),
        Case(
            "csv-notes",
            _person(
                "csv-notes",
                custom_attributes={
                    "notes": 'He said "hi",\nthen, "bye"\n\n=SUM(A1:A9)',
                    "region": "a,b",
                },
            ),
            lead={
                "Description": 'He said "hi",\nthen, "bye"\n\n=SUM(A1:A9)',
                "Intercom_Region__c": "A,B",
            },
        ),
        Case("csv-lone-quote", _person("csv-lone-quote", name='"'), lead={"LastName": '"'}),
        # the Bulk API's clear marker as data
        Case("marker-name", _person("marker-name", name="#N/A"), review=(MAPPED, "LastName")),
        Case(
            "marker-region",
            _person("marker-region", custom_attributes={"region": " #n/a "}),
            review=(MAPPED, "Intercom_Region__c"),
        ),
        Case(
            "marker-notes",
            _person("marker-notes", custom_attributes={"notes": "#N/A"}),
            review=(MAPPED, "Description"),
        ),
        Case("marker-phone", _person("marker-phone", phone="#N/A"), review=(MAPPED, "Phone")),
        # dates: far future, before 1970, beyond what Salesforce accepts
        Case(
            "date-3000",
            _person("date-3000", last_seen_at=32_503_680_000),
            lead={"Intercom_Last_Seen__c": "3000-01-01T00:00:00.000+0000"},
        ),
        Case(
            "date-1960",
            _person("date-1960", last_seen_at=-315_619_200),
            lead={"Intercom_Last_Seen__c": "1960-01-01T00:00:00.000+0000"},
        ),
        Case(
            "date-year-9999",
            _person("date-year-9999", last_seen_at=253_402_300_799 + 86_400 * 365 * 50),
            review=(("timestamp_out_of_range",), "last_seen_at"),
        ),
        Case(
            "date-milliseconds",  # a timestamp in milliseconds: the year 55,800
            _person("date-milliseconds", last_seen_at=1_700_000_000_000),
            review=(("timestamp_out_of_range",), "last_seen_at"),
        ),
        # huge custom attributes
        Case(
            "blob-region",
            _person("blob-region", custom_attributes={"region": BLOB}),
            lead={"Intercom_Region__c": "X" * 40},
        ),
        Case(
            "blob-notes",
            _person("blob-notes", custom_attributes={"notes": "y" * 40_000}),
            review=(REJECTED, "STRING_TOO_LONG"),
        ),
        Case(
            "blob-unmapped",
            _person("blob-unmapped", custom_attributes={"blob": {"deep": [BLOB, {"k": BLOB}]}}),
            lead={"LastName": "Person"},
        ),
        # custom attributes of the wrong type
        Case(
            "type-region-number",
            _person("type-region-number", custom_attributes={"region": 42}),
            lead={"Intercom_Region__c": "42"},
        ),
        Case(
            "type-region-boolean",
            _person("type-region-boolean", custom_attributes={"region": True}),
            lead={"Intercom_Region__c": "TRUE"},
        ),
        Case(
            "type-region-object",
            _person("type-region-object", custom_attributes={"region": {"code": "EMEA"}}),
            review=(MAPPED, "Intercom_Region__c"),
        ),
        Case(
            "type-region-list",
            _person("type-region-list", custom_attributes={"region": ["NA", "EMEA"]}),
            review=(MAPPED, "Intercom_Region__c"),
        ),
        Case(
            "type-notes-list",
            _person("type-notes-list", custom_attributes={"notes": ["a", "b"]}),
            review=(MAPPED, "Description"),
        ),
        Case(
            "type-plan-number",
            _person("type-plan-number", custom_attributes={"plan": 3}),
            review=(("plan_unmapped", *MAPPED), ""),
        ),
        # a picklist value the map does not know
        Case(
            "picklist-unknown",
            _person("picklist-unknown", custom_attributes={"plan": "platinum"}),
            review=(("plan_unmapped", *MAPPED), ""),
        ),
        # neither email nor external id: by design never created (create_leads_without_email)
        Case(
            "no-identity",
            _person("no-identity", email=None, name="Nobody Known"),
            skipped="no_email",
        ),
        # two new people sharing an email: the org's duplicate rule takes the first, the other
        # waits in review with Salesforce's reason
        Case(
            "duplicate-1",
            _person("dup-1", email="twin@corpus.example", name="Twin One"),
            review=(REJECTED, "DUPLICATES_DETECTED"),
            either=True,
        ),
        Case(
            "duplicate-2",
            _person("dup-2", email="Twin@Corpus.example", name="Twin Two"),
            review=(REJECTED, "DUPLICATES_DETECTED"),
            either=True,
        ),
    ]


def normal_people(n: int = 6) -> list[Case]:
    """Ordinary records in the same batch: all of them must be pushed."""
    return [
        Case(
            f"normal-{i}",
            _person(f"normal{i}", name=f"Normal Person{i}", custom_attributes={"region": "APAC"}),
            lead={
                "FirstName": "Normal",
                "LastName": f"Person{i}",
                "Email": f"normal{i}@corpus.example",
                "Intercom_Region__c": "APAC",
            },
        )
        for i in range(n)
    ]


# companies with malformed websites (the mapping creates Accounts for unmatched companies)
COMPANIES = {
    "web-words": ("not a url", "not a url"),
    "web-scheme-only": ("http://", "http://"),
    "web-unicode": ("https://exämple.example/ü", "https://exämple.example/ü"),
    "web-script": ("javascript:alert(1)", "javascript:alert(1)"),
    "web-messy": (
        " HTTP://WWW.Corpus-Co.EXAMPLE:8080/p?q=1 ",
        "http://www.corpus-co.example:8080/p?q=1",
    ),
    "web-long": ("https://" + "w" * 300 + ".example", ("https://" + "w" * 300)[:255]),
    "web-nul": ("https://nul\x00.example\r\n", "https://nul.example"),
}


def corpus_mapping(tmp_path: Path) -> str:
    """The sandbox mapping, creating Accounts for unmatched companies and writing a free-text
    custom attribute to the Lead's Description (a long text area: line breaks, quotes, blobs)."""
    text = SANDBOX_MAPPING.read_text()
    head = "  Account:\n    source: companies\n"
    lead_fields = (
        "  Lead:\n    source: contacts\n    external_id: Intercom_Contact_Id__c\n    fields:\n"
    )
    assert head in text and lead_fields in text
    text = text.replace(head, head + "    create: true\n")
    text = text.replace(
        lead_fields, lead_fields + "      Description:\n        from: custom_attributes.notes\n"
    )
    path = tmp_path / "mapping-corpus.yaml"
    path.write_text(text)
    return str(path)


def load_corpus(store: IntercomStore, cases: list[Case]) -> dict[str, str]:
    """Contacts and companies into the emulator; returns company key -> Intercom id."""
    for case in cases:
        case.intercom_id = store.create_contact(**case.contact)["id"]
    companies = {}
    for n, (key, (website, _)) in enumerate(COMPANIES.items()):
        doc = store.create_company(
            company_id=f"corpus-{n:03d}",
            name=f"Corpus Co {key}",
            website=website,
            industry="Software",
            size=10,
        )
        companies[key] = doc["id"]
    return companies


def _lead_fields(cases: list[Case]) -> list[str]:
    return sorted({f for c in cases if c.lead for f in c.lead})


def check_outcomes(sandbox, tmp_path: Path, cases: list[Case]) -> None:
    """Each case ended as expected: in Salesforce (read back), in review, or deliberately not."""
    fields = ", ".join(_lead_fields(cases))
    leads = {
        r["Intercom_Contact_Id__c"]: r
        for r in soql(
            sandbox,
            f"SELECT Intercom_Contact_Id__c, {fields} FROM Lead WHERE Intercom_Contact_Id__c != null",
        )
    }
    review: dict[str, list[tuple[str, str]]] = {}
    for record_id, rule, value, reason in warehouse_rows(
        tmp_path,
        "SELECT record_id, rule, coalesce(value, ''), coalesce(reason, '') "
        "FROM quality.review_queue WHERE status = 'open'",
    ):
        review.setdefault(record_id, []).append((rule, f"{value} {reason}"))
    rules = dict(
        warehouse_rows(
            tmp_path,
            "SELECT intercom_contact_id, arg_max(rule, matched_at) FROM match.person_matches "
            "GROUP BY 1",
        )
    )
    problems = []
    for case in cases:
        got = leads.get(case.intercom_id)
        items = review.get(case.intercom_id, [])
        if case.lead is not None:
            wrong = {f: (got[f], v) for f, v in case.lead.items() if got[f] != v} if got else {}
            if got is None or wrong:
                problems.append(f"{case.key}: {wrong or 'not in Salesforce'}; review: {items}")
        elif case.review is not None:
            allowed, mention = case.review
            queued = any(r in allowed and mention in t for r, t in items)
            if (got is not None or not queued) and not (case.either and got and not items):
                problems.append(f"{case.key}: expected review {case.review}: {items}, lead {got}")
        elif got is not None or rules.get(case.intercom_id) != case.skipped:
            problems.append(f"{case.key}: expected {case.skipped}: {rules.get(case.intercom_id)}")
    assert not problems, "\n".join(problems)
    twins = [c for c in cases if c.either]
    assert sum(c.intercom_id in leads for c in twins) == 1


def check_accounts(sandbox, companies: dict[str, str]) -> None:
    accounts = {
        r["Intercom_Company_Id__c"]: r["Website"]
        for r in soql(
            sandbox,
            "SELECT Intercom_Company_Id__c, Website FROM Account WHERE Intercom_Company_Id__c != null",
        )
    }
    got = {key: accounts.get(f"corpus-{n:03d}", "<missing>") for n, key in enumerate(COMPANIES)}
    assert got == {key: expected for key, (_, expected) in COMPANIES.items()}


def test_bad_input_ends_in_salesforce_encoded_or_in_review(sandbox, tmp_path):
    """The corpus among the seeded people and companies, in one batch, then an idle run."""
    mapping_file = corpus_mapping(tmp_path)
    cases = corpus() + normal_people()
    store = IntercomStore(sandbox.state.intercom_db)
    companies = load_corpus(store, cases)
    store.close()
    assets = [
        *SYNC_ASSETS,
        CHECKS_BY_ENTITY["intercom_contacts"],
        CHECKS_BY_ENTITY["intercom_companies"],
    ]
    first, last = full_range()

    result = sync(sandbox, tmp_path, mapping_file, assets, first, last)
    assert result.success
    check_outcomes(sandbox, tmp_path, cases)
    check_accounts(sandbox, companies)
    # the seeded records of the batch: every new person not held in review became a Lead
    created = {
        r[0]
        for r in warehouse_rows(
            tmp_path, "SELECT external_id FROM sync.sync_state WHERE sobject = 'Lead'"
        )
    }
    waiting = {
        r[0]
        for r in warehouse_rows(
            tmp_path,
            "SELECT record_id FROM quality.review_queue WHERE status IN ('open', 'dismissed')",
        )
    }
    unmatched = {
        r[0]
        for r in warehouse_rows(
            tmp_path,
            "SELECT intercom_contact_id FROM match.person_matches WHERE rule = 'none'",
        )
    }
    assert unmatched - waiting <= created
    # the per-record guards hold back no ordinary record: of the seeded people only the designed
    # unmappable plan (legacy-gold) waits for a mapping reason
    ours = {c.intercom_id for c in cases}
    held = warehouse_rows(
        tmp_path,
        "SELECT record_id, value FROM quality.review_queue WHERE rule = 'mapping_unmapped_value'",
    )
    assert all(value.startswith("Intercom_Plan__c") for record, value in held if record not in ours)

    again = sync(sandbox, tmp_path, mapping_file, assets, first, last)
    assert again.success
    jobs = warehouse_rows(
        tmp_path, "SELECT job_id, sobject FROM sync.bulk_jobs WHERE run_id = ?", [again.run_id]
    )
    assert jobs == []
    for node in (
        "salesforce_account_upserts",
        "salesforce_lead_upserts",
        "salesforce_contact_upserts",
    ):
        assert again.asset_materializations_for_node(node)[-1].metadata["sent"].value == 0


@pytest.mark.xfail(
    strict=True,
    reason="An incremental batch whose companies all omit an optional key (Intercom leaves out "
    "industry, size, website when unset) is reported as schema drift (schema_missing_column) "
    "and blocks the whole sync: the drift observer needs to know which keys are optional.",
)
def test_companies_without_optional_keys_do_not_block_the_next_run(tmp_path):
    sandbox = make_sandbox(tmp_path / "sandbox", contacts=30)
    try:
        assets = [intercom_companies, CHECKS_BY_ENTITY["intercom_companies"]]
        first, last = full_range()
        sync(sandbox, tmp_path, str(SANDBOX_MAPPING), assets, first, last)
        store = IntercomStore(sandbox.state.intercom_db)
        store.create_company(company_id="corpus-bare", name="Bare Co")  # no industry, size
        store.close()
        result = sync(sandbox, tmp_path, str(SANDBOX_MAPPING), assets, first, last, succeed=False)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
    finally:
        sandbox.running.stop()


def test_conversation_titles_are_data(tmp_path):
    sandbox = make_sandbox(tmp_path / "sandbox", contacts=40)
    try:
        first, last = full_range()
        people = [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]]
        sync(sandbox, tmp_path, str(SANDBOX_MAPPING), people, first, last)
        leads = [
            r[0]
            for r in warehouse_rows(
                tmp_path, "SELECT external_id FROM sync.sync_state WHERE sobject = 'Lead' LIMIT 2"
            )
        ]
        store = IntercomStore(sandbox.state.intercom_db)
        marker = store.create_conversation(title="#N/A", contacts=[leads[0]], state="open")["id"]
        nul = store.create_conversation(title="Help\x00 me", contacts=[leads[1]], state="open")
        store.close()
        conversations = [*REFERENCE_ASSETS, *CONVERSATION_ASSETS]
        sync(sandbox, tmp_path, str(SANDBOX_MAPPING), conversations, first, last)
        subjects = {
            r["Intercom_Conversation_Id__c"]: r["Subject"]
            for r in soql(
                sandbox,
                "SELECT Intercom_Conversation_Id__c, Subject FROM Task "
                "WHERE Intercom_Conversation_Id__c != null",
            )
        }
        waiting = {
            r[0]
            for r in warehouse_rows(
                tmp_path, "SELECT record_id FROM quality.review_queue WHERE status = 'open'"
            )
        }
        assert marker in waiting or subjects.get(marker) not in (None, "#N/A")
        assert subjects[nul["id"]] == "Help me"
    finally:
        sandbox.running.stop()


def test_a_timestamp_out_of_range_does_not_stop_the_sync(tmp_path):
    sandbox = make_sandbox(tmp_path / "sandbox", contacts=30)
    try:
        store = IntercomStore(sandbox.state.intercom_db)
        bad = store.create_contact(
            role="lead",
            name="Micro Seconds",
            email="micro@corpus.example",
            last_seen_at=1_700_000_000_000_000,
        )["id"]
        store.close()
        first, last = full_range()
        people = [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]]
        result = sync(sandbox, tmp_path, str(SANDBOX_MAPPING), people, first, last, succeed=False)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        pushed = {
            r[0]
            for r in warehouse_rows(
                tmp_path, "SELECT external_id FROM sync.sync_state WHERE sobject = 'Lead'"
            )
        }
        assert pushed and bad not in pushed
    finally:
        sandbox.running.stop()
