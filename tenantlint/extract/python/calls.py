"""Function facts for the whole-program stage: calls, where their arguments come from, checks.

Per file and pure, like every extractor: the program stage (:mod:`tenantlint.program`) joins
these facts into a call graph and judges each query by the paths that reach it, so it
must never re-read source. One function fact per ``def``, named as the query facts name
their enclosing function (``crm.views.DealView.get``)::

    {"name", "line", "class": "crm.views.DealView" | None, "params": ["self", "request", "pk"],
     "deps": {"user": "crm.auth.current_user"},      # FastAPI Depends(...) defaults
     "annotations": {"repo": "crm.repo.DealRepo"},    # parameter types, qualified
     "decorators": ["celery.shared_task"],            # qualified through imports
     "calls": [Call], "checks": [Check],
     "other_checks": [{"line", "text"}],   # denials that tie nothing to the tenant (for messages)
     "admin_check": bool,      # denies unless the caller is staff/superuser/admin
     "field_querysets": [{"name", "line", "end_line"}],  # self.fields["board"].queryset = ... replaced there
     "attr_types": {"repo": "crm.repo.DealRepo"},  # self.repo = DealRepo(...)
     "needs": [{"param", "kind": "truthy" | "set", "from", "to"}],  # lines run only if the flag holds
     "falsy_defaults": {"widen": "false", "folder_id": "none"},
     "main": bool}             # the pseudo-function of ``if __name__ == "__main__":``

    Class:  {"name", "line", "bases", "decorators", "attrs": {name: [qualified names]},
             "related_fields": [{"name", "line", "end_line"}],  # PrimaryKeyRelatedField(queryset=...)
             "runs": [RunPython targets]}
    Module: "instances" (``Deals = DealTable()``), "dep_aliases" (``CurrentUser =
            Annotated[User, Depends(current_user)]`` -> the dependency)

    Call:  {"callee": "crm.repository.get_deal" (qualified) | "self.m" | "super.m" | "param:repo.m"
                      (a parameter's method) | "var:deal.m" (a local's) | "?.m" (a chained call's),
            "line", "column", "end_line", "end_column",
            "args": [[Leaf]], "kw": {name: [Leaf]},
            "admin": bool,        # under ``if user.is_superuser:``
            "spawned": bool,      # inside asyncio.create_task(...): runs as a job
            "receiver": [Leaf],   # of a "?.m" call: what it is called on
            "narrowed": line,     # its result is filtered by the tenant there (.filter(event=...))
            "falsy": {"0" | name: "none" | "false"},  # literal None/False/0/"" arguments
            "splat": bool,        # *args / **kwargs: the parameters it fills are not seen
            "discarded": bool,    # a statement of its own (``await cleanup(ids)``): its result is dropped
            "values": [qualified names passed as values (functions handed along)]}
    Check: {"line", "verifies": [Leaf]}   # passing it ties these rows/keys to the caller

A *leaf* says where a value comes from: ``["p", name]`` a parameter (or a keyword of the
function's own ``**kwargs``), ``["r", text]`` the request (``["r", "kwargs:deal_id"]`` for a
URL keyword), ``["c", text]`` the caller (``request.user``), ``["own", "f()"]`` a value a
plain function made from the caller's identity (``virtual_id(user.id, flow_id)``: a key of
the caller's own rows), ``["s", text]`` the server-side
session, ``["call", i]`` the result of call ``i`` of this function (a fetched row),
``["row", i, attr]`` an attribute of such a result, ``["k"]`` a constant, ``["g", name]`` a
module-level or imported name, ``["?"]`` anything else.

>>> import ast
>>> from tenantlint.config import Config
>>> from tenantlint.extract.web.names import Module
>>> src = "def f(deal_id):\\n    deal = get_deal(deal_id)\\n    if deal.account_id != 1:\\n        raise E\\n"
>>> facts = extract_calls(Module("m.py", ast.parse(src), Config(tenant_columns=("account_id",))))
>>> facts["functions"][0]["calls"][0]["args"]
[[['p', 'deal_id']]]
"""

from __future__ import annotations

import ast
import hashlib
import json

from tenantlint.extract.web.names import Module, dotted, string, strings

REQUEST_ATTRS = {"data", "GET", "POST", "query_params", "json", "args", "form", "values", "files", "body",
                 "get_json", "path_params", "query", "params", "FILES", "content", "text", "match_info"}
CALLER_ATTRS = {"user", "auth", "identity", "principal", "account", "organization", "organizer", "tenant",
                "team", "workspace"}
CALLER_NAMES = {"current_user", "user", "me", "viewer", "principal", "g"}
# Calls whose result is their argument, as far as provenance goes.
TRANSPARENT = {"int", "str", "UUID", "uuid.UUID", "float", "list", "tuple", "set", "sorted", "frozenset",
               "Q", "F", "Value", "and_", "or_", "not_", "dict", "bool", "dict.fromkeys", "reversed", "enumerate"}
# Query methods that narrow the rows of their receiver (a queryset or statement a call returned).
NARROWING = {"filter", "where", "filter_by"}
# Calls that run the coroutine they are given as a task of its own.
SPAWNERS = {"create_task", "ensure_future", "run_coroutine_threadsafe", "start_soon", "spawn"}
# Calls that raise unless the caller may use the object they are given.
PERMISSION_CALLS = {"check_object_permissions", "has_perm", "has_object_permission", "check_permission",
                    "check_object_permission", "assert_can_access", "ensure_access", "authorize"}
# Calls the program stage never needs: builtins, logging, exceptions, test assertions. Not
# recorded, so that function facts stay small (a cost paid by every file of a scan).
BUILTINS = {"print", "len", "isinstance", "issubclass", "getattr", "setattr", "hasattr", "delattr", "range", "type",
            "repr", "open", "super", "enumerate", "zip", "min", "max", "sum", "any", "all", "iter", "next", "id",
            "hash", "abs", "round", "callable", "vars", "dir", "ord", "chr", "bytes", "bytearray", "divmod",
            "reversed", "map", "filter", "locals", "globals", "format", "isdisjoint", "object"}
