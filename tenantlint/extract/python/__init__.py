"""Python extraction: one file's bytes -> FileFacts (see :mod:`tenantlint.extract.facts`).

Pure: no imports of the scanned code, no cross-file lookups, no global state (the
recursion limit is raised for the call and restored). The file is parsed once with libcst
(:mod:`.guard` first refuses the few inputs libcst crashes or stalls on); :mod:`.extractor`
walks it once; positions are computed at the end for the nodes that became facts only
(:mod:`.positions`: CPython's ``ast`` for statement lines, code generation of just the
statements that hold facts, measured against PositionProvider and full generation).

Modules: ``context`` (imports, constants, classes), ``models`` (Table and Field facts),
``extractor`` (the walk), ``orm_django`` + ``django_lookups`` + ``django_views`` (querysets,
filters and Q objects, class-based views), ``orm_sqlalchemy``, ``raw_sql`` + ``strings``
(SQL sinks, SQL text built from Python expressions), ``checks`` (ownership checked after a
fetch), ``records`` (a query under construction), ``frames`` (variables and assignments),
``chains`` (method chains), ``tree`` (node helpers), ``positions``, ``guard``.

Beyond facts.py: Django refs carry ``lookups`` (the filter in CNF, raw lookup paths),
``manager`` (``objects``, ``all_objects``: with the Table's ``managers``, an auto-scoping
manager such as django-scopes' ScopedManager can be recognised by the linker) and,
when unscoped, ``parent_lookups`` (``fk=<object>`` lookups a linker can accept as scoped
when ``fk`` is a relation); a query whose SQL is a constant of another module has
``sql_ref`` (``pkg.module.NAME``), ``kind`` None and no refs; raw SQL with an opaque
fragment in a predicate position has ``dynamic`` (its unscoped refs become "helper").
Tables carry ``framework``, ``module``, ``base_paths`` (bases qualified through imports),
and where known ``managers``, ``foreign_keys``, ``proxy`` and, for Core tables, ``variable``;
``name`` is None for a model with no table of its own (abstract, mixin, proxy, SQLAlchemy
single-table subclass): the linker inherits through ``bases``.
"""

from __future__ import annotations

import sys

import libcst as cst

from tenantlint.config import Config
from tenantlint.extract.facts import error, new_file_facts, ref
from tenantlint.extract.python.context import FileContext, collect
from tenantlint.extract.python.extractor import Walker
from tenantlint.extract.python.guard import refuse
from tenantlint.extract.python.models import extract_models
from tenantlint.extract.python.positions import locate
from tenantlint.extract.python.runtime_scopes import (
    current_tenant_managers, loader_criteria, query_class_uses, tenant_query_classes,
)
from tenantlint.extract.python.strings import build, looks_like_sql, render
from tenantlint.extract.python.tree import normalise_code

__all__ = ["extract_python"]
# The walk and libcst's code generator recurse once or twice per level of nesting; the
# guard keeps trees under 1,500 levels, so this is enough and stays far from the C stack.
RECURSION_LIMIT = 8000


def extract_python(path: str, source: bytes, config: Config) -> dict:
    """FileFacts of the Python file ``path`` (display path, ``/`` separators)."""
    facts = new_file_facts(path, "python")
    refused = refuse(source)
    if refused is not None:
        line, message = refused
        kind = "parse" if message.startswith("Python does not parse") else "limit"
        facts["errors"].append(error(path, line, message, kind, whole_file=True))
        return facts
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        facts["errors"].append(error(path, *_syntax_error(source, exc), "parse", whole_file=True))
        return facts
    except (UnicodeError, LookupError) as exc:
        facts["errors"].append(error(path, 0, f"cannot decode the file: {exc}", "read"))
        return facts
    except (SyntaxError, ValueError) as exc:  # e.g. "unknown encoding: uft-8" in a coding cookie
        facts["errors"].append(error(path, getattr(exc, "lineno", 0) or 0, f"Python does not parse: {exc}", "parse",
                                     whole_file=True))
        return facts
    except RecursionError:
        facts["errors"].append(error(path, 0, "nested too deeply to parse (recursion limit)", "limit"))
        return facts
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
    try:
        return _extract(path, module, source, config, facts)
    except RecursionError:
        fresh = new_file_facts(path, "python")
        fresh["errors"].append(error(path, 0, "nested too deeply to analyse (recursion limit)", "limit"))
        return fresh
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop a scan; say what broke
        fresh = new_file_facts(path, "python")
        fresh["errors"].append(error(path, 0, f"internal error in Python extraction: {type(exc).__name__}: {exc}",
                                     "internal"))
        return fresh
    finally:
        sys.setrecursionlimit(limit)


