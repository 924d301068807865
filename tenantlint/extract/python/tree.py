"""Small, fast helpers over libcst nodes.

libcst's visitor machinery rebuilds every node it passes (measured: half the cost of a
parse), so the extractor walks the tree itself. ``children`` yields the syntactic children
of a node, skipping whitespace and punctuation fields, from a per-type field list.
"""

from __future__ import annotations

import dataclasses
import re

import libcst as cst

_TRIVIA_FIELDS = {
    "lpar", "rpar", "comma", "semicolon", "leading_lines", "lines_after_decorators", "dot",
    "equal", "colon", "first_colon", "second_colon", "lbracket", "rbracket", "lbrace", "rbrace",
    "header", "footer", "asynchronous", "star", "newline", "trailing_whitespace", "indent",
    "conversion", "start", "end", "prefix", "quote", "value_quote", "whitespace", "operator",
    "arrow", "walrus", "import_alias", "relative",
}
_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields_of(cls: type) -> tuple[str, ...]:
    names = tuple(
        f.name for f in dataclasses.fields(cls)
        if f.name not in _TRIVIA_FIELDS and not f.name.startswith("whitespace")
    )
    _FIELDS[cls] = names
    return names


_IS_NODE: dict[type, bool] = {}


def _is_node(kind: type) -> bool:
    """``isinstance(x, CSTNode)`` by type, cached: CSTNode is an ABC, whose checks are slow."""
    found = _IS_NODE.get(kind)
    if found is None:
        found = _IS_NODE[kind] = issubclass(kind, cst.CSTNode)
    return found


_CATEGORY: dict[type, str] = {}


def category(kind: type) -> str:
    """"suite", "stmt" (compound or simple line), "small", "expr" or "other", cached by type."""
    found = _CATEGORY.get(kind)
    if found is None:
        if issubclass(kind, cst.BaseSuite):
            found = "suite"
        elif issubclass(kind, (cst.BaseCompoundStatement, cst.SimpleStatementLine)):
            found = "stmt"
        elif issubclass(kind, cst.BaseSmallStatement):
            found = "small"
        elif issubclass(kind, cst.BaseExpression):
            found = "expr"
        else:
            found = "other"
        _CATEGORY[kind] = found
    return found


def children(node: cst.CSTNode):
    """Syntactic children of ``node`` in source order (no whitespace/punctuation)."""
    names = _FIELDS.get(type(node)) or _fields_of(type(node))
    for name in names:
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            for item in value:
                if _is_node(type(item)):
                    yield item
        elif _is_node(kind):
            yield value


def descendants(node: cst.CSTNode, kind: type | tuple[type, ...]):
    """``node`` and the nodes under it that are instances of ``kind``, in source order
    (what ``libcst.matchers.findall`` does, without importing the matchers)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, kind):
            yield current
        stack.extend(reversed(list(children(current))))


def dotted(node: cst.CSTNode | None) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def last_name(node: cst.CSTNode | None) -> str | None:
    """The last segment of a dotted name (``models.CharField`` -> ``CharField``)."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def callee(call: cst.Call) -> str | None:
    """Last segment of a call's function name, e.g. ``execute`` for ``cur.execute(...)``."""
    return last_name(call.func)


def positional(call: cst.Call) -> list[cst.BaseExpression]:
    return [a.value for a in call.args if a.keyword is None and not a.star]


def keyword(call: cst.Call, *names: str) -> cst.BaseExpression | None:
    for a in call.args:
        if a.keyword is not None and a.keyword.value in names:
            return a.value
    return None


def arg(call: cst.Call, index: int, *names: str) -> cst.BaseExpression | None:
    """The argument at ``index`` or passed by one of ``names``."""
    pos = positional(call)
    if index < len(pos):
        return pos[index]
    return keyword(call, *names) if names else None


def string_value(node: cst.CSTNode | None) -> str | None:
    """The value of a plain (non f-) string literal or implicit concatenation of them."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        try:
            value = node.evaluated_value
        except Exception:  # noqa: BLE001 - odd escapes: treat as not a literal
            return None
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return value
    return None


def is_camel(name: str | None) -> bool:
    """A class-like name: ``Contact``, ``UserProfile``; not ``SQL``, ``DB`` or ``_x``."""
    return bool(name) and name[0].isupper() and not name.isupper() and name.isidentifier()


_SPACE_AROUND = re.compile(r"\s*([()\[\]{}.,=:])\s*")


def normalise_code(text: str) -> str:
    """Whitespace-insensitive source text, so reformatting keeps fingerprints stable."""
    text = " ".join(text.split())
    text = _SPACE_AROUND.sub(r"\1", text)
    return text.replace(",)", ")").replace(",]", "]")


def is_name(node: cst.CSTNode | None, value: str) -> bool:
    """``node`` is the bare name ``value``. (Plain checks, not libcst.matchers: importing the
    matchers costs ~0.3 s per process, most of a pre-commit run's budget.)"""
    return isinstance(node, cst.Name) and node.value == value


def is_none(node: cst.CSTNode | None) -> bool:
    return is_name(node, "None")


def is_literal(node: cst.CSTNode | None) -> bool:
    """A constant (number, string, True/False/None): never a tenant value."""
    return isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString)) or (
        isinstance(node, cst.Name) and node.value in ("None", "True", "False")
    ) or (isinstance(node, cst.UnaryOperation) and isinstance(node.expression, (cst.Integer, cst.Float)))


def is_secret_field(name: str) -> bool:
    """A column holding a secret the caller must present (``token``, ``api_key``,
    ``client_secret``): matching on it selects the caller's own row, not another tenant's."""
    low = name.lower()
    return (low in ("token", "secret", "api_key", "apikey", "nonce", "key_hash", "token_hash", "secret_hash",
                    "access_key", "activation_key", "session_key", "otp_secret", "state_digest", "nonce_hash")
            or low.endswith(("_token", "_secret", "_token_hash", "_key_hash", "_secret_hash", "_api_key",
                             "_nonce", "_nonce_hash", "_token_digest", "_secret_digest", "_state_digest"))
            or low.startswith(("token_", "secret_")))
