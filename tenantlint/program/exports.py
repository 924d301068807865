"""Which queries export rows, which routes are exports, and which sensitive columns leave.

A read becomes an export (its refs get use ``export``, so ``bulk-export`` reports it rather
than ``missing-tenant-filter``) when its rows reach a file sink (a CSV writer, ``to_csv``, a
streaming or file response: :mod:`tenantlint.web.flows`) in any function, or, in a
handler whose name or URL says export, reach its response or are a whole-table shape
(``.all()``, ``.values()``, ``.values_list()``, ``.iterator()``). Counts, existence checks,
aggregates and primary-key fetches carry no rows out and stay reads.

A route is export-shaped by its name or URL (:mod:`tenantlint.program.routes`), or here: when its
handler writes tenant rows to a file sink, or returns unscoped tenant rows in bulk
(``JsonResponse({"rows": list(qs)})``).
"""

from __future__ import annotations

import re

from tenantlint.config import Config

_ONE_ROW = re.compile(r"\.a?(?:count|exists|aggregate|get|first|last|earliest|latest|contains|in_bulk|scalar|one|"
                      r"one_or_none|first_or_404|get_or_404|get_or_create|update_or_create)\(")
_SQL_AGGREGATE = re.compile(r"^\s*select\s+(?:count|sum|avg|min|max|exists)\s*\([^,]*?\bfrom\b", re.I | re.S)
_WHOLE_TABLE = re.compile(r"\.(?:all|iterator|values|values_list)\(")
_SELECTED = re.compile(r"\.(values_list|values|only)\(([^()]*)\)")
_DEFERRED = re.compile(r"\.defer\(([^()]*)\)")
_STRING = re.compile(r"""["'](\w+)""")
_SQL_STAR = re.compile(r"\bselect\s+(?:distinct\s+)?(?:\w+\.)?\*", re.I)
_SQL_ORIGINS = ("sql", "raw-sql")


def mark_exports(project, routes: list[dict], queries: list[dict], config: Config) -> None:
    routes_of: dict[int, list[dict]] = {}
    for route in routes:
        for index in route["queries"]:
            routes_of.setdefault(index, []).append(route)
    for q in queries:
        _narrow_sensitive(q)
        if not _bulk_rows(q):
            continue
        reason = _sink_reason(q, project) or _route_reason(q, routes_of.get(q["index"], []))
        if reason:
            q["export"] = True
            q["export_reason"] = reason
            q["refs"] = [{**r, "use": "export"} if r.get("use") == "read" else r for r in q["refs"]]
    by_index = {q["index"]: q for q in queries}
    for route in routes:
        _shape(route, [by_index[i] for i in route["queries"] if i in by_index])


def _bulk_rows(q: dict) -> bool:
    """A read that can return many rows (not a count, an existence check or one row)."""
    if q.get("lookup") or q.get("kind") not in ("select", None):
        return False
    if not any(r.get("use") in ("read", "export") for r in q.get("refs", [])):
        return False
    code = q.get("code") or ""
    if q.get("origin") in _SQL_ORIGINS:
        return not _SQL_AGGREGATE.search(code)
    return not _ONE_ROW.search(code)


def _in_response(q: dict, handler: dict, route: dict) -> bool:
    """The query's rows reach the response: through a response constructor, or returned as
    they are by a routed handler (FastAPI serialises them; an unrouted Django "view" that
    returns a queryset is a helper, not a response)."""
    if _inside(q, handler, "response_spans"):
        return True
    return route.get("routed", True) is not False and _inside(q, handler, "return_spans")


def _inside(q: dict, handler: dict, key: str) -> bool:
    """Does the query start inside one of the handler's ranges (and in none of its holes)?"""
    at = (q.get("line") or 0, q.get("column") or 1)

    def within(span) -> bool:
        return (span[0], span[1]) <= at < (span[2], span[3])

    return any(within(s) for s in handler.get(key) or ()) and not any(within(h) for h in handler.get("holes") or ())


def _enclosing(project, function: str | None):
    """Handler facts of the query's function and of the functions around it (a generator
    nested in a view)."""
    name = function or ""
    while name:
        found = project.handlers.get(name)
        if found is not None:
            yield found
        name = name.rpartition(".")[0]


def _sink_reason(q: dict, project) -> str | None:
    for h in _enclosing(project, q.get("function")):
        if _inside(q, h, "sink_spans"):
            return "rows written by " + ", ".join(h.get("sinks") or ["an export"])
    return None


def _within(function: str, name: str) -> bool:
    return function == name or function.startswith(name + ".")


def _own_handlers(route: dict, q: dict) -> list[dict]:
    """The route's handlers that run the query itself (not a sibling @action)."""
    function = q.get("function") or ""
    if any(_within(function, name) for name in route.get("_excluded", [])):
        return []
    return [h for h in route.get("_handlers", []) if h is not None and _within(function, h["name"])]


def _route_reason(q: dict, routes: list[dict]) -> str | None:
    for route in routes:
        if not route.get("export_shaped"):
            continue
        for h in _own_handlers(route, q):
            if _in_response(q, h, route):
                return f"returned by export handler {route['handler']}"
            if _WHOLE_TABLE.search(q.get("code") or ""):
                return f"whole table read in export handler {route['handler']}"
    return None


def _shape(route: dict, queries: list[dict]) -> None:
    tenant = [q for q in queries if any(r.get("tenant_owned") for r in q.get("refs", []))]
    for q in tenant:
        own = _own_handlers(route, q)
        if not own:
            continue
        if (q.get("export_reason") or "").startswith("rows written"):
            route["export_shaped"] = route["writes_file"] = True
        elif _bulk_rows(q) and any(r.get("tenant_owned") and r.get("scope") == "none" for r in q["refs"]) and any(
                _in_response(q, h, route) for h in own):
            route["export_shaped"] = True
    columns = sorted({c for q in tenant for r in q["refs"] if r.get("use") == "export"
                      for c in r.get("sensitive_columns", [])})
    if route["export_shaped"] and columns:
        route["sensitive_columns"] = columns


def _narrow_sensitive(q: dict) -> None:
    """``values_list("email", "ssn")`` takes ssn, not every sensitive column of the table."""
    selected = _selected_columns(q)
    if selected is None:
        return
    q["refs"] = [{**r, "sensitive_columns": [c for c in r.get("sensitive_columns", []) if c.lower() in selected]}
                 if r.get("sensitive_columns") else r for r in q.get("refs", [])]


def _selected_columns(q: dict) -> set[str] | None:
    code = q.get("code") or ""
    if q.get("origin") in _SQL_ORIGINS:
        if _SQL_STAR.search(code) or not re.search(r"\bselect\b", code, re.I):
            return None
        return {w.lower() for w in re.findall(r"\w+", code)}
    if q.get("origin") != "django":
        return None
    deferred = {m.lower() for d in _DEFERRED.findall(code) for m in _STRING.findall(d)}
    calls = _SELECTED.findall(code)
    if not calls:
        return None if not deferred else _AllBut(deferred)
    names = {m.split("__")[0].lower() for m in _STRING.findall(calls[-1][1])}
    return (names - deferred) if names else (None if not deferred else _AllBut(deferred))


class _AllBut(set):
    """Every column except the deferred ones."""

    def __init__(self, excluded):
        super().__init__()
        self.excluded = set(excluded)

    def __contains__(self, item) -> bool:
        return item not in self.excluded
