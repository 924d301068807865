"""Flask, FastAPI and django-ninja routes: ``@app.route``, ``@bp.get``, ``@router.post``, ``add_url_rule``,
``add_api_route``, Flask-RESTful ``add_resource``; their groups (Blueprint, APIRouter, the app)
with prefixes and dependencies, mounts (``register_blueprint``, ``include_router``) and
``before_request`` guards.

A group is named by its qualified variable (``shop.api.bp``), so that a mount written in
another file (``app.register_blueprint(api.bp, url_prefix="/v1")``) reaches it.
"""

from __future__ import annotations

import ast
import re

from tenantlint.extract.web import auth
from tenantlint.extract.web.names import Module, arg, callee, dotted, keyword, last, location, statements, string, strings

ROUTE_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}
ROUTE_DECORATORS = ROUTE_METHODS | {"route", "api_route"}
FLASK_GROUPS = {"Flask", "Blueprint", "Quart", "APIBlueprint", "Sanic", "Namespace", "Api"}
FASTAPI_GROUPS = {"FastAPI", "APIRouter", "Starlette"}
NINJA_GROUPS = {"NinjaAPI", "Router"}  # django-ninja: FastAPI-like routes on Django
GROUPS = FLASK_GROUPS | FASTAPI_GROUPS | NINJA_GROUPS
MOUNTS = {"register_blueprint", "include_router", "mount", "add_router", "add_namespace"}
_GROUP_NAME = re.compile(r"^(?:app|application|api|bp|blueprint|router|server|\w+_(?:bp|blueprint|router|api|app))$")
_GUARD_WORDS = re.compile(r"is_authenticated|current_user|login|jwt|abort\(\s*40[13]|unauthori[sz]ed|forbidden|"
                          r"auth|token|g\.user|session\[.user", re.I)


def groups(mod: Module) -> list[dict]:
    """Apps, blueprints and routers bound at module level, with their own prefix and
    dependencies, and the ``before_request`` guards that protect a group."""
    out = []
    for name, value in mod.bindings.items():
        kind = last(callee(value)) if isinstance(value, ast.Call) else ""
        if kind in GROUPS:
            prefix = string(keyword(value, "url_prefix", "prefix")) or ""
            marks = auth.dependency_markers(keyword(value, "dependencies"), mod) + _ninja_auth(value)
            out.append({"name": mod.qualify(name), "framework": _kind_framework(kind), "prefix": prefix,
                        "auth": marks})
    out += _guards(mod)
    return out


def routes(mod: Module) -> tuple[list[dict], list[dict]]:
    """(route facts, mount facts) of the file."""
    found, mounts = [], []
    for stmt in statements(mod.tree.body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for dec in stmt.decorator_list:  # a class: flask-restx ``@ns.route("/x") class X(Resource)``
                route = _decorator_route(mod, dec, stmt)
                if route:
                    found.append(route)
            continue
        node = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign)) else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in ("add_url_rule", "add_api_route", "add_resource", "add_api_websocket_route"):
                found += _call_routes(mod, node, method)
            elif method in MOUNTS:
                mount = _mount(mod, node, method)
                if mount:
                    mounts.append(mount)
    return found, mounts


def _kind_framework(kind: str) -> str:
    return "flask" if kind in FLASK_GROUPS else "ninja" if kind in NINJA_GROUPS else "fastapi"


def _ninja_auth(call: ast.Call) -> list[str]:
    """django-ninja ``auth=django_auth`` on an API, a router or a route (``auth=None`` opens it)."""
    value = keyword(call, "auth")
    if value is None or (isinstance(value, ast.Constant) and value.value is None):
        return []
    return [f"auth={ast.unparse(value)}"]


def _is_group(mod: Module, receiver: str) -> bool:
    value = mod.bindings.get(receiver)
    if isinstance(value, ast.Call):
        if last(callee(value)) in GROUPS:
            return True
    web = mod.imports_from("flask", "fastapi", "quart", "starlette", "sanic", "flask_smorest", "apiflask", "ninja",
                           "flask_restx", "flask_restful")
    return web and bool(_GROUP_NAME.match(last(receiver)))


def _framework(mod: Module, receiver: str) -> str:
    value = mod.bindings.get(receiver)
    kind = last(callee(value)) if isinstance(value, ast.Call) else ""
    if kind in GROUPS:
        return _kind_framework(kind)
    if mod.imports_from("ninja"):
        return "ninja"
    return "fastapi" if mod.imports_from("fastapi", "starlette") else "flask"


def _decorator_route(mod: Module, dec, func) -> dict | None:
    if not (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr in ROUTE_DECORATORS):
        return None
    receiver = dotted(dec.func.value)
    path = string(arg(dec, 0, "rule", "path"))
    if receiver is None or path is None or not _is_group(mod, receiver):
        return None
    method = dec.func.attr
    if method in ROUTE_METHODS:
        methods = [method.upper()]
    elif isinstance(func, ast.ClassDef):
        methods = []  # the class's get/post/... decide
    else:
        methods = [m.upper() for m in (strings(keyword(dec, "methods")) or ["GET"])]
    marks = auth.dependency_markers(keyword(dec, "dependencies"), mod) + _ninja_auth(dec)
    line, column = location(dec)
    fact = {"framework": _framework(mod, receiver), "path": path, "methods": methods,
            "handler": _local_name(mod, func), "group": mod.qualify(receiver), "auth": marks, "public": [],
            "line": line, "column": column}
    # Decorators above the route one wrap the function after it was registered: a
    # ``@login_required`` there protects nothing.
    above = [auth.decorator_name(d) for d in func.decorator_list[: func.decorator_list.index(dec)]]
    if above:
        fact["outer_decorators"] = above
    return fact


