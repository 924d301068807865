"""Project-wide defaults read from Django settings: DRF's ``DEFAULT_PERMISSION_CLASSES`` and a
login-required middleware. Both decide whether a view with no marker of its own is
protected, so the linker applies them to every route of the project. Also django-tenants'
``TENANT_APPS`` / ``SHARED_APPS``: the models of a tenant app live in each tenant's schema.

A ``REST_FRAMEWORK`` we cannot read (built by a function, merged from the environment) is
recorded as unknown, which the linker treats as protecting: we do not guess an open API.
"""

from __future__ import annotations

import ast

from tenantlint.extract.web.auth import string_permissions
from tenantlint.extract.web.names import Module, module_statements, string, strings

_LOGIN_MIDDLEWARE = ("LoginRequiredMiddleware", "login_required_middleware", "LoginRequired")


def collect(mod: Module) -> dict:
    out: dict = {}
    for stmt in module_statements(mod.tree):
        for target, value in _assignments(stmt):
            if target == ("REST_FRAMEWORK",):
                _rest_framework(value, out)
            elif target == ("REST_FRAMEWORK", "DEFAULT_PERMISSION_CLASSES"):
                _permissions(value, out)
            elif target in (("TENANT_APPS",), ("SHARED_APPS",)):  # django-tenants: schema per tenant
                key = "tenant_apps" if target == ("TENANT_APPS",) else "shared_apps"
                out[key] = sorted(set(out.get(key, [])) | set(_all_strings(value)))
            elif target == ("MIDDLEWARE",) or target == ("MIDDLEWARE_CLASSES",):
                for text in _all_strings(value):
                    if any(word in text for word in _LOGIN_MIDDLEWARE):
                        out["login_required_middleware"] = text
    return out


def _assignments(stmt):
    """(target path, value) of ``X = v``, ``X += v``, ``X["k"] = v``, ``X.update({...})``,
    ``X.append(v)``."""
    match stmt:
        case ast.Assign(targets=targets, value=value):
            for t in targets:
                path = _path(t)
                if path:
                    yield path, value
        case ast.AugAssign(target=target, value=value) | ast.AnnAssign(target=target, value=value) if value:
            path = _path(target)
            if path:
                yield path, value
        case ast.Expr(value=ast.Call(func=ast.Attribute(value=ast.Name(id=name), attr="update"), args=[value])):
            if isinstance(value, ast.Dict):
                for k, v in zip(value.keys, value.values):
                    if string(k):
                        yield (name, string(k)), v
        case ast.Expr(value=ast.Call(func=ast.Attribute(value=ast.Name(id=name), attr="append" | "insert" | "extend"),
                                     args=args)):
            yield (name,), ast.List(elts=list(args))


def _path(target) -> tuple | None:
    if isinstance(target, ast.Name):
        return (target.id,)
    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and string(target.slice):
        return (target.value.id, string(target.slice))
    return None


def _rest_framework(value, out: dict) -> None:
    if not isinstance(value, ast.Dict):
        out["drf_default_permissions"] = {"auth": True, "names": ["REST_FRAMEWORK (not a literal)"],
                                          "read_public": False}
        return
    out.setdefault("drf_default_permissions", string_permissions([]))
    for k, v in zip(value.keys, value.values):
        if string(k) == "DEFAULT_PERMISSION_CLASSES":
            _permissions(v, out)


def _permissions(value, out: dict) -> None:
    names = strings(value)
    if names is None:
        out["drf_default_permissions"] = {"auth": True, "names": [ast.unparse(value)], "read_public": False}
    else:
        out["drf_default_permissions"] = string_permissions(names)


def _all_strings(node) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
