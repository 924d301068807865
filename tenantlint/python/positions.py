"""Line/column of the few nodes that become facts.

libcst nodes carry no positions. ``MetadataWrapper.resolve(PositionProvider)`` computes a
CodeRange for *every* node (measured: ~1.7x the parse itself on a 11k-line file), while
we need a handful. So we run the module's own code generator once with a state that
tracks line/column cheaply (``str.count``) and records ranges only for the nodes asked
for, and stops as soon as the last of them has been generated. Cost: about one plain
``module.code`` (~0.2x a parse), and only for files that produced facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst._nodes.internal import CodegenState


class _Done(Exception):
    """Raised to stop code generation once every wanted node has been positioned."""


@dataclass(frozen=False)
class _PositionState(CodegenState):
    wanted: dict = field(default_factory=dict)  # id(node) -> None
    found: dict = field(default_factory=dict)  # id(node) -> (line, col, end_line, end_col)
    line: int = 1
    column: int = 0
    stack: list = field(default_factory=list)

    def add_indent_tokens(self) -> None:
        for tok in self.indent_tokens:
            self.column += len(tok)

    def add_token(self, value: str) -> None:
        n = value.count("\n")
        if n:
            self.line += n
            self.column = len(value) - value.rfind("\n") - 1
        elif "\r" in value:  # old Mac newlines: rare, handled exactly
            self.line += value.count("\r")
            self.column = len(value) - value.rfind("\r") - 1
        else:
            self.column += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.wanted:
            self.stack.append((id(node), self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        key = id(node)
        if key in self.wanted and self.stack and self.stack[-1][0] == key:
            _, line, col = self.stack.pop()
            self.found[key] = (line, col, self.line, self.column)
            if len(self.found) == len(self.wanted):
                raise _Done


def positions(module: cst.Module, nodes) -> dict[int, tuple[int, int, int, int]]:
    """Map id(node) -> (line, column, end_line, end_column), 1-based lines, 0-based columns.

    Ranges include a node's own parentheses; callers pass the innermost node whose start
    they want (for a statement, its first small statement, which excludes leading comments).
    """
    wanted = {id(n): None for n in nodes}
    if not wanted:
        return {}
    state = _PositionState(default_indent=module.default_indent, default_newline=module.default_newline)
    state.wanted = wanted
    try:
        module._codegen(state)
    except _Done:
        pass
    return state.found
