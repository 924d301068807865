"""Build the SQL text a Python expression evaluates to, as far as it can be known statically.

Literals, implicit and ``+`` concatenation, f-strings, ``%`` and ``.format`` are followed;
names resolve to module constants, class attributes and local variables through a
resolver supplied by the walker. A part that cannot be known is a *hole*: rendered as a
``%s`` placeholder where a value goes, as an identifier where a table or column name goes,
and as an opaque fragment (the query is marked dynamic) where a whole predicate or clause
goes, since such a fragment may be the tenant filter itself.
"""

from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass, field

import libcst as cst

from tenantlint.extract.python.tree import callee, positional, string_value


@dataclass
class Hole:
    text: str  # source of the unknown expression, for reasons


@dataclass
class Ref:
    qualified: str  # pkg.module.NAME of a constant imported from another module


Part = str | Hole | Ref
MAX_DEPTH = 12
_TRANSPARENT_FUNCS = {"dedent", "cleandoc", "SQL", "str", "format_sql", "squish"}
_TRANSPARENT_METHODS = {"strip", "lstrip", "rstrip", "upper", "lower", "rstrip", "expandtabs"}


class Resolver:
    """What the builder may ask the walker: the expressions a name stands for."""

    def name(self, name: str, node: cst.Name) -> list[tuple[str, cst.BaseExpression]] | Ref | None:
        return None

    def attribute(self, node: cst.Attribute) -> list[tuple[str, cst.BaseExpression]] | Ref | None:
        return None

    def source(self, node: cst.CSTNode) -> str:
        return ""