LOGGERS = {"logger", "logging", "log", "LOGGER", "_logger", "_log", "warnings", "LOG"}
# Methods of containers and strings: the result comes from the receiver and the arguments.
PLAIN_METHODS = {"append", "extend", "insert", "join", "format", "startswith", "endswith", "lower", "upper",
                 "strip", "lstrip", "rstrip", "split", "rsplit", "replace", "encode", "decode", "write",
                 "writelines", "close", "items", "keys", "setdefault", "clear", "add", "discard", "remove",
                 "sort", "reverse", "splitlines", "partition", "rpartition", "casefold", "title", "isdigit"}
# Methods that put their arguments into the container they are called on.
FILLING = {"append", "extend", "add", "insert", "update", "appendleft", "extendleft"}
# Methods of plain values (a dict of request data, a string): the result is the value.
VALUE_METHODS = {"get", "getlist", "split", "strip", "lower", "upper", "format", "pop", "copy", "items", "values",
                 "keys"}
OWNER_ATTRS = {"owner", "owner_id", "user", "user_id", "created_by", "created_by_id", "author", "author_id",
               "creator", "creator_id", "members", "member", "users"}
# Words of a check that only staff pass (also the query walk's staff-only branches).
ADMIN_WORDS = ("is_superuser", "is_staff", "is_admin", "superuser", "staff_member", "staff_session",
               "is_platform_admin", "is_site_admin")
DENY_CALLS = {"abort", "PermissionDenied", "Http404", "HTTPException", "Forbidden", "NotFound", "deny",
              "raise_404", "raise_403", "HttpResponseForbidden", "HttpResponseNotFound"}


_COMPOUND = tuple(t for t in (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try,
                              getattr(ast, "TryStar", None), ast.Match) if t is not None)


def program_shape(program: dict) -> str:
    """A digest of what calls in other files are resolved against: function and class
    names, base classes, the types methods give ``self``'s attributes, module singletons
    and dependency aliases; no line numbers, no bodies. An edit inside a function leaves
    it as it is, so the other files' resolved calls stay valid."""
    material = [[(f["name"], f.get("class"), f.get("attr_types")) for f in program.get("functions", ())],
                [(c["name"], c.get("bases")) for c in program.get("classes", ())],
                program.get("instances"), program.get("dep_aliases")]
    return hashlib.blake2b(json.dumps(material, sort_keys=True, default=str).encode(), digest_size=12).hexdigest()


def extract_calls(mod: Module) -> dict:
    """``{"functions": [...], "classes": [...], "instances": {...}}`` of one module."""
    out: dict = {"functions": [], "classes": [], "instances": {}}
    _FileWalk(mod, out).run()
    return {k: v for k, v in out.items() if v}


class _FileWalk:
    def __init__(self, mod: Module, out: dict):
        self.mod = mod
        self.out = out
        config = mod.config
        self.tenant_attrs = {c.lower() for c in config.tenant_columns}
        self.tenant_attrs |= {c[:-3] for c in self.tenant_attrs if c.endswith("_id")}
        self.admin_words = tuple(w.lower() for w in (*ADMIN_WORDS, *getattr(config, "admin_markers", ())))
        self.migrations = "RunPython" in mod.source  # only then are class bodies searched for it

    def run(self) -> None:
        for name, value in self.mod.bindings.items():  # Deals = DealTable(): a singleton of a project class
            if isinstance(value, ast.Call):
                target = dotted(value.func)
                if target and target.rsplit(".", 1)[-1][:1].isupper():
                    self.out["instances"][name] = self.mod.qualify(target)
            dep = _annotated_depends(value)
            if dep:  # AuthorizedFlow = Annotated[Flow, Depends(get_flow)]: a parameter of this type is injected
                self.out.setdefault("dep_aliases", {})[name] = self.mod.qualify(dep) or dep
        main = []
        for stmt in self.mod.tree.body:
            if _is_main_guard(stmt):
                main.extend(stmt.body)
        self.body(self.mod.tree.body, self.mod.modname, None)
        if main:
            fake = ast.FunctionDef(name="__main__", args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[],
                                                                      kw_defaults=[], defaults=[]),
                                   body=main, decorator_list=[], lineno=main[0].lineno, col_offset=0)
            fact = _FunctionWalk(self, fake, _qual(self.mod.modname, "__main__"), None).run()
            fact["main"] = True
            self.out["functions"].append(fact)

    def body(self, body, prefix: str, cls: str | None) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = _qual(prefix, stmt.name)
                self.out["functions"].append(_FunctionWalk(self, stmt, name, cls).run())
                self.body(stmt.body, name, None)
            elif isinstance(stmt, ast.ClassDef):
                name = _qual(prefix, stmt.name)
                self.out["classes"].append(self.klass(stmt, name))
                self.body(stmt.body, name, name)
            elif isinstance(stmt, _COMPOUND):
                for child in (*getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())):
                    self.body(child.body, prefix, cls)
                for field in ("body", "orelse", "finalbody"):
                    inner = getattr(stmt, field, None)
                    if isinstance(inner, list):
                        self.body(inner, prefix, cls)

    def klass(self, node: ast.ClassDef, name: str) -> dict:
        attrs = {}
        related = []
        for stmt in node.body:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else (
                [stmt.target] if isinstance(stmt, ast.AnnAssign) and stmt.value is not None else [])
            for t in targets:
                if isinstance(t, ast.Name):
                    names = [self.mod.qualify(dotted(e)) for e in _elements(stmt.value) if dotted(e)]
                    if names:
                        attrs[t.id] = names
                    if _related_field(stmt.value):
                        related.append({"name": t.id, "line": stmt.lineno, "end_line": stmt.end_lineno or stmt.lineno})
        runs = sorted({self.mod.qualify(dotted(call.args[0])) for call in ast.walk(node)
                       if isinstance(call, ast.Call) and (dotted(call.func) or "").endswith("RunPython")
                       and call.args and dotted(call.args[0])}) if self.migrations else []
        fact = {"name": name, "line": node.lineno,
                "bases": [self.mod.qualify(dotted(b)) or "" for b in node.bases if dotted(b)],
                "attrs": attrs,
                "decorators": [self.mod.qualify(dotted(_undecorate(d))) or "" for d in node.decorator_list]}
        if runs:
            fact["runs"] = runs  # migrations.RunPython(forwards): functions a migration runs
        if related:
            fact["related_fields"] = related  # board = PrimaryKeyRelatedField(queryset=...): rows chosen by id
        meta = _serializer_meta(node)
        if meta is not None:
            fact["serializer_meta"] = meta  # implicit related fields: tenantlint.program.serializers
        return fact

    def is_tenant_attr(self, attr: str) -> bool:
        low = attr.lower()
        return low in self.tenant_attrs or low in OWNER_ATTRS

    def mentions_admin(self, node: ast.AST) -> bool:
        """``user.is_superuser``, ``request.user.is_staff``, ``user.role == "admin"``."""
        words = []
        for child in ast.walk(node):
            if isinstance(child, ast.Attribute):
                words.append(child.attr.lower())
            elif isinstance(child, ast.Name):
                words.append(child.id.lower())
            elif isinstance(child, ast.Constant) and isinstance(child.value, str):
                words.append(child.value.lower())
        text = " ".join(words)
        if any(w in text for w in self.admin_words):
            return True
        return "role" in text and "admin" in text


