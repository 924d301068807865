"""Tenant-scope verdicts for every table reference of one parsed SQL statement.

This is DESIGN.md's "Scoping semantics" in code. For each SELECT scope (and each DML
statement) the predicate restricting each table reference is put in CNF and the reference
is **scoped directly** (a conjunct all of whose disjuncts are tenant predicates on it),
**by join** (a conjunct equating it with a scoped reference, or a semi-join into a scoped
subquery), **by anchor** (``<principal column> = <tenant value>``) or **unscoped**.
Scope flows to a fixpoint: a reference joined to a scoped one becomes scoped.

The verdicts do not depend on which tables are tenant-owned: that is decided later, for
the whole project, by the linker. So this runs per file and its facts can be cached.

>>> import sqlglot
>>> from tenantlint.config import Config
>>> cfg = Config(tenant_columns=("practice_id",))
>>> stmt = sqlglot.parse_one("SELECT * FROM notes n JOIN patients p ON n.patient_id = p.id "
...                          "WHERE p.practice_id = %s", read="postgres")
>>> [(r["table"], r["scope"]) for r in scope(stmt, cfg)["refs"]]
[('notes', 'join'), ('patients', 'direct')]
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from sqlglot import exp

from tenantlint.config import Config
from tenantlint.extract.sql.predicates import (
    cnf,
    equality_sides,
    is_placeholder,
    session_function_name,
    strip_casts,
    unparen,
)

_RANK = {"direct": 3, "anchor": 2, "join": 1}


def scope(statement: exp.Expression, config: Config, *, export: bool = False) -> dict:
    """Scope verdicts of every table reference in ``statement``.

    Returns ``{"kind": ..., "refs": [ref, ...]}`` where each ref is a facts.py Ref.
    ``export`` marks a SELECT whose result is written out (``INTO OUTFILE``).
    """
    analyzer = _Analyzer(config)
    kind, refs = analyzer.statement(statement, export=export)
    return {"kind": kind, "refs": refs}


@dataclass
class _Source:
    alias: str
    table: str | None  # base table name; None for derived tables and opaque sources
    use: str
    body: exp.Expression | None = None  # the query behind a derived table or CTE
    cte: "_Cte | None" = None
    lateral: bool = False  # a LATERAL subquery sees the sources before it
    schema: str | None = None  # written with its schema (tenant_b.patients)
    restrict: list = field(default_factory=list)  # clauses that restrict only this source
    pushed: dict = field(default_factory=dict)  # column -> "value" | "join", from an outer filter
    intrinsic: "_Result | None" = None

    @property
    def derived(self) -> bool:
        return self.body is not None


@dataclass
class _Result:
    refs: list
    any_scoped: bool


@dataclass
class _Cte:
    name: str
    body: exp.Expression
    env: "_Env"
    intrinsic: _Result | None = None
    uses: list = field(default_factory=list)
    analyzing: bool = False


@dataclass(frozen=True)
class _Frame:
    """An enclosing scope seen by a correlated subquery: its sources and verdicts."""

    sources: dict
    scoped: dict


@dataclass(frozen=True)
class _Env:
    ctes: dict = field(default_factory=dict)
    outer: tuple = ()

    def with_ctes(self, ctes: dict) -> "_Env":
        return _Env({**self.ctes, **ctes}, self.outer)

    def with_frame(self, frame: _Frame) -> "_Env":
        return _Env(self.ctes, (frame, *self.outer))


class _Analyzer:
    def __init__(self, config: Config):
        self.config = config
        self.tenant_columns = {c.lower() for c in config.tenant_columns}
        self.session_functions = {f.lower() for f in config.session_functions}
        self.principals = {tuple(p.lower().split(".", 1)) for p in config.principal_columns}
        self._anon = itertools.count(1)

    # ---------------------------------------------------------------- statements

    def statement(self, stmt: exp.Expression, export: bool = False) -> tuple[str, list]:
        env = _Env()
        if isinstance(stmt, exp.Query):
            use = "export" if export else "read"
            return "select", self.query(stmt, env, use).refs
        if isinstance(stmt, exp.Insert):
            body = stmt.expression
            if isinstance(body, exp.Query):
                env = self._cte_env(stmt, env)
                refs = self.query(body, env, "write").refs
                return "insert", refs + self._cte_refs(env, stmt)
            return "insert", []
        if isinstance(stmt, (exp.Update, exp.Delete)):
            return self._dml(stmt, env)
        if isinstance(stmt, exp.Merge):
            return self._merge(stmt, env)
        if isinstance(stmt, exp.TruncateTable):
            refs = [
                _ref(_table_name(t), "none", "TRUNCATE removes the rows of every tenant", "write", None)
                for t in stmt.expressions
                if isinstance(t, exp.Table)
            ]
            return "truncate", refs
        if isinstance(stmt, exp.Copy):
            return self._copy(stmt, env)
        if isinstance(stmt, exp.Create):
            body = stmt.expression
            if isinstance(body, exp.Query):
                return "create", self.query(body, env, "read").refs
            return "ddl", []
        return "other", []

    def _copy(self, stmt: exp.Copy, env: _Env) -> tuple[str, list]:
        if stmt.args.get("kind"):  # COPY ... FROM: an import, not an export
            return "copy", []
        target = stmt.this
        if isinstance(target, exp.Table):
            return "copy", [_ref(_table_name(target), "none", "COPY ... TO writes out every row of the table",
                                 "export", None)]
        body = target.this if isinstance(target, exp.Subquery) else target
        if isinstance(body, exp.Query):
            return "copy", self.query(body, env, "export").refs
        return "copy", []

    def _dml(self, stmt: exp.Expression, env: _Env) -> tuple[str, list]:
        kind = "update" if isinstance(stmt, exp.Update) else "delete"
        env = self._cte_env(stmt, env)
        builder = _ScopeBuilder(self, env)
        target = stmt.this
        if isinstance(target, exp.Table):
            builder.add(target, "write")
            for join in target.args.get("joins") or []:
                builder.join(join, "read")
        from_ = stmt.args.get("from_") or stmt.args.get("from")
        if from_ is not None:
            builder.add(from_.this, "read")
        for extra in stmt.args.get("using") or []:
            builder.add(extra, "read")
        for join in stmt.args.get("joins") or []:
            builder.join(join, "read")
        builder.where(stmt.args.get("where"))
        children = [stmt.args.get(k) for k in ("expressions", "returning")]
        result = builder.finish(children, child_use="read")
        return kind, result.refs + self._cte_refs(env, stmt)

    def _merge(self, stmt: exp.Merge, env: _Env) -> tuple[str, list]:
        env = self._cte_env(stmt, env)
        builder = _ScopeBuilder(self, env)
        builder.add(stmt.this, "write")
        builder.add(stmt.args.get("using"), "read")
        builder.where(stmt.args.get("on"))
        result = builder.finish([stmt.args.get("whens")], child_use="read")
        return "merge", result.refs + self._cte_refs(env, stmt)

    # ---------------------------------------------------------------- queries

    def query(self, node: exp.Expression, env: _Env, use: str, pushdown: dict | None = None) -> _Result:
        node = _unwrap_query(node)
        if isinstance(node, exp.SetOperation):
            env = self._cte_env(node, env)
            left = self.query(node.this, env, use, pushdown)
            right = self.query(node.expression, env, use, pushdown)
            cte_refs = self._cte_refs(env, node)
            return _Result(left.refs + right.refs + cte_refs, left.any_scoped and right.any_scoped)
        if isinstance(node, exp.Select):
            return self._select(node, env, use, pushdown or {})
        if isinstance(node, exp.Query):  # e.g. VALUES or a dialect-specific query form
            return _Result([], False)
        return _Result([], False)

    def _select(self, select: exp.Select, env: _Env, use: str, pushdown: dict) -> _Result:
        env = self._cte_env(select, env)
        builder = _ScopeBuilder(self, env)
        from_ = select.args.get("from_") or select.args.get("from")
        if from_ is not None:
            builder.add(from_.this, use)
        for join in select.args.get("joins") or []:
            builder.join(join, use)
        for key in ("where", "having", "qualify"):
            builder.where(select.args.get(key))
        builder.push(pushdown, _lineage(select))
        children = [select.args.get(k) for k in ("expressions", "group", "order", "windows", "distinct")]
        result = builder.finish(children, child_use=use)
        cte_refs = self._cte_refs(env, select)
        return _Result(result.refs + cte_refs, result.any_scoped)

    # ---------------------------------------------------------------- CTEs

    def _cte_env(self, node: exp.Expression, env: _Env) -> _Env:
        with_ = node.args.get("with") or node.args.get("with_")
        if not with_:
            return env
        ctes: dict = {}
        inner = env
        for cte in with_.expressions:
            name = cte.alias_or_name.lower()
            # Each CTE sees the ones before it (and itself, for WITH RECURSIVE).
            definition = _Cte(name, cte.this, inner)
            ctes[name] = definition
            inner = env.with_ctes(ctes)
            definition.env = inner
        node.meta["tenantlint_ctes"] = list(ctes)
        return inner

    def cte_intrinsic(self, cte: _Cte, use: str) -> _Result:
        if cte.intrinsic is None:
            if cte.analyzing:
                # A recursive CTE's reference to itself: its rows grow from the anchor member,
                # which is judged on its own, so the reference itself carries the anchor's scope.
                return _Result([], True)
            cte.analyzing = True
            cte.intrinsic = self.query(cte.body, cte.env, use)
            cte.analyzing = False
        return cte.intrinsic

    def _cte_refs(self, env: _Env, node: exp.Expression) -> list:
        """Refs inside the CTEs defined on ``node``: the worst verdict over all its uses."""
        refs: list = []
        for name in node.meta.get("tenantlint_ctes", []):
            cte = env.ctes[name]
            intrinsic = self.cte_intrinsic(cte, "read")
            results = cte.uses or [intrinsic]
            refs.extend(_worst(results))
        return refs


class _ScopeBuilder:
    """One SELECT (or DML) scope: its sources, the clauses restricting them, the verdicts."""

    def __init__(self, analyzer: _Analyzer, env: _Env):
        self.a = analyzer
        self.env = env
        self.sources: dict[str, _Source] = {}
        self.clauses: list = []
        self.scoped: dict[str, tuple[str, str]] = {}
        # alias -> (column, other table, other column) of the equality that scoped it by join:
        # the linker knows from foreign keys whether that key carries a tenant
        self.join_keys: dict[str, tuple[str, str, str]] = {}
        self._key: tuple[str, str, str] | None = None  # the last _equal_to() join's key

    # --- building

    def add(self, node: exp.Expression | None, use: str) -> _Source | None:
        if node is None:
            return None
        alias = (node.alias_or_name or "").lower() if hasattr(node, "alias_or_name") else ""
        if not alias or alias in self.sources:
            alias = alias or f"_anon{next(self.a._anon)}"
            while alias in self.sources:
                alias = f"{alias}_{next(self.a._anon)}"
        if isinstance(node, exp.Table):
            name = _table_name(node)
            cte = self.env.ctes.get(name) if not node.args.get("db") else None
            if cte is not None and name is not None:
                source = _Source(alias, None, use, body=cte.body, cte=cte)
            elif isinstance(node.this, exp.Identifier | exp.Var | str) or node.this is None:
                source = _Source(alias, name, use, schema=node.db.lower() or None)
            else:  # table-valued function, unnest and the like: no rows of a table of ours
                source = _Source(alias, None, use)
        elif isinstance(node, (exp.Subquery, exp.Lateral)):
            body = node.this
            source = _Source(alias, None, use, body=body if isinstance(_unwrap_query(body), exp.Query) else None,
                             lateral=isinstance(node, exp.Lateral))
        else:
            source = _Source(alias, None, use)
        self.sources[alias] = source
        return source

    def join(self, join: exp.Join, use: str) -> None:
        before = list(self.sources.values())
        source = self.add(join.this, use)
        if source is None:
            return
        clauses = cnf(join.args.get("on"))
        for column in join.args.get("using") or []:
            name = column.name.lower()
            for other in before:
                clauses.append([exp.EQ(this=exp.column(name, source.alias), expression=exp.column(name, other.alias))])
        side = (join.side or "").upper()
        if side == "LEFT":
            source.restrict.extend(clauses)
        elif side == "RIGHT":
            for other in before:
                other.restrict.extend(clauses)
        elif side == "FULL":
            pass  # a FULL JOIN keeps every row of both sides: its ON restricts neither
        else:
            self.clauses.extend(clauses)

    def where(self, predicate: exp.Expression | None) -> None:
        if predicate is not None:
            node = predicate.this if isinstance(predicate, (exp.Where, exp.Having, exp.Qualify)) else predicate
            self.clauses.extend(cnf(node))

    def push(self, pushdown: dict, lineage: "_Lineage") -> None:
        """Constraints from an enclosing query on this query's output columns."""
        for column, kind in pushdown.items():
            for source, col in lineage.targets(column, self):
                prev = source.pushed.get(col)
                if prev != "value":
                    source.pushed[col] = kind

    # --- judging

    def finish(self, children: list, child_use: str) -> _Result:
        for source in self.sources.values():
            if source.derived:
                source.intrinsic = self._derived(source, None)
                if source.intrinsic.any_scoped:
                    self.scoped[source.alias] = ("join", "rows come from a scoped subquery")
        self._fixpoint()
        refs: list = []
        frame_env = self.env.with_frame(_Frame(self.sources, dict(self.scoped)))
        for source in self.sources.values():
            if source.derived:
                pushdown = self._pushdown_for(source)
                if source.lateral:
                    result = self.a.query(source.body, frame_env, source.use, pushdown)
                elif pushdown:
                    result = self._derived(source, pushdown)
                else:
                    result = source.intrinsic
                if source.cte is None:
                    refs.extend(result.refs)
                elif not source.cte.analyzing:  # not a recursive CTE's reference to itself
                    source.cte.uses.append(result)
            elif source.table is not None:
                kind, reason = self.scoped.get(source.alias, ("none", self._unscoped_reason(source)))
                refs.append(_ref(source.table, kind, reason, source.use, source.alias))
                if source.schema:
                    refs[-1]["schema"] = source.schema
                if kind == "join" and source.alias in self.join_keys:
                    column, table, other = self.join_keys[source.alias]
                    refs[-1]["join_key"] = {"column": column, "table": table, "other_column": other}
        for node in self._child_queries(children):
            refs.extend(self.a.query(node, frame_env, "read" if child_use == "write" else child_use).refs)
        any_scoped = bool(self.scoped)
        return _Result(refs, any_scoped)

    def _derived(self, source: _Source, pushdown: dict | None) -> _Result:
        cte = source.cte
        if cte is None:
            return self.a.query(source.body, self.env, source.use, pushdown)
        if cte.analyzing or not pushdown:
            return self.a.cte_intrinsic(cte, source.use)
        cte.analyzing = True
        try:
            return self.a.query(cte.body, cte.env, source.use, pushdown)
        finally:
            cte.analyzing = False

    def _fixpoint(self) -> None:
        changed = True
        while changed:
            changed = False
            for source in self.sources.values():
                if source.alias in self.scoped:
                    continue
                verdict, key = self._judge(source)
                if verdict is not None:
                    self.scoped[source.alias] = verdict
                    if key is not None:
                        self.join_keys[source.alias] = key
                    changed = True

    def _judge(self, source: _Source) -> tuple[tuple[str, str] | None, tuple[str, str, str] | None]:
        """The best verdict for ``source`` and, when it is one column equality with another
        table's column, that join's key."""
        best: tuple[str, str] | None = None
        best_key = None
        for clause in self.clauses + source.restrict:
            # ``tc = %s OR tc IS NULL``: rows with no tenant are nobody's; the disjunct is neutral.
            self._key = None
            kinds = [self._atom(atom, source) for atom in clause if not self._unowned(atom, source)]
            if not kinds or any(k is None for k in kinds):
                continue
            names = {k[0] for k in kinds}
            kind = next(iter(names)) if len(names) == 1 else "join"
            verdict = (kind, kinds[0][1] if len(kinds) == 1 else "every branch of an OR restricts the tenant")
            key = self._key if len(kinds) == 1 else None
            if best is None or _RANK[verdict[0]] > _RANK[best[0]] or (
                    verdict[0] == best[0] == "join" and best_key is not None and key is None):
                best, best_key = verdict, key  # of two joins, one the linker cannot undo is kept
        for column, how in source.pushed.items():
            if column in self.a.tenant_columns:
                verdict = ("direct", f"{column} is filtered by the enclosing query")
            elif how == "join":
                verdict = ("join", f"{column} is joined to a scoped table by the enclosing query")
            else:
                continue
            if best is None or _RANK[verdict[0]] > _RANK[best[0]]:
                best, best_key = verdict, None
        return best, best_key if best is not None and best[0] == "join" else None

    def _unowned(self, atom: exp.Expression, source: _Source) -> bool:
        """``tc IS NULL`` on the source's tenant column: a row that belongs to no tenant."""
        atom = unparen(atom)
        if not isinstance(atom, exp.Is) or not isinstance(unparen(atom.expression), exp.Null) or atom.args.get("negate"):
            return False  # IS NOT NULL (negate) is every tenant's rows
        column = self._column_of(atom.this, source)
        return column is not None and column in self.a.tenant_columns

    def _atom(self, atom: exp.Expression, source: _Source) -> tuple[str, str] | None:
        """How ``atom`` restricts ``source``: (kind, reason), or None if it does not."""
        atom = unparen(atom)
        if equality_sides(atom) is not None:
            for column, other in self._equalities(atom, source):
                verdict = self._equal_to(source, column, other)
                if verdict is not None:
                    return verdict
            return None
        if isinstance(atom, exp.In) and not atom.args.get("is_global"):
            column = self._column_of(atom.this, source)
            if column is None:
                return None
            query = atom.args.get("query")
            if query is not None:
                if self._subquery_scoped(query, source):
                    return self._by_subquery(column)
                return None
            values = atom.expressions
            if values and all(self._tenant_value(v) for v in values) and column in self.a.tenant_columns:
                return ("direct", f"{column} IN (tenant values)")
            return None
        if isinstance(atom, exp.Exists):
            query = atom.this
            if _correlates(query, source.alias) and self._subquery_scoped(query, source):
                return ("join", "EXISTS into a scoped subquery")
        return None

    def _equal_to(self, source: _Source, column: str, other: exp.Expression) -> tuple[str, str] | None:
        is_tenant = column in self.a.tenant_columns
        if self._tenant_value(other):
            if is_tenant:
                return ("direct", f"{column} = tenant value")
            if source.table and (source.table, column) in self.a.principals:
                return ("anchor", f"{source.table}.{column} is the caller's own row")
            return None
        if isinstance(other, exp.Any):
            inner = unparen(other.this)
            if isinstance(inner, (exp.Subquery, exp.Query)):
                return self._by_subquery(column) if self._subquery_scoped(inner, source) else None
            values = inner.expressions if isinstance(inner, exp.Array) else [inner]
            if is_tenant and values and all(self._tenant_value(v) for v in values):
                return ("direct", f"{column} = ANY(tenant values)")
            return None
        if isinstance(other, exp.Subquery):
            return self._by_subquery(column) if self._subquery_scoped(other, source) else None
        if self._of_scoped_table(other, source):
            target = strip_casts(other).name.lower()
            if is_tenant:
                return ("direct", f"{column} = {target} of a scoped table")
            owners = self._resolve(strip_casts(other), exclude=source)
            if len(owners) == 1 and owners[0][0].table:
                self._key = (column, owners[0][0].table, target)
            return ("join", f"{column} joins a scoped table")
        return None

    def _equalities(self, atom: exp.Expression, source: _Source):
        """(column of ``source``, other side) for each way ``atom`` equates one of its columns."""
        sides = equality_sides(atom)
        for mine, other in (sides, sides[::-1]) if sides else ():
            column = self._column_of(mine, source)
            if column is not None:
                yield column, other

    def _of_scoped_table(self, node: exp.Expression, source: _Source) -> bool:
        """``node`` is a column of another table reference that is scoped (a tenant value)."""
        node = strip_casts(node)
        if not isinstance(node, exp.Column):
            return False
        owners = self._resolve(node, exclude=source)
        return bool(owners) and all(verdict is not None for _, verdict in owners)

    def _by_subquery(self, column: str) -> tuple[str, str]:
        if column in self.a.tenant_columns:
            return ("direct", f"{column} IN (scoped subquery)")
        return ("join", f"{column} IN (scoped subquery)")

    def _tenant_value(self, node: exp.Expression) -> bool:
        node = strip_casts(node)
        if is_placeholder(node):
            return True
        name = session_function_name(node)
        return name is not None and name in self.a.session_functions

    def _subquery_scoped(self, query: exp.Expression, source: _Source) -> bool:
        """Whether a subquery's rows are scoped without help from ``source`` itself."""
        scoped = {k: v for k, v in self.scoped.items() if k != source.alias}
        env = self.env.with_frame(_Frame(self.sources, scoped))
        return self.a.query(query, env, "read").any_scoped

    # --- columns

    def _column_of(self, node: exp.Expression, source: _Source) -> str | None:
        """The column name if ``node`` is a column of ``source`` (possibly cast), else None."""
        node = strip_casts(node)
        if not isinstance(node, exp.Column) or isinstance(node.this, exp.Star):
            return None
        qualifier = node.table.lower() if node.table else ""
        if qualifier:
            return node.name.lower() if qualifier == source.alias else None
        name = node.name.lower()
        if len(self.sources) == 1:
            return name
        # Unqualified in a multi-table scope: valid SQL means exactly one source has it.
        # Tenant columns are kept for every source that may have them.
        return name if self._may_have(source, name) else None

    def _may_have(self, source: _Source, name: str) -> bool:
        if source.derived:
            return _lineage(_unwrap_query(source.body)).has(name) if source.body is not None else False
        return source.table is not None

    def _resolve(self, column: exp.Column, exclude: _Source) -> list:
        """Scoped owners of ``column`` other than ``exclude``: [(source, verdict)] or [] if unknown."""
        qualifier = column.table.lower() if column.table else ""
        if qualifier:
            if qualifier in self.sources:
                if qualifier == exclude.alias:
                    return []
                return [(self.sources[qualifier], self.scoped.get(qualifier))]
            for frame in self.env.outer:
                if qualifier in frame.sources:
                    return [(frame.sources[qualifier], frame.scoped.get(qualifier))]
            return []
        name = column.name.lower()
        owners = [s for s in self.sources.values() if s is not exclude and self._may_have(s, name)]
        if len(owners) != 1:
            return []
        return [(owners[0], self.scoped.get(owners[0].alias))]

    # --- after the verdicts

    def _pushdown_for(self, source: _Source) -> dict:
        """Filters of this scope on a derived source's columns, to judge the tables inside."""
        pushed: dict = dict(source.pushed)  # what the enclosing query pushed onto this one
        for clause in self.clauses + source.restrict:
            if len(clause) != 1:
                continue
            atom = unparen(clause[0])
            if equality_sides(atom) is not None:
                for column, other in self._equalities(atom, source):
                    if self._tenant_value(other):
                        pushed[column] = "value"
                    elif self._of_scoped_table(other, source):
                        pushed.setdefault(column, "join")
            elif isinstance(atom, exp.In):
                column = self._column_of(atom.this, source)
                if column is not None and atom.expressions and all(self._tenant_value(v) for v in atom.expressions):
                    pushed[column] = "value"
        return pushed

    def _unscoped_reason(self, source: _Source) -> str:
        if not self.clauses and not source.restrict:
            return "no WHERE clause or join condition restricts it"
        return "no conjunct restricts its tenant column to a tenant value"

    def _child_queries(self, nodes: list):
        """Subqueries in this scope's expressions (WHERE, SELECT list, ON...), not nested deeper."""
        roots = [n for n in nodes if n is not None]
        roots += [c for clause in self.clauses for c in clause]
        for source in self.sources.values():
            roots += [c for clause in source.restrict for c in clause]
        seen: set[int] = set()
        for root in roots:
            for item in root if isinstance(root, list) else [root]:
                if not isinstance(item, exp.Expression):
                    continue
                for query in _top_queries(item):
                    if id(query) not in seen:
                        seen.add(id(query))
                        yield query


