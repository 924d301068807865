"""HTTP routes, request handlers and export code of one Python file.

Pure like the rest of extraction: ``(path, bytes, config) -> {"routes": [...], "web": {...}}``.
It reads CPython's ``ast`` rather than the libcst tree of the query walk: what it needs
(decorators, url lists, the line of each ``def``) comes with positions there, for a tenth
of libcst's parse, and it stays independent of the query walk. Only files whose bytes
mention a route, a view or an export sink are parsed.

Facts (see also :mod:`tenantlint.extract.facts`)::

    routes: [{"framework", "path", "methods", "handler": qualified name, "group", "auth",
              "public", "line", "column", "actions"?, "router"?}]
    web: {"handlers": [handler facts, :mod:`.handlers`],
          "aliases": [{"name", "target", "auth"}],   # export_view = login_required(ExportView.as_view())
          "groups": [{"name", "framework"?, "prefix"?, "auth"}],   # blueprints, routers, apps
          "mounts": [{"group", "parent", "prefix", "auth"}],        # include(), register_blueprint
          "settings": {"drf_default_permissions"?, "login_required_middleware"?, "tenant_apps"?,
                       "shared_apps"?}}

Modules: ``names`` (ast helpers, imports), ``words`` (export names), ``auth`` (markers),
``flows`` (export sinks), ``handlers``, ``decorated`` (Flask, FastAPI), ``django_urls``
(Django, DRF routers), ``settings``.
"""

from __future__ import annotations

import re

from tenantlint.extract import pyast
from tenantlint.extract.web import decorated, django_urls, handlers, settings
from tenantlint.extract.web.names import Module

__all__ = ["extract_web", "parse_module"]

# Bytes a file needs to hold a route, a view, a project default or an export sink.
_TOKENS = re.compile(
    rb"request|route|urlpatterns|router|View|Resource|FastAPI|APIRouter|Flask|Blueprint|REST_FRAMEWORK|"
    rb"MIDDLEWARE|TENANT_APPS|writerow|to_csv|to_excel|to_json|to_parquet|Response|send_file|serialize|json\.dump|"
    rb"add_url_rule|before_request|Workbook|dump|Depends|Security|"
    rb"@\w+\.(?:get|post|put|patch|delete|head|options|api_route)\("
)


def extract_web(path: str, source: bytes, config, mod: Module | None = None) -> dict | None:
    """Route and handler facts of a Python file, or None when it has none. ``mod``: the file
    already parsed with ``ast`` (:func:`parse_module`), so that a file is parsed once."""
    if not _TOKENS.search(source):
        return None
    mod = mod or parse_module(path, source, config)
    if mod is None:
        return None  # the query extraction reports the file
    routes, mounts = decorated.routes(mod)
    if django_urls.applies(mod):
        more, more_mounts = django_urls.routes(mod)
        routes, mounts = routes + more, mounts + more_mounts
    local = {r["handler"] for r in routes if r.get("handler")}
    web = {
        "handlers": handlers.collect(mod, local),
        "aliases": decorated.aliases(mod),
        "groups": decorated.groups(mod),
        "mounts": mounts,
        "settings": settings.collect(mod),
    }
    web = {k: v for k, v in web.items() if v}
    if not routes and not web:
        return None
    for route in routes:
        route["file"] = path
    return {"routes": routes, "web": web}


def parse_module(path: str, source: bytes, config) -> Module | None:
    """The file parsed with CPython's ``ast``, or None when it does not parse."""
    try:
        tree = pyast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return Module(path, tree, config, source.decode("utf-8", "replace"))