class _FunctionWalk:
    """One ``def``: statements in order, a small environment of where locals come from."""

    def __init__(self, file: _FileWalk, node, name: str, cls: str | None):
        self.file = file
        self.mod = file.mod
        self.node = node
        self.name = name
        self.cls = cls
        self.env: dict[str, list] = {}
        self.calls: list[dict] = []
        self.checks: list[dict] = []
        self.other_checks: list[dict] = []
        self.branch_depth = 0  # inside an if/else branch, an except handler or a loop body
        self.admin_depth = 0
        self.admin_check = False
        self.field_querysets: list[dict] = []  # related fields whose queryset it replaces, and where
        self.attr_types: dict[str, str] = {}  # self.<attr> -> the class it was made from
        self.needs: list[dict] = []  # line ranges that run only when a parameter is truthy
        self.conditions: dict[str, ast.expr] = {}  # locals holding a comparison, for the checks that test them
        self._testing: set[str] = set()  # conditions being expanded (a local defined by itself)
        args = node.args
        self.params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
        if args.vararg:
            self.params.append(args.vararg.arg)
        if args.kwarg:
            self.params.append(args.kwarg.arg)
        self.kwargs_name = args.kwarg.arg if args.kwarg else None
        for p in self.params:
            self.env[p] = [["p", p]]

    def run(self) -> dict:
        deps, annotations = self._param_types()
        self.block(self.node.body)
        fact = {"name": self.name, "line": self.node.lineno, "class": self.cls, "params": self.params,
                "calls": self.calls}
        decorators = [self.mod.qualify(dotted(_undecorate(d))) or "" for d in self.node.decorator_list]
        if decorators:
            fact["decorators"] = decorators
            fact["decorator_args"] = [self._values_of(d) for d in self.node.decorator_list]
        if deps:
            fact["deps"] = deps
        if annotations:
            fact["annotations"] = annotations
        if self.checks:
            fact["checks"] = self.checks
        if self.other_checks:
            fact["other_checks"] = self.other_checks[:5]
        if self.admin_check:
            fact["admin_check"] = True
        if self.field_querysets:  # self.fields["board"].queryset = ...
            fact["field_querysets"] = self.field_querysets
        if self.attr_types:
            fact["attr_types"] = self.attr_types
        if self.needs:
            fact["needs"] = self.needs
        falsy = self._falsy_defaults()
        if falsy:  # also where a flag is only passed along to a function that needs it
            fact["falsy_defaults"] = falsy
        return fact

    def _defaults(self) -> dict[str, ast.expr]:
        """Parameter name -> its default expression."""
        args = self.node.args
        positional = [*args.posonlyargs, *args.args]
        defaults = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]], args.defaults))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
        return defaults

    def _falsy_defaults(self) -> dict[str, str]:
        """Parameters whose default is ``None`` ("none") or ``False``/``0``/``""`` ("false")."""
        return {name: kind for name, default in self._defaults().items() if (kind := _falsy_kind(default))}

    def _param_types(self) -> tuple[dict, dict]:
        deps, annotations = {}, {}
        args = self.node.args
        defaults = self._defaults()
        for a in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            dep = _depends_target(defaults.get(a.arg)) or _annotated_depends(a.annotation)
            if dep:
                deps[a.arg] = self.mod.qualify(dep) or dep
                continue
            if a.annotation is not None:
                kind = _annotation_name(a.annotation)
                if kind:
                    annotations[a.arg] = self.mod.qualify(kind) or kind
        return deps, annotations

    # -- statements ------------------------------------------------------------------------
    def block(self, stmts) -> None:
        for stmt in stmts:
            self.stmt(stmt)

    def stmt(self, stmt) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return  # a fact of its own
        if isinstance(stmt, ast.Assign):
            value = self.expr(stmt.value)
            for target in stmt.targets:
                self.bind(target, value)
                if isinstance(target, ast.Name):  # is_owner = job.user_id == me; ... if not is_owner: raise
                    if isinstance(stmt.value, (ast.Compare, ast.BoolOp, ast.UnaryOp)):
                        self.conditions[target.id] = stmt.value
                    else:
                        self.conditions.pop(target.id, None)
                field = _queryset_override(target)
                if field:
                    self.field_querysets.append({"name": field, "line": stmt.lineno,
                                                 "end_line": stmt.end_lineno or stmt.lineno})
                made = _self_attribute_type(target, stmt.value)
                if made:  # self._executor = InProcessExecutor(...): what self._executor.submit() calls
                    self.attr_types[made[0]] = self.mod.qualify(made[1]) or made[1]
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self.bind(stmt.target, self.expr(stmt.value))
        elif isinstance(stmt, ast.AugAssign):  # cond &= Q(...): the value now comes from both
            value = self.expr(stmt.value)
            if isinstance(stmt.target, ast.Name):
                self.env[stmt.target.id] = _dedupe([*self.env.get(stmt.target.id, []), *value])
        elif isinstance(stmt, ast.If):
            self.if_(stmt)
        elif isinstance(stmt, ast.Assert):
            self.expr(stmt.test)
            self.check(stmt.lineno, self.verified(stmt.test, True))
        elif isinstance(stmt, ast.Return):
            if stmt.value is not None:
                self.expr(stmt.value)
                if self.node.name in ("has_permission", "has_object_permission") or self.node.name.startswith(
                        ("can_", "check_", "is_allowed", "has_access")):
                    self.check(stmt.lineno, self.verified(stmt.value, True))
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            self.bind(stmt.target, self.expr(stmt.iter))
            self.branched(stmt.body)
            self.branched(stmt.orelse)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                value = self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, value)
            self.block(stmt.body)
        elif isinstance(stmt, (ast.While,)):
            self.expr(stmt.test)
            self.block(stmt.body)
            self.block(stmt.orelse)
        elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            self.block(stmt.body)
            for handler in stmt.handlers:
                self.branched(handler.body)
            self.branched(stmt.orelse)
            self.block(stmt.finalbody)
        elif isinstance(stmt, ast.Expr):
            self.expr(stmt.value)
            node = stmt.value.value if isinstance(stmt.value, ast.Await) else stmt.value
            if isinstance(node, ast.Call) and self.calls and self.calls[-1]["line"] == node.lineno \
                    and self.calls[-1]["column"] == node.col_offset + 1:
                self.calls[-1]["discarded"] = True  # await cleanup(ids): nothing it returns comes back
        elif isinstance(stmt, ast.Match):
            self.expr(stmt.subject)
            for case in stmt.cases:
                self.block(case.body)
        else:
            for child in ast.iter_child_nodes(stmt):
                if isinstance(child, ast.expr):
                    self.expr(child)

    def if_(self, stmt: ast.If) -> None:
        self.expr(stmt.test)
        self._flag_ranges(stmt)
        admin = self.file.mentions_admin(stmt.test)
        denies = _denies(stmt.body)
        if denies or stmt.orelse and _denies(stmt.orelse):
            verifies = self.verified(stmt.test, not denies)
            self.check(stmt.lineno, verifies)
            if admin:
                self.admin_check = True
            elif not verifies:  # a check that ties nothing to the tenant, for the message
                self.other_checks.append({"line": stmt.lineno, "text": _short(stmt.test)})
        branch_admin = admin and not isinstance(stmt.test, ast.UnaryOp)
        self.admin_depth += branch_admin
        self.branched(stmt.body)
        self.admin_depth -= branch_admin
        self.branched(stmt.orelse)

    def _flag_ranges(self, stmt: ast.If) -> None:
        """Lines that run only when a parameter is truthy: the body of ``if flag:``, and the
        rest of the function after ``if not flag: return``. A caller that leaves the
        parameter at a falsy default, or passes ``None``/``False``, never reaches them."""
        flag = _flag_test(stmt.test, self.params, truthy=True)
        if flag:
            self.needs.append({"param": flag[0], "kind": flag[1], "from": stmt.body[0].lineno,
                               "to": stmt.body[-1].end_lineno or stmt.body[-1].lineno})
        flag = _flag_test(stmt.test, self.params, truthy=False)
        if flag and not self.branch_depth and any(isinstance(s, (ast.Return, ast.Raise)) for s in stmt.body):
            self.needs.append({"param": flag[0], "kind": flag[1], "from": (stmt.end_lineno or stmt.lineno) + 1,
                               "to": self.node.end_lineno or stmt.lineno})

    def branched(self, stmts) -> None:
        self.branch_depth += 1
        try:
            self.block(stmts)
        finally:
            self.branch_depth -= 1

    def check(self, line: int, verifies: list) -> None:
        if verifies:
            self.checks.append({"line": line, "verifies": verifies})

    def bind(self, target, value: list) -> None:
        if isinstance(target, ast.Name):
            if self.branch_depth and target.id in self.env:  # a branch may not run: keep both
                value = _dedupe([*self.env[target.id], *value])
            self.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            for el in target.elts:
                self.bind(el, value)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, value)
        elif isinstance(target, ast.Subscript):  # by_id[k] = row: the container now holds it too
            self.expr(target.slice)
            self._fill(target.value, value)

    def _fill(self, container, value: list) -> None:
        """A local container gains what is put into it (``ids.append(row.id)``,
        ``groups.setdefault(k, []).append(v)``, ``by_id[k] = v``)."""
        while isinstance(container, (ast.Call, ast.Attribute, ast.Subscript)):
            container = container.func if isinstance(container, ast.Call) else container.value
        if isinstance(container, ast.Name) and container.id in self.env and container.id not in self.params:
            held = [leaf for leaf in self.env[container.id] if leaf[0] != "k"]
            self.env[container.id] = _dedupe([*held, *value]) or [["k"]]

    # -- expressions: register calls, return leaves ------------------------------------------
    def expr(self, node) -> list:
        if node is None:
            return []
        if isinstance(node, ast.Await):
            return self.expr(node.value)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Constant) or isinstance(node, (ast.List, ast.Tuple, ast.Set)) and not node.elts \
                or isinstance(node, ast.Dict) and not node.keys:  # an empty container holds nothing yet
            return [["k"]]
        if isinstance(node, ast.Name):
            if node.id in self.env:
                return self.env[node.id]
            if node.id in CALLER_NAMES:
                return [["c", node.id]]
            return [["g", self.mod.qualify(node.id) or node.id]]
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            return self.access(node)
        if isinstance(node, ast.Lambda):
            return [["?"]]
        if isinstance(node, ast.IfExp):  # x.id if isinstance(x, Row) else UUID(x): the test is no value
            self.expr(node.test)
            return _dedupe([*self.expr(node.body), *self.expr(node.orelse)]) or [["?"]]
        leaves: list = []
        children = list(ast.iter_child_nodes(node))
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            # [(fid, ofid) for fid, ofid in pairs]: the loop binds the names its element reads
            children.sort(key=lambda child: not isinstance(child, ast.comprehension))
        for child in children:
            if isinstance(child, ast.expr):
                leaves += self.expr(child)
            elif isinstance(child, ast.comprehension):
                self.bind(child.target, self.expr(child.iter))
                for cond in child.ifs:
                    self.expr(cond)
                    # [d for d in deals if d.account_id == user.account_id]: only the caller's rows stay
                    self.check(cond.lineno, self.verified(cond, True))
            elif isinstance(child, ast.keyword):
                leaves += self.expr(child.value)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            return leaves or [["?"]]
        return _dedupe(leaves) or [["?"]]

    def access(self, node) -> list:
        """``request.data["x"]``, ``self.kwargs["pk"]``, ``deal.owner_id``, ``user.account_id``."""
        text = dotted(node) if isinstance(node, ast.Attribute) else None
        base = node.value
        key = _subscript_key(node) if isinstance(node, ast.Subscript) else None
        if isinstance(node, ast.Subscript):
            self.expr(node.slice)
        base_text = dotted(base) or ""
        if key is not None:
            found = self._kwarg(base_text, key)
            if found:
                return found
        if _is_session(text or base_text):  # request.session["deal_id"]: set by the server after a check
            return [["s", text or base_text]]
        if _is_request_data(text or base_text):
            return [["r", text or base_text]]
        if text and _is_caller(text):
            return [["c", text]]
        inner = self.expr(base)
        attr = node.attr if isinstance(node, ast.Attribute) else None
        out = []
        fetched = attr and any(leaf[0] == "call" for leaf in inner)
        for leaf in inner:
            if leaf[0] == "call" and attr:
                out.append(["row", leaf[1], attr])
            elif leaf[0] == "r" and fetched:
                continue  # deal.owner_id of a row fetched by a request key: the row is judged at its fetch
            elif leaf[0] in ("r", "c", "p", "row", "k", "?"):
                out.append(leaf)
            elif leaf[0] == "g":
                out.append(["g", f"{leaf[1]}.{attr}" if attr else leaf[1]])
            else:
                out.append(leaf)
        return _dedupe(out) or [["?"]]

    def _kwarg(self, base: str, key: str) -> list | None:
        """``self.kwargs["pk"]`` / ``view.kwargs["pk"]``: the URL's keyword; ``kwargs["pk"]`` of the
        function's own ``**kwargs``: the keyword argument ``pk`` its caller passed."""
        if base == self.kwargs_name:
            return [["p", key]]
        if base.split(".")[-1] == "kwargs" and "." in base:
            return [["r", f"kwargs:{key}"]]
        return None

    def call(self, node: ast.Call) -> list:
        func = node.func
        name = dotted(func)
        inner = len(self.calls)  # calls made while its receiver and arguments are evaluated start here
        # Receivers of method chains are walked first: ``Deal.objects.filter(...).first()``.
        if isinstance(func, ast.Attribute) and name is None:
            receiver = self.expr(func.value)
        else:
            receiver = None
        args = [self.expr(a.value if isinstance(a, ast.Starred) else a) for a in node.args]
        if (name or "").rsplit(".", 1)[-1] in SPAWNERS:  # asyncio.create_task(poll()): poll runs as a job
            for leaves in args:
                for leaf in leaves:
                    if leaf[0] == "call":
                        self.calls[leaf[1]]["spawned"] = True
        kw = {k.arg: self.expr(k.value) for k in node.keywords if k.arg}
        for k in node.keywords:
            if not k.arg:
                self.expr(k.value)
        callee = self._callee(func, name)
        short = (name or "").rsplit(".", 1)[-1]
        if _is_request_data(name):  # request.GET.getlist("id"), request.get_json()
            return [["r", name]]
        if receiver is None and name and (name in TRANSPARENT or short in TRANSPARENT and "." not in name):
            return _dedupe([leaf for a in [*args, *kw.values()] for leaf in a]) or [["?"]]
        if _irrelevant(name, callee, short):  # print(), len(), logger.info(), ValueError(), self.assertEqual()
            return [["?"]]
        if isinstance(func, ast.Attribute) and func.attr in FILLING and (args or kw):
            self._fill(func.value, [leaf for a in [*args, *kw.values()] for leaf in a])
        if callee.startswith(("?.", "var:", "param:")) and short in PLAIN_METHODS:
            held = receiver if receiver is not None else self.expr(func.value)
            return _dedupe([*held, *(leaf for a in [*args, *kw.values()] for leaf in a)]) or [["?"]]
        if isinstance(func, ast.Attribute) and func.attr in VALUE_METHODS:
            base = dotted(func.value) or ""
            key = _constant(node.args[0]) if node.args else None
            found = self._kwarg(base, key) if key else None  # self.kwargs.get("pk"), kwargs.get("pk")
            if found:
                return found
            held = receiver if receiver is not None else self.expr(func.value)
            if any(leaf[0] == "r" for leaf in held) or (key and any(leaf[0] == "p" for leaf in held)):
                # data.get("id") of request data, payload.get("id") of a parameter
                return _dedupe([*held, *(leaf for a in args for leaf in a)])
        values = [leaf[1] for a in [*args, *kw.values()] for leaf in a if leaf[0] == "g"]
        falsy = {str(i): kind for i, a in enumerate(node.args) if (kind := _falsy_kind(a))}
        falsy.update({k.arg: kind for k in node.keywords if k.arg and (kind := _falsy_kind(k.value))})
        fact = {"callee": callee, "line": node.lineno, "column": node.col_offset + 1,
                "end_line": node.end_lineno or node.lineno, "end_column": (node.end_col_offset or 0) + 1,
                "args": args, "kw": kw}
        if values:
            fact["values"] = sorted(set(values))
        if falsy:
            fact["falsy"] = falsy  # arguments passed as None ("none") or False/0/"" ("false"), by position or name
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            fact["splat"] = True  # f(*args, **kwargs): which parameters it fills is not seen
        if self.admin_depth:
            fact["admin"] = True
        if receiver is not None and callee.startswith("?."):
            fact["receiver"] = receiver
        self.calls.append(fact)
        index = len(self.calls) - 1
        method = func.attr if isinstance(func, ast.Attribute) else short
        if method in NARROWING and callee.startswith("var:") and (args or kw):
            # stmt = select(M) ... stmt = stmt.where(M.flow_id == key): the statement written
            # lines above is looked up by this key too
            given = _dedupe(leaf for a in [*args, *kw.values()] for leaf in a  # col(M.id), .in_(...): no values
                            if not (leaf[0] in ("call", "row") and leaf[1] >= inner))
            for root in self._built_from(fact)[1:]:
                if root["line"] < node.lineno:
                    root["narrowed_by"] = _dedupe([*root.get("narrowed_by", ()), *given])
        if method in NARROWING and self._tenant_filter(node):
            # super().get_queryset().filter(event=...): the rows that call returns are narrowed here
            held = receiver if receiver is not None else self.env.get((name or "").split(".")[0], [])
            for leaf in held:
                if leaf[0] == "call" and leaf[1] < index:
                    self.calls[leaf[1]]["narrowed"] = node.lineno
        if short in PERMISSION_CALLS:  # check_object_permissions(request, obj), user.has_perm("x", obj)
            self.check(node.lineno, [leaf for a in args for leaf in a if leaf[0] in ("call", "row", "p")
                                     and not (leaf[0] == "p" and leaf[1] in ("request", "self", "user"))])
        # What the request or the caller controls stays so through a plain function
        # (parse_id(request.GET["id"]), decode(pk)), unless the caller's identity goes in too
        # (compute_virtual_flow_id(current_user.id, flow_id): a key of the caller's own); a
        # method's result (a row fetched by it) is a row.
        if name and "." not in name and not name[:1].isupper():
            given = [leaf for a in [*args, *kw.values()] for leaf in a]
            if any(leaf[0] == "c" for leaf in given):
                return [["call", index], ["own", f"{name}()"]]
            return [["call", index], *_dedupe(leaf for leaf in given if leaf[0] in ("r", "p"))]
        return [["call", index]]

    def _tenant_filter(self, node: ast.Call) -> bool:
        """``filter(event=...)``, ``filter(event__organizer=...)``, ``where(Deal.account_id == x)``."""
        if any(k.arg and self.file.is_tenant_attr(k.arg.split("__")[0]) for k in node.keywords):
            return True
        for arg in node.args:
            if isinstance(arg, ast.Compare) and len(arg.ops) == 1 and isinstance(arg.ops[0], (ast.Eq, ast.In)):
                for side in (arg.left, arg.comparators[0]):
                    side = _unwrap_col(side)
                    if isinstance(side, ast.Attribute) and self.file.is_tenant_attr(side.attr):
                        return True
        return False

    def _callee(self, func, name: str | None) -> str:
        if name is None:
            if isinstance(func, ast.Attribute):
                inner = func.value
                if isinstance(inner, ast.Call) and dotted(inner.func) == "super":
                    return f"super.{func.attr}"
                return f"?.{func.attr}"
            return "?"
        head, _, rest = name.partition(".")
        if head in ("self", "cls"):
            return name
        if head in self.env and rest:  # a method of a local or a parameter
            leaves = self.env[head]
            if leaves and leaves[0][0] == "p":
                return f"param:{head}.{rest}"
            return f"var:{head}.{rest}"
        return self.mod.qualify(name) or name

    def _values_of(self, node) -> list[str]:
        if isinstance(node, ast.Call):
            return [self.mod.qualify(dotted(a)) for a in node.args if dotted(a)]
        return []

    # -- checks: what passing a condition ties to the caller ---------------------------------
    def verified(self, node, truth: bool) -> list:
        """Leaves that are tied to the caller's tenant when ``node`` evaluates to ``truth``."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return self.verified(node.operand, not truth)
        if isinstance(node, ast.BoolOp):
            # ``deal.owner_id is not None and ...``: a test for an unowned row restricts nothing
            # about other tenants; it is left out of the combination.
            parts = [self.verified(v, truth) for v in node.values if not self._none_test(v)]
            if not parts:
                return []
            # (a and b) true: both hold; (a or b) false: both fail. Otherwise only what every branch verifies.
            union = isinstance(node.op, ast.And) == truth
            if union:
                return _dedupe([leaf for p in parts for leaf in p])
            common = parts[0]
            for p in parts[1:]:
                common = [leaf for leaf in common if leaf in p]
            return common
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            return self._compare(node, truth)
        if isinstance(node, ast.Name):
            if node.id in self.conditions and node.id not in self._testing:  # ok = ok and ...: once
                self._testing.add(node.id)
                try:
                    return self.verified(self.conditions[node.id], truth)
                finally:
                    self._testing.discard(node.id)
            leaves = self.env.get(node.id) or []
            return self._membership_of(leaves) if truth else []
        if isinstance(node, ast.Call):
            return self._membership_call(node) if truth else []
        return []

    def _none_test(self, node) -> bool:
        """``x.owner_id is None`` / ``x.owner_id is not None`` / ``x.owner_id`` alone."""
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.Is, ast.IsNot)):
            other = node.comparators[0]
            return (isinstance(other, ast.Constant) and other.value is None
                    and self._tenant_side(node.left) is not None)
        return isinstance(node, ast.Attribute) and self._tenant_side(node) is not None

    def _compare(self, node: ast.Compare, truth: bool) -> list:
        op = node.ops[0]
        left, right = node.left, node.comparators[0]
        if isinstance(right, ast.Constant) and right.value is None and isinstance(left, ast.Name) and (
                isinstance(op, ast.IsNot) and truth or isinstance(op, ast.Is) and not truth):
            # ``flow = read_flow(session, flow_id, user.id)`` then ``if flow is None: raise``
            return self._membership_of(self.env.get(left.id) or [])
        if isinstance(op, (ast.Eq, ast.Is)) and truth or isinstance(op, (ast.NotEq, ast.IsNot)) and not truth:
            return self._count_match(left, right) or self._count_match(right, left) or self._tenant_equal(left, right)
        if isinstance(op, ast.In) and truth or isinstance(op, ast.NotIn) and not truth:
            # ``deal in user.deals`` / ``user in deal.members`` / ``deal.account_id in user_accounts``
            if _mentions_caller(right) or self._tenant_side(right) is not None:
                return self._objects(left)
            if _mentions_caller(left):
                found = self._tenant_side(right)
                return found or []
        return []

    def _count_match(self, counted, keys) -> list:
        """``if matched != len(ids): raise`` where ``matched`` counts the caller's rows among
        ``ids`` (a query filtered by the tenant): every key given to that count is the caller's."""
        if not (isinstance(keys, ast.Call) and dotted(keys.func) == "len" and len(keys.args) == 1):
            return []
        if isinstance(counted, ast.Name):
            return self._membership_of(self.env.get(counted.id) or [])
        if isinstance(counted, ast.Call):
            return self._membership_call(counted)
        return []

    def _tenant_equal(self, left, right) -> list:
        out = []
        for side, other in ((left, right), (right, left)):
            if isinstance(other, ast.Constant):
                continue
            found = self._tenant_side(side)
            if found is not None and _root(_unwrap(side)) != _root(_unwrap(other)):
                out += found
        return _dedupe(out)

    def _tenant_side(self, node) -> list | None:
        """Leaves of ``obj`` for ``obj.account_id`` / ``obj.account.id`` / ``obj.owner`` (also
        inside ``str(...)``/``int(...)``)."""
        node = _unwrap(node)
        if isinstance(node, ast.Name):  # owner = deal.account_id; ... if owner != user.account_id
            rows = [["call", leaf[1]] for leaf in self.env.get(node.id, ())
                    if leaf[0] == "row" and self.file.is_tenant_attr(leaf[2])]
            return rows or None
        attrs = []
        while isinstance(node, (ast.Attribute, ast.Subscript)):  # attrs["board"].organization_id too
            if isinstance(node, ast.Attribute):
                attrs.append(node.attr)
            node = node.value
        if not attrs or not isinstance(node, ast.Name):
            return None
        if not any(self.file.is_tenant_attr(a) for a in attrs):
            return None
        if node.id not in self.env:
            return None
        leaves = [leaf for leaf in self.env[node.id] if leaf[0] in ("p", "call", "row", "r")]
        return leaves or None

    def _objects(self, node) -> list:
        if isinstance(node, ast.Name) and node.id in self.env:
            return [leaf for leaf in self.env[node.id] if leaf[0] in ("p", "call", "row", "r")]
        found = self._tenant_side(node)
        return found or []

    def _membership_of(self, leaves: list) -> list:
        """A boolean or a row computed by a call: what that call verified. A name bound in
        branches (``flow = session.get(Flow, flow_id)`` in one, a query scoped to the user in
        the other) verifies only what every call it may hold verifies."""
        found = [self._verifies_call(self.calls[leaf[1]]) for leaf in leaves if leaf[0] == "call"]
        if not found:
            return []
        common = found[0]
        for other in found[1:]:
            common = [leaf for leaf in common if leaf in other]
        return _dedupe(common)

    def _membership_call(self, node: ast.Call) -> list:
        for i in range(len(self.calls) - 1, -1, -1):
            c = self.calls[i]
            if c["line"] == node.lineno and c["column"] == node.col_offset + 1:
                return self._verifies_call(c)
        return []

    def _verifies_call(self, call: dict) -> list:
        """A call that mentions the caller (``filter(deal_id=deal_id, user=request.user).exists()``,
        ``has_access(user, deal)``) verifies the keys and rows it is given. So does one given
        a parameter named for the tenant (``select(Flow).where(Flow.id == flow_id, Flow.user_id
        == user_id)`` in ``get_user_flow(session, flow_id, user_id)``): the fetch is scoped by
        it, as the scope analysis would judge that query, and what it verifies is the key."""
        chain = self._built_from(call)
        leaves = [leaf for c in chain for a in [*c["args"], *c["kw"].values()] for leaf in a]
        tenant = {leaf[1] for leaf in leaves if leaf[0] == "p" and self.file.is_tenant_attr(leaf[1])}
        if not tenant and not any(leaf[0] == "c" for leaf in leaves) and not any(
                leaf[0] == "p" and leaf[1] in CALLER_NAMES for leaf in leaves):
            return []
        return _dedupe([leaf for leaf in leaves if leaf[0] in ("p", "r", "call", "row")
                        and not (leaf[0] == "p" and leaf[1] in CALLER_NAMES | tenant | {"request", "self"})])

    def _built_from(self, call: dict) -> list[dict]:
        """The calls a result is made of: its method chain, the calls given to it, and the
        call whose result it is invoked on (``result = await session.exec(select(Flow)
        .where(...))`` then ``flow = result.first()``)."""
        out, todo, seen = [], [call], set()
        while todo and len(out) < MAX_BUILT_FROM:
            current = todo.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            out.append(current)
            given = [leaf for a in [*current["args"], *current["kw"].values()] for leaf in a]
            todo += [self.calls[leaf[1]] for leaf in [*current.get("receiver", ()), *given]
                     if leaf[0] == "call" and leaf[1] < len(self.calls)]
            if current["callee"].startswith("var:"):
                name = current["callee"][4:].partition(".")[0]
                todo += [self.calls[leaf[1]] for leaf in self.env.get(name, ())
                         if leaf[0] == "call" and leaf[1] < len(self.calls)]
        return out


