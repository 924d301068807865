"""Property-based tests: SQL generated from a small grammar of tenant-relevant shapes.

Invariants (issue 7): adding ``AND t.tc = %s`` for every tenant table never leaves a reference
unscoped; OR-ing a scoped predicate with anything that does not mention the tenant column
always does; the analyzer never raises.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantlint.config import Config
from tenantlint.extract.sql import analyze_sql

CONFIG = Config(tenant_columns=("practice_id",))
TABLES = ["patients", "notes", "visits"]
COLUMNS = ["id", "name", "patient_id", "amount"]

aliases = st.sampled_from(["a", "b", "c"])


@st.composite
def atoms(draw, alias_pool):
    alias = draw(st.sampled_from(alias_pool))
    column = draw(st.sampled_from(COLUMNS))
    kind = draw(st.sampled_from(["eq", "ne", "gt", "like", "null", "in", "between"]))
    col = f"{alias}.{column}"
    return {
        "eq": f"{col} = %s",
        "ne": f"{col} <> %s",
        "gt": f"{col} > 3",
        "like": f"{col} LIKE %s",
        "null": f"{col} IS NOT NULL",
        "in": f"{col} IN (1, 2)",
        "between": f"{col} BETWEEN 1 AND 9",
    }[kind]


@st.composite
def predicates(draw, alias_pool, depth=0):
    """AND/OR/NOT trees over atoms that never mention the tenant column."""
    if depth >= 3 or draw(st.booleans()):
        return draw(atoms(alias_pool))
    op = draw(st.sampled_from(["AND", "OR", "NOT"]))
    left = draw(predicates(alias_pool, depth + 1))
    if op == "NOT":
        return f"NOT ({left})"
    right = draw(predicates(alias_pool, depth + 1))
    return f"({left} {op} {right})"


@st.composite
def from_clauses(draw):
    count = draw(st.integers(min_value=1, max_value=3))
    names = [draw(st.sampled_from(TABLES)) for _ in range(count)]
    pool = ["a", "b", "c"][:count]
    parts = [f"{names[0]} a"]
    for i in range(1, count):
        join = draw(st.sampled_from(["JOIN", "LEFT JOIN", ",", "CROSS JOIN"]))
        if join == ",":
            parts.append(f", {names[i]} {pool[i]}")
        elif join == "CROSS JOIN":
            parts.append(f"CROSS JOIN {names[i]} {pool[i]}")
        else:
            parts.append(f"{join} {names[i]} {pool[i]} ON {pool[i]}.patient_id = {pool[i - 1]}.id")
    return " ".join(parts), pool


@st.composite
def queries(draw):
    """(SQL with a {tenant} hole in the WHERE clause, aliases used)."""
    source, pool = draw(from_clauses())
    where = draw(predicates(pool))
    shape = draw(st.sampled_from(["plain", "cte", "derived", "exists", "in"]))
    inner = f"SELECT a.* FROM {source} WHERE {where}{{tenant}}"
    if shape == "cte":
        return f"WITH x AS ({inner}) SELECT * FROM x", pool
    if shape == "derived":
        return f"SELECT * FROM ({inner}) AS x", pool
    if shape == "exists":
        return (f"SELECT * FROM {source} WHERE {where}{{tenant}} AND EXISTS "
                f"(SELECT 1 FROM visits v WHERE v.patient_id = a.id AND v.practice_id = %s)"), pool
    if shape == "in":
        return (f"SELECT * FROM {source} WHERE {where}{{tenant}} AND a.id IN "
                f"(SELECT patient_id FROM visits WHERE practice_id = %s)"), pool
    return inner, pool


def _verdicts(sql: str):
    queries_, _, errors, _ = analyze_sql(sql, CONFIG, path="q.sql", line=1, column=1)
    assert not errors, (sql, errors)
    return [ref for q in queries_ for ref in q["refs"]]


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(queries())
def test_tenant_conjunct_on_every_table_scopes_everything(case):
    template, pool = case
    tenant = "".join(f" AND {alias}.practice_id = %s" for alias in pool)
    refs = _verdicts(template.format(tenant=tenant))
    assert refs and all(r["scope"] != "none" for r in refs), (template, refs)


@FUZZ
@given(st.sampled_from(TABLES), predicates(["a"]))
def test_or_with_anything_but_the_tenant_column_unscopes(table, other):
    refs = _verdicts(f"SELECT * FROM {table} a WHERE a.practice_id = %s OR {other}")
    assert [r["scope"] for r in refs] == ["none"]


@FUZZ
@given(queries(), st.booleans())
def test_analyzer_never_raises(case, with_tenant):
    template, pool = case
    tenant = f" AND {pool[0]}.practice_id = %s" if with_tenant else ""
    analyze_sql(template.format(tenant=tenant), CONFIG, path="q.sql", line=1, column=1)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("SELECT FROM WHERE ()=,;'\"%s?:$1-*/\n\tabcpdi_.")), max_size=120))
def test_arbitrary_text_never_raises(text):
    analyze_sql(text, CONFIG, path="q.sql", line=1, column=1)
