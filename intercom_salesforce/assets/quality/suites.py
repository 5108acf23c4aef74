"""Every data-quality rule, in one place: one suite per staging asset.

A suite has a *frame*: SQL (``sql/frame_<prefix>.sql``) selecting the window's rows with the
columns the rules read (derived values such as the normalized email or the Salesforce LastName we
would send are computed there, so rules test what Salesforce will see). *Structural* rules gate
the batch: any failure blocks every downstream asset. *Row* rules flag records: each offending
row goes to the review queue with the rule, the value and the reason, and is never pushed; only
when more than ``max_bad_share`` of a window breaks one row rule (something upstream broke) does
the batch block too.

Every rule is its own asset check (see checks.py for the names and which ones block).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intercom_salesforce.assets.quality.mapped_values import MappedValues, mapped_values
from intercom_salesforce.mapping import Mapping
from intercom_salesforce.warehouse import read_sql

SQL = Path(__file__).parent / "sql"


class _Expectations:
    """``great_expectations.expectations``, imported on first use: GX takes seconds to import,
    and the code location (webserver, daemon, sensors) should not pay for it, only check runs."""

    def __getattr__(self, name: str) -> Any:
        import great_expectations as gx

        return getattr(gx.expectations, name)


E = _Expectations()
EMAIL_REGEX = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PLAN_PATH = "custom_attributes.plan"  # the mapping's source of Intercom_Plan__c


@dataclass(frozen=True)
class RowRule:
    """A rule about single records. ``column`` is the frame column reported as the value.

    ``build`` makes the GX expectation from the deployment's mapping (None when the rule does not
    need it); it returns None when the mapping leaves the rule nothing to check. ``derive`` adds
    frame columns the expectation reads: {name: SQL over the frame's columns}.
    """

    name: str
    column: str
    reason: str
    build: Callable[[Mapping | None], Any]
    max_bad_share: float = 0.05
    # a share over very few rows says little: 1 bad row in 12 is not an upstream failure
    min_rows_for_share: int = 50
    needs_mapping: bool = False
    derive: Callable[[Mapping | None], dict[str, str]] | None = None


@dataclass(frozen=True)
class Suite:
    entity: str  # the staging asset / table name
    prefix: str  # of the suite's check names, and its frame is sql/frame_<prefix>.sql
    structural: Callable[[int, int], list[Any]]  # (window start epoch, window end epoch)
    row_rules: tuple[RowRule, ...] = field(default_factory=tuple)
    id_column: str = "id"

    @property
    def check_name(self) -> str:
        """The blocking check of the structural rules (the name the gate always had)."""
        return f"{self.prefix}_pass_gx_suite"

    @property
    def drift_check_name(self) -> str:
        return f"{self.prefix}_no_schema_drift"

    @property
    def batch_check_name(self) -> str:
        return f"{self.prefix}_no_bad_batch"

    def rule_check_name(self, rule: RowRule) -> str:
        return f"{self.prefix}_{rule.name}"

    @property
    def frame_sql(self) -> str:
        """The window's rows; $1 first day, $2 last day."""
        return read_sql(f"frame_{self.prefix}.sql", SQL)

    @property
    def needs_mapping(self) -> bool:
        return any(r.needs_mapping for r in self.row_rules)


def _window_rules(start: int, end: int) -> list[Any]:
    return [
        E.ExpectColumnValuesToNotBeNull(column="id"),
        E.ExpectCompoundColumnsToBeUnique(column_list=["id", "partition_date"]),
        E.ExpectColumnValuesToNotBeNull(column="updated_epoch"),
        E.ExpectColumnValuesToBeBetween(column="updated_epoch", min_value=start, max_value=end - 1),
    ]


def _plans(mapping: Mapping | None) -> MappedValues | None:
    return mapped_values(mapping, "contacts", PLAN_PATH, "plan") if mapping else None


def _plan_is_mapped(mapping: Mapping | None) -> Any:
    """Plans the mapping's value map takes; none to check when the mapping maps no plan."""
    plans = _plans(mapping)
    if plans is None:
        return None
    return E.ExpectColumnValuesToBeInSet(column="plan_key", value_set=plans.keys)


def _plan_key(mapping: Mapping | None) -> dict[str, str]:
    """The plan as the mapping's value map looks it up (trimmed, lower-cased...)."""
    plans = _plans(mapping)
    return {"plan_key": plans.probe} if plans else {}


CONTACTS = Suite(
    entity="intercom_contacts",
    prefix="contacts",
    structural=lambda start, end: [
        *_window_rules(start, end),
        E.ExpectColumnValuesToBeInSet(column="role", value_set=["user", "lead"]),
    ],
    row_rules=(
        RowRule(
            "email_format",
            "email_normalized",
            "Salesforce rejects it: INVALID_EMAIL_ADDRESS",
            lambda _: E.ExpectColumnValuesToMatchRegex(
                column="email_normalized", regex=EMAIL_REGEX
            ),
        ),
        RowRule(
            "email_length",
            "email_normalized",
            "Email is longer than Salesforce's 80 characters (STRING_TOO_LONG)",
            lambda _: E.ExpectColumnValuesToBeBetween(column="email_length", max_value=80),
        ),
        RowRule(
            "phone_length",
            "phone",
            "Phone is longer than Salesforce's 40 characters (STRING_TOO_LONG)",
            lambda _: E.ExpectColumnValuesToBeBetween(column="phone_length", max_value=40),
        ),
        RowRule(
            "plan_unmapped",
            "plan",
            "custom attribute plan has no value in the Intercom_Plan__c picklist map",
            _plan_is_mapped,
            needs_mapping=True,
            derive=_plan_key,
        ),
        RowRule(
            "timestamp_out_of_range",
            "invalid_timestamps",
            "A timestamp is outside years 1-9999 (sent in milliseconds or microseconds?): staged "
            "empty, and the person is not pushed until Intercom sends it in seconds",
            lambda _: E.ExpectColumnValuesToBeNull(column="invalid_timestamps"),
        ),
        RowRule(
            "last_name_missing",
            "last_name",
            "Lead and Contact require LastName: the person has neither a name nor an email",
            lambda _: E.ExpectColumnValuesToNotBeNull(column="last_name"),
            max_bad_share=0.2,
        ),
    ),
)

COMPANIES = Suite(
    entity="intercom_companies",
    prefix="companies",
    structural=lambda start, end: [
        *_window_rules(start, end),
        E.ExpectColumnValuesToNotBeNull(column="company_id"),
    ],
    row_rules=(
        RowRule(
            "account_name_missing",
            "name",
            "Account requires Name (REQUIRED_FIELD_MISSING)",
            lambda _: E.ExpectColumnValuesToNotBeNull(column="name"),
        ),
        RowRule(
            "account_name_length",
            "name",
            "Account Name is longer than Salesforce's 255 characters",
            lambda _: E.ExpectColumnValuesToBeBetween(column="name_length", max_value=255),
        ),
    ),
)

CONVERSATIONS = Suite(
    entity="intercom_conversations",
    prefix="conversations",
    structural=lambda start, end: [
        *_window_rules(start, end),
        E.ExpectColumnValuesToBeInSet(column="state", value_set=["open", "closed", "snoozed"]),
    ],
    row_rules=(
        RowRule(
            "conversation_without_contact",
            "contacts",
            "No contact on the conversation: nothing in Salesforce to attach it to",
            lambda _: E.ExpectColumnValuesToBeBetween(column="contacts", min_value=1),
        ),
    ),
)

CONVERSATION_PARTS = Suite(
    entity="intercom_conversation_parts",
    prefix="conversation_parts",
    # parts keep their own timestamps: the window bound does not apply, ids are unique overall
    structural=lambda start, end: [
        E.ExpectColumnValuesToNotBeNull(column="id"),
        E.ExpectColumnValuesToBeUnique(column="id"),
        E.ExpectColumnValuesToBeInSet(column="known_conversation", value_set=[True]),
    ],
)

DATA_EVENTS = Suite(
    entity="intercom_data_events",
    prefix="data_events",
    structural=lambda start, end: [
        E.ExpectColumnValuesToNotBeNull(column="id"),
        E.ExpectColumnValuesToBeUnique(column="id"),
        E.ExpectColumnValuesToNotBeNull(column="event_name"),
        E.ExpectColumnValuesToNotBeNull(column="intercom_user_id"),
    ],
)

SUITES = (CONTACTS, COMPANIES, CONVERSATIONS, CONVERSATION_PARTS, DATA_EVENTS)
