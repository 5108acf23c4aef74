"""The mapping file's schema: what a deployment may say about how Intercom fills Salesforce.

Every model forbids unknown keys, so a misspelt option is an error at load instead of a setting
that is silently ignored. Checks that need more than one model (paths against the staging
columns, expressions, routing targets) live in ``checks.py``; checks against the org live in
``validate.py``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NamedTuple, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    model_validator,
)

SF_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
SimpleTransform = Literal[
    "trim",
    "lower",
    "upper",
    "title",
    "truncate",
    "null_if_blank",
    "split_name_first",
    "split_name_last",
    "email_local",
    "email_domain",
]
SIMPLE_TRANSFORMS: tuple[str, ...] = get_args(SimpleTransform)
SourceOfTruth = Literal["intercom", "salesforce", "newest", "fill_blank"]
Scalar = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MapTransform(_Strict):
    """A value map, typically onto a picklist. Without ``default`` an unmapped value goes to
    review; with ``default: null`` it is left empty without review."""

    map: dict[str, str | None]
    default: str | None = None
    ignore_case: bool = False

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set


class TruncateTransform(_Strict):
    """Cut to ``truncate`` characters; ``truncate: null`` or the bare word uses describe's length."""

    truncate: int | None = Field(default=None, gt=0)


class DateTransform(_Strict):
    """Format as a date; ``iso`` is Salesforce's ``YYYY-MM-DD``, anything else a strftime format."""

    date: str = "iso"


class DatetimeTransform(_Strict):
    """Format as a date and time in UTC; ``iso`` is the form Salesforce accepts for datetime."""

    datetime: str = "iso"


_DICT_TRANSFORMS = {
    "map": "map-transform",
    "truncate": "truncate-transform",
    "date": "date-transform",
    "datetime": "datetime-transform",
}


def _transform_kind(value: Any) -> str | None:
    """Which transform a list item is; ``None`` makes pydantic report an unknown transform."""
    if isinstance(value, str):
        return "simple-transform" if value in SIMPLE_TRANSFORMS else None
    if isinstance(value, dict):
        kinds = [_DICT_TRANSFORMS[k] for k in value if k in _DICT_TRANSFORMS]
        return kinds[0] if len(kinds) == 1 else None
    if isinstance(value, BaseModel):
        return {
            MapTransform: "map-transform",
            TruncateTransform: "truncate-transform",
            DateTransform: "date-transform",
            DatetimeTransform: "datetime-transform",
        }.get(type(value))
    return None


Transform = Annotated[
    Annotated[SimpleTransform, Tag("simple-transform")]
    | Annotated[MapTransform, Tag("map-transform")]
    | Annotated[TruncateTransform, Tag("truncate-transform")]
    | Annotated[DateTransform, Tag("date-transform")]
    | Annotated[DatetimeTransform, Tag("datetime-transform")],
    Discriminator(
        _transform_kind,
        custom_error_type="unknown_transform",
        custom_error_message="unknown transform",
    ),
]


class FieldMapping(_Strict):
    """One Salesforce field: where its value comes from, how it is shaped, and who wins."""

    from_: str | None = Field(default=None, alias="from")
    expr: str | None = None
    value: Scalar | None = None
    transforms: list[Transform] = []
    source_of_truth: SourceOfTruth = "intercom"
    clear_when_null: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> FieldMapping:
        given = [k for k in ("from_", "expr", "value") if k in self.model_fields_set]
        if len(given) != 1:
            got = " and ".join(repr(k.rstrip("_")) for k in given) or "none"
            raise ValueError(f"exactly one of 'from', 'expr' or 'value' is required (got {got})")
        return self

    @property
    def kind(self) -> Literal["from", "expr", "value"]:
        if "from_" in self.model_fields_set:
            return "from"
        return "expr" if "expr" in self.model_fields_set else "value"

    @property
    def value_map(self) -> MapTransform | None:
        """The last value map: it decides the field's final values and what goes to review."""
        maps = [t for t in self.transforms if isinstance(t, MapTransform)]
        return maps[-1] if maps else None


CreatePolicy = bool | Literal["with_account", "users_with_account"]


