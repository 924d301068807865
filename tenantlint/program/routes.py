"""Whole-project routes: registrations joined to their handlers, prefixes and defaults.

A Django route is written in ``urls.py`` and its view in ``views.py``; a Flask blueprint gets
its prefix and a FastAPI router its dependencies where they are mounted; DRF's default
permissions live in settings. Per-file facts (:mod:`tenantlint.extract.web`) name handlers,
groups and mounts by qualified name; this module joins them into the policy input's
``routes`` (shape: ``input_schema.json``), one route per URL and handler, and attaches the
queries each handler runs, by function name.

Whether a route is authenticated: :mod:`tenantlint.program.route_auth`; the index of the project's
web facts: :mod:`tenantlint.program.webproject`.
"""

from __future__ import annotations

from tenantlint.config import Config
from tenantlint.program.route_auth import class_auth, function_auth, nested_dependency_auth
from tenantlint.extract.web.handlers import HTTP_METHODS, VIEWSET_ACTIONS
from tenantlint.extract.web.words import export_word
from tenantlint.program.webproject import Project, by_suffix, display, join


def link_routes(files: list[dict], queries: list[dict], config: Config, graph=None) -> list[dict]:
    """``input.routes``. Also marks the queries that export rows (:mod:`tenantlint.program.exports`)
    and sets each query's ``route`` (None outside handlers). With the call graph, a route
    authenticated through a dependency of a dependency counts as authenticated."""
    from tenantlint.program.exports import mark_exports

    project = Project(files)
    routes: list[dict] = []
    routed: set[str] = set()
    for reg in project.registrations:
        built = _expand(reg, project, config)
        routes += built
        # a routed subclass of a project view is no handler of its own file's facts: its name still counts
        routed |= {name for r in built if (name := r.get("_handler_name") or r.get("handler"))}
    routes += _unrouted(project, routed, config)
    if graph is not None:
        _nested_dependency_auth(routes, graph)
    _attach_queries(routes, queries)
    mark_exports(project, routes, queries, config)
    _summaries(routes, queries)
    for r in routes:
        for key in [k for k in r if k.startswith("_")]:
            del r[key]
    return routes


def _nested_dependency_auth(routes: list[dict], graph) -> None:
    """Routes whose handler reaches the caller's identity through a dependency of a
    dependency are authenticated (the per-file facts see only the handler's own)."""
    for route in routes:
        if route.get("authenticated"):
            continue
        marker = nested_dependency_auth(graph, route.get("handler"))
        if marker:
            route["authenticated"] = True
            route["auth"] = [*route.get("auth", []), marker]


# -- one registration -> routes -------------------------------------------------------------

def _expand(reg: dict, project: Project, config: Config) -> list[dict]:
    prefix, group_auth = project.group_chain(reg.get("group"))
    path = display(join(prefix, reg.get("path", "")))
    handler = project.handler(reg.get("handler"))
    alias = by_suffix(project.aliases, reg.get("handler") or "") if handler is None else None
    if alias is not None:  # views.export = login_required(ExportView.as_view())
        reg = {**reg, "handler": alias["target"], "auth": [*reg.get("auth", []), *alias.get("auth", [])]}
        handler = project.handler(alias["target"])
    base = {"framework": reg.get("framework"), "path": path, "routed": True,
            "auth": [*reg.get("auth", []), *group_auth], "public": list(reg.get("public", []))}
    if handler is None:  # a view from a library, or one we could not resolve: not judged
        return [_route(base, reg.get("handler") or "?", reg, reg.get("methods") or [], [], authenticated=True,
                       extra_auth=["handler not analysed"])]
    if handler.get("kind") == "class":
        return _class_routes(base, reg, handler, project, config)
    return [_function_route(base, handler, reg.get("methods") or handler.get("methods") or [], project, config,
                            tuple(reg.get("outer_decorators", ())))]


