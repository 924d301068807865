"""Policy evaluation time against the number of findings: it must grow linearly.

rego-cpp evaluates a partial set (``violations contains v if ...``) in time that grows
with the square of its size; the built-in rules are array comprehensions, and the
engine splits large inputs into batches. This builds input documents whose every query
is one finding (an unscoped read of a tenant-owned table), up to 10,000, evaluates them
with the embedded engine, and prints the time per 1,000 findings at each size.

    python benchmarks/bench_engine.py                  # 1,000 to 10,000 findings
    python benchmarks/bench_engine.py --sizes 500 20000
"""

from __future__ import annotations

import argparse
import time

from tenantlint.config import Config
from tenantlint.engine import evaluate
from tenantlint.findings import findings
from tenantlint.program.link import link

CONFIG = Config(tenant_columns=("tenant_id",))


def document(n: int) -> dict:
    """Policy input with ``n`` unscoped reads of ``notes``, one per line of one file."""
    schema = {"path": "schema.sql", "tables": [{"name": "notes", "model": None, "columns": ["id", "tenant_id"],
                                                "tenant_column": "tenant_id", "line": 1}],
              "queries": [], "routes": [], "fields": [], "constants": {}}
    queries = [{
        "path": "app/queries.py", "line": i + 1, "column": 5, "end_line": i + 1, "end_column": 40,
        "kind": "select", "origin": "raw-sql", "function": f"app.queries.read_{i}",
        "code": f"SELECT body FROM notes WHERE id = {i}", "export": False, "lookup": False,
        "refs": [{"table": "notes", "model": None, "alias": None, "use": "read", "scope": "none",
                  "reason": "no tenant filter"}],
    } for i in range(n)]
    app = {"path": "app/queries.py", "tables": [], "queries": queries, "routes": [], "fields": [], "constants": {}}
    return link([schema, app], CONFIG)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2500, 5000, 10000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{'findings':>9} {'median s':>9} {'s per 1000':>11}")
    per_thousand = []
    for n in args.sizes:
        doc = document(n)
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            violations = evaluate(doc, CONFIG)
            times.append(time.perf_counter() - start)
        found = findings(violations, doc)
        if len(found) != n:
            raise SystemExit(f"expected {n} findings, got {len(found)}")
        median = sorted(times)[len(times) // 2]
        per_thousand.append(median / n * 1000)
        print(f"{n:9} {median:9.2f} {per_thousand[-1]:11.3f}")
    growth = per_thousand[-1] / per_thousand[0]
    verdict = "linear" if growth < 1.5 else "SUPERLINEAR"
    print(f"time per finding at {args.sizes[-1]} vs {args.sizes[0]}: {growth:.2f}x ({verdict})")


if __name__ == "__main__":
    main()
