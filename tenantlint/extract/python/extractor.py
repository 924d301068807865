"""The walk over one parsed file: statements in order, expressions top-down, one pass.

Statements are walked in source order inside lexical frames so that a queryset kept in a
variable is followed to where it is refined. Every maximal call chain is offered to the
Django analyser, then the SQLAlchemy one, then checked for raw-SQL sinks. Facts point at
nodes while walking; positions are computed once at the end, for those nodes only.
"""

from __future__ import annotations

import libcst as cst

from tenantlint.extract.python import checks, django_views, orm_django, orm_sqlalchemy, raw_sql
from tenantlint.extract.python.calls import ADMIN_WORDS
from tenantlint.extract.python.chains import NOT_MINE, decompose
from tenantlint.extract.python.context import FileContext, class_info, reassigns_queryset
from tenantlint.extract.python.frames import Frame
from tenantlint.extract.python.orm_sqlalchemy import Alias
from tenantlint.extract.python.records import QS, Record
from tenantlint.extract.python.strings import Ref, Resolver
from tenantlint.extract.python.tree import (
    callee, category, children, descendants, dotted, is_camel, positional, string_value,
)

NESTED = {"Prefetch": "prefetch of the rows related to already loaded objects",
          "Subquery": "subquery of another queryset", "Exists": "subquery of another queryset",
          "Q": "condition of another queryset"}
# Methods whose arguments are conditions: a queryset inside one is a subquery.
CONDITION_METHODS = {"filter", "exclude", "get", "annotate", "alias", "prefetch_related", "where", "having",
                     "filter_by", "join", "outerjoin", "aggregate", "order_by", "values", "update"}
# Context managers and decorators that switch a runtime scoping library off (django-scopes).
DISABLING = {"scopes_disabled", "scope_disabled", "unscoped", "disable_scopes"}
# django-tenants: a schema switched for one tenant (inside a loop over tenants: for each in turn).
SCHEMA_CONTEXTS = {"schema_context", "tenant_context"}
SCOPE_CONTEXTS = {"scope", "tenant_context", "schema_context", "tenant_scope", "scoped", "use_tenant",
                  "set_current_tenant", "activate_tenant", "override_tenant", "local_tenant", "as_tenant"}
_SKIP_EXPR = (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.Ellipsis)


