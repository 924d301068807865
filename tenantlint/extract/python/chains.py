"""Method chains: ``Contact.objects.filter(...).values(...)`` as a base and a list of links.

Both ORMs are fluent APIs, so every analyser reasons about the same shape: what the chain
starts from (a model manager, a session, a variable, ``select(...)``) and which methods are
applied to it, in order.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst


@dataclass
class Link:
    kind: str  # "attr" (x.name), "call" (x.name(...) or x(...)), "sub" (x[...])
    name: str | None
    node: cst.BaseExpression  # the Attribute / Call / Subscript node ending at this link

    @property
    def call(self) -> cst.Call | None:
        return self.node if isinstance(self.node, cst.Call) else None


def decompose(expr: cst.BaseExpression) -> tuple[cst.BaseExpression, list[Link]]:
    """Split ``expr`` into its base and links, innermost first.

    A call of a plain name (``select(M)``, ``super()``, ``get_object_or_404(...)``) is a base:
    it starts a chain. ``x.m(...)`` is one "call" link named ``m``.
    """
    links: list[Link] = []
    node = expr
    while True:
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute):
                links.append(Link("call", func.attr.value, node))
                node = func.value
                continue
            if isinstance(func, cst.Name):
                break
            links.append(Link("call", None, node))
            node = func
        elif isinstance(node, cst.Attribute):
            links.append(Link("attr", node.attr.value, node))
            node = node.value
        elif isinstance(node, cst.Subscript):
            links.append(Link("sub", None, node))
            node = node.value
        else:
            break
    links.reverse()
    return node, links


def base_call_name(base: cst.BaseExpression) -> str | None:
    """``select`` for a chain based on ``select(...)``."""
    if isinstance(base, cst.Call) and isinstance(base.func, cst.Name):
        return base.func.value
    return None


NOT_MINE = object()  # a chain whose root belongs to another ORM (or to none)


def follow(root_of, apply, w, base, links: list, frame):
    """Run one ORM's ``apply`` over a chain whose root that ORM's ``root_of`` recognises."""
    root = root_of(w, base, links, frame)
    if root is None:
        return NOT_MINE
    value, start = root
    return apply(w, value, links, start, frame)