class _Lineage:
    """Which source column each output column of a SELECT comes from."""

    def __init__(self, select: exp.Expression):
        self.columns: dict[str, tuple[str, str]] = {}
        self.star = False
        self.star_aliases: set[str] = set()
        if not isinstance(select, exp.Select):
            self.star = isinstance(select, exp.SetOperation)
            return
        for projection in select.expressions:
            if isinstance(projection, exp.Star):
                self.star = True
                continue
            inner = projection.unalias() if isinstance(projection, exp.Alias) else projection
            if isinstance(inner, exp.Column) and isinstance(inner.this, exp.Star):
                self.star_aliases.add(inner.table.lower())
                continue
            inner = strip_casts(inner)
            if isinstance(inner, exp.Column):
                self.columns[projection.alias_or_name.lower()] = (inner.table.lower(), inner.name.lower())

    def has(self, name: str) -> bool:
        return name in self.columns or self.star or bool(self.star_aliases)

    def targets(self, column: str, scope: _ScopeBuilder):
        if column in self.columns:
            qualifier, name = self.columns[column]
            if qualifier:
                if qualifier in scope.sources:
                    yield scope.sources[qualifier], name
                return
            owners = [s for s in scope.sources.values() if scope._may_have(s, name)]
            if len(scope.sources) == 1:
                owners = list(scope.sources.values())
            for owner in owners:
                yield owner, name
            return
        if self.star:
            for owner in scope.sources.values():
                yield owner, column
        for qualifier in self.star_aliases:
            if qualifier in scope.sources:
                yield scope.sources[qualifier], column