def build(expr: cst.BaseExpression, resolver: Resolver, depth: int = 0) -> list[Part] | None:
    """Parts of the string ``expr`` evaluates to; None if it is not string-like at all."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(expr, cst.SimpleString):
        value = string_value(expr)
        return None if value is None else [value]
    if isinstance(expr, cst.ConcatenatedString):
        left = build(expr.left, resolver, depth + 1)
        right = build(expr.right, resolver, depth + 1)
        return None if left is None or right is None else left + right
    if isinstance(expr, cst.FormattedString):
        return _fstring(expr, resolver, depth)
    if isinstance(expr, cst.BinaryOperation):
        if isinstance(expr.operator, cst.Add):
            left = build(expr.left, resolver, depth + 1)
            right = build(expr.right, resolver, depth + 1)
            if left is None and right is None:
                return None
            return (left or [Hole(resolver.source(expr.left))]) + (right or [Hole(resolver.source(expr.right))])
        if isinstance(expr.operator, cst.Modulo):
            left = build(expr.left, resolver, depth + 1)
            if left is None or len(left) != 1 or not isinstance(left[0], str):
                return None
            return _percent(left[0], expr.right, resolver, depth)
        return None
    if isinstance(expr, cst.Call):
        return _call(expr, resolver, depth)
    if isinstance(expr, cst.Name):
        return _resolved(resolver.name(expr.value, expr), resolver, depth)
    if isinstance(expr, cst.Attribute):
        return _resolved(resolver.attribute(expr), resolver, depth)
    if isinstance(expr, cst.IfExp):
        if build(expr.body, resolver, depth + 1) is None and build(expr.orelse, resolver, depth + 1) is None:
            return None
        return [Hole(resolver.source(expr))]
    return None


def _resolved(found, resolver: Resolver, depth: int) -> list[Part] | None:
    if found is None:
        return None
    if isinstance(found, Ref):
        return [found]
    out: list[Part] = []
    for op, value in found:
        if op not in ("=", "AddAssign"):
            continue
        parts = build(value, resolver, depth + 1)
        if parts is None:
            if op == "=":
                return None
            parts = [Hole(resolver.source(value))]
        out.extend(parts)
    return out


def _fstring(expr: cst.FormattedString, resolver: Resolver, depth: int) -> list[Part]:
    quote = expr.end
    prefix = expr.start[: len(expr.start) - len(quote)].lower().replace("f", "")
    out: list[Part] = []
    for part in expr.parts:
        if isinstance(part, cst.FormattedStringText):
            out.append(_unescape(part.value, prefix, quote))
        else:
            inner = build(part.expression, resolver, depth + 1) if part.format_spec is None else None
            if inner is not None and all(isinstance(p, str) for p in inner):
                out.extend(inner)
            else:
                out.append(Hole(resolver.source(part.expression)))
    return out


def _unescape(text: str, prefix: str, quote: str) -> str:
    if "\\" in text and "r" not in prefix:
        try:
            text = ast.literal_eval(f"{prefix}{quote}{text}{quote}")
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
        except (SyntaxError, ValueError):
            pass
    return text.replace("{{", "{").replace("}}", "}")


_PERCENT = re.compile(r"%(?:\((\w+)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])")


def _percent(fmt: str, values: cst.BaseExpression, resolver: Resolver, depth: int) -> list[Part]:
    items = values.elements if isinstance(values, cst.Tuple) else None
    mapping = {}
    if isinstance(values, cst.Dict):
        for el in values.elements:
            key = string_value(getattr(el, "key", None))
            if key is not None:
                mapping[key] = el.value
    out: list[Part] = []
    pos, index = 0, 0
    for match in _PERCENT.finditer(fmt):
        out.append(fmt[pos:match.start()])
        pos = match.end()
        if match.group(2) == "%":
            out.append("%")
            continue
        if match.group(1) is not None:
            value = mapping.get(match.group(1))
        elif items is not None:
            value = items[index].value if index < len(items) else None
        else:
            value = values if index == 0 else None
        index += 1
        out.extend(_inline(value, resolver, depth, match.group(2) == "s"))
    out.append(fmt[pos:])
    return out


def _inline(value, resolver: Resolver, depth: int, as_text: bool = True) -> list[Part]:
    """A formatted value: its text when it is a known string constant, else a hole."""
    if value is None:
        return [Hole("?")]
    if as_text and not isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
        parts = build(value, resolver, depth + 1)
        if parts is not None and all(isinstance(p, str) for p in parts):
            return parts
    return [Hole(resolver.source(value))]


def _call(expr: cst.Call, resolver: Resolver, depth: int) -> list[Part] | None:
    name = callee(expr)
    func = expr.func
    if isinstance(func, cst.Attribute):
        receiver = func.value
        if name == "format":
            base = build(receiver, resolver, depth + 1)
            if base is None or len(base) != 1 or not isinstance(base[0], str):
                return None
            return _format(base[0], expr, resolver, depth)
        if name == "join":
            sep = build(receiver, resolver, depth + 1)
            items = positional(expr)
            if sep is None or len(sep) != 1 or not isinstance(sep[0], str) or not items:
                return None
            seq = items[0]
            if isinstance(seq, (cst.List, cst.Tuple)):
                out: list[Part] = []
                for i, el in enumerate(seq.elements):
                    if i:
                        out.append(sep[0])
                    out.extend(build(el.value, resolver, depth + 1) or [Hole(resolver.source(el.value))])
                return out
            return [Hole(resolver.source(expr))]
        if name in _TRANSPARENT_METHODS:
            return build(receiver, resolver, depth + 1)
    if name in _TRANSPARENT_FUNCS and expr.args:
        return build(expr.args[0].value, resolver, depth + 1)
    return None


def _format(fmt: str, call: cst.Call, resolver: Resolver, depth: int) -> list[Part]:
    args = positional(call)
    kwargs = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    out: list[Part] = []
    auto = 0
    try:
        pieces = list(string.Formatter().parse(fmt))
    except ValueError:
        return [Hole(resolver.source(call))]
    for literal, field_name, spec, conversion in pieces:
        out.append(literal)
        if field_name is None:
            continue
        key = field_name.split(".")[0].split("[")[0]
        if key == "":
            value = args[auto] if auto < len(args) else None
            auto += 1
        elif key.isdigit():
            value = args[int(key)] if int(key) < len(args) else None
        else:
            value = kwargs.get(key)
        if value is not None and key == field_name and not spec:
            ident = _psycopg_identifier(value)
            out.extend([ident] if ident is not None else _inline(value, resolver, depth))
        else:
            out.append(Hole(field_name))
    return out


def _psycopg_identifier(value) -> str | None:
    """``sql.Identifier("contacts")`` in a psycopg ``sql.SQL(...).format(...)``."""
    if isinstance(value, cst.Call) and callee(value) == "Identifier":
        names = [string_value(a) for a in positional(value)]
        if names and all(names):
            return ".".join(names)
    return None


# -- rendering ---------------------------------------------------------------------------

_TABLE_KW = {"FROM", "JOIN", "INTO", "UPDATE", "TABLE", "USING"}
_VALUE_KW = {"IN", "LIKE", "ILIKE", "IS", "BETWEEN", "LIMIT", "OFFSET", "VALUES", "THEN", "ELSE", "WHEN", "ANY",
             "ALL", "SELECT", "BY", "DISTINCT", "INTERVAL", "RETURNING", "AS", "TOP"}
_PRED_KW = {"WHERE", "AND", "OR", "ON", "HAVING", "NOT"}
_COMPARISON = re.compile(r"\s*(=|<|>|!|\bI?LIKE\b|\bIN\b|\bIS\b|\bBETWEEN\b|\bNOT\b|@>|<@|~|\|\|)", re.I)
_LAST_WORD = re.compile(r"(\w+)\W*$")
IDENT = "tl_dynamic"


@dataclass
class Rendered:
    sql: str
    dynamic: list[str] = field(default_factory=list)  # opaque fragments that may filter
    holes: int = 0


def render(parts: list[Part]) -> Rendered:
    """SQL text of ``parts`` with each hole replaced by what fits where it stands."""
    out = ""
    dynamic: list[str] = []
    holes = 0
    for i, part in enumerate(parts):
        if isinstance(part, str):
            out += part
            continue
        holes += 1
        text = part.text if isinstance(part, Hole) else part.qualified
        nxt = next((p for p in parts[i + 1:] if isinstance(p, str)), "")
        sub, opaque = _substitute(out, nxt)
        if opaque:
            dynamic.append(text)
        out += sub
    return Rendered(out, dynamic, holes)


def _substitute(before: str, after: str) -> tuple[str, bool]:
    if before.count("'") % 2 == 1:
        return "x", False  # inside a quoted literal
    stripped = before.rstrip()
    if not stripped:
        return ("SELECT *", False) if after.lstrip().upper().startswith("FROM") else ("", True)
    last_char = stripped[-1]
    word_match = _LAST_WORD.search(stripped)
    word = word_match.group(1).upper() if word_match and word_match.end() == len(stripped) else ""
    if last_char == ".":
        return IDENT, False
    if word in _TABLE_KW:
        return IDENT, False
    if word == "SET":
        return f"{IDENT} = %s", False
    if last_char == "(":
        inner = _LAST_WORD.search(stripped[:-1].rstrip())
        before_paren = inner.group(1).upper() if inner else ""
        if before_paren in _PRED_KW or stripped[:-1].rstrip().endswith("("):
            return "%s", True
        return "%s", False
    if last_char in "=<>,+-*/|" or word in _VALUE_KW:
        return "%s", False
    if word in _PRED_KW:
        if _COMPARISON.match(after):
            return IDENT, False
        return "%s", True
    return "", True


# -- is it SQL? ----------------------------------------------------------------------------

_LEADING_NOISE = re.compile(r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/|\()*", re.S)
_STATEMENT = re.compile(r"(select|with|insert|update|delete|merge|truncate|copy|replace|upsert)\b", re.I)
# Row-level security, the tenant setting and the search_path (tenantlint.extract.sql.rls): SQL
# too, though not DML.
_SECURITY = re.compile(
    r"(alter\s+table\s.*\brow\s+level\s+security\b|(create|alter|drop)\s+policy\s"
    r"|(create|alter)\s+(role|user)\s.*\b(bypassrls|superuser)\b"
    r"|set\s+(local\s+|session\s+)?(\w+\.\w+|search_path\b)|select\s+set_config\s*\()", re.I | re.S)
_CONFIRM = {
    "select": re.compile(r"\bfrom\b", re.I), "with": re.compile(r"\b(select|insert|update|delete)\b", re.I),
    "insert": re.compile(r"\binto\b", re.I), "update": re.compile(r"\bset\b", re.I),
    "delete": re.compile(r"\bfrom\b", re.I), "replace": re.compile(r"\binto\b", re.I),
    "upsert": re.compile(r"\binto\b", re.I),
}


def looks_like_sql(text: str, strict: bool = False, dialect: str | None = None) -> bool:
    """A DML statement (first keyword), possibly after other statements (``SET ...;``).

    ``strict`` (module constants, where prose is common) also wants the clause that
    follows the keyword (``FROM``, ``SET``, ``INTO``) and, given a dialect, a statement
    that parses, so "Select the notes you want from the list." is not SQL.
    """
    if strict and dialect and _keyword_match(text, True):
        return _parses(text, dialect)
    return _keyword_match(text, strict)


def _parses(text: str, dialect: str) -> bool:
    try:
        from tenantlint.extract.sql.statements import statements
    except ImportError:  # pragma: no cover - the SQL engine ships with this package
        return True
    try:
        return any(stmt.expression is not None for stmt in statements(text, dialect))
    except Exception:  # noqa: BLE001 - a parser crash means "not SQL we can use"
        return False


def _keyword_match(text: str, strict: bool) -> bool:
    for chunk in text.split(";"):
        chunk = _LEADING_NOISE.sub("", chunk, count=1)
        if _SECURITY.match(chunk):
            return True
        match = _STATEMENT.match(chunk)
        if not match:
            continue
        if not strict:
            return True
        confirm = _CONFIRM.get(match.group(1).lower())
        if confirm is None or confirm.search(chunk):
            if match.group(1).lower() in ("select",) and not re.match(r"select\s+[\w*(\"`'.]", chunk, re.I):
                continue
            return True
    return False