def _local_name(mod: Module, func) -> str:
    """Qualified name of a decorated def (nested defs in an app factory included)."""
    return _qualnames(mod).get(id(func), f"{mod.modname}.{func.name}")


def _qualnames(mod: Module) -> dict[int, str]:
    if mod._qualnames is not None:
        return mod._qualnames
    out: dict[int, str] = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}.{child.name}" if prefix else child.name
                out[id(child)] = name
                visit(child, name)
            elif isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)):
                visit(child, prefix)

    visit(mod.tree, mod.modname)
    mod._qualnames = out
    return out


def _call_routes(mod: Module, call: ast.Call, method: str) -> list[dict]:
    receiver = dotted(call.func.value)
    if receiver is None:
        return []
    line, column = location(call)
    base = {"group": mod.qualify(receiver), "line": line, "column": column, "public": []}
    if method == "add_resource":  # Flask-RESTful: api.add_resource(Resource, "/a", "/b")
        handler = mod.qualify(dotted(call.args[0])) if call.args else None
        paths = [string(a) for a in call.args[1:]] or [string(keyword(call, "urls"))]
        return [{**base, "framework": "flask", "path": p, "methods": [], "handler": handler, "auth": []}
                for p in paths if p is not None and handler]
    path = string(arg(call, 0, "rule", "path"))
    view = arg(call, 2, "view_func") if method == "add_url_rule" else arg(call, 1, "endpoint")
    if path is None or view is None:
        return []
    handler, marks = unwrap(mod, view)
    if not handler:
        return []
    methods = [m.upper() for m in (strings(keyword(call, "methods")) or ["GET"])]
    marks += auth.dependency_markers(keyword(call, "dependencies"), mod)
    framework = "flask" if method == "add_url_rule" else "fastapi"
    return [{**base, "framework": framework, "path": path, "methods": methods, "handler": handler, "auth": marks}]


def unwrap(mod: Module, view) -> tuple[str | None, list[str]]:
    """``login_required(ExportView.as_view("x"))`` -> (``app.views.ExportView``, ["login_required"])."""
    marks: list[str] = []
    for _ in range(10):
        if isinstance(view, ast.Call):
            name = callee(view) or ""
            if last(name) in ("as_view", "as_view_func"):
                return mod.qualify(dotted(view.func.value)), marks
            if isinstance(view.func, ast.Call):  # permission_required("x")(view), cache_page(60)(view)
                inner = auth.decorator_name(view.func)
                if auth.auth_name(inner, mod.config):
                    marks.append(inner)
                view = view.args[0] if view.args else None
                continue
            if auth.auth_name(name, mod.config):
                marks.append(name)
            view = view.args[0] if view.args else None
            continue
        name = dotted(view)
        return (mod.qualify(name) if name else None), marks
    return None, marks


def aliases(mod: Module) -> list[dict]:
    """Module-level names bound to a wrapped or class-based view
    (``contact_export = login_required(ContactExport.as_view())``): a route naming them
    reaches the class, with the wrapper's markers."""
    out = []
    for name, value in mod.bindings.items():
        if not isinstance(value, ast.Call) or last(callee(value)) in GROUPS:
            continue
        target, marks = unwrap(mod, value)
        if target and _is_view_call(value):
            out.append({"name": mod.qualify(name), "target": target, "auth": marks})
    return out


def _is_view_call(value: ast.Call) -> bool:
    """``X.as_view(...)`` possibly inside wrappers, or a wrapper around a plain name."""
    while isinstance(value, ast.Call):
        if last(callee(value)) in ("as_view", "as_view_func"):
            return True
        if not value.args:
            return False
        value = value.args[0]
    return isinstance(value, (ast.Name, ast.Attribute))


def _mount(mod: Module, call: ast.Call, method: str) -> dict | None:
    parent = dotted(call.func.value)
    if method in ("mount", "add_router"):  # app.mount("/sub", subapp), api.add_router("/x", router)
        child, prefix = arg(call, 1, "app", "router"), string(arg(call, 0, "path", "prefix"))
    elif method == "add_namespace":  # flask-restx api.add_namespace(ns, path="/items")
        child, prefix = arg(call, 0, "ns"), string(keyword(call, "path"))
    else:
        child = arg(call, 0, "blueprint", "router")
        prefix = string(keyword(call, "url_prefix", "prefix"))
    target = dotted(child)
    if parent is None or target is None:
        return None
    return {"group": mod.qualify(target), "parent": mod.qualify(parent), "prefix": prefix or "",
            "auth": auth.dependency_markers(keyword(call, "dependencies"), mod) + _ninja_auth(call),
            "replace": method == "register_blueprint"}


def _guards(mod: Module) -> list[dict]:
    """``@bp.before_request`` functions that check the caller: every route of bp is protected."""
    out = []
    if "before_" not in mod.source:
        return out
    defs = {n.name: n for n in mod.tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for node in statements(mod.tree.body):
        if isinstance(node, ast.Expr):
            node = node.value
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                if isinstance(target, ast.Attribute) and target.attr in ("before_request", "before_app_request"):
                    group = dotted(target.value)
                    if group and _checks_caller(node):
                        out.append({"name": mod.qualify(group), "auth": [f"before_request: {node.name}"]})
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("before_request", "before_app_request") and node.args):
            group, func = dotted(node.func.value), defs.get(dotted(node.args[0]) or "")
            if group and func is not None and _checks_caller(func):
                out.append({"name": mod.qualify(group), "auth": [f"before_request: {func.name}"]})
    return out


def _checks_caller(func) -> bool:
    return bool(_GUARD_WORDS.search(ast.unparse(func)))