MAX_BUILT_FROM = 20  # calls followed back from one result


def _irrelevant(name: str | None, callee: str, short: str) -> bool:
    if not name:
        return False
    head = name.split(".", 1)[0]
    return (name in BUILTINS or head in LOGGERS or (head == "self" and short.startswith("assert"))
            or (short[:1].isupper() and short.endswith(("Error", "Exception", "Warning"))
                and short not in ("HTTPException",)))


def _constant(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _short(node) -> str:
    """A condition as the message quotes it (bounded)."""
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _unwrap_col(node):
    """``col(Deal.account_id)`` (SQLModel) -> ``Deal.account_id``."""
    while (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords
           and (dotted(node.func) or "").rsplit(".", 1)[-1] == "col"):
        node = node.args[0]
    return node


def _unwrap(node):
    """``str(obj.owner_id)`` -> ``obj.owner_id``."""
    while (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords
           and (dotted(node.func) or "") in TRANSPARENT):
        node = node.args[0]
    return node


def _denies(body) -> bool:
    """A branch that stops the request: raises, returns, or calls ``abort(403)``."""
    for stmt in body[:3]:
        if isinstance(stmt, (ast.Raise, ast.Return)):
            return True
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            name = (dotted(stmt.value.func) or "").rsplit(".", 1)[-1]
            if name in DENY_CALLS:
                return True
    return False


def _is_main_guard(stmt) -> bool:
    return (isinstance(stmt, ast.If) and isinstance(stmt.test, ast.Compare)
            and dotted(stmt.test.left) == "__name__")


def _is_request_data(text: str | None) -> bool:
    if not text:
        return False
    parts = text.split(".")
    if parts[:2] == ["self", "initial_data"]:  # a DRF serializer's raw input
        return True
    for i, part in enumerate(parts[:-1]):
        if part in ("request", "req", "flask_request") and parts[i + 1] in REQUEST_ATTRS:
            return True
    return False


def _is_session(text: str | None) -> bool:
    parts = (text or "").split(".")
    return any(p in ("request", "req") and n == "session" for p, n in zip(parts, parts[1:]))


def _is_caller(text: str) -> bool:
    parts = text.split(".")
    if parts[0] in ("current_user", "g") and len(parts) > 1:
        return True
    for i, part in enumerate(parts[:-1]):
        if part in ("request", "req") and parts[i + 1] in CALLER_ATTRS:
            return True
    return parts[0] == "user" and len(parts) > 1


def _mentions_caller(node) -> bool:
    text = dotted(node) or ""
    return _is_caller(text) or text in CALLER_NAMES


def _root(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _subscript_key(node: ast.Subscript) -> str | None:
    s = node.slice
    return s.value if isinstance(s, ast.Constant) and isinstance(s.value, str) else None


def _depends_target(node) -> str | None:
    if isinstance(node, ast.Call) and (dotted(node.func) or "").rsplit(".", 1)[-1] in ("Depends", "Security"):
        if node.args:
            target = node.args[0]
            if isinstance(target, ast.Call):
                target = target.func
            return dotted(target)
    return None


def _annotated_depends(node) -> str | None:
    """``Annotated[User, Depends(current_user)]``."""
    if isinstance(node, ast.Subscript) and (dotted(node.value) or "").endswith("Annotated"):
        for el in _elements(node.slice):
            found = _depends_target(el)
            if found:
                return found
    return None


def _annotation_name(node) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.strip("'\"").split("[")[0] or None
    if isinstance(node, ast.BinOp):  # Deal | None
        return _annotation_name(node.left)
    if isinstance(node, ast.Subscript):
        head = dotted(node.value) or ""
        if head.rsplit(".", 1)[-1] in ("Optional", "Annotated"):
            first = _elements(node.slice)
            return _annotation_name(first[0]) if first else None
        return None
    return dotted(node)


def _undecorate(node):
    return node.func if isinstance(node, ast.Call) else node


def _flag_test(test, params: list[str], truthy: bool) -> tuple[str, str] | None:
    """(parameter, "truthy" | "set") a test requires (``if flag:`` / ``if x is not None:``) or,
    with ``truthy=False``, requires not to hold (``if not flag:``, ``if x is None:``, also as
    one part of an ``or``)."""
    if not truthy and isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        for part in test.values:
            found = _flag_test(part, params, truthy=False)
            if found:
                return found
        return None
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _flag_test(test.operand, params, not truthy)
    if isinstance(test, ast.Name) and test.id in params:
        return (test.id, "truthy") if truthy else None
    if (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Is, ast.IsNot))
            and isinstance(test.left, ast.Name) and test.left.id in params
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None):
        return (test.left.id, "set") if isinstance(test.ops[0], ast.IsNot) == truthy else None
    return None


