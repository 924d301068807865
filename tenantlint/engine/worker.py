"""Child process that runs the embedded Rego engine (regopy / rego-cpp).

rego-cpp can crash the whole process on some policies (a segfault on some uses of
``with``) and prints its diagnostics straight to file descriptor 1. Running it here,
in a separate interpreter, keeps both away from the scan: the parent turns a crash
into a PolicyError and our stdout stays the report's.

This file is run by path (``python -I worker.py``) so that nothing from the scanned
project's current directory can shadow a module; it imports only the standard
library and regopy.

Protocol: one JSON request on stdin::

    {"modules": [{"path": "policies/x/x.rego", "source": "..."}],
     "jobs": [{"data": {...}, "input": {...}, "queries": ["data.pkg.violations", ...]}]}

or, for a child started before the input exists (it builds the policies meanwhile), two
lines: ``{"prepare": {"modules": [...], "data": {...}, "queries": [...]}}`` and later
``{"input": {...}}`` (the answer then holds one job's results; no second line: exit).

and JSON lines on the original stdout: progress events ``{"loading": path}`` and
``{"evaluating": query}`` (so the parent can name what was running if the process
dies), then ``{"results": [[{"value": v} | {"undefined": true} | {"error": {...}}, ...]]}``
(one list per job, one entry per query), or ``{"error": {...}}`` when a module does
not load, or ``{"internal": message}`` when the worker itself fails. An error is ``{"message": str, "path": str | null, "line": int | null,
"column": int | null}``.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import sys
import tempfile

# "message\n-- path:line:column" blocks in what rego-cpp prints.
_DIAGNOSTIC = re.compile(r"^(?P<message>[^\n]+)\n-- (?P<path>.+?):(?P<line>\d+):(?P<column>\d+)$", re.M)


class _Diagnostics:
    """Captures what the C library prints on fds 1 and 2, to read locations from it."""

    def __init__(self):
        self._file = tempfile.TemporaryFile()
        os.dup2(self._file.fileno(), 1)
        os.dup2(self._file.fileno(), 2)
        self._libc = ctypes.CDLL(None)

    def take(self) -> str:
        """Everything printed since the last call."""
        self._libc.fflush(None)
        sys.stdout.flush()
        self._file.seek(0)
        text = self._file.read().decode("utf-8", "replace")
        self._file.seek(0)
        self._file.truncate()
        return text


def _length_prefixed(text: str, tag: str) -> str | None:
    """The payload of ``(tag N:payload`` in rego-cpp's error trees (N counts bytes)."""
    match = re.search(r"\(" + re.escape(tag) + r" (\d+):", text)
    if not match:
        return None
    raw = text[match.end():].encode("utf-8")[: int(match.group(1))]
    return raw.decode("utf-8", "replace")


def _error(printed: str, tree: str) -> dict:
    """The first error, located from the printed diagnostics when they have a location."""
    found = _DIAGNOSTIC.search(printed)
    if found:
        return {
            "message": found["message"].strip(),
            "path": found["path"],
            "line": int(found["line"]),
            "column": int(found["column"]),
        }
    message = _length_prefixed(tree, "errormsg") or tree.strip() or "unknown policy engine error"
    return {"message": message, "path": None, "line": None, "column": None}


def _bundle(regopy_api, interpreter, queries: list[str], diagnostics: _Diagnostics):
    """The policies compiled once for all ``queries`` (``data.a.b.violations`` -> entry point
    ``a/b/violations``), or None when they do not build; then each query compiles on its own
    and its error names the place. A plain query compiles every module again: with six
    rules, six compilations instead of one (0.4 s of every scan)."""
    for query in queries:
        regopy_api.rego_add_entrypoint(interpreter._impl, query.removeprefix("data.").replace(".", "/"))
    bundle = regopy_api.rego_build(interpreter._impl)
    if regopy_api.rego_bundle_ok(bundle):
        return bundle
    regopy_api.rego_free_bundle(bundle)
    diagnostics.take()
    return None


def _query(regopy_api, interpreter, query: str, diagnostics: _Diagnostics, bundle=None) -> dict:
    if bundle is None:
        impl = regopy_api.rego_query(interpreter._impl, query)
    else:
        entrypoint = query.removeprefix("data.").replace(".", "/")
        impl = regopy_api.rego_bundle_query_entrypoint(interpreter._impl, bundle, entrypoint)
    try:
        text = regopy_api.rego_output_string(impl)
        if not regopy_api.rego_output_ok(impl) or text.startswith("(error"):
            return {"error": _error(diagnostics.take(), _error_tree(regopy_api, impl, text))}
        if text == "undefined":
            return {"undefined": True}
        try:
            return {"value": json.loads(text)["expressions"][0]}
        except (ValueError, KeyError, IndexError):
            return {"error": {"message": f"the engine returned malformed output: {text[:200]}",
                              "path": None, "line": None, "column": None}}
    finally:
        regopy_api.rego_free_output(impl)


def _error_tree(regopy_api, impl, text: str) -> str:
    """The error text of an output: the string itself or, for "<error>", its node tree."""
    if text.startswith("(error"):
        return text
    return _node_text(regopy_api, regopy_api.rego_output_node(impl))


def _node_text(regopy_api, node) -> str:
    """Error nodes as ``(errormsg N:message)`` text, like the errors rego-cpp raises."""
    parts = []
    kind = regopy_api.rego.regoNodeType(node)
    if kind == regopy_api.NodeKind.ErrorMessage:
        message = regopy_api.rego_node_value(node)
        parts.append(f"(errormsg {len(message.encode('utf-8'))}:{message})")
    for i in range(regopy_api.rego_node_size(node)):
        parts.append(_node_text(regopy_api, regopy_api.rego_node_get(node, i)))
    return "".join(parts)


def _emit(out, event: dict) -> None:
    out.write(json.dumps(event) + "\n")
    out.flush()


def _dumps(value) -> str:
    # rego-cpp keeps strings in their JSON-escaped form: only a JSON text gives it
    # strings it compares and prints correctly (an Input built from Python values
    # loses the escapes, and its output is no longer valid JSON).
    return json.dumps(value, ensure_ascii=False)


def run(request: dict, out) -> None:
    import regopy
    from regopy import rego_shared as regopy_api

    diagnostics = _Diagnostics()
    results = []
    for job in request["jobs"]:
        loaded = _load(regopy, regopy_api, request["modules"], job, out, diagnostics, announce=not results)
        if loaded is None:
            return
        interpreter, bundle = loaded
        interpreter.set_input_term(_dumps(job.get("input", {})))
        results.append(_answers(regopy, regopy_api, interpreter, job["queries"], bundle, out, diagnostics))
    _emit(out, {"results": results})


def run_prepared(prepare: dict, lines, out) -> None:
    """Load and build the policies now, then wait for the input line (``{"input": ...}``):
    the scan sends it once the program is linked. No line (the scan did not need us): exit."""
    import regopy
    from regopy import rego_shared as regopy_api

    diagnostics = _Diagnostics()
    loaded = _load(regopy, regopy_api, prepare["modules"], prepare, out, diagnostics, announce=True)
    line = lines.readline()
    if loaded is None or not line.strip():
        return
    interpreter, bundle = loaded
    interpreter.set_input_term(_dumps(json.loads(line).get("input", {})))
    _emit(out, {"results": [_answers(regopy, regopy_api, interpreter, prepare["queries"], bundle, out, diagnostics)]})


def _load(regopy, regopy_api, modules: list[dict], job: dict, out, diagnostics, announce: bool):
    """An interpreter with the modules and the job's data, and its compiled bundle; None
    (and the error emitted) when a module does not load."""
    interpreter = regopy.Interpreter()
    for module in modules:
        if announce:
            _emit(out, {"loading": module["path"]})
        try:
            interpreter.add_module(module["path"], module["source"])
        except regopy.RegoError as exc:
            _emit(out, {"error": _error(diagnostics.take(), str(exc))})
            return None
    interpreter.add_data_json(_dumps(job.get("data", {})))
    return interpreter, _bundle(regopy_api, interpreter, job["queries"], diagnostics)


def _answers(regopy, regopy_api, interpreter, queries: list[str], bundle, out, diagnostics) -> list[dict]:
    answers = []
    for query in queries:
        _emit(out, {"evaluating": query})
        try:
            answers.append(_query(regopy_api, interpreter, query, diagnostics, bundle))
        except regopy.RegoError as exc:
            answers.append({"error": _error(diagnostics.take(), str(exc))})
        diagnostics.take()
    if bundle is not None:
        regopy_api.rego_free_bundle(bundle)
    return answers


def _die_with_parent() -> None:
    """The scan's lifeline (tenantlint/lifeline.py), loaded by path: this script imports no package."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lifeline.py")
    spec = importlib.util.spec_from_file_location("_tenantlint_lifeline", path)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.die_with_parent()


def main() -> None:
    _die_with_parent()
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    first = sys.stdin.readline()
    try:
        request = json.loads(first) if first.startswith('{"prepare"') else json.loads(first + sys.stdin.read())
        if "prepare" in request:
            run_prepared(request["prepare"], sys.stdin, out)
        else:
            run(request, out)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises
        _emit(out, {"internal": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    main()
