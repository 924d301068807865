"""Tenant filters a library adds at run time, declared once for a whole model.

SQLAlchemy's ``with_loader_criteria(Note, lambda cls: cls.practice_id == current_practice())``,
usually set on every statement by a ``do_orm_execute`` event listener, adds the tenant
filter to every ORM statement of ``Note`` (and, given a mixin, of every model built on it);
``text()`` and raw SQL get nothing. A Django manager whose ``get_queryset`` filters by the
current tenant (``.filter(practice_id=get_current_practice())``, a context variable's
``.get()``) does the same for the models that use it. This module finds such declarations
in one file; the linker marks the ORM queries of those models scoped (scope ``runtime``).
A SQLAlchemy ``Query`` subclass (or a ``Session`` subclass's ``query()``) that adds a tenant
filter to every query, installed with ``sessionmaker(query_cls=...)``, Flask-SQLAlchemy's
``query_class``, or ``sessionmaker(class_=...)``, scopes ``session.query(M)`` and ``M.query``
(not ``select()`` statements, which never go through a Query class).

>>> import libcst as cst
>>> from tenantlint.config import Config
>>> module = cst.parse_module(
...     "opts = with_loader_criteria(TenantMixin, lambda cls: cls.practice_id == tenant.get(),"
...     " include_aliases=True)\\n")
>>> [fact for _, fact in loader_criteria(module, Config(tenant_columns=("practice_id",)))]
[{'kind': 'sqlalchemy-criteria', 'model': 'TenantMixin', 'column': 'practice_id'}]
"""

from __future__ import annotations

import libcst as cst

from tenantlint.config import Config
from tenantlint.extract.python.tree import callee, descendants, dotted


def loader_criteria(module: cst.Module, config: Config) -> list[tuple[cst.Call, dict]]:
    """(call, fact) for each ``with_loader_criteria(Model, <tenant comparison>)``."""
    out = []
    for call in descendants(module, cst.Call):
        if callee(call) != "with_loader_criteria" or len(call.args) < 2:
            continue
        model = dotted(call.args[0].value)
        column = _tenant_column(call.args[1].value, config)
        if model and column:
            out.append((call, {"kind": "sqlalchemy-criteria", "model": model.rsplit(".", 1)[-1], "column": column}))
    return out


def _tenant_column(criteria: cst.BaseExpression, config: Config) -> str | None:
    """The tenant column the criteria compare (``lambda cls: cls.practice_id == ...`` or
    ``Note.practice_id == ...``), if any."""
    body = criteria.body if isinstance(criteria, cst.Lambda) else criteria
    for comparison in descendants(body, cst.Comparison):
        if not all(isinstance(c.operator, (cst.Equal, cst.In)) for c in comparison.comparisons):
            continue
        for side in (comparison.left, *(c.comparator for c in comparison.comparisons)):
            if isinstance(side, cst.Attribute) and config.is_tenant_column(side.attr.value):
                return side.attr.value
    return None


_CURRENT_WORDS = ("current", "tenant", "active", "thread", "local", "context")


def current_tenant_managers(classes: dict, config: Config) -> list[dict]:
    """Manager / QuerySet classes of this file whose ``get_queryset`` filters the tenant
    column by a value of the current request (a getter or a context variable)."""
    out = []
    for info in classes.values():
        if "get_queryset" not in info.methods or not any(
                b.rsplit(".", 1)[-1].endswith(("Manager", "QuerySet")) for b in info.bases):
            continue
        method = next((s for s in info.node.body.body if isinstance(s, cst.FunctionDef)
                       and s.name.value == "get_queryset"), None)
        column = _current_filter(method, config) if method is not None else None
        if column:
            out.append({"kind": "tenant-manager", "manager": info.name, "column": column})
    return out


def _current_filter(method: cst.FunctionDef, config: Config) -> str | None:
    for call in descendants(method, cst.Call):
        if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "filter"):
            continue
        for arg in call.args:
            if arg.keyword is None:
                continue
            column = arg.keyword.value.split("__")[0]
            if not (config.is_tenant_column(column) or config.is_tenant_column(column + "_id")):
                continue
            text = cst.Module([]).code_for_node(arg.value).lower()
            if isinstance(arg.value, (cst.Call, cst.Attribute)) and any(w in text for w in _CURRENT_WORDS):
                return arg.keyword.value
    return None


QUERY_CLASS_KEYWORDS = ("query_cls", "query_class", "class_")


def tenant_query_classes(classes: dict, config: Config) -> list[dict]:
    """``class TenantQuery(Query)`` whose methods add ``filter_by(practice_id=...)`` or
    ``filter(Model.practice_id == ...)``; ``class TenantSession(Session)`` whose ``query()`` does."""
    out = []
    for info in classes.values():
        bases = [b.rsplit(".", 1)[-1] for b in info.bases]
        query = any(b.endswith("Query") for b in bases)
        if not query and not any(b.endswith("Session") for b in bases):
            continue
        for method in info.node.body.body:
            if isinstance(method, cst.FunctionDef) and (query or method.name.value == "query"):
                column = _query_filter(method, config)
                if column:
                    out.append({"kind": "query-class", "class": info.name, "column": column})
                    break
    return out


def query_class_uses(module: cst.Module) -> list[dict]:
    """Classes installed as the query or session class: ``sessionmaker(query_cls=TenantQuery)``,
    ``SQLAlchemy(query_class=...)``, ``sessionmaker(class_=TenantSession)``, ``query_class = ...``."""
    out = []
    for node in descendants(module, (cst.Arg, cst.Assign)):
        if isinstance(node, cst.Arg):
            if node.keyword is not None and node.keyword.value in QUERY_CLASS_KEYWORDS:
                name = dotted(node.value)
                if name:
                    out.append({"kind": "query-class-use", "class": name.rsplit(".", 1)[-1]})
        elif any((dotted(t.target) or "").rsplit(".", 1)[-1] == "query_class" for t in node.targets):
            name = dotted(node.value)
            if name:
                out.append({"kind": "query-class-use", "class": name.rsplit(".", 1)[-1]})
    return out


def _query_filter(method: cst.FunctionDef, config: Config) -> str | None:
    """The tenant column a ``filter_by(col=...)`` / ``filter(X.col == ...)`` in ``method`` pins."""
    for call in descendants(method, cst.Call):
        name = call.func.attr.value if isinstance(call.func, cst.Attribute) else None
        if name == "filter_by":
            for arg in call.args:
                if arg.keyword is not None and config.is_tenant_column(arg.keyword.value):
                    return arg.keyword.value
        elif name in ("filter", "where"):
            for arg in call.args:
                column = _tenant_column(arg.value, config)
                if column:
                    return column
    return None
