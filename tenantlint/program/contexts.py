"""Entry points and the contexts they give the functions they reach.

An entry point is where code starts running for a reason the project does not choose
per call: a request (routed handlers and views, the serializers, permission classes and
middleware they use), background work (celery, rq, dramatiq, huey, apscheduler, signal
receivers, functions handed to a job launcher), a command (Django management commands,
click/typer, ``if __name__ == "__main__":``), a migration, startup code, or an admin-only
request. Every function reachable from an entry point gets that entry's context; a call
under ``if user.is_superuser:`` carries ``admin`` instead of ``request``. Functions no entry
reaches are ``unreachable``. Linear: one breadth-first walk over (function, context) pairs.
"""

from __future__ import annotations

import fnmatch
from collections import deque

from tenantlint.program.callgraph import CallGraph

CONTEXTS = ("request", "admin", "background", "command", "migration", "startup")
TASK_DECORATORS = {"shared_task", "task", "actor", "job", "periodic_task", "db_task", "db_periodic_task",
                   "receiver", "scheduled_job", "cron", "on_startup_task", "huey_task", "crontab_task"}
COMMAND_DECORATORS = {"command", "group", "callback"}
COMMAND_LIBS = ("click", "typer", "cyclopts", "fire")
STARTUP_DECORATORS = {"on_event", "on_startup", "before_first_request", "before_serving", "lifespan"}
REQUEST_DECORATORS = {"get", "post", "put", "patch", "delete", "route", "api_route", "websocket", "api_view",
                      "action", "head", "options"}
REQUEST_BASES = ("View", "ViewSet", "APIView", "Serializer", "Form", "ModelForm", "BasePermission",
                 "Permission", "Middleware", "MiddlewareMixin", "HTTPEndpoint", "FilterSet", "Consumer")
ADMIN_BASES = ("ModelAdmin", "AdminSite", "InlineModelAdmin", "TabularInline", "StackedInline")
ADMIN_PERMISSION_WORDS = ("isadminuser", "issuperuser", "isstaff", "isadmin", "superuser", "staff")


