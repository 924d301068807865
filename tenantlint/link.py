"""Whole-project knowledge: which tables are tenant-owned, which model maps to which table.

Per-file facts cannot know that ``Contact`` in ``views.py`` is the tenant-owned table
``crm_contact`` declared in ``models.py``; this module joins all files' facts into the
one input document the policies read (shape: ``tenantlint/input_schema.json``).

>>> from tenantlint.config import Config
>>> cfg = Config(tenant_columns=("practice_id",), global_tables=("drugs",))
>>> doc = link([{"path": "s.sql", "tables": [
...     {"name": "notes", "model": None, "columns": ["practice_id"], "tenant_column": "practice_id"}],
...     "queries": [], "routes": [], "fields": [], "constants": {}}], cfg)
>>> doc["tables"]["notes"]["tenant_owned"]
True
"""

from __future__ import annotations

import fnmatch

from tenantlint.config import Config, table_matches

PLAINTEXT_TYPES = {
    "charfield", "textfield", "emailfield", "slugfield", "jsonfield", "urlfield", "genericipaddressfield",
    "string", "text", "unicode", "unicodetext", "varchar", "nvarchar", "char", "nchar", "character varying",
    "character", "json", "jsonb", "clob", "citext", "mediumtext", "longtext", "tinytext",
}


def link(files: list[dict], config: Config) -> dict:
    """Join per-file facts into the policy input document."""
    models = _models(files)
    tables = _tables(files, models, config)
    model_tables = {name: info["table"] for name, info in models.items()}
    constants = _constants(files)
    queries = []
    for facts in files:
        for query in facts.get("queries", []):
            query = _resolve_constant(query, constants, config)
            if query is None:
                continue
            refs = [_link_ref(ref, tables, model_tables, config) for ref in query.get("refs", [])]
            queries.append({**query, "index": len(queries), "refs": refs})
    fields = [_link_field(f, tables, model_tables, config) for facts in files for f in facts.get("fields", [])]
    routes = [dict(r) for facts in files for r in facts.get("routes", [])]
    return {"version": 1, "tables": tables, "queries": queries, "routes": routes, "fields": fields}


def _models(files: list[dict]) -> dict[str, dict]:
    """Model class name -> {table, tenant_column, bases, ...}, inheritance resolved."""
    models: dict[str, dict] = {}
    for facts in files:
        for table in facts.get("tables", []):
            if table.get("model"):
                models.setdefault(table["model"], {**table, "table": table.get("name"), "path": facts.get("path")})
    for name in models:
        models[name]["tenant_column"] = _inherited_tenant_column(name, models, set())
    return models


def _inherited_tenant_column(name: str, models: dict, seen: set) -> str | None:
    model = models.get(name)
    if model is None or name in seen:
        return None
    seen.add(name)
    if model.get("tenant_column"):
        return model["tenant_column"]
    for base in model.get("bases", []):
        found = _inherited_tenant_column(base.rsplit(".", 1)[-1], models, seen)
        if found:
            return found
    return None


def _tables(files: list[dict], models: dict, config: Config) -> dict[str, dict]:
    tables: dict[str, dict] = {}
    for facts in files:
        for table in facts.get("tables", []):
            if table.get("abstract") or not table.get("name"):
                continue
            name = table["name"].lower()
            model = table.get("model")
            tenant_column = models[model]["tenant_column"] if model in models else table.get("tenant_column")
            entry = tables.setdefault(name, {
                "tenant_owned": False, "tenant_column": None, "source": "model" if model else "ddl",
                "model": model, "path": facts.get("path"), "line": table.get("line"), "columns": [],
            })
            entry["tenant_column"] = entry["tenant_column"] or tenant_column
            entry["model"] = entry["model"] or model
            entry["columns"] = sorted(set(entry["columns"]) | {c.lower() for c in table.get("columns", [])})
    for name in config.tenant_tables:
        key = name.lower()
        if key not in tables and not any(t["model"] and t["model"].lower() == key for t in tables.values()):
            tables[key] = {"tenant_owned": False, "tenant_column": None, "source": "config", "model": None,
                           "path": None, "line": None, "columns": []}
    for name, entry in tables.items():
        names = (name, entry["model"]) if entry["model"] else (name,)
        listed = any(table_matches(n, config.tenant_tables) for n in names)
        exempt = any(table_matches(n, config.global_tables) for n in names)
        entry["tenant_owned"] = (bool(entry["tenant_column"]) or listed) and not exempt
        entry["sensitive_columns"] = [c for c in entry["columns"] if _sensitive(names, c, config)]
    return dict(sorted(tables.items()))


