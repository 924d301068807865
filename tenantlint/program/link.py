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
from tenantlint.program.callgraph import CallGraph
from tenantlint.program.contexts import Contexts
from tenantlint.program.joins import non_propagating_join
from tenantlint.program.paths import judge
from tenantlint.program.rls import rls_scope, row_level_security, runtime_switches
from tenantlint.program.routes import link_routes
from tenantlint.program.runtime import RuntimeScopes
from tenantlint.program.serializers import implicit_related_fields
from tenantlint.program.writes import foreign_key_writes

PLAINTEXT_TYPES = {
    "charfield", "textfield", "emailfield", "slugfield", "jsonfield", "urlfield", "genericipaddressfield",
    "string", "text", "unicode", "unicodetext", "varchar", "nvarchar", "char", "nchar", "character varying",
    "character", "json", "jsonb", "clob", "citext", "mediumtext", "longtext", "tinytext",
}


def link(files: list[dict], config: Config, scripts: list[str] = (), focus: set[str] | None = None,
         edges=None) -> dict:
    """Join per-file facts into the policy input document. ``scripts``: functions the project
    installs as console commands (dotted names). ``focus``: on a scan of given files, their
    paths; the other files' queries are judged only when a function of a given file reaches
    them (a finding can sit in a given file only then), the rest keep no sites. ``edges``: a
    :class:`tenantlint.cache.EdgeMemo`, the call graph's edges of unchanged files."""
    models = _models(files)
    tables = _tables(files, models, config)
    fields = [_link_field(f, models, config) for facts in files for f in facts.get("fields", [])]
    _drop_encrypted(tables, fields)
    constants = _constants(files)
    switches = runtime_switches(files)
    security = row_level_security(files, skip=switches)
    graph = CallGraph(files, memo=edges)
    runtime = RuntimeScopes(files, models, graph)
    queries = []
    for facts in files:
        for query in facts.get("queries", []):
            query = _resolve_constant(query, constants, config)
            if query is None or not all(_declared_manager(ref, models) for ref in query.get("refs", [])):
                continue
            if "schema_switch" in query and not runtime.tenant_apps:  # no schema per tenant: no tenant switch
                query = {k: v for k, v in query.items() if k != "schema_switch"}
            refs = [_link_ref(ref, tables, models, config, query.get("origin"), runtime)
                    for ref in query.get("refs", [])]
            for ref in refs:
                protected = rls_scope(ref, query.get("kind") or "", security)
                if protected is not None:
                    ref["scope"], ref["reason"] = protected
            queries.append({**query, "index": len(queries), "refs": refs})
    for query in switches:
        queries.append({**query, "index": len(queries)})
    for query in foreign_key_writes(graph, models, tables):
        queries.append({**query, "index": len(queries)})
    for query in implicit_related_fields(graph, models, tables):
        for ref in query["refs"]:  # the model's default manager may scope it at run time
            verdict = runtime.scope(ref, "django")
            if verdict is not None:
                _apply_runtime(ref, verdict)
        queries.append({**query, "index": len(queries)})
    routes = link_routes(files, queries, config, graph)  # also marks exports and each query's route
    judged = queries if focus is None else _reached_from(focus, queries, graph)
    judge(judged, graph, Contexts(graph, routes, config, scripts), config)
    return {"version": 1, "tables": tables, "queries": queries, "routes": routes, "fields": fields,
            "rls": security}


def _apply_runtime(ref: dict, verdict) -> None:
    """A runtime library's verdict on a reference (:class:`tenantlint.program.runtime.Verdict`)."""
    ref["scope"], ref["reason"] = verdict.scope, verdict.reason
    if verdict.scope == "none":  # a library would scope it, but not here (scopes_disabled(), a loop...)
        ref["runtime_gap"] = verdict.reason
    if verdict.current_tenant:  # only where a request or the code set the current tenant
        ref["current_tenant"] = True


def linked_tables(files: list[dict], config: Config) -> dict[str, dict]:
    """The document's ``tables`` alone (models resolved), without the whole-program stage:
    what inferring a config from the schema needs."""
    return _tables(files, _models(files), config)


