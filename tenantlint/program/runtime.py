"""Tenant filters that a library adds at run time, for whole models.

- **django-scopes**: a ``ScopedManager`` raises ``ScopeError`` unless a ``scope()`` is
  active, so a query through it is scoped, unless ``scopes_disabled()`` switched it off;
  the model's other managers (``_base_manager``, a plain ``Manager``) are not.
- **django-multitenant**: a ``TenantModel`` (``TenantModelMixin``, a ``TenantManager``)
  filters by the tenant ``set_current_tenant()`` set; its other managers do not.
- **django-tenants** (schema per tenant): a model of an app in ``TENANT_APPS`` (and not in
  ``SHARED_APPS``) lives in the request's tenant's schema; raw SQL reaches it by the
  ``search_path`` too, so every query of its table is scoped; not a query that names
  another schema, nor one inside ``schema_context(t)`` in a loop over tenants (each pass
  reads another tenant), and ``SET search_path`` in code is reported where it runs.
- **a current-tenant manager**: a manager (or QuerySet) of the project whose
  ``get_queryset`` filters the tenant column by the current request's tenant (a getter, a
  context variable) scopes the queries made through it.
- **SQLAlchemy loader criteria**: ``with_loader_criteria(Model, lambda cls: cls.tenant_id ==
  ...)`` (in a ``do_orm_execute`` listener) filters every ORM statement of the model and of
  the models built on it; ``text()`` and raw SQL are not filtered.

>>> models = {"Note": {"bases": ["TenantMixin", "Base"], "managers": {}}}
>>> files = [{"path": "db.py", "runtime_scopes": [
...     {"kind": "sqlalchemy-criteria", "model": "TenantMixin", "column": "practice_id", "line": 9}]}]
>>> from tenantlint.program.callgraph import CallGraph
>>> scopes = RuntimeScopes(files, models, CallGraph(files))
>>> scopes.scope({"model": "Note", "scope": "none"}, "sqlalchemy")
Verdict(scope='runtime', reason='with_loader_criteria(TenantMixin, ...) at db.py:9 adds a filter on practice_id to every ORM statement', current_tenant=False)
>>> scopes.scope({"model": "Note", "scope": "none"}, "raw-sql") is None
True
"""

from __future__ import annotations

from typing import NamedTuple

SCOPED_MANAGERS = ("ScopedManager",)
MULTITENANT_BASES = ("TenantModel", "TenantModelMixin")
MULTITENANT_MANAGERS = ("TenantManager", "TenantManagerMixin")
UNSCOPED_MANAGERS = {"_base_manager"}
SHARED_SCHEMAS = {"public", "pg_catalog", "information_schema"}


class Verdict(NamedTuple):
    scope: str
    reason: str
    # The filter holds only where the current tenant was set (a request's middleware, or
    # the code itself): background work that sets none reads every tenant's rows.
    current_tenant: bool = False


