"""Django ORM querysets -> Records.

A chain is Django's when it starts from a model manager (``Contact.objects``,
``Contact._default_manager``, ``models.Contact.objects``, ``cls.objects``), from a variable
holding a queryset, from a class-based view's queryset (``self.get_queryset()``,
``super().get_queryset()``, ``self.queryset``, ``self.model.objects``) or from
``get_object_or_404(Model, ...)``. Related managers (``request.account.contacts.all()``)
are scoped by construction and produce no record.
"""

from __future__ import annotations

import re

import libcst as cst

from tenantlint.extract.python.chains import Link, base_call_name, follow
from tenantlint.extract.python.django_lookups import Lookups, best, texts
from tenantlint.extract.python.records import QS, Record
from tenantlint.extract.python.tree import dotted, is_camel, last_name, positional, string_value


MANAGERS = {"objects", "_default_manager", "_base_manager"}
# After a manager attribute with another name, only these prove a queryset.
UNAMBIGUOUS = {"all", "filter", "exclude", "select_related", "prefetch_related", "order_by", "annotate", "only",
               "defer", "values_list", "in_bulk", "get_or_create", "update_or_create", "aggregate", "none", "raw",
               "bulk_create", "select_for_update", "using", "distinct", "alias"}
# After a manager attribute with another name, these make a queryset if the model declares
# the manager (``Card.visible_objects.get(pk=...)``; the linker checks).
MANAGER_METHODS = {"get", "first", "last", "earliest", "latest", "count", "exists", "create", "update", "delete",
                   "values", "iterator", "contains", "bulk_update", "get_queryset"}
PASS = {"all", "select_related", "prefetch_related", "order_by", "reverse", "distinct", "only", "defer",
        "annotate", "alias", "values", "values_list", "using", "select_for_update", "dates", "datetimes",
        "iterator", "filter_by_natural_key", "complex_filter", "with_deleted", "live", "active", "chunked"}
FILTERS = {"filter", "get", "get_or_create", "update_or_create", "complex_filter"}
TERMINAL_READS = {"get", "first", "last", "earliest", "latest", "count", "exists", "aggregate", "in_bulk",
                  "contains", "explain", "get_or_create", "update_or_create", "iterator"}
CREATES = {"create", "bulk_create", "bulk_update", "get_or_create_by_natural_key"}
SET_OPS = {"union", "intersection", "difference"}
ASYNC = {"a" + n for n in ("get", "first", "last", "earliest", "latest", "count", "exists", "aggregate",
                           "in_bulk", "contains", "explain", "get_or_create", "update_or_create", "iterator",
                           "update", "delete", "create", "bulk_create", "bulk_update")}
SHORTCUTS = {"get_object_or_404", "get_list_or_404", "aget_object_or_404", "aget_list_or_404"}
HINT_WORDS = ("visible", "accessible", "owned", "scoped", "permitted", "allowed", "for_user", "of_user",
              "for_request", "member", "restrict", "authorized", "authorised")
_EXTRA_TENANT = r"(?:^|[^\w.])(?:\w+\.)?\"?{col}\"?\s*(?:=|\bIN\b)"


def chain(w, base, links: list[Link], frame):
    return follow(_root, apply, w, base, links, frame)


# -- where the chain starts -----------------------------------------------------------------

def _root(w, base, links, frame):
    if isinstance(base, cst.Name):
        bound = frame.lookup(base.value)
        if isinstance(bound, QS):
            if bound.record is not None and bound.record.origin != "django":
                return None
            if bound.terminal:
                return None
            if w.forces and bound.record is not None:
                bound.record.scoped_by(*w.forces[-1])
            return QS(bound.record), 0
        model, consumed = _manager(w, base, links, frame)
        if model is not None:
            rec = w.new_record("django", model, links[consumed - 1].node, frame)
            rec.manager = links[consumed - 1].name
            # Card.visible_objects.get(...): a queryset only if Card declares that manager,
            # which the linker checks against the model's facts.
            rec.manager_unsure = rec.manager not in MANAGERS and _norm(links[consumed].name) not in UNAMBIGUOUS
            return QS(rec), consumed
        if base.value == "self" and frame.cls is not None:
            return _view_root(w, links, frame, base)
        if links and links[0].kind == "call" and links[0].name in SHORTCUTS and bound is None:
            # generics.get_object_or_404(Model, pk=...), shortcuts.get_object_or_404(...)
            return _shortcut(w, links[0].node, links[0].name, frame), 1
        return None
    name = base_call_name(base)
    if name in SHORTCUTS:
        return _shortcut(w, base, name, frame), 0
    if name == "super" and links and links[0].kind == "call" and links[0].name == "get_queryset":
        return _class_queryset(w, frame, links[0].node, inherited=True), 1
    return None


