"""The rules a match records, named once.

``sql/match_people.sql`` and ``sql/match_companies.sql`` write them into the ``rule`` column
(tests/unit/test_match_rules.py keeps the two in step); the match assets' metadata, the push
(create or update by Id) and the run summary read them from here.
"""

from enum import StrEnum


class MatchRule(StrEnum):
    """Why a person or company matched what it did (or nothing)."""

    MANUAL = "manual"  # the record a person chose in review (``review merge``)
    EXTERNAL_ID = "external_id"  # a record already carrying our external id
    USER_ID = "user_id"  # people: a record carrying the Intercom user id
    EMAIL = "email"  # people: a Contact or Lead with the same email
    DOMAIN = "domain"  # companies: the one Account with the company's website domain
    AMBIGUOUS = "ambiguous"  # several candidates: nothing is written until a person chooses
    NO_EMAIL = "no_email"  # people: no email to match on
    NO_DOMAIN = "no_domain"  # companies: no website domain to match on
    FREE_MAIL = "free_mail"  # companies: a free-mail domain, which matches no one Account
    NONE = "none"  # nothing in Salesforce


# One Salesforce record found, in the order the rules are tried: it is updated by Id.
PERSON_MATCHED = (MatchRule.MANUAL, MatchRule.EXTERNAL_ID, MatchRule.USER_ID, MatchRule.EMAIL)
COMPANY_MATCHED = (MatchRule.EXTERNAL_ID, MatchRule.DOMAIN)

# Nothing found: the record is created when the mapping says so.
PERSON_UNMATCHED = (MatchRule.NONE,)
COMPANY_UNMATCHED = (MatchRule.NONE, MatchRule.NO_DOMAIN, MatchRule.FREE_MAIL)

# Every rule each match writes.
PERSON_RULES = (*PERSON_MATCHED, MatchRule.AMBIGUOUS, MatchRule.NO_EMAIL, *PERSON_UNMATCHED)
COMPANY_RULES = (*COMPANY_MATCHED, MatchRule.AMBIGUOUS, *COMPANY_UNMATCHED)