def _route(base, handler_name, where, methods, decorators, authenticated, extra_auth=(), name=None) -> dict:
    return {
        **{k: v for k, v in base.items() if k != "public"},
        "methods": list(methods), "handler": handler_name, "file": where.get("file"),
        "line": where.get("line") or 1, "column": where.get("column") or 1,
        "authenticated": authenticated, "auth": [*base["auth"], *extra_auth], "decorators": list(decorators),
        "export_shaped": False, "writes_file": False, "queries": [], "_handler_name": name,
    }


def _function_route(base: dict, handler: dict, methods: list, project: Project, config: Config,
                    outer: tuple = ()) -> dict:
    authenticated, marks, why = function_auth(base, handler, project, methods, outer)
    route = _route({**base, "auth": marks}, handler["name"], handler, methods, handler.get("decorators", []),
                   authenticated, why, name=handler["name"])
    shaped_by_name(route, [("route path", base["path"]), ("handler name", handler["name"].rsplit(".", 1)[-1])],
                   config)
    route["writes_file"] = bool(handler.get("sinks"))
    route["_handlers"] = [handler]
    return route


def _class_routes(base: dict, reg: dict, cls: dict, project: Project, config: Config) -> list[dict]:
    chain = list(project.class_chain(cls))
    classes = [c for c in chain if isinstance(c, dict)]
    unseen = [c for c in chain if isinstance(c, str)]
    drf = any(c.get("drf") for c in classes) or base.get("framework") == "drf"
    methods_of = _class_methods(classes, reg)
    routes = []
    mapping = reg.get("actions") or {}
    if not reg.get("router") or set(methods_of) - {"?"}:
        mapped = _mapped_method(project, cls, mapping)  # as_view({"get": "export"}): that method's route
        routes.append(_class_route(base, cls, classes, unseen, drf, sorted(methods_of - {"?"}), mapped, project,
                                   config, mapping))
    if reg.get("router"):
        for method in _actions(project, classes):
            action = method["action"]
            suffix = join("{pk}", action["url_path"]) if action["detail"] else action["url_path"]
            sub = {**base, "path": display(join(base["path"], suffix + "/"))}
            routes.append(_class_route(sub, cls, classes, unseen, drf, action["methods"], method, project, config))
        for r in routes:
            if not r["path"].endswith("/"):
                r["path"] += "/"
    return routes


def _class_methods(classes: list[dict], reg: dict) -> set[str]:
    if reg.get("actions"):
        return {m.upper() for m in reg["actions"]}
    out = set()
    for c in classes:
        for name in [*c.get("handlers", []), *c.get("inherited", [])]:
            if name in VIEWSET_ACTIONS:
                out.add(VIEWSET_ACTIONS[name])
            elif name in HTTP_METHODS:
                out.add(name.upper())
    return out or {"?"}


def _actions(project: Project, classes: list[dict]) -> list[dict]:
    """``@action`` methods of the class and its project bases (nearest definition wins)."""
    out, seen = [], set()
    for c in classes:
        for h in project.members.get(c["name"], []):
            method = h["name"].rsplit(".", 1)[-1]
            if h.get("action") and method not in seen:
                seen.add(method)
                out.append(h)
    return sorted(out, key=lambda h: (h.get("line", 0), h["name"]))


def _class_route(base, cls, classes, unseen, drf, methods, method, project, config, mapping=None) -> dict:
    authenticated, marks, why = class_auth(base, classes, unseen, drf, methods, method, project)
    where = method or cls
    name = method["name"] if method else cls["name"]
    decorators = (method or cls).get("decorators", [])
    route = _route({**base, "auth": marks}, name, where, methods, decorators, authenticated, why, name=name)
    names = [("route path", base["path"]), ("class name", cls["name"].rsplit(".", 1)[-1])]
    if method is not None:
        names += [("method name", method["name"].rsplit(".", 1)[-1]),
                  ("action url_path", method.get("action", {}).get("url_path", ""))]
    names += [("action", a) for a in (mapping or {}).values()]
    shaped_by_name(route, names, config)
    members = project.members.get(cls["name"], []) if method is None else []
    route["_handlers"] = [method] if method is not None else [cls, *(h for h in members if not h.get("action"))]
    # The class's own route does not run its @action methods: each has a route of its own.
    route["_excluded"] = [] if method is not None else [h["name"] for h in members if h.get("action")]
    route["_class"] = cls["name"]
    route["writes_file"] = any(h.get("sinks") for h in route["_handlers"])
    return route


