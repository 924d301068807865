"""Lexical frames (module, class, function) of the walk: their queryset variables, and the
assignments a local name had before a given statement (to rebuild SQL strings and Q objects).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from tenantlint.extract.python.context import ClassInfo
from tenantlint.extract.python.tree import children, string_value


@dataclass
class Frame:
    kind: str  # "module" | "class" | "function"
    name: str | None  # "crm.views.ContactList.get_queryset"; None at module level
    parent: "Frame | None" = None
    node: cst.CSTNode | None = None  # FunctionDef / ClassDef / Module
    cls: ClassInfo | None = None  # the class a method (or class body) belongs to
    func_name: str = ""
    env: dict = field(default_factory=dict)
    current_node: object = None  # the statement being walked
    _assigns: dict | None = None
    _order: dict | None = None
    _appends: dict | None = None

    def lookup(self, name: str):
        frame = self
        while frame is not None:
            if name in frame.env:
                return frame.env[name]
            frame = frame.parent
            while frame is not None and frame.kind == "class":
                frame = frame.parent
        return None

    # -- assignments of local names, in statement order -----------------------------------
    def index(self) -> None:
        if self._order is not None:
            return
        self._order, self._assigns, self._appends = {}, {}, {}
        body = getattr(self.node, "body", None)
        stmts = body.body if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)) else (
            body if isinstance(body, (list, tuple)) else ())
        counter = [0]
        for stmt in stmts:
            self._index_stmt(stmt, counter)

    def _index_stmt(self, stmt, counter) -> None:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            return
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self._index_small(small, counter)
            return
        if isinstance(stmt, cst.BaseSmallStatement):
            self._index_small(stmt, counter)
            return
        counter[0] += 1
        self._order[id(stmt)] = counter[0]
        for child in children(stmt):
            if isinstance(child, cst.BaseSuite):
                for inner in child.body:
                    self._index_stmt(inner, counter)
            elif isinstance(child, (cst.BaseStatement,)):
                self._index_stmt(child, counter)
            elif isinstance(child, (cst.Else, cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally, cst.MatchCase)):
                self._index_stmt(child, counter)

    def _index_small(self, small, counter) -> None:
        counter[0] += 1
        at = counter[0]
        self._order[id(small)] = at
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            call = small.value
            func = call.func
            if (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)
                    and func.attr.value in ("append", "add", "extend", "update") and call.args):
                self._appends.setdefault(func.value.value, []).append(call.args[0].value)
        if isinstance(small, cst.Assign):
            for t in small.targets:
                self._record(t.target, "=", small.value, at)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self._record(small.target, "=", small.value, at)
        elif isinstance(small, cst.AugAssign):
            op = type(small.operator).__name__  # AddAssign, BitOrAssign, BitAndAssign
            self._record(small.target, op, small.value, at)

    def _record(self, target, op, value, at) -> None:
        if isinstance(target, cst.Name):
            self._assigns.setdefault(target.value, []).append((at, op, value))
        elif isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
            key = string_value(getattr(target.slice[0].slice, "value", None)) if len(target.slice) == 1 else None
            self._assigns.setdefault(target.value.value, []).append((at, f"[{key}]" if key else "[?]", value))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                self._record(el.value, "unpack", value, at)

    @property
    def current(self) -> int:
        """Index of the statement being walked (the index is built on first need only)."""
        self.index()
        return self._order.get(id(self.current_node), 1 << 30)

    def assignments(self, name: str) -> list[tuple[str, cst.BaseExpression]] | None:
        """The value a local name holds at the current statement: its last plain assignment
        before it, followed by the augmented assignments (``+=``, ``|=``, ``x[k] =``) after
        that. None if the name is not assigned before (a parameter, a global)."""
        self.index()
        history = self._assigns.get(name)
        if not history:
            return None
        before = [h for h in history if h[0] < self.current] or None
        if before is None:
            return None
        start = max((i for i, h in enumerate(before) if h[1] in ("=", "unpack")), default=None)
        if start is None or before[start][1] == "unpack":
            return None
        return [(op, value) for _, op, value in before[start:]]

    def appended(self, name: str) -> list:
        """Values passed to ``name.append(...)``/``.add(...)`` anywhere in the function."""
        self.index()
        return self._appends.get(name, [])

    def is_local(self, name: str) -> bool:
        self.index()
        return name in self._assigns