class RuntimeScopes:
    def __init__(self, files: list[dict], models: dict, graph):
        self.models, self.graph = models, graph  # graph: the project's classes and their bases
        scopes = [{**fact, "path": facts["path"]} for facts in files for fact in facts.get("runtime_scopes", ())]
        self.criteria = {f["model"]: f for f in scopes if f["kind"] == "sqlalchemy-criteria"}
        self.tenant_managers = {f["manager"]: f for f in scopes if f["kind"] == "tenant-manager"}
        installed = {f["class"] for f in scopes if f["kind"] == "query-class-use"}
        self.query_classes = [f for f in scopes if f["kind"] == "query-class" and f["class"] in installed]
        settings = [(facts.get("web") or {}).get("settings") or {} for facts in files]
        self.tenant_apps = {_app_label(a) for st in settings for a in st.get("tenant_apps", ())}
        self.tenant_apps -= {_app_label(a) for st in settings for a in st.get("shared_apps", ())}
        self.by_table = {(m.get("table") or "").lower(): m for m in models.values() if m.get("table")}

    def scope(self, ref: dict, origin: str | None) -> Verdict | None:
        """The scope a runtime library gives an unscoped reference, if any."""
        if ref.get("scope") != "none":
            return None
        if ref.get("tenant_loop"):  # schema_context(t) for every tenant t in turn: no library scopes that
            return Verdict("none", ref["tenant_loop"])
        if self.tenant_apps:
            found = self._tenant_schema(ref)
            if found is not None:
                return found
        if origin == "django":
            return self._django_scopes(ref) or self._multitenant(ref) or self._tenant_manager(ref)
        if origin == "sqlalchemy":
            return self._criteria(ref) or self._query_class(ref)
        return None

    def _django_scopes(self, ref: dict) -> Verdict | None:
        kind = self._manager_kind(ref)
        if not kind.rsplit(".", 1)[-1].endswith(SCOPED_MANAGERS):
            return None
        if ref.get("scopes_disabled"):
            return Verdict("none", f"django-scopes switched off by {ref['scopes_disabled']}")
        return Verdict("runtime", f"django-scopes {kind.rsplit('.', 1)[-1]} ({ref['manager']}): needs an active scope()")

    def _multitenant(self, ref: dict) -> Verdict | None:
        manager = ref.get("manager") or "objects"
        kind = self._manager_kind(ref).rsplit(".", 1)[-1]
        own, names = self._class_names(kind)  # a project manager: its bases; else the library's class
        if kind and any(name.endswith(MULTITENANT_MANAGERS) for name in (names[1:] if own else names)):
            return Verdict("runtime", f"django-multitenant {kind} ({manager}): filtered by the current tenant", True)
        declared = (self.models.get(ref.get("model") or "") or {}).get("managers") or {}
        if manager in UNSCOPED_MANAGERS or manager in declared:
            return None  # a manager the model declares itself (not a TenantManager): not the library's
        base = next((path for name in self._chain(ref.get("model"))
                     for path in (self.models.get(name) or {}).get("base_paths") or ()
                     if path.startswith("django_multitenant.") and path.rsplit(".", 1)[-1] in MULTITENANT_BASES), None)
        if base is None:  # a TenantModel of the project's own is an ordinary base
            return None
        return Verdict("runtime", f"django-multitenant {base.rsplit('.', 1)[-1]}: "
                                  "filtered by the tenant set_current_tenant() set", True)

    def _tenant_manager(self, ref: dict) -> Verdict | None:
        """``objects = PracticeManager()`` whose get_queryset filters by the current practice
        (its class, or a base of it, in the project); ``QuerySet.as_manager()`` likewise."""
        kind = self._manager_kind(ref).split(".as_manager")[0].rsplit(".", 1)[-1]
        if ref.get("manager") in UNSCOPED_MANAGERS or not kind:
            return None
        found = next((self.tenant_managers[b] for b in self._class_names(kind)[1] if b in self.tenant_managers), None)
        if found is None:
            return None
        return Verdict("runtime", f"manager {kind} filters {found['column']} by the current tenant in get_queryset()",
                       True)

    def _criteria(self, ref: dict) -> Verdict | None:
        for name in self._chain(ref.get("model")):
            fact = self.criteria.get(name)
            if fact is not None:
                return Verdict("runtime", f"with_loader_criteria({name}, ...) at {fact['path']}:{fact['line']} adds a "
                                          f"filter on {fact['column']} to every ORM statement")
        return None

    def _query_class(self, ref: dict) -> Verdict | None:
        if not ref.get("query_api") or not self.query_classes:
            return None
        fact = self.query_classes[0]
        return Verdict("runtime", f"the session's query class {fact['class']} (in {fact['path']}) adds a "
                                  f"filter on {fact['column']} to every session.query()")

    def _tenant_schema(self, ref: dict) -> Verdict | None:
        model = self.models.get(ref.get("model") or "") or self.by_table.get((ref.get("table") or "").lower())
        app = _app_label(model.get("module") or "", models_module=True) if model else None
        if app in self.tenant_apps:
            schema = ref.get("schema")
            if schema and schema not in SHARED_SCHEMAS:
                return Verdict("none", f"names the schema {schema}: it reads that schema's rows, whatever the "
                                       "request's tenant (django-tenants sets the search_path, not the schema written)")
            return Verdict("runtime", f"django-tenants: app {app} is in TENANT_APPS, its tables are in each tenant's "
                                      "schema")
        return None

    def _manager_kind(self, ref: dict) -> str:
        managers = (self.models.get(ref.get("model") or "") or {}).get("managers") or {}
        return managers.get(ref.get("manager") or "") or ""

    def _class_names(self, cls: str) -> tuple[bool, list[str]]:
        """(a project class?, the class's short name and its bases', nearest first)."""
        found = self.graph.find(cls) if cls else None
        if found not in self.graph.classes:
            return False, [cls] if cls else []
        return True, [cls, *(b.rsplit(".", 1)[-1] for b in self.graph.bases_of(found))]

    def _chain(self, model: str | None) -> list[str]:
        """The model and the names of its bases, through the project's models (nearest first)."""
        out, stack, seen = [], [model] if model else [], set()
        while stack and len(out) < 50:
            name = stack.pop(0)
            if name in seen:
                continue
            seen.add(name)
            out.append(name)
            stack.extend((self.models.get(name) or {}).get("bases") or [])
        return out


def _app_label(name: str, models_module: bool = False) -> str:
    """``apps.clinic`` / ``clinic.apps.ClinicConfig`` -> ``clinic``; with ``models_module``,
    the app of a models module (``apps.clinic.models.patient`` -> ``clinic``)."""
    parts = name.split(".")
    if models_module:
        parts = parts[:parts.index("models")] if "models" in parts else parts[:-1]
    elif len(parts) >= 3 and parts[-2] == "apps" and parts[-1][:1].isupper():
        parts = parts[:-2]  # an AppConfig path
    return parts[-1] if parts else ""
