"""Check, de-duplicate and order what the policies return, whatever engine ran them.

Policies may return ``violations`` as a set or an array (both arrive as JSON arrays);
built-in rules use arrays, which rego-cpp builds in linear time. A malformed violation
is a PolicyError naming the policy, never a crash of the report.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from tenantlint.config import SEVERITIES
from tenantlint.errors import PolicyError

_REQUIRED = {"rule": str, "severity": str, "message": str, "path": str, "line": int}
_OPTIONAL_INT = ("column", "end_line", "end_column", "query")


def check_violations(value: Any, where: str) -> list[dict]:
    """The violations in ``value`` (a rule's ``violations``; None when undefined)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise PolicyError(f"{where}: violations must be a set or an array of objects, not {_kind(value)}")
    return [_check(item, where) for item in value]


def _check(item: Any, where: str) -> dict:
    if not isinstance(item, dict):
        raise PolicyError(f"{where}: a violation must be an object, not {_kind(item)}: {_short(item)}")
    for key, kind in _REQUIRED.items():
        if not _is(item.get(key), kind):
            raise PolicyError(f"{where}: violation needs '{key}' ({kind.__name__}): {_short(item)}")
    if item["severity"] not in SEVERITIES:
        raise PolicyError(f"{where}: severity must be one of {', '.join(SEVERITIES)}: {_short(item)}")
    for key in _OPTIONAL_INT:
        if item.get(key) is not None and not _is(item[key], int):
            raise PolicyError(f"{where}: '{key}' must be a whole number: {_short(item)}")
    if item.get("table") is not None and not isinstance(item["table"], str):
        raise PolicyError(f"{where}: 'table' must be a string: {_short(item)}")
    out = dict(item)
    out.setdefault("column", 1)
    out.setdefault("end_line", item["line"])
    return out


def finish(violations: Iterable[dict]) -> list[dict]:
    """Drop exact duplicates (sets, split evaluations) and sort deterministically."""
    unique = {json.dumps(v, sort_keys=True): v for v in violations}
    return sorted(unique.values(), key=_order)


def _order(v: dict) -> tuple:
    return (
        v["path"], v["line"], v["column"], v["rule"], v.get("table") or "", v["message"],
        json.dumps(v, sort_keys=True),
    )


def _is(value: Any, kind: type) -> bool:
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."
