"""The embedded engine: regopy (rego-cpp) evaluated in child processes.

A child process per evaluation keeps a crash of the C library (some uses of ``with``
segfault it) from killing the scan: the crash becomes a PolicyError naming the policy
at fault. Large inputs are split by query over a few children, which run in
parallel; every child sees all tables, routes and fields, so only violations that
count across queries could differ from one whole evaluation.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from tenantlint.engine.modules import PolicyModule, files_of
from tenantlint.engine.results import check_violations
from tenantlint.errors import EngineError, PolicyError

WORKER = Path(__file__).with_name("worker.py")
MIN_QUERIES_PER_WORKER = 1500
MAX_WORKERS = 4
DEFAULT_TIMEOUT = 300.0  # seconds per child: pretix's whole evaluation takes under one


class Prepared:
    """A policy child started before the input document exists: it loads and compiles the
    policies (a third of a second) while the scan links the program, on another CPU.
    :func:`evaluate` hands it the input; :meth:`close` ends it when nothing needed it."""

    def __init__(self, modules: Sequence[PolicyModule], data: dict):
        self.modules, self.data, self.queries = list(modules), data, violation_queries(modules)
        self.proc: subprocess.Popen | None = _start()
        request = {"prepare": {"modules": _module_list(modules), "data": data, "queries": self.queries}}
        try:
            self.proc.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
            self.proc.stdin.flush()
        except OSError:  # the child died at once: evaluate() starts another
            self.close()

    def take(self, modules: Sequence[PolicyModule], data: dict) -> subprocess.Popen | None:
        """The child, once, if it was prepared with these policies and data."""
        proc, self.proc = self.proc, None
        if proc is not None and list(modules) == self.modules and data == self.data and proc.poll() is None:
            return proc
        _end(proc)
        return None

    def close(self) -> None:
        proc, self.proc = self.proc, None
        _end(proc)


def prepare(data: dict, modules: Sequence[PolicyModule]) -> Prepared | None:
    """A child getting the policies ready for an :func:`evaluate` call to come; None when
    they do not pass the checks that run before any child (evaluate reports those)."""
    try:
        check_function_arities(modules)
    except PolicyError:
        return None
    return Prepared(modules, data) if violation_queries(modules) else None


def evaluate(input_doc: dict, data: dict, modules: Sequence[PolicyModule],
             timeout: float = DEFAULT_TIMEOUT, prepared: Prepared | None = None) -> list[dict]:
    """Violations of every ``tenantlint.rules.*`` package for ``input_doc``. A child that
    runs longer than ``timeout`` is killed (PolicyError); so are all of them when the scan
    is interrupted, instead of the interrupt waiting for them. ``prepared``: a child from
    :func:`prepare`, which takes the first batch if its policies and data are these."""
    check_function_arities(modules)
    queries = violation_queries(modules)
    ready = prepared.take(modules, data) if prepared is not None else None
    if not queries:
        _end(ready)
        return []
    batches = split_input(input_doc)
    jobs = [[{"data": data, "input": batch, "queries": queries}] for batch in batches]
    running: list[subprocess.Popen] = [ready] if ready is not None else []

    def answer(index: int) -> list[dict]:
        return run_worker(modules, jobs[index], timeout, running, ready if index == 0 else None)[0]

    pool = ThreadPoolExecutor(max_workers=len(jobs))
    try:
        answers = list(pool.map(answer, range(len(jobs))))
    except BaseException:
        for proc in running:
            proc.kill()
        raise
    finally:
        pool.shutdown(wait=False)
    violations: list[dict] = []
    for batch_answers in answers:
        for query, answer in zip(queries, batch_answers):
            package = package_of_query(query)
            if "error" in answer:
                raise PolicyError(format_error(answer["error"], modules, package))
            where = ", ".join(files_of(modules, package))
            violations += check_violations(answer.get("value"), where)
    return violations


def violation_queries(modules: Sequence[PolicyModule]) -> list[str]:
    packages = sorted({m.package for m in modules if m.is_rule})
    return [f"data.{package}.violations" for package in packages]


def package_of_query(query: str) -> str:
    """``data.a.b.violations`` -> ``a.b``."""
    return query.removeprefix("data.").rsplit(".", 1)[0]


# A function head: optional `default`, a name, its arguments, then a body or a value.
_FUNCTION_HEAD = re.compile(r"^(?:default[ \t]+)?([A-Za-z_]\w*)\(([^()]*)\)[ \t]*(?::=|=|if\b|\{)", re.M)
# A `with` that replaces input or data, outside comments.
_WITH = re.compile(r"^[^#\n]*\swith\s+(?:input|data)\b", re.M)


def check_function_arities(modules: Sequence[PolicyModule]) -> None:
    """rego-cpp segfaults when two packages define functions of one name with different
    numbers of arguments: say so before it happens, naming both definitions."""
    seen: dict[str, tuple[int, str]] = {}
    for module in modules:
        for match in _FUNCTION_HEAD.finditer(module.source):
            name, arity = match.group(1), _arity(match.group(2))
            where = f"{module.path}:{module.source.count(chr(10), 0, match.start()) + 1}"
            first = seen.setdefault(name, (arity, where))
            if first[0] != arity:
                raise PolicyError(
                    f"{where}: function {name} takes {arity} argument(s) here and {first[0]} at {first[1]}; "
                    "the embedded engine (rego-cpp) crashes on functions of one name with different "
                    "numbers of arguments, even in different packages: rename one of them"
                )


def _arity(arguments: str) -> int:
    depth, count = 0, 1
    for ch in arguments:
        depth += ch in "[{"
        depth -= ch in "]}"
        count += ch == "," and depth == 0
    return count if arguments.strip() else 0


def split_input(input_doc: dict) -> list[dict]:
    """Contiguous slices of the queries, each with the whole rest of the document."""
    queries = input_doc.get("queries") or []
    workers = max(1, min(os.cpu_count() or 1, MAX_WORKERS, math.ceil(len(queries) / MIN_QUERIES_PER_WORKER)))
    size = math.ceil(len(queries) / workers) if queries else 0
    if workers == 1:
        return [input_doc]
    return [{**input_doc, "queries": queries[i:i + size]} for i in range(0, len(queries), size)]


def run_worker(modules: Sequence[PolicyModule], jobs: list[dict], timeout: float = DEFAULT_TIMEOUT,
               running: list | None = None, ready: subprocess.Popen | None = None) -> list[list[dict]]:
    """Run ``jobs`` in one child process; the answers per job and query.

    Raises PolicyError when a module does not load, the engine crashes or the child runs
    longer than ``timeout``, EngineError when the child cannot run at all. ``running``
    collects the child, for a caller that must be able to kill it. ``ready``: a prepared
    child (:class:`Prepared`) to run the one job on.
    """
    if ready is not None:
        proc = _communicate(ready, json.dumps({"input": jobs[0]["input"]}).encode("utf-8") + b"\n", timeout, modules)
    else:
        proc = _spawn(modules, jobs, timeout, running)
    events = _events(proc.stdout)
    last = events[-1] if events else {}
    if "results" in last:
        return last["results"]
    if "error" in last:
        raise PolicyError(format_error(last["error"], modules))
    if "internal" in last:
        raise EngineError(f"the embedded policy engine failed: {last['internal']}")
    raise PolicyError(_crash_message(proc, events, modules, jobs))


def _spawn(modules: Sequence[PolicyModule], jobs: list[dict], timeout: float = DEFAULT_TIMEOUT,
           running: list | None = None) -> subprocess.CompletedProcess:
    request = {"modules": _module_list(modules), "jobs": jobs}
    proc = _start()
    if running is not None:
        running.append(proc)
    return _communicate(proc, json.dumps(request).encode("utf-8"), timeout, modules)


def _start() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-I", str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _module_list(modules: Sequence[PolicyModule]) -> list[dict]:
    return [{"path": m.path, "source": m.source} for m in modules]


def _communicate(proc: subprocess.Popen, payload: bytes, timeout: float,
                 modules: Sequence[PolicyModule]) -> subprocess.CompletedProcess:
    """Send the child its (last) request and wait for it, at most ``timeout`` seconds."""
    try:
        out, err = proc.communicate(payload, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        packages = ", ".join(sorted({m.package for m in modules if not m.builtin})) or "the built-in policies"
        raise PolicyError(f"policy evaluation took longer than policy_timeout ({timeout:g} s): a policy loops or "
                          f"grows without bound (user policies: {packages}); raise policy_timeout for a huge "
                          "project") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _end(proc: subprocess.Popen | None) -> None:
    """Kill and reap a child nothing will ask anything (it may still be compiling)."""
    if proc is None:
        return
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        proc.communicate(timeout=5)


def _events(stdout: bytes) -> list[dict]:
    events = []
    for line in stdout.decode("utf-8", "replace").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


def _crash_message(proc: subprocess.CompletedProcess, events: list[dict], modules: Sequence[PolicyModule],
                   jobs: list[dict]) -> str:
    if proc.returncode >= 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return (f"the embedded policy engine exited with status {proc.returncode} and no answer"
                + (f": {detail[-1]}" if detail else ""))
    try:
        how = f"crashed ({signal.Signals(-proc.returncode).name})"
    except ValueError:
        how = f"was killed by signal {-proc.returncode}"
    culprits = _culprits(modules, jobs)
    progress = [e for e in events if "loading" in e or "evaluating" in e]
    if culprits:
        where = "because of " + ", ".join(f"package {p} ({', '.join(files_of(modules, p))})" for p in culprits)
    elif progress and "evaluating" in progress[-1]:
        package = package_of_query(progress[-1]["evaluating"])
        where = f"while evaluating package {package} ({', '.join(files_of(modules, package))})"
    elif progress:
        where = f"while loading {progress[-1]['loading']}"
    else:
        where = f"with policies {', '.join(files_of(modules))}"
    return (f"the embedded policy engine {how} {where}; rego-cpp crashes on some uses of `with` "
            "(replacing the whole input while a rule calls a function; mock input.<key> instead): "
            "rewrite that part of the policy or evaluate it on an OPA server (--opa-url)")


def _culprits(modules: Sequence[PolicyModule], jobs: list[dict]) -> list[str]:
    """The user packages without which the engine no longer crashes.

    rego-cpp may crash while compiling every rule, whatever query is running, so the
    package being evaluated is not necessarily the one at fault. Built-in policies are
    tested; each user package is left out in turn, on a small sample of the input. A
    package that only imports the faulty one passes this test too, so packages that use
    `with` (the usual cause) are preferred.
    """
    packages = sorted({m.package for m in modules if not m.builtin})
    if len(packages) <= 1:
        return packages
    sample = [{**job, "input": {**job["input"], "queries": (job["input"].get("queries") or [])[:100]}}
              for job in jobs[:1]]
    found = [p for p in packages if _spawn([m for m in modules if m.package != p], sample).returncode >= 0]
    using_with = [p for p in found if any(_WITH.search(m.source) for m in modules if m.package == p)]
    return using_with or found


def format_error(error: dict, modules: Sequence[PolicyModule], package: str | None = None) -> str:
    """``path:line: message``; when the engine gave no location, find the line it names."""
    message = error.get("message") or "policy error"
    if error.get("path") and error.get("line"):
        return f"{error['path']}:{error['line']}: {message}"
    candidates = [m for m in modules if package is None or m.package == package] or list(modules)
    pattern = _pattern_for(message)
    if pattern:
        for module in candidates:
            match = re.search(pattern, module.source, re.M)
            if match:
                return f"{module.path}:{module.source.count(chr(10), 0, match.start()) + 1}: {message}"
    return f"{', '.join(m.path for m in candidates)}: {message}"


def _pattern_for(message: str) -> str | None:
    """A regex for the source line an unlocated engine error is about."""
    function = re.match(r"Function not found: ([\w.]+)", message)
    if function:
        return r"\b" + re.escape(function.group(1)) + r"\s*\("
    recursion = re.match(r"Recursion detected in rule body: data\.[\w.]*\.(\w+)", message)
    if recursion:
        return r"^\s*" + re.escape(recursion.group(1)) + r"\b"
    return None