def _syntax_error(source: bytes, exc: cst.ParserSyntaxError) -> tuple[int, str]:
    """libcst's native parser often reports the token after the mistake; CPython says
    where it is. Only files that fail to parse pay for the second parser."""
    import ast

    try:
        ast.parse(source)
    except SyntaxError as syntax:
        if syntax.lineno:
            return syntax.lineno, f"Python does not parse: {syntax.msg}"
    except (RecursionError, MemoryError, ValueError):
        pass
    return exc.raw_line, f"Python does not parse: {exc.message}"


def _extract(path: str, module: cst.Module, source: bytes, config: Config, facts: dict) -> dict:
    ctx = FileContext(path, config, module)
    collect(ctx)
    tables, fields = extract_models(ctx)
    walker = Walker(ctx)
    walker.run()
    constants = _constants(ctx, walker)
    jobs = _merge_constant_jobs(ctx, walker.sql_jobs)
    records = [r for r in walker.records
               if not r.discard and r.entities and (r.touched or r.origin != "django")]

    wanted = [(f["_at"], f.pop("_path")) for f in tables + fields] + [(r.end, r.path) for r in records]
    wanted += [(j.node, j.path) for j in jobs]
    wanted += [(node, ctx.paths.get(id(node), ())) for node, _ in constants.values()]
    criteria = loader_criteria(module, config) if b"with_loader_criteria" in source else []
    wanted += [(node, ()) for node, _ in criteria]
    pos = locate(module, source, wanted)

    for fact in tables + fields:
        line, col = _at(pos, fact.pop("_at"))[:2]
        fact["line"] = line
        if "column_name" in fact:
            fact["column"] = col
    facts["tables"], facts["fields"] = tables, fields
    facts["imports"] = dict(ctx.imports)
    facts["constants"] = {name: {"sql": sql, "line": _at(pos, node)[0]} for name, (node, sql) in constants.items()}
    for rec in records:
        facts["queries"].append(_record_query(ctx, rec, _at(pos, rec.end)))
    scopes = [{**fact, "line": _at(pos, node)[0]} for node, fact in criteria]
    scopes += current_tenant_managers(ctx.classes, config) if b"get_queryset" in source else []
    scopes += tenant_query_classes(ctx.classes, config) if b"Query" in source or b"Session" in source else []
    scopes += query_class_uses(module) if b"query_cls" in source or b"query_class" in source \
        or b"class_=" in source else []
    if scopes:
        facts["runtime_scopes"] = scopes
    for job in jobs:
        _job_queries(ctx, job, _at(pos, job.node), facts)
    return facts


def _at(pos: dict, node) -> tuple[int, int, int, int]:
    """1-based (line, column, end_line, end_column) of a node (end column exclusive)."""
    line, col, end_line, end_col = pos.get(id(node), (0, 0, 0, 0))
    return line, col + 1, end_line, end_col + 1


