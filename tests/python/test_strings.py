"""SQL text rebuilt from Python expressions: literals, concatenation, f-strings, %, .format."""

from __future__ import annotations

import libcst as cst
import pytest

from tenantlint.extract.python.strings import Hole, Ref, Resolver, build, looks_like_sql, render


class _Names(Resolver):
    def __init__(self, **values):
        self.values = values

    def name(self, name, node):
        if name in self.values:
            value = self.values[name]
            return value if isinstance(value, Ref) else [("=", cst.parse_expression(value))]
        return None

    def source(self, node):
        return cst.Module([]).code_for_node(node)


def _sql(expr: str, **names) -> tuple[str, list[str]]:
    parts = build(cst.parse_expression(expr), _Names(**names))
    assert parts is not None
    rendered = render(parts)
    return rendered.sql, rendered.dynamic


@pytest.mark.parametrize("expr, sql", [
    ('"SELECT 1 FROM t"', "SELECT 1 FROM t"),
    ('"SELECT a " "FROM t"', "SELECT a FROM t"),
    ('"SELECT a " + "FROM t WHERE x = %s"', "SELECT a FROM t WHERE x = %s"),
    ('f"SELECT a FROM t WHERE org_id = {org}"', "SELECT a FROM t WHERE org_id = %s"),
    ('f"SELECT a FROM {TABLE} WHERE org_id = %s"', "SELECT a FROM contacts WHERE org_id = %s"),
    ('f"SELECT a FROM {table} WHERE org_id = %s"', "SELECT a FROM tl_dynamic WHERE org_id = %s"),
    ('f"SELECT a FROM s.{table} t"', "SELECT a FROM s.tl_dynamic t"),
    ("f\"SELECT a FROM t WHERE name = '{name}'\"", "SELECT a FROM t WHERE name = 'x'"),
    ('"SELECT a FROM %s WHERE b = %%s" % table', "SELECT a FROM tl_dynamic WHERE b = %s"),
    ('"SELECT a FROM t WHERE b = %(b)s" % {"b": value}', "SELECT a FROM t WHERE b = %s"),
    ('"SELECT a FROM t WHERE b IN (%s)" % ids', "SELECT a FROM t WHERE b IN (%s)"),
    ('"SELECT a FROM {} WHERE b = {b}".format(TABLE, b=x)', "SELECT a FROM contacts WHERE b = %s"),
    ('" ".join(["SELECT a", "FROM t"])', "SELECT a FROM t"),
    ('textwrap.dedent("SELECT a FROM t")', "SELECT a FROM t"),
    ('"UPDATE t SET {} WHERE id = %s".format(assignments)', "UPDATE t SET tl_dynamic = %s WHERE id = %s"),
    ('f"SELECT a FROM t ORDER BY {col} LIMIT {n}"', "SELECT a FROM t ORDER BY %s LIMIT %s"),
    ('f"SELECT a FROM t WHERE {col} = %s"', "SELECT a FROM t WHERE tl_dynamic = %s"),
    ('sql.SQL("SELECT a FROM {}").format(sql.Identifier("contacts"))', "SELECT a FROM contacts"),
    ('f"SELECT a FROM t WHERE x = 1\\n AND y = 2"', "SELECT a FROM t WHERE x = 1\n AND y = 2"),
    ('f"SELECT {{a}} FROM t"', "SELECT {a} FROM t"),
])
def test_built(expr, sql):
    assert _sql(expr, TABLE='"contacts"')[0] == sql


@pytest.mark.parametrize("expr, fragment", [
    ('f"SELECT a FROM t WHERE {where}"', "where"),
    ('f"SELECT a FROM t WHERE x = 1 AND ({cond})"', "cond"),
    ('"SELECT a FROM t " + clause', "clause"),
    ('"SELECT a FROM t WHERE x = 1" + (" AND org_id = %s" if scoped else "")',
     '(" AND org_id = %s" if scoped else "")'),
])
def test_opaque_fragments_mark_the_query_dynamic(expr, fragment):
    assert _sql(expr)[1] == [fragment]


def test_names_and_imports():
    assert _sql("base + ' WHERE org_id = %s'", base='"SELECT a FROM t"') == (
        "SELECT a FROM t WHERE org_id = %s", [])
    parts = build(cst.parse_expression("SHARED"), _Names(SHARED=Ref("app.sql.SHARED")))
    assert parts == [Ref("app.sql.SHARED")]


def test_not_string_like():
    assert build(cst.parse_expression("select(Contact)"), _Names()) is None
    assert build(cst.parse_expression("stmt"), _Names()) is None
    assert build(cst.parse_expression("1 + 2"), _Names()) is None


def test_holes_keep_their_source():
    parts = build(cst.parse_expression('f"SELECT a FROM t WHERE {request.GET[\'q\']}"'), _Names())
    assert isinstance(parts[-1], Hole) and parts[-1].text == "request.GET['q']"


@pytest.mark.parametrize("text, strict, expected", [
    ("SELECT a FROM t", True, True),
    ("  -- note\n/* x */ (SELECT a FROM t)", False, True),
    ("with x as (select 1) select * from x", True, True),
    ("SET search_path = a; DELETE FROM t", False, True),
    ("UPDATE t SET a = 1", True, True),
    ("Select the notes you want", True, False),
    ("Select the notes you want", False, True),
    ("Delete this contact?", True, False),
    ("VACUUM", False, False),
    ("run the report", False, False),
])
def test_looks_like_sql(text, strict, expected):
    assert looks_like_sql(text, strict=strict) is expected


def test_strict_with_a_dialect_wants_a_statement_that_parses():
    assert looks_like_sql("Select the notes you want from the list below.", strict=True, dialect="postgres") is False
    assert looks_like_sql("SELECT id FROM notes WHERE practice_id = %s", strict=True, dialect="postgres") is True
