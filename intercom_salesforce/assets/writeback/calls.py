"""The write-back's Intercom calls: what each decided change becomes, and running them.

A contact's changed attributes go in one ``PUT /contacts/{id}``, a company's in one
``POST /companies`` (by ``company_id``); a contact's tag is attached with
``POST /contacts/{id}/tags`` and detached with ``DELETE /contacts/{id}/tags/{tag_id}``;
companies are tagged and untagged in one ``POST /tags`` per tag and direction. Attributes the
workspace lacks are created first with ``POST /data_attributes``, tags with ``POST /tags``
(which returns the existing tag of that name). Calls run on ``IntercomClient.map_concurrent``,
so they share the client's rate limiter and retries; results come back to the caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from intercom_salesforce.resources.intercom import IntercomAPIError, IntercomClient

# a company tag call carries at most this many companies
COMPANIES_PER_TAG_CALL = 50
DENIED = {401, 403}
# what a call needs the access token to allow, for the error a refused call becomes
PERMISSIONS = {
    ("contact", "update"): "update contacts (write users and companies)",
    ("company", "update"): "create and update companies (write users and companies)",
    ("contact", "tag"): "tag contacts (write tags)",
    ("contact", "untag"): "untag contacts (write tags)",
    ("company", "tag"): "tag companies (write tags)",
    ("company", "untag"): "untag companies (write tags)",
}


@dataclass(frozen=True)
class Cell:
    """One decided change: a record's attribute (or ``tag:<key>``) and its new value."""

    model: str
    intercom_id: str
    write_id: str
    attribute: str
    kind: str
    data_type: str | None
    tag: str | None
    value: str | None
    action: str


@dataclass
class Call:
    """One Intercom call and the cells it writes."""

    model: str
    operation: str
    method: str
    path: str
    payload: dict[str, Any] | None
    cells: list[Cell] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """How one call ended: written, rejected (a 4xx but 429: a person must look) or failed."""

    call: Call
    status: str
    http_status: int | None
    error: str | None
    updated_at: int | None


def typed(value: str | None, data_type: str | None) -> Any:
    """The JSON value of an attribute's text, as its Intercom type holds it."""
    if value is None:
        return None
    if data_type == "integer":
        return int(float(value))
    if data_type == "float":
        return float(value)
    if data_type == "boolean":
        return value.lower() == "true"
    return value


def untypable(cells: list[Cell]) -> tuple[list[Cell], list[Outcome]]:
    """The cells whose value can be sent as its attribute's type, and a rejected outcome (no call
    made) for each that cannot: one bad Salesforce value goes to review, the others are written."""
    good: list[Cell] = []
    bad: list[Outcome] = []
    for cell in cells:
        try:
            if cell.kind == "attribute":
                typed(cell.value, cell.data_type)
            good.append(cell)
        except ValueError:
            call = _update_call(cell)
            call.cells.append(cell)
            error = f"{cell.attribute}: {cell.value!r} cannot be sent as {cell.data_type}"
            bad.append(Outcome(call, "rejected", None, error, None))
    return good, bad


def denied(exc: IntercomAPIError, what: str) -> dg.Failure:
    """A call the access token may not make: the run fails naming the permission."""
    return dg.Failure(
        description=(
            f"Intercom refused {exc.method} {exc.path} ({exc.status}): the access token lacks "
            f"the permission to {what}. Grant the Intercom app that permission (Developer Hub > "
            f"Authentication) or remove the entries that need it from to_intercom. "
            f"Intercom said: {exc.body}"
        )
    )


def ensure_attributes(client: IntercomClient, wanted: dict[tuple[str, str], str]) -> list[str]:
    """Create the custom attributes ``{(model, name): data_type}`` the workspace lacks; returns
    the ``model.name`` of those created."""
    created: list[str] = []
    for model in sorted({m for m, _ in wanted}):
        listed = client.request("GET", "/data_attributes", params={"model": model})
        # Intercom's attribute names ignore case
        have = {str(a.get("name", "")).lower() for a in listed.get("data") or []}
        for (m, name), data_type in sorted(wanted.items()):
            if m != model or name.lower() in have:
                continue
            body = {
                "name": name,
                "model": model,
                "data_type": data_type,
                "description": "Written from Salesforce by the sync",
            }
            try:
                client.request("POST", "/data_attributes", json=body)
            except IntercomAPIError as exc:
                if exc.status in DENIED:
                    raise denied(exc, "create data attributes (write data attributes)") from exc
                raise dg.Failure(
                    description=f"Intercom would not create the {model} attribute {name!r}: "
                    f"{exc.body}"
                ) from exc
            created.append(f"{model}.{name}")
    return created


