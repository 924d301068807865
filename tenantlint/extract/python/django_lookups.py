"""Django filter arguments -> tenant scope, in conjunctive normal form.

``filter(a=1, b=2)`` is ``a AND b``; ``Q(x) | Q(y)`` scopes only if both branches do;
``~Q(...)`` and ``exclude(...)`` never scope. Each clause is a list of literals
``(lookup text, scope or None)``; a clause scopes when every literal in it does, and a
filter call scopes when some clause does. The raw lookup paths are kept in the Ref
(``lookups``) so the linker can re-judge them once it knows the model's tenant column.
"""

from __future__ import annotations

import libcst as cst

from tenantlint.extract.python.records import QS, SCOPE_RANK
from tenantlint.extract.python.tree import (
    callee, dotted, is_literal, is_none, is_secret_field, last_name, positional, string_value,
)

NON_SCOPING_OPS = {
    "gt", "gte", "lt", "lte", "isnull", "contains", "icontains", "startswith", "istartswith", "endswith",
    "iendswith", "range", "regex", "iregex", "ne", "year", "month", "day", "week", "week_day", "iso_week_day",
    "quarter", "date", "time", "hour", "minute", "second", "search", "overlap", "contained_by", "has_key",
    "has_keys", "has_any_keys", "iexact", "unaccent", "trigram_similar", "len", "isempty",
}
PK_NAMES = {"pk", "id", "uuid", "pk__exact", "id__exact", "uuid__exact"}
# A tenant named by a unique natural key instead of its id: ``organizer__slug=...``.
NATURAL_KEYS = {"slug", "uuid", "code", "domain", "subdomain", "identifier", "key", "name", "handle", "short_name"}
# Attribute names through which a request hands over what the client sent.
USER_INPUT = {"GET", "POST", "data", "query_params", "kwargs", "validated_data", "cleaned_data", "json", "args",
              "form", "params", "FILES", "headers", "META", "COOKIES", "path_params", "match_info", "view_args",
              "body", "initial_data", "query", "payload"}
MAX_CLAUSES = 64
UNKNOWN = ("?", "helper", "a condition built elsewhere (may hold the tenant filter)")

Literal = tuple  # (text, scope | None, reason)


def weakest(clause: list[Literal]) -> str | None:
    scopes = [lit[1] for lit in clause]
    if not scopes or any(s is None for s in scopes):
        return None
    return min(scopes, key=lambda s: SCOPE_RANK[s])


def best(clauses: list[list[Literal]]) -> tuple[str, str] | None:
    """(scope, reason) of the strongest clause that scopes, or None."""
    found = []
    for clause in clauses:
        scope = weakest(clause)
        if scope:
            reason = next(lit[2] for lit in clause if lit[1] == scope)
            found.append((scope, reason))
    return max(found, key=lambda f: SCOPE_RANK[f[0]]) if found else None