def _link_ref(ref: dict, tables: dict, model_tables: dict, config: Config) -> dict:
    table = ref.get("table")
    model = ref.get("model")
    if not table and model:
        table = model_tables.get(model) or model.lower()
    info = tables.get((table or "").lower())
    owned = bool(info and info["tenant_owned"])
    if info is None and model and table_matches(model, config.tenant_tables):
        owned = not table_matches(model, config.global_tables)
    return {
        **ref,
        "table": table,
        "model": model or (info or {}).get("model"),
        "tenant_owned": owned,
        "tenant_column": (info or {}).get("tenant_column"),
        "sensitive_columns": (info or {}).get("sensitive_columns", []),
    }


def _link_field(field: dict, tables: dict, model_tables: dict, config: Config) -> dict:
    table = field.get("table") or model_tables.get(field.get("model") or "")
    names = tuple(n for n in (table, field.get("model")) if n)
    column = (field.get("column_name") or field.get("name") or "").lower()
    kind = (field.get("type") or "").lower()
    base_kind = kind.split("(", 1)[0].strip()
    encrypted = any(t.lower() in kind for t in config.encrypted_field_types) or "encrypt" in kind
    return {
        **field,
        "table": table,
        "sensitive": _sensitive(names, column, config) or _sensitive(names, (field.get("name") or "").lower(), config),
        "encrypted": encrypted,
        "plaintext": base_kind in PLAINTEXT_TYPES and not encrypted,
    }


def _sensitive(names: tuple, column: str, config: Config) -> bool:
    for pattern in config.sensitive_columns:
        table_pattern, _, column_pattern = pattern.lower().rpartition(".")
        if not fnmatch.fnmatchcase(column, column_pattern):
            continue
        if not table_pattern or any(fnmatch.fnmatchcase(n.lower(), table_pattern) for n in names):
            return True
    return False


def _constants(files: list[dict]) -> dict[str, dict]:
    """``module.NAME`` -> constant, for SQL constants imported from another module."""
    out = {}
    for facts in files:
        module = _module_name(facts.get("path", ""))
        for name, constant in (facts.get("constants") or {}).items():
            out[f"{module}.{name}"] = {**constant, "path": facts.get("path")}
    return out


def _module_name(path: str) -> str:
    module = path[:-3] if path.endswith(".py") else path
    module = module.removesuffix("/__init__")
    return module.replace("/", ".")


def _resolve_constant(query: dict, constants: dict, config: Config) -> dict | None:
    """A query whose SQL is a constant of another module: analyse it now that we can see it."""
    ref_name = query.get("sql_ref")
    if not ref_name:
        return query
    constant = _lookup_constant(ref_name, constants)
    if constant is None:
        return None
    from tenantlint.sql import analyze_sql

    queries, _, _ = analyze_sql(
        constant["sql"], config, path=query["path"], line=query["line"], column=query["column"],
        origin=query.get("origin", "raw-sql"), function=query.get("function"),
        end_line=query.get("end_line"), end_column=query.get("end_column"),
    )
    if not queries:
        return None
    merged = queries[0]
    for extra in queries[1:]:
        merged["refs"] += extra["refs"]
    return {k: v for k, v in {**query, **merged}.items() if k != "sql_ref"}


def _lookup_constant(dotted: str, constants: dict) -> dict | None:
    if dotted in constants:
        return constants[dotted]
    # Imports are written relative to some source root: match on the longest common suffix.
    tail = dotted.split(".")
    for key, constant in constants.items():
        parts = key.split(".")
        if len(parts) >= 2 and parts[-1] == tail[-1] and parts[-2] == (tail[-2] if len(tail) > 1 else None):
            return constant
    return None
