"""Route tables: each resource module lists its URLs, the methods they take and their handler.

Paths of authenticated resources are relative to ``/services/data/vXX.X`` (the version reaches the
handler in :class:`~.errors.Call`); public ones (OAuth, the ``/_sandbox/`` pages) are absolute. A
method a rule does not list answers 404 ``NOT_FOUND``, as Salesforce does for a resource it does
not have; resources that answer 405 take every method and refuse the others themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Response

API_PREFIX = "/services/data/v<version:version>"

Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    """One URL rule; ``methods=None`` takes every method."""

    path: str
    handler: Handler
    methods: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Endpoint:
    handler: Handler
    authenticated: bool


class VersionConverter(BaseConverter):
    """``59.0`` in ``/services/data/v59.0/...``."""

    regex = r"\d+\.\d+"


def build_map(public: Iterable[Route], api: Iterable[Route]) -> tuple[Map, dict[str, Endpoint]]:
    """One werkzeug ``Map`` over both tables and the endpoint each rule names."""
    rules: list[Rule] = []
    endpoints: dict[str, Endpoint] = {}
    for authenticated, routes in ((False, public), (True, api)):
        for route in routes:
            path = API_PREFIX + route.path if authenticated else route.path
            name = f"{len(rules)}:{route.handler.__module__}.{route.handler.__name__}"
            methods = list(route.methods) if route.methods else None
            rules.append(Rule(path, methods=methods, endpoint=name))
            endpoints[name] = Endpoint(route.handler, authenticated)
    url_map = Map(
        rules,
        strict_slashes=False,
        merge_slashes=False,
        converters={"version": VersionConverter},
    )
    return url_map, endpoints