class Contexts:
    """``of[function]``: the set of contexts that reach it; ``entries[function]``: its own entry kind."""

    def __init__(self, graph: CallGraph, routes: list[dict], config, scripts=()):
        self.graph = graph
        self.config = config
        self.scripts = scripts
        self.entries: dict[str, str] = {}
        self.reasons: dict[str, str] = {}
        self.auth: dict[str, list[str]] = {}  # a request entry's authentication markers (for messages)
        self.routed_classes: dict[str, str] = {}  # view classes routed as they are (no methods of their own)
        self.used_classes: dict[str, set[str]] = {}  # serializer/form/permission classes of a view, by context
        self._admin_markers = (*(w.lower() for w in self.config_list("admin_markers")), "admin", "staff", "superuser")
        self._admin_classes: dict[str, bool] = {}  # _admin_bases() answers, per class
        self._admin_classes_gated: dict[str, bool] = {}  # _admin_class() answers
        self._bases_short: dict[str, list[str]] = {}  # _short_bases() answers
        self._request_entries(routes)
        self._other_entries()
        self.of: dict[str, set[str]] = {}
        self._propagate()

    @property
    def any_entry(self) -> bool:
        return bool(self.entries)

    def contexts(self, function: str | None) -> list[str]:
        if function in self.graph.classes:  # a class attribute (a view's queryset): its methods'
            found = set().union(*(self.of.get(m) or set() for m in self.graph.class_methods(function)))
            if function in self.routed_classes:  # a generic view routed as it is
                found.add(self.routed_classes[function])
            found |= self.used_classes.get(function, set())
            return sorted(found or {"unreachable"})
        if not function or function not in self.graph.functions:
            return []
        return sorted(self.of.get(function) or {"unreachable"})

    # -- finding entries ---------------------------------------------------------------------
    def _mark(self, name: str | None, kind: str, reason: str) -> None:
        if name and name in self.graph.functions:
            current = self.entries.get(name)
            # admin narrows request; request never widens an admin entry
            if current is None or (current == "request" and kind == "admin"):
                self.entries[name] = kind
                self.reasons[name] = reason

    def _request_entries(self, routes: list[dict]) -> None:
        g = self.graph
        for route in routes:
            handler = route.get("handler")
            kind = "admin" if _admin_route(route) else "request"
            reason = f"{'/'.join(route.get('methods') or []) or 'route'} {route.get('path') or ''}".strip()
            found = g.find(handler)
            for name in [found, *(g.class_methods(found) if found in g.classes else [])]:
                if name and route.get("auth"):
                    self.auth.setdefault(name, list(route["auth"]))
            if found in g.classes:
                if self._admin_bases(found):  # GlobalSyncView(AdministratorPermissionRequiredMixin, SyncView)
                    kind = "admin"
                self.routed_classes.setdefault(found, kind)
                for m in g.class_methods(found):
                    if self._serves_requests(m):
                        self._mark(m, kind, reason)
                self._class_attrs(found, kind, reason)
            elif found in g.functions:
                self._mark(found, kind, reason)
                fn = g.functions[found]
                if fn.get("class"):  # an @action: the class's callbacks serve it too
                    self._class_attrs(fn["class"], kind, reason)
                    for m in g.class_methods(fn["class"]):
                        short = m.rsplit(".", 1)[-1]
                        if short.startswith(("get_", "perform_", "check_", "initial", "has_")):
                            self._mark(m, kind, reason)
        views: set[str] = set()  # unrouted view classes whose attribute classes are marked
        for name, fn in g.functions.items():
            if fnmatch_any(name, self.config_list("entry_points")):
                self._mark(name, "request", "entry_points in config")
            decorators = [d.rsplit(".", 1)[-1] for d in fn.get("decorators", [])]
            if set(decorators) & REQUEST_DECORATORS and name not in self.entries:
                self._mark(name, "request", f"@{decorators[0]}")
            cls = fn.get("class")
            if cls and name not in self.entries:
                bases = self._short_bases(cls)
                if any(b.endswith(ADMIN_BASES) for b in bases):
                    self._mark(name, "admin", "Django admin")
                elif any(b.endswith(REQUEST_BASES) for b in bases) and self._serves_requests(name):
                    reason = f"{cls.rsplit('.', 1)[-1]} ({bases[0]})"
                    self._mark(name, "request", reason)
                    if cls not in views:  # its serializer/form/permission classes, once per class
                        views.add(cls)
                        self._class_attrs(cls, "request", reason)
        for name, fn in g.functions.items():
            if name in self.entries and self.entries[name] == "request" and self._admin_gated(fn):
                self.entries[name] = "admin"
                self.reasons[name] += " (admin only)"

    def _class_attrs(self, cls: str, kind: str, reason: str) -> None:
        """``permission_classes``, ``serializer_class``, ``form_class``...: their methods run on
        the view's requests."""
        g = self.graph
        for c in g.class_chain(cls):
            for attr, values in (g.classes.get(c, {}).get("attrs") or {}).items():
                if not attr.endswith(("_class", "_classes")):
                    continue
                for value in values:
                    found = g.find(value)
                    if found in g.classes:
                        self.used_classes.setdefault(found, set()).add(kind)
                        for m in g.class_methods(found):
                            self._mark(m, kind, reason)

    def _admin_gated(self, fn: dict) -> bool:
        g = self.graph
        markers = self._admin_markers
        for dep in [*(fn.get("deps") or {}).values(), *fn.get("decorators", [])]:
            short = dep.rsplit(".", 1)[-1].lower()
            if any(m in short for m in markers) and "not" not in short:
                return True
            if self._admin_function(g.find(dep), 0):
                return True
        for kind in (fn.get("annotations") or {}).values():  # _admin: Superuser (an Annotated dependency)
            if any(m in kind.rsplit(".", 1)[-1].lower() for m in markers + ("administrator",)):
                return True
        cls = fn.get("class")
        return bool(cls) and self._admin_class(cls)

    def _admin_class(self, cls: str) -> bool:
        """Only staff pass any method of the class: an admin base or permission class."""
        found = self._admin_classes_gated.get(cls)
        if found is None:
            g = self.graph
            found = self._admin_bases(cls) or any(
                any(any(w in p.rsplit(".", 1)[-1].lower() for w in ADMIN_PERMISSION_WORDS)
                    for p in (g.classes.get(c, {}).get("attrs") or {}).get("permission_classes") or [])
                for c in g.class_chain(cls))
            self._admin_classes_gated[cls] = found
        return found

    def _short_bases(self, cls: str) -> list[str]:
        """The last dotted part of each base along the class chain (``BaseCommand``)."""
        found = self._bases_short.get(cls)
        if found is None:
            found = self._bases_short[cls] = [b.rsplit(".", 1)[-1] for b in self.graph.bases_of(cls)]
        return found

    def _serves_requests(self, method: str) -> bool:
        """A method of a view, serializer or permission class that the framework calls: not a
        helper of the class (``_create_batch(self, project)``), whose parameters are no URL
        keywords and which is reached through the methods that call it."""
        short = method.rsplit(".", 1)[-1]
        return not short.startswith("_") or short.startswith("__") or not any(
            e.kind == "call" for e in self.graph.into.get(method, ()))

    def _admin_bases(self, cls: str) -> bool:
        """A base that only staff pass: AdministratorPermissionRequiredMixin, StaffRequiredMixin."""
        found = self._admin_classes.get(cls)
        if found is None:
            found = self._admin_classes[cls] = any(any(m in b.rsplit(".", 1)[-1].lower() for m in self._admin_markers)
                                                   for b in self.graph.bases_of(cls))
        return found

    def _admin_function(self, name: str | None, depth: int) -> bool:
        """A dependency or decorator that denies unless the caller is staff/admin, itself or
        through the dependencies it declares."""
        fn = self.graph.functions.get(name or "")
        if fn is None or depth > 4:
            return False
        if fn.get("admin_check"):
            return True
        if any(self.graph.functions[n].get("admin_check") for n in self.graph.nested(name)):
            return True  # a decorator's wrapper
        return any(self._admin_function(self.graph.find(d), depth + 1) for d in (fn.get("deps") or {}).values())

    def _other_entries(self) -> None:
        g = self.graph
        launchers = set(self.config_list("job_launchers"))
        for name, fn in g.functions.items():
            decorators = fn.get("decorators", [])
            shorts = [d.rsplit(".", 1)[-1] for d in decorators]
            path = fn.get("path") or ""
            cls = fn.get("class")
            short = name.rsplit(".", 1)[-1]
            if fn.get("main"):
                self._mark(name, "command", "if __name__ == '__main__'")
            elif "/migrations/" in f"/{path}" or "alembic" in path and "/versions/" in path:
                self._mark(name, "migration", "migration")
            elif set(shorts) & TASK_DECORATORS:
                self._mark(name, "background", f"@{next(s for s in shorts if s in TASK_DECORATORS)}")
            elif set(shorts) & COMMAND_DECORATORS and any(d.startswith(COMMAND_LIBS) or ".cli." in d or "app" in d
                                                         for d in decorators):
                self._mark(name, "command", f"@{shorts[0]}")
            elif set(shorts) & STARTUP_DECORATORS:
                self._mark(name, "startup", f"@{shorts[0]}")
            elif cls:
                bases = self._short_bases(cls)
                if short == "handle" and any(b.endswith("BaseCommand") or b in ("Command", "LabelCommand",
                                                                                 "AppCommand") for b in bases):
                    self._mark(name, "command", "management command")
                elif short == "run" and "Task" in bases:
                    self._mark(name, "background", "celery Task")
                elif short == "ready" and "AppConfig" in bases:
                    self._mark(name, "startup", "AppConfig.ready")
            for call in fn.get("calls", []):
                if not call.get("values"):  # no function handed over
                    continue
                callee_short = call["callee"].rsplit(".", 1)[-1]
                if callee_short == "RunPython":
                    for value in call.get("values", []):
                        self._mark(g.resolve_callable(value), "migration", "RunPython")
                elif callee_short in launchers or call["callee"] in launchers:
                    for value in call.get("values", []):
                        self._mark(g.resolve_callable(value), "background", f"started by {callee_short}()")
        for script in self.scripts:
            self._mark(g.find(script), "command", "console script")
        for cls in g.classes.values():
            for target in cls.get("runs", []):
                self._mark(g.resolve_callable(target), "migration", "RunPython")
        for e in g.edges:
            if e.kind == "handoff":
                self._mark(e.callee, "background", f"started by {e.caller.rsplit('.', 1)[-1]}()")

    def config_list(self, key: str) -> tuple:
        return tuple(getattr(self.config, key, ()) or ())

    # -- propagation ---------------------------------------------------------------------------
    def _propagate(self) -> None:
        g = self.graph
        queue = deque((n, k) for n, k in self.entries.items())
        for n, k in queue:
            self.of.setdefault(n, set()).add(k)
        while queue:
            n, kind = queue.popleft()
            for e in g.out.get(n, ()):
                if e.kind == "handoff":
                    continue  # the job is an entry of its own; request data it gets: paths.py
                carried = "admin" if kind == "request" and e.admin else kind
                seen = self.of.setdefault(e.callee, set())
                if carried not in seen:
                    seen.add(carried)
                    queue.append((e.callee, carried))


def fnmatch_any(name: str, patterns: tuple) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _admin_route(route: dict) -> bool:
    text = " ".join(route.get("auth") or []).lower()
    return any(w in text for w in ("isadminuser", "staff_member_required", "superuser_required",
                                   "admin_required", "issuperuser"))