def _reached_from(focus: set[str], queries: list[dict], graph: CallGraph) -> list[dict]:
    """The queries of the ``focus`` files, and those in functions their functions call, at
    any depth: a finding sits at a call in the outermost function of a path to the query,
    so a query no function of theirs reaches has no site in them."""
    reached = set()
    stack = [name for name, fn in graph.functions.items() if fn["path"] in focus]
    while stack:
        name = stack.pop()
        if name not in reached:
            reached.add(name)
            stack.extend(e.callee for e in graph.out.get(name, ()))
    return [q for q in queries if q["path"] in focus or q.get("function") in reached]


def _models(files: list[dict]) -> dict[str, dict]:
    """Model class name -> {table, tenant_column, bases, ...}, inheritance resolved.

    Bases are followed by their import path (``base_paths``) when the extractor knows it, so
    a third-party ``Device`` base is not mistaken for the project's own ``Device`` model.
    """
    models: dict[str, dict] = {}
    qualified: dict[str, dict] = {}
    for facts in files:
        for table in facts.get("tables", []):
            if table.get("model"):
                entry = models.setdefault(table["model"],
                                          {**table, "table": table.get("name"), "path": facts.get("path")})
                if table.get("module"):
                    qualified.setdefault(f"{table['module']}.{table['model']}", entry)
    named = {name.lower(): name for name in models}  # Django resolves "core.TeamSpace" case-insensitively
    for model in models.values():
        if model.get("relations"):
            model["relations"] = {attr: named.get(target.lower(), target)
                                  for attr, target in model["relations"].items()}
    resolved = {name: _inherited(model, models, qualified, set()) for name, model in models.items()}
    for name, (tenant_column, table) in resolved.items():
        models[name]["tenant_column"] = tenant_column
        models[name]["table"] = table
        models[name]["managers"] = _managers(models[name], models, qualified, set())
    for name, model in models.items():
        if not model["tenant_column"] and model.get("pk_parent"):
            model["tenant_column"] = _parent_tenant(model, models, 0)
    return models


def _managers(model: dict, models: dict, qualified: dict, seen: set) -> dict:
    """The model's managers, its own and those its bases declare (an abstract base's
    ``objects = ScopedManager(...)`` serves every model built on it)."""
    if id(model) in seen:
        return {}
    seen.add(id(model))
    found = {}
    for base in reversed(_bases(model, models, qualified)):
        found.update(_managers(base, models, qualified, seen))
    return {**found, **(model.get("managers") or {})}


def _parent_tenant(model: dict, models: dict, depth: int) -> str | None:
    """A model whose primary key is a one-to-one link to its parent (``board =
    OneToOneField(Board, primary_key=True)``) holds the parent's rows' data: its tenant is the
    parent's, reached through the link (``board__teamspace_id``)."""
    parent = models.get(model["relations"].get(model["pk_parent"]) or "")
    if parent is None or depth > 5:
        return None
    column = parent.get("tenant_column") or (parent.get("pk_parent") and _parent_tenant(parent, models, depth + 1))
    return f"{model['pk_parent']}__{column}" if column else None


def _declared_manager(ref: dict, models: dict) -> bool:
    """A chain from a manager the extractor could not be sure of (``Card.visible_objects.get``)
    is a query only if the model declares that manager."""
    if not ref.get("manager_unsure"):
        return True
    return ref.get("manager") in ((models.get(ref.get("model") or "") or {}).get("managers") or {})


def _inherited(model: dict, models: dict, qualified: dict, seen: set) -> tuple[str | None, str | None]:
    """(tenant column, table) of a model: its own, else the nearest base's.

    A table is inherited only from a base that is not abstract (Django multi-table or proxy
    models, SQLAlchemy single-table subclasses); a tenant column from any base."""
    if id(model) in seen:
        return None, None
    seen.add(id(model))
    tenant_column, table = model.get("tenant_column"), model.get("table")
    for base in _bases(model, models, qualified):
        if tenant_column and table:
            break
        base_column, base_table = _inherited(base, models, qualified, seen)
        tenant_column = tenant_column or base_column
        if table is None and not base.get("abstract"):
            table = base_table
    return tenant_column, table


