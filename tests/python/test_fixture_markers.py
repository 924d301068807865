"""The Python fixture projects: every EXPECT block found, nothing unscoped outside a block.

Checked twice: on the facts alone (what this extractor decides, whatever the linker and the
policies do) and end to end through ``tenantlint.scan``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantlint.scan import scan
from tenantlint.extract.sql import analyze_sql
from tests.conftest import SHARED
from tests.markers import blocks, compare
from tests.python.helpers import PYTHON_CASES, all_facts, config_of, rule_of, tenant_owned

# The query-extraction projects (other folders there belong to route extraction's tests).
CASES = [PYTHON_CASES / "billing", PYTHON_CASES / "clinic"]
QUERY_RULES = {"missing-tenant-filter", "unscoped-lookup", "unscoped-write", "bulk-export"}


def _query_blocks(case: Path):
    """Blocks about a query (not about a route or a field, which other extractors handle)."""
    return [b for b in blocks(case) if b.rules & QUERY_RULES and "unprotected-export-endpoint" not in b.rules]


def _resolve_refs(case: Path, files: list[dict]) -> None:
    """What the linker does for ``sql_ref``: analyse the imported constant at the call site."""
    constants = {}
    for facts in files:
        module = facts["path"].removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for name, constant in facts["constants"].items():
            constants[f"{module}.{name}"] = constant
    for facts in files:
        for i, q in enumerate(facts["queries"]):
            if q.get("sql_ref") and q["sql_ref"] in constants:
                found, _, _, _ = analyze_sql(constants[q["sql_ref"]]["sql"], config_of(case), path=q["path"],
                                          line=q["line"], column=q["column"], function=q["function"])
                facts["queries"][i] = {**q, **found[0]} if found else q


def _facts_findings(case: Path) -> list[dict]:
    files = all_facts(case)
    _resolve_refs(case, files)
    owned = {n.lower() for n in tenant_owned(case)}
    findings = []
    for facts in files:
        for q in facts["queries"]:
            for r in q["refs"]:
                name = (r["model"] or r["table"] or "").lower()
                if r["scope"] == "none" and name in owned:
                    findings.append({"rule": rule_of(q, r), "path": q["path"], "line": q["line"],
                                     "severity": "error"})
    return findings


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_markers_on_facts(case: Path):
    findings = _facts_findings(case)
    query_blocks = _query_blocks(case)
    missed, false = compare(case, findings)
    missed = [b for b in missed if b in query_blocks]
    assert not missed, f"EXPECT blocks with no unscoped reference: {missed}"
    assert not false, f"unscoped references outside every block: {false}"


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_markers_end_to_end(case: Path):
    result = scan(["."], cwd=case)
    missed, false = compare(case, result.findings)
    assert not missed, f"expected findings not reported: {missed}"
    assert not false, f"findings outside EXPECT blocks: {false}"


@pytest.mark.parametrize("name", ["crm_django", "crm_sqlalchemy"])
def test_shared_dev_cases_on_facts(name: str):
    case = SHARED / "dev-cases" / name
    if not case.is_dir():
        pytest.skip("shared dev-cases not present")
    findings = _facts_findings(case)
    query_blocks = _query_blocks(case)
    missed, false = compare(case, findings)
    assert not [b for b in missed if b in query_blocks]
    assert not false
