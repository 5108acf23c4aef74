"""The match SQL writes exactly the rules ``assets/match/rules.py`` names."""

import re
from pathlib import Path

import pytest

from intercom_salesforce.assets.match import rules

SQL = Path(rules.__file__).parent / "sql"


def written_rules(sql: str) -> set[str]:
    """The values of every ``CASE ... END AS rule`` in a match statement."""
    cases = re.findall(r"CASE\b((?:(?!\bCASE\b).)*?)\bEND AS rule\b", sql, flags=re.DOTALL)
    assert cases, "no CASE ... END AS rule"
    return {value for case in cases for value in re.findall(r"(?:THEN|ELSE) '(\w+)'", case)}


@pytest.mark.parametrize(
    ("file", "named"),
    [("match_people.sql", rules.PERSON_RULES), ("match_companies.sql", rules.COMPANY_RULES)],
)
def test_sql_writes_the_named_rules(file, named):
    assert written_rules((SQL / file).read_text()) == set(named)


def test_matched_and_unmatched_do_not_overlap():
    assert not set(rules.PERSON_MATCHED) & set(rules.PERSON_UNMATCHED)
    assert not set(rules.COMPANY_MATCHED) & set(rules.COMPANY_UNMATCHED)
