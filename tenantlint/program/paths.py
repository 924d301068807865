"""Where each unscoped query is reached from, and whether that path ties it to the caller.

For a query that is not scoped where it is written, walk the call graph upward from its
function to the entry points (:mod:`.contexts`). Each path ends at a *site*: the call in the
outermost project function of the path (the handler's call into the data layer), or the
query itself when the entry point runs it. Along the way two things can tie the rows to
the caller's tenant:

- a **guard**: the fetched row, or the key it was fetched by, is verified before it
  reaches the caller: a comparison that fails closed (``if deal.account_id !=
  user.account_id: raise``), a guard helper (a function whose own checks verify one of its
  parameters), a permission class, decorator or dependency whose checks verify the URL's
  keyword, or a guard named in config;
- **key provenance**: the values the query filters or looks up by come from the server
  (an attribute of a row already fetched, the caller's identity, a constant), not from
  the request. Parameters are followed through every call on the path; at a request
  entry the remaining parameters are the route's.

Each query gets ``contexts``, up to three ``paths`` (entry → … → query) and ``sites``; the
policies report the sites with no guard whose key is not server-derived, at the level of
their context. Cycles are cut; depth, sites and visits per query are bounded; guard
summaries are computed once per function, so a project stays linear in practice.
"""

from __future__ import annotations

import fnmatch

from tenantlint.program.callgraph import CallGraph, Edge
from tenantlint.program.contexts import Contexts

MAX_DEPTH = 16
MAX_SITES = 50
MAX_PATHS = 3
MAX_GUARD_DEPTH = 4  # calls followed into guard helpers (guard() -> check_owner() -> ...)
MAX_VISITS = 5_000  # functions visited per query: bounds the walk on dense, cyclic call graphs
NOT_KEYS = {"self", "cls", "request", "req", "session", "db", "cursor", "conn", "connection", "engine", "tx",
            "uow", "user", "current_user", "args", "kwargs", "info", "context", "ctx", "background_tasks"}
REQUEST_PARAMS_SKIP = NOT_KEYS | {"response", "format", "page", "page_size", "limit", "offset"}
SCOPED = ("direct", "anchor", "helper", "runtime", "provenance", "rls")
# Contexts where no request's middleware set the current tenant (django-multitenant).
NO_CURRENT_TENANT = {"background", "command", "startup", "migration"}
TENANT_SETTERS = {"set_current_tenant", "activate_tenant", "set_tenant", "set_current_practice", "set_current_account"}
# Method and function names of query building and running (their results are the query).
QUERY_CALLS = {
    "select", "where", "filter", "filter_by", "exclude", "query", "scalars", "scalar", "exec", "execute",
    "get", "first", "one", "one_or_none", "all", "join", "outerjoin", "options", "order_by", "limit", "offset",
    "values", "values_list", "annotate", "select_related", "prefetch_related", "in_", "with_for_update",
    "update", "delete", "insert", "returning", "distinct", "group_by", "having", "correlate", "subquery",
    "scalar_subquery", "exists", "count", "get_object_or_404", "get_list_or_404", "in_bulk", "only", "defer",
    "raw", "extra", "latest", "earliest", "last", "aggregate", "union", "fetchone", "fetchall", "text", "col",
    "and_", "or_", "not_", "Q", "F", "aget", "afirst", "alast", "acount", "aexists", "get_or_create",
    "update_or_create", "create", "bulk_create", "bulk_update", "iterator", "none", "using",
}
# The ORM's expression builders (true(), col(M.id), func.count(...)): they make no key.
EXPRESSION_BUILDERS = ("sqlalchemy.", "sqlmodel.", "django.db.models.")
# SQLAlchemy subquery objects: a part of the statement that uses them, never a key.
SUBQUERIES = {"subquery", "scalar_subquery", "correlate", "cte", "lateral", "exists", "label", "as_scalar"}
# Generic views whose queryset serves get_object() only (DRF's and Django's), and those that list it.
DETAIL_VIEWS = {"RetrieveAPIView", "UpdateAPIView", "DestroyAPIView", "RetrieveUpdateAPIView",
                "RetrieveDestroyAPIView", "RetrieveUpdateDestroyAPIView", "RetrieveModelMixin",
                "UpdateModelMixin", "DestroyModelMixin",
                # Django's own: get_object() by the URL's pk or slug
                "DetailView", "UpdateView", "DeleteView", "BaseDetailView", "BaseUpdateView", "BaseDeleteView",
                "DateDetailView"}
