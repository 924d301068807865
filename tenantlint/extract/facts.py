"""The facts contract between extractors, the linker and the policies.

Extraction is a pure function ``(relative path, bytes, Config) -> FileFacts``: plain JSON-able
dicts, so that facts can be cached by content hash and built in worker processes.

FileFacts::

    {"path": "crm/views.py", "language": "python" | "sql",
     "tables":  [Table],      # declared tables: SQL DDL or ORM models
     "queries": [Query],      # every database access found in the file
     "routes":  [Route],      # HTTP route registrations (Python only)
     "web":     {"handlers": [...], "groups": [...], "mounts": [...], "settings": {...}},
                              # views, export code, url prefixes, project defaults: see
                              # tenantlint.extract.web (each key only when non-empty)
     "fields":  [Field],      # declared columns, for sensitive-field checks
     "imports": {local name: "module.path.Name"},   # Python only, for cross-file linking
     "constants": {NAME: {"sql": str, "line": int}}, # module-level SQL string constants
     "suppressions": [Suppression],
     "errors":  [Error]}

Table::   {"name": "contacts", "model": "Contact" | None, "columns": ["id", ...],
           "tenant_column": "account_id" | None, "line": 3, "relations": {"account": "Account"},
           "abstract": bool, "bases": ["TenantMixin"]}
Query::   {"path", "line", "column", "end_line", "end_column",
           "kind": "select" | "insert" | "update" | "delete" | "merge" | "truncate" | "copy" | "lookup" | "set",
           "origin": "sql" | "raw-sql" | "django" | "sqlalchemy",
           "function": "module.func" | None, "code": "normalised text for fingerprints",
           "export": bool, "lookup": bool,
           "refs": [Ref],
           "schema_switch": "tenant_b" (only a ``SET search_path`` statement, with no refs)}
Ref::     {"table": "contacts" | None, "model": "Contact" | None, "alias": "c" | None,
           "use": "read" | "write" | "export",
           "scope": "direct" | "join" | "anchor" | "helper" | "runtime" | "none",
           "reason": "why this verdict, in a few words",
           "schema": "tenant_b" (only when written schema-qualified),
           "tenant_loop": "why" (only inside schema_context() in a loop over tenants)}
Route::   {"framework": "flask" | "fastapi" | "django" | "drf", "path": "/export" (as written,
           without group prefixes), "methods": ["GET"], "handler": "crm.views.export" (qualified
           through the file's imports), "group", "auth": [markers], "public": [markers],
           "file", "line", "column"}
Error::   {"path", "line", "message", "kind": "parse" | "read" | "limit" | ..., "whole_file": true (only
           when nothing of the file was analysed although the error has a line)}

The linker (``tenantlint.program.link``) adds ``tenant_owned`` and ``tenant_column`` to each Ref from the
whole-project schema, joins routes to their handlers across files (``tenantlint.program.routes``) and
hands one input document to the policies.
"""

from __future__ import annotations

from typing import Any

SCOPES = ("direct", "join", "anchor", "helper", "runtime", "provenance", "none")
USES = ("read", "write", "export")


def new_file_facts(path: str, language: str) -> dict[str, Any]:
    return {
        "path": path,
        "language": language,
        "tables": [],
        "queries": [],
        "routes": [],
        "web": {},
        "fields": [],
        "imports": {},
        "constants": {},
        "suppressions": [],
        "errors": [],
    }


def error(path: str, line: int, message: str, kind: str = "parse", whole_file: bool = False) -> dict[str, Any]:
    """An errors entry; ``whole_file``: nothing of the file was analysed, though the error
    has a line (a Python syntax error)."""
    found = {"path": path, "line": line, "message": message, "kind": kind}
    if whole_file:
        found["whole_file"] = True
    return found


def ref(
    table: str | None,
    scope: str,
    reason: str,
    use: str = "read",
    alias: str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    return {"table": table, "model": model, "alias": alias, "use": use, "scope": scope, "reason": reason}
