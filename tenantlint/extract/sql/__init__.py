"""SQL facts: statements located in their file, with tenant-scope verdicts per table reference.

Two entry points: :func:`extract_sql` for a ``.sql`` file, and :func:`analyze_sql` for a SQL
string found in Python code (located at its call site).

>>> from tenantlint.config import Config
>>> found = analyze_sql("SELECT * FROM notes WHERE id = %s",
...     Config(tenant_columns=("practice_id",)), path="app.py", line=12, column=5)
>>> found.queries[0]["line"], found.queries[0]["refs"][0]["scope"]
(12, 'none')
"""

from __future__ import annotations

import re
from typing import NamedTuple

from tenantlint.config import Config
from tenantlint.extract.facts import error, new_file_facts

_WHITESPACE = re.compile(r"\s+")


class SqlFacts(NamedTuple):
    queries: list[dict]
    tables: list[dict]  # declared by DDL
    errors: list[dict]
    rls: list[dict]  # row-level security statements (tenantlint.extract.sql.rls), located


def extract_sql(path: str, source: bytes, config: Config) -> dict:
    """Facts of one ``.sql`` file: DDL tables, located queries, parse errors."""
    facts = new_file_facts(path, "sql")
    text = source.decode("utf-8")
    queries, tables, errors, rls = _analyze(text, config, path=path, origin="sql", at=None)
    facts["queries"], facts["tables"], facts["errors"] = queries, tables, errors
    if rls:
        facts["rls"] = rls
    facts["fields"] = [field for table in tables for field in _fields(table, path)]
    return facts


def analyze_sql(
    sql: str,
    config: Config,
    *,
    path: str,
    line: int,
    column: int,
    origin: str = "raw-sql",
    function: str | None = None,
    end_line: int | None = None,
    end_column: int | None = None,
) -> SqlFacts:
    """Analyse a SQL string found in code; every query is located at (line, column)."""
    at = (line, column, end_line or line, end_column or column)
    return _analyze(sql, config, path=path, origin=origin, at=at, function=function)


def _analyze(sql, config, *, path, origin, at, function=None) -> SqlFacts:
    from sqlglot import exp

    from tenantlint.extract.sql.ddl import ddl
    from tenantlint.extract.sql.rls import rls, schema_switch
    from tenantlint.extract.sql.scope import scope
    from tenantlint.extract.sql.statements import statements

    queries, tables, errors, security = [], [], [], []
    for stmt in statements(sql, config.dialect):
        line, column, end_line, end_column = at or (stmt.line, stmt.column, stmt.end_line, None)
        if stmt.expression is None:
            if stmt.error != "empty statement":
                errors.append(error(path, line if at else stmt.line, f"SQL does not parse: {stmt.error}"))
            continue
        try:
            declared = ddl(stmt.expression, config)
            verdict = scope(stmt.expression, config, export=stmt.export)
            switch = None
            if isinstance(stmt.expression, (exp.Command, exp.Set, exp.Select)):
                security_fact = rls(stmt.text, stmt.expression, config)
                if security_fact is not None:
                    security.append({**security_fact, "line": line, "function": function})
                switch = schema_switch(stmt.text, stmt.expression)
        except RecursionError:
            errors.append(error(path, line, "SQL statement is nested too deeply to analyse", "limit"))
            continue
        if declared is not None:
            declared["line"] = line
            tables.append(declared)
        if not verdict["refs"] and switch is None:
            continue
        queries.append({
            "path": path,
            "line": line,
            "column": column,
            "end_line": end_line,
            "end_column": end_column,
            "kind": "set" if switch is not None else verdict["kind"],
            "origin": origin,
            "function": function,
            "code": _WHITESPACE.sub(" ", stmt.text).strip(),
            "export": stmt.export or verdict["kind"] == "copy",
            "lookup": False,
            "refs": verdict["refs"],
            **({"schema_switch": switch} if switch is not None else {}),
        })
    return SqlFacts(queries, tables, errors, security)


def _fields(table: dict, path: str) -> list[dict]:
    return [
        {"path": path, "line": table["line"], "column": 1, "table": table["name"], "model": None,
         "name": column, "type": table["column_types"].get(column, ""), "origin": "ddl"}
        for column in table["columns"]
    ]
