"""The call graph on its own: resolution kinds, unresolved calls, cycles, a deep chain."""

from __future__ import annotations

from tenantlint.config import Config
from tenantlint.program import callgraph
from tenantlint.program.callgraph import CallGraph
from tenantlint.program.contexts import Contexts
from tenantlint.program.paths import MAX_DEPTH, judge


def _fn(name, calls=(), cls=None, params=("session", "deal_id"), **extra):
    return {"name": name, "line": 1, "class": cls, "params": list(params), "calls": [
        {"callee": c, "line": 2, "column": 5, "end_line": 2, "end_column": 9,
         "args": [[["p", "session"]], [["p", "deal_id"]]], "kw": {}} for c in calls], **extra}


def _graph(*functions, classes=(), instances=None, path="app/m.py"):
    program = {"functions": list(functions), "classes": list(classes), "instances": instances or {}}
    return CallGraph([{"path": path, "program": program}])


def _edges(graph):
    return sorted((e.caller, e.callee, e.kind) for e in graph.edges)


def test_methods_resolve_through_self_super_singletons_and_annotations():
    graph = _graph(
        _fn("app.m.Base.fetch", cls="app.m.Base"),
        _fn("app.m.Store.fetch", ["super.fetch"], cls="app.m.Store"),
        _fn("app.m.Store.load", ["self.fetch"], cls="app.m.Store"),
        _fn("app.m.use_singleton", ["app.m.Stores.load"]),
        _fn("app.m.use_param", ["param:store.load"], annotations={"store": "app.m.Store"}),
        classes=[{"name": "app.m.Base", "bases": []}, {"name": "app.m.Store", "bases": ["app.m.Base"]}],
        instances={"Stores": "app.m.Store"},
    )
    assert _edges(graph) == [
        ("app.m.Store.fetch", "app.m.Base.fetch", "call"),
        ("app.m.Store.load", "app.m.Store.fetch", "call"),
        ("app.m.use_param", "app.m.Store.load", "call"),
        ("app.m.use_singleton", "app.m.Store.load", "call"),
    ]


def test_handoffs_values_and_unresolved_calls():
    graph = _graph(
        _fn("app.m.task"),
        _fn("app.m.view", ["app.m.task.delay", "unknown.thing", "?.get"]),
        {**_fn("app.m.launch"), "calls": [{"callee": "rq.Queue.enqueue", "line": 2, "column": 1, "end_line": 2,
                                            "end_column": 9, "args": [[["g", "app.m.task"]], [["k"]]], "kw": {},
                                            "values": ["app.m.task"]}]},
    )
    assert _edges(graph) == [("app.m.launch", "app.m.task", "handoff"), ("app.m.view", "app.m.task", "handoff")]
    assert [e.shift for e in graph.edges if e.caller == "app.m.launch"] == [1]  # enqueue(fn, a): a is task's first
    assert graph.unresolved == 3  # unknown.thing, a common method name, rq's enqueue itself


def _query(function, line=2):
    return {"path": "app/m.py", "line": line, "column": 5, "end_line": line, "end_column": 9, "kind": "lookup",
            "lookup": True, "function": function, "code": "q",
            "refs": [{"table": "deals", "tenant_owned": True, "scope": "none", "use": "read"}]}


def test_cycles_are_cut():
    graph = _graph(
        _fn("app.m.view", ["app.m.a"], decorators=["fastapi.APIRouter.get"]),
        _fn("app.m.a", ["app.m.b"]),
        _fn("app.m.b", ["app.m.a"]),
    )
    query = _query("app.m.b")
    judge([query], graph, Contexts(graph, [], Config()), Config())
    assert query["contexts"] == ["request"]
    assert [(s["function"], s["line"], s["context"], s["key"]) for s in query["sites"]] == [
        ("app.m.view", 2, "request", "request")]


