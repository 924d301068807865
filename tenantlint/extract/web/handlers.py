"""Handler facts: the functions and classes that may serve a request or write an export.

A handler fact says what one file can see about a def or a class: where it is, its
decorators and authentication markers, whether it looks like a view on its own (a
module-level function taking ``request`` that returns a response or carries a view's
decorators, a class-based view and its HTTP methods), and which of its statements feed an
export or a write-back (:mod:`.flows`). Routes (:mod:`.registrations`) point at handlers by
qualified name; the linker joins them across files.
"""

from __future__ import annotations

import ast
from functools import lru_cache

from tenantlint.extract.web import auth
from tenantlint.extract.web.flows import NO_FLOWS, export_flows
from tenantlint.extract.web.names import Module, arg, callee, dotted, keyword, last, location, string, strings
from tenantlint.extract.web.words import says_export

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
VIEWSET_ACTIONS = {"list": "GET", "retrieve": "GET", "create": "POST", "update": "PUT", "partial_update": "PATCH",
                   "destroy": "DELETE"}
# Generic DRF/Django views and what their inherited handlers answer.
INHERITED_ACTIONS = {
    "ModelViewSet": ("list", "retrieve", "create", "update", "partial_update", "destroy"),
    "ReadOnlyModelViewSet": ("list", "retrieve"), "ListModelMixin": ("list",), "RetrieveModelMixin": ("retrieve",),
    "CreateModelMixin": ("create",), "UpdateModelMixin": ("update", "partial_update"),
    "DestroyModelMixin": ("destroy",), "ListAPIView": ("get",), "ListCreateAPIView": ("get", "post"),
    "RetrieveAPIView": ("get",), "RetrieveUpdateAPIView": ("get", "put", "patch"),
    "RetrieveDestroyAPIView": ("get", "delete"), "RetrieveUpdateDestroyAPIView": ("get", "put", "patch", "delete"),
    "CreateAPIView": ("post",), "UpdateAPIView": ("put", "patch"), "DestroyAPIView": ("delete",),
    "ListView": ("get",), "DetailView": ("get",), "TemplateView": ("get",), "FormView": ("get", "post"),
    "CreateView": ("get", "post"), "UpdateView": ("get", "post"), "DeleteView": ("get", "post"),
    "RedirectView": ("get",),
}
_DRF_BASE = ("APIView", "ViewSet", "ViewSetMixin", "GenericAPIView")
# Bases that make a class a view. Not "Mixin" (models have mixins) and "Resource" only with
# Flask-RESTful (django-import-export has ``ModelResource``, which is no endpoint).
_VIEW_BASE = ("View", "ViewSet", "APIView", "MethodView", "HTTPEndpoint", "ViewBase", "ViewMixin")
_RESOURCE_LIBS = ("flask_restful", "flask_restx", "flask_restplus", "flask_smorest")
_REQUEST_PARAMS = {"request", "req"}
_METHOD_DECORATORS = {"require_GET": ["GET"], "require_POST": ["POST"], "require_safe": ["GET", "HEAD"]}


def collect(mod: Module, wanted: set[str] = frozenset()) -> list[dict]:
    """Handler facts of the file; ``wanted``: qualified names that routes of this file point
    at (``add_url_rule(view_func=dump)``), recorded whatever they look like."""
    out: list[dict] = []
    mod.wanted_handlers = set(wanted)
    _body(mod, mod.tree.body, mod.modname, None, out, top=True)
    return out


def _body(mod, body, prefix, cls, out, top=False) -> None:
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _function(mod, stmt, prefix, cls, out, top)
        elif isinstance(stmt, ast.ClassDef):
            _class(mod, stmt, prefix, out, top)
        else:  # defs inside if/try/with/for blocks keep the enclosing name, as in the query facts
            for child in ast.iter_child_nodes(stmt):
                if isinstance(child, (ast.excepthandler, ast.match_case)):
                    _body(mod, child.body, prefix, cls, out, top)
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list):
                    _body(mod, inner, prefix, cls, out, top)


