"""Predicates as conjunctive normal form, and the small vocabulary of atoms tenancy cares about.

A predicate restricting a table is judged conjunct by conjunct: a conjunct scopes a table
only when *every* disjunct in it does, so ``tc = %s OR name = %s`` scopes nothing.

>>> import sqlglot
>>> where = sqlglot.parse_one("SELECT 1 FROM t WHERE a = 1 AND (b = 2 OR c = 3)").args["where"].this
>>> [[d.sql() for d in clause] for clause in cnf(where)]
[['a = 1'], ['b = 2', 'c = 3']]
"""

from __future__ import annotations

from sqlglot import exp

# Distributing OR over AND can blow up; past this many clauses the predicate is kept whole
# (an opaque conjunct scopes nothing, which errs on the side of reporting).
_MAX_CLAUSES = 256


def cnf(predicate: exp.Expression | None) -> list[list[exp.Expression]]:
    """Conjunctive normal form of ``predicate`` as a list of clauses (lists of disjuncts)."""
    if predicate is None:
        return []
    node = _unparen(predicate)
    if isinstance(node, exp.And):
        return cnf(node.this) + cnf(node.expression)
    if isinstance(node, exp.Or):
        left, right = cnf(node.this), cnf(node.expression)
        if not left or not right:
            return []
        if len(left) * len(right) > _MAX_CLAUSES:
            return [[node]]
        return [a + b for a in left for b in right]
    return [[node]]


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def unparen(node: exp.Expression) -> exp.Expression:
    return _unparen(node)


def equality_sides(atom: exp.Expression) -> tuple[exp.Expression, exp.Expression] | None:
    """The two sides of ``a = b`` (or ``a IS NOT DISTINCT FROM b``), else None."""
    if isinstance(atom, (exp.EQ, exp.NullSafeEQ)):
        return _unparen(atom.this), _unparen(atom.expression)
    return None


def is_placeholder(node: exp.Expression) -> bool:
    """A bind parameter in any style: ``%s``, ``%(x)s``, ``:x``, ``?``, ``$1``, ``$x``, ``@x``."""
    node = _unparen(node)
    if isinstance(node, (exp.Placeholder, exp.Parameter)):
        return True
    # Dialects without $n parameters read `$1` (sqlite also `$name`) as a column named so.
    if isinstance(node, exp.Column) and not node.table:
        name = node.name
        return len(name) > 1 and name[0] == "$" and (name[1:].isdigit() or name[1:].isidentifier())
    return False


def session_function_name(node: exp.Expression) -> str | None:
    node = _unparen(node)
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return None


def strip_casts(node: exp.Expression) -> exp.Expression:
    """``%s::bigint``, ``CAST(%s AS int)`` are still the bound value."""
    node = _unparen(node)
    while isinstance(node, (exp.Cast, exp.TryCast)):
        node = _unparen(node.this)
    return node
