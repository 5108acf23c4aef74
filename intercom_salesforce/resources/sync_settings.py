"""Settings of the sync itself (not of a service): field names, defaults, where files go."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field


class SyncSettings(dg.ConfigurableResource):
    """Knobs a deployment sets once; the declarative field mapping will extend these."""

    work_dir: str = Field(description="Folder for CSVs uploaded to and downloaded from Salesforce.")
    mapping_file: str = Field(
        default_factory=lambda: str(
            Path(__file__).resolve().parents[2] / "mappings" / "sandbox.yaml"
        ),
        description="The deployment's field mapping (YAML; see docs/mapping.md).",
    )
    person_external_id_field: str = Field(
        default="Intercom_Contact_Id__c",
        description="External id field on Lead and Contact holding the Intercom contact id.",
    )
    user_id_field: str = Field(
        default="Intercom_User_Id__c",
        description="Salesforce field holding Intercom's external_id (your user id).",
    )
    lead_source: str = "Intercom"
    match_account_by_email_domain: bool = Field(
        default=True,
        description="A person with no company takes the Account whose website domain is their "
        "email domain (never a free-mail domain).",
    )
    default_company: str = Field(
        default="[not provided]",
        description="Lead.Company is required; used when the person has no company name.",
    )
    create_leads_without_email: bool = Field(
        default=False,
        description="Leads without an email cannot be matched later and tend to duplicate.",
    )
    event_names: list[str] = Field(
        default=["requested-demo", "upgraded-plan"],
        description="Data events worth reading (one listing per changed contact).",
    )
    include_transcript: bool = Field(
        default=False, description="Put the conversation's parts, as plain text, on the Task."
    )
    redact_transcript: bool = Field(
        default=True, description="Replace email addresses and phone numbers in transcripts."
    )
    intercom_web_host: str = Field(
        default="app.intercom.com",
        description="Host of inbox links (app.eu.intercom.com / app.au.intercom.com by region).",
    )
    max_upload_bytes: int = Field(
        default=90_000_000, description="Split Bulk uploads under Salesforce's 100 MB raw limit."
    )
    push_attempts: int = Field(
        default=3,
        description="Uploads per record in one run while Salesforce answers with a transient "
        "error (UNABLE_TO_LOCK_ROW, unprocessed rows); what still fails is listed in review and "
        "sent again by the next run.",
    )
    push_retry_seconds: float = Field(
        default=1.0, description="Wait before the first retry upload; doubles per attempt."
    )
    decide_slice_rows: int = Field(
        default=250_000,
        gt=0,
        description="Matched records whose fields the source-of-truth rules decide at once. The "
        "decision joins each record's mapped values, last pushed values and Salesforce row in "
        "the warehouse's memory, so a window of a million matched records goes through in "
        "slices of about this many.",
    )

    def run_dir(self, run_id: str, stage: str) -> Path:
        path = Path(self.work_dir) / run_id / stage
        path.mkdir(parents=True, exist_ok=True)
        return path
