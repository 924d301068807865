"""The project's call graph, built from per-file function facts (:mod:`tenantlint.extract.python.calls`).

Calls are resolved through the names each file wrote them with: imports (absolute and
relative, already qualified by the extractor), ``self.``/``cls.`` methods along project
base classes, ``super()``, module-level singletons (``Deals = DealTable()`` then
``Deals.get(...)``), parameters annotated with a project class, class attributes
(``permission_classes``, ``serializer_class``), decorators, FastAPI dependencies, and
functions passed as values (``executor.submit(fn)``, ``on_failure=fn``). A method called on
something whose type is unknown (``self.repo.get_deal(...)``) is linked by its name when
few project methods carry it. What stays unresolved is counted, never an error.

Imports are written relative to some source root while files are named from the scanned
folder, so qualified names also match on dotted suffixes (``crm.repo.f`` finds
``src.crm.repo.f``). Everything here is linear in the number of calls.

>>> g = CallGraph([{"path": "a.py", "program": {"functions": [
...     {"name": "a.f", "line": 1, "class": None, "params": [], "calls": [
...         {"callee": "a.g", "line": 2, "column": 5, "end_line": 2, "end_column": 8, "args": [], "kw": {}}]},
...     {"name": "a.g", "line": 3, "class": None, "params": [], "calls": []}]}}])
>>> [(e.caller, e.callee) for e in g.edges]
[('a.f', 'a.g')]
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from tenantlint.extract.web.names import module_name

# Calls that hand a function to background work: the callee runs as a job, with these args.
HANDOFF_METHODS = {"delay", "apply_async", "s", "si", "send", "send_with_options", "kiq", "schedule", "spool"}
LAUNCHERS = {"enqueue", "enqueue_call", "enqueue_in", "enqueue_at", "add_job", "submit", "create_task",
             "ensure_future", "run_in_executor", "add_task", "Thread", "Process", "Timer", "start_new_thread",
             "call_soon", "call_later", "apply_async", "map_async", "spawn", "defer", "on_commit"}
# Method names too common to link by name alone (ORM, containers, frameworks).
COMMON_METHODS = {
    "get", "filter", "all", "first", "last", "exclude", "save", "delete", "update", "create", "count", "exists",
    "values", "values_list", "order_by", "append", "extend", "add", "remove", "pop", "items", "keys", "join",
    "split", "strip", "format", "execute", "commit", "rollback", "close", "open", "read", "write", "send", "run",
    "post", "put", "patch", "head", "options", "query", "scalars", "scalar", "one", "one_or_none", "where",
    "dispatch", "render", "copy", "clear", "set", "setdefault", "encode", "decode", "lower", "upper",
    "replace", "startswith", "endswith", "info", "debug", "warning", "error", "exception", "log", "is_valid",
    "validate", "serialize", "to_dict", "dict", "json", "load", "loads", "dump", "dumps", "list", "retrieve",
    "destroy", "partial_update", "flush", "refresh", "merge", "begin", "__init__", "__call__", "__enter__",
    "__exit__", "emit", "process", "handle", "call", "apply", "build", "start", "stop", "wait", "result",
}
MAX_NAME_CANDIDATES = 3
# Files resolved afresh before the edge memo is written again: a hook's few changed files
# resolve in milliseconds, while rewriting a large project's memo costs tens of them.
MEMO_STALE_FILES = 20


@dataclass
class Edge:
    caller: str
    callee: str
    call: int  # index in the caller's calls; -1 for framework edges (dependencies, permission classes)
    kind: str = "call"  # call | handoff (job started with these args) | value (function passed) | framework
    shift: int = 0  # positional arguments before the callee's first parameter (enqueue(fn, a) -> 1)
    admin: bool = False  # the call sits under ``if user.is_superuser:``


@dataclass
class CallGraph:
    files: list[dict]
    functions: dict[str, dict] = field(default_factory=dict)
    classes: dict[str, dict] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    unresolved: int = 0
    memo: object = field(default=None, repr=False)  # a tenantlint.cache.EdgeMemo: unchanged files' edges

    def __post_init__(self) -> None:
        self.instances: dict[str, str] = {}
        self.dep_aliases: dict[str, str] = {}  # Annotated[T, Depends(f)] aliases -> f
        self._class_methods: dict[str, list[str]] = {}
        self._chains: dict[str, list[str]] = {}
        self._bases: dict[str, list[str]] = {}
        self._found: dict[str, str | None] = {}  # find() answers, once every name is indexed
        self._resolved: dict[tuple, list] = {}  # _targets() answers: calls repeat across a project
        self._attribute_types: dict[tuple[str, str], str | None] = {}
        self.methods: dict[str, dict[str, str]] = {}  # class -> short name -> function
        self.by_short: dict[str, list[str]] = {}
        self._by_last: dict[str, list[str]] = {}  # last dotted part -> names, for suffix lookups
        self._twice: list[tuple[str, str]] = []  # names defined in two files: (name, the path that wins)
        for facts in self.files:
            program = facts.get("program") or {}
            module = module_name(facts.get("path") or "")
            for fn in program.get("functions", []):
                if fn["name"] in self.functions:
                    self._twice.append((fn["name"], self.functions[fn["name"]]["path"]))
                self.functions.setdefault(fn["name"], {**fn, "path": facts.get("path"), "module": module})
            for cls in program.get("classes", []):
                self.classes.setdefault(cls["name"], {**cls, "path": facts.get("path")})
            for name, target in (program.get("instances") or {}).items():
                self.instances[f"{module}.{name}" if module else name] = target
            for name, target in (program.get("dep_aliases") or {}).items():
                self.dep_aliases[f"{module}.{name}" if module else name] = target
        self.inner: dict[str, list[str]] = {}  # function -> functions defined in it (a decorator's wrapper)
        for name, fn in self.functions.items():
            parent, _, short = name.rpartition(".")
            self.by_short.setdefault(short, []).append(name)
            if parent in self.functions:
                self.inner.setdefault(parent, []).append(name)
            if fn.get("class"):
                self.methods.setdefault(fn["class"], {})[short] = name
            self._index(name)
        for name in self.classes:
            self._index(name)
        for name in self.instances:
            self._index(name)
        for name in self.dep_aliases:
            self._index(name)
        if self.dep_aliases:
            self._alias_dependencies()
        self.out: dict[str, list[Edge]] = {}
        self.into: dict[str, list[Edge]] = {}
        self._resolve_all()
        for e in self.edges:
            self.out.setdefault(e.caller, []).append(e)
            self.into.setdefault(e.callee, []).append(e)

    def _alias_dependencies(self) -> None:
        """A parameter annotated with a dependency alias (``flow: AuthorizedFlow``) is a
        FastAPI dependency, like ``Depends(...)`` written in place."""
        for fn in self.functions.values():
            for param, annotation in (fn.get("annotations") or {}).items():
                found = self.find(annotation)
                if found not in self.dep_aliases:  # re-exported: langflow.api.utils.CurrentActiveUser
                    same = [n for n in self._by_last.get(annotation.rpartition(".")[2], ()) if n in self.dep_aliases]
                    found = same[0] if len(same) == 1 else None
                if found:
                    fn["deps"] = {**(fn.get("deps") or {}), param: self.dep_aliases[found]}

    # -- name lookup ---------------------------------------------------------------------------
    def _index(self, name: str) -> None:
        self._by_last.setdefault(name.rpartition(".")[2], []).append(name)

    def find(self, ref: str | None) -> str | None:
        """The project name (function, class or instance) a qualified reference means: the
        same name, or the only one that ends with it (``crm.repo.f`` for ``src.crm.repo.f``)."""
        if not ref:
            return None
        if ref in self._found:
            return self._found[ref]
        if ref in self.functions or ref in self.classes or ref in self.instances or ref in self.dep_aliases:
            return ref
        tail = "." + ref
        found = [n for n in self._by_last.get(ref.rpartition(".")[2], ()) if n.endswith(tail)]
        self._found[ref] = answer = found[0] if len(found) == 1 else None
        return answer

    def class_chain(self, cls: str) -> list[str]:
        """The class and its project bases, nearest first (depth-first, as Python writes them
        down before the method resolution order; at most ten levels)."""
        chain = self._chains.get(cls)
        if chain is None:
            chain = self._chains[cls] = list(self._chain(cls, 0))
        return chain

    def _chain(self, cls: str, depth: int):
        yield cls
        if depth > 10 or cls not in self.classes:
            return
        for base in self.classes[cls].get("bases", []):
            found = self.find(base)
            if found in self.classes and found != cls:
                yield from self._chain(found, depth + 1)

    def method(self, cls: str, short: str, skip_first: bool = False) -> str | None:
        for i, c in enumerate(self.class_chain(cls)):
            if skip_first and i == 0:
                continue
            found = self.methods.get(c, {}).get(short)
            if found:
                return found
        return None

    def class_methods(self, cls: str) -> list[str]:
        """Every method the class has, its own or inherited from project bases."""
        cached = self._class_methods.get(cls)
        if cached is not None:
            return cached
        seen, out = set(), []
        for c in self.class_chain(cls):
            for short, name in self.methods.get(c, {}).items():
                if short not in seen:
                    seen.add(short)
                    out.append(name)
        self._class_methods[cls] = out
        return out

    def nested(self, name: str) -> list[str]:
        """The function and every function defined inside it, at any depth."""
        out, stack = [], [name]
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(self.inner.get(current, ()))
        return out

    def bases_of(self, cls: str) -> list[str]:
        """Base class names as written, qualified, along the project chain (framework ones too)."""
        bases = self._bases.get(cls)
        if bases is None:
            bases = self._bases[cls] = [b for c in self.class_chain(cls)
                                        for b in self.classes.get(c, {}).get("bases", [])]
        return bases

    # -- resolution ------------------------------------------------------------------------------
    def _resolve_all(self) -> None:
        """Every function's calls, in the order of ``functions``; with a memo, the edges of
        files unchanged since the last scan come from it (a hook run re-resolves only the
        files it was given, unless a definition changed anywhere)."""
        shape = self._shape() if self.memo is not None else None
        known = self.memo.load(shape) if shape else {}
        fresh: dict[str, dict] = {}
        for name, fn in self.functions.items():
            entry = known.get(fn["path"])
            if entry is not None and name in entry["edges"]:
                self.edges += [Edge(name, *e) for e in entry["edges"][name]]
                self.unresolved += entry["unresolved"].get(name, 0)
                continue
            start, missed = len(self.edges), self.unresolved
            self._resolve_function(name, fn)
            if shape:
                record = fresh.setdefault(fn["path"], {"edges": {}, "unresolved": {}})
                record["edges"][name] = [[e.callee, e.call, e.kind, e.shift, e.admin] for e in self.edges[start:]]
                if self.unresolved > missed:
                    record["unresolved"][name] = self.unresolved - missed
        if len(fresh) > MEMO_STALE_FILES or (fresh and not known):
            self.memo.save(shape, {**known, **fresh})

    def _shape(self) -> str | None:
        """What every call was resolved against: each file's definitions (their digest,
        made at extraction) and which file wins a name defined twice. None when a file's
        facts carry no digest."""
        parts = []
        for facts in self.files:
            program = facts.get("program")
            if program:
                if not program.get("shape"):
                    return None
                parts.append((facts.get("path"), program["shape"]))
        material = json.dumps([sorted(parts), sorted(self._twice)])
        return hashlib.sha256(material.encode()).hexdigest()

    def _resolve_function(self, name: str, fn: dict) -> None:
        for i, call in enumerate(fn.get("calls", [])):
            targets = self._targets(fn, call)
            admin = bool(call.get("admin"))
            if not targets:
                self.unresolved += 1
            for target, kind, shift in targets:
                kind = "handoff" if call.get("spawned") else kind
                self.edges.append(Edge(name, target, i, kind, shift, admin))
            for value in call.get("values", []):  # functions passed as values
                found = self.resolve_callable(value)
                if found and found != name and not any(t[0] == found for t in targets):
                    launcher = call["callee"].rsplit(".", 1)[-1] in LAUNCHERS
                    self.edges.append(Edge(name, found, i, "handoff" if launcher else "value",
                                           _position_of(call, value) + 1 if launcher else 0, admin))
        for dep in (fn.get("deps") or {}).values():
            found = self.resolve_callable(dep)
            if found:
                self.edges.append(Edge(name, found, -1, "framework"))
        for deco in fn.get("decorators", []):
            found = self.resolve_callable(deco)
            if found and found != name:
                self.edges.append(Edge(name, found, -1, "framework"))

    def resolve_callable(self, ref: str) -> str | None:
        """A function, or a class's ``__call__``/``__init__`` for a class used as a callable."""
        found = self.find(ref)
        if found in self.functions:
            return found
        if found in self.classes:
            return self.method(found, "__call__") or self.method(found, "__init__")
        if found in self.instances:
            cls = self.find(self.instances[found])
            return self.method(cls, "__call__") if cls in self.classes else None
        return None

    def _targets(self, fn: dict, call: dict) -> list[tuple[str, str, int]]:
        """What a call may run; it depends on the callee as written, the caller's class and,
        for a method of a parameter, the parameter's annotation."""
        callee = call["callee"]
        annotation = (fn.get("annotations") or {}).get(callee[6:].partition(".")[0]) \
            if callee.startswith("param:") else None
        key = (callee, fn.get("class"), annotation)
        found = self._resolved.get(key)
        if found is None:
            found = self._resolved[key] = self._resolve_call(fn, callee)
        return found

    def _resolve_call(self, fn: dict, callee: str) -> list[tuple[str, str, int]]:
        head, _, rest = callee.partition(".")
        short = callee.rsplit(".", 1)[-1]
        cls = fn.get("class")
        if head in ("self", "cls") and rest:
            if "." not in rest and cls:
                found = self.method(cls, rest)
                return [(found, "call", 0)] if found else []
            attr, _, method = rest.partition(".")
            if cls and "." not in method:
                made = self._attribute_type(cls, attr)
                if made is not None:  # self._executor = InProcessExecutor(): its submit(), or nothing
                    found = self.method(made, method) if made in self.classes else None
                    return [(found, "call", 0)] if found else []
                # Another object's method: not one of this class's own.
                own = set(self.class_methods(cls))
                return [t for t in self._by_name(short) if t[0] not in own]
            return self._by_name(short)
        if head == "super" and cls:
            found = self.method(cls, rest, skip_first=True)
            return [(found, "call", 0)] if found else []
        if callee.startswith("param:"):
            param, _, method = callee[6:].partition(".")
            kind = (fn.get("annotations") or {}).get(param)
            found_cls = self.find(kind) if kind else None
            if found_cls in self.classes and "." not in method:
                found = self.method(found_cls, method)
                return [(found, "call", 0)] if found else []
            return self._by_name(short)
        if head == "?" or callee.startswith("var:"):
            return self._by_name(short)
        if short in HANDOFF_METHODS and "." in callee:
            base = callee.rsplit(".", 1)[0]
            found = self.resolve_callable(base)
            if found:
                return [(found, "handoff", 0)]
        found = self.find(callee)
        if found in self.functions:
            return [(found, "call", 0)]
        if found in self.classes:
            init = self.method(found, "__init__")
            return [(init, "call", 0)] if init else []
        if "." in callee:  # Instance.method or Class.method
            owner, _, method = callee.rpartition(".")
            found = self.find(owner)
            if found in self.instances:
                found = self.find(self.instances[found])
            if found in self.classes:
                target = self.method(found, method)
                return [(target, "call", 0)] if target else []
        return []

    def _attribute_type(self, cls: str, attr: str) -> str | None:
        """The class an attribute of ``self`` was made from in one of the class's methods
        (the project class, or the dotted name of an outside one); None when unseen."""
        key = (cls, attr)
        if key not in self._attribute_types:
            self._attribute_types[key] = None
            for method in self.class_methods(cls):
                made = (self.functions[method].get("attr_types") or {}).get(attr)
                if made:
                    self._attribute_types[key] = self.find(made) or made
                    break
        return self._attribute_types[key]

    def _by_name(self, short: str) -> list[tuple[str, str, int]]:
        if short in COMMON_METHODS or short.startswith("__"):
            return []
        found = [n for n in self.by_short.get(short, []) if self.functions[n].get("class")]
        if 0 < len(found) <= MAX_NAME_CANDIDATES:
            return [(n, "call", 0) for n in found]
        return []


def _position_of(call: dict, value: str) -> int:
    """Index of the positional argument that passes the function ``value`` (``enqueue(fn, a)``)."""
    for i, leaves in enumerate(call.get("args", [])):
        if any(leaf[0] == "g" and leaf[1] == value for leaf in leaves):
            return i
    return 0