class Walker(Resolver):
    def __init__(self, ctx: FileContext):
        self.ctx = ctx
        self.records: list[Record] = []
        self.sql_jobs: list[raw_sql.SqlJob] = []
        self.forces: list[tuple[str, str]] = []
        self.disabled: list[str] = []  # scopes_disabled() blocks and decorated functions around the walk
        self.tenant_loops: list[str] = []  # schema_context(t) blocks inside ``for t in ...`` around the walk
        self.resolver_frame: Frame | None = None
        self.path: list = []  # statements enclosing the one being walked (for positions)
        self.returns: dict[str, QS] = {}  # "mod.func" / "mod.Class.method" -> queryset it returns
        self._core_tables = {
            name: string_value(positional(value)[0]) if positional(value) else None
            for name, (value, _) in ctx.constants.items()
            if isinstance(value, cst.Call) and callee(value) == "Table"
        }
        self._scoping = {n.rsplit(".", 1)[-1] for n in ctx.config.scoping_functions}

    # -- statements -----------------------------------------------------------------------
    def run(self) -> None:
        self.walk_block(self.ctx.module.body, Frame("module", None, node=self.ctx.module))

    def walk_block(self, stmts, frame: Frame) -> None:
        for stmt in stmts:
            if category(type(stmt)) == "small":
                self.small(stmt, frame)
            else:
                self.stmt(stmt, frame)

    def stmt(self, stmt, frame: Frame) -> None:
        self.path.append(stmt)
        try:
            self._stmt(stmt, frame)
        finally:
            self.path.pop()

    def _stmt(self, stmt, frame: Frame) -> None:
        kind = type(stmt)
        if kind is cst.SimpleStatementLine:
            for small in stmt.body:
                self.small(small, frame)
        elif kind is cst.FunctionDef:
            self.function(stmt, frame)
        elif kind is cst.ClassDef:
            self.klass(stmt, frame)
        elif kind is cst.If and self._staff_only(stmt.test):
            frame.current_node = stmt
            self.visit(stmt.test, frame)
            self.forces.append(("helper", "in a branch only staff or superusers reach"))
            try:
                self.walk_block(stmt.body.body, frame)
            finally:
                self.forces.pop()
            if stmt.orelse is not None:
                if isinstance(stmt.orelse, cst.If):
                    self.stmt(stmt.orelse, frame)
                else:
                    self.walk_block(stmt.orelse.body.body, frame)
        else:
            frame.current_node = stmt
            context = self._scope_context(stmt) if kind is cst.With else None
            disabled = self._disabling(stmt) if kind is cst.With else None
            loop = self._tenant_loop(stmt, context) if context else None
            if loop:
                self.tenant_loops.append(loop)
                self.forces.append(("none", loop))
            elif context:
                self.forces.append(("helper", f"inside {context}(...)"))
            if disabled:
                self.disabled.append(f"{disabled}()")
            try:
                self.walk_node(stmt, frame)
            finally:
                if context:
                    self.forces.pop()
                if loop:
                    self.tenant_loops.pop()
                if disabled:
                    self.disabled.pop()

    def walk_node(self, node, frame: Frame) -> None:
        for child in children(node):
            kind = category(type(child))
            if kind == "suite":
                self.walk_block(child.body, frame)
            elif kind == "stmt":
                self.stmt(child, frame)
            elif kind == "expr":
                self.visit(child, frame)
            elif kind == "small":
                self.small(child, frame)
            else:
                self.walk_node(child, frame)

    def small(self, small, frame: Frame) -> None:
        frame.current_node = small
        kind = type(small)
        if kind is cst.Assign:
            value = self.visit(small.value, frame)
            for target in small.targets:
                self.bind(target.target, value, frame)
                if frame.kind == "class" and isinstance(target.target, cst.Name):
                    django_views.class_attr(self, frame, target.target.value, small, value)
        elif kind is cst.AnnAssign:
            if small.value is not None:
                value = self.visit(small.value, frame)
                self.bind(small.target, value, frame)
        elif kind is cst.Expr:
            self.visit(small.value, frame)
        elif kind is cst.Return:
            if small.value is not None:
                value = self.visit(small.value, frame)
                if (frame.kind == "function" and isinstance(value, QS) and value.record is not None
                        and not value.terminal):
                    self.returns.setdefault(frame.name, value)
        elif kind is cst.AugAssign:
            self.visit(small.value, frame)
        elif kind in (cst.Import, cst.ImportFrom):
            self.ctx.add_import(small)
        else:
            self.walk_node(small, frame)

    def bind(self, target, value, frame: Frame) -> None:
        if isinstance(target, cst.Name):
            if isinstance(value, (QS, Alias)):
                frame.env[target.value] = value
            else:
                frame.env.pop(target.value, None)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                self.bind(el.value, None, frame)

    def function(self, node: cst.FunctionDef, frame: Frame) -> None:
        prefix = frame.name or self.ctx.modname
        name = f"{prefix}.{node.name.value}" if prefix else node.name.value
        inner = Frame("function", name, parent=frame, node=node, cls=frame.cls, func_name=node.name.value)
        disabled = next((d for d in (callee(dec.decorator) if isinstance(dec.decorator, cst.Call)
                                     else dotted(dec.decorator) for dec in node.decorators)
                         if d and d.rsplit(".", 1)[-1] in DISABLING), None)
        if disabled:
            self.disabled.append(f"@{disabled.rsplit('.', 1)[-1]}")
        try:
            self.walk_block(node.body.body, inner)
        finally:
            if disabled:
                self.disabled.pop()

    def klass(self, node: cst.ClassDef, frame: Frame) -> None:
        if frame.kind == "module":
            info = self.ctx.classes.get(node.name.value)
            if info is None or info.node is not node:
                info = class_info(node, node.name.value)
        elif frame.kind == "class" and frame.cls is not None:
            qual = f"{frame.cls.qualname}.{node.name.value}"
            info = self.ctx.classes.get(qual) or class_info(node, qual)
        else:
            info = class_info(node, node.name.value)
        prefix = frame.name or self.ctx.modname
        name = f"{prefix}.{node.name.value}" if prefix else node.name.value
        inner = Frame("class", name, parent=frame, node=node, cls=info)
        self.walk_block(node.body.body, inner)

    # -- expressions ----------------------------------------------------------------------
    def visit(self, expr, frame: Frame):
        if expr is None:
            return None
        kind = type(expr)
        if kind is cst.Call or kind is cst.Attribute or kind is cst.Subscript:
            return self.chain(expr, frame)
        if kind is cst.Name:
            value = frame.lookup(expr.value)
            if isinstance(value, QS) and value.record is not None and self.forces:
                value.record.scoped_by(*self.forces[-1])
            return value
        if kind is cst.Await:
            return self.visit(expr.expression, frame)
        if kind in _SKIP_EXPR:
            return None
        self.visit_inner(expr, frame)
        if kind is cst.Comparison:
            checks.comparison(self, expr, frame)
        return None

    def visit_inner(self, node, frame: Frame) -> None:
        items = node if isinstance(node, (tuple, list)) else children(node)
        for child in items:
            kind = category(type(child))
            if kind == "expr":
                self.visit(child, frame)
            elif kind == "other":
                self.visit_inner(child, frame)

    def visit_args(self, call: cst.Call, frame: Frame, force=None, skip=None) -> list:
        if force is not None:
            self.forces.append(force)
        try:
            return [self.visit(a.value, frame) for a in call.args if a.value is not skip]
        finally:
            if force is not None:
                self.forces.pop()

    def chain(self, expr, frame: Frame):
        base, links = decompose(expr)
        known = self._helper_call(base, links, frame)
        if known is not None:
            value, start = known
            analyser = orm_django if value.record.origin == "django" else orm_sqlalchemy
            return analyser.apply(self, QS(value.record), links, start, frame)
        value = orm_django.chain(self, base, links, frame)
        if value is not NOT_MINE:
            return value
        value = orm_sqlalchemy.chain(self, base, links, frame)
        if value is not NOT_MINE:
            return value
        value = None
        if isinstance(base, cst.Call):
            value = self.fcall(base, frame)
        elif not isinstance(base, cst.Name):
            self.visit(base, frame)
        self.rest(links, 0, frame)
        return value if not links else None

    def _helper_call(self, base, links, frame: Frame):
        """``base_queryset().filter(...)`` / ``self._visible().filter(...)``: a function of this
        file (walked before) that returns a queryset. Its record is refined at the call site,
        so a helper whose callers all scope its result is scoped."""
        if not self.returns:
            return None
        if isinstance(base, cst.Call) and isinstance(base.func, cst.Name):
            found = self.returns.get(f"{self.ctx.modname}.{base.func.value}")
            if found is not None:
                self.visit_args(base, frame)
                return found, 0
        elif (isinstance(base, cst.Name) and base.value in ("self", "cls") and frame.cls is not None and links
              and links[0].kind == "call" and links[0].name not in ("get_queryset", "get_object")):
            found = self.returns.get(f"{self.ctx.modname}.{frame.cls.qualname}.{links[0].name}")
            if found is not None:
                self.visit_args(links[0].node, frame)
                return found, 1
        return None

    def rest(self, links, start: int, frame: Frame) -> None:
        """Walk the arguments of links no analyser claimed, checking raw-SQL sinks."""
        for link in links[start:]:
            if link.kind == "call":
                if link.name and raw_sql.method_sink(self, link.node, link.name, frame):
                    continue
                force = ("join", "subquery of another query") if link.name in CONDITION_METHODS else None
                self.visit_args(link.node, frame, force=force)
                checks.call(self, link.node, link.name, frame)
            elif link.kind == "sub":
                self.visit_inner(link.node.slice, frame)

    def fcall(self, call: cst.Call, frame: Frame):
        name = call.func.value if isinstance(call.func, cst.Name) else None
        if name and raw_sql.func_sink(self, call, name, frame):
            return None
        if name == "aliased" and call.args:
            target = call.args[0].value
            if isinstance(target, cst.Name) and is_camel(target.value):
                return Alias(target.value)
        condition = self._tenant_condition(call, frame) if name and name not in NESTED else None
        if name in self._scoping or condition:
            # restrict_to_owned_or_visible_scope(select(KB), owner_clause=KB.user_id == user_id):
            # a helper handed the statement and the tenant's condition applies it
            reason = f"{condition} is handed to {name}()" if condition else f"passed through {name}()"
            values = self.visit_args(call, frame, force=("helper", reason))
            return next((v for v in values if isinstance(v, QS)), None)
        if name in NESTED:
            self.visit_args(call, frame, force=("join", NESTED[name]))
            return None
        self.visit_args(call, frame)
        checks.call(self, call, name, frame)
        return None

    def _tenant_condition(self, call: cst.Call, frame: Frame) -> str | None:
        """The text of an argument that is an equality on a tenant column
        (``owner_clause=KB.user_id == user_id``) of a call that is also handed something
        else positionally (the statement), else None: ``and_(a == b, ...)`` builds a
        condition and scopes nothing."""
        if not any(arg.keyword is None and not isinstance(arg.value, (cst.Comparison, cst.BooleanOperation))
                   for arg in call.args):
            return None
        columns = {c.lower() for c in self.ctx.config.tenant_columns}
        for arg in call.args:
            value = arg.value
            value = self._narrowing_branch(value)
            if isinstance(value, cst.Name):  # owned = Flow.user_id == me; ... owner_clause=owned
                held = frame.assignments(value.value)
                value = held[0][1] if held and len(held) == 1 and held[0][0] == "=" else None
            if not (isinstance(value, cst.Comparison) and len(value.comparisons) == 1
                    and isinstance(value.comparisons[0].operator, cst.Equal)):
                continue
            for side in (value.left, value.comparisons[0].comparator):
                if isinstance(side, cst.Call) and side.args:  # col(KB.user_id)
                    side = side.args[0].value
                if isinstance(side, cst.Attribute) and side.attr.value.lower() in columns:
                    return self.ctx.module.code_for_node(value)
        return None

    @staticmethod
    def _narrowing_branch(value):
        """``owned if override else false()``: a condition that is either the given one or
        matches nothing narrows as much as the given one."""
        if not isinstance(value, cst.IfExp):
            return value
        for kept, other in ((value.body, value.orelse), (value.orelse, value.body)):
            nothing = (isinstance(other, cst.Name) and other.value == "False"
                       or isinstance(other, cst.Call) and callee(other) == "false")
            if nothing:
                return kept
        return value

    def raw_sink(self, call: cst.Call, name: str, frame: Frame) -> bool:
        return raw_sql.method_sink(self, call, name, frame)

    def _staff_only(self, test) -> bool:
        """``if request.user.is_superuser:`` and the like: a branch for the operator's staff,
        where reading every tenant's rows is the point."""
        names = []
        node = test
        while isinstance(node, (cst.UnaryOperation, cst.BooleanOperation)):
            if isinstance(node, cst.UnaryOperation):
                return False  # ``if not user.is_staff:`` guards the other branch
            names.append(node.right)
            node = node.left
        names.append(node)
        for part in names:
            while isinstance(part, cst.Call):
                part = part.func
            text = (dotted(part) or "").lower()
            if any(w in text for w in ADMIN_WORDS):
                return True
        return False

    def _disabling(self, node: cst.With) -> str | None:
        """``with scopes_disabled():``: a runtime scoping library is off inside."""
        for item in node.items:
            name = callee(item.item) if isinstance(item.item, cst.Call) else None
            if name and name.rsplit(".", 1)[-1] in DISABLING:
                return name.rsplit(".", 1)[-1]
        return None

    def _scope_context(self, node: cst.With) -> str | None:
        """``with scope(organizer=o):``, ``with tenant_context(t):``: queries inside run
        under an activated tenant."""
        for item in node.items:
            call = item.item
            name = callee(call) if isinstance(call, cst.Call) else None
            if not name:
                continue
            low = name.lower()
            if name in SCOPE_CONTEXTS or name in self._scoping or (
                    any(w in low for w in self.ctx.tenant_words) and "disable" not in low and "unscoped" not in low):
                return name
        return None

    def _tenant_loop(self, node: cst.With, context: str) -> str | None:
        """``for t in Client.objects.all(): with schema_context(t.schema_name):``: each pass
        reads another tenant's schema, so together they read every tenant's rows."""
        if context.rsplit(".", 1)[-1] not in SCHEMA_CONTEXTS:
            return None
        targets = {n.value for stmt in self.path if isinstance(stmt, cst.For)
                   for n in descendants(stmt.target, cst.Name)}
        for item in node.items:
            if isinstance(item.item, cst.Call) and any(
                    n.value in targets for a in item.item.args for n in descendants(a.value, cst.Name)):
                return f"{context}() inside a loop over tenants: each pass reads another tenant's schema"
        return None

    # -- helpers for the analysers ----------------------------------------------------------
    def new_record(self, origin: str, model: str | None, node, frame: Frame, table: str | None = None) -> Record:
        rec = Record(origin, start=node, end=node, function=frame.name, path=tuple(self.path))
        if model or table:
            rec.add_entity(model, table)
        if self.disabled:
            rec.disabled = self.disabled[-1]
        if self.tenant_loops:
            rec.tenant_loop = self.tenant_loops[-1]
        if self.forces:
            rec.forced = self.forces[-1]
        elif frame.kind == "class" and frame.cls is not None and reassigns_queryset(frame.cls):
            rec.forced = ("helper", "the queryset is replaced per request in a method")
        self.records.append(rec)
        return rec

    def core_table(self, name: str) -> str | None:
        return self._core_tables.get(name)

    def is_scoping_call(self, call) -> bool:
        return isinstance(call, cst.Call) and (callee(call) or "") in self._scoping

    def helper_scope(self, name: str, call: cst.Call) -> str | None:
        """Why a method or function we do not know probably scopes by tenant: it is a
        configured scoping function, its name says so (``for_account``, ``visible_to``),
        or it is handed the tenant, the request or the user."""
        if name in self._scoping:
            return f"{name}() is a scoping function"
        low = name.lower()
        if any(word in low for word in self.ctx.tenant_words) or any(h in low for h in orm_django.HINT_WORDS):
            return f"{name}() looks like a tenant scope"
        if isinstance(call, cst.Call) and call.args:
            words = self.ctx.tenant_words | {"request", "user"}
            for a in call.args:
                text = (dotted(a.value) or "").lower()
                if text and any(word in part for part in text.split(".") for word in words):
                    return f"{name}() is given {text}"
        return None

    # -- Resolver (strings) ------------------------------------------------------------------
    def name(self, name: str, node):
        frame = self.resolver_frame
        f = frame
        while f is not None:
            if f.kind == "function" and f.is_local(name):
                history = f.assignments(name) if f is frame else _all_history(f, name)
                return history
            f = f.parent
        if name in self.ctx.constants:
            return [("=", self.ctx.constants[name][0])]
        if name in self.ctx.imports:
            return Ref(self.ctx.imports[name])
        return None

    def attribute(self, node: cst.Attribute):
        text = dotted(node)
        if not text:
            return None
        head, _, attr = text.rpartition(".")
        frame = self.resolver_frame
        if head in ("self", "cls") and frame is not None and frame.cls is not None:
            return _class_attr(self.ctx, frame.cls, attr)
        if head in self.ctx.classes:
            return _class_attr(self.ctx, self.ctx.classes[head], attr)
        if head in self.ctx.imports and "." not in head:
            return Ref(f"{self.ctx.imports[head]}.{attr}")
        return None

    def source(self, node) -> str:
        try:
            return " ".join(self.ctx.module.code_for_node(node).split())
        except Exception:  # noqa: BLE001 - only used for messages
            return "?"


def _all_history(frame: Frame, name: str):
    frame.index()
    history = frame._assigns.get(name) or []
    plain = [h for h in history if h[1] == "="]
    return [("=", plain[-1][2])] if len(plain) == 1 else None


def _class_attr(ctx, info, attr: str, depth: int = 0):
    small = info.attrs.get(attr)
    if small is not None and getattr(small, "value", None) is not None:
        return [("=", small.value)]
    if depth < 5:
        for base in info.bases:
            if base in ctx.classes:
                found = _class_attr(ctx, ctx.classes[base], attr, depth + 1)
                if found:
                    return found
    return None