class Lookups:
    """Judges the arguments of one filter-like call. ``w`` is the walker: nested
    expressions (subqueries, ``Exists``) are visited through it exactly once."""

    def __init__(self, w, frame, model: str | None):
        self.w, self.frame, self.model = w, frame, model
        self.pk = False
        self.parents: list[str] = []  # fk=<object> lookups: scoped if fk is a relation (linker)

    def of_call(self, call: cst.Call, skip: tuple[str, ...] = ("defaults", "create_defaults")) -> list[list[Literal]]:
        clauses: list[list[Literal]] = []
        for a in call.args:
            if a.keyword is not None:
                if a.keyword.value in skip:
                    self.w.visit(a.value, self.frame)
                    continue
                clauses.append([self.kwarg(a.keyword.value, a.value)])
            elif a.star == "**":
                clauses.extend(self.kwargs_dict(a.value))
            elif a.star == "*":
                self.w.visit(a.value, self.frame)
                clauses.append([UNKNOWN])
            else:
                clauses.extend(self.q(a.value, 0))
        return clauses

    # -- one keyword lookup -----------------------------------------------------------------
    def kwarg(self, key: str, value: cst.BaseExpression) -> Literal:
        scope, reason = self.key_scope(key, value)
        if key in PK_NAMES:
            self.pk = True
        if scope is None and key not in PK_NAMES and isinstance(value, (cst.Name, cst.Attribute)):
            if not _user_input(value) and key.split("__")[-1] not in NON_SCOPING_OPS:
                self.parents.append(key.removesuffix("__exact").removesuffix("__in"))
        return (key, scope, reason)

    def key_scope(self, key: str, value: cst.BaseExpression) -> tuple[str | None, str]:
        """(scope, reason) of one keyword lookup."""
        config = self.w.ctx.config
        parts = key.split("__")
        value_kind = self.value_kind(value, _field_of(parts))
        if parts[-1] in NON_SCOPING_OPS:
            return None, ""
        if parts[-1] in ("exact", "in"):
            parts = parts[:-1]
        if len(parts) >= 2 and parts[-1] in ("id", "pk"):
            parts = parts[:-1]
        if not parts or value_kind is None:
            return None, ""
        if value_kind == "outer":
            return "join", f"{key}=OuterRef(...): correlated to the outer query's rows"
        field = parts[-1]
        if config.is_tenant_column(field) or config.is_tenant_column(field + "_id"):
            if len(parts) == 1:
                return "direct", f"{key}=... filters on the tenant column"
            return "join", f"{key}=... filters through a relation to the tenant"
        if len(parts) >= 2 and parts[-1] in NATURAL_KEYS and (
                config.is_tenant_column(parts[-2]) or config.is_tenant_column(parts[-2] + "_id")):
            return "join", f"{key}=... names the tenant by its {parts[-1]}"
        if self.principal(parts) or value_kind == "principal":
            return "anchor", f"{key}=... restricts to the caller's own rows"
        if len(parts) == 1 and is_secret_field(field) and value_kind == "value":
            return "anchor", f"{key}=... matches a secret the caller presents"
        if value_kind == "object":
            return "join", f"{key}=... matches an object already loaded or another query's rows"
        return None, ""

    def principal(self, parts: list[str]) -> bool:
        field = parts[-1]
        for entry in self.w.ctx.config.principal_columns:
            table, _, column = entry.lower().partition(".")
            singular = table[:-1] if table.endswith("s") else table
            if column != "id" and field in (column, column.removesuffix("_id")):
                return True
            if column == "id" and (field in (singular, table) or (
                    len(parts) == 1 and field in ("pk", "id") and (self.model or "").lower() == singular)):
                return True
        return False

    def value_kind(self, value: cst.BaseExpression, field: str = "") -> str | None:
        """"value" for a tenant value, "outer" for ``OuterRef(...)``, None for constants,
        ``None`` and same-row ``F(...)`` columns."""
        if is_none(value) or is_literal(value):
            return None
        if isinstance(value, cst.Call):
            name = callee(value)
            if name == "F":
                return None
            if name == "OuterRef":
                return "outer"
        visited = self.w.visit(value, self.frame)
        if _principal(value):
            return "principal"
        if isinstance(value, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            iterable = value.for_in.iter
            if _from_queryset(iterable) or (isinstance(iterable, cst.Name)
                                            and isinstance(self.frame.lookup(iterable.value), QS)):
                return "object"  # ids of the rows another query returned
        if visited is not None or _from_queryset(value):
            return "object"  # another queryset: a subquery, judged on its own
        if _loaded_object(value, field) or self._derived_ids(value) or _same_name_object(value, field):
            return "object"
        return "value"

    def _derived_ids(self, value) -> bool:
        """A local list of ids taken from loaded objects or from another queryset:
        ``ids = [o.pk for o in objs]``, ``ids = set(qs.values_list("pk", flat=True))``,
        ``to_delete = []`` + ``to_delete.append(obj.pk)``."""
        if not isinstance(value, cst.Name) or self.frame.kind != "function":
            return False
        history = self.frame.assignments(value.value)
        if not history:
            return False
        first = history[0][1]
        if _loaded_object(first, "") or _from_queryset(first):
            return True
        if isinstance(first, (cst.List, cst.Set, cst.Tuple)) and not first.elements or (
                isinstance(first, cst.Call) and callee(first) in ("set", "list") and not first.args):
            appended = self.frame.appended(value.value)
            return bool(appended) and all(_loaded_object(a, "") or _from_queryset(a) for a in appended)
        return False

    # -- Q objects -------------------------------------------------------------------------
    def q(self, expr: cst.BaseExpression, depth: int) -> list[list[Literal]]:
        if depth > 20:
            return [[UNKNOWN]]
        if isinstance(expr, cst.BinaryOperation):
            if isinstance(expr.operator, cst.BitOr):
                return _or(self.q(expr.left, depth + 1), self.q(expr.right, depth + 1))
            if isinstance(expr.operator, cst.BitAnd):
                return self.q(expr.left, depth + 1) + self.q(expr.right, depth + 1)
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.BitInvert):
            self.q(expr.expression, depth + 1)
            return [[("~", None, "")]]
        if isinstance(expr, cst.Call):
            name = callee(expr)
            if name == "Q":
                negated = any(a.keyword is not None and a.keyword.value == "_negated" and not is_none(a.value)
                              and getattr(a.value, "value", "") == "True" for a in expr.args)
                clauses = self.of_call(expr, skip=("_connector", "_negated"))
                connector = next((string_value(a.value) for a in expr.args
                                  if a.keyword is not None and a.keyword.value == "_connector"), None)
                if connector and connector.upper() == "OR":
                    merged: list[list[Literal]] = []
                    for c in clauses:
                        merged = _or(merged, [c]) if merged else [c]
                    clauses = merged
                return [[("~Q", None, "")]] if negated else clauses
            if name in ("Exists", "Subquery"):
                args = positional(expr)
                value = self.w.visit(args[0], self.frame) if args else None
                for extra in expr.args[1:]:
                    self.w.visit(extra.value, self.frame)
                rec = getattr(value, "record", None)
                if rec is None and value is not None:
                    return [[(name, "join", f"{name}(...) of a related manager")]]
                inner = rec.scope[0] if rec is not None and rec.scope else None
                return [[(name, "join" if inner else None, f"{name}(...) of a scoped subquery")]]
            if self.w.is_scoping_call(expr):
                self.w.visit(expr, self.frame)
                return [[(name or "?", "helper", f"{name}(...) is a scoping function")]]
        if isinstance(expr, cst.Name):
            resolved = self.frame.assignments(expr.value) if self.frame.kind == "function" else None
            if resolved:
                return self.q_history(resolved, depth)
            self.w.visit(expr, self.frame)
            return [[UNKNOWN]]
        self.w.visit(expr, self.frame)
        return [[UNKNOWN]] if not is_literal(expr) else []

    def q_history(self, history, depth: int) -> list[list[Literal]]:
        clauses: list[list[Literal]] = []
        for op, value in history:
            part = self.q(value, depth + 1)
            if op == "=":
                clauses = part
            elif op == "BitAndAssign":
                clauses = clauses + part
            elif op == "BitOrAssign":
                clauses = _or(clauses, part)
            else:
                clauses = [[UNKNOWN]]
        return clauses

    def kwargs_dict(self, expr: cst.BaseExpression) -> list[list[Literal]]:
        """``filter(**{"account": a})`` or a local dict built before the call."""
        if isinstance(expr, cst.Dict):
            return self._dict(expr)
        if isinstance(expr, cst.Name) and self.frame.kind == "function":
            history = self.frame.assignments(expr.value)
            if history:
                clauses: list[list[Literal]] = []
                for op, value in history:
                    if op == "=":
                        if isinstance(value, cst.Dict):
                            clauses = self._dict(value)
                        elif isinstance(value, cst.Call) and callee(value) == "dict" and not positional(value):
                            clauses = [[self.kwarg(a.keyword.value, a.value)] for a in value.args if a.keyword]
                        else:
                            return [[UNKNOWN]]
                    elif op.startswith("[") and op != "[?]":
                        clauses.append([self.kwarg(op[1:-1], value)])
                    else:
                        return [[UNKNOWN]]
                return clauses
        self.w.visit(expr, self.frame)
        return [[UNKNOWN]]

    def _dict(self, expr: cst.Dict) -> list[list[Literal]]:
        clauses = []
        for el in expr.elements:
            key = string_value(getattr(el, "key", None))
            if key is None:
                self.w.visit(getattr(el, "value", None) or el, self.frame)
                clauses.append([UNKNOWN])
            else:
                clauses.append([self.kwarg(key, el.value)])
        return clauses


