"""Bind-parameter and identifier-quoting styles per SQL dialect: each probe must parse and be judged.

Every probe is ``SELECT * FROM notes WHERE tenant_id = <ph> AND created_at BETWEEN <ph> AND <ph>``
in one placeholder style and one identifier quoting, run through :func:`analyze_sql` under the
dialects where that spelling is legitimate. Placeholders bound by the Python driver (``%s``,
``%(name)s``, ``:name``, ``?``) and template holes (``{name}``) are not SQL at all, so those
probes run under every dialect; dialect-specific spellings (backticks, ``[brackets]``,
``@name``, ``?NNN``, ``$name``, ``$1``) run under their own dialects only.

The scoped variant filters on the tenant column and must be judged ``direct``; the unscoped
variant filters on ``author_id`` instead and must be judged ``none``. A case that fails is
listed in :data:`KNOWN_GAPS` as a strict xfail, so the file documents the gaps exactly.
"""

from __future__ import annotations

import pytest

from tenantlint.config import Config
from tenantlint.extract.sql import analyze_sql

ALL = ("postgres", "mysql", "tsql", "sqlite", "snowflake", "bigquery")

# id: (identifier quotes, (tenant value, range start, range end), dialects)
PROBES = {
    # MySQL drivers (mysqlclient, PyMySQL, aiomysql) bind %s / %(name)s.
    "mysql-backtick-%s": ("``", ("%s", "%s", "%s"), ("mysql",)),
    "mysql-backtick-%(name)s": ("``", ("%(tenant)s", "%(from)s", "%(to)s"), ("mysql",)),
    # BigQuery named query parameters.
    "bigquery-backtick-@name": ("``", ("@tenant", "@start", "@end"), ("bigquery",)),
    # SQL Server: T-SQL variables / named parameters, pyodbc qmark, pymssql pyformat.
    "tsql-bracket-@name": ("[]", ("@tenant", "@start", "@end"), ("tsql",)),
    "tsql-bracket-@name-reserved": ("[]", ("@user", "@from", "@to"), ("tsql",)),
    "tsql-bracket-?": ("[]", ("?", "?", "?"), ("tsql",)),
    "tsql-bracket-%s": ("[]", ("%s", "%s", "%s"), ("tsql",)),
    # sqlite3 accepts ?, ?NNN, :name, @name and $name.
    "sqlite-?": ("", ("?", "?", "?"), ("sqlite",)),
    "sqlite-?NNN": ("", ("?1", "?2", "?3"), ("sqlite",)),
    "sqlite-:name": ("", (":tenant", ":start", ":end"), ("sqlite",)),
    "sqlite-@name": ("", ("@tenant", "@start", "@end"), ("sqlite",)),
    "sqlite-$name": ("", ("$tenant", "$start", "$end"), ("sqlite",)),
    # asyncpg numbered parameters.
    "postgres-$1": ("", ("$1", "$2", "$3"), ("postgres",)),
    # Driver-side styles (psycopg, SQLAlchemy text(), qmark drivers), under every dialect.
    "%s": ("", ("%s", "%s", "%s"), ALL),
    "%(name)s-reserved": ("", ("%(tenant)s", "%(from)s", "%(to)s"), ALL),
    ":name-reserved-user-from-to": ("", (":user", ":from", ":to"), ALL),
    ":name-reserved-group-order-limit": ("", (":group", ":order", ":limit"), ALL),
    "?": ("", ("?", "?", "?"), ALL),
    # str.format / f-string template holes left in SQL text (a .sql template, a raw string).
    "{name}-holes": ("", ("{tenant_id}", "{start}", "{end}"), ALL),
    "{name}-holes-reserved": ("", ("{user}", "{from}", "{to}"), ALL),
}

SCOPED = "SELECT * FROM {q}notes{Q} WHERE {q}tenant_id{Q} = {a} AND {q}created_at{Q} BETWEEN {b} AND {c}"
UNSCOPED = "SELECT * FROM {q}notes{Q} WHERE {q}author_id{Q} = {a} AND {q}created_at{Q} BETWEEN {b} AND {c}"

# (probe, dialect, variant) -> why it fails today. Empty: ?NNN and {name} holes are rewritten
# (statements.normalize_placeholders), $name is a placeholder (predicates.is_placeholder).
KNOWN_GAPS: dict[tuple[str, str, str], str] = {}


def _sql(probe: str, variant: str) -> str:
    quotes, (a, b, c), _ = PROBES[probe]
    q, Q = (quotes[0], quotes[1]) if quotes else ("", "")
    return (SCOPED if variant == "scoped" else UNSCOPED).format(q=q, Q=Q, a=a, b=b, c=c)


def _cases():
    for probe, (_, _, dialects) in PROBES.items():
        for dialect in dialects:
            for variant in ("scoped", "unscoped"):
                reason = KNOWN_GAPS.get((probe, dialect, variant))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                yield pytest.param(probe, dialect, variant, marks=marks, id=f"{probe}|{dialect}|{variant}")


def test_known_gaps_name_real_cases():
    cases = {(p, d, v) for p, (_, _, ds) in PROBES.items() for d in ds for v in ("scoped", "unscoped")}
    assert set(KNOWN_GAPS) <= cases


@pytest.mark.parametrize(("probe", "dialect", "variant"), list(_cases()))
def test_probe_parses_and_is_judged(probe: str, dialect: str, variant: str):
    sql = _sql(probe, variant)
    config = Config(tenant_columns=("tenant_id",), dialect=dialect)
    found = analyze_sql(sql, config, path="probe.py", line=1, column=1)
    queries, errors = found.queries, found.errors
    assert [e["message"] for e in errors] == [], sql
    scopes = [ref["scope"] for query in queries for ref in query["refs"]]
    assert scopes == (["direct"] if variant == "scoped" else ["none"]), sql
