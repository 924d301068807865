"""The cheap position pass agrees with libcst's PositionProvider on the nodes it is asked for."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from tenantlint.extract.python.positions import positions

SOURCE = '''\
"""doc"""
import os

# a comment
x = (
    1 +
    2
)


class A:
    # EXPECT something
    def f(self, y):
        return Contact.objects.filter(
            a=1,
        ).values("x")[0]  \\
            if y else None


s = """multi
line""" ; t = f"{x}\\n"
\r
z = {"k": [1, 2,
           3]}
'''


def _all_nodes(module):
    out = []

    class V(cst.CSTVisitor):
        def on_visit(self, node):
            out.append(node)
            return True

    module.visit(V())
    return out


def test_positions_match_position_provider_on_every_node():
    module = cst.parse_module(SOURCE)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    expected = wrapper.resolve(PositionProvider)
    nodes = [n for n in _all_nodes(module) if not isinstance(n, cst.Module)]
    got = positions(module, nodes)
    checked = 0
    for node in nodes:
        if not isinstance(node, (cst.Name, cst.Call, cst.Attribute, cst.SimpleString, cst.Assign,
                                 cst.Integer, cst.Return, cst.FormattedString)):
            continue
        want = expected[node]
        line, col, _end_line, _end_col = got[id(node)]
        assert (line, col) == (want.start.line, want.start.column), cst.Module([]).code_for_node(node)
        checked += 1
    assert checked > 30


def test_stops_early_and_ignores_unknown_nodes():
    module = cst.parse_module("a = 1\nb = 2\n")
    first = module.body[0].body[0]
    assert positions(module, [first]) == {id(first): (1, 0, 1, 5)}
    assert positions(module, []) == {}