def _or(a: list[list[Literal]], b: list[list[Literal]]) -> list[list[Literal]]:
    """CNF of (A OR B): every clause of A joined with every clause of B. An empty side is TRUE."""
    if not a or not b:
        return []
    out = [ca + cb for ca in a for cb in b]
    if len(out) > MAX_CLAUSES:
        return [[UNKNOWN]]
    return out


def texts(clauses: list[list[Literal]]) -> list[list[str]]:
    return [[lit[0] for lit in clause] for clause in clauses]


def _user_input(expr) -> bool:
    """Does the value come straight from what the client sent (``request.data.x``)?"""
    while isinstance(expr, (cst.Attribute, cst.Subscript, cst.Call)):
        if isinstance(expr, cst.Attribute) and expr.attr.value in USER_INPUT:
            return True
        expr = expr.value if not isinstance(expr, cst.Call) else expr.func
    return isinstance(expr, cst.Name) and expr.value in USER_INPUT | {"kwargs", "data", "params", "payload", "body"}


OBJECT_NAMES = {"self", "instance", "obj", "object", "parent"}
# Field names that hold plain values: ``email=self.email`` is no relation to an object.
SCALAR_FIELDS = {"email", "name", "title", "code", "slug", "status", "state", "token", "type", "kind", "date",
                 "value", "text", "key", "label", "url", "uuid", "number", "phone", "username", "domain", "secret",
                 "hash", "identifier", "description", "comment", "language", "locale", "currency", "nonce",
                 "reference", "external_id", "secret_key", "api_key", "first_name", "last_name", "full_name"}
