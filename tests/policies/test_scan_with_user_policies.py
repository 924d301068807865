"""A user policy folder adds a rule; config re-levels and disables built-in rules (issue 6)."""

from tests.conftest import FIXTURES, run_cli, scan_json

CASE = FIXTURES / "policies" / "user_rule"


def test_user_rule_fires_and_builtins_are_relevelled_and_disabled():
    code, report = scan_json(".", "--policy", "policies", cwd=CASE)
    assert code == 0  # only warnings are left, and fail_on is error
    assert [(f["rule"], f["severity"], f["line"]) for f in report["findings"]] == [
        ("missing-tenant-filter", "warning", 4),
        ("audit-read", "warning", 8),
    ]


def test_without_the_policy_folder_only_builtins_run():
    code, report = scan_json(".", cwd=CASE)
    assert [(f["rule"], f["line"]) for f in report["findings"]] == [("missing-tenant-filter", 4)]


def test_rules_lists_the_user_rule_with_its_source():
    proc = run_cli("rules", "--policy", "policies", cwd=CASE)
    assert proc.returncode == 0, proc.stderr
    audit = [line for line in proc.stdout.splitlines() if line.startswith("audit-read")]
    assert len(audit) == 1 and "warning" in audit[0] and "audit_read.rego" in audit[0]
    disabled = [line for line in proc.stdout.splitlines() if line.startswith("unscoped-write")]
    assert "no" in disabled[0].split() or "disabled" in disabled[0]