def _falsy_kind(node) -> str | None:
    """"none" for a literal ``None``, "false" for ``False``/``0``/``""``."""
    if isinstance(node, ast.Constant) and node.value is None:
        return "none"
    if isinstance(node, ast.Constant) and node.value in (False, 0, "") and node.value is not None:
        return "false"
    return None


def _serializer_meta(node: ast.ClassDef) -> dict | None:
    """``class Meta: model = Card; fields = [...]`` of a ModelSerializer: the model, the
    fields (a list or ``"__all__"``), those it makes read-only (``read_only_fields``,
    ``extra_kwargs``), and the fields the class declares itself (which replace DRF's
    implicit ones)."""
    if not any((dotted(b) or "").endswith("ModelSerializer") for b in node.bases):
        return None
    meta = next((s for s in node.body if isinstance(s, ast.ClassDef) and s.name == "Meta"), None)
    if meta is None:
        return None
    values = {t.id: stmt for stmt in meta.body if isinstance(stmt, ast.Assign)
              for t in stmt.targets if isinstance(t, ast.Name)}
    model = dotted(values["model"].value) if "model" in values else None
    if not model or "fields" not in values:
        return None
    fields = strings(values["fields"].value) or []
    read_only = strings(values["read_only_fields"].value) or [] if "read_only_fields" in values else []
    extra = values["extra_kwargs"].value if "extra_kwargs" in values else None
    if isinstance(extra, ast.Dict):  # extra_kwargs = {"board": {"read_only": True}}
        read_only += [string(k) for k, v in zip(extra.keys, extra.values)
                      if string(k) and isinstance(v, ast.Dict) and _true_key(v, "read_only")]
    declared = {t.id for stmt in node.body if isinstance(stmt, (ast.Assign, ast.AnnAssign))
                for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]) if isinstance(t, ast.Name)}
    return {"model": model.rsplit(".", 1)[-1], "fields": "__all__" if fields == ["__all__"] else fields,
            "line": values["fields"].lineno, "declared": sorted(declared), "read_only": sorted(set(read_only))}


