"""Custom attributes a contact or company write sends, checked against the workspace's catalogue.

Intercom accepts in ``custom_attributes`` only attributes the workspace has described
(``GET /data_attributes?model=contact|company``, custom ones); anything else is refused before
the record changes. The refusal is ``400 parameter_invalid`` with the message
``Custom attribute '<name>' does not exist``: Intercom's wording for a missing attribute is
"<Kind> attribute '<name>' does not exist" (the 2.14 description's Fin examples, "User attribute
'invalid_attr' does not exist" and "Conversation attribute 'bad_attr' does not exist";
intercom-node issue #349 for a conversation update). The contact/company form of it is not
recorded in the references, so "Custom attribute" is this emulator's choice.

A value must suit the attribute's ``data_type``; the reference records no message for a wrong
type, so ``Custom attribute '<name>' must be of type <data_type>`` is in the same style
(unverified). ``null`` is always accepted and clears the attribute. List attributes (``string``
with ``options``) take any string: Intercom briefly refused values outside the options and
reverted that (Intercom-OpenAPI #457, reverted by #466 in April 2026).
"""

from __future__ import annotations

from typing import Any

from intercom_salesforce.sandbox.intercom.errors import ApiError


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: What each ``data_type`` accepts. Dates are Unix seconds, as Intercom stores and returns them.
_ACCEPTS = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_int,
    "float": lambda v: _is_int(v) or isinstance(v, float),
    "boolean": lambda v: isinstance(v, bool),
    "date": _is_int,
    "datetime": _is_int,
}


def check_custom_attributes(value: Any, types: dict[str, str]) -> dict[str, Any] | None:
    """``value`` (a write's ``custom_attributes``) if every name is described in ``types``
    (``name → data_type``) with a value of that type; raises Intercom's 400 otherwise."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(
            400, "parameter_invalid", "custom_attributes must be an object", "custom_attributes"
        )
    for name, item in value.items():
        data_type = types.get(name)
        if data_type is None:
            raise ApiError(400, "parameter_invalid", f"Custom attribute '{name}' does not exist")
        accepts = _ACCEPTS.get(data_type)
        if item is not None and accepts is not None and not accepts(item):
            raise ApiError(
                400,
                "parameter_invalid",
                f"Custom attribute '{name}' must be of type {data_type}",
            )
    return value
