"""Which queries export rows, which routes are exports, and which sensitive columns leave.

``bulk-export`` means bulk. A query is an export (its refs get use ``export``, so
``bulk-export`` reports it rather than ``missing-tenant-filter``; ``export_reason`` says why)
when it is ``COPY ... TO`` or ``SELECT ... INTO OUTFILE``, or when it can return many rows and

- its rows reach a file sink (a CSV writer, ``to_csv``, a streaming or file response:
  :mod:`tenantlint.extract.web.flows`) in any function: "rows reach csv.writer at line 12"; or
- an export-shaped route's handler returns them (``JsonResponse({"rows": list(qs)})``, a
  list view's class-level ``queryset``): "returned by crm.views.dump; route path contains
  dump".

Counts, existence checks, aggregates and primary-key fetches carry no rows out: a fetch of
one row by key stays a lookup (``unscoped-lookup``) wherever it is. Rows handed back to
``bulk_update`` make the read a write (an UPDATE: ``unscoped-write``), whatever the function
is called.

A route is export-shaped by its name or URL (:mod:`tenantlint.program.routes`), or here: when
its handler writes tenant rows to a file sink, or returns unscoped tenant rows in bulk.
"""

from __future__ import annotations

import re

from tenantlint.config import Config
from tenantlint.program.routes import export_shaped

_ONE_ROW = re.compile(r"\.a?(?:count|exists|aggregate|get|first|last|earliest|latest|contains|in_bulk|scalar|one|"
                      r"one_or_none|first_or_404|get_or_404|get_or_create|update_or_create)\(")
_SQL_AGGREGATE = re.compile(r"^\s*select\s+(?:count|sum|avg|min|max|exists)\s*\([^,]*?\bfrom\b", re.I | re.S)
_SELECTED = re.compile(r"\.(values_list|values|only)\(([^()]*)\)")
_DEFERRED = re.compile(r"\.defer\(([^()]*)\)")
_STRING = re.compile(r"""["'](\w+)""")
_SQL_STAR = re.compile(r"\bselect\s+(?:distinct\s+)?(?:\w+\.)?\*", re.I)
_SQL_ORIGINS = ("sql", "raw-sql")
# Generic views whose class-level queryset is what they answer (viewsets: their inherited list).
_LIST_BASES = ("ListAPIView", "ListCreateAPIView", "ListView")


def mark_exports(project, routes: list[dict], queries: list[dict], config: Config) -> None:
    routes_of: dict[int, list[dict]] = {}
    for route in routes:
        for index in route["queries"]:
            routes_of.setdefault(index, []).append(route)
    for q in queries:
        _narrow_sensitive(q)
        if _written_back(q, project):
            continue
        reason = _sql_reason(q) or (_bulk_rows(q) and (
            _sink_reason(q, project) or _route_reason(q, routes_of.get(q["index"], []))))
        if reason:
            q["export"] = True
            q["export_reason"] = reason
            q["refs"] = [{**r, "use": "export"} if r.get("use") == "read" else r for r in q["refs"]]
    by_index = {q["index"]: q for q in queries}
    for route in routes:
        _shape(route, [by_index[i] for i in route["queries"] if i in by_index])


def _sql_reason(q: dict) -> str | None:
    """``COPY ... TO`` and ``INTO OUTFILE``: the SQL analysis already made their refs exports."""
    if not any(r.get("use") == "export" for r in q.get("refs", [])):
        return None
    return "COPY ... TO" if q.get("kind") == "copy" else "SELECT ... INTO OUTFILE"


def _written_back(q: dict, project) -> bool:
    """Rows read and handed to ``bulk_update``: an UPDATE of the rows the read selected."""
    if q.get("lookup") or q.get("kind") not in ("select", None):
        return False
    hit = _reached(q, project, "write_backs")
    if hit is None:
        return False
    q["kind"] = "update"
    q["write_reason"] = f"rows written back by {hit['sink']} at line {hit['line']}"
    q["refs"] = [{**r, "use": "write"} if r.get("use") == "read" else r for r in q["refs"]]
    return True


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
    if _inside(q, handler.get("response_spans"), handler.get("holes")):
        return True
    return route.get("routed", True) is not False and _inside(q, handler.get("return_spans"), handler.get("holes"))


def _listed(q: dict, handler: dict) -> bool:
    """The class-level ``queryset`` of a list view: what its list action returns."""
    return handler.get("kind") == "class" and q.get("function") == handler["name"] and (
        "list" in handler.get("inherited", [])
        or any(b.rsplit(".", 1)[-1].endswith(_LIST_BASES) for b in handler.get("bases", [])))


def _inside(q: dict, spans, holes) -> bool:
    """Does the query start inside one of the ranges (and in none of the holes)?"""
    return any(_starts_in(q, s) for s in spans or ()) and not any(_starts_in(q, h) for h in holes or ())


def _starts_in(q: dict, span) -> bool:
    return (span[0], span[1]) <= (q.get("line") or 0, q.get("column") or 1) < (span[2], span[3])


def _enclosing(project, function: str | None):
    """Handler facts of the query's function and of the functions around it (a generator
    nested in a view)."""
    name = function or ""
    while name:
        found = project.handlers.get(name)
        if found is not None:
            yield found
        name = name.rpartition(".")[0]


def _reached(q: dict, project, key: str) -> dict | None:
    """The first sink call (``sink_calls`` or ``write_backs``) of an enclosing function that
    the query's rows reach: ``{"sink": "csv.writer", "line": 12, ...}``."""
    for h in _enclosing(project, q.get("function")):
        for call in sorted(h.get(key) or (), key=lambda c: c["line"]):
            if _inside(q, call["spans"], h.get("holes")):
                return call
    return None


def _sink_reason(q: dict, project) -> str | None:
    hit = _reached(q, project, "sink_calls")
    return f"rows reach {hit['sink']} at line {hit['line']}" if hit else None


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
        if route.get("export_shaped") and any(_in_response(q, h, route) or _listed(q, h)
                                              for h in _own_handlers(route, q)):
            return f"returned by {route['handler']}; {route.get('export_reason', 'an export route')}"
    return None


def _shape(route: dict, queries: list[dict]) -> None:
    tenant = [q for q in queries if any(r.get("tenant_owned") for r in q.get("refs", []))]
    for q in tenant:
        own = _own_handlers(route, q)
        if not own:
            continue
        if (q.get("export_reason") or "").startswith("rows reach"):
            route["writes_file"] = True
            export_shaped(route, q["export_reason"])
        elif _bulk_rows(q) and any(r.get("tenant_owned") and r.get("scope") == "none" for r in q["refs"]) and any(
                _in_response(q, h, route) for h in own):
            export_shaped(route, f"returns unscoped rows read at line {q['line']}")
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