LISTING_VIEWS = {"ListAPIView", "ListCreateAPIView", "ListModelMixin", "ModelViewSet", "ReadOnlyModelViewSet"}
GENERIC_VIEWS = {"GenericAPIView", "CreateAPIView", "CreateModelMixin", "GenericViewSet", "SingleObjectMixin",
                 *DETAIL_VIEWS}
LISTING_METHODS = {"list", "get_queryset", "filter_queryset", "paginate_queryset"}
# Annotations of a parameter that is the HTTP request itself; a ``request`` annotated with
# anything else is a body model (FastAPI: ``request: WorkflowStopRequest``) whose fields
# the client sends.
REQUEST_TYPES = {"Request", "HttpRequest", "WSGIRequest", "ASGIRequest", "HTTPConnection", "WebSocket"}


def _not_keys(fn: dict, names: set) -> set:
    """``names`` minus a ``request`` parameter that is a body model."""
    annotation = (fn.get("annotations") or {}).get("request")
    if annotation and annotation.rsplit(".", 1)[-1] not in REQUEST_TYPES:
        return names - {"request"}
    return names


def judge(queries: list[dict], graph: CallGraph, contexts: Contexts, config) -> None:
    """Give every query its ``contexts``, ``paths`` and ``sites`` (see the module docstring)."""
    judge_ = _Judge(graph, contexts, config)
    for q in queries:
        judge_.query(q)


