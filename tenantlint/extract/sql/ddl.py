"""Tables declared by DDL (``CREATE TABLE``, ``ALTER TABLE ... ADD COLUMN``).

>>> import sqlglot
>>> from tenantlint.config import Config
>>> stmt = sqlglot.parse_one("CREATE TABLE app.notes (id int, practice_id int, body text)")
>>> ddl(stmt, Config(tenant_columns=("practice_id",)))["name"]
'notes'
"""

from __future__ import annotations

from sqlglot import exp

from tenantlint.config import Config


def ddl(statement: exp.Expression, config: Config) -> dict | None:
    """The table a DDL statement declares or extends: name, columns, types, tenant column."""
    if isinstance(statement, exp.Create) and str(statement.args.get("kind", "")).upper() == "TABLE":
        schema = statement.this
        table = schema.this if isinstance(schema, exp.Schema) else schema
        if not isinstance(table, exp.Table):
            return None
        columns = schema.expressions if isinstance(schema, exp.Schema) else []
        if isinstance(statement.expression, exp.Query):  # CREATE TABLE ... AS SELECT
            columns = []
            return _table(table, _projected(statement.expression), {}, config)
        return _table(table, *_column_defs(columns), config)
    if isinstance(statement, exp.Alter) and str(statement.args.get("kind", "")).upper() == "TABLE":
        table = statement.this
        defs = [a for a in statement.args.get("actions") or [] if isinstance(a, exp.ColumnDef)]
        if not defs or not isinstance(table, exp.Table):
            return None
        return _table(table, *_column_defs(defs), config)
    return None


def _column_defs(nodes: list) -> tuple[list[str], dict[str, str]]:
    names, types = [], {}
    for node in nodes:
        if isinstance(node, exp.ColumnDef):
            name = node.name.lower()
            names.append(name)
            kind = node.args.get("kind")
            types[name] = kind.sql().lower() if isinstance(kind, exp.DataType) else ""
    return names, types


def _projected(query: exp.Expression) -> list[str]:
    if isinstance(query, exp.Select):
        return [p.alias_or_name.lower() for p in query.expressions if p.alias_or_name]
    return []


def _table(table: exp.Table, columns: list[str], types: dict[str, str], config: Config) -> dict:
    tenant = next((c for c in columns if config.is_tenant_column(c)), None)
    return {
        "name": table.name.lower(),
        "model": None,
        "columns": columns,
        "column_types": types,
        "tenant_column": tenant,
        "relations": {},
        "abstract": False,
        "bases": [],
    }
