"""Whole-project routes: registrations joined to their handlers, prefixes and defaults.

A Django route is written in ``urls.py`` and its view in ``views.py``; a Flask blueprint gets
its prefix and a FastAPI router its dependencies where they are mounted; DRF's default
permissions live in settings. Per-file facts (:mod:`tenantlint.web`) name handlers,
groups and mounts by qualified name; this module joins them into the policy input's
``routes`` (shape: ``input_schema.json``), one route per URL and handler, and attaches the
queries each handler runs, by function name.

Whether a route is authenticated is decided here, from (in order of strength) markers on
the registration, the handler, its base classes and the groups it is mounted in, then the
project default (DRF ``DEFAULT_PERMISSION_CLASSES``, a login-required middleware). What we
cannot see (a base class from outside the project, a permission list built by a function)
counts as protecting: a guess must not become a finding.
"""

from __future__ import annotations

import re

from tenantlint.config import Config
from tenantlint.web.auth import mixin_markers
from tenantlint.web.handlers import HTTP_METHODS, INHERITED_ACTIONS, VIEWSET_ACTIONS
from tenantlint.web.names import module_name
from tenantlint.web.words import says_export

# Framework base classes: known, and setting no authentication of their own.
FRAMEWORK_BASES = {
    "object", "View", "TemplateView", "RedirectView", "ListView", "DetailView", "CreateView", "UpdateView",
    "DeleteView", "FormView", "APIView", "GenericAPIView", "ViewSet", "GenericViewSet", "ModelViewSet",
    "ReadOnlyModelViewSet", "ViewSetMixin", "ListModelMixin", "CreateModelMixin", "RetrieveModelMixin",
    "UpdateModelMixin", "DestroyModelMixin", "MethodView", "Resource", "HTTPEndpoint", "SingleObjectMixin",
    "MultipleObjectMixin", "ContextMixin", "TemplateResponseMixin", "FormMixin", "ModelFormMixin",
    "SingleObjectTemplateResponseMixin", "MultipleObjectTemplateResponseMixin", "BaseListView", "BaseDetailView",
    "BaseCreateView", "BaseUpdateView", "BaseDeleteView", "BaseFormView", "ProcessFormView", "DeletionMixin",
    "SuccessMessageMixin", "Generic", "AccessMixin", *INHERITED_ACTIONS,
}


def link_routes(files: list[dict], queries: list[dict], config: Config) -> list[dict]:
    """``input.routes``. Also marks the queries that export rows (:mod:`tenantlint.exports`)
    and sets each query's ``route`` (None outside handlers)."""
    from tenantlint.exports import mark_exports

    project = Project(files)
    routes: list[dict] = []
    routed: set[str] = set()
    for reg in project.registrations:
        built = _expand(reg, project, config)
        routes += built
        routed |= {r["_handler_name"] for r in built if r.get("_handler_name")}
    routes += _unrouted(project, routed, config)
    _attach_queries(routes, queries)
    mark_exports(project, routes, queries, config)
    _summaries(routes, queries)
    for r in routes:
        for key in [k for k in r if k.startswith("_")]:
            del r[key]
    return routes


