"""`tenantlint policy test`: YAML cases and Rego test rules, passes and failures."""

import re
import textwrap
from pathlib import Path

from tests.conftest import ROOT, run_cli
from tenantlint.policy_test import match_violations, run_policy_tests

USER_RULE = """\
# METADATA
# title: Reads of the audit table
# description: Flags every read of audit_log.
# custom:
#   id: audit-read
#   severity: warning
package tenantlint.rules.audit_read

import rego.v1

import data.tenantlint.lib

violations contains v if {
	some query in input.queries
	some ref in query.refs
	ref.table == "audit_log"
	v := lib.violation("audit-read", query, ref, concat("", ["audit read of ", ref.table]))
}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def user_policies(tmp_path: Path, expect_line: int) -> Path:
    folder = tmp_path / "policies"
    write(folder, "audit_read.rego", USER_RULE)
    write(folder, "audit_read_test.yaml", f"""\
        rule: audit-read
        cases:
          - name: audit reads are flagged
            input:
              queries: [{{path: a.sql, line: 4, refs: [{{table: audit_log}}]}}]
            expect:
              - {{rule: audit-read, severity: warning, line: {expect_line}, message: audit read of audit_log}}
        """)
    return folder


def test_user_yaml_case_passes_with_a_set_style_rule(tmp_path):
    results = run_policy_tests([str(user_policies(tmp_path, 4))])
    assert [(r.name, r.passed, r.detail) for r in results] == [("audit reads are flagged", True, "")]


def test_user_yaml_case_fails_with_a_clear_difference(tmp_path):
    [result] = run_policy_tests([str(user_policies(tmp_path, 5))])
    assert not result.passed
    assert result.detail.splitlines() == [
        "expected, not found: {'rule': 'audit-read', 'severity': 'warning', 'line': 5, 'message': 'audit read of audit_log'}",
        "found, not expected: {'rule': 'audit-read', 'severity': 'warning', 'path': 'a.sql', 'line': 4, "
        "'table': 'audit_log', 'message': 'audit read of audit_log'}",
    ]


def test_cli_exit_codes_and_output(tmp_path):
    ok = run_cli("policy", "test", cwd=ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.splitlines()[-1].endswith(" passed, 0 failed")  # the count grows with each rule's cases
    assert ("PASS policies/missing-tenant-filter/missing_tenant_filter_test.yaml: "
            "unscoped read of a tenant-owned table is reported with its location") in ok.stdout.splitlines()

    folder = user_policies(tmp_path, 5)
    bad = run_cli("policy", "test", str(folder), cwd=tmp_path)
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    assert lines[0] == "FAIL policies/audit_read_test.yaml: audit reads are flagged"
    assert lines[-1] == "0 passed, 1 failed"


def test_rego_test_rules_pass_fail_and_crash_alone(tmp_path):
    folder = tmp_path / "policies"
    write(folder, "audit_read.rego", USER_RULE)
    write(folder, "audit_read_test.rego", """\
        package tenantlint.rules.audit_read_test

        import rego.v1

        import data.tenantlint.rules.audit_read

        test_flags_audit_reads if {
            count(audit_read.violations) == 1 with input.queries as [{"path": "a.sql", "line": 1, "index": 0,
                "refs": [{"table": "audit_log"}]}]
        }

        test_wrong_count if {
            count(audit_read.violations) == 2 with input.queries as []
        }
        """)
    # Replacing the whole input while a rule calls a function segfaults rego-cpp 1.5.2.
    write(folder, "crash_test.rego", """\
        package tenantlint.rules.crash_test

        import rego.v1

        import data.tenantlint.rules.audit_read

        test_crashes_the_engine if {
            count(audit_read.violations) == 0 with input as {"queries": []}
        }
        """)
    results = {r.name: r for r in run_policy_tests([str(folder)])}
    assert results["test_flags_audit_reads"].passed
    assert not results["test_wrong_count"].passed
    assert results["test_wrong_count"].detail == "expected true, got undefined"
    crashed = results["test_crashes_the_engine"]
    assert not crashed.passed
    assert re.sub(r"\(SIG[A-Z]+\)", "(SIG)", crashed.detail).startswith(
        f"the embedded policy engine crashed (SIG) because of package tenantlint.rules.crash_test ({folder}/crash_test.rego); ")


def test_broken_test_file_fails_without_stopping_the_others(tmp_path):
    folder = user_policies(tmp_path, 4)
    write(folder, "broken_test.yaml", "cases: {not: a list}\n")
    results = run_policy_tests([str(folder)])
    assert [(r.name, r.passed) for r in results] == [("audit reads are flagged", True), ("broken_test.yaml", False)]
    assert results[1].detail == "a test file needs a 'cases' list of mappings"


def test_matching_is_order_free_and_exact_in_count():
    actual = [{"rule": "r", "line": 1, "message": "one"}, {"rule": "r", "line": 2, "message": "two"}]
    assert match_violations([{"line": 2}, {"line": 1, "message_contains": "on"}], actual) == ([], [])
    assert match_violations([{"line": 2}], actual) == ([], [actual[0]])
    assert match_violations([{"line": 2}, {"line": 2}], actual) == ([{"line": 2}], [actual[0]])


def test_a_folder_with_no_tests_says_so(tmp_path):
    (tmp_path / "rules").mkdir()
    proc = run_cli("policy", "test", str(tmp_path / "rules"), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (f"tenantlint: no policy tests found in {tmp_path / 'rules'} "
                                   "(*_test.rego files, or *_test.yaml beside a rule)")