def _qual(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _function(mod, node, prefix, cls, out, top) -> None:
    name = _qual(prefix, node.name)
    decorators = [auth.decorator_name(d) for d in node.decorator_list]
    marks, public = auth.decorator_markers(node.decorator_list, mod)
    marks += auth.parameter_markers(node, mod)
    params = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
    first = params[1] if cls is not None and params[:1] in (["self"], ["cls"]) and len(params) > 1 else (
        params[0] if params else None)
    takes_request = top and cls is None and first in _REQUEST_PARAMS and not _test_code(mod, node, decorators)
    method_view = bool(cls is not None and cls.get("view") and (node.name in HTTP_METHODS
                                                                 or node.name in VIEWSET_ACTIONS))
    action = _action(node, mod) if cls is not None else None
    named = (marks or public or name in mod.wanted_handlers or "api_view" in {last(d) for d in decorators}
             or (cls is None and says_export(node.name, mod.config.export_patterns)))
    flows = _flows(mod, node, bool(takes_request or method_view or action or named))
    # A function taking ``request`` is a view when it answers with a response or carries a
    # view's decorators; a helper (``get_export_hostname(request)`` returning a string) is not.
    methods = _methods(node, mod)
    view = method_view or (takes_request and bool(flows.returns_response or marks or public or methods))
    handler = view or action or named
    if handler or flows.writes_file or flows.writes_back:
        line, column = location(node)
        fact = {
            "name": name, "kind": "method" if cls is not None else "function", "line": line, "column": column,
            "decorators": decorators, "auth": marks, "public": public, "view": bool(view),
            "methods": methods, "drf": "api_view" in {last(d) for d in decorators},
            "called_locally": bool(top and cls is None and view and mod.called(node.name)),
            "sink_spans": flows.sink_spans, "response_spans": flows.response_spans,
            "return_spans": flows.return_spans, "holes": flows.holes,
            "sinks": flows.sinks, "sink_calls": flows.sink_calls, "write_backs": flows.write_backs,
        }
        if action is not None:
            fact["action"] = action
        out.append(fact)
    if cls is not None and node.name == "get_permissions":
        cls["get_permissions"] = True
    _body(mod, node.body, name, None, out)


def _class(mod, node, prefix, out, top) -> None:
    name = _qual(prefix, node.name)
    bases = [dotted(b) or "" for b in node.bases]
    simple = [last(b) for b in bases]
    attrs = _class_attrs(node)
    view = any(s.endswith(_VIEW_BASE) for s in simple) or bool(
        {"permission_classes", "method_decorators", "authentication_classes"} & attrs.keys()) or (
        "Resource" in simple and mod.imports_from(*_RESOURCE_LIBS)) or bool(auth.mixin_markers(bases))
    marks, public = auth.decorator_markers(node.decorator_list, mod)
    marks += auth.mixin_markers(bases)
    for key in ("decorators", "method_decorators"):
        if key in attrs:
            inner, inner_public = auth.decorator_markers(list(getattr(attrs[key], "elts", [])), mod)
            marks, public = marks + inner, public + inner_public
    fact = {
        "name": name, "kind": "class", "view": view, "bases": [mod.qualify(b) or b for b in bases if b],
        "auth": marks, "public": public, "decorators": [auth.decorator_name(d) for d in node.decorator_list],
        "drf": any(s.endswith(_DRF_BASE) for s in simple) or "permission_classes" in attrs,
        "handlers": sorted(m.name for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
                           and (m.name in HTTP_METHODS or m.name in VIEWSET_ACTIONS)),
        "inherited": sorted({a for s in simple for a in INHERITED_ACTIONS.get(s, ())}),
    }
    fact["line"], fact["column"] = location(node)
    if "permission_classes" in attrs:
        fact["permission_classes"] = auth.permission_verdict(attrs["permission_classes"])
    recorded = view or marks or name in mod.wanted_handlers
    if recorded:
        out.append(fact)
    _body(mod, node.body, name, fact, out)
    if not recorded and fact.get("get_permissions"):
        out.append(fact)


def _flows(mod: Module, node, wanted: bool):
    """Export flows of a possible handler, or of any function that may write rows out or back."""
    return export_flows(node) if wanted or mod.may_export(node) or _writes_back(mod.source) else NO_FLOWS


@lru_cache(maxsize=4)
def _writes_back(source: str) -> bool:
    """Does the file hand rows to ``bulk_update``? Then every function's flows are followed."""
    return "bulk_update" in source


def _test_code(mod: Module, node, decorators: list[str]) -> bool:
    """pytest fixtures and tests take ``request`` too: they are not views."""
    return (node.name.startswith("test_") or any(last(d) == "fixture" for d in decorators)
            or mod.imports_from("pytest", "unittest"))


def _class_attrs(node: ast.ClassDef) -> dict[str, ast.AST]:
    out = {}
    for stmt in node.body:
        if isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            out[stmt.target.id] = stmt.value
    return out


def _action(node, mod) -> dict | None:
    """DRF ``@action(detail=False, methods=["get"], url_path="export")`` (and the older
    ``@list_route`` / ``@detail_route``)."""
    for dec in node.decorator_list:
        if not isinstance(dec, ast.Call) or last(callee(dec)) not in ("action", "list_route", "detail_route"):
            continue
        detail = keyword(dec, "detail")
        is_detail = last(callee(dec)) == "detail_route" or (
            isinstance(detail, ast.Constant) and detail.value is True)
        methods = [m.upper() for m in (strings(keyword(dec, "methods")) or ["get"])]
        fact = {"detail": is_detail, "methods": methods,
                "url_path": string(keyword(dec, "url_path")) or node.name}
        perms = keyword(dec, "permission_classes")
        if perms is not None:
            fact["permission_classes"] = auth.permission_verdict(perms)
        return fact
    return None


def _methods(node, mod) -> list[str]:
    for dec in node.decorator_list:
        name = last(auth.decorator_name(dec))
        if name in _METHOD_DECORATORS:
            return list(_METHOD_DECORATORS[name])
        if name in ("require_http_methods", "api_view") and isinstance(dec, ast.Call):
            found = strings(arg(dec, 0, "http_method_names", "request_method_list"))
            if found:
                return [m.upper() for m in found]
            if name == "api_view":
                return ["GET"]
    return []


