"""SQLAlchemy queries -> Records.

Roots: ``session.query(M, ...)``, Flask-SQLAlchemy ``M.query``, ``select(M)``, ``update(M)``,
``delete(M)``, ``session.get(M, id)`` (a lookup), Core ``table.select()``, and variables
holding any of them (``stmt = select(M)`` ... ``session.execute(stmt.where(...))`` is one
record). Predicates in ``filter``/``where``/``filter_by``/join ON clauses scope the
entities they constrain; ``or_`` scopes only what every branch scopes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from tenantlint.extract.python.chains import Link, base_call_name, follow
from tenantlint.extract.python.records import QS, Record, snake
from tenantlint.extract.python.tree import callee, is_camel, is_literal, is_secret_field, positional


STATEMENTS = {"select": "select", "update": "update", "delete": "delete"}
PREDICATES = {"filter", "where", "having"}
JOINS = {"join", "outerjoin", "join_from", "outerjoin_from", "select_from", "add_entity"}
PASS = {"options", "order_by", "group_by", "limit", "offset", "distinct", "with_entities", "add_columns",
        "execution_options", "params", "correlate", "subquery", "cte", "alias", "scalar_subquery", "label",
        "enable_assertions", "populate_existing", "with_for_update", "yield_per", "returning", "values",
        "unique", "prefix_with", "suffix_with", "slice", "from_self", "reset_joinpoint", "with_only_columns",
        "set_label_style", "exists", "as_scalar", "autoflush", "limit_by", "fetch",
        "with_hint", "with_parent", "ordered_values", "inline", "noload", "lazyload", "undefer"}
TERMINAL_READS = {"all", "first", "one", "one_or_none", "scalar", "count", "first_or_404", "one_or_404",
                  "paginate", "iterator", "partitions", "fetchall", "__iter__"}
LOOKUPS = {"get", "get_or_404", "aget"}
PK_COLUMNS = {"id", "pk", "uuid"}
SA_MODULES = ("sqlalchemy", "sqlmodel", "flask_sqlalchemy")


def chain(w, base, links: list[Link], frame):
    return follow(_root, apply, w, base, links, frame)


# -- roots ------------------------------------------------------------------------------------

def _root(w, base, links, frame):
    if isinstance(base, cst.Name):
        bound = frame.lookup(base.value)
        if isinstance(bound, QS) and bound.record is not None and bound.record.origin == "sqlalchemy":
            if bound.terminal:
                return None
            if w.forces:
                bound.record.scoped_by(*w.forces[-1])
            return QS(bound.record), 0
        if is_camel(base.value) and links and links[0].kind == "attr" and links[0].name == "query" and len(links) > 1:
            rec = w.new_record("sqlalchemy", base.value, links[0].node, frame)  # Flask-SQLAlchemy M.query
            rec.query_api = True
            return QS(rec), 1
        table = w.core_table(base.value)
        if table is None and base.value in w.ctx.imports and not is_camel(base.value):
            table = _imported_table(base.value, links)
        if table and links and links[0].kind == "call" and links[0].name in STATEMENTS:
            rec = w.new_record("sqlalchemy", None, links[0].node, frame, table=table)
            rec.use(*_statement_use(links[0].name))
            return QS(rec), 1
        if (is_camel(base.value) and len(links) > 1 and links[0].name == "__table__"
                and links[1].kind == "call" and links[1].name in STATEMENTS):
            rec = w.new_record("sqlalchemy", base.value, links[1].node, frame)
            rec.use(*_statement_use(links[1].name))
            return QS(rec), 2
    name = base_call_name(base)
    if name in STATEMENTS and _is_sa_function(w, name, base, links):
        rec = _statement(w, base, name, frame, links)
        return (QS(rec), 0) if rec is not None else None
    for i, link in enumerate(links):
        if link.kind != "call":
            continue
        if link.name == "query" and _entities(w, link.node, frame):
            rec = w.new_record("sqlalchemy", None, link.node, frame)
            rec.query_api = True
            for model, table in _entities(w, link.node, frame):
                rec.add_entity(model, table)
            _visit_non_entities(w, link.node, frame)
            if i:
                w.rest(links[:i], 0, frame)
            return QS(rec), i + 1
        if link.name in LOOKUPS and len(positional(link.node)) >= 2:
            target = _entity(w, positional(link.node)[0], frame)
            if target is not None:
                rec = w.new_record("sqlalchemy", target[0], link.node, frame, table=target[1])
                rec.lookup, rec.kind = True, "lookup"
                rec.use("read")
                for a in link.node.args[1:]:
                    w.visit(a.value, frame)
                if i:
                    w.rest(links[:i], 0, frame)
                return QS(rec, terminal=True), i + 1
        if link.name in STATEMENTS and i == 0 and isinstance(base, cst.Name) and _sa_module(w, base.value):
            rec = _statement(w, link.node, link.name, frame, links[1:])
            if rec is not None:
                return QS(rec), 1
        break  # only the first call of a chain can start a query
    return None


def _sa_module(w, name: str) -> bool:
    """``sa``/``sqlalchemy``/``db`` (Flask-SQLAlchemy exposes ``db.select``)."""
    origin = w.ctx.imports.get(name, "")
    return origin.startswith(SA_MODULES) or name in ("sa", "db", "sqlalchemy")


def _is_sa_function(w, name: str, call: cst.Call, links) -> bool:
    origin = w.ctx.imports.get(name, "")
    if origin.startswith(SA_MODULES):
        return True
    if origin:
        return False
    return bool(positional(call)) and _entity(w, positional(call)[0], None) is not None and any(
        link.name in PREDICATES | JOINS | PASS | TERMINAL_READS for link in links)


def _statement_use(name: str) -> tuple[str, str]:
    return ("read", "select") if name == "select" else ("write", name)


def _statement(w, call: cst.Call, name: str, frame, later: list[Link] = ()) -> Record | None:
    entities = _entities(w, call, frame)
    if not entities and not (name == "select" and any(l.name == "select_from" for l in later)):
        return None
    rec = w.new_record("sqlalchemy", None, call, frame)
    for model, table in entities:
        rec.add_entity(model, table)
    rec.use(*_statement_use(name))
    _visit_non_entities(w, call, frame)
    return rec


def _entities(w, call: cst.Call, frame) -> list[tuple[str | None, str | None]]:
    out = []
    for expr in positional(call):
        if isinstance(expr, (cst.List, cst.Tuple)):  # select([a, b]) (1.x)
            for el in expr.elements:
                found = _entity(w, el.value, frame, columns=True)
                if found:
                    out.append(found)
            continue
        found = _entity(w, expr, frame, columns=True)
        if found:
            out.append(found)
    return list(dict.fromkeys(out))


def _entity(w, expr, frame, columns: bool = False) -> tuple[str | None, str | None] | None:
    """(model, table) that ``expr`` selects: ``Contact``, ``Contact.email``, ``contacts_table``,
    ``contacts_table.c.email``, ``func.count(Contact.id)``, an ``aliased(Contact)`` variable."""
    if isinstance(expr, cst.Name):
        if frame is not None:
            bound = frame.lookup(expr.value)
            if isinstance(bound, Alias):
                return (bound.model, None)
        if is_camel(expr.value):
            return (expr.value, None)
        table = w.core_table(expr.value) or _imported_table(expr.value, None, w)
        return (None, table) if table else None
    if columns and isinstance(expr, cst.Attribute):
        col = column_ref(w, expr, frame)
        return (col[0], col[1]) if col else None
    if columns and isinstance(expr, cst.Call) and callee(expr) in ("count", "sum", "max", "min", "avg", "distinct",
                                                                    "label", "coalesce"):
        for inner in positional(expr):
            found = _entity(w, inner, frame, columns=True)
            if found:
                return found
        if isinstance(expr.func, cst.Attribute) and callee(expr) in ("label", "distinct"):
            return _entity(w, expr.func.value, frame, columns=True)
    return None


def _imported_table(name: str, links, w=None, columns: bool = False) -> str | None:
    """A Core ``Table`` imported from another module (``from app.tables import payments``):
    its table name is guessed from the variable (``payments_table`` -> ``payments``)."""
    if w is not None and name not in w.ctx.imports:
        return None
    if links is not None:  # payments.select() / .update() / .delete(): no arguments
        if not links or links[0].kind != "call" or links[0].name not in STATEMENTS or links[0].node.args:
            return None
    elif not columns and w is not None and not w.ctx.imported_from(name):
        return None
    for suffix in ("_table", "_tbl", "_t"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _visit_non_entities(w, call: cst.Call, frame) -> None:
    for a in call.args:
        if a.keyword is not None:
            w.visit(a.value, frame)


@dataclass
class Alias:
    """Value of ``a = aliased(Contact)``."""

    model: str


def column_ref(w, expr, frame) -> tuple[str | None, str | None, str] | None:
    """(model, table, column) for ``Contact.account_id``, ``alias.account_id``,
    ``contacts.c.account_id``, ``Contact.__table__.c.account_id``, also wrapped in
    SQLModel's ``col(...)`` (a typing helper that returns its argument)."""
    while isinstance(expr, cst.Call) and callee(expr) == "col" and len(expr.args) == 1:
        expr = expr.args[0].value
    if not isinstance(expr, cst.Attribute):
        return None
    column = expr.attr.value
    owner = expr.value
    if isinstance(owner, cst.Attribute) and owner.attr.value in ("c", "columns"):
        inner = owner.value
        if isinstance(inner, cst.Name):
            table = w.core_table(inner.value) or _imported_table(inner.value, None, w, columns=True)
            return (None, table, column) if table else None
        if isinstance(inner, cst.Attribute) and inner.attr.value == "__table__" and isinstance(inner.value, cst.Name):
            return (inner.value.value, None, column)
        return None
    if isinstance(owner, cst.Name):
        if frame is not None:
            bound = frame.lookup(owner.value)
            if isinstance(bound, Alias):
                return (bound.model, None, column)
        if is_camel(owner.value) and not column.startswith("_") and column not in ("query", "metadata"):
            return (owner.value, None, column)
    return None


