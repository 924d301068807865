"""Raw SQL handed to a database API from Python: find the sink, rebuild the SQL string.

Only strings that reach a sink are SQL: docstrings, comments, log and exception messages
never are. A sink's SQL is analysed by the SQL engine once positions are known (see
:mod:`tenantlint.extract.python.extractor`); a SQL constant imported from another module becomes a
query with ``sql_ref`` for the linker to resolve.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from tenantlint.extract.python.strings import Ref, build, looks_like_sql, render
from tenantlint.extract.python.tree import dotted, keyword, normalise_code, positional, string_value

# method name -> index of the SQL argument
SINK_METHODS = {
    "execute": 0, "executemany": 0, "executescript": 0, "exec_driver_sql": 0, "fetch": 0, "fetchrow": 0,
    "fetchval": 0, "fetch_all": 0, "fetch_one": 0, "fetch_val": 0, "iterate": 0, "raw": 0, "read_sql": 0,
    "read_sql_query": 0, "copy_expert": 0, "copy": 0, "query": 0, "execute_async": 0, "run_sql": 0,
    "execute_sql": 0, "select_all": 0, "select_one": 0, "select_value": 0, "fetchall": 0, "fetchone": 0,
    "text": 0, "RunSQL": 0,
}
SINK_FUNCS = {"text": 0, "read_sql": 0, "read_sql_query": 0, "RawSQL": 0, "execute_values": 1, "execute_batch": 1,
              "run_sql": 0, "execute_sql": 0, "RunSQL": 0}
# Sinks that take a table name, not SQL: what they do, as SQL.
TABLE_SINKS = {"read_sql_table": (0, "SELECT * FROM {}"), "copy_to": (1, "COPY {} TO STDOUT")}
# django-tenants: ``connection.set_tenant(t)`` / ``set_schema(name)`` are SET search_path.
SCHEMA_SWITCHES = {"set_tenant", "set_schema"}
SQL_KEYWORDS = ("sql", "query", "statement", "operation", "stmt", "sql_query", "querystring")
# Sinks whose name is common outside databases: the SQL must look like a full statement.
STRICT = {"query", "fetch", "iterate", "copy", "raw", "fetchall", "fetchone", "text"}


@dataclass
class SqlJob:
    node: cst.CSTNode  # the sink call: where the finding points
    function: str | None
    sql: str | None = None
    dynamic: list[str] = field(default_factory=list)
    ref: str | None = None  # imported constant, resolved by the linker
    constant: str | None = None  # module constant the whole SQL comes from
    origin: str = "raw-sql"
    path: tuple = ()  # statements holding the sink, outermost first (positions.locate)
    tenant_loop: str | None = None  # in schema_context() inside a loop over tenants
    switch: str | None = None  # connection.set_tenant(<this>): the tenant switched to, as written


def method_sink(w, call: cst.Call, name: str, frame) -> bool:
    """``cursor.execute(sql, ...)`` and friends. True when handled (the SQL argument is
    consumed; the other arguments are visited)."""
    if name in TABLE_SINKS:
        return _table_sink(w, call, name, frame)
    if name in SCHEMA_SWITCHES and call.args and isinstance(call.func, cst.Attribute) \
            and (dotted(call.func.value) or "").rsplit(".", 1)[-1] == "connection":
        switch = normalise_code(cst.Module([]).code_for_node(call.args[0].value))
        w.sql_jobs.append(SqlJob(call, frame.name, sql="SET search_path TO %s", path=tuple(w.path), switch=switch))
        _visit_other_args(w, call, None, frame)
        return True
    index = SINK_METHODS.get(name)
    if index is None:
        return False
    return _handle(w, call, index, frame, strict=name in STRICT)


def func_sink(w, call: cst.Call, name: str, frame) -> bool:
    """``text(sql)``, ``pd.read_sql(sql, con)`` called as plain functions."""
    if name in TABLE_SINKS:
        return _table_sink(w, call, name, frame)
    index = SINK_FUNCS.get(name)
    if index is None:
        return False
    return _handle(w, call, index, frame, strict=name == "text")


def _sql_arg(call: cst.Call, index: int):
    pos = positional(call)
    if index < len(pos):
        return pos[index]
    return keyword(call, *SQL_KEYWORDS)


def _handle(w, call: cst.Call, index: int, frame, strict: bool) -> bool:
    expr = _sql_arg(call, index)
    if expr is None:
        return False
    w.resolver_frame = frame
    parts = build(expr, w)
    if parts is None:
        return False
    job = SqlJob(call, frame.name, path=tuple(w.path), tenant_loop=w.tenant_loops[-1] if w.tenant_loops else None)
    if len(parts) == 1 and isinstance(parts[0], Ref):
        job.ref = parts[0].qualified
    else:
        rendered = render(parts)
        if not looks_like_sql(rendered.sql, strict=strict):
            _visit_other_args(w, call, expr, frame)
            return True
        job.sql, job.dynamic = rendered.sql, rendered.dynamic
        if isinstance(expr, cst.Name) and not frame_has_local(frame, expr.value) and expr.value in w.ctx.constants:
            job.constant = expr.value
    w.sql_jobs.append(job)
    _visit_other_args(w, call, expr, frame)
    return True


def _table_sink(w, call: cst.Call, name: str, frame) -> bool:
    index, template = TABLE_SINKS[name]
    pos = positional(call)
    expr = pos[index] if index < len(pos) else keyword(call, "table_name", "table")
    table = string_value(expr)
    if table is None:
        w.resolver_frame = frame
        parts = build(expr, w) if expr is not None else None
        table = parts[0] if parts and len(parts) == 1 and isinstance(parts[0], str) else None
    if not table:
        return False
    w.sql_jobs.append(SqlJob(call, frame.name, sql=template.format(table), path=tuple(w.path),
                             tenant_loop=w.tenant_loops[-1] if w.tenant_loops else None))
    _visit_other_args(w, call, expr, frame)
    return True


def _visit_other_args(w, call: cst.Call, skip, frame) -> None:
    for a in call.args:
        if a.value is not skip:
            w.visit(a.value, frame)


def frame_has_local(frame, name: str) -> bool:
    f = frame
    while f is not None:
        if f.kind == "function" and f.is_local(name):
            return True
        f = f.parent
    return False
