"""The staging tables a mapping reads, with their column types, taken from the extract's specs.

Reading the column list from ``EntitySpec`` keeps the mapping's checks in step with what the
extract actually stages: a renamed column fails at load, not in the middle of a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from intercom_salesforce.extract.entities import COMPANIES, CONTACTS, EntitySpec

SourceName = Literal["contacts", "companies"]


@dataclass(frozen=True)
class Source:
    name: SourceName
    spec: EntitySpec
    tag_column: str  # JSON list of tag ids

    @property
    def view(self) -> str:
        return self.spec.current_view

    @property
    def history(self) -> str:
        """Every staged version, used to see what a record was before (role changes)."""
        return self.spec.table

    def column_type(self, name: str) -> str | None:
        for c in self.spec.columns:
            if c.name == name:
                return c.type
        return None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.spec.columns]


SOURCES: dict[str, Source] = {
    "contacts": Source("contacts", CONTACTS, "tags"),
    "companies": Source("companies", COMPANIES, "tag_ids"),
}