class _Judge:
    def __init__(self, graph: CallGraph, contexts: Contexts, config):
        self.g = graph
        self.ctx = contexts
        self.config = config
        self._verified: dict[str, dict] = {}
        self._guard_params: dict[str, set] = {}
        self._budget = MAX_VISITS
        self.config_guards = tuple(getattr(config, "guards", ()) or ())

    # -- one query -----------------------------------------------------------------------------
    def query(self, q: dict) -> None:
        fn_name = q.get("function")
        if self.ctx.any_entry and fn_name in self.g.classes:
            self._class_query(q, fn_name)
            return
        if not self.ctx.any_entry or fn_name not in self.g.functions:
            # No entry point in the scan, module-level code, or a .sql file: judged where it is.
            q["contexts"] = ["alone"]
            q["sites"] = [self._self_site(q, "alone")]
            return
        q["contexts"] = self.ctx.contexts(fn_name)
        self._no_current_tenant(q, fn_name)
        if not q.get("schema_switch") and not q.get("rls_change") and not any(
                r.get("tenant_owned") and r.get("scope") not in SCOPED for r in q.get("refs", [])):
            q["sites"] = [self._self_site(q, q["contexts"][0])]
            return
        fn = self.g.functions[fn_name]
        field = _field_at(fn.get("field_querysets"), q)
        if field is not None and fn.get("class"):  # self.fields["board"].queryset = Board.objects.all()
            kind = "request" if "request" in q["contexts"] else q["contexts"][0]
            self._field_site(q, fn["class"], field, self._self_site(q, kind))
            return
        self._budget = MAX_VISITS
        calls = _calls_in(fn, q)
        # Calls that build or run the query (``session.scalars(select(Deal))``) are the query,
        # not a key; another call on its lines (``uuid.uuid4()``) makes a value.
        own = {i for i, c in enumerate(fn["calls"])
               if (c in calls and (c["callee"].rpartition(".")[2] in QUERY_CALLS
                                   or c["callee"].startswith(EXPRESSION_BUILDERS)))
               or c["callee"].rpartition(".")[2] in SUBQUERIES}  # a subquery built earlier is no value
        leaves = q.get("key_leaves") or [leaf for c in calls for a in [*c["args"], *c["kw"].values(),
                                                                      c.get("narrowed_by", ())] for leaf in a
                                         if not (leaf[0] in ("call", "row") and leaf[1] in own)]
        keys, state = self._classify(fn, leaves)
        sites: list[dict] = []
        own_guard = (self._row_guard(fn_name, [i for i, c in enumerate(fn["calls"]) if c in calls])
                     or self._key_guard(fn_name, keys, state))
        self._walk(q, fn_name, keys, state, [], sites, set(), own_guard)
        sites = _dedupe_sites(sites)[:MAX_SITES]
        q["sites"] = sites
        q["paths"] = [s["steps"] for s in sites if s["steps"]][:MAX_PATHS]

    def _no_current_tenant(self, q: dict, fn_name: str) -> None:
        """django-multitenant and current-tenant managers filter by the tenant a request's
        middleware (or the code) set. A query only background work, commands or startup code
        reach, in a function that sets no tenant and is called by none that does, is not
        filtered: it reads every tenant's rows. (Reached by requests too, it stays scoped.)"""
        if not set(q["contexts"]) <= NO_CURRENT_TENANT or self._sets_tenant(fn_name):
            return
        for ref in q.get("refs", ()):
            if ref.get("current_tenant") and ref.get("scope") == "runtime":
                ref["scope"] = "none"
                ref["runtime_gap"] = ref["reason"] = (f"{ref['reason']}, but no request sets one in "
                                                      f"{'/'.join(q['contexts'])} code and this code sets none")

    def _sets_tenant(self, fn_name: str) -> bool:
        """The function, or a function that calls it, calls ``set_current_tenant()`` or the like."""
        callers = [fn_name, *(e.caller for e in self.g.into.get(fn_name, ()))]
        return any(c["callee"].rpartition(".")[2] in TENANT_SETTERS
                   for name in callers for c in (self.g.functions.get(name) or {}).get("calls", ()))

    def _walk(self, q, name: str, keys: set, state: dict, path: list[Edge], sites: list, seen: set,
              guard: dict | None, handoff: bool = False) -> None:
        self._budget -= 1
        if len(sites) >= MAX_SITES or self._budget < 0:
            return
        entry = self.ctx.entries.get(name)
        reached = sorted(self.ctx.of.get(name) or ())
        kind = entry or (reached[0] if reached else "unreachable")
        if guard is not None:
            sites.append(self._site(q, name, keys, state, path, kind, guard))
            return
        into = [e for e in self.g.into.get(name, ()) if e.kind != "handoff"]
        if entry is not None or not into or len(path) >= MAX_DEPTH:
            guard = self._entry_guard(name, keys, state) if entry in ("request", "admin") else None
            if guard is not None:
                sites.append(self._site(q, name, keys, state, path, kind, guard))
            elif not handoff or self._request_key(name, keys, state, entry):
                sites.append(self._site(q, name, keys, state, path, kind))
            if entry == "background":
                # Request data handed to the job: judged in the request context, at the hand-over.
                into = [e for e in self.g.into.get(name, ()) if e.kind == "handoff"]
                handoff = True
            elif not (entry == "admin" and into and len(path) < MAX_DEPTH):
                return
            # else: a method an admin view inherits may serve other views that call it (super())
        for e in into:
            if e.caller in seen or e.caller == name:
                continue
            caller = self.g.functions[e.caller]
            carried = self._needs_on(q, name, path, e, caller, state)
            if carried is None:  # the caller leaves a flag off that the way to the query needs
                continue
            new_keys, new_state = self._map(caller, self.g.functions[name], e, keys, state)
            new_state["needs"] = carried
            if e.call >= 0 and "unused" not in new_state and caller["calls"][e.call].get("discarded"):
                # await cleanup(ids): whatever the rows become below, none comes back up this way
                call = caller["calls"][e.call]
                new_state["unused"] = {"line": call["line"], "function": e.caller,
                                       "code": call["callee"].rsplit(".", 1)[-1]}
            row_guard = self._row_guard(e.caller, [e.call]) if e.call >= 0 else None
            narrowed = caller["calls"][e.call].get("narrowed") if e.call >= 0 else None
            if narrowed and row_guard is None:  # super().get_queryset().filter(event=...)
                row_guard = {"kind": "narrowed",
                             "reason": f"the caller filters the rows by the tenant at line {narrowed}"}
            key_guard = self._key_guard(e.caller, new_keys, new_state)
            self._walk(q, e.caller, new_keys, new_state, [e, *path], sites, seen | {name},
                       row_guard or key_guard, handoff)

    def _class_query(self, q: dict, cls: str) -> None:
        """A class attribute (``queryset = Deal.objects.all()`` of a view): reached by the
        class's methods; an object permission of its permission classes guards the rows."""
        q["contexts"] = self.ctx.contexts(cls)
        users = self._routed_users(cls) if q.get("related_field") is None else None
        if users is not None:  # an unrouted base: the routed subclasses that keep its rows reach them
            q["contexts"] = sorted(users) or ["unreachable"]
        kind = q["contexts"][0]
        if "request" in q["contexts"]:
            kind = "request"
        site = self._self_site(q, kind)
        field = self._related_field(q, cls)
        if field is not None:
            self._field_site(q, cls, field, site)
            return
        # A class-level lookup (a Django DetailView's ``model = X``) is get_object() by the URL.
        if (q.get("lookup") or self._detail_only(cls)) and kind in ("request", "admin", "unreachable"):
            # Rows of this queryset leave only through get_object(), by the URL's key (``pk``:
            # lookup_url_kwarg / lookup_field are strings the class facts do not keep).
            q["lookup"] = True
            site.update({"key": "request", "keys": ["pk"],
                         "note": "pk from the URL, fetched by get_object() of a detail view"})
        reason = self._object_permission(cls)
        if reason:
            site["guard"] = {"kind": "permission", "reason": reason}
        q["sites"] = [site]

    def _routed_users(self, cls: str) -> set[str] | None:
        """For a view class that is never routed itself but is a base of routed ones, the
        contexts of those that keep its class-level rows; None otherwise. pretix's
        ``RefundExportListView`` (``model = RefundExport``): each routed subclass replaces
        ``get_queryset()`` (a detail view's ``get_object()``) without ``super()``, so the
        base's rows serve no request."""
        if cls in self.ctx.routed_classes:
            return None
        routed = [r for r in self.ctx.routed_classes if r != cls and cls in self.g.class_chain(r)]
        if not routed:
            return None
        return {self.ctx.routed_classes[r] for r in routed if not self._replaces_rows(r, cls)}

    def _replaces_rows(self, routed: str, base: str) -> bool:
        """A class between ``routed`` and ``base`` fetches its own rows: it overrides
        ``get_queryset()`` (a detail view's ``get_object()`` too) and calls neither ``super()``
        nor ``self.get_queryset()`` there."""
        detail = bool({b.rsplit(".", 1)[-1] for b in self.g.bases_of(base)} & DETAIL_VIEWS)
        for c in self.g.class_chain(routed):
            if c == base:
                return False
            for short in ("get_queryset", "get_object") if detail else ("get_queryset",):
                method = self.g.methods.get(c, {}).get(short)
                if method is None:
                    continue
                calls = {call["callee"] for call in self.g.functions[method].get("calls", ())}
                if not calls & {"super.get_queryset", "super.get_object", "self.get_queryset"}:
                    return True
        return False

    def _related_field(self, q: dict, cls: str) -> str | None:
        """The related field (``board = PrimaryKeyRelatedField(queryset=...)``) whose queryset
        this class-level query is."""
        return q.get("related_field") or _field_at(self.g.classes[cls].get("related_fields"), q)

    def _field_site(self, q: dict, cls: str, field: str, site: dict) -> None:
        """A related field fetches the row whose id the client sent: a lookup by a request
        key, guarded by ``validate_<field>()`` or ``validate()`` checking the row's tenant.
        (A class-level queryset that a method replaces is scoped by the extractor already.)"""
        methods = self.g.class_methods(cls)
        q["lookup"] = True
        site.update({"key": "request", "keys": [field],
                     "note": f"{field} from the request body: the field fetches any row by the id it is sent"})
        for m in methods:
            short = m.rsplit(".", 1)[-1]
            if short not in (f"validate_{field}", "validate"):
                continue
            fn = self.g.functions[m]
            value = fn["params"][1] if len(fn["params"]) > 1 else None
            if value and ("p", value) in self.verified(m):
                site["guard"] = {"kind": "validator", "reason": f"{short}() checks it"}
                site["note"] = None
                break
        q["sites"] = [site]

    def _detail_only(self, cls: str) -> bool:
        """A DRF view that fetches one object by the URL's key and never lists its queryset: a
        detail generic (``RetrieveAPIView``, ``UpdateAPIView``, ...) or a generic view whose
        own method calls ``self.get_object()`` (a ``CreateAPIView``'s ``post``), with no list
        action and no method of its own that reads the whole queryset."""
        bases = {b.rsplit(".", 1)[-1] for b in self.g.bases_of(cls)}
        if bases & LISTING_VIEWS:
            return False
        fetches = False  # a method of its own calls self.get_object() (a CreateAPIView's post)
        for method in self.g.class_methods(cls):
            short = method.rsplit(".", 1)[-1]
            if short in LISTING_METHODS:
                return False
            own = [c["callee"].rpartition(".")[2] for c in self.g.functions[method]["calls"]
                   if c["callee"].startswith(("self.", "super."))]
            if any(name in LISTING_METHODS for name in own):
                return False
            fetches = fetches or "get_object" in own
        return bool(bases & DETAIL_VIEWS or fetches and bases & GENERIC_VIEWS)

    def _object_permission(self, cls: str) -> str | None:
        """A permission class whose ``has_object_permission`` verifies the object (DRF runs it
        in ``get_object()`` for every object the view's queryset yields)."""
        for c in self.g.class_chain(cls):
            for perm in (self.g.classes.get(c, {}).get("attrs") or {}).get("permission_classes") or []:
                found = self.g.find(perm)
                method = self.g.method(found, "has_object_permission") if found in self.g.classes else None
                if method is None:
                    continue
                fn = self.g.functions[method]
                obj = fn["params"][3] if len(fn["params"]) > 3 else None
                if obj and ("p", obj) in {tuple(leaf[:2]) for c2 in fn.get("checks", []) for leaf in c2["verifies"]}:
                    return f"permission class {found.rsplit('.', 1)[-1]} checks each object"
        return None

    # -- provenance --------------------------------------------------------------------------
    def _classify(self, fn: dict, leaves: list) -> tuple[set, dict]:
        """Parameters that feed the key, and what is already known of the rest."""
        deps = fn.get("deps") or {}
        not_keys = _not_keys(fn, NOT_KEYS)
        keys: set = set()
        state = {"request": [], "unknown": False, "server": False, "caller": False}
        for leaf in leaves:
            kind = leaf[0]
            if kind == "p":
                if leaf[1] in ("self", "cls", "queryset", "qs") or leaf[1] in deps:
                    # An attribute of the model instance or of the view's state (request data is
                    # an "r" leaf), rows a caller selected, or what a dependency returned (each
                    # judged where it was fetched).
                    state["server"] = True
                elif leaf[1] not in not_keys:
                    keys.add(leaf[1])
            elif kind == "r":
                state["request"] = [*state["request"], leaf[1]]
            elif kind in ("row", "call", "s"):  # a fetched row, its attribute, the session (the caller's identity
                state["server"] = True       # is no key: scoping by it is the scope analysis' job)
            elif kind == "?":
                state["unknown"] = True
            elif kind == "own":  # a value made from the caller's identity: a key of the caller's own rows
                state["caller"] = True
        return keys, state

    def _map(self, caller: dict, callee: dict, e: Edge, keys: set, state: dict) -> tuple[set, dict]:
        """The callee's key parameters in terms of the caller's values at this call."""
        state = {**state, "request": list(state["request"])}
        if e.kind == "value":  # registered or passed along: who calls it, with what, is not seen
            if keys:
                state["opaque"] = True
            return set(), state
        if e.call < 0:  # a dependency or decorator: FastAPI fills parameters by name
            if self._is_dependency(caller, e.callee):
                # What the handler does not pass, FastAPI takes from the request (path, query).
                state["request"] += [k for k in sorted(keys) if k not in caller["params"]]
            return {k for k in keys if k in caller["params"]}, state
        call = caller["calls"][e.call]
        leaves = []
        for k in keys:
            found = _argument(call, callee["params"], k, e.shift)
            if found is None:
                state["unknown"] = True
            leaves += found or ()  # not passed: the parameter's default, a server value
        new_keys, found = self._classify(caller, leaves)
        state["request"] += found["request"]
        state["unknown"] = state["unknown"] or found["unknown"]
        state["server"] = state["server"] or found["server"]
        state["caller"] = state.get("caller") or found["caller"]
        return new_keys, state

    def _needs_on(self, q: dict, name: str, path: list[Edge], e: Edge, caller: dict, state: dict) -> dict | None:
        """The way on from ``name`` toward the query may run only when parameters are truthy
        (``if not widen: return``) or set (``if folder_id is None: return``): None when this
        caller leaves one at a falsy default or passes a falsy literal; else what the caller's
        own parameters must be for it (a flag passed along: ``widen=widen``)."""
        fn = self.g.functions[name]
        needs = dict(state.get("needs") or {})
        if fn.get("needs"):
            line = fn["calls"][path[0].call]["line"] if path and path[0].call >= 0 else q["line"]
            for need in fn["needs"]:
                if need["from"] <= line <= need["to"] and need["param"] in fn["params"]:
                    needs.setdefault(need["param"], need["kind"])
        if not needs or e.call < 0 or e.kind != "call":
            return {}
        call = caller["calls"][e.call]
        if call.get("splat"):
            return {}
        carried = {}
        falsy = call.get("falsy") or {}
        for param, kind in needs.items():
            if param in call["kw"]:
                value, passed = falsy.get(param), call["kw"][param]
            else:
                pos = _position(fn["params"], param, e.shift)
                if 0 <= pos < len(call["args"]):
                    value, passed = falsy.get(str(pos)), call["args"][pos]
                else:
                    value, passed = (fn.get("falsy_defaults") or {}).get(param), []
            if value == "none" or value == "false" and kind == "truthy":
                return None
            if len(passed) == 1 and passed[0][0] == "p" and passed[0][1] in caller["params"]:
                carried[passed[0][1]] = kind
        return carried

    def _is_dependency(self, fn: dict, callee: str) -> bool:
        return any(self.g.resolve_callable(ref) == callee for ref in (fn.get("deps") or {}).values())

    def _request_key(self, name: str, keys: set, state: dict, entry: str | None) -> bool:
        if state["request"]:
            return True
        return entry in ("request", "admin") and bool(self._route_keys(name, keys))

    def _route_keys(self, name: str, keys: set) -> list[str]:
        fn = self.g.functions[name]
        skip = _not_keys(fn, REQUEST_PARAMS_SKIP)
        return sorted(k for k in keys if k not in (fn.get("deps") or {}) and k not in skip)

    # -- guards --------------------------------------------------------------------------------
    def _row_guard(self, name: str, call_indexes: list[int]) -> dict | None:
        verified = self.verified(name)
        for i in call_indexes:
            reason = verified.get(("call", i))
            if reason:
                return {"kind": reason[0], "reason": reason[1]}
        return None

    def _key_guard(self, name: str, keys: set, state: dict) -> dict | None:
        """The keys that reach this function are verified here (all of them)."""
        if not keys or state["request"] or state["unknown"]:
            return None
        verified = self.verified(name)
        reasons = [verified.get(("p", k)) for k in sorted(keys)]
        if all(reasons):
            return {"kind": reasons[0][0], "reason": reasons[0][1]}
        return None

    def _entry_guard(self, name: str, keys: set, state: dict) -> dict | None:
        """At a request entry: every request-controlled key is verified (a permission class,
        decorator, dependency or check of the handler)."""
        verified = self.verified(name)
        wanted = [("p", k) for k in self._route_keys(name, keys)] + [("r", r) for r in state["request"]]
        if not wanted or state["unknown"]:
            return None
        reasons = [verified.get(w) for w in wanted]
        if all(reasons):
            return {"kind": reasons[0][0], "reason": reasons[0][1]}
        return None

    def verified(self, name: str, depth: int = 0) -> dict:
        """``(leaf kind, value) -> (guard kind, reason)`` for what the function ties to the caller.

        A key that fetched a verified row is verified too: ``job = get_job(job_id)`` then
        ``if job.user_id != user_id: raise`` ties ``job_id`` to the caller."""
        if name in self._verified:
            return self._verified[name]
        self._verified[name] = {}
        fn = self.g.functions[name]
        out: dict = {}
        for check in fn.get("checks", []):
            for leaf in check["verifies"]:
                _verify(out, leaf, ("check", f"checked at line {check['line']}"))
        for e in self.g.out.get(name, ()):
            if e.call < 0 or e.kind != "call":
                continue
            params = self.guard_params(e.callee, depth + 1)
            if not params:
                continue
            call = fn["calls"][e.call]
            callee = self.g.functions[e.callee]["params"]
            for p in params:
                for leaf in _argument(call, callee, p) or ():
                    _verify(out, leaf, ("guard", f"{e.callee.rsplit('.', 1)[-1]}() at line {call['line']}"))
        for call in fn.get("calls", []):
            for guard in self._config_guards_of(call["callee"]):
                reason = ("guard", f"{guard['function']}() (config) at line {call['line']}")
                for pos in guard["checks"]:
                    if isinstance(pos, str):  # a keyword argument
                        given = call["kw"].get(pos, ())
                    else:
                        given = call["args"][pos] if pos < len(call["args"]) else ()
                    for leaf in given:
                        _verify(out, leaf, reason)
        for key, reason in list(out.items()):
            if key[0] == "call" and key[1] < len(fn["calls"]):
                fetch = fn["calls"][key[1]]
                for leaf in (leaf for a in [*fetch["args"], *fetch["kw"].values()] for leaf in a):
                    if leaf[0] in ("p", "r"):
                        out.setdefault(_key(leaf), reason)
        if self.ctx.entries.get(name) in ("request", "admin"):
            for kwarg, reason in self._framework_verified(name).items():
                out.setdefault(("p", kwarg), ("permission", reason))
                out.setdefault(("r", f"kwargs:{kwarg}"), ("permission", reason))
        self._verified[name] = out
        return out

    def _config_guards_of(self, callee: str) -> list[dict]:
        """Config ``guards`` naming this callee (a glob, or the tail of its dotted name)."""
        return [g for g in self.config_guards
                if fnmatch.fnmatchcase(callee, g["function"]) or callee.endswith("." + g["function"])]

    def guard_params(self, name: str, depth: int = 0) -> set:
        """Parameters a function verifies (its checks, rows it fetched by them, or guards it
        hands them to), followed a few calls deep."""
        if name in self._guard_params:
            return self._guard_params[name]
        fn = self.g.functions.get(name)
        if fn is None or depth > MAX_GUARD_DEPTH:
            return set()
        self._guard_params[name] = set()
        params = set(fn["params"]) - {"self", "cls"}
        found = {key[1] for key in self.verified(name, depth) if key[0] == "p"} & params
        self._guard_params[name] = found
        return found

    def _framework_verified(self, name: str) -> dict[str, str]:
        """URL keywords verified for a handler by its permission classes, decorators and
        dependencies: their checks verify ``kwargs[...]`` or a same-named parameter."""
        fn = self.g.functions[name]
        out: dict[str, str] = {}
        sources = []
        cls = fn.get("class")
        if cls:
            for c in self.g.class_chain(cls):
                for perm in (self.g.classes.get(c, {}).get("attrs") or {}).get("permission_classes") or []:
                    found = self.g.find(perm)
                    if found in self.g.classes:
                        sources += [(m, f"permission class {found.rsplit('.', 1)[-1]}")
                                    for m in self.g.class_methods(found)]
        for ref in fn.get("decorators", []):
            found = self.g.find(ref)
            if found in self.g.functions:
                sources += [(n, f"decorator @{found.rsplit('.', 1)[-1]}") for n in self.g.nested(found)]
        for ref in (fn.get("deps") or {}).values():
            found = self.g.find(ref)
            if found in self.g.functions:
                sources.append((found, f"dependency {found.rsplit('.', 1)[-1]}"))
        for source, reason in sources:
            src = self.g.functions[source]
            for check in src.get("checks", []):
                for leaf in check["verifies"]:
                    if leaf[0] == "r" and leaf[1].startswith("kwargs:"):
                        out.setdefault(leaf[1][7:], reason)
                    elif leaf[0] == "p" and leaf[1] in fn["params"] and leaf[1] not in NOT_KEYS:
                        out.setdefault(leaf[1], reason)
        return out

    # -- sites -------------------------------------------------------------------------------
    def _site(self, q, name: str, keys: set, state: dict, path: list[Edge], kind: str,
              guard: dict | None = None) -> dict:
        fn = self.g.functions[name]
        if any(e.admin for e in path) and kind == "request":
            kind = "admin"
        route_keys = self._route_keys(name, keys) if kind in ("request", "admin") else []
        requested = [*state["request"], *route_keys]
        if state.get("caller"):  # also keyed by the caller's identity: whatever else the request narrows
            key, requested = "server", []
        elif state.get("opaque") and not state["request"]:
            key = "opaque"
        elif requested:
            key = "request"
        elif state["unknown"] or (keys and kind not in ("request", "admin")):
            key = "unknown"
        elif state["server"]:
            key = "server"
        else:
            key = "none"
        steps = self._steps(q, path)
        if path:
            first = path[0]
            if first.call >= 0:
                call = fn["calls"][first.call]
                where = {"line": call["line"], "column": call["column"], "end_line": call["end_line"],
                         "end_column": call["end_column"], "code": call["callee"]}
            else:
                where = {"line": fn["line"], "column": 1, "end_line": fn["line"], "end_column": None,
                         "code": first.callee}
            site = {"path": fn["path"], "function": name, **where}
        else:
            site = {"path": q["path"], "function": name, "line": q["line"], "column": q.get("column", 1),
                    "end_line": q.get("end_line", q["line"]), "end_column": q.get("end_column"), "code": None}
        site.update({"context": kind, "steps": steps, "guard": guard, "key": key,
                     "keys": sorted({_describe(r) for r in requested}),
                     "entry": self.ctx.reasons.get(name) if self.ctx.entries.get(name) else None})
        if state.get("unused"):
            site["unused"] = state["unused"]
        site["note"] = _note(site, q, self._unchecked(name, path, kind))
        return site

    def _unchecked(self, name: str, path: list[Edge], kind: str) -> str | None:
        """What the handler did check, when none of it ties the rows to the tenant."""
        if kind not in ("request", "admin"):
            return None
        fn = self.g.functions[name]
        done = [f"{c['text']} (line {c['line']})" for c in fn.get("other_checks", [])]
        done += self.ctx.auth.get(name, [])
        if not done:
            return None
        return "checked: " + ", ".join(done[:3]) + ", none of it about the tenant"

    def _self_site(self, q: dict, kind: str) -> dict:
        return {"path": q["path"], "function": q.get("function"), "line": q["line"], "column": q.get("column", 1),
                "end_line": q.get("end_line", q["line"]), "end_column": q.get("end_column"), "code": None,
                "context": kind, "steps": [], "guard": None, "key": "none", "keys": [], "entry": None}

    def _steps(self, q: dict, path: list[Edge]) -> list[dict]:
        if not path:
            return []
        steps = []
        for e in path:
            fn = self.g.functions[e.caller]
            line = fn["calls"][e.call]["line"] if e.call >= 0 else fn["line"]
            steps.append({"function": e.caller, "path": fn["path"], "line": line})
        steps.append({"function": q.get("function"), "path": q["path"], "line": q["line"]})
        return steps


