"""``tenantlint policy test``: run the tests that sit beside the policies.

Two kinds of tests:

- ``*_test.yaml`` files, a safe data-only format that needs no ``with`` (which can crash
  the embedded engine)::

      rule: missing-tenant-filter        # optional: compare only this rule's violations
      cases:
        - name: select without a tenant filter
          config: {accept_join_scope: false}        # optional tenantlint config keys
          input:                                    # partial input, defaults filled in
            tables: {contacts: {tenant_column: account_id}}
            queries: [{line: 3, refs: [{table: contacts}]}]
          expect:                                   # exactly these violations
            - {line: 3, table: contacts, message_contains: "without a tenant filter"}

  Each expected item gives the violation fields that must be equal (``message_contains``
  matches a part of the message); the case passes when every expected item matches a
  different violation and no violation is left over.

- ``test_*`` rules in ``*_test.rego`` files, as ``opa test`` runs them; each file runs in
  its own engine process, so a test that crashes the engine fails alone. With the
  embedded engine, mock parts of the input (``with input.queries as [...]``): replacing
  the whole input (``with input as {...}``) crashes rego-cpp when a rule calls a function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import yaml

from tenantlint.config import Config, config_from_mapping
from tenantlint.engine import policy_config
from tenantlint.engine.embedded import check_function_arities, format_error, run_worker, violation_queries
from tenantlint.engine.modules import (
    PolicyModule, builtin_policy_dir, display_path, load_modules, policy_files, read_module,
)
from tenantlint.engine.results import check_violations, finish
from tenantlint.errors import TenantlintError
from tenantlint.rules import check_rule_ids, rules_from_modules
from tenantlint.schema import complete_input

_TEST_RULE = re.compile(r"^(test_\w+)\s*(?:if\b|\{|:=|=)", re.M)


@dataclass(frozen=True)
class TestResult:
    name: str
    source: str
    passed: bool
    detail: str = ""


def run_policy_tests(dirs: Sequence[str] = ()) -> list[TestResult]:
    """Run the tests in ``dirs`` (default: the built-in policies) against the built-in
    policies plus ``dirs``."""
    extra = [str(Path(d).resolve()) for d in dirs if Path(d).resolve() != builtin_policy_dir()]
    modules = load_modules(extra)
    test_dirs = [Path(d) for d in dirs] or [builtin_policy_dir()]
    results: list[TestResult] = []
    for folder in test_dirs:
        for path in sorted(folder.rglob("*_test.yaml")) + sorted(folder.rglob("*_test.yml")):
            results += run_yaml_tests(path, modules)
        for path in policy_files(folder, tests=True):
            results += run_rego_tests(path, modules)
    return results


def run_yaml_tests(path: Path, modules: Sequence[PolicyModule]) -> list[TestResult]:
    source = display_path(path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return [TestResult(path.name, source, False, f"cannot read the test file: {exc}")]
    cases = spec.get("cases") if isinstance(spec, dict) else None
    if not isinstance(cases, list) or not all(isinstance(c, dict) for c in cases):
        return [TestResult(path.name, source, False, "a test file needs a 'cases' list of mappings")]
    names = [str(case.get("name") or f"case {i + 1}") for i, case in enumerate(cases)]
    try:
        jobs = [_job(case, modules) for case in cases]
        check_function_arities(modules)
        answers = run_worker(modules, jobs)
    except TenantlintError as exc:
        return [TestResult(name, source, False, str(exc)) for name in names]
    queries = violation_queries(modules)
    return [
        _judge(name, source, spec.get("rule"), case.get("expect") or [], queries, case_answers, modules)
        for name, case, case_answers in zip(names, cases, answers)
    ]


def _job(case: dict, modules: Sequence[PolicyModule]) -> dict:
    config = config_from_mapping(case.get("config") or {}, source="test case config")
    rules = rules_from_modules(modules, config)
    check_rule_ids(config, rules)
    return {
        "data": {"tenantlint": {"config": policy_config(config, rules)}},
        "input": complete_input(case.get("input") or {}),
        "queries": violation_queries(modules),
    }


def _judge(name, source, rule, expect, queries, answers, modules) -> TestResult:
    actual: list[dict] = []
    for query, answer in zip(queries, answers):
        if "error" in answer:
            return TestResult(name, source, False, format_error(answer["error"], modules))
        try:
            actual += check_violations(answer.get("value"), query)
        except TenantlintError as exc:
            return TestResult(name, source, False, str(exc))
    actual = [v for v in finish(actual) if (rule is None or v["rule"] == rule) and not v.get("exempted")]
    missing, unexpected = match_violations(expect, actual)
    if not missing and not unexpected:
        return TestResult(name, source, True)
    lines = [f"expected, not found: {item}" for item in missing]
    lines += [f"found, not expected: {_brief(v)}" for v in unexpected]
    return TestResult(name, source, False, "\n".join(lines))


def match_violations(expect: Sequence[dict], actual: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """(expected items no violation matched, violations no expected item matched)."""
    left = list(actual)
    missing = []
    for item in expect:
        found = next((v for v in left if _matches(item, v)), None)
        if found is None:
            missing.append(item)
        else:
            left.remove(found)
    return missing, left


def _matches(item: dict, violation: dict) -> bool:
    for key, value in item.items():
        if key == "message_contains":
            if str(value) not in violation.get("message", ""):
                return False
        elif violation.get(key) != value:
            return False
    return True


def _brief(violation: dict) -> str:
    keys = ("rule", "severity", "path", "line", "table", "message")
    return str({k: violation[k] for k in keys if k in violation})


def run_rego_tests(path: Path, modules: Sequence[PolicyModule]) -> list[TestResult]:
    try:
        test_module = read_module(path, builtin=False)
    except TenantlintError as exc:
        return [TestResult(path.name, display_path(path), False, str(exc))]
    names = list(dict.fromkeys(_TEST_RULE.findall(test_module.source)))
    if not names:
        return []
    all_modules = [*modules, test_module]
    queries = [f"data.{test_module.package}.{name}" for name in names]
    data = {"tenantlint": {"config": policy_config(Config(), rules_from_modules(modules))}}
    try:
        check_function_arities(all_modules)
        answers = run_worker(all_modules, [{"data": data, "input": {}, "queries": queries}])[0]
    except TenantlintError as exc:
        return [TestResult(name, test_module.path, False, str(exc)) for name in names]
    results = []
    for name, answer in zip(names, answers):
        if "error" in answer:
            results.append(TestResult(name, test_module.path, False, format_error(answer["error"], all_modules)))
        elif answer.get("value") is True:
            results.append(TestResult(name, test_module.path, True))
        else:
            got = "undefined" if answer.get("undefined") else repr(answer.get("value"))
            results.append(TestResult(name, test_module.path, False, f"expected true, got {got}"))
    return results


def format_results(results: Sequence[TestResult]) -> str:
    lines = []
    for result in results:
        lines.append(f"{'PASS' if result.passed else 'FAIL'} {result.source}: {result.name}")
        lines += [f"    {line}" for line in result.detail.splitlines()]
    passed = sum(r.passed for r in results)
    lines.append(f"{passed} passed, {len(results) - passed} failed")
    return "\n".join(lines) + "\n"
