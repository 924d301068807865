"""Time of the whole-program stage against the number of functions: it must grow linearly.

Builds function facts of a synthetic project (modules of 100 functions; every tenth
function is a routed handler whose chain of nine helpers ends in an unscoped lookup by a
URL key; half the chains check the fetched row), then times the call graph, the
contexts and the path verdicts (:mod:`tenantlint.program`) at each size, and prints the
time per 1,000 functions. Linear growth keeps that column flat.

    python benchmarks/bench_callgraph.py                  # 2,500 to 20,000 functions
    python benchmarks/bench_callgraph.py --sizes 1000 40000
"""

from __future__ import annotations

import argparse
import time

from tenantlint.config import Config
from tenantlint.program.callgraph import CallGraph
from tenantlint.program.contexts import Contexts
from tenantlint.program.paths import judge

CHAIN = 10


def project(n: int) -> tuple[list[dict], list[dict]]:
    """(files, queries) of ``n`` functions."""
    files, queries = [], []
    for start in range(0, n, 100):
        module = f"app.m{start // 100}"
        functions = []
        for i in range(start, min(start + 100, n)):
            name = f"{module}.f{i}"
            fact = {"name": name, "line": i % 100 * 10 + 1, "class": None, "params": ["session", "deal_id"],
                    "calls": []}
            if i % CHAIN == 0:
                fact["decorators"] = ["fastapi.APIRouter.get"]
            if i % CHAIN != CHAIN - 1 and i + 1 < n:
                callee = f"app.m{(i + 1) // 100}.f{i + 1}"
                fact["calls"].append({"callee": callee, "line": fact["line"] + 1, "column": 5, "end_line": fact["line"] + 1,
                                      "end_column": 30, "args": [[["p", "session"]], [["p", "deal_id"]]], "kw": {}})
                fact["calls"][0]["target"] = "deal"
                if (i // CHAIN) % 2 and i % CHAIN == 0:
                    fact["checks"] = [{"line": fact["line"] + 2, "verifies": [["call", 0]]}]
            else:
                fact["calls"].append({"callee": "?.get", "line": fact["line"] + 1, "column": 12,
                                      "end_line": fact["line"] + 1, "end_column": 40,
                                      "args": [[["g", "app.models.Deal"]], [["p", "deal_id"]]], "kw": {}})
                queries.append({"path": f"app/m{i // 100}.py", "line": fact["line"] + 1, "column": 12,
                                "end_line": fact["line"] + 1, "end_column": 40, "kind": "lookup", "lookup": True,
                                "function": name, "code": "session.get(Deal, deal_id)",
                                "refs": [{"table": "deals", "tenant_owned": True, "scope": "none", "use": "read"}]})
            functions.append(fact)
        files.append({"path": f"app/m{start // 100}.py", "program": {"functions": functions}})
    return files, queries


def stage(files: list[dict], queries: list[dict], config: Config) -> float:
    began = time.perf_counter()
    graph = CallGraph(files)
    judge(queries, graph, Contexts(graph, [], config), config)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_500, 5_000, 10_000, 20_000])
    args = parser.parse_args()
    config = Config(tenant_columns=("org_id",))
    print(f"{'functions':>10} {'seconds':>9} {'ms per 1k':>10} {'open sites':>11}")
    for n in args.sizes:
        files, queries = project(n)
        seconds = stage(files, queries, config)
        open_sites = sum(1 for q in queries for s in q["sites"] if s["guard"] is None)
        print(f"{n:>10} {seconds:>9.3f} {seconds / n * 1e6:>10.1f} {open_sites:>11}")


if __name__ == "__main__":
    main()