def _note(site: dict, q: dict, unchecked: str | None) -> str | None:
    """What a reader needs beside the rule's message: where the key comes from, what was
    checked instead, how the query is reached."""
    parts = []
    if site["key"] == "request" and site["keys"]:
        parts.append(", ".join(site["keys"]) + " from the request")
    if unchecked and site["guard"] is None:
        parts.append(unchecked)
    if site["steps"]:
        chain = [s["function"] for s in site["steps"]]
        head = f"{site['entry']} ({chain[0]})" if site.get("entry") else chain[0]
        parts.append("reached from " + " → ".join([head, *chain[1:]]))
    elif site.get("entry") and site["context"] not in ("request", "alone"):
        parts.append(f"{site['context']}: {site['entry']}")
    if site["context"] == "unreachable":
        parts.append("no entry point reaches this code")
    if site.get("unused") and not q.get("lookup") and all(r.get("use") == "read" for r in q.get("refs", ())):
        unused = site["unused"]  # said of reads only: missing-tenant-filter lowers them (option unused_result)
        parts.append(f"none of the rows comes back: {unused['code']}() drops its result at "
                     f"{unused['function'].rsplit('.', 1)[-1]}() line {unused['line']}")
    return "; ".join(parts) or None


def _argument(call: dict, params: list[str], name: str, shift: int = 0) -> list | None:
    """Leaves of the value ``call`` passes for parameter ``name`` ([] when it is not passed:
    its default), or None when the callee has no such parameter. ``shift``: arguments
    before the callee's first parameter (``enqueue(fn, a)``)."""
    if name in call["kw"]:
        return call["kw"][name]
    if name not in params:
        return None
    pos = _position(params, name, shift)
    return call["args"][pos] if 0 <= pos < len(call["args"]) else []


