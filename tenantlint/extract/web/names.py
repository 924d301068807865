"""What one module calls things: dotted names of expressions, imports, module-level bindings.

Route facts refer to handlers in other files (``path("x/", views.export)``), so every name
is written fully qualified through the file's imports; the linker matches it against the
handlers' own qualified names. Function names follow the query facts' convention
(``crm.views.ContactViewSet.export``) so that queries join their handler by name.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field


def module_name(path: str) -> str:
    """``crm/views.py`` -> ``crm.views``; ``crm/__init__.py`` -> ``crm`` (as the query facts)."""
    mod = path[:-3] if path.endswith(".py") else path
    mod = mod.replace("\\", "/").removesuffix("/__init__")
    return mod.strip("/").replace("/", ".")


def dotted(node: ast.AST | None) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def callee(node: ast.AST | None) -> str | None:
    """Dotted name of what is called (``csv.writer`` for ``csv.writer(f)``), else None."""
    return dotted(node.func) if isinstance(node, ast.Call) else None


def last(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1]


def string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f"/api/{version}/export": keep the literal parts
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def strings(node: ast.AST | None) -> list[str] | None:
    """``["GET", "POST"]`` -> the strings; None when it is not a literal list of strings."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        out = [string(el) for el in node.elts]
        return [s for s in out if s is not None] if all(s is not None for s in out) else None
    value = string(node)
    return [value] if value is not None else None


def keyword(call: ast.Call, *names: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg in names), None)


def arg(call: ast.Call, index: int, *names: str) -> ast.AST | None:
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    if index < len(positional):
        return positional[index]
    return keyword(call, *names) if names else None


def elements(node: ast.AST | None) -> list[ast.AST]:
    """Items of a list/tuple/set literal, or of ``a | b`` / ``a & b`` compositions flattened."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return list(node.elts)
    return [node] if node is not None else []


def location(node: ast.AST) -> tuple[int, int]:
    """1-based line and column of a node (a def: its ``def``/``async``/``class`` keyword)."""
    return node.lineno, node.col_offset + 1


def span(node: ast.AST) -> list[int]:
    return [node.lineno, getattr(node, "end_lineno", None) or node.lineno]


# Text that a statement writing rows out needs (see :mod:`.flows`): functions without it on
# any of their lines are not searched for export sinks unless they are views.
_SINK_TEXT = re.compile(
    r"\.(?:writerows?|to_csv|to_excel|to_json|to_parquet|to_feather|to_xml|to_pickle|to_hdf|to_orc|to_stata|"
    r"write_csv|write_excel|write_json|write_parquet|write_ndjson|export_csv|export_xlsx)\s*\(|"
    r"StreamingHttpResponse|FileResponse|StreamingResponse|send_file|FileWrapper|stream_with_context|"
    r"EventSourceResponse|\bdump\s*\(|serialize\s*\(|savetxt|attachment|content_type|mimetype|media_type|"
    r"Workbook|add_worksheet|create_sheet"
)


@dataclass
class Module:
    """One parsed file and what it binds at module level."""

    path: str
    tree: ast.Module
    config: object
    source: str = ""
    modname: str = ""
    package: str = ""
    imports: dict[str, str] = field(default_factory=dict)  # local name -> qualified
    bindings: dict[str, ast.AST] = field(default_factory=dict)  # NAME = <value> at module level
    defined: set[str] = field(default_factory=set)  # module-level def/class names
    wanted_handlers: set[str] = field(default_factory=set)  # defs the file's own routes point at
    _sink_lines: list[int] | None = field(default=None, repr=False)
    _qualnames: dict[int, str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.modname = module_name(self.path)
        is_pkg = self.path.replace("\\", "/").endswith("__init__.py")
        self.package = self.modname if is_pkg else self.modname.rpartition(".")[0]
        for stmt in _top_level(self.tree.body):
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                self._import(stmt)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.defined.add(stmt.name)
            elif isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        self.bindings[target.id] = stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None and isinstance(stmt.target, ast.Name):
                self.bindings[stmt.target.id] = stmt.value

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.imports[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    self.imports.setdefault(head, head)
            return
        base = node.module or ""
        if node.level:
            pkg = self.package.split(".") if self.package else []
            if node.level > 1:
                pkg = pkg[: max(len(pkg) - (node.level - 1), 0)]
            base = ".".join(p for p in [*pkg, base] if p)
        for alias in node.names:
            if alias.name != "*":
                self.imports[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name

    def qualify(self, name: str | None) -> str | None:
        """``views.export`` -> ``crm.views.export`` through imports; local names get this module."""
        if not name:
            return None
        head, _, rest = name.partition(".")
        if head in self.imports:
            return self.imports[head] + (f".{rest}" if rest else "")
        if head in self.defined or head in self.bindings:
            return f"{self.modname}.{name}" if self.modname else name
        return name

    def origin(self, name: str | None) -> str:
        """Fully qualified origin of a name for framework checks (``rest_framework.decorators.action``)."""
        return self.qualify(name) or ""

    def sink_lines(self) -> list[int]:
        """Lines holding text an export sink needs, computed once."""
        found = self._sink_lines
        if found is None:
            found, line, at = [], 1, 0
            for m in _SINK_TEXT.finditer(self.source):
                line += self.source.count("\n", at, m.start())
                at = m.start()
                found.append(line)
            self._sink_lines = found
        return found

    def may_export(self, node: ast.AST) -> bool:
        first, last_line = node.lineno, node.end_lineno or node.lineno
        return any(first <= line <= last_line for line in self.sink_lines())

    def called(self, name: str) -> bool:
        """Is the module-level function ``name`` called in this file (a helper, not a view)?"""
        return len(re.findall(rf"(?<![\w.]){re.escape(name)}\s*\(", self.source)) > 1

    def imports_from(self, *prefixes: str) -> bool:
        return any(v == p or v.startswith(p + ".") for v in self.imports.values() for p in prefixes)


def _top_level(body):
    """Module-level statements, looking inside top-level ``if``/``try`` (conditional imports)."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            yield from _top_level(stmt.body)
            yield from _top_level(stmt.orelse)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            yield from _top_level(stmt.body)
            for handler in stmt.handlers:
                yield from _top_level(handler.body)
            yield from _top_level(stmt.orelse)
            yield from _top_level(stmt.finalbody)
        else:
            yield stmt


def module_statements(tree: ast.Module):
    return _top_level(tree.body)


def statements(body):
    """Every statement under ``body``, nested blocks, defs and classes included (expressions
    are not entered: a tenth of a full ``ast.walk``)."""
    stack = list(reversed(body))
    while stack:
        stmt = stack.pop()
        yield stmt
        inner = []
        for name in ("body", "orelse", "finalbody"):
            value = getattr(stmt, name, None)
            if isinstance(value, list):
                inner += value
        for handler in getattr(stmt, "handlers", ()):
            inner += handler.body
        for case in getattr(stmt, "cases", ()):
            inner += case.body
        stack.extend(reversed([s for s in inner if isinstance(s, ast.stmt)]))