PRINCIPALS = {"request.user", "self.request.user", "info.context.user", "current_user", "g.user", "request.auth.user",
              "self.user", "request.user.id", "request.user.pk", "self.request.user.id", "self.request.user.pk",
              "current_user.id", "g.user.id", "info.context.user.id"}


def _field_of(parts: list[str]) -> str:
    parts = [p for p in parts if p not in ("exact", "in")]
    if len(parts) >= 2 and parts[-1] in ("id", "pk"):
        parts = parts[:-1]
    return parts[-1] if parts else ""


def _principal(expr) -> bool:
    """The authenticated caller: their own rows are not another tenant's."""
    return dotted(expr) in PRINCIPALS


def _loaded_object(expr, field: str) -> bool:
    """A value taken from an object already loaded: ``self`` in a method, ``self.object``,
    ``instance``, ``self.event`` for an ``event`` lookup, ``order.pk``, ``position.voucher_id``,
    ``[o.pk for o in orders]``. Matching rows to it re-fetches or follows that object, which
    widens nothing."""
    if isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
        return _loaded_object(expr.elt, "")
    if isinstance(expr, cst.Call):
        return callee(expr) == "get_object" and not expr.args
    if isinstance(expr, cst.Name):
        return expr.value in OBJECT_NAMES
    if isinstance(expr, cst.Attribute):
        if _user_input(expr):
            return False
        last = expr.attr.value
        node = expr
        while isinstance(node, cst.Attribute):
            node = node.value
        if isinstance(node, cst.Call):  # self.get_object().pk
            return last in ("pk", "id") or last.endswith("_id")
        if not isinstance(node, cst.Name):
            return False
        if last in ("pk", "id") or last.endswith("_id"):
            return True
        if last in OBJECT_NAMES:
            return True
        return node.value == "self" and bool(field) and last in (field, field.removesuffix("_id")) and (
            field.removesuffix("_id") not in SCALAR_FIELDS)
    return False


_SCALAR_SUFFIXES = ("_number", "_name", "_code", "_date", "_at", "_on", "_time", "_count", "_type", "_status",
                    "_key", "_token", "_email", "_url", "_hash", "_value", "_text", "_phone", "_address", "_id",
                    "_ids", "_slug", "_uuid", "_kind", "_state", "_level", "_amount", "_price")


def _scalar_field(field: str) -> bool:
    return field in SCALAR_FIELDS or field.endswith(_SCALAR_SUFFIXES) or any(
        w in field for w in ("email", "phone", "name", "date", "time", "password", "token", "secret"))


def _same_name_object(value, field: str) -> bool:
    """``event=event``, ``subevent=self.subevent``: a foreign key matched to an object of the
    same name, already in hand (not for plain fields: ``email=email`` is a value)."""
    if not field or field in ("pk", "id") or _scalar_field(field):
        return False
    last = last_name(value)
    return last == field and not _user_input(value)


def _from_queryset(expr) -> bool:
    """``list(qs.values_list("pk", flat=True))``: ids another query produced."""
    while isinstance(expr, cst.Call) and callee(expr) in ("list", "set", "tuple", "sorted", "frozenset") and expr.args:
        expr = expr.args[0].value
    node = expr
    while isinstance(node, (cst.Call, cst.Attribute, cst.Subscript)):
        if isinstance(node, cst.Call) and callee(node) in ("values_list", "values", "in_bulk", "only"):
            return True
        node = node.func if isinstance(node, cst.Call) else node.value
    return False