def tag_ids(client: IntercomClient, names: set[str]) -> dict[str, str]:
    """Each tag's id (``GET /tags``), the tag created when missing (``POST /tags``)."""
    if not names:
        return {}
    listed = client.request("GET", "/tags").get("data") or []
    out = {t["name"]: str(t["id"]) for t in listed if t.get("name") in names}
    for name in sorted(names - set(out)):
        try:
            out[name] = str(client.request("POST", "/tags", json={"name": name})["id"])
        except IntercomAPIError as exc:
            if exc.status in DENIED:
                raise denied(exc, "create tags (write tags)") from exc
            raise
    return out


def plan_calls(cells: list[Cell], tags: dict[str, str]) -> list[Call]:
    """The calls that write ``cells``: one update per record, one per contact tag change, one per
    company tag, direction and batch of companies."""
    updates: dict[tuple[str, str], Call] = {}
    company_tags: dict[tuple[str, str], list[Cell]] = {}
    calls: list[Call] = []
    for cell in cells:
        if cell.kind == "attribute":
            key = (cell.model, cell.intercom_id)
            call = updates.setdefault(key, _update_call(cell))
            attributes = (call.payload or {})["custom_attributes"]
            attributes[cell.attribute] = typed(cell.value, cell.data_type)
            call.cells.append(cell)
        elif cell.model == "company":
            company_tags.setdefault((cell.tag or "", cell.action), []).append(cell)
        else:
            calls.append(_contact_tag_call(cell, tags[cell.tag or ""]))
    for (tag, action), tagged in sorted(company_tags.items()):
        for i in range(0, len(tagged), COMPANIES_PER_TAG_CALL):
            chunk = tagged[i : i + COMPANIES_PER_TAG_CALL]
            untag = {"untag": True} if action == "detach" else {}
            companies = [{"id": c.intercom_id, **untag} for c in chunk]
            op = "untag" if action == "detach" else "tag"
            calls.append(
                Call("company", op, "POST", "/tags", {"name": tag, "companies": companies}, chunk)
            )
    return list(updates.values()) + calls


def _update_call(cell: Cell) -> Call:
    if cell.model == "contact":
        return Call(
            "contact", "update", "PUT", f"/contacts/{cell.write_id}", {"custom_attributes": {}}
        )
    return Call(
        "company",
        "update",
        "POST",
        "/companies",
        {"company_id": cell.write_id, "custom_attributes": {}},
    )


def _contact_tag_call(cell: Cell, tag_id: str) -> Call:
    if cell.action == "attach":
        path = f"/contacts/{cell.write_id}/tags"
        return Call("contact", "tag", "POST", path, {"id": tag_id}, [cell])
    path = f"/contacts/{cell.write_id}/tags/{tag_id}"
    return Call("contact", "untag", "DELETE", path, None, [cell])


def _send(client: IntercomClient, call: Call) -> dict[str, Any]:
    return client.request(call.method, call.path, json=call.payload)


def run_calls(client: IntercomClient, calls: list[Call]) -> Iterator[Outcome]:
    """Every call, concurrently within the rate limit; one outcome each, as they finish."""
    for call, result in client.map_concurrent(lambda c: _send(client, c), calls):
        if not isinstance(result, BaseException):
            updated = result.get("updated_at") if call.operation == "update" else None
            yield Outcome(call, "written", 200, None, int(updated) if updated else None)
        elif isinstance(result, IntercomAPIError):
            status = result.status
            final = status is not None and 400 <= status < 500 and status != 429
            if final and status in DENIED:
                raise denied(result, PERMISSIONS[call.model, call.operation]) from result
            kind = "rejected" if final else "failed"
            yield Outcome(call, kind, status, str(result.body)[:1000], None)
        else:
            raise result
