"""Ownership checked after a fetch, the other common way correct code scopes a lookup.

    obj = session.get(Item, item_id)
    if obj is None or obj.org_id != current_user.org_id:
        raise NotFound()

    contact = Contact.objects.get(pk=pk)
    self.check_object_permissions(request, contact)

A comparison anywhere in the same function between the fetched object's tenant or owner
attribute and something else, a membership test of the object, or a permission call
handed the object scopes the record that fetched it ("helper").
"""

from __future__ import annotations

import libcst as cst

from tenantlint.extract.python.calls import OWNER_ATTRS
from tenantlint.extract.python.records import QS
from tenantlint.extract.python.tree import is_literal

PERMISSION_WORDS = ("permission", "perm", "authoriz", "authoris", "access", "owner", "can_", "allowed",
                    "ensure_", "check_", "assert_", "verify_", "require_", "belongs")


def comparison(w, expr: cst.Comparison, frame) -> None:
    sides = [expr.left, *(t.comparator for t in expr.comparisons)]
    membership = any(isinstance(t.operator, (cst.In, cst.NotIn)) for t in expr.comparisons)
    roots = [_root(side) for side in sides]
    for side, root in zip(sides, roots):
        # Something else must be on the other side: not a constant, not the same object
        # (``assert obj.event.organizer_id == obj.organizer.pk`` checks consistency only).
        others = [r for s, r in zip(sides, roots) if s is not side and r != root and not is_literal(s)]
        if not others:
            continue
        if membership and isinstance(side, cst.Name):
            rec = _record_of(side, frame)
            if rec is not None:
                rec.scoped_by("helper", f"membership of {side.value} is checked after the fetch")
            continue
        found = _fetched_attribute(w, side, frame)
        if found is not None:
            rec, name, attr = found
            rec.scoped_by("helper", f"{name}.{attr} is checked after the fetch")


def _root(expr) -> str | None:
    while isinstance(expr, (cst.Attribute, cst.Subscript, cst.Call)):
        expr = expr.func if isinstance(expr, cst.Call) else expr.value
    return expr.value if isinstance(expr, cst.Name) else None


def call(w, node: cst.Call, name: str | None, frame) -> None:
    """``check_object_permissions(request, obj)``, ``user.has_perm("x", obj)``."""
    if not name or not any(word in name.lower() for word in PERMISSION_WORDS):
        return
    for a in node.args:
        if isinstance(a.value, cst.Name):
            rec = _record_of(a.value, frame)
            if rec is not None:
                rec.scoped_by("helper", f"{name}() checks {a.value.value} after the fetch")


def _record_of(name: cst.Name, frame):
    bound = frame.lookup(name.value)
    return bound.record if isinstance(bound, QS) and bound.record is not None else None


def _fetched_attribute(w, side, frame):
    """(record, variable, attribute) for ``obj.org_id`` / ``obj.organization.id`` where
    ``obj`` holds what a tracked query fetched and the attribute is its tenant or owner."""
    node = side
    while isinstance(node, cst.Attribute) and isinstance(node.value, cst.Attribute):
        node = node.value
    if not (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)):
        return None
    rec = _record_of(node.value, frame)
    if rec is None:
        return None
    attr = node.attr.value
    config = w.ctx.config
    if config.is_tenant_column(attr) or config.is_tenant_column(attr + "_id") or attr in OWNER_ATTRS:
        return rec, node.value.value, attr
    return None