def _position(params: list[str], name: str, shift: int = 0) -> int:
    """Index of the positional argument that fills parameter ``name`` (a method's ``self``
    is not passed; ``shift``: arguments before the callee's first parameter)."""
    return params.index(name) - (1 if params[:1] in (["self"], ["cls"]) else 0) + shift


def _field_at(fields: list[dict] | None, q: dict) -> str | None:
    """The related field whose queryset the query at ``q``'s line is."""
    for field in fields or ():
        if field["line"] <= q["line"] <= field["end_line"]:
            return field["name"]
    return None


def _calls_in(fn: dict, q: dict) -> list[dict]:
    first, last = q.get("line", 0), q.get("end_line") or q.get("line", 0)
    return [c for c in fn.get("calls", []) if first <= c["line"] <= last]


def _verify(out: dict, leaf: list, reason: tuple) -> None:
    """Record a verified leaf; verifying ``row.flow_id`` (the row's parent) ties the row too."""
    out.setdefault(_key(leaf), reason)
    if leaf[0] == "row":
        out.setdefault(("call", leaf[1]), reason)


def _key(leaf: list) -> tuple:
    return tuple(leaf[:2]) if leaf[0] != "row" else ("row", leaf[1], leaf[2])


def _describe(value: str) -> str:
    return value[7:] if value.startswith("kwargs:") else value


def _dedupe_sites(sites: list[dict]) -> list[dict]:
    """One site per place and context: the first found, unless a later way to it brings its
    rows back up (no ``unused``), which then speaks for the place."""
    out: list[dict] = []
    seen: dict[tuple, int] = {}
    for s in sites:
        key = (s["path"], s["line"], s["column"], s["context"])
        if key not in seen:
            seen[key] = len(out)
            out.append(s)
        elif out[seen[key]].get("unused") and not s.get("unused"):
            out[seen[key]] = s
    return out