def _manager(w, base: cst.Name, links, frame) -> tuple[str | None, int]:
    """``Contact.objects`` / ``models.Contact.objects`` / ``cls.objects``: (model, links consumed)."""
    i = 0
    model = base.value if is_camel(base.value) else None
    if base.value in ("cls",) and frame.cls is not None:
        model = frame.cls.name
    while model is None and i < len(links) and links[i].kind == "attr" and i < 3:
        if is_camel(links[i].name):
            model = links[i].name
        i += 1
    if model is None or i + 1 > len(links) or links[i].kind != "attr":
        if base.value == "self" and len(links) > 1 and links[0].name == "__class__" and frame.cls is not None:
            model, i = frame.cls.name, 1
        else:
            return None, 0
    manager = links[i]
    if manager.kind != "attr" or manager.name in ("query", "c", "columns", "__table__"):
        return None, 0  # Flask-SQLAlchemy's Model.query, SQLAlchemy columns
    nxt = links[i + 1] if i + 1 < len(links) else None
    if manager.name in MANAGERS:
        return model, i + 1
    if nxt is not None and nxt.kind == "call" and _norm(nxt.name) in UNAMBIGUOUS:
        return model, i + 1
    if (nxt is not None and nxt.kind == "call" and _norm(nxt.name) in MANAGER_METHODS
            and base.value != "cls" and not manager.name.startswith("_")):
        return model, i + 1  # confirmed by the linker (rec.manager_unsure)
    return None, 0


def _view_root(w, links, frame, base):
    """``self.get_queryset()``, ``self.queryset``, ``self.model.objects`` in a class-based view."""
    first = links[0] if links else None
    if first is None:
        return None
    if first.kind == "call" and first.name == "get_queryset":
        if "get_queryset" in frame.cls.methods and frame.func_name != "get_queryset":
            return QS(None), 1  # judged where get_queryset is defined
        return _class_queryset(w, frame, first.node, inherited=True), 1
    if first.kind == "attr" and first.name == "queryset" and len(links) > 1:
        return _class_queryset(w, frame, first.node), 1
    if (first.kind == "attr" and first.name == "model" and len(links) > 2 and links[1].kind == "attr"
            and links[1].name in MANAGERS):
        return _class_queryset(w, frame, links[1].node), 2
    return None


def _class_queryset(w, frame, node, inherited: bool = False) -> QS:
    """The queryset a view class serves. ``inherited``: it comes from a base class's
    ``get_queryset`` (``super().get_queryset()``), which a base we cannot see may scope."""
    model = class_model(w, frame.cls) if frame.cls is not None else None
    rec = w.new_record("django", model, node, frame)
    if inherited and frame.cls is not None:
        from tenantlint.extract.python.django_views import base_overrides

        reason = base_overrides(w, frame.cls)
        if reason:
            rec.scoped_by("helper", reason)
    return QS(rec)


def class_model(w, info) -> str | None:
    """The model a view class works on: ``model = X`` or ``queryset = X.objects...``."""
    seen = 0
    while info is not None and seen < 10:
        seen += 1
        small = info.attrs.get("model")
        name = last_name(getattr(small, "value", None))
        if is_camel(name):
            return name
        small = info.attrs.get("queryset")
        value = getattr(small, "value", None)
        if value is not None:
            text = dotted(_innermost(value)) or ""
            parts = text.split(".")
            for i, part in enumerate(parts[:-1]):
                if is_camel(part) and parts[i + 1] in MANAGERS:
                    return part
        info = next((w.ctx.classes.get(b) for b in info.bases if b in w.ctx.classes), None)
    return None


def _innermost(expr):
    while isinstance(expr, cst.Call):
        expr = expr.func
        while isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Call):
            expr = expr.value
    return expr


def _shortcut(w, call: cst.Call, name: str, frame) -> QS:
    """``get_object_or_404(Model | queryset | related manager, pk=..., ...)``."""
    args = positional(call)
    target = args[0] if args else None
    rec = None
    if isinstance(target, cst.Name) and is_camel(target.value) and frame.lookup(target.value) is None:
        rec = w.new_record("django", target.value, call, frame)
    elif target is not None:
        value = w.visit(target, frame)
        rec = value.record if isinstance(value, QS) else None
        if rec is None:  # related manager or unknown: nothing to judge
            w.visit_args(call, frame, skip=target)
            return QS(None, terminal=True)
    if rec is None:
        w.visit_args(call, frame)
        return QS(None, terminal=True)
    rest = cst.Call(func=call.func, args=[a for a in call.args if a.value is not target])
    _filter(w, rec, rest, frame, get=name.endswith("get_object_or_404"))
    rec.touched = True
    rec.use("read")
    return QS(rec, terminal=True)


# -- what is applied to it ------------------------------------------------------------------

def _norm(name: str | None) -> str:
    if name and name in ASYNC:
        return name[1:]
    return name or ""


