"""Facts of the Python fixture projects, and the rule each unscoped reference would break."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from tenantlint.config import Config, load_config, table_matches
from tenantlint.extract.python import extract_python
from tests.conftest import FIXTURES

PYTHON_CASES = FIXTURES / "python"


@lru_cache(maxsize=None)
def config_of(case: Path) -> Config:
    path = case / "tenantlint.yaml"
    return load_config(path) if path.is_file() else Config()


def facts_of(case: Path, rel: str) -> dict:
    return extract_python(rel, (case / rel).read_bytes(), config_of(case))


def all_facts(case: Path) -> list[dict]:
    return [facts_of(case, f.relative_to(case).as_posix()) for f in sorted(case.rglob("*.py"))]


def refs(facts: dict) -> list[tuple]:
    """(line, model or table, scope, use) of every reference, in file order."""
    out = []
    for q in facts["queries"]:
        for r in q["refs"]:
            out.append((q["line"], r["model"] or r["table"], r["scope"], r["use"]))
    return out


def tenant_owned(case: Path) -> set[str]:
    """Models and tables that own tenant rows: a tenant column of their own or inherited from
    a base declared anywhere in the project (what the linker works out), minus global ones."""
    config = config_of(case)
    tables = [t for facts in all_facts(case) for t in facts["tables"]]
    by_model = {t["model"]: t for t in tables if t["model"]}

    def tenant_column(table, seen=()):
        if table["tenant_column"]:
            return table["tenant_column"]
        for base in table["bases"]:
            if base in by_model and base not in seen:
                found = tenant_column(by_model[base], (*seen, base))
                if found:
                    return found
        return None

    owned = set()
    for t in tables:
        names = [n for n in (t["model"], t["name"]) if n]
        if tenant_column(t) and not t["abstract"] and not any(table_matches(n, config.global_tables) for n in names):
            owned.update(names)
    return owned


def rule_of(query: dict, ref: dict) -> str:
    if ref["use"] == "export":
        return "bulk-export"
    if ref["use"] == "write":
        return "unscoped-write"
    if query["lookup"]:
        return "unscoped-lookup"
    return "missing-tenant-filter"
