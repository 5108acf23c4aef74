"""The shape of a seed world handed to ``IntercomStore.load_world``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]


@dataclass
class IntercomWorldData:
    """Iterables of API-shaped dicts, each consumed once (so generators can stream a million rows).

    Simplifications the store expands: a contact's ``companies``/``tags``/``notes`` and a company's
    ``tags``/``segments`` are lists of ids; a conversation's ``contacts``/``teammates``/``tags`` are
    lists of ids and its ``conversation_parts`` is the full list of part dicts, oldest first.
    """

    app: Record = field(default_factory=dict)
    admins: Iterable[Record] = field(default_factory=list)
    teams: Iterable[Record] = field(default_factory=list)
    tags: Iterable[Record] = field(default_factory=list)
    segments: Iterable[Record] = field(default_factory=list)
    data_attributes: Iterable[Record] = field(default_factory=list)
    companies: Iterable[Record] = field(default_factory=list)
    contacts: Iterable[Record] = field(default_factory=list)
    conversations: Iterable[Record] = field(default_factory=list)
    events: Iterable[Record] = field(default_factory=list)