def shaped_by_name(route: dict, names: list[tuple[str, str]], config: Config) -> None:
    """Export-shaped when one of ``(what, name)`` says export; ``export_reason`` says which:
    "route path contains export"."""
    for what, name in names:
        word = export_word(name, config.export_patterns)
        if word:
            export_shaped(route, f"{what} contains {word}")
            return


def export_shaped(route: dict, reason: str) -> None:
    """Mark the route an export, keeping the first evidence found."""
    route["export_shaped"] = True
    route.setdefault("export_reason", reason)


def _mapped_method(project: Project, cls: dict, mapping: dict | None) -> dict | None:
    """``as_view({"get": "export"})`` with one action: the route is that method."""
    names = set((mapping or {}).values())
    if len(names) == 1:
        return project.handlers.get(f"{cls['name']}.{names.pop()}")
    return None


# -- views no URL reaches that we know of ----------------------------------------------------

def _unrouted(project: Project, routed: set[str], config: Config) -> list[dict]:
    """Module-level views (``def view(request)`` that returns a response, class-based views)
    in modules none of whose handlers any route reaches: the url configuration is not part
    of the scan. A function that only takes ``request`` is no view (:mod:`tenantlint.extract.web.handlers`)."""
    routed_modules = {project.handlers[n]["module"] if n in project.handlers else n.rpartition(".")[0]
                      for n in routed}
    bases = {found["name"] for h in project.handlers.values() for b in h.get("bases", [])
             if (found := project.handler(b)) is not None}
    out = []
    for name, h in project.handlers.items():
        if (not h.get("view") or h.get("kind") == "method" or name in routed or h["module"] in routed_modules
                or h.get("called_locally") or name in bases):
            continue
        base = {"framework": "drf" if h.get("drf") else "django", "path": "", "routed": False, "auth": [],
                "public": []}
        if h.get("kind") == "function":
            out.append(_function_route(base, h, h.get("methods") or [], project, config))
        else:
            reg = {"router": h.get("drf") and bool(set(h.get("inherited", [])) & set(VIEWSET_ACTIONS))}
            out += _class_routes(base, reg, h, project, config)
    for r in out:
        r["path"] = ""
    return out


# -- queries of each route -------------------------------------------------------------------

def _attach_queries(routes: list[dict], queries: list[dict]) -> None:
    """Give each route the queries of its handler (a function, or a method of its class) and
    each query its most specific route. Handlers are looked up by the query's enclosing
    function and its dotted prefixes: linear in queries, not queries × routes."""
    owners: dict[str, list[dict]] = {}
    for r in routes:
        for h in r.get("_handlers", []):
            if h is not None:
                owners.setdefault(h["name"], []).append(r)
        if r.get("_class"):
            owners.setdefault(r["_class"], []).append(r)
    attached: dict[int, set] = {id(r): set(r["queries"]) for r in routes}
    for q in queries:
        q.setdefault("route", None)
        parts = (q.get("function") or "").split(".")
        best = None
        for end in range(len(parts), 0, -1):  # longest prefix first: the most specific handler
            for r in owners.get(".".join(parts[:end]), ()):
                if q["index"] not in attached[id(r)]:
                    attached[id(r)].add(q["index"])
                    r["queries"].append(q["index"])
                if best is None:
                    best = r
        if best is not None:
            q["_route"] = best


def _summaries(routes: list[dict], queries: list[dict]) -> None:
    for q in queries:
        best = q.pop("_route", None)
        q["route"] = summary(best) if best is not None else None


def summary(route: dict) -> dict:
    return {"path": route["path"], "methods": route["methods"], "handler": route["handler"],
            "authenticated": route["authenticated"], "export_shaped": route["export_shaped"]}
