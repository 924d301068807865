"""Which of the project's handlers served a logged statement.

A sqlcommenter comment names the route that issued a statement (``route='/deals/<int:id>'``
from Flask, ``route='deals/<int:pk>/'`` from Django, ``route='/deals/{deal_id}'`` from
FastAPI) and often the view (``controller='read_deal'``). Matched against the routes a scan
of the project finds, a runtime finding points at the handler whose request ran it: the
line an incident responder reads next, and the one a fix goes into.

>>> index = route_handlers([{"path": "/deals/{deal_id}", "methods": ["GET"], "handler": "crm.routes.read_deal",
...                          "file": "crm/routes.py", "line": 14}])
>>> index.find(["deals/<int:deal_id>/"], [])
[{'path': 'crm/routes.py', 'line': 14, 'message': 'handler of GET /deals/{deal_id} (sqlcommenter route)'}]
"""

from __future__ import annotations

import re

# Path parameters in any framework's notation: <int:pk>, {deal_id}, (?P<pk>[0-9]+), :id
_PARAMETER = re.compile(r"<[^>]*>|\{[^}]*\}|\(\?P<\w+>[^)]*\)|(?<=/):\w+")


def route_handlers(routes: list[dict]) -> "RouteIndex":
    """An index of the project's routes (``input.routes`` of a linked document) by URL
    template and by handler name."""
    return RouteIndex(routes)


class RouteIndex:
    def __init__(self, routes: list[dict]):
        self._by_template: dict[str, list[dict]] = {}
        self._by_name: dict[str, list[dict]] = {}
        for route in routes:
            if not route.get("file") or not route.get("handler"):
                continue
            if route.get("path"):
                self._by_template.setdefault(_template(route["path"]), []).append(route)
            self._by_name.setdefault(route["handler"].rpartition(".")[2], []).append(route)

    def find(self, routes: list[str], controllers: list[str]) -> list[dict]:
        """Related locations (``path``, ``line``, ``message``) of the handlers behind the
        sqlcommenter ``routes`` and, where no route matches, ``controllers`` (a view or
        endpoint name: ``deals.read_deal``, ``crm.views.contact``)."""
        found: dict[tuple[str, int], dict] = {}
        for text in routes:
            for route in self._by_template.get(_template(text), ()):
                found.setdefault((route["file"], route["line"]), _related(route, "route"))
        if not found:
            for text in controllers:
                for route in self._by_name.get(re.split(r"[.:]", text)[-1], ()):
                    found.setdefault((route["file"], route["line"]), _related(route, "controller"))
        return list(found.values())


def _template(path: str) -> str:
    """A URL pattern with its parameters blanked and its anchors and edge slashes gone:
    the same for every framework's way of writing one route.

    >>> _template("^deals/(?P<pk>[0-9]+)/$") == _template("/deals/{deal_id}") == _template("deals/<int:pk>/")
    True
    """
    path = path.strip().lstrip("^").rstrip("$")
    return _PARAMETER.sub("{}", path).strip("/")


def _related(route: dict, field: str) -> dict:
    methods = " ".join(route.get("methods") or ())
    where = f"{methods} {route['path']}".strip() if route.get("path") else route["handler"]
    return {"path": route["file"], "line": route["line"], "message": f"handler of {where} (sqlcommenter {field})"}
