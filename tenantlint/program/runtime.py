"""Tenant filters that a library adds at run time, for whole models.

- **django-scopes**: a ``ScopedManager`` raises ``ScopeError`` unless a ``scope()`` is
  active, so a query through it is scoped, unless ``scopes_disabled()`` switched it off;
  the model's other managers (``_base_manager``, a plain ``Manager``) are not.
- **django-multitenant**: a ``TenantModel`` (``TenantModelMixin``, a ``TenantManager``)
  filters by the tenant ``set_current_tenant()`` set; its other managers do not.
- **SQLAlchemy loader criteria**: ``with_loader_criteria(Model, lambda cls: cls.tenant_id ==
  ...)`` (in a ``do_orm_execute`` listener) filters every ORM statement of the model and of
  the models built on it; ``text()`` and raw SQL are not filtered.

>>> models = {"Note": {"bases": ["TenantMixin", "Base"], "managers": {}}}
>>> files = [{"path": "db.py", "runtime_scopes": [
...     {"kind": "sqlalchemy-criteria", "model": "TenantMixin", "column": "practice_id", "line": 9}]}]
>>> scopes = RuntimeScopes(files, models)
>>> scopes.scope({"model": "Note", "scope": "none"}, "sqlalchemy")
('runtime', 'with_loader_criteria(TenantMixin, ...) at db.py:9 adds a filter on practice_id to every ORM statement')
>>> scopes.scope({"model": "Note", "scope": "none"}, "raw-sql") is None
True
"""

from __future__ import annotations

SCOPED_MANAGERS = ("ScopedManager",)
MULTITENANT_BASES = ("TenantModel", "TenantModelMixin")
MULTITENANT_MANAGERS = ("TenantManager", "TenantManagerMixin")
UNSCOPED_MANAGERS = {"_base_manager"}


class RuntimeScopes:
    def __init__(self, files: list[dict], models: dict):
        self.models = models
        self.criteria = {fact["model"]: {**fact, "path": facts["path"]}
                         for facts in files for fact in facts.get("runtime_scopes", ())
                         if fact["kind"] == "sqlalchemy-criteria"}
        # class short name -> base short names, to see a project manager built on TenantManagerMixin
        self.class_bases = {cls["name"].rsplit(".", 1)[-1]: [b.rsplit(".", 1)[-1] for b in cls.get("bases", [])]
                            for facts in files for cls in (facts.get("program") or {}).get("classes", ())}

    def scope(self, ref: dict, origin: str | None) -> tuple[str, str] | None:
        """(scope, reason) that a runtime library gives an unscoped reference, if any."""
        if ref.get("scope") != "none":
            return None
        if origin == "django":
            return self._django_scopes(ref) or self._multitenant(ref)
        if origin == "sqlalchemy" and self.criteria:
            return self._criteria(ref)
        return None

    def _django_scopes(self, ref: dict) -> tuple[str, str] | None:
        kind = self._manager_kind(ref)
        if not kind.rsplit(".", 1)[-1].endswith(SCOPED_MANAGERS):
            return None
        if ref.get("scopes_disabled"):
            return "none", f"django-scopes switched off by {ref['scopes_disabled']}"
        return "runtime", f"django-scopes {kind.rsplit('.', 1)[-1]} ({ref['manager']}): needs an active scope()"

    def _multitenant(self, ref: dict) -> tuple[str, str] | None:
        manager = ref.get("manager") or "objects"
        kind = self._manager_kind(ref).rsplit(".", 1)[-1]
        if kind and any(name.endswith(MULTITENANT_MANAGERS) for name in self._bases(kind)[1:]) or (
                kind.endswith(MULTITENANT_MANAGERS) and kind not in self.class_bases):
            return "runtime", f"django-multitenant {kind} ({manager}): filtered by the current tenant"
        declared = (self.models.get(ref.get("model") or "") or {}).get("managers") or {}
        if manager in UNSCOPED_MANAGERS or manager in declared:
            return None  # a manager the model declares itself (not a TenantManager): not the library's
        base = next((path for name in self._chain(ref.get("model"))
                     for path in (self.models.get(name) or {}).get("base_paths") or ()
                     if path.startswith("django_multitenant.") and path.rsplit(".", 1)[-1] in MULTITENANT_BASES), None)
        if base is None:  # a TenantModel of the project's own is an ordinary base
            return None
        return "runtime", (f"django-multitenant {base.rsplit('.', 1)[-1]}: "
                           "filtered by the tenant set_current_tenant() set")

    def _criteria(self, ref: dict) -> tuple[str, str] | None:
        for name in self._chain(ref.get("model")):
            fact = self.criteria.get(name)
            if fact is not None:
                return "runtime", (f"with_loader_criteria({name}, ...) at {fact['path']}:{fact['line']} adds a "
                                   f"filter on {fact['column']} to every ORM statement")
        return None

    def _manager_kind(self, ref: dict) -> str:
        managers = (self.models.get(ref.get("model") or "") or {}).get("managers") or {}
        return managers.get(ref.get("manager") or "") or ""

    def _bases(self, cls: str) -> list[str]:
        """The class and its bases' names, through the project's classes."""
        out, stack = [], [cls] if cls else []
        while stack and len(out) < 50:
            name = stack.pop(0)
            if name not in out:
                out.append(name)
                stack.extend(self.class_bases.get(name, ()))
        return out

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
