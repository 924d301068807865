"""The built-in policies: their YAML cases and Rego tests, and their METADATA docs."""

from pathlib import Path

import jsonschema
import pytest
import yaml

from tenantlint.engine.modules import builtin_policy_dir, load_modules
from tenantlint.policy_test import run_rego_tests, run_yaml_tests
from tenantlint.rules import load_rules
from tenantlint.schema import complete_input, input_schema

POLICIES = builtin_policy_dir()
YAML_TESTS = sorted(POLICIES.rglob("*_test.yaml"))
RULE_FOLDERS = sorted(p for p in POLICIES.iterdir() if p.is_dir() and p.name not in ("lib", "__pycache__"))

EXPECTED_RULES = {
    "bulk-export": "error",
    "cross-tenant-activity": "warning",
    "missing-tenant-filter": "error",
    "unencrypted-sensitive-field": "warning",
    "unprotected-export-endpoint": "error",
    "unscoped-lookup": "error",
    "unscoped-write": "error",
    "weak-row-level-security": "error",
}


def test_every_rule_folder_has_its_policy_and_its_tests():
    assert [p.name for p in RULE_FOLDERS] == sorted(EXPECTED_RULES)
    for folder in RULE_FOLDERS:
        stem = folder.name.replace("-", "_")
        assert (folder / f"{stem}.rego").is_file()
        assert (folder / f"{stem}_test.yaml").is_file()
        source = (folder / f"{stem}.rego").read_text()
        assert f"package tenantlint.rules.{stem}\n" in source


@pytest.mark.parametrize("path", YAML_TESTS, ids=lambda p: p.parent.name)
def test_yaml_cases_pass(path: Path):
    cases = yaml.safe_load(path.read_text())["cases"]
    results = run_yaml_tests(path, load_modules())
    assert [r.name for r in results] == [c["name"] for c in cases]
    failures = [f"{r.name}: {r.detail}" for r in results if not r.passed]
    assert failures == []


@pytest.mark.parametrize("path", YAML_TESTS, ids=lambda p: p.parent.name)
def test_yaml_case_inputs_follow_the_input_schema(path: Path):
    for case in yaml.safe_load(path.read_text())["cases"]:
        jsonschema.validate(complete_input(case.get("input") or {}), input_schema())


def test_library_rego_tests_pass():
    results = run_rego_tests(POLICIES / "lib" / "tenantlint_test.rego", load_modules())
    assert len(results) == 9
    assert [(r.name, r.detail) for r in results if not r.passed] == []


def test_metadata_documents_every_rule():
    rules = [r for r in load_rules() if r.package != "host"]  # host rules: tests/gate
    assert {r.id: r.severity for r in rules} == EXPECTED_RULES
    for rule in rules:
        assert rule.source == "built-in"
        assert rule.package == "tenantlint.rules." + rule.id.replace("-", "_")
        for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
            assert heading in rule.description, (rule.id, heading)
        refs = [r["ref"] for r in rule.related_resources]
        assert any(ref.startswith("https://cwe.mitre.org/") for ref in refs), rule.id
        assert any(ref.startswith("https://owasp.org/") or "owasp" in ref for ref in refs), rule.id
        assert all(r.get("description") for r in rule.related_resources), rule.id


def test_builtin_rules_use_array_comprehensions_and_no_sprintf_of_strings():
    """Partial sets are quadratic in regopy, and its sprintf("%s") mangles computed strings."""
    for path in POLICIES.rglob("*.rego"):
        source = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        assert "violations contains" not in source, path
        assert "sprintf(" not in source, path