def _record_query(ctx: FileContext, rec, at) -> dict:
    line, col, end_line, end_col = at
    uses = sorted(rec.uses - {"read"}) if "write" in rec.uses else ["read"]
    refs = []
    for key, verdict in rec.verdicts().items():
        entity = rec.entities[key]
        for use in uses:
            r = ref(entity["table"], verdict[0], verdict[1], use=use, model=entity["model"])
            if rec.origin == "django":
                r["lookups"] = rec.lookups
                if rec.manager:
                    r["manager"] = rec.manager
                if rec.manager_unsure:
                    r["manager_unsure"] = True
                if rec.disabled:
                    r["scopes_disabled"] = rec.disabled
                if rec.parents and verdict[0] == "none":
                    r["parent_lookups"] = list(rec.parents)
            if rec.tenant_loop:
                r["tenant_loop"] = rec.tenant_loop
            if rec.query_api:
                r["query_api"] = True
            refs.append(r)
    code = normalise_code(ctx.module.code_for_node(rec.code_node or rec.end))
    return {
        "path": ctx.path, "line": line, "column": col, "end_line": end_line, "end_column": end_col,
        "kind": rec.kind if not rec.lookup or rec.kind != "select" else "lookup",
        "origin": rec.origin, "function": rec.function, "code": code,
        "export": rec.export,  # an export is decided by where the rows go: tenantlint.program.exports
        "lookup": rec.lookup, "refs": refs,
    }


def _constants(ctx: FileContext, walker: Walker) -> dict:
    """Module-level names bound to SQL text: NAME -> (node, sql)."""
    out = {}
    walker.resolver_frame = None
    for name, (value, target) in ctx.constants.items():
        if isinstance(value, cst.Call) and not isinstance(value.func, cst.Attribute):
            continue
        parts = build(value, walker)
        if not parts or not any(isinstance(p, str) and p.strip() for p in parts):
            continue
        rendered = render(parts)
        if looks_like_sql(rendered.sql, strict=True, dialect=ctx.config.dialect):
            out[name] = (target, rendered.sql)
    return out


def _merge_constant_jobs(ctx: FileContext, jobs: list) -> list:
    """A SQL constant used at several sinks of this module is reported once, at the constant."""
    by_constant: dict[str, list] = {}
    for job in jobs:
        if job.constant:
            by_constant.setdefault(job.constant, []).append(job)
    out = []
    done = set()
    for job in jobs:
        group = by_constant.get(job.constant or "", [])
        if len(group) < 2:
            out.append(job)
        elif job.constant not in done:
            done.add(job.constant)
            job.node = ctx.constants[job.constant][1]
            job.path = ctx.paths.get(id(job.node), ())
            job.function = None
            out.append(job)
    return out


def _job_queries(ctx: FileContext, job, at, facts: dict) -> None:
    line, col, end_line, end_col = at
    if job.ref:
        facts["queries"].append({
            "path": ctx.path, "line": line, "column": col, "end_line": end_line, "end_column": end_col,
            "kind": None, "origin": job.origin, "function": job.function, "code": job.ref,
            "export": False, "lookup": False, "refs": [], "sql_ref": job.ref,
        })
        return
    from tenantlint.extract.sql import analyze_sql

    queries, _tables, errors, security = analyze_sql(
        job.sql, ctx.config, path=ctx.path, line=line, column=col, origin=job.origin,
        function=job.function, end_line=end_line, end_column=end_col,
    )
    if security:  # op.execute("ALTER TABLE notes ENABLE ROW LEVEL SECURITY") in a migration
        facts.setdefault("rls", []).extend(security)
    for q in queries:
        if job.switch and "schema_switch" in q:
            q["schema_switch"] = job.switch
        for r in q.get("refs", []) if job.tenant_loop else ():
            r["tenant_loop"] = job.tenant_loop
        if job.dynamic:
            q["dynamic"] = job.dynamic
            for r in q.get("refs", []):
                if r.get("scope") == "none" and r.get("use") != "export":
                    r["scope"] = "helper"
                    r["reason"] = f"SQL built with a dynamic fragment ({job.dynamic[0]}) that may filter by tenant"
        facts["queries"].append(q)
    facts["errors"].extend(errors)