def apply(w, value: QS, links: list[Link], start: int, frame):
    rec = value.record
    created_here = rec is not None and rec.end is not None and rec.code_node is None
    terminal = value.terminal
    consumed = None
    i = start
    while i < len(links) and not terminal:
        link = links[i]
        if link.kind == "sub":
            w.visit_inner(link.node.slice, frame)
            if not any(isinstance(el.slice, cst.Slice) for el in link.node.slice):
                terminal = True
            consumed = link.node
            i += 1
            continue
        if link.kind != "call" or link.name is None:
            break
        name = _norm(link.name)
        call = link.node
        consumed = call
        i += 1
        if rec is None:  # a related manager / overridden get_queryset: just walk the arguments
            w.visit_args(call, frame)
            if name in TERMINAL_READS or name in ("update", "delete") or name in CREATES:
                terminal = True
            continue
        if name == "raw":
            if created_here:
                rec.discard = True
            if not w.raw_sink(call, "raw", frame):
                w.visit_args(call, frame)
            terminal = True
        elif name in FILTERS:
            _filter(w, rec, call, frame, get=name == "get")
            if name == "update_or_create":
                rec.use("write", "update")
            if name in TERMINAL_READS:
                rec.use("read")
                terminal = True
        elif name == "exclude":
            w.visit_args(call, frame, force=("join", "subquery of another queryset"))
            rec.lookups.append(["~exclude"])
        elif name == "extra":
            _extra(w, rec, call, frame)
        elif name in ("update", "delete"):
            w.visit_args(call, frame)
            rec.use("write", name)
            terminal = True
        elif name in CREATES:
            w.visit_args(call, frame)
            if created_here:
                rec.discard = True
            terminal = True
        elif name == "none":
            rec.scoped_by("direct", "none(): an empty queryset")
        elif name in SET_OPS:
            w.visit_args(call, frame)
        elif name in PASS:
            w.visit_args(call, frame, force=("join", "subquery of another queryset"))
        elif name in TERMINAL_READS:
            w.visit_args(call, frame)
            rec.use("read")
            if name == "in_bulk":
                rec.lookup = True
            if name == "exists" and _uniqueness_check(rec):
                rec.scoped_by("helper", "uniqueness check of an identifier: reveals no row")
            terminal = True
        else:
            scope = w.helper_scope(name, call)
            w.visit_args(call, frame)
            if scope is not None:
                rec.scoped_by("helper", scope)
    if rec is not None and consumed is not None:
        rec.touched = True
    if created_here:
        rec.end = consumed or rec.end
        rec.code_node = rec.end
    if i < len(links):
        w.rest(links, i, frame)
    return QS(rec, terminal=terminal) if (rec is not None or not terminal) else QS(None, terminal=True)


IDENTIFIER_FIELDS = {"code", "token", "secret", "slug", "identifier", "api_token", "key", "uuid", "nonce", "cart_id",
                     "hash", "reference", "short_code", "access_token", "invite_code", "serial", "secret_key",
                     "domain", "domainname", "hostname", "subdomain", "username"}


def _uniqueness_check(rec: Record) -> bool:
    """``while Voucher.objects.filter(code=code).exists():``: is a freshly generated code
    free? Every lookup is an equality on an identifier-like field."""
    paths = [p for clause in rec.lookups for p in clause if p != "~exclude"]
    if not paths:
        return False
    for path in paths:
        field = path.split("__")[0]
        if path.split("__")[-1] not in (field, "exact", "iexact") or field not in IDENTIFIER_FIELDS:
            return False
    return True


def _filter(w, rec: Record, call: cst.Call, frame, get: bool) -> None:
    w.forces.append(("join", "subquery of another queryset"))
    try:
        judge = Lookups(w, frame, next(iter(rec.entities.values()), {}).get("model"))
        clauses = judge.of_call(call)
    finally:
        w.forces.pop()
    rec.lookups.extend(texts(clauses))
    rec.parents.extend(p for p in judge.parents if p not in rec.parents)
    verdict = best(clauses)
    if verdict:
        rec.scoped_by(*verdict)
    if judge.pk:
        rec.lookup = True
        rec.kind = "lookup" if rec.kind == "select" else rec.kind


def _extra(w, rec: Record, call: cst.Call, frame) -> None:
    w.visit_args(call, frame)
    where = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == "where"), None)
    if not isinstance(where, (cst.List, cst.Tuple)):
        return
    for el in where.elements:
        text = string_value(el.value) or ""
        for col in w.ctx.config.tenant_columns:
            if re.search(_EXTRA_TENANT.format(col=re.escape(col)), text, re.I):
                rec.scoped_by("direct", f"extra(where=...) filters on {col}")
                rec.lookups.append([f"extra:{col}"])
                return
