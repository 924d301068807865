"""Tables declared by DDL (``CREATE TABLE``, ``ALTER TABLE ... ADD COLUMN`` / ``ADD FOREIGN KEY``).

>>> import sqlglot
>>> from tenantlint.config import Config
>>> stmt = sqlglot.parse_one("CREATE TABLE app.notes (id int, practice_id int, body text)")
>>> ddl(stmt, Config(tenant_columns=("practice_id",)))["name"]
'notes'

Foreign keys say which joins carry a tenant (``tenantlint.program.joins``):

>>> stmt = sqlglot.parse_one("CREATE TABLE stock (facility_id int REFERENCES facilities(id), "
...                          "sku_id int, FOREIGN KEY (sku_id) REFERENCES skus (id))")
>>> ddl(stmt, Config())["foreign_keys"]
{'facility_id': 'facilities.id', 'sku_id': 'skus.id'}
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
        return _table(table, *_column_defs(columns), config, _foreign_keys(columns))
    if isinstance(statement, exp.Alter) and str(statement.args.get("kind", "")).upper() == "TABLE":
        table = statement.this
        actions = statement.args.get("actions") or []
        defs = [a for a in actions if isinstance(a, exp.ColumnDef)]
        keys = _foreign_keys(actions)
        if not (defs or keys) or not isinstance(table, exp.Table):
            return None
        return _table(table, *_column_defs(defs), config, keys)
    return None


def _foreign_keys(nodes: list) -> dict[str, str]:
    """column -> ``table.column`` it references: ``REFERENCES`` on a column, ``FOREIGN KEY``
    of the table or of an ``ADD CONSTRAINT``."""
    out: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, exp.ColumnDef):
            for constraint in node.args.get("constraints") or []:
                if isinstance(constraint.args.get("kind"), exp.Reference):
                    target = _target(constraint.args["kind"])
                    if target:
                        out[node.name.lower()] = target[0]
            continue
        for key in node.find_all(exp.ForeignKey):
            target = _target(key.args.get("reference"))
            if target:
                for column, name in zip(key.expressions, target):
                    out[column.name.lower()] = name
    return out


def _target(reference) -> list[str]:
    """``REFERENCES skus (id, region)`` -> ["skus.id", "skus.region"] (``skus.id`` when no column is named)."""
    schema = reference.this if isinstance(reference, exp.Reference) else None
    table = schema.this if isinstance(schema, exp.Schema) else schema
    if not isinstance(table, exp.Table):
        return []
    columns = [c.name.lower() for c in schema.expressions] if isinstance(schema, exp.Schema) else []
    return [f"{table.name.lower()}.{c}" for c in columns or ["id"]]


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


def _table(table: exp.Table, columns: list[str], types: dict[str, str], config: Config,
           foreign_keys: dict[str, str] | None = None) -> dict:
    tenant = next((c for c in columns if config.is_tenant_column(c)), None)
    return {
        **({"foreign_keys": foreign_keys} if foreign_keys else {}),
        "name": table.name.lower(),
        "model": None,
        "columns": columns,
        "column_types": types,
        "tenant_column": tenant,
        "relations": {},
        "abstract": False,
        "bases": [],
    }
