"""What one file knows about itself before queries are judged: its module name, imports,
module-level constants and classes. Collected in one pass over the top-level statements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from tenantlint.config import Config
from tenantlint.extract.python.tree import dotted


def module_name(path: str) -> str:
    """``crm/views.py`` -> ``crm.views``; ``crm/__init__.py`` -> ``crm``."""
    mod = path[:-3] if path.endswith(".py") else path
    mod = mod.replace("\\", "/").removesuffix("/__init__")
    return mod.strip("/").replace("/", ".")


@dataclass
class ClassInfo:
    name: str
    node: cst.ClassDef
    qualname: str
    bases: list[str]  # dotted, as written (``models.Model``)
    methods: set[str] = field(default_factory=set)
    attrs: dict[str, cst.BaseSmallStatement] = field(default_factory=dict)  # class-level NAME = ...
    path: tuple = ()  # enclosing statements, this ClassDef last (see positions.locate)


@dataclass
class FileContext:
    path: str
    config: Config
    module: cst.Module
    modname: str = ""
    package: str = ""
    imports: dict[str, str] = field(default_factory=dict)
    constants: dict[str, tuple[cst.BaseExpression, cst.CSTNode]] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    paths: dict[int, tuple] = field(default_factory=dict)  # id(node) -> enclosing statements

    def __post_init__(self) -> None:
        self.modname = module_name(self.path)
        is_pkg = self.path.replace("\\", "/").endswith("__init__.py")
        self.package = self.modname if is_pkg else self.modname.rpartition(".")[0]
        tenant_words = set()
        for col in self.config.tenant_columns:
            low = col.lower()
            tenant_words.add(low[:-3] if low.endswith("_id") else low)
        self.tenant_words = tenant_words | {"tenant"}

    # -- imports -----------------------------------------------------------------------
    def add_import(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted(alias.name)
                if not full:
                    continue
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.imports[alias.asname.name.value] = full
                else:
                    head = full.split(".")[0]
                    self.imports.setdefault(head, head)
            return
        if isinstance(node.names, cst.ImportStar):
            return
        base = dotted(node.module) if node.module is not None else ""
        level = len(node.relative)
        if level:
            pkg = self.package.split(".") if self.package else []
            if level > 1:
                pkg = pkg[: len(pkg) - (level - 1)] if len(pkg) >= level - 1 else []
            base = ".".join(p for p in [*pkg, base] if p)
        for alias in node.names:
            name = dotted(alias.name)
            if not name:
                continue
            asname = alias.asname.name if alias.asname is not None else None
            local = asname.value if isinstance(asname, cst.Name) else name
            self.imports[local] = f"{base}.{name}" if base else name

    def qualify(self, name: str) -> str:
        """``Contact`` -> ``crm.models.Contact`` via imports; local names get this module."""
        head, _, rest = name.partition(".")
        if head in self.imports:
            return self.imports[head] + (f".{rest}" if rest else "")
        if head in self.classes or head in self.constants:
            return f"{self.modname}.{name}" if self.modname else name
        return name

    def imported_from(self, name: str) -> str:
        """The module a local name was imported from ('' if not imported)."""
        full = self.imports.get(name.split(".")[0], "")
        return full.rpartition(".")[0] if full else ""

    def file_imports(self, prefix: str) -> bool:
        return any(v == prefix or v.startswith(prefix + ".") for v in self.imports.values())


def collect(ctx: FileContext) -> None:
    """Imports, constants and classes of the module (top level, and inside top-level
    ``if``/``try`` blocks, which is where conditional imports and definitions live)."""
    for stmt, prefix in _top_level(ctx.module.body):
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)):
                    ctx.add_import(small)
                elif isinstance(small, cst.Assign) and len(small.targets) == 1:
                    target = small.targets[0].target
                    if isinstance(target, cst.Name):
                        ctx.constants[target.value] = (small.value, target)
                        ctx.paths[id(target)] = (*prefix, stmt)
                elif (isinstance(small, cst.AnnAssign) and small.value is not None
                      and isinstance(small.target, cst.Name)):
                    ctx.constants[small.target.value] = (small.value, small.target)
                    ctx.paths[id(small.target)] = (*prefix, stmt)
        elif isinstance(stmt, cst.ClassDef):
            _collect_class(ctx, stmt, stmt.name.value, (*prefix, stmt))


def _top_level(body, prefix: tuple = ()):
    """(statement, enclosing if/try statements) at module or class level."""
    for stmt in body:
        if isinstance(stmt, (cst.If, cst.Try, cst.TryStar)):
            inner = (*prefix, stmt)
            yield from _top_level(getattr(stmt.body, "body", ()), inner)
            for handler in getattr(stmt, "handlers", ()):
                yield from _top_level(getattr(handler.body, "body", ()), inner)
            orelse = getattr(stmt, "orelse", None)
            if isinstance(orelse, cst.If):
                yield from _top_level((orelse,), inner)
            elif orelse is not None:
                yield from _top_level(getattr(orelse.body, "body", ()), inner)
            final = getattr(stmt, "finalbody", None)
            if final is not None:
                yield from _top_level(getattr(final.body, "body", ()), inner)
        else:
            yield stmt, prefix


def _collect_class(ctx: FileContext, node: cst.ClassDef, qualname: str, path: tuple) -> None:
    info = class_info(node, qualname, ctx, path)
    # Nested classes (Meta) are looked up through their parent, top-level ones by name.
    if "." not in qualname:
        ctx.classes[info.name] = info
    else:
        ctx.classes.setdefault(qualname, info)


def class_info(node: cst.ClassDef, qualname: str, ctx: FileContext | None = None, path: tuple = ()) -> ClassInfo:
    """What a class declares at its own level (methods, attributes, nested classes if ``ctx``)."""
    bases = [d for d in (dotted(a.value) for a in node.bases if a.keyword is None) if d]
    info = ClassInfo(node.name.value, node, qualname, bases, path=path)
    for stmt, prefix in _top_level(getattr(node.body, "body", ()), path):
        if ctx is not None:
            ctx.paths[id(stmt)] = (*prefix, stmt)
        if isinstance(stmt, cst.FunctionDef):
            info.methods.add(stmt.name.value)
        elif isinstance(stmt, cst.ClassDef) and ctx is not None:
            _collect_class(ctx, stmt, f"{qualname}.{stmt.name.value}", (*prefix, stmt))
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if ctx is not None:
                    ctx.paths[id(small)] = (*prefix, stmt)
                if isinstance(small, cst.Assign):
                    for t in small.targets:
                        if isinstance(t.target, cst.Name):
                            info.attrs[t.target.value] = small
                elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    info.attrs[small.target.value] = small
    return info


def reassigns_queryset(info: ClassInfo) -> bool:
    """Does a method assign ``<something>.queryset = ...`` (a form or serializer that narrows
    a field's choices per request)? Computed on first use, cached on the ClassInfo."""
    cached = getattr(info, "_reassigns", None)
    if cached is None:
        cached = any(_assigns_queryset(stmt) for stmt in getattr(info.node.body, "body", ())
                     if isinstance(stmt, cst.FunctionDef))
        info._reassigns = cached
    return cached


def _assigns_queryset(func: cst.FunctionDef) -> bool:
    """Does this method assign ``<something>.queryset = ...`` (a form or serializer that
    narrows a field's choices per request)?"""
    found = False

    def walk(node):
        nonlocal found
        if found:
            return
        if isinstance(node, cst.Assign):
            for t in node.targets:
                if isinstance(t.target, cst.Attribute) and t.target.attr.value == "queryset":
                    found = True
                    return
        for child in _children_statements(node):
            walk(child)

    walk(func.body)
    return found


def _children_statements(node):
    from tenantlint.extract.python.tree import children

    for child in children(node):
        if isinstance(child, (cst.BaseStatement, cst.BaseSmallStatement, cst.BaseSuite, cst.BaseCompoundStatement,
                              cst.Else, cst.ExceptHandler, cst.Finally)):
            yield child


def meta_of(info: ClassInfo, ctx: FileContext) -> dict[str, cst.BaseExpression]:
    """``class Meta:`` assignments of a class: ``{"db_table": <expr>, ...}``."""
    meta = ctx.classes.get(f"{info.qualname}.Meta")
    if meta is None:
        return {}
    out = {}
    for name, small in meta.attrs.items():
        value = small.value
        if value is not None:
            out[name] = value
    return out
