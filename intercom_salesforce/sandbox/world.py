"""A deterministic, realistic and deliberately messy world for the sandbox.

Every record is a pure function of ``(seed, index)``, so the Intercom side and the Salesforce side
can be generated independently (and streamed, for benchmark sizes up to a million contacts) while
still overlapping exactly where the seeded cases say they should.

Seeded cases, by contact index (``i % 20`` unless stated), that later tests rely on:

* ``0``  a Salesforce Contact with the same email (exact match)
* ``1``  a Salesforce Lead whose email differs only in case (case-different match)
* ``2``  a converted Salesforce Lead with this email, whose ConvertedContactId is a Contact with it
* ``4``  a Salesforce Lead already carrying our external id ``Intercom_Contact_Id__c`` but another email
* ``i % 100 == 3``  two Salesforce Contacts sharing this email (ambiguous: goes to review, never written)
* ``i % 25 == 24`` no email in Intercom
* ``i % 7 == 5``   email upper-cased in Intercom; ``i % 11 == 6`` email with surrounding spaces
* ``i % 97 == 41`` custom attribute ``plan`` = ``legacy-gold``, which no picklist value maps
* ``i % 97 == 13`` 12 tags, 12 notes and (worlds permitting) 12 companies: more than a contact embeds
* everything else has no Salesforce record yet (becomes a new Lead)

Conversations are coherent as a workspace's are: parts alternate between the contact and the
assigned admin, a closed (snoozed) conversation ends with the admin's ``close`` (``snoozed``) part
at its ``updated_at``, and the statistics are computed from the parts.
"""

from __future__ import annotations

import hashlib
import random
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from itertools import islice
from zoneinfo import ZoneInfo

from intercom_salesforce.sandbox.sales_world import SalesWorld
from intercom_salesforce.sandbox.salesforce.ids import make_id

FIRST_NAMES = [
    "Ana",
    "Björn",
    "Chloé",
    "Dmitri",
    "Émilie",
    "Fatima",
    "Giulia",
    "Hiroshi",
    "Ingrid",
    "José",
    "Kai",
    "Łukasz",
    "Maëlle",
    "Nikolai",
    "Olúwaseun",
    "Priya",
    "Quentin",
    "Renée",
    "Søren",
    "Tomás",
    "Uma",
    "Vĩnh",
    "Wen",
    "Xiadani",
    "Yusuf",
    "Zoë",
    "Amélie",
    "Bartosz",
    "Catalina",
    "Dong-hyun",
]
LAST_NAMES = [
    "Álvarez",
    "Bergström",
    "Cohen",
    "Dubois",
    "Eriksen",
    "Fernández",
    "García",
    "Hansen",
    "Ivanova",
    "Jørgensen",
    "Kowalski",
    "López",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Petrović",
    "Quinn",
    "Rossi",
    "Schäfer",
    "Tanaka",
    "Uçar",
    "Vasquez",
    "Wójcik",
    "Xu",
    "Yılmaz",
    "Zhang",
    "Nguyễn",
    "Smith",
]
COMPANY_WORDS = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
    "Gringotts",
    "Monarch",
    "Aperture",
    "Oscorp",
    "Pied Piper",
    "Massive Dynamic",
]
COMPANY_SUFFIX = ["Inc", "GmbH", "Ltd", "SA", "Labs", "Group", "AB", "KK", "BV", "LLC"]
INDUSTRIES = ["Software", "Retail", "Finance", "Healthcare", "Education", "Manufacturing", None]
FREE_MAIL = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "gmx.de", "proton.me"]
PLANS = ["free", "starter", "pro", "enterprise", "legacy-gold"]
COMPANY_TIERS = ["smb", "mid", "ent"]
REGIONS = ["NA", "EMEA", "APAC", "LATAM"]
COUNTRIES = [
    ("United States", "US", "California", "San Francisco", "NA"),
    ("Germany", "DE", "Berlin", "Berlin", "EU"),
    ("France", "FR", "Île-de-France", "Paris", "EU"),
    ("Japan", "JP", "Tokyo", "Tokyo", "AS"),
    ("Brazil", "BR", "São Paulo", "São Paulo", "SA"),
    ("Australia", "AU", "New South Wales", "Sydney", "OC"),
]
MANY = 12
"""Tags, notes and companies of the contacts (``i % 97 == 13``) whose embedded lists overflow the
10 items a contact embeds."""
TAG_NAMES = [
    "vip",
    "churn-risk",
    "billing",
    "bug",
    "feature-request",
    "onboarding",
    "enterprise",
    "emea",
    "apac",
    "partner",
    "beta",
    "requested-demo",
    "high-intent",
    "support",
    "sales",
]
TEAMS = [("Sales", "sales"), ("Support", "support"), ("Customer Success", "success")]
ADMINS = [
    ("Alice Admin", "alice@sandbox-corp.example.com", 0),
    ("Bob Builder", "bob@sandbox-corp.example.com", 0),
    ("Carla Closer", "carla@sandbox-corp.example.com", 0),
    ("Dev Support", "dev@sandbox-corp.example.com", 1),
    ("Eve Helper", "eve@sandbox-corp.example.com", 1),
    ("Farid Fixer", "farid@sandbox-corp.example.com", 1),
    ("Gina Growth", "gina@sandbox-corp.example.com", 2),
    ("Hank Success", "hank@sandbox-corp.example.com", 2),
]
PART_TEXT = [
    "Hi! I can't log in since this morning.",
    "Could you send me the invoice for last month?",
    "We'd love a demo of the enterprise plan.",
    "Thanks, that fixed it 🎉",
    "Is there an API rate limit I should know about?",
    "<p>Sure, let me check that for you.</p>",
    "<p>I've escalated this to our <b>engineering</b> team.</p>",
    "Our SSO setup fails with error 403.",
]