# -- predicates ---------------------------------------------------------------------------------

@dataclass
class Pred:
    scoped: dict = field(default_factory=dict)  # (model, table) -> (scope, reason)
    edges: set = field(default_factory=set)
    entities: set = field(default_factory=set)
    pk: bool = False
    unowned: set = field(default_factory=set)  # keys whose tenant column the predicate requires to be NULL

    def both(self, other: "Pred") -> "Pred":
        out = Pred(dict(self.scoped), self.edges | other.edges, self.entities | other.entities, self.pk or other.pk,
                   self.unowned | other.unowned)
        for key, verdict in other.scoped.items():
            out.scoped.setdefault(key, verdict)
        return out

    def either(self, other: "Pred") -> "Pred":
        """``or_(Flow.user_id == uid, Flow.user_id == None)`` still scopes Flow: rows with no
        owner are nobody's."""
        scoped = {k: v for k, v in self.scoped.items() if k in other.scoped or k in other.unowned}
        scoped.update({k: v for k, v in other.scoped.items() if k in self.unowned and k not in scoped})
        return Pred(scoped, self.edges & other.edges, self.entities | other.entities, self.pk and other.pk,
                    self.unowned & other.unowned)


class Predicates:
    def __init__(self, w, frame):
        self.w, self.frame = w, frame

    def of(self, expr, depth: int = 0) -> Pred:
        if depth > 30:
            return Pred()
        if isinstance(expr, cst.Comparison):
            return self._comparison(expr)
        if isinstance(expr, cst.BinaryOperation):
            if isinstance(expr.operator, cst.BitAnd):
                return self.of(expr.left, depth + 1).both(self.of(expr.right, depth + 1))
            if isinstance(expr.operator, cst.BitOr):
                return self.of(expr.left, depth + 1).either(self.of(expr.right, depth + 1))
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, (cst.BitInvert, cst.Not)):
            inner = self.of(expr.expression, depth + 1)
            return Pred(entities=inner.entities)
        if isinstance(expr, cst.Call):
            return self._call(expr, depth)
        if isinstance(expr, cst.Name) and self.frame.kind == "function":
            history = self.frame.assignments(expr.value)
            if history and len(history) == 1 and history[0][0] == "=":
                return self.of(history[0][1], depth + 1)
        self.w.visit(expr, self.frame)
        if isinstance(expr, (cst.Name, cst.Attribute, cst.Subscript)) and not column_ref(self.w, expr, self.frame):
            return Pred(scoped={("*", None): ("helper", "a condition built elsewhere")})
        return Pred()

    def _call(self, expr: cst.Call, depth: int) -> Pred:
        name = callee(expr)
        args = [a.value for a in expr.args if a.keyword is None and not a.star]
        if name in ("and_", "and"):
            out = Pred()
            for a in args:
                out = out.both(self.of(a, depth + 1))
            return out
        if name in ("or_", "or"):
            if not args:
                return Pred()
            out = self.of(args[0], depth + 1)
            for a in args[1:]:
                out = out.either(self.of(a, depth + 1))
            return out
        if name in ("not_",):
            for a in args:
                self.w.visit(a, self.frame)
            return Pred()
        if name in ("false", "false_") and not args:  # where(false()): matches no row (a lock, a no-op)
            return Pred(scoped={("*", None): ("direct", "where(false()) matches no row")})
        if isinstance(expr.func, cst.Attribute):
            col = column_ref(self.w, expr.func.value, self.frame)
            if col is not None:
                key = (col[0], col[1])
                if name in ("in_", "any_") and args and self._value(args[0]):
                    if self.w.ctx.config.is_tenant_column(col[2]) or self.w.ctx.config.is_tenant_column(col[2] + "_id"):
                        return Pred(scoped={key: ("direct", f"{col[2]} IN (tenant values)")}, entities={key})
                if name == "is_" and len(args) == 1 and isinstance(args[0], cst.Name) and args[0].value == "None" \
                        and self._tenant_attr(col[2]):
                    return self._unowned(key, col[2], Pred(entities={key}))
                if name == "in_" and col[2] in PK_COLUMNS:  # Flow.id.in_(ids): a fetch by primary keys
                    self.w.visit_args(expr, self.frame)
                    return Pred(entities={key}, pk=True)
                if name in ("has", "any") and self._tenant_attr(col[2]):
                    self.w.visit_args(expr, self.frame)
                    return Pred(scoped={key: ("join", f"{col[2]} relation filtered")}, entities={key})
                self.w.visit_args(expr, self.frame)
                return Pred(entities={key})
        self.w.visit(expr, self.frame)
        if self.w.is_scoping_call(expr) or self.w.helper_scope(name or "", expr):
            return Pred(scoped={("*", None): ("helper", f"{name}(...) scopes it")})
        return Pred()

    @staticmethod
    def _unowned(key: tuple, column: str, out: "Pred") -> "Pred":
        """``tc IS NULL``: rows of no tenant (system rows, shared templates). Alone it selects
        no tenant's rows; as a disjunct it adds them to a scoped side (``either`` keeps it
        neutral there)."""
        out.unowned.add(key)
        out.scoped[key] = ("direct", f"{column} IS NULL: rows of no tenant")
        return out

    def _tenant_attr(self, column: str) -> bool:
        config = self.w.ctx.config
        return config.is_tenant_column(column) or config.is_tenant_column(column + "_id")

    def _comparison(self, expr: cst.Comparison) -> Pred:
        if len(expr.comparisons) != 1:
            self.w.visit(expr, self.frame)
            return Pred()
        target = expr.comparisons[0]
        left, right, op = expr.left, target.comparator, target.operator
        lcol, rcol = column_ref(self.w, left, self.frame), column_ref(self.w, right, self.frame)
        out = Pred()
        for col in (lcol, rcol):
            if col:
                out.entities.add((col[0], col[1]))
        col = lcol or rcol
        other = right if lcol else left
        if (col and isinstance(op, (cst.Equal, cst.Is)) and isinstance(other, cst.Name) and other.value == "None"
                and self._tenant_attr(col[2])):
            return self._unowned((col[0], col[1]), col[2], out)
        if not isinstance(op, (cst.Equal, cst.In, cst.Is)) or isinstance(op, cst.Is):
            self.w.visit(expr, self.frame)
            return out
        if lcol and rcol:
            if (lcol[0], lcol[1]) != (rcol[0], rcol[1]):
                out.edges.add(((lcol[0], lcol[1]), (rcol[0], rcol[1])))
            return out
        col, other = (lcol, right) if lcol else (rcol, left)
        if col is None:
            self.w.visit(expr, self.frame)
            return out
        if not self._value(other):
            return out
        if self._tenant_attr(col[2]):
            out.scoped[(col[0], col[1])] = ("direct", f"{col[2]} = tenant value")
        elif col[2] in PK_COLUMNS and col[0] and self._tenant_attr(snake(col[0])):
            out.scoped[(col[0], col[1])] = ("direct", f"{col[0]}.{col[2]} = tenant value: the tenant's own row")
        elif is_secret_field(col[2]):
            out.scoped[(col[0], col[1])] = ("anchor", f"matched on the secret {col[2]} the caller presents")
        elif col[2] in PK_COLUMNS:
            out.pk = True
        return out

    def _value(self, expr) -> bool:
        """A tenant value: not a constant, not None, not a column of a model."""
        if is_literal(expr):
            return False
        self.w.visit(expr, self.frame)
        return True


