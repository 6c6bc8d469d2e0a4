"""The HTTP API's routes: the one table of resources, methods and the function each goes to.

Read by the backend's router (`app.Backend._route`, `http.parse_event`), by the embedded gateway
(`snail_action.embedded.gateway`, which answers 403 Missing Authentication Token for anything not in
it, as API Gateway does) and by the tests, which also check that `cloudformation/template.yaml`
declares exactly these routes with these functions behind them.

To add a route: add one `Route` row below (resource path in API Gateway's syntax, HTTP method, the
template's logical id of the Lambda function), then the template's Resource/Method, and the router's
branch in `app.Backend._route`. Nothing else lists routes.

The matching stays hand-written (`match`): it is API Gateway's own rule (a literal segment beats
`{param}`, which beats a greedy `{proxy+}`), which no general-purpose router reproduces exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    resource: str  # API Gateway resource path, e.g. /images/{proxy+}
    method: str
    function: str  # logical id of the Lambda function in cloudformation/template.yaml
    open: bool = False  # neither API key nor signature, in every AuthMode (the template says so too)


ROUTE_ITEM, ROUTE_LIST, ROUTE_UPLOADS = "/images/{proxy+}", "/images", "/uploads"
ROUTE_SYNC = "/sync/{repository}/{ref}"  # the sync marker; both parameters percent-encoded (`/` as %2F)
ROUTE_FILES = "/files/{proxy+}"  # the by-path delivery redirect (delivery.py), open: no key, no signature

ROUTES: tuple[Route, ...] = (
    Route(ROUTE_ITEM, "PUT", "InsertFunction"),
    Route(ROUTE_ITEM, "GET", "InsertFunction"),
    Route(ROUTE_ITEM, "DELETE", "DeleteFunction"),
    Route(ROUTE_LIST, "GET", "InsertFunction"),
    Route(ROUTE_UPLOADS, "POST", "InsertFunction"),
    Route(ROUTE_SYNC, "GET", "InsertFunction"),
    Route(ROUTE_SYNC, "PUT", "InsertFunction"),
    Route(ROUTE_FILES, "GET", "InsertFunction", open=True),
)


def methods_by_resource(routes: tuple[Route, ...] = ROUTES) -> dict[str, frozenset[str]]:
    """Resource path -> its methods."""
    out: dict[str, set[str]] = {}
    for route in routes:
        out.setdefault(route.resource, set()).add(route.method)
    return {resource: frozenset(methods) for resource, methods in out.items()}


RESOURCES: dict[str, frozenset[str]] = methods_by_resource()
OPEN_RESOURCES: frozenset[str] = frozenset(r.resource for r in ROUTES if r.open)


def _match(template: str, segments: list[str]) -> dict[str, str] | None:
    """Raw path parameters when the segments fit the resource path, else None."""
    parts = [p for p in template.split("/") if p]
    params: dict[str, str] = {}
    for i, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):  # greedy: the rest, at least one segment
            rest = segments[i:]
            if not rest or "" in rest:
                return None
            params[part[1:-2]] = "/".join(rest)
            return params
        if i >= len(segments) or not segments[i]:
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = segments[i]
        elif part != segments[i]:
            return None
    return params if len(segments) == len(parts) else None


def match(path: str, resources: Mapping[str, frozenset[str]] = RESOURCES) -> tuple[str, dict[str, str]] | None:
    """(resource, raw path parameters) of the resource a path falls on, whatever the method; else None.

    A literal segment wins over a parameter, and a parameter over a greedy one, as in API Gateway.
    """
    if not path.startswith("/"):
        return None
    segments = path.split("/")[1:]
    if segments == [""]:
        segments = []

    def specificity(resource: str) -> tuple[int, int]:
        parts = [p for p in resource.split("/") if p]
        return (sum(not p.startswith("{") for p in parts), -sum(p.endswith("+}") for p in parts))

    for resource in sorted(resources, key=specificity, reverse=True):
        params = _match(resource, segments)
        if params is not None:
            return resource, params
    return None