def _bases(model: dict, models: dict, qualified: dict) -> list[dict]:
    paths = model.get("base_paths")
    if paths:
        return [qualified[p] for p in paths if p in qualified]
    return [models[b.rsplit(".", 1)[-1]] for b in model.get("bases", []) if b.rsplit(".", 1)[-1] in models]


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
            keys = _foreign_keys(table, models)
            if keys:
                entry["foreign_keys"] = {**keys, **(entry.get("foreign_keys") or {})}
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


def _foreign_keys(table: dict, models: dict) -> dict[str, str]:
    """column -> ``table.column`` it references: DDL and SQLAlchemy say so, a Django relation
    ``board = ForeignKey(Board)`` is the column ``board_id`` to Board's table's id."""
    keys = {c.lower(): t.lower() for c, t in (table.get("foreign_keys") or {}).items()}
    relations = (models.get(table.get("model") or "") or table).get("relations") or {}  # names resolved
    for attr, target in relations.items():
        target_table = (models.get(target) or {}).get("table")
        if target_table and table.get("framework") == "django":
            keys.setdefault(f"{attr}_id".lower(), f"{target_table.lower()}.id")
    return keys


def _drop_encrypted(tables: dict, fields: list[dict]) -> None:
    """A sensitive column declared with an encrypted type leaves an export as ciphertext:
    messages about exported sensitive columns name only the plaintext ones."""
    encrypted = {((f.get("table") or "").lower(), (f.get("column_name") or f.get("name") or "").lower())
                 for f in fields if f.get("encrypted")}
    for name, entry in tables.items():
        entry["sensitive_columns"] = [c for c in entry["sensitive_columns"] if (name, c) not in encrypted]


def _link_ref(ref: dict, tables: dict, models: dict, config: Config, origin: str | None,
              runtime_scopes: RuntimeScopes) -> dict:
    table = ref.get("table")
    model = ref.get("model")
    if not table and model:
        table = (models.get(model) or {}).get("table") or model.lower()
    info = tables.get((table or "").lower())
    owned = bool(info and info["tenant_owned"])
    if info is None and model and table_matches(model, config.tenant_tables):
        owned = not table_matches(model, config.global_tables)
    linked = {
        **ref,
        "table": table,
        "model": model or (info or {}).get("model"),
        "tenant_owned": owned,
        "tenant_column": (info or {}).get("tenant_column"),
        "sensitive_columns": (info or {}).get("sensitive_columns", []),
    }
    runtime = runtime_scopes.scope(ref, origin)
    if runtime is not None:
        _apply_runtime(linked, runtime)
    shared = non_propagating_join(linked, tables, config.non_propagating_join_keys)
    if shared is not None:
        linked["scope"], linked["reason"], linked["shared_join"] = "none", shared, shared
    parent = _tenant_parent(ref, models, tables)
    if parent is not None:
        linked["scope"] = "join"
        linked["reason"] = f"filtered by a {parent} object ({parent} rows are tenant-owned)"
    return linked


def _tenant_parent(ref: dict, models: dict, tables: dict) -> str | None:
    """The related tenant-owned model of an unscoped Django ``fk=<object>`` filter, if any:
    children filtered by their parent object are as scoped as the parent was when loaded."""
    if ref.get("scope") != "none" or not ref.get("parent_lookups"):
        return None
    relations = (models.get(ref.get("model") or "") or {}).get("relations") or {}
    for lookup in ref["parent_lookups"]:
        target = relations.get(lookup.split("__", 1)[0])
        target_table = (models.get(target or "") or {}).get("table")
        if target_table and tables.get(target_table.lower(), {}).get("tenant_owned"):
            return target
    return None


def _link_field(field: dict, models: dict, config: Config) -> dict:
    table = field.get("table") or (models.get(field.get("model") or "") or {}).get("table")
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
    from tenantlint.extract.sql import analyze_sql

    queries = analyze_sql(
        constant["sql"], config, path=query["path"], line=query["line"], column=query["column"],
        origin=query.get("origin", "raw-sql"), function=query.get("function"),
        end_line=query.get("end_line"), end_column=query.get("end_column"),
    ).queries
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
