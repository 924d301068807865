"""Turn policy violations into findings: located, deduplicated, fingerprinted, sorted.

The fingerprint identifies a finding without its line number (rule, path, normalised code of
the query, enclosing function, table), so baselines survive edits above the finding.
"""

from __future__ import annotations

import hashlib
from typing import Callable

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def findings(violations: list[dict], document: dict, anchor: Callable[[str], str] | None = None) -> list[dict]:
    """Findings from violations, in a deterministic order, one per (rule, place, table).

    ``anchor`` maps a finding's path (relative to the current directory) to the path its
    fingerprint uses (relative to the project root), so that a baseline written at the
    root still matches a scan run from a subfolder.
    """
    queries = document.get("queries", [])
    seen: set = set()
    out: list[dict] = []
    for violation in violations:
        query = _query_of(violation, queries)
        finding = {
            "rule": violation["rule"],
            "severity": violation.get("severity", "error"),
            "message": violation.get("message", ""),
            "path": violation.get("path") or (query or {}).get("path", ""),
            "line": int(violation.get("line") or (query or {}).get("line") or 1),
            "column": int(violation.get("column") or (query or {}).get("column") or 1),
            "end_line": int(violation.get("end_line") or violation.get("line") or (query or {}).get("end_line") or 1),
        }
        if violation.get("table"):
            finding["table"] = violation["table"]
        if query is not None:
            finding["function"] = query.get("function")
            if query.get("route"):
                finding["route"] = query["route"]
        code = (query or {}).get("code") or violation.get("code") or ""
        if violation.get("context"):
            finding["context"] = violation["context"]
        if violation.get("steps"):
            finding["paths"] = [violation["steps"]]
        if violation.get("site_code") and query is not None:
            # Reported at a call into the data layer: the call identifies the finding, the
            # query is a related location.
            finding["function"] = violation.get("site_function")
            code = f"{violation['site_code']} -> {code}"
            finding["related"] = [{"path": query["path"], "line": query["line"], "column": query.get("column", 1),
                                   "message": "the query"}]
        key = (finding["rule"], finding["path"], finding["line"], finding["column"], finding.get("table"))
        if key in seen:
            continue
        seen.add(key)
        path = anchor(finding["path"]) if anchor else finding["path"]
        finding["fingerprint"] = fingerprint(finding["rule"], path, code,
                                             finding.get("function"), finding.get("table"), finding["message"])
        out.append(finding)
    out.sort(key=lambda f: (f["path"], f["line"], f["column"], f["rule"], f.get("table") or "", f["message"]))
    return out


def fingerprint(rule: str, path: str, code: str, function: str | None, table: str | None, message: str) -> str:
    """Stable across unrelated edits: no line numbers, whitespace-insensitive code."""
    basis = "\x1f".join([rule, path, " ".join(code.split()) or message, function or "", table or ""])
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:20]


def _query_of(violation: dict, queries: list[dict]) -> dict | None:
    index = violation.get("query")
    if isinstance(index, int) and 0 <= index < len(queries):
        return queries[index]
    return None