# -- applying methods ---------------------------------------------------------------------------

def apply(w, value: QS, links: list[Link], start: int, frame):
    rec = value.record
    created_here = rec.code_node is None
    terminal = value.terminal
    consumed = None
    i = start
    while i < len(links) and not terminal:
        link = links[i]
        if link.kind == "sub":
            w.visit_inner(link.node.slice, frame)
            consumed = link.node
            i += 1
            continue
        if link.kind != "call" or link.name is None:
            break
        name, call = link.name, link.node
        consumed = call
        i += 1
        if name in PREDICATES:
            preds = Predicates(w, frame)
            w.forces.append(("join", "subquery of another query"))
            try:
                for a in call.args:
                    if a.star:
                        w.visit(a.value, frame)
                        rec.scoped_by("helper", "conditions built elsewhere")
                    elif a.keyword is None:
                        _merge(rec, preds.of(a.value))
                    else:
                        w.visit(a.value, frame)
            finally:
                w.forces.pop()
        elif name == "filter_by":
            _filter_by(w, rec, call, frame)
        elif name in JOINS:
            _join(w, rec, call, name, frame)
        elif name in LOOKUPS and len(positional(call)) == 1:
            w.visit_args(call, frame)
            rec.lookup, rec.kind = True, "lookup" if rec.kind == "select" else rec.kind
            rec.use("read")
            terminal = True
        elif name == "delete" and not call.args:
            rec.use("write", "delete")
            terminal = True
        elif name == "update" and call.args:
            w.visit_args(call, frame)
            rec.use("write", "update")
            terminal = True
        elif name in TERMINAL_READS:
            w.visit_args(call, frame)
            rec.use("read")
            terminal = True
        elif name == "correlate" and call.args:
            # select(Folder.x).where(Folder.id == Deployment.folder_id).correlate(Deployment): one
            # value per row of the outer statement, which is judged itself
            w.visit_args(call, frame)
            rec.scoped_by("join", "correlated subquery: rows of the outer statement's rows")
        elif name == "values" and rec.kind == "update" and _sets_columns_to_themselves(call):
            w.visit_args(call, frame)
            rec.scoped_by("direct", "sets each column to itself: changes no row (a lock)")
        elif name in PASS:
            w.visit_args(call, frame, force=("join", "subquery of another query"))
        elif name in ("union", "union_all", "except_", "intersect"):
            w.visit_args(call, frame)
        else:
            scope = w.helper_scope(name, call)
            w.visit_args(call, frame)
            if scope is not None:
                rec.scoped_by("helper", scope)
    if created_here:
        rec.end = consumed or rec.end
        rec.code_node = rec.end
    if i < len(links):
        w.rest(links, i, frame)
    return QS(rec, terminal=terminal)


