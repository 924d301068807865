"""The input document contract between the host and the policies.

``input_schema.json`` (printed by ``tenantlint schema``) is the JSON Schema of the
document policies see as ``input``. :func:`complete_input` fills the defaults of a
partial document, so that policy tests can state only the facts that matter.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources

INPUT_VERSION = 1

_QUERY_DEFAULTS = {
    "path": "query.sql", "line": 1, "column": 1, "kind": "select", "origin": "sql", "function": None,
    "code": "", "export": False, "lookup": False, "route": None, "refs": [],
}
_REF_DEFAULTS = {
    "table": None, "model": None, "alias": None, "use": "read", "scope": "none", "reason": "",
    "sensitive_columns": [],
}
_ROUTE_DEFAULTS = {
    "path": "/", "methods": ["GET"], "handler": "views.handler", "file": "app.py", "line": 1, "column": 1,
    "authenticated": False, "auth": [], "decorators": [], "export_shaped": False, "writes_file": False,
    "queries": [],
}
_FIELD_DEFAULTS = {
    "path": "models.py", "line": 1, "column": 1, "table": None, "model": None, "name": "field",
    "type": "TextField", "sensitive": False, "encrypted": False,
}
_TABLE_DEFAULTS = {"tenant_owned": True, "tenant_column": None, "source": "config", "model": None,
                   "path": None, "line": None}


@lru_cache(maxsize=1)
def input_schema() -> dict:
    """The JSON Schema of the policy input (cached and shared: do not modify it)."""
    text = resources.files("tenantlint").joinpath("input_schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def schema_text() -> str:
    return json.dumps(input_schema(), indent=2) + "\n"


def complete_input(partial: dict) -> dict:
    """``partial`` with every missing key filled: query ``index`` from its position,
    ``end_line``/``end_column`` from its start, and each ref's ``tenant_owned`` and
    ``tenant_column`` from ``tables`` (unknown tables are not tenant-owned)."""
    doc = copy.deepcopy(partial)
    doc.setdefault("version", INPUT_VERSION)
    tables = {name: {**_TABLE_DEFAULTS, **table} for name, table in (doc.get("tables") or {}).items()}
    doc["tables"] = tables
    queries = []
    for i, query in enumerate(doc.get("queries") or []):
        query = {**_QUERY_DEFAULTS, "index": i, **query}
        query.setdefault("end_line", query["line"])
        query.setdefault("end_column", query["column"])
        query["refs"] = [_complete_ref(ref, tables) for ref in query["refs"]]
        queries.append(query)
    doc["queries"] = queries
    doc["routes"] = [{**_ROUTE_DEFAULTS, **route} for route in doc.get("routes") or []]
    doc["fields"] = [{**_FIELD_DEFAULTS, **field} for field in doc.get("fields") or []]
    return doc


def _complete_ref(ref: dict, tables: dict) -> dict:
    ref = {**_REF_DEFAULTS, **ref}
    table = tables.get((ref["table"] or "").lower(), {})
    ref.setdefault("tenant_owned", bool(table.get("tenant_owned", False)))
    ref.setdefault("tenant_column", table.get("tenant_column"))
    return ref