def _true_key(mapping: ast.Dict, key: str) -> bool:
    return any(string(k) == key and isinstance(v, ast.Constant) and v.value is True
               for k, v in zip(mapping.keys, mapping.values))


def _related_field(node) -> bool:
    """``PrimaryKeyRelatedField(queryset=...)``, ``SlugRelatedField``, a form's ``ModelChoiceField``:
    the client names rows by id and the field fetches them from its queryset."""
    if not isinstance(node, ast.Call):
        return False
    short = (dotted(node.func) or "").rsplit(".", 1)[-1]
    return (short.endswith("RelatedField") or short in ("ModelChoiceField", "ModelMultipleChoiceField")) and any(
        k.arg == "queryset" for k in node.keywords)


def _self_attribute_type(target, value) -> tuple[str, str] | None:
    """``self.repo = DealRepo(...)`` -> ("repo", "DealRepo")."""
    if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"
            and isinstance(value, ast.Call)):
        made = dotted(value.func)
        if made and made.rsplit(".", 1)[-1][:1].isupper():
            return target.attr, made
    return None


def _queryset_override(target) -> str | None:
    """``self.fields["board"].queryset = ...`` -> ``board``."""
    if isinstance(target, ast.Attribute) and target.attr == "queryset" and isinstance(target.value, ast.Subscript):
        holder = target.value
        if dotted(holder.value) in ("self.fields", "fields") or (dotted(holder.value) or "").endswith(".fields"):
            return _subscript_key(holder)
    return None


def _elements(node) -> list:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return list(node.elts)
    return [node] if node is not None else []


def _qual(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _dedupe(leaves: list) -> list:
    out = []
    for leaf in leaves:
        if leaf not in out:
            out.append(leaf)
    return out
