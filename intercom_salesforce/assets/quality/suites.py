"""Every data-quality rule, in one place: one suite per staging asset.

A suite has a *frame*: SQL selecting the window's rows with the columns the rules read (derived
values such as the normalized email or the Salesforce LastName we would send are computed here, so
rules test what Salesforce will see). *Structural* rules gate the batch: any failure blocks every
downstream asset. *Row* rules flag records: each offending row goes to the review queue with the
rule, the value and the reason, and is never pushed; only when more than ``max_bad_share`` of a
window breaks one row rule (something upstream broke) does the batch block too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class _Expectations:
    """``great_expectations.expectations``, imported on first use: GX takes seconds to import,
    and the code location (webserver, daemon, sensors) should not pay for it, only check runs."""

    def __getattr__(self, name: str) -> Any:
        import great_expectations as gx

        return getattr(gx.expectations, name)


E = _Expectations()
EMAIL_REGEX = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# Intercom plan values the sandbox mapping sends to Lead/Contact Intercom_Plan__c
MAPPED_PLANS = ["free", "starter", "pro", "enterprise"]


@dataclass(frozen=True)
class RowRule:
    """A rule about single records. ``column`` is the frame column reported as the value."""

    name: str
    column: str
    reason: str
    build: Callable[[], Any]
    max_bad_share: float = 0.05
    # a share over very few rows says little: 1 bad row in 12 is not an upstream failure
    min_rows_for_share: int = 50


@dataclass(frozen=True)
class Suite:
    entity: str  # the staging asset / table name
    check_name: str
    frame_sql: str  # $1 first day, $2 last day
    structural: Callable[[int, int], list[Any]]  # (window start epoch, window end epoch)
    row_rules: tuple[RowRule, ...] = field(default_factory=tuple)
    id_column: str = "id"


def _window_rules(start: int, end: int, *, unique: list[str] | None = None) -> list[Any]:
    rules = [
        E.ExpectColumnValuesToNotBeNull(column="id"),
        E.ExpectCompoundColumnsToBeUnique(column_list=unique or ["id", "partition_date"]),
        E.ExpectColumnValuesToNotBeNull(column="updated_epoch"),
        E.ExpectColumnValuesToBeBetween(column="updated_epoch", min_value=start, max_value=end - 1),
    ]
    return rules


CONTACTS = Suite(
    entity="intercom_contacts",
    check_name="contacts_pass_gx_suite",
    frame_sql="""
        SELECT id, partition_date, role, external_id,
               epoch(updated_at)::BIGINT AS updated_epoch,
               nullif(lower(trim(email)), '') AS email_normalized,
               length(nullif(lower(trim(email)), '')) AS email_length,
               phone, length(phone) AS phone_length,
               coalesce(nullif(regexp_extract(trim(name), '(\\S+)$', 1), ''),
                        nullif(split_part(lower(trim(email)), '@', 1), '')) AS last_name,
               custom_attributes->>'plan' AS plan, invalid_timestamps::VARCHAR AS invalid_timestamps
        FROM staging.intercom_contacts
        WHERE partition_date BETWEEN $1 AND $2""",
    structural=lambda start, end: [
        *_window_rules(start, end),
        E.ExpectColumnValuesToBeInSet(column="role", value_set=["user", "lead"]),
    ],
    row_rules=(
        RowRule(
            "email_format",
            "email_normalized",
            "Salesforce rejects it: INVALID_EMAIL_ADDRESS",
            lambda: E.ExpectColumnValuesToMatchRegex(column="email_normalized", regex=EMAIL_REGEX),
        ),
        RowRule(
            "email_length",
            "email_normalized",
            "Email is longer than Salesforce's 80 characters (STRING_TOO_LONG)",
            lambda: E.ExpectColumnValuesToBeBetween(column="email_length", max_value=80),
        ),
        RowRule(
            "phone_length",
            "phone",
            "Phone is longer than Salesforce's 40 characters (STRING_TOO_LONG)",
            lambda: E.ExpectColumnValuesToBeBetween(column="phone_length", max_value=40),
        ),
        RowRule(
            "plan_unmapped",
            "plan",
            "custom attribute plan has no value in the Intercom_Plan__c picklist map",
            lambda: E.ExpectColumnValuesToBeInSet(column="plan", value_set=MAPPED_PLANS),
        ),
        RowRule(
            "timestamp_out_of_range",
            "invalid_timestamps",
            "A timestamp is outside years 1-9999 (sent in milliseconds or microseconds?): staged "
            "empty, and the person is not pushed until Intercom sends it in seconds",
            lambda: E.ExpectColumnValuesToBeNull(column="invalid_timestamps"),
        ),
        RowRule(
            "last_name_missing",
            "last_name",
            "Lead and Contact require LastName: the person has neither a name nor an email",
            lambda: E.ExpectColumnValuesToNotBeNull(column="last_name"),
            max_bad_share=0.2,
        ),
    ),
)

COMPANIES = Suite(
    entity="intercom_companies",
    check_name="companies_pass_gx_suite",
    frame_sql="""
        SELECT id, partition_date, company_id, name, website, length(name) AS name_length,
               epoch(updated_at)::BIGINT AS updated_epoch
        FROM staging.intercom_companies WHERE partition_date BETWEEN $1 AND $2""",
    structural=lambda start, end: [
        *_window_rules(start, end),
        E.ExpectColumnValuesToNotBeNull(column="company_id"),
    ],
    row_rules=(
        RowRule(
            "account_name_missing",
            "name",
            "Account requires Name (REQUIRED_FIELD_MISSING)",
            lambda: E.ExpectColumnValuesToNotBeNull(column="name"),
        ),
        RowRule(
            "account_name_length",
            "name",
            "Account Name is longer than Salesforce's 255 characters",
            lambda: E.ExpectColumnValuesToBeBetween(column="name_length", max_value=255),
        ),
    ),
)

CONVERSATIONS = Suite(
    entity="intercom_conversations",
    check_name="conversations_pass_gx_suite",
    frame_sql="""
        SELECT id, partition_date, state, json_array_length(contact_ids) AS contacts,
               epoch(updated_at)::BIGINT AS updated_epoch
        FROM staging.intercom_conversations WHERE partition_date BETWEEN $1 AND $2""",
    structural=lambda start, end: [
        *_window_rules(start, end),
        E.ExpectColumnValuesToBeInSet(column="state", value_set=["open", "closed", "snoozed"]),
    ],
    row_rules=(
        RowRule(
            "conversation_without_contact",
            "contacts",
            "No contact on the conversation: nothing in Salesforce to attach it to",
            lambda: E.ExpectColumnValuesToBeBetween(column="contacts", min_value=1),
        ),
    ),
)

CONVERSATION_PARTS = Suite(
    entity="intercom_conversation_parts",
    check_name="conversation_parts_pass_gx_suite",
    frame_sql="""
        SELECT p.id, p.partition_date, p.conversation_id,
               epoch(p.updated_at)::BIGINT AS updated_epoch,
               (c.id IS NOT NULL) AS known_conversation
        FROM staging.intercom_conversation_parts p
        LEFT JOIN (SELECT DISTINCT id FROM staging.intercom_conversations) c
               ON c.id = p.conversation_id
        WHERE p.partition_date BETWEEN $1 AND $2""",
    # parts keep their own timestamps: the window bound does not apply, ids are unique overall
    structural=lambda start, end: [
        E.ExpectColumnValuesToNotBeNull(column="id"),
        E.ExpectColumnValuesToBeUnique(column="id"),
        E.ExpectColumnValuesToBeInSet(column="known_conversation", value_set=[True]),
    ],
)

DATA_EVENTS = Suite(
    entity="intercom_data_events",
    check_name="data_events_pass_gx_suite",
    frame_sql="""
        SELECT e.id, e.partition_date, e.event_name, e.intercom_user_id,
               epoch(e.updated_at)::BIGINT AS updated_epoch
        FROM staging.intercom_data_events e WHERE e.partition_date BETWEEN $1 AND $2""",
    structural=lambda start, end: [
        E.ExpectColumnValuesToNotBeNull(column="id"),
        E.ExpectColumnValuesToBeUnique(column="id"),
        E.ExpectColumnValuesToNotBeNull(column="event_name"),
        E.ExpectColumnValuesToNotBeNull(column="intercom_user_id"),
    ],
)

SUITES = (CONTACTS, COMPANIES, CONVERSATIONS, CONVERSATION_PARTS, DATA_EVENTS)
