"""Line/column of the few nodes that become facts.

libcst nodes carry no positions. Measured on pretix (549 files, CPU seconds): libcst parse
16.8, ``MetadataWrapper.resolve(PositionProvider)`` ~1.7x a parse (a CodeRange for every
node), plain code generation of the whole module 3.0, CPython's ``ast.parse`` 0.96.

So: CPython's ``ast`` (C, 6 % of a libcst parse) gives the first line of every statement;
for each node we need, the walk knows the chain of statements that holds it, the ast
statement at the same place gives where the innermost one starts, and only that statement
is generated again, with a state that tracks line/column cheaply and records only the
nodes asked for. Whenever the two trees do not line up (or ``ast`` rejects syntax libcst
accepts), the whole module is generated instead (:func:`positions`), which is always right.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst
from libcst._nodes.internal import CodegenState

from tenantlint.extract import pyast


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
    """Map id(node) -> (line, column, end_line, end_column), 1-based lines, 0-based columns,
    by generating the whole module (the reference; :func:`locate` is the fast path).

    Ranges include a node's own parentheses; callers pass the innermost node whose start
    they want (for a statement, its first small statement, which excludes leading comments).
    """
    wanted = {id(n): None for n in nodes}
    if not wanted:
        return {}
    return _generate(module, module, 1, [], wanted)


def _generate(module, node, line: int, indent: list, wanted: dict, **kwargs) -> dict:
    state = _PositionState(default_indent=module.default_indent, default_newline=module.default_newline)
    state.wanted, state.line, state.indent_tokens = wanted, line, list(indent)
    try:
        node._codegen(state, **kwargs)
    except _Done:
        pass
    return state.found


def locate(module: cst.Module, source: bytes, requests: list[tuple[cst.CSTNode, tuple]]) -> dict:
    """Positions of ``requests``: (node, statements from the top level down to the innermost
    one that holds the node). Same result as :func:`positions`, at a fraction of the cost."""
    if not requests:
        return {}
    try:
        tree = pyast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return positions(module, [node for node, _ in requests])
    walker = _Anchors(module, tree)
    groups: dict[int, tuple] = {}
    out: dict = {}
    rest = []
    for node, path in requests:
        anchor = walker.anchor(path) if path else None
        if anchor is None:
            rest.append(node)
            continue
        stmt, line, indent, elif_, ast_node = anchor
        if node is getattr(stmt, "name", None) and isinstance(stmt, (cst.ClassDef, cst.FunctionDef)):
            out[id(node)] = _name_position(stmt, ast_node, node)
            continue
        group = groups.setdefault(id(stmt), (stmt, line, indent, elif_, {}))
        group[4][id(node)] = None
    for stmt, line, indent, elif_, wanted in groups.values():
        found = _generate(module, stmt, line, indent, wanted, **({"is_elif": True} if elif_ else {}))
        out.update(found)
        rest.extend(n for n, _ in requests if id(n) in wanted and id(n) not in found)
    if rest:
        out.update(positions(module, rest))
    return out


def _name_position(stmt, ast_node, name) -> tuple[int, int, int, int]:
    """``class Name`` / ``def name``: straight from the ast statement, no generation."""
    line = ast_node.lineno
    col = ast_node.col_offset
    if isinstance(stmt, cst.FunctionDef):
        if stmt.asynchronous is not None:
            col += len("async") + len(stmt.asynchronous.whitespace_after.value)
        col += len("def") + len(stmt.whitespace_after_def.value)
    else:
        col += len("class") + len(stmt.whitespace_after_class.value)
    return line, col, line, col + len(name.value)


_KINDS = {
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef), cst.ClassDef: (ast.ClassDef,), cst.If: (ast.If,),
    cst.For: (ast.For, ast.AsyncFor), cst.While: (ast.While,), cst.With: (ast.With, ast.AsyncWith),
    cst.Try: (ast.Try,), cst.TryStar: (getattr(ast, "TryStar", ast.Try),), cst.Match: (getattr(ast, "Match", ast.If),),
}
_COMPOUND_AST = tuple(t for kinds in _KINDS.values() for t in kinds)


class _Anchors:
    """Walks a libcst statement chain and the ast in step, to where the innermost starts."""

    def __init__(self, module: cst.Module, tree: ast.Module):
        self.module, self.tree = module, tree
        self._offsets: dict[int, dict[int, int]] = {}

    def _offset(self, body) -> dict[int, int]:
        """id(statement) -> index of its first ast statement in the same body."""
        if len(body) == 1:  # also the made-up body of an ``elif``: never cached by id
            return {id(body[0]): 0}
        key = id(body)
        found = self._offsets.get(key)
        if found is None:
            found, n = {}, 0
            for stmt in body:
                found[id(stmt)] = n
                n += len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
            self._offsets[key] = found
        return found

    def anchor(self, path: tuple):
        body, ast_body, indent, elif_ = self.module.body, self.tree.body, [], False
        for depth, stmt in enumerate(path):
            index = self._offset(body).get(id(stmt))
            if index is None or index >= len(ast_body):
                return None
            node = ast_body[index]
            if not _same_kind(stmt, node):
                return None
            if depth == len(path) - 1:
                first = node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno
                return stmt, first - len(getattr(stmt, "leading_lines", ())), indent, elif_, node
            inner = self._descend(stmt, node, path[depth + 1])
            if inner is None:
                return None
            body, ast_body, block, elif_ = inner
            if block is not None:
                indent = [*indent, block.indent if block.indent is not None else self.module.default_indent]

    @staticmethod
    def _descend(stmt, node, child):
        """(libcst body, ast body, IndentedBlock or None, is_elif) of ``stmt`` holding ``child``."""
        pairs = [(stmt.body, node.body)]
        if isinstance(stmt, (cst.Try, cst.TryStar)):
            pairs += list(zip((h.body for h in stmt.handlers), (h.body for h in node.handlers)))
            if stmt.finalbody is not None:
                pairs.append((stmt.finalbody.body, node.finalbody))
        if isinstance(stmt, cst.Match):
            pairs = list(zip((c.body for c in stmt.cases), (c.body for c in node.cases)))
        orelse = getattr(stmt, "orelse", None)
        if isinstance(orelse, cst.If):
            if orelse is child and len(node.orelse) == 1:
                return (orelse,), node.orelse, None, True
        elif isinstance(orelse, cst.Else):
            pairs.append((orelse.body, node.orelse))
        for block, ast_body in pairs:
            if isinstance(block, cst.IndentedBlock) and any(s is child for s in block.body):
                return block.body, ast_body, block, False
        return None


def _same_kind(stmt, node) -> bool:
    kinds = _KINDS.get(type(stmt))
    if kinds is not None:
        return isinstance(node, kinds)
    return isinstance(stmt, cst.SimpleStatementLine) and not isinstance(node, _COMPOUND_AST)
