"""The schema of a live PostgreSQL database, read-only, as DDL text the SQL extractor reads.

``tenantlint logs --dsn postgresql://...`` judges a log against the database it came from:
the tables, columns and foreign keys of ``information_schema``, and row-level security as
``pg_class`` and ``pg_policies`` hold it. Written back as ``CREATE TABLE`` / ``ALTER TABLE ...
ENABLE|FORCE ROW LEVEL SECURITY`` / ``CREATE POLICY`` statements, they go through the same
extraction as a schema file, so tenant columns, sensitive columns and RLS mean the same.
The session is read-only (``default_transaction_read_only``); nothing is written.
"""

from __future__ import annotations

from tenantlint.errors import UsageError

_COLUMNS = """
SELECT c.table_name, c.column_name, c.data_type
FROM information_schema.columns c JOIN information_schema.tables t
  ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') AND t.table_type = 'BASE TABLE'
ORDER BY c.table_schema, c.table_name, c.ordinal_position"""
_FOREIGN_KEYS = """
SELECT tc.table_name, kcu.column_name, ccu.table_name, ccu.column_name
FROM information_schema.table_constraints tc
JOIN information_schema.key_column_usage kcu
  ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
JOIN information_schema.constraint_column_usage ccu
  ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema
WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema NOT IN ('pg_catalog', 'information_schema')"""
_RLS = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.relrowsecurity"""
_POLICIES = """
SELECT tablename, policyname, permissive, cmd, qual, with_check FROM pg_policies
WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY tablename, policyname"""


def catalog_sql(dsn: str) -> str:
    """DDL text for the database at ``dsn`` (tables, foreign keys, row-level security)."""
    try:
        import psycopg
    except ImportError as exc:
        raise UsageError("--dsn needs psycopg: pip install 'tenantlint[postgres]'") from exc
    try:
        with psycopg.connect(dsn, options="-c default_transaction_read_only=on", connect_timeout=30) as conn:
            with conn.cursor() as cursor:
                columns = cursor.execute(_COLUMNS).fetchall()
                keys = cursor.execute(_FOREIGN_KEYS).fetchall()
                secured = cursor.execute(_RLS).fetchall()
                policies = cursor.execute(_POLICIES).fetchall()
    except psycopg.Error as exc:
        raise UsageError(f"--dsn: cannot read the database's catalog: {str(exc).strip().splitlines()[0]}") from exc
    return _ddl(columns, keys, secured, policies)


def _ddl(columns, keys, secured, policies) -> str:
    """The catalog's rows as DDL.

    >>> print(_ddl([("notes", "practice_id", "bigint")], [("notes", "practice_id", "practices", "id")],
    ...            [("notes", True, True)], [("notes", "iso", "PERMISSIVE", "ALL", "(practice_id = 1)", None)]))
    CREATE TABLE "notes" ("practice_id" bigint, FOREIGN KEY ("practice_id") REFERENCES "practices" ("id"));
    ALTER TABLE "notes" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "notes" FORCE ROW LEVEL SECURITY;
    CREATE POLICY "iso" ON "notes" AS PERMISSIVE FOR ALL USING ((practice_id = 1));
    <BLANKLINE>
    """
    tables: dict[str, list[str]] = {}
    for table, column, data_type in columns:
        tables.setdefault(table, []).append(f"{_quote(column)} {data_type}")
    for table, column, target, target_column in keys:
        if table in tables:
            tables[table].append(f"FOREIGN KEY ({_quote(column)}) REFERENCES {_quote(target)} ({_quote(target_column)})")
    out = [f"CREATE TABLE {_quote(table)} ({', '.join(parts)});" for table, parts in tables.items()]
    for table, enabled, forced in secured:
        out.append(f"ALTER TABLE {_quote(table)} ENABLE ROW LEVEL SECURITY;")
        if forced:
            out.append(f"ALTER TABLE {_quote(table)} FORCE ROW LEVEL SECURITY;")
    for table, name, permissive, command, using, check in policies:
        clauses = (f" USING ({using})" if using else "") + (f" WITH CHECK ({check})" if check else "")
        out.append(f"CREATE POLICY {_quote(name)} ON {_quote(table)} AS {permissive} FOR {command}{clauses};")
    return "\n".join(out) + "\n"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
