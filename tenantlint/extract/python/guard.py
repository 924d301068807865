"""Refuse, before parsing, the few inputs libcst's parser cannot take.

libcst's native parser crashes the process (stack overflow) on brackets nested a few
thousand deep and takes time quadratic in the depth of very deep expressions (a
10,000-term ``a + a + ...`` takes minutes). CPython itself rejects more than 200 nested
brackets. Cheap byte-level signals decide whether the C ``ast`` parser should look first;
ordinary files never pay for it.
"""

from __future__ import annotations

import ast
import re

from tenantlint.extract import pyast

MAX_BRACKET_DEPTH = 200  # CPython's own limit
MAX_TREE_DEPTH = 1500  # beyond this, libcst (and a recursive walk) become unreasonable
LONG_LINE = 4000
_KEEP = bytes(range(256)).translate(None, b"()[]{}")
_CHAINED = re.compile(rb"(?:[+|&]|\band|\bor)[ \t]*\\?\r?\n")


def refuse(source: bytes) -> tuple[int, str] | None:
    """(line, reason) when the file should not be handed to libcst, else None."""
    if not _suspicious(source):
        return None
    try:
        tree = pyast.parse(source)
    except SyntaxError as exc:
        return exc.lineno or 0, f"Python does not parse: {exc.msg}"
    except (RecursionError, MemoryError):
        return 0, "nested too deeply to parse"
    except (ValueError, UnicodeError, LookupError) as exc:
        return 0, f"Python does not parse: {exc}"
    depth, line = _depth(tree)
    if depth > MAX_TREE_DEPTH:
        return line, f"an expression is nested {depth} levels deep: too deep to analyse"
    return None


def _suspicious(source: bytes) -> bool:
    brackets = source.translate(None, _KEEP)
    if len(brackets) > MAX_BRACKET_DEPTH:
        depth = peak = 0
        for byte in brackets:
            depth += 1 if byte in b"([{" else -1
            if depth > peak:
                peak = depth
                if peak > MAX_BRACKET_DEPTH:
                    return True
    if len(source) > LONG_LINE and max(map(len, source.splitlines()), default=0) > LONG_LINE:
        return True
    return len(_CHAINED.findall(source)) > MAX_TREE_DEPTH // 2


def _depth(tree: ast.AST) -> tuple[int, int]:
    """Deepest nesting of the tree, without recursion, and a line where it happens."""
    deepest, where = 0, 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest, where = depth, getattr(node, "lineno", where)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest, where