def _sets_columns_to_themselves(call: cst.Call) -> bool:
    """``.values(description=Folder.description)``: an UPDATE taken for its row lock."""
    if not call.args or any(a.keyword is None or a.star for a in call.args):
        return False
    return all(isinstance(a.value, cst.Attribute) and a.value.attr.value == a.keyword.value for a in call.args)


def _merge(rec: Record, pred: Pred) -> None:
    for key, verdict in pred.scoped.items():
        if key == ("*", None):
            rec.scoped_by(*verdict)
            continue
        ekey = rec.add_entity(*key)
        rec.entity_scoped_by(ekey, *verdict)
    for key in pred.entities:
        rec.add_entity(*key)
    for a, b in pred.edges:
        rec.edges.add((rec.add_entity(*a), rec.add_entity(*b)))
    if pred.pk:
        rec.lookup = True


def _filter_by(w, rec: Record, call: cst.Call, frame) -> None:
    """``filter_by(account_id=x)`` applies to the last entity joined (or the first selected)."""
    keys = list(rec.entities)
    target = rec.last_joined or (keys[0] if keys else None)
    config = w.ctx.config
    for a in call.args:
        if a.keyword is None:
            w.visit(a.value, frame)
            rec.scoped_by("helper", "conditions built elsewhere")
            continue
        key = a.keyword.value
        w.visit(a.value, frame)
        if is_literal(a.value):
            continue
        if config.is_tenant_column(key) or config.is_tenant_column(key + "_id"):
            if target is not None:
                rec.entity_scoped_by(target, "direct", f"filter_by({key}=...)")
            else:
                rec.scoped_by("direct", f"filter_by({key}=...)")
        elif is_secret_field(key) and target is not None:
            rec.entity_scoped_by(target, "anchor", f"matched on the secret {key} the caller presents")
        elif key in PK_COLUMNS:
            rec.lookup = True


def _join(w, rec: Record, call: cst.Call, name: str, frame) -> None:
    """``join(Contact)``, ``join(Contact, Contact.id == Deal.contact_id)``, ``join_from(A, B)``,
    ``select_from(M)``: entities joined to the query, connected to what it already reads."""
    args = positional(call)
    primary = next(iter(rec.entities), None)
    n_entities = 2 if name.endswith("_from") and name != "select_from" else 1
    for i, expr in enumerate(args):
        if i < n_entities:
            found = _entity(w, expr, frame)
            if found is not None:
                key = rec.add_entity(*found)
                if name not in ("select_from", "add_entity") and primary is not None and key != primary:
                    rec.edges.add((primary, key))
                    rec.last_joined = key
                continue
            col = column_ref(w, expr, frame) if isinstance(expr, cst.Attribute) else None
            if col is not None:  # join(Contact.account): along a relationship, to the entity named so
                rec.rel_joins.add((rec.add_entity(col[0], col[1]), col[2]))
                continue
        _merge(rec, Predicates(w, frame).of(expr))
    for a in call.args:
        if a.keyword is not None:
            w.visit(a.value, frame)
