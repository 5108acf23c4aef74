"""The sales side of the seeded Salesforce org: tiers, account types, lifecycle stages, lead
statuses and opportunities, coherent with one another and with the Intercom workspace.

Opportunities sit on the Accounts matched to Intercom companies that have people (matched by
``Intercom_Company_Id__c``, or by website domain where the company's website is its own), one to
three each, so a write-back has deals to report on the companies it can reach. Every stage of
the ``StageName`` picklist occurs at every world size: the first matched Account of each kind
(companies 0 and 1) carries three deals whose stages together cover all six. The rest is a pure
function of ``(seed, company)``: an Account with a won deal is a customer (``Type``), its
Contacts are ``Customer``s and those of an Account with open deals only are at ``Opportunity``.

Whether a company has people is the one fact that needs every contact: one pass over the
contacts' company indices, kept as a set of company indices (no records held), so the biggest
worlds stay streamed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING

from intercom_salesforce.sandbox.salesforce.ids import make_id

if TYPE_CHECKING:
    from intercom_salesforce.sandbox.world import World

STAGES = (
    "Prospecting",
    "Qualification",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
"""``Opportunity.StageName``'s picklist, in order."""
CLOSED = ("Closed Won", "Closed Lost")
TIERS = ("Tier 1", "Tier 2", "Tier 3")
"""``Account.Tier__c``'s picklist."""
LIFECYCLE_STAGES = ("Subscriber", "Lead", "MQL", "SQL", "Opportunity", "Customer")
"""``Contact.Lifecycle_Stage__c``'s picklist."""
_EARLY_STAGES = ("Subscriber", "Lead", "MQL", "SQL")
LEAD_STATUSES = (
    "Open - Not Contacted",
    "Marketing Qualified",
    "Working - Contacted",
    "Open - Not Contacted",
)
"""Statuses of the case-different Leads (``i % 20 == 1``), by ``(i // 20) % 4``."""
AMOUNTS = (4800.0, 12000.0, 25000.0, 48000.0, 120000.0)
OPPORTUNITY_OWNERS = (10, 11, 12, 13, 14, 16)
"""``make_id("User", n)`` of the seeded active sales users (``World.salesforce_users``)."""


class SalesWorld:
    """The sales facts of one :class:`World`."""

    def __init__(self, world: World, many: int) -> None:
        self.world = world
        self.many = many
        self._with_people: frozenset[int] | None = None

    def rng(self, kind: str, c: int) -> random.Random:
        return self.world.rng(f"sales-{kind}", c)

    # -- which Accounts have deals ----------------------------------------------------------
    def companies_with_people(self) -> frozenset[int]:
        """Indices of the Intercom companies at least one contact belongs to (computed once)."""
        if self._with_people is None:
            world = self.world
            n = world.size.n_companies
            found: set[int] = set()
            for i in range(world.size.contacts):
                own = world.company_index_of(i)
                if own is not None:
                    found.add(own)
                if i % 97 == 13:  # these contacts also belong to the first companies
                    wanted = self.many - (own is not None)
                    found.update(islice((c for c in range(n) if c != own), wanted))
            self._with_people = frozenset(found)
        return self._with_people

    def has_deals(self, c: int) -> bool:
        """Account of company ``c`` exists, matches its Intercom company, and the company has
        people: by external id (``c % 4 == 0``) or by website domain (``c % 4 == 1``, unless the
        company's Intercom website is a free-mail one, ``c % 13 == 7``)."""
        kind = c % 4
        matched = kind == 0 or (kind == 1 and c % 13 != 7)
        return matched and c in self.companies_with_people()

    def stages(self, c: int) -> list[str]:
        """The stages of company ``c``'s Account's deals (none when it has no deals)."""
        if not self.has_deals(c):
            return []
        count = 3 if c < 2 else 1 + self.rng("deals", c).randrange(3)
        start = 3 * (c % 2) + c // 4
        return [STAGES[(start + k) % len(STAGES)] for k in range(count)]

    # -- field values -------------------------------------------------------------------------
    def account_fields(self, c: int) -> dict[str, str]:
        """``Tier__c`` and ``Type``: a customer when it won a deal, else a prospect (or, now and
        then, a partner)."""
        stages = self.stages(c)
        if "Closed Won" in stages:
            kind = "Customer - Channel" if c % 8 == 5 else "Customer - Direct"
        else:
            kind = "Partner" if c % 10 == 9 else "Prospect"
        return {"Tier__c": TIERS[self.rng("tier", c).randrange(len(TIERS))], "Type": kind}

    def contact_stage(self, i: int, company: int | None) -> str:
        """``Lifecycle_Stage__c`` of contact ``i`` at ``company``'s Account: ``Customer`` where
        the Account won a deal, ``Opportunity`` where it has open ones, else an earlier stage."""
        stages = self.stages(company) if company is not None else []
        if "Closed Won" in stages:
            return "Customer"
        if any(s not in CLOSED for s in stages):
            return "Opportunity"
        return _EARLY_STAGES[self.rng("lifecycle", i).randrange(len(_EARLY_STAGES))]

    @staticmethod
    def lead_status(i: int) -> str:
        """Status of the case-different Lead of contact ``i`` (``i % 20 == 1``)."""
        return LEAD_STATUSES[(i // 20) % len(LEAD_STATUSES)]

    # -- Opportunity records ----------------------------------------------------------------
    def opportunities(self) -> Iterator[dict]:
        """Every deal, streamed in company order; ``IsWon``/``IsClosed`` are left to the org,
        which derives them from the stage."""
        now: datetime = self.world.now
        for c in range(self.world.size.n_companies):
            stages = self.stages(c)
            if not stages:
                continue
            r = self.rng("deal", c)
            name = self.world.account_name(c)
            for k, stage in enumerate(stages):
                days = r.randint(5, 120)
                close = (
                    now - timedelta(days=days) if stage in CLOSED else now + timedelta(days=days)
                )
                yield {
                    "Id": make_id("Opportunity", 1 + c * 3 + k),
                    "Name": f"{name} - Deal {k + 1}",
                    "AccountId": make_id("Account", 1 + c),
                    "StageName": stage,
                    "Amount": r.choice(AMOUNTS),
                    "CloseDate": close.date().isoformat(),
                    "OwnerId": make_id("User", r.choice(OPPORTUNITY_OWNERS)),
                    "Type": "New Customer",
                    "LeadSource": "Web",
                }