@dataclass(frozen=True)
class WorldSize:
    """How big the sandbox is: a few hundred records by default, up to a million for benchmarks."""

    contacts: int = 300
    companies: int | None = None  # default: contacts // 8
    conversations: int | None = None  # default: contacts // 2
    days: int = 14  # updated_at spread over this many days before ``now``
    long_conversations: int = 1  # conversations with more than 500 parts

    @property
    def n_companies(self) -> int:
        return self.companies if self.companies is not None else max(4, self.contacts // 8)

    @property
    def n_conversations(self) -> int:
        return self.conversations if self.conversations is not None else max(2, self.contacts // 2)


@dataclass
class World:
    """Generator of both sides of the sandbox for one seed, size and clock."""

    seed: int = 7
    size: WorldSize = field(default_factory=WorldSize)
    now: datetime = field(default_factory=lambda: datetime.now(tz=ZoneInfo("UTC")))
    timezone: str = "America/Los_Angeles"
    app_id: str = "sbx4pp1d"

    # -- primitives -------------------------------------------------------------------------
    def rng(self, kind: str, i: int) -> random.Random:
        return random.Random(f"{self.seed}:{kind}:{i}")

    def intercom_id(self, kind: str, i: int) -> str:
        return hashlib.sha1(f"{self.seed}:{kind}:{i}".encode()).hexdigest()[:24]

    def _epoch(self, dt: datetime) -> int:
        return int(dt.timestamp())

    def _updated_at(self, kind: str, i: int) -> int:
        """A time within the last ``days`` days; a few sit just either side of local midnight."""
        r = self.rng(f"{kind}-t", i)
        now = self.now.astimezone(ZoneInfo(self.timezone))
        if i % 50 in (17, 18):
            # 23:30 and 00:30 workspace time around a day boundary that differs from UTC's, two
            # to six days back (two to days - 1 in a world of fewer than seven days)
            back = 2 + i % max(1, min(5, self.size.days - 2))
            day = (now - timedelta(days=back)).replace(hour=0, minute=0, second=0, microsecond=0)
            ts = day - timedelta(minutes=30) if i % 50 == 17 else day + timedelta(minutes=30)
            return self._epoch(ts)
        offset = timedelta(seconds=r.randint(60, self.size.days * 86400 - 60))
        return self._epoch(now - offset)

    # -- people -------------------------------------------------------------------------------
    def company_index_of(self, i: int) -> int | None:
        """The company a contact belongs to (about 70% belong to one)."""
        r = self.rng("contact-company", i)
        if r.random() < 0.3:
            return None
        return r.randrange(self.size.n_companies)

    def account_name(self, c: int) -> str:
        """The name company ``c`` has in Intercom and its Account has in Salesforce."""
        return f"{COMPANY_WORDS[c % len(COMPANY_WORDS)]} {COMPANY_SUFFIX[c % 10]} {c}"

    @cached_property
    def sales(self) -> SalesWorld:
        """Tiers, lifecycle stages, lead statuses and opportunities (``sales_world.py``)."""
        return SalesWorld(self, MANY)

    def company_domain(self, c: int) -> str:
        word = COMPANY_WORDS[c % len(COMPANY_WORDS)].lower().replace(" ", "")
        return f"{word}-{c}.example.com"

    def person(self, i: int) -> dict:
        """Name, canonical email and the messy variant Intercom holds for contact ``i``."""
        r = self.rng("person", i)
        first, last = r.choice(FIRST_NAMES), r.choice(LAST_NAMES)
        company = self.company_index_of(i)
        domain = (
            self.company_domain(company)
            if company is not None and r.random() < 0.8
            else r.choice(FREE_MAIL)
        )
        local = f"{_ascii(first)}.{_ascii(last)}{i}".lower()
        canonical = f"{local}@{domain}"
        shown: str | None = canonical
        if i % 25 == 24:
            shown = None
        elif i % 7 == 5:
            shown = canonical.upper()
        elif i % 11 == 6:
            shown = f"  {canonical} "
        return {
            "first": first,
            "last": last,
            "email": canonical,
            "intercom_email": shown,
            "company": company,
            "role": "lead" if r.random() < 0.35 else "user",
        }

    # -- Intercom -------------------------------------------------------------------------------
    def intercom_app(self) -> dict:
        return {
            "id_code": self.app_id,
            "name": "Sandbox Workspace",
            "timezone": self.timezone,
            "region": "US",
        }

    def intercom_admins(self) -> list[dict]:
        return [
            {
                "type": "admin",
                "id": str(900000 + n),
                "name": name,
                "email": email,
                "job_title": ["Account Executive", "Support Engineer", "CSM"][team],
                "away_mode_enabled": False,
                "away_mode_reassign": False,
                "has_inbox_seat": True,
                "team_ids": [int(self.team_id(team))],
                "avatar": None,
            }
            for n, (name, email, team) in enumerate(ADMINS)
        ]

    def team_id(self, t: int) -> str:
        return str(5017000 + t)

    def intercom_teams(self) -> list[dict]:
        return [
            {
                "type": "team",
                "id": self.team_id(t),
                "name": name,
                "admin_ids": [900000 + n for n, a in enumerate(ADMINS) if a[2] == t],
            }
            for t, (name, _slug) in enumerate(TEAMS)
        ]

    def tag_id(self, t: int) -> str:
        return str(7100000 + t)

    def intercom_tags(self) -> list[dict]:
        return [{"type": "tag", "id": self.tag_id(t), "name": n} for t, n in enumerate(TAG_NAMES)]

    def intercom_data_attributes(self) -> list[dict]:
        """Custom attributes of contacts and of companies: every custom attribute a seeded record
        carries is described here, as ``GET /data_attributes`` describes a workspace's."""
        created = self._epoch(self.now - timedelta(days=400))
        attrs = [
            ("plan", "string", PLANS),
            ("region", "string", REGIONS),
            ("mrr", "float", None),
            ("signup_source", "string", None),
            ("requested_demo_at", "date", None),
            ("seats", "integer", None),
            ("beta_tester", "boolean", None),
        ]
        company_attrs = [("tier", "string", COMPANY_TIERS), ("region", "string", REGIONS)]
        rows = [("contact", *a) for a in attrs] + [("company", *a) for a in company_attrs]
        out = []
        for n, (model, name, dtype, options) in enumerate(rows):
            item = {
                "type": "data_attribute",
                "id": 34 + n,
                "model": model,
                "name": name,
                "full_name": f"custom_attributes.{name}",
                "label": name.replace("_", " ").title(),
                "description": f"Sandbox attribute {name}",
                "data_type": dtype,
                "api_writable": True,
                "messenger_writable": False,
                "ui_writable": True,
                "custom": True,
                "archived": False,
                "created_at": created,
                "updated_at": created,
                "admin_id": "900000",
            }
            if options:
                item["options"] = options
            out.append(item)
        return out

    def intercom_companies(self) -> Iterator[dict]:
        for c in range(self.size.n_companies):
            r = self.rng("company", c)
            created = self._epoch(self.now - timedelta(days=r.randint(30, 900)))
            updated = self._updated_at("company", c)
            website = r.choice(
                [
                    f"https://www.{self.company_domain(c)}",
                    f"http://{self.company_domain(c)}/about",
                    f"{self.company_domain(c)}",
                    f"https://{self.company_domain(c)}:443/",
                ]
            )
            if c % 13 == 7:
                website = (
                    f"https://{r.choice(FREE_MAIL)}"  # a free-mail "website": must never match
                )
            yield {
                "type": "company",
                "id": self.intercom_id("company", c),
                "company_id": f"cmp-{c:06d}",
                "app_id": self.app_id,
                "name": self.account_name(c),
                "remote_created_at": created,
                "created_at": created,
                "updated_at": max(updated, created),
                "last_request_at": updated,
                "size": r.choice([5, 25, 120, 800, 5000]),
                "website": website,
                "industry": r.choice(INDUSTRIES),
                "monthly_spend": r.choice([0, 49, 199, 1200, 9900]),
                "session_count": r.randint(0, 5000),
                "user_count": 0,
                "plan": {"type": "plan", "id": str(1 + c % 4), "name": PLANS[c % 4]},
                "custom_attributes": {
                    "tier": r.choice(COMPANY_TIERS),
                    "region": r.choice(REGIONS),
                },
                "tags": [self.tag_id(r.randrange(len(TAG_NAMES)))] if r.random() < 0.3 else [],
                "segments": [],
            }

    def intercom_contacts(self) -> Iterator[dict]:
        for i in range(self.size.contacts):
            yield self.intercom_contact(i)

    def intercom_contact(self, i: int) -> dict:
        p = self.person(i)
        r = self.rng("contact", i)
        created = self._epoch(self.now - timedelta(days=self.size.days + r.randint(1, 700)))
        updated = self._updated_at("contact", i)
        country, code, region, city, continent = r.choice(COUNTRIES)
        n_tags = MANY if i % 97 == 13 else r.choice([0, 0, 1, 2, 3])  # some exceed the embedded 10
        tags = sorted({self.tag_id(r.randrange(len(TAG_NAMES))) for _ in range(n_tags)})
        if n_tags > 10:
            tags = [self.tag_id(t) for t in range(n_tags)]
        email = p["intercom_email"]
        plan = r.choice(PLANS[:4])
        if i % 97 == 41:
            plan = "legacy-gold"  # a plan no picklist maps: goes to review, never to Salesforce
        custom = {
            "plan": plan,
            "region": r.choice(REGIONS),
            "mrr": round(r.choice([0, 0, 49.0, 199.0, 1200.5]), 2),
            "signup_source": r.choice(["website", "referral", "ads", None]),
            "seats": r.randint(1, 250),
            "beta_tester": r.random() < 0.2,
        }
        return {
            "type": "contact",
            "id": self.intercom_id("contact", i),
            "workspace_id": self.app_id,
            "external_id": f"usr_{i:07d}" if p["role"] == "user" else None,
            "role": p["role"],
            "email": email,
            "email_domain": email.strip().split("@")[1].lower() if email else None,
            "phone": f"+1 415 555 {i % 10000:04d}" if r.random() < 0.4 else None,
            "name": f"{p['first']} {p['last']}" if i % 31 != 30 else None,
            "owner_id": 900000 + r.randrange(3) if r.random() < 0.5 else None,
            "has_hard_bounced": False,
            "marked_email_as_spam": False,
            "unsubscribed_from_emails": r.random() < 0.1,
            "created_at": created,
            "updated_at": updated,
            "signed_up_at": created if p["role"] == "user" else None,
            "last_seen_at": updated - r.randint(0, 3600),
            "last_replied_at": None,
            "last_contacted_at": None,
            "last_email_opened_at": None,
            "last_email_clicked_at": None,
            "language_override": None,
            "browser": r.choice(["chrome", "firefox", "safari"]),
            "browser_version": f"{r.randint(100, 140)}.0",
            "browser_language": r.choice(["en", "de", "fr", "ja", "pt-BR"]),
            "os": r.choice(["OS X 14", "Windows 11", "iOS 18", "Android 15"]),
            "custom_attributes": custom,
            "avatar": None,
            "location": {
                "type": "location",
                "country": country,
                "region": region,
                "city": city,
                "country_code": code,
                "continent_code": continent,
            },
            "social_profiles": {"type": "list", "data": []},
            "tags": tags,
            "notes": self._note_ids(i),
            "companies": self._company_ids(i, p["company"]),
        }

    def _note_ids(self, i: int) -> list[str]:
        """Notes on contact ``i``: the ones that carry more than 10 exercise the embedded list's
        truncation (``has_more`` and the ``url`` of the full list)."""
        n_notes = MANY if i % 97 == 13 else 0
        return [str(81_000_000 + i * 100 + n) for n in range(n_notes)]

    def _company_ids(self, i: int, company: int | None) -> list[str]:
        """The companies of contact ``i``: its own first; the contacts that have many tags also
        belong to more than 10 companies (when the world has that many)."""
        ids = [company] if company is not None else []
        if i % 97 == 13:
            extra = (c for c in range(self.size.n_companies) if c != company)
            ids += list(islice(extra, MANY - len(ids)))
        return [self.intercom_id("company", c) for c in ids]

    def intercom_conversations(self) -> Iterator[dict]:
        admins = self.intercom_admins()
        for k in range(self.size.n_conversations):
            yield self.intercom_conversation(k, admins)

    def intercom_conversation(self, k: int, admins: list[dict]) -> dict:
        """Conversation ``k`` (a pure function of the seed and ``k``, like every record)."""
        r = self.rng("conversation", k)
        i = r.randrange(self.size.contacts)
        contact = self.intercom_contact(i)
        created = contact["created_at"] + r.randint(0, 86400 * 30)
        updated = self._updated_at("conversation", k)
        created = min(created, updated - 600)
        team = r.randrange(len(TEAMS))
        admin = r.choice([a for a in admins if a["team_ids"] == [int(self.team_id(team))]])
        n_parts = 520 if k < self.size.long_conversations else r.randint(1, 8)
        state = r.choice(["open", "closed", "closed", "snoozed"])
        parts = _conversation_parts(k, n_parts, (created, updated), state, admin, contact)
        return {
            "type": "conversation",
            "id": str(4_000_000 + k),
            "title": r.choice([None, "Login trouble", "Invoice request", "Demo request"]),
            "created_at": created,
            "updated_at": updated,
            "waiting_since": None,
            "snoozed_until": updated + 86400 if state == "snoozed" else None,
            "open": state != "closed",
            "state": state,
            "read": True,
            "priority": "priority" if r.random() < 0.2 else "not_priority",
            "admin_assignee_id": int(admin["id"]),
            "team_assignee_id": int(self.team_id(team)),
            "tags": sorted(
                {self.tag_id(r.randrange(len(TAG_NAMES))) for _ in range(r.randint(0, 3))}
            ),
            "conversation_rating": None,
            "source": {
                "type": "conversation",
                "id": str(50_000_000 + k),
                "delivered_as": "customer_initiated",
                "subject": "",
                "body": f"<p>{PART_TEXT[k % len(PART_TEXT)]}</p>",
                "author": {
                    "type": contact["role"],
                    "id": contact["id"],
                    "name": contact["name"],
                    "email": contact["email"],
                },
                "attachments": [],
                "url": None,
                "redacted": False,
            },
            "contacts": [contact["id"]],
            "teammates": [admin["id"]],
            "custom_attributes": {
                "brand": r.choice(["Core", "Labs"]),
                "region": contact["custom_attributes"]["region"],
            },
            "first_contact_reply": None,
            "sla_applied": None,
            "statistics": conversation_statistics(created, parts, admin["id"]),
            "conversation_parts": parts,
        }

    def intercom_events(self) -> Iterator[dict]:
        for i in range(0, self.size.contacts, 3):
            yield from self.intercom_events_of(i)

    def intercom_events_of(self, i: int) -> list[dict]:
        """The events of contact ``i`` (every third contact has up to two), carrying the
        identifiers that contact has: a lead has no ``user_id``, and the email is the contact's
        own, in whatever case or padding it was stored."""
        if i % 3:
            return []
        names = ["requested-demo", "invited-teammate", "upgraded-plan", "viewed-pricing"]
        r = self.rng("event", i)
        p = self.person(i)
        ident: dict[str, str] = {"intercom_user_id": self.intercom_id("contact", i)}
        if p["role"] == "user":
            ident["user_id"] = f"usr_{i:07d}"
        if p["intercom_email"]:
            ident["email"] = p["intercom_email"]
        return [
            {
                "type": "event",
                "id": self.intercom_id(f"event-{e}", i),
                "event_name": r.choice(names),
                "created_at": self._updated_at("event", i * 3 + e),
                **ident,
                "metadata": {"source": "sandbox"},
            }
            for e in range(r.randint(0, 2))
        ]

    def intercom(self):
        """The Intercom side, as the emulator's loader expects it."""
        from intercom_salesforce.sandbox.intercom.world_types import IntercomWorldData

        return IntercomWorldData(
            app=self.intercom_app(),
            admins=self.intercom_admins(),
            teams=self.intercom_teams(),
            tags=self.intercom_tags(),
            segments=[],
            data_attributes=self.intercom_data_attributes(),
            companies=self.intercom_companies(),
            contacts=self.intercom_contacts(),
            conversations=self.intercom_conversations(),
            events=self.intercom_events(),
        )

    # -- Salesforce -------------------------------------------------------------------------------
    def salesforce_users(self) -> list[dict]:
        users = [
            {
                "Id": make_id("User", 1),
                "Username": "integration@sandbox.example.com",
                "Email": "integration@sandbox.example.com",
                "FirstName": "Integration",
                "LastName": "User",
                "Name": "Integration User",
                "IsActive": True,
                "Alias": "integ",
            }
        ]
        for n, (name, email, _team) in enumerate(ADMINS):
            if n == 5:
                continue  # one admin has no Salesforce user
            first, last = name.split(" ", 1)
            users.append(
                {
                    "Id": make_id("User", 10 + n),
                    "Username": email,
                    "Email": email,
                    "FirstName": first,
                    "LastName": last,
                    "Name": name,
                    "IsActive": n != 7,  # one matching user is inactive
                    "Alias": first.lower()[:5],
                }
            )
        return users

    def salesforce_queues(self) -> tuple[list[dict], list[dict]]:
        groups, members = [], []
        for q, (name, dev, objs) in enumerate(
            [
                ("Inbound Leads", "Inbound_Leads", ["Lead"]),
                ("Support Queue", "Support_Queue", ["Lead", "Intercom_Conversation__c"]),
            ]
        ):
            gid = make_id("Group", 1 + q)
            groups.append({"Id": gid, "Name": name, "DeveloperName": dev, "Type": "Queue"})
            for o, obj in enumerate(objs):
                members.append(
                    {
                        "Id": make_id("QueueSobject", 1 + q * 10 + o),
                        "QueueId": gid,
                        "SobjectType": obj,
                    }
                )
        return groups, members

    def salesforce_record_types(self) -> list[dict]:
        rows = []
        for n, (obj, dev, name) in enumerate(
            [
                ("Lead", "Sales_Lead", "Sales Lead"),
                ("Lead", "Support_Lead", "Support Lead"),
                ("Account", "Customer", "Customer"),
                ("Account", "Partner", "Partner"),
                ("Contact", "Customer_Contact", "Customer Contact"),
                ("Contact", "Partner_Contact", "Partner Contact"),
            ]
        ):
            rows.append(
                {
                    "Id": make_id("RecordType", 1 + n),
                    "SobjectType": obj,
                    "DeveloperName": dev,
                    "Name": name,
                    "IsActive": True,
                }
            )
        return rows

    def salesforce_accounts(self) -> Iterator[dict]:
        """Accounts for about half the companies: by external id, by website domain, or unrelated."""
        owner = make_id("User", 10)
        for c in range(self.size.n_companies):
            kind = c % 4
            if kind == 3:
                continue
            row = {
                "Id": make_id("Account", 1 + c),
                "Name": self.account_name(c),
                "OwnerId": owner,
                "Industry": None,
                **self.sales.account_fields(c),
            }
            if kind == 0:
                row["Intercom_Company_Id__c"] = f"cmp-{c:06d}"
                row["Website"] = f"https://{self.company_domain(c)}"
            elif kind == 1:
                row["Website"] = f"www.{self.company_domain(c)}"
            else:
                row["Website"] = f"https://unrelated-{c}.example.org"
            yield row
        # An account on a free-mail domain: a person's gmail address must never match it
        yield {
            "Id": make_id("Account", 999_999),
            "Name": "Gmail Enthusiasts Club",
            "Website": "https://gmail.com",
            "OwnerId": owner,
            "Tier__c": "Tier 3",
            "Type": "Other",
        }

    def salesforce_people(self) -> tuple[Iterator[dict], Iterator[dict]]:
        """(contacts, leads) overlapping Intercom people as the module docstring lays out."""
        owner = make_id("User", 10)

        def contacts() -> Iterator[dict]:
            for i in range(self.size.contacts):
                p = self.person(i)
                if i % 25 == 24:
                    continue
                account = (
                    make_id("Account", 1 + p["company"])
                    if (p["company"] is not None and p["company"] % 4 != 3)
                    else None
                )
                base = {
                    "FirstName": p["first"],
                    "LastName": p["last"],
                    "OwnerId": owner,
                    "AccountId": account,
                    "Lifecycle_Stage__c": self.sales.contact_stage(
                        i, p["company"] if account else None
                    ),
                }
                if i % 20 == 0 or i % 20 == 2:
                    yield {**base, "Id": make_id("Contact", 1 + i), "Email": p["email"]}
                elif i % 100 == 3:
                    yield {**base, "Id": make_id("Contact", 1 + i), "Email": p["email"]}
                    yield {
                        **base,
                        "Id": make_id("Contact", 5_000_000 + i),
                        "Email": p["email"],
                        "FirstName": p["first"] + " (dup)",
                    }

        def leads() -> Iterator[dict]:
            for i in range(self.size.contacts):
                p = self.person(i)
                if i % 25 == 24:
                    continue
                base = {
                    "FirstName": p["first"],
                    "LastName": p["last"],
                    "OwnerId": owner,
                    "Company": "[not provided]",
                    "Status": "Open - Not Contacted",
                    "LeadSource": "Web",
                }
                if i % 20 == 1:
                    yield {
                        **base,
                        "Id": make_id("Lead", 1 + i),
                        "Email": _swap_case(p["email"]),
                        "Status": self.sales.lead_status(i),
                    }
                elif i % 20 == 2:
                    account = (
                        make_id("Account", 1 + p["company"])
                        if (p["company"] is not None and p["company"] % 4 != 3)
                        else None
                    )
                    yield {
                        **base,
                        "Id": make_id("Lead", 1 + i),
                        "Email": p["email"],
                        "IsConverted": True,
                        "ConvertedContactId": make_id("Contact", 1 + i),
                        "ConvertedAccountId": account,
                        "Status": "Closed - Converted",
                        "ConvertedDate": (self.now - timedelta(days=60)).date().isoformat(),
                    }
                elif i % 20 == 4:
                    yield {
                        **base,
                        "Id": make_id("Lead", 1 + i),
                        "Email": f"old.address{i}@previous-employer.example.net",
                        "Intercom_Contact_Id__c": self.intercom_id("contact", i),
                    }

        return contacts(), leads()

    def salesforce(self):
        """The Salesforce side, as the emulator's loader expects it."""
        from intercom_salesforce.sandbox.salesforce.world_types import SalesforceWorldData

        groups, queue_sobjects = self.salesforce_queues()
        contacts, leads = self.salesforce_people()
        return SalesforceWorldData(
            records={
                "User": self.salesforce_users(),
                "Group": groups,
                "QueueSobject": queue_sobjects,
                "RecordType": self.salesforce_record_types(),
                "Account": self.salesforce_accounts(),
                "Contact": contacts,
                "Lead": leads,
                "Opportunity": self.sales.opportunities(),
            }
        )


def _part(k: int, n: int, at: int, part_type: str, author: dict, body: str | None) -> dict:
    return {
        "type": "conversation_part",
        "id": str(30_000_000 + k * 1000 + n),
        "part_type": part_type,
        "body": body,
        "created_at": at,
        "updated_at": at,
        "notified_at": at,
        "assigned_to": None,
        "author": author,
        "attachments": [],
        "external_id": None,
        "redacted": False,
    }


def _conversation_parts(
    k: int, n_parts: int, span: tuple[int, int], state: str, admin: dict, contact: dict
) -> list[dict]:
    """The parts of conversation ``k``, oldest first: contact and admin comments taking turns,
    an admin's assignment every fifth part, and, when the conversation is closed or snoozed, the
    admin's ``close`` or ``snoozed`` part last, at the conversation's ``updated_at``."""
    created, updated = span
    by_admin = {"type": "admin", "id": admin["id"], "name": admin["name"], "email": admin["email"]}
    by_contact = {
        "type": contact["role"],
        "id": contact["id"],
        "name": contact["name"],
        "email": contact["email"],
    }
    step = max(1, (updated - created) // (n_parts + 1))
    parts = []
    for n in range(n_parts):
        assignment = n % 5 == 0 and n > 0
        part = _part(
            k,
            n,
            created + step * (n + 1),
            "assignment" if assignment else "comment",
            by_admin if assignment or n % 2 == 1 else by_contact,
            PART_TEXT[(k + n) % len(PART_TEXT)],
        )
        if assignment:
            part["assigned_to"] = {"type": "admin", "id": admin["id"]}
        parts.append(part)
    if state in ("closed", "snoozed"):
        last = "close" if state == "closed" else "snoozed"
        parts.append(_part(k, n_parts, updated, last, by_admin, None))
    return parts


def conversation_statistics(created: int, parts: list[dict], admin_id: str) -> dict:
    """``conversation_statistics`` as the parts imply them: the times of the first and last
    contact reply, admin reply, assignment and close, and the ``time_to_*`` durations measured
    from the conversation's start (the contact's opening message, assigned a minute later)."""
    by_admin = [p for p in parts if p["author"]["type"] == "admin"]
    admin_replies = [p["created_at"] for p in by_admin if p["part_type"] == "comment"]
    contact_replies = [
        p["created_at"]
        for p in parts
        if p["part_type"] == "comment" and p["author"]["type"] != "admin"
    ]
    assignments = [p["created_at"] for p in parts if p["part_type"] == "assignment"]
    closes = [p["created_at"] for p in parts if p["part_type"] == "close"]
    first_assignment = created + 60
    last_assignment = max([first_assignment, *assignments])
    stats: dict = {
        "type": "conversation_statistics",
        "time_to_assignment": first_assignment - created,
        "first_contact_reply_at": created,
        "first_assignment_at": first_assignment,
        "last_assignment_at": last_assignment,
        "last_contact_reply_at": max([created, *contact_replies]),
        "count_reopens": 0,
        "count_assignments": 1 + len(assignments),
        "count_conversation_parts": len(parts),
    }
    if admin_replies:
        after_assignment = [t for t in admin_replies if t >= last_assignment]
        stats |= {
            "time_to_admin_reply": admin_replies[0] - created,
            "first_admin_reply_at": admin_replies[0],
            "last_admin_reply_at": admin_replies[-1],
            "median_time_to_reply": _median_reply(created, contact_replies, admin_replies),
        }
        if after_assignment:
            stats["last_assignment_admin_reply_at"] = after_assignment[0]
    if closes:
        stats |= {
            "time_to_first_close": closes[0] - created,
            "time_to_last_close": closes[-1] - created,
            "first_close_at": closes[0],
            "last_close_at": closes[-1],
            "last_closed_by_id": admin_id,
        }
    return stats


def _median_reply(created: int, contact_replies: list[int], admin_replies: list[int]) -> int:
    """Median of the time each admin reply took since the contact's latest message before it."""
    asked = [created, *contact_replies]
    waits = [t - max(a for a in asked if a <= t) for t in admin_replies]
    return int(statistics.median(waits))


def _ascii(name: str) -> str:
    import unicodedata

    flat = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in flat if ch.isalnum()) or "x"


def _swap_case(email: str) -> str:
    local, domain = email.split("@", 1)
    return f"{local.title()}@{domain.upper()}"