def test_a_chain_of_ten_thousand_functions_is_walked_to_a_bounded_depth():
    n = 10_000
    functions = [_fn(f"app.m.f{i}", [f"app.m.f{i + 1}"] if i + 1 < n else [],
                     decorators=["fastapi.APIRouter.get"] if i == 0 else []) for i in range(n)]
    graph = _graph(*functions)
    contexts = Contexts(graph, [], Config())
    assert len(contexts.of) == n and contexts.contexts(f"app.m.f{n - 1}") == ["request"]
    query = _query(f"app.m.f{n - 1}")
    judge([query], graph, contexts, Config())
    (site,) = query["sites"]
    assert site["context"] == "request" and len(site["steps"]) == MAX_DEPTH + 1


def test_a_method_of_an_attribute_of_self_is_the_attributes_class_not_selfs():
    """langflow: ``self._executor.submit(...)`` inside a service that has a ``submit`` of its
    own. The attribute was made from ``InProcessExecutor()``: its ``submit``. An attribute
    whose class is not seen never links to the calling class's own methods."""
    graph = _graph(
        _fn("app.m.Service.__init__", cls="app.m.Service", attr_types={"_executor": "app.m.InProcessExecutor"}),
        _fn("app.m.Service.submit", cls="app.m.Service"),
        _fn("app.m.Service.enqueue", ["self._executor.submit", "self._other.submit"], cls="app.m.Service"),
        _fn("app.m.InProcessExecutor.submit", cls="app.m.InProcessExecutor"),
        classes=[{"name": "app.m.Service", "bases": []}, {"name": "app.m.InProcessExecutor", "bases": []}],
    )
    assert _edges(graph) == [
        ("app.m.Service.enqueue", "app.m.InProcessExecutor.submit", "call"),  # self._executor.submit
        ("app.m.Service.enqueue", "app.m.InProcessExecutor.submit", "call"),  # self._other.submit, by name
    ]


def test_edges_of_unchanged_files_come_from_the_memo_and_the_rest_are_stored(monkeypatch):
    """With a memo (tenantlint.cache.EdgeMemo), a file it knows keeps its recorded edges,
    unresolved; the other files are resolved, and handed back to be stored once more than
    MEMO_STALE_FILES of them were (a hook's few files are cheaper to resolve again)."""
    def function(name, *callees):
        return {"name": name, "line": 1, "class": None, "params": [], "calls": [
            {"callee": c, "line": 2, "column": 1, "end_line": 2, "end_column": 5, "args": [], "kw": {}}
            for c in callees]}

    files = [{"path": "a.py", "program": {"shape": "s1", "functions": [function("a.f", "b.g"), function("a.h")]}},
             {"path": "b.py", "program": {"shape": "s2", "functions": [function("b.g", "a.h")]}}]

    class Memo:
        saved = None

        def load(self, shape):
            self.shape = shape
            return {"a.py": {"sha": "x", "edges": {"a.f": [["a.h", 0, "call", 0, False]], "a.h": []},
                             "unresolved": {"a.f": 2}}}

        def save(self, shape, files):
            self.saved = (shape, files)

    memo = Memo()
    CallGraph(files, memo=memo)
    assert memo.saved is None  # one file resolved afresh
    monkeypatch.setattr(callgraph, "MEMO_STALE_FILES", 0)
    graph = CallGraph(files, memo=memo)
    # a.f's recorded edge (to a.h, not b.g as resolving would say) proves it was not resolved again
    assert [(e.caller, e.callee) for e in graph.edges] == [("a.f", "a.h"), ("b.g", "a.h")]
    assert graph.unresolved == 2
    shape, stored = memo.saved
    assert shape == memo.shape and stored["b.py"] == {"edges": {"b.g": [["a.h", 0, "call", 0, False]]},
                                                      "unresolved": {}}
    assert stored["a.py"]["edges"]["a.f"] == [["a.h", 0, "call", 0, False]]
    del files[1]["program"]["shape"]  # facts from before shapes: no memo at all
    assert [(e.caller, e.callee) for e in CallGraph(files, memo=Memo()).edges] == [("a.f", "b.g"), ("b.g", "a.h")]