class ObjectMapping(_Strict):
    """One Salesforce object filled from one staging table, upserted by ``external_id``.

    ``create`` says whether unmatched Intercom records become new records of this object:
    Leads by default yes, Accounts and Contacts no. For Contact, ``with_account`` creates an
    unmatched person as a Contact under their company's Account (matched or created) instead of
    a Lead, and ``users_with_account`` does so for Intercom users only (leads stay Leads).
    """

    source: Literal["contacts", "companies"]
    external_id: Annotated[str, Field(pattern=SF_NAME)]
    create: CreatePolicy | None = None
    fields: dict[Annotated[str, Field(pattern=SF_NAME)], FieldMapping]

    def creates(self, name: str) -> CreatePolicy:
        """The effective policy: the file's, else True for Lead and False otherwise."""
        if self.create is None:
            return name == "Lead"
        if self.create is True and name == "Contact":
            return "with_account"
        return self.create


class ScopeAttributes(_Strict):
    """Where the scope dimensions live on a contact or company (dotted staging paths)."""

    brand: str = "custom_attributes.brand"
    region: str = "custom_attributes.region"
    business_unit: str = "custom_attributes.business_unit"


class ScopeWhen(_Strict):
    """Conditions of a rule: all given keys must match; a list matches any of its values."""

    brand: str | list[str] | None = None
    region: str | list[str] | None = None
    business_unit: str | list[str] | None = None
    team: str | list[str] | None = None
    inbox: str | list[str] | None = None
    tag: str | list[str] | None = None

    def conditions(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key in ("brand", "region", "business_unit", "team", "inbox", "tag"):
            value = getattr(self, key)
            if value is not None:
                out[key] = [value] if isinstance(value, str) else list(value)
        return out

    @model_validator(mode="after")
    def _not_empty(self) -> ScopeWhen:
        if not self.conditions():
            raise ValueError(
                "'when' needs at least one of brand, region, business_unit, team, inbox, tag"
            )
        return self


class ScopeRule(_Strict):
    """Sets routing fields (record type, owner or queue, lead source) for matching records.

    ``set`` values are names, not Ids: ``RecordTypeId`` takes a record type's DeveloperName,
    ``OwnerId`` a user's email or a queue's DeveloperName. ``objects`` limits the rule to some
    mapped objects (all of them by default).
    """

    name: str | None = None
    objects: list[str] | None = None
    when: ScopeWhen | None = None
    default: bool = False
    set: dict[Annotated[str, Field(pattern=SF_NAME)], str]

    @model_validator(mode="after")
    def _when_or_default(self) -> ScopeRule:
        if (self.when is None) == (not self.default):
            raise ValueError("a rule needs exactly one of 'when' or 'default: true'")
        return self


ConversationTarget = Literal["Task", "Intercom_Conversation__c", "Note"]
ASSIGNEE = "assignee"  # OwnerId value: the conversation's assignee, as an active Salesforce user


class ConversationRule(_Strict):
    """Routes a conversation's record: owner (a user's email, a queue's DeveloperName, or
    ``assignee``) and record type. The first rule whose ``when`` matches wins; what it does not
    set comes from the default rule."""

    name: str | None = None
    when: ScopeWhen | None = None
    default: bool = False
    set: dict[Literal["OwnerId", "RecordTypeId"], str]

    @model_validator(mode="after")
    def _when_or_default(self) -> ConversationRule:
        if (self.when is None) == (not self.default):
            raise ValueError("a rule needs exactly one of 'when' or 'default: true'")
        if not self.set:
            raise ValueError("a rule must set OwnerId or RecordTypeId")
        return self

    def label(self, index: int) -> str:
        return self.name or f"conversations.routing[{index}]"


class Conversations(_Strict):
    """Where conversations land (a Task, the custom object, or a Note) and who owns them."""

    target: ConversationTarget = "Task"
    routing: list[ConversationRule] = []


LifecycleTarget = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*\.[A-Za-z][A-Za-z0-9_]*$")]


class RoleChange(_Strict):
    lead_to_user: dict[LifecycleTarget, str] | None = None


class Lifecycle(_Strict):
    """Field values set when a contact's role changes or a configured data event happened."""

    role_change: RoleChange = RoleChange()
    events: dict[str, dict[LifecycleTarget, str]] = {}


INTERCOM_ATTRIBUTE = r"^[A-Za-z][A-Za-z0-9_-]*$"
AttributeType = Literal["string", "integer", "float", "boolean"]


class AttributeMapping(FieldMapping):
    """One Intercom custom attribute filled from the Salesforce side of the matched record.

    Paths read ``side.Field`` (``owner.Name``, ``opportunity.StageName``, see ``writeback.SIDES``);
    ``type`` is the attribute's Intercom data type, used when it is created and for the value
    sent. Salesforce owns these values unless ``source_of_truth`` says otherwise.
    """

    type: AttributeType = "string"
    source_of_truth: SourceOfTruth = "salesforce"


class TagMilestone(_Strict):
    """A Salesforce milestone as an Intercom tag: attached while every ``when`` condition holds
    (``side.Field: value`` or a list of values), detached once it no longer does if
    ``remove_when_false``; with ``companies`` the company is tagged too."""

    tag: Annotated[str, Field(min_length=1, max_length=200)]
    when: dict[str, Scalar | list[Scalar]]
    remove_when_false: bool = False
    companies: bool = False

    @model_validator(mode="after")
    def _has_conditions(self) -> TagMilestone:
        if not self.when:
            raise ValueError("'when' needs at least one condition")
        return self


class ToIntercom(_Strict):
    """What goes back from Salesforce to Intercom: contact and company custom attributes, and
    milestone tags."""

    contacts: dict[Annotated[str, Field(pattern=INTERCOM_ATTRIBUTE)], AttributeMapping] = {}
    companies: dict[Annotated[str, Field(pattern=INTERCOM_ATTRIBUTE)], AttributeMapping] = {}
    tags: dict[Annotated[str, Field(pattern=INTERCOM_ATTRIBUTE)], TagMilestone] = {}


class Mapping(_Strict):
    """A deployment's whole mapping file."""

    version: Literal[1]
    scope_attributes: ScopeAttributes = ScopeAttributes()
    objects: dict[Annotated[str, Field(pattern=SF_NAME)], ObjectMapping]
    routing: list[ScopeRule] = []
    lifecycle: Lifecycle = Lifecycle()
    conversations: Conversations = Conversations()
    to_intercom: ToIntercom = ToIntercom()

    _file: str = PrivateAttr(default="<mapping>")
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    def locate(self, path: tuple[str | int, ...]) -> str:
        """``file:line`` of the nearest node on ``path`` (the file alone when unknown)."""
        for n in range(len(path), -1, -1):
            line = self._lines.get(tuple(path[:n]))
            if line is not None:
                return f"{self._file}:{line}"
        return self._file

    def where(self, path: tuple[str | int, ...]) -> str:
        """``file:line: field.path``, the prefix of every problem about ``path``."""
        return f"{self.locate(path)}: {format_path(path)}"

    def problem(self, path: tuple[str | int, ...], message: str) -> str:
        return f"{self.where(path)}: {message}"

    def rules_for(self, object_name: str) -> list[tuple[int, ScopeRule]]:
        """(index, rule) of the routing rules that apply to ``object_name``, in file order."""
        return [
            (i, r)
            for i, r in enumerate(self.routing)
            if r.objects is None or object_name in r.objects
        ]

    def lifecycle_for(self, object_name: str) -> list[LifecycleSetting]:
        """The lifecycle settings for ``object_name``: events first, in file order, then the role
        change; for each field the first trigger that holds wins."""
        out: list[LifecycleSetting] = []
        for event, targets in self.lifecycle.events.items():
            for target, value in targets.items():
                obj, field = target.split(".", 1)
                if obj == object_name:
                    path = ("lifecycle", "events", event, target)
                    out.append(LifecycleSetting(path, event, field, value))
        for target, value in (self.lifecycle.role_change.lead_to_user or {}).items():
            obj, field = target.split(".", 1)
            if obj == object_name:
                path = ("lifecycle", "role_change", "lead_to_user", target)
                out.append(LifecycleSetting(path, None, field, value))
        return out


class LifecycleSetting(NamedTuple):
    """One lifecycle value: ``event`` is the data event's name, or None for lead -> user."""

    path: tuple[str | int, ...]
    event: str | None
    field: str
    value: str


def format_path(path: tuple[str | int, ...]) -> str:
    """``objects.Lead.fields.Email.transforms[1]`` from its parts."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<top>"