class Project:
    """Handlers, groups, mounts and settings of all files, looked up by qualified name."""

    def __init__(self, files: list[dict]):
        self.handlers: dict[str, dict] = {}
        self.groups: dict[str, dict] = {}
        self.mounts: dict[str, list] = {}
        self.settings: dict = {}
        self.registrations: list[dict] = []
        for facts in files:
            web = facts.get("web") or {}
            module = module_name(facts.get("path") or "")
            for h in web.get("handlers", []):
                self.handlers.setdefault(h["name"], {**h, "file": facts.get("path"), "module": module})
            for g in web.get("groups", []):
                entry = self.groups.setdefault(g["name"], {"prefix": "", "auth": []})
                entry["prefix"] = entry["prefix"] or g.get("prefix") or ""
                entry["auth"] = entry["auth"] + list(g.get("auth", []))
            for mnt in web.get("mounts", []):
                self.mounts.setdefault(mnt["group"], []).append(mnt)
            for key, value in (web.get("settings") or {}).items():
                self.settings.setdefault(key, value)
            self.registrations += [dict(r) for r in facts.get("routes", [])]
        self.members: dict[str, list[dict]] = {}  # class name -> its method facts
        for name, h in self.handlers.items():
            if h.get("kind") == "method":
                self.members.setdefault(name.rpartition(".")[0], []).append(h)
        self._suffixes: dict[str, list[str]] = {}
        for name in self.handlers:
            parts = name.split(".")
            for i in range(len(parts)):
                self._suffixes.setdefault(".".join(parts[i:]), []).append(name)

    def handler(self, ref: str | None) -> dict | None:
        """The handler a qualified reference names; imports are written relative to some
        source root, so ``crm.views.export`` also finds ``src.crm.views.export``."""
        if not ref:
            return None
        if ref in self.handlers:
            return self.handlers[ref]
        found = self._suffixes.get(ref) or []
        if len(found) == 1:
            return self.handlers[found[0]]
        tail = ".".join(ref.split(".")[-2:])
        found = self._suffixes.get(tail) or []
        return self.handlers[found[0]] if len(found) == 1 else None

    def group_chain(self, group: str | None) -> tuple[str, list[str]]:
        """(URL prefix, auth markers) a group's routes get from the group and every mount above."""
        prefix, marks, seen = "", [], set()
        while group and group not in seen:
            seen.add(group)
            info = _by_suffix(self.groups, group) or {}
            marks += info.get("auth", [])
            mount = _first(_by_suffix(self.mounts, group))
            own = info.get("prefix", "")
            if mount is not None:
                own = mount.get("prefix") or own if mount.get("replace") else _join(mount.get("prefix", ""), own)
                marks += mount.get("auth", [])
                group = mount.get("parent")
            else:
                group = None
            prefix = _join(own, prefix)
        return prefix, marks

    def class_chain(self, fact: dict, depth: int = 0):
        """The class and its project base classes, nearest first; unresolved bases as str."""
        yield fact
        if depth > 10:
            return
        for base in fact.get("bases", []):
            found = self.handler(base)
            if found is not None and found.get("kind") == "class":
                yield from self.class_chain(found, depth + 1)
            elif base.rsplit(".", 1)[-1] not in FRAMEWORK_BASES and not mixin_markers([base]):
                yield base


def _by_suffix(table: dict, name: str):
    if name in table:
        return table[name]
    for key, value in table.items():
        if key.endswith("." + name) or name.endswith("." + key):
            return value
    return None


def _first(items):
    return sorted(items, key=lambda m: (m.get("parent") or "", m.get("prefix") or ""))[0] if items else None


def _join(prefix: str, path: str) -> str:
    prefix, path = (prefix or "").rstrip("$"), (path or "").lstrip("^")
    if not prefix:
        return path
    if not path:
        return prefix
    if prefix.endswith("/") and path.startswith("/"):
        return prefix + path[1:]
    if not prefix.endswith("/") and not path.startswith("/"):
        return prefix + "/" + path
    return prefix + path


def _display(path: str) -> str:
    """URLs as people write them: a leading ``/``, no regex anchors or escapes."""
    path = re.sub(r"\\(.)", r"\1", (path or "").replace("^", "").replace("$", ""))
    return path if path.startswith("/") else "/" + path


# -- one registration -> routes -------------------------------------------------------------

def _expand(reg: dict, project: Project, config: Config) -> list[dict]:
    prefix, group_auth = project.group_chain(reg.get("group"))
    path = _display(_join(prefix, reg.get("path", "")))
    handler = project.handler(reg.get("handler"))
    base = {"framework": reg.get("framework"), "path": path, "routed": True,
            "auth": [*reg.get("auth", []), *group_auth], "public": list(reg.get("public", []))}
    if handler is None:  # a view from a library, or one we could not resolve: not judged
        return [_route(base, reg.get("handler") or "?", reg, reg.get("methods") or [], [], authenticated=True,
                       extra_auth=["handler not analysed"])]
    if handler.get("kind") == "class":
        return _class_routes(base, reg, handler, project, config)
    return [_function_route(base, handler, reg.get("methods") or handler.get("methods") or [], project, config)]


def _route(base, handler_name, where, methods, decorators, authenticated, extra_auth=(), name=None) -> dict:
    return {
        **{k: v for k, v in base.items() if k != "public"},
        "methods": list(methods), "handler": handler_name, "file": where.get("file"),
        "line": where.get("line") or 1, "column": where.get("column") or 1,
        "authenticated": authenticated, "auth": [*base["auth"], *extra_auth], "decorators": list(decorators),
        "export_shaped": False, "writes_file": False, "queries": [], "_handler_name": name,
    }


def _function_route(base: dict, handler: dict, methods: list, project: Project, config: Config) -> dict:
    marks = [*base["auth"], *handler.get("auth", [])]
    public = [*base["public"], *handler.get("public", [])]
    default, why = _default(project, handler.get("drf") or base.get("framework") == "drf",
                            base.get("framework") in ("django", "drf", None), methods)
    authenticated = bool(marks) or (default and not public)
    route = _route({**base, "auth": marks}, handler["name"], handler, methods, handler.get("decorators", []),
                   authenticated, [why] if authenticated and not marks and why else [], name=handler["name"])
    route["export_shaped"] = says_export(base["path"], config.export_patterns) or says_export(
        handler["name"].rsplit(".", 1)[-1], config.export_patterns)
    route["writes_file"] = bool(handler.get("sinks"))
    route["_handlers"] = [handler]
    return route


