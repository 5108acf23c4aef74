"""Read-only HTML pages under ``/_sandbox/`` so a person can see what landed in the emulated org."""

from __future__ import annotations

import html
import json

from .describe import OBJECTS, ObjectDef
from .store import SalesforceStore

PAGE_SIZE = 50
_STYLE = (
    "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;vertical-align:top}"
    "th{background:#eee}</style>"
)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title>{_STYLE}</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def overview_page(store: SalesforceStore) -> str:
    """Objects with their live record counts."""
    rows = "".join(
        f"<tr><td><a href='/_sandbox/{name}'>{name}</a></td><td>{count}</td></tr>"
        for name, count in store.counts().items()
    )
    return _page(
        "Salesforce sandbox", f"<table><tr><th>Object</th><th>Records</th></tr>{rows}</table>"
    )


def object_page(store: SalesforceStore, obj: ObjectDef, page: int) -> str:
    """One page of an object's records, columns in describe order (empty columns hidden)."""
    page = max(1, page)
    total = store.count(obj.name)
    records = store.list_records(obj.name, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    names = [n for n in OBJECTS[obj.name].fields if any(r.get(n) is not None for r in records)]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)

    def cell(value: object) -> str:
        text = value if isinstance(value, str) else json.dumps(value)
        return html.escape(text if len(text) <= 200 else text[:200] + "…")

    body = "".join(
        "<tr>" + "".join(f"<td>{cell(r.get(n))}</td>" for n in names) + "</tr>" for r in records
    )
    pages = max(1, -(-total // PAGE_SIZE))
    nav = f"<p>{total} records, page {page} of {pages}. "
    if page > 1:
        nav += f"<a href='/_sandbox/{obj.name}?page={page - 1}'>previous</a> "
    if page < pages:
        nav += f"<a href='/_sandbox/{obj.name}?page={page + 1}'>next</a>"
    nav += " <a href='/_sandbox/'>all objects</a></p>"
    return _page(obj.label_plural, nav + f"<table><tr>{head}</tr>{body}</table>")
