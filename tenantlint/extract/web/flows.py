"""Which statements of a function feed rows into an export: a CSV writer, a file, a download.

Query facts point at the line where a query is created; an export writes a variable holding
it some lines later (``rows = qs.values_list(...)`` ... ``writer.writerows(rows)``). So from
each sink we follow the names it is given back to every expression assigned to them
(flow-insensitively, the whole function, nested generator functions included) and return
those expressions' source ranges. The linker marks the queries starting inside a range as
exports. Values that pass through ``count()``, ``exists()``, ``len()`` or ``aggregate()``
carry no rows: they are not followed, and are holes in the ranges.

Two kinds of sink: file sinks (CSV/Excel/JSON writers, ``to_csv``, streaming and file
responses, ``serialize``) always export; response sinks (``JsonResponse``, ``Response``,
``return``) export only in a handler whose name or URL says export. Rows handed to
``bulk_update`` are no export: they are written back (a read-modify-write).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from tenantlint.extract.web.names import callee, dotted, keyword, last, string

# obj.method(...) that writes rows out, whatever obj is.
FILE_METHODS = {"writerow", "writerows", "to_csv", "to_excel", "to_json", "to_parquet", "to_feather", "to_xml",
                "to_pickle", "to_hdf", "to_orc", "to_stata", "write_csv", "write_excel", "write_json",
                "write_parquet", "write_ndjson", "export_csv", "export_xlsx"}
# obj.method(...) that writes rows out when obj is a writer, a worksheet or an open file.
WRITER_METHODS = {"write", "writelines", "append", "write_row", "write_rows", "write_column", "add_row", "dump"}
# Calls that make such a writer.
WRITER_FACTORIES = {"writer", "DictWriter", "Workbook", "add_worksheet", "create_sheet", "open", "NamedTemporaryFile",
                    "ZipFile", "GzipFile", "TextIOWrapper", "Writer"}
WRITER_ATTRS = {"active", "worksheet", "sheet"}
# f(data, ...) that dumps data.
DUMP_FUNCS = {"dump", "serialize", "savetxt", "dump_all"}
FILE_RESPONSES = {"StreamingHttpResponse", "FileResponse", "StreamingResponse", "send_file", "FileWrapper",
                  "stream_with_context", "EventSourceResponse"}
RESPONSES = {"HttpResponse", "Response", "JsonResponse", "jsonify", "make_response", "JSONResponse", "ORJSONResponse",
             "UJSONResponse", "PlainTextResponse", "HTMLResponse", "render", "TemplateResponse", "render_template",
             "render_to_response", "json_response"}
_FILE_TYPE = re.compile(r"csv|excel|spreadsheet|octet-stream|zip|ndjson|x-gzip|openxmlformats|ms-|attachment", re.I)
NO_ROWS = {"count", "exists", "aggregate", "acount", "aexists", "aaggregate", "exists_or_404"}
NO_ROWS_FUNCS = {"len", "bool", "any", "all", "sum", "max", "min"}
# Model.objects.bulk_update(rows, fields): the rows are written back to their table.
WRITE_BACK = {"bulk_update", "abulk_update"}


@dataclass
class Flows:
    """Source ranges ``[line, column, end_line, end_column]`` (1-based, end exclusive) of the
    expressions whose rows reach a sink; ``holes``: ranges inside them that carry no rows
    (``len(...)``, ``.count()``)."""

    sink_spans: list = field(default_factory=list)
    response_spans: list = field(default_factory=list)
    return_spans: list = field(default_factory=list)  # returned as they are: a response only if routed
    holes: list = field(default_factory=list)
    sinks: list = field(default_factory=list)  # what writes: "writerow", "to_csv", "FileResponse", ...
    # One per sink call: {"sink": "csv.writer", "line": 9, "spans": [...]}; file sinks, write-backs.
    sink_calls: list = field(default_factory=list)
    write_backs: list = field(default_factory=list)
    returns_response: bool = False  # some ``return`` gives a response: the function looks like a view

    @property
    def writes_file(self) -> bool:
        return bool(self.sinks)

    @property
    def writes_back(self) -> bool:
        return bool(self.write_backs)


NO_FLOWS = Flows()


def export_flows(func: ast.FunctionDef | ast.AsyncFunctionDef) -> Flows:
    index = _Index(func)
    flows = Flows()
    for call, kind in index.sinks():
        if kind == "response" and index.attachment:
            kind = "file"
        exprs = _written_back(call) if kind == "write" else _seeds(call, index)
        spans = [rng(e) for e in exprs] + index.spans_of(_names_of(exprs))
        if kind == "file":
            flows.sinks.append(_sink_name(call))
            flows.sink_spans += spans
            flows.sink_calls.append(_sink_call(call, index, spans))
        elif kind == "write":
            flows.write_backs.append(_sink_call(call, index, spans))
        else:
            flows.response_spans += spans
    for value in index.returns:
        flows.return_spans += [rng(value)] + index.spans_of(_names(value))
        flows.returns_response = flows.returns_response or index.is_response(value)
    flows.sink_spans = _unique(flows.sink_spans)
    flows.response_spans = _unique(flows.response_spans)
    flows.return_spans = _unique(flows.return_spans)
    flows.holes = _unique(index.holes) if flows.sink_spans or flows.response_spans or flows.return_spans else []
    flows.sinks = sorted(set(flows.sinks))
    return flows


def rng(node: ast.AST) -> list[int]:
    return [node.lineno, node.col_offset + 1, node.end_lineno or node.lineno, (node.end_col_offset or 0) + 1]


def _unique(spans: list) -> list:
    return [list(s) for s in sorted({tuple(s) for s in spans})]


def _method(call: ast.Call) -> str:
    """``to_csv`` for ``pd.read_sql(q, c).to_csv(f)``: the name called, whatever it is called on."""
    return call.func.attr if isinstance(call.func, ast.Attribute) else last(callee(call))


def _sink_name(call: ast.Call) -> str:
    return _method(call) or "call"


def _sink_call(call: ast.Call, index, spans: list) -> dict:
    """``writer.writerow(row)`` with ``writer = csv.writer(f)`` is "csv.writer"."""
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    label = index.writers.get(receiver.id) if isinstance(receiver, ast.Name) else None
    return {"sink": label or callee(call) or _sink_name(call), "line": call.lineno, "spans": _unique(spans)}


def _written_back(call: ast.Call) -> list[ast.AST]:
    """The rows of ``bulk_update(rows, fields)``."""
    rows = call.args[0] if call.args else keyword(call, "objs")
    return [rows] if rows is not None else []


def _seeds(call, index) -> list[ast.AST]:
    """The expressions a sink call writes: its arguments, and its receiver unless that is
    the writer itself (``df.to_csv()`` writes df; ``writer.writerow(row)`` writes row)."""
    out: list[ast.AST] = []
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    if receiver is not None and not (isinstance(receiver, ast.Name) and receiver.id in index.writers):
        out.append(receiver)
    out += [a.value if isinstance(a, ast.Starred) else a for a in call.args]
    out += [k.value for k in call.keywords]
    return out


def _names_of(exprs) -> set[str]:
    out: set[str] = set()
    for e in exprs:
        out |= _names(e)
    return out


def _names(node: ast.AST | None) -> set[str]:
    """Names whose rows an expression carries (not through count()/len()/exists())."""
    out: set[str] = set()
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Call) and _no_rows(n):
            continue
        if isinstance(n, ast.Name):
            out.add(n.id)
            continue
        if isinstance(n, (ast.Lambda,)):
            continue
        stack.extend(ast.iter_child_nodes(n))
    return out


class _Index:
    """The function's statements once: assignments per name, sink calls, returned values."""

    def __init__(self, func):
        self.assigns: dict[str, list] = {}  # name -> [value expr]
        self.calls: list = []  # every Call
        self.returns: list = []  # returned values
        self.holes: list = []  # ranges of count()/len()/exists() calls
        self.writers: dict[str, str] = {}  # name -> what made it: "csv.writer", "open"
        self.attachment = False
        self._block(func.body)

    # -- indexing ----------------------------------------------------------------------------
    def _block(self, body) -> None:
        for stmt in body:
            self._stmt(stmt)

    def _stmt(self, stmt) -> None:
        match stmt:
            case ast.FunctionDef() | ast.AsyncFunctionDef():
                self._block(stmt.body)  # nested generators feeding a StreamingHttpResponse
                return
            case ast.ClassDef():
                return
            case ast.For(target=target, iter=it) | ast.AsyncFor(target=target, iter=it):
                self._bind(target, it)
                self._exprs([it])
                self._block(stmt.body)
                self._block(stmt.orelse)
                return
            case ast.With(items=items) | ast.AsyncWith(items=items):
                for item in items:
                    if item.optional_vars is not None:
                        self._bind(item.optional_vars, item.context_expr)
                self._exprs([i.context_expr for i in items])
                self._block(stmt.body)
                return
            case ast.If(test=test) | ast.While(test=test):
                self._exprs([test])
                self._block(stmt.body)
                self._block(stmt.orelse)
                return
            case ast.Try():
                self._block(stmt.body)
                for handler in stmt.handlers:
                    self._block(handler.body)
                self._block(stmt.orelse)
                self._block(stmt.finalbody)
                return
            case ast.Match(subject=subject, cases=cases):
                self._exprs([subject])
                for case in cases:
                    self._block(case.body)
                return
        match stmt:
            case ast.Assign(targets=targets, value=value):
                for t in targets:
                    self._bind(t, value)
                    self._subscript_write(t, value)
            case ast.AnnAssign(target=target, value=value) if value is not None:
                self._bind(target, value)
            case ast.AugAssign(target=target, value=value):
                self._bind(target, value)
            case ast.Expr(value=ast.Call(func=ast.Attribute(value=ast.Name(id=name))) as call):
                # cursor.execute(sql), qs.update(...): the receiver now holds what the call did.
                self.assigns.setdefault(name, []).append(call)
            case ast.Return(value=value) if value is not None:
                self.returns.append(value)
        self._exprs([n for n in ast.iter_child_nodes(stmt) if isinstance(n, ast.expr)])

    def _subscript_write(self, target, value) -> None:
        """``response["Content-Disposition"] = "attachment; ..."``: a download."""
        if isinstance(target, ast.Subscript) and "disposition" in (string(target.slice) or "").lower():
            self.attachment = True

    def _bind(self, target, value) -> None:
        if isinstance(target, ast.Name):
            self.assigns.setdefault(target.id, []).append(value)
            if _is_writer(value):
                self.writers[target.id] = _writer_label(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for el in target.elts:
                self._bind(el.value if isinstance(el, ast.Starred) else el, value)

    def _exprs(self, exprs) -> None:
        for expr in exprs:
            for node in ast.walk(expr):
                if isinstance(node, ast.Call):
                    self.calls.append(node)
                    if _no_rows(node):
                        self.holes.append(rng(node))
                elif isinstance(node, ast.NamedExpr):
                    self._bind(node.target, node.value)
                elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "attachment" in node.value:
                    self.attachment = self.attachment or "filename" in node.value or "attachment;" in node.value
                    # ``attachment; filename=...`` anywhere: the response is a download.

    # -- queries -----------------------------------------------------------------------------
    def sinks(self):
        for call in self.calls:
            kind = self._sink_kind(call)
            if kind:
                yield call, kind

    def _sink_kind(self, call: ast.Call) -> str | None:
        name = callee(call) or ""
        simple = _method(call)
        if isinstance(call.func, ast.Attribute):
            receiver = call.func.value
            if simple in WRITE_BACK:
                return "write"
            if simple in FILE_METHODS:
                return "file"
            if simple in WRITER_METHODS and isinstance(receiver, ast.Name) and receiver.id in self.writers:
                return "file"
        if simple in DUMP_FUNCS and (name in ("json.dump", "yaml.dump", "pickle.dump", "serializers.serialize",
                                              "serialize", "np.savetxt", "numpy.savetxt", "yaml.dump_all")):
            return "file"
        if simple in FILE_RESPONSES:
            return "file"
        if simple in RESPONSES:
            media = keyword(call, "content_type", "mimetype", "media_type")
            disposition = keyword(call, "headers")
            if _FILE_TYPE.search(string(media) or "") or _mentions_attachment(disposition):
                return "file"
            return "response"
        return None

    def is_response(self, value) -> bool:
        """A response constructor (``render``, ``redirect``, ``csv_response``...), or a name bound to one."""
        if isinstance(value, ast.Name):
            return any(isinstance(v, ast.Call) and _responds(v) for v in self.assigns.get(value.id, ()))
        return isinstance(value, ast.Call) and _responds(value)

    def spans_of(self, names: set[str]) -> list:
        out, seen, todo = [], set(), list(names)
        while todo:
            name = todo.pop()
            if name in seen or name in self.writers:
                continue
            seen.add(name)
            for value in self.assigns.get(name, ()):
                out.append(rng(value))
                todo.extend(_names(value) - seen)
        return out


def _no_rows(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr in NO_ROWS) or (
        isinstance(func, ast.Name) and func.id in NO_ROWS_FUNCS)


def _responds(call: ast.Call) -> bool:
    name = _method(call) or ""
    low = name.lower()
    return name in RESPONSES or name in FILE_RESPONSES or low.endswith("response") or low.startswith(
        ("render", "redirect"))


def _is_writer(value) -> bool:
    """A csv writer, a worksheet, an open file, or a response written to piece by piece."""
    if isinstance(value, ast.Call):
        name = last(callee(value)) or last(dotted(value.func))
        return name in WRITER_FACTORIES or name in FILE_RESPONSES or name in ("HttpResponse", "Response")
    return isinstance(value, ast.Attribute) and value.attr in WRITER_ATTRS


def _writer_label(value) -> str:
    if isinstance(value, ast.Call):
        return callee(value) or _method(value)
    return "worksheet"


def _mentions_attachment(node) -> bool:
    return node is not None and any(isinstance(n, ast.Constant) and isinstance(n.value, str)
                                    and ("attachment" in n.value or _FILE_TYPE.search(n.value))
                                    for n in ast.walk(node))