def _default(project: Project, drf: bool, django: bool, methods: list) -> tuple[bool, str]:
    """The project's default for a view with no marker: (protected, why)."""
    if drf:
        perms = project.settings.get("drf_default_permissions")
        if perms is None:
            return False, ""
        return _permits(perms, methods), "DEFAULT_PERMISSION_CLASSES: " + ", ".join(perms.get("names", []))
    if django and project.settings.get("login_required_middleware"):
        return True, project.settings["login_required_middleware"]
    return False, ""


def _permits(verdict: dict, methods: list) -> bool:
    """A permission verdict requires authentication for these methods (reads may be open)."""
    if not verdict.get("auth"):
        return False
    reads = not methods or any(m in ("GET", "HEAD", "OPTIONS") for m in methods)
    return not (verdict.get("read_public") and reads)


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
            suffix = _join("{pk}", action["url_path"]) if action["detail"] else action["url_path"]
            sub = {**base, "path": _display(_join(base["path"], suffix + "/"))}
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
    marks = [*base["auth"], *(m for c in classes for m in c.get("auth", []))]
    public = [*base["public"], *(p for c in classes for p in c.get("public", []))]
    if method is not None:
        marks += method.get("auth", [])
        public += method.get("public", [])
    perms = _permission_classes(classes, method)
    if any(c.get("get_permissions") for c in classes):
        marks.append("get_permissions()")
    elif perms is not None:
        if _permits(perms, methods):
            marks.append("permission_classes: " + ", ".join(perms.get("names", [])))
        else:
            public.append("permission_classes: " + (", ".join(perms.get("names", [])) or "[]"))
    if unseen and perms is None:
        marks += [f"base class {b.rsplit('.', 1)[-1]} (not analysed)" for b in unseen]
    default, why = (False, "") if perms is not None else _default(project, drf, not drf, methods)
    authenticated = bool(marks) or (default and not public)
    where = method or cls
    name = method["name"] if method else cls["name"]
    decorators = (method or cls).get("decorators", [])
    route = _route({**base, "auth": marks}, name, where, methods, decorators, authenticated,
                   [why] if authenticated and not marks and why else [], name=name)
    words = [base["path"], cls["name"].rsplit(".", 1)[-1]]
    if method is not None:
        words += [method["name"].rsplit(".", 1)[-1], method.get("action", {}).get("url_path", "")]
    words += list((mapping or {}).values())
    route["export_shaped"] = any(says_export(w, config.export_patterns) for w in words)
    members = project.members.get(cls["name"], []) if method is None else []
    route["_handlers"] = [method] if method is not None else [cls, *(h for h in members if not h.get("action"))]
    # The class's own route does not run its @action methods: each has a route of its own.
    route["_excluded"] = [] if method is not None else [h["name"] for h in members if h.get("action")]
    route["_class"] = cls["name"]
    route["writes_file"] = any(h.get("sinks") for h in route["_handlers"])
    return route


def _mapped_method(project: Project, cls: dict, mapping: dict | None) -> dict | None:
    """``as_view({"get": "export"})`` with one action: the route is that method."""
    names = set((mapping or {}).values())
    if len(names) == 1:
        return project.handlers.get(f"{cls['name']}.{names.pop()}")
    return None


def _permission_classes(classes: list[dict], method: dict | None) -> dict | None:
    if method is not None and method.get("action", {}).get("permission_classes"):
        return method["action"]["permission_classes"]
    for c in classes:
        if c.get("permission_classes") is not None:
            return c["permission_classes"]
    return None


# -- views no URL reaches that we know of ----------------------------------------------------

def _unrouted(project: Project, routed: set[str], config: Config) -> list[dict]:
    """Module-level views (``def view(request)``, class-based views) in modules none of whose
    handlers any route reaches: the url configuration is not part of the scan."""
    routed_modules = {project.handlers[n]["module"] for n in routed if n in project.handlers}
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
    owners = []  # (handler name, route), most specific first
    for r in routes:
        for h in r.get("_handlers", []):
            if h is not None:
                owners.append((h["name"], r))
        if r.get("_class"):
            owners.append((r["_class"], r))
    owners.sort(key=lambda o: -len(o[0]))
    for q in queries:
        q.setdefault("route", None)
        function = q.get("function") or ""
        best = None
        for name, r in owners:
            if function == name or function.startswith(name + "."):
                if q["index"] not in r["queries"]:
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
