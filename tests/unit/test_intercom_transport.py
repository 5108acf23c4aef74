"""The Intercom transport's query strings: encoded as requests encodes them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests
from hypothesis import given
from hypothesis import strategies as st

from intercom_salesforce.resources.intercom_transport import query_url

keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)
values = st.one_of(
    st.none(),
    st.integers(),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.lists(st.text(max_size=5).filter(str.strip), min_size=1, max_size=3),
)


@given(st.dictionaries(keys, values, max_size=5), st.booleans())
def test_query_url_matches_requests(params: dict, has_query: bool):
    """Same URL as requests prepares: ``None`` left out, lists repeated, an existing query kept."""
    url = "https://api.intercom.io/events" + ("?type=user" if has_query else "")
    expected = requests.Request("GET", url, params=params).prepare().url
    got = query_url(url, params)
    assert parse_qs(urlsplit(got).query, keep_blank_values=True) == parse_qs(
        urlsplit(expected).query, keep_blank_values=True
    )


def test_query_url_without_params_is_the_url():
    assert query_url("https://x/events?page=2", None) == "https://x/events?page=2"
    assert query_url("https://x/events", {"a": None}) == "https://x/events"