def _lineage(select: exp.Expression) -> _Lineage:
    return _Lineage(select)


def _top_queries(node: exp.Expression):
    """Query nodes inside ``node`` that are not inside another query within ``node``."""
    if isinstance(node, exp.Query):
        yield node
        return
    stack = [node]
    while stack:
        current = stack.pop()
        for child in current.iter_expressions():
            if isinstance(child, exp.Query):
                yield child
            else:
                stack.append(child)


def _correlates(query: exp.Expression, alias: str) -> bool:
    return any(c.table and c.table.lower() == alias for c in query.find_all(exp.Column))


def _unwrap_query(node: exp.Expression | None) -> exp.Expression | None:
    while isinstance(node, (exp.Subquery, exp.Paren)) and isinstance(node.this, exp.Expression):
        node = node.this
    return node


def _table_name(table: exp.Table) -> str | None:
    name = table.name
    return name.lower() if name else None


def _ref(table, scope_kind, reason, use, alias) -> dict:
    return {"table": table, "model": None, "alias": alias, "use": use, "scope": scope_kind, "reason": reason}


def _worst(results: list) -> list:
    """Merge the refs of several analyses of the same CTE: a ref is only as scoped as its worst use."""
    if len(results) == 1:
        return results[0].refs
    merged = [dict(r) for r in results[0].refs]
    for result in results[1:]:
        for i, ref in enumerate(result.refs[: len(merged)]):
            if _RANK.get(ref["scope"], 0) < _RANK.get(merged[i]["scope"], 0):
                merged[i] = dict(ref)
    return merged
