"""Records every emulated org starts with: the integration user, queues and record types.

They exist so OwnerId/RecordTypeId validation (reference 6.6) has something real to check against,
and so describe's ``recordTypeInfos`` lists the Lead, Account and Contact record types.
"""

from __future__ import annotations

from .ids import make_id

INTEGRATION_USER_ID = make_id("User", 1)
LEAD_QUEUE_ID = make_id("Group", 1)
CONVERSATION_QUEUE_ID = make_id("Group", 2)
PUBLIC_GROUP_ID = make_id("Group", 3)
RECORD_TYPE_IDS = {
    ("Lead", "Sales_Lead"): make_id("RecordType", 1),
    ("Lead", "Support_Lead"): make_id("RecordType", 2),
    ("Account", "Customer_Account"): make_id("RecordType", 3),
    ("Account", "Partner_Account"): make_id("RecordType", 4),
    ("Contact", "Customer_Contact"): make_id("RecordType", 5),
    ("Contact", "Partner_Contact"): make_id("RecordType", 6),
}


def baseline_records(username: str = "integration@sandbox.example.com") -> dict[str, list[dict]]:
    """The seed rows, keyed by sObject name."""
    record_types = [
        {
            "Id": rid,
            "Name": dev.replace("_", " "),
            "DeveloperName": dev,
            "SobjectType": obj,
            "IsActive": True,
        }
        for (obj, dev), rid in RECORD_TYPE_IDS.items()
    ]
    return {
        "User": [
            {
                "Id": INTEGRATION_USER_ID,
                "Username": username,
                "FirstName": "Integration",
                "LastName": "User",
                "Email": "integration@sandbox.example.com",
                "Alias": "integ",
                "IsActive": True,
            }
        ],
        "Group": [
            {
                "Id": LEAD_QUEUE_ID,
                "Name": "Lead Intake",
                "DeveloperName": "Lead_Intake",
                "Type": "Queue",
            },
            {
                "Id": CONVERSATION_QUEUE_ID,
                "Name": "Conversation Triage",
                "DeveloperName": "Conversation_Triage",
                "Type": "Queue",
            },
            {
                "Id": PUBLIC_GROUP_ID,
                "Name": "All Sales",
                "DeveloperName": "All_Sales",
                "Type": "Regular",
            },
        ],
        "QueueSobject": [
            {"Id": make_id("QueueSobject", 1), "QueueId": LEAD_QUEUE_ID, "SobjectType": "Lead"},
            {
                "Id": make_id("QueueSobject", 2),
                "QueueId": CONVERSATION_QUEUE_ID,
                "SobjectType": "Intercom_Conversation__c",
            },
        ],
        "RecordType": record_types,
    }
