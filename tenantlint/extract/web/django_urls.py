"""Django and DRF routes: ``path``/``re_path``/``url`` in url lists, ``include()`` prefixes,
``.as_view()`` classes, views wrapped in ``login_required(...)``, and DRF routers
(``router.register(r"patients", PatientViewSet)``).

A url list is a group: ``urlpatterns`` of ``crm/urls.py`` is the group ``crm.urls``, another
list (``api_patterns``) is ``crm.urls.api_patterns``, a router is its qualified variable.
``include(...)`` mounts a group under a prefix; the linker composes the prefixes.
"""

from __future__ import annotations

import ast

from tenantlint.extract.web.decorated import unwrap
from tenantlint.extract.web.names import Module, arg, callee, dotted, last, location, module_statements, string

URL_FUNCS = {"path", "re_path", "url"}
LIST_WRAPPERS = {"i18n_patterns", "format_suffix_patterns", "patterns"}
ROUTERS = {"DefaultRouter", "SimpleRouter", "ExtendedDefaultRouter", "ExtendedSimpleRouter", "NestedSimpleRouter",
           "NestedDefaultRouter", "DynamicRouter", "OptionalSlashRouter", "BulkRouter", "Router"}


def applies(mod: Module) -> bool:
    return ("urlpatterns" in mod.bindings or mod.imports_from("django.urls", "django.conf.urls", "rest_framework")
            or any(_router(v) for v in mod.bindings.values()))


def routes(mod: Module) -> tuple[list[dict], list[dict]]:
    """(route facts, mount facts) of a urls module."""
    found, mounts = [], []
    routers = {name for name, value in mod.bindings.items() if _router(value)}
    for stmt in module_statements(mod.tree):
        group, value = _target(mod, stmt)
        if value is None:
            continue
        if group is not None:
            _patterns(mod, value, group, found, mounts)
        _registrations(mod, stmt, routers, found)
    return found, mounts


def _router(value) -> bool:
    return isinstance(value, ast.Call) and last(callee(value)) in ROUTERS


def _target(mod: Module, stmt) -> tuple[str | None, ast.AST | None]:
    """The url list a statement builds and the expression it builds it from."""
    name, value = None, None
    match stmt:
        case ast.Assign(targets=[ast.Name(id=n)], value=v) | ast.AnnAssign(target=ast.Name(id=n), value=v):
            name, value = n, v
        case ast.AugAssign(target=ast.Name(id=n), value=v):
            name, value = n, v
        case ast.Expr(value=ast.Call(func=ast.Attribute(value=ast.Name(id=n), attr="append" | "extend" | "insert"),
                                     args=args)):
            name, value = n, ast.List(elts=list(args[-1:]))
        case ast.Expr(value=ast.Call() as call):
            return None, call
    if name is None:
        return None, None
    group = mod.modname if name == "urlpatterns" else f"{mod.modname}.{name}"
    return group, value


def _patterns(mod: Module, value, group: str, found: list, mounts: list) -> None:
    """Each path() in a url list expression (lists, ``+``, i18n_patterns(...))."""
    match value:
        case ast.List(elts=elts) | ast.Tuple(elts=elts):
            for el in elts:
                _patterns(mod, el, group, found, mounts)
        case ast.BinOp(left=left, right=right, op=ast.Add()):
            _patterns(mod, left, group, found, mounts)
            _patterns(mod, right, group, found, mounts)
        case ast.Attribute(value=router, attr="urls"):  # urlpatterns += router.urls
            mounts.append({"group": mod.qualify(dotted(router)), "parent": group, "prefix": "", "auth": []})
        case ast.Call() if last(callee(value)) in LIST_WRAPPERS:
            for a in value.args:
                _patterns(mod, a, group, found, mounts)
        case ast.Call() if last(callee(value)) in URL_FUNCS:
            _url(mod, value, group, found, mounts)


def _url(mod: Module, call: ast.Call, group: str, found: list, mounts: list) -> None:
    route = string(arg(call, 0, "route", "regex"))
    view = arg(call, 1, "view")
    if route is None or view is None:
        return
    if isinstance(view, ast.Call) and last(callee(view)) == "include":
        target = _include_target(mod, view)
        if target:
            mounts.append({"group": target, "parent": group, "prefix": route, "auth": []})
        return
    if isinstance(view, (ast.List, ast.Tuple)):  # path("api/", [path(...), ...]) (old style, and tuples)
        _patterns(mod, view, group, found, mounts)
        return
    handler, marks = unwrap(mod, view)
    if not handler:
        return
    line, column = location(call)
    fact = {"framework": "django", "path": route, "methods": [], "handler": handler, "group": group,
            "auth": marks, "public": [], "line": line, "column": column}
    actions = _actions(view)
    if actions:
        fact["actions"] = actions
    found.append(fact)


def _include_target(mod: Module, call: ast.Call) -> str | None:
    target = call.args[0] if call.args else None
    if isinstance(target, ast.Tuple) and target.elts:
        target = target.elts[0]
    text = string(target)
    if text is not None:
        return text
    name = dotted(target)
    if not name:
        return None
    if name.endswith(".urls") and name[: -len(".urls")] in mod.bindings:  # include(router.urls)
        return mod.qualify(name[: -len(".urls")])
    if name in mod.bindings and name != "urlpatterns":
        return f"{mod.modname}.{name}"
    qualified = mod.qualify(name) or name
    return qualified.removesuffix(".urlpatterns")


def _actions(view) -> dict | None:
    """``PatientViewSet.as_view({"get": "export"})``: HTTP method -> viewset action."""
    while isinstance(view, ast.Call) and last(callee(view)) != "as_view":
        view = view.args[0] if view.args else None
    if isinstance(view, ast.Call) and view.args and isinstance(view.args[0], ast.Dict):
        out = {}
        for k, v in zip(view.args[0].keys, view.args[0].values):
            if string(k) and string(v):
                out[string(k).lower()] = string(v)
        return out or None
    return None


def _registrations(mod: Module, stmt, routers: set[str], found: list) -> None:
    """``router.register(r"patients", PatientViewSet, basename="patient")``."""
    for node in ast.walk(stmt):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "register"):
            continue
        receiver = dotted(node.func.value)
        if receiver not in routers:
            continue
        prefix, viewset = string(arg(node, 0, "prefix")), dotted(arg(node, 1, "viewset"))
        if prefix is None or viewset is None:
            continue
        line, column = location(node)
        found.append({"framework": "drf", "path": prefix, "methods": [], "handler": mod.qualify(viewset),
                      "group": mod.qualify(receiver), "auth": [], "public": [], "line": line, "column": column,
                      "router": True})
