"""Rule metadata from METADATA blocks, and the rules / explain / schema commands."""

import json

import pytest

from tenantlint.config import config_from_mapping
from tenantlint.engine.modules import PolicyModule
from tenantlint.errors import ConfigError, PolicyError, UsageError
from tenantlint.rules import (
    check_rule_ids, find_rule, format_explanation, format_rules, load_rules, parse_metadata, rules_from_modules,
)
from tests.conftest import ROOT, run_cli

USER_POLICY = """\
# METADATA
# title: No reads of the audit log
# description: |
#   ## What it does
#   Flags reads of `audit_log`.
# related_resources:
#   - https://example.invalid/audit
# custom:
#   id: audit-read
#   severity: info
package tenantlint.rules.audit_read

import rego.v1

violations := []
"""


def module(source: str, path: str = "p.rego", builtin: bool = False) -> PolicyModule:
    package = next(line.split()[1] for line in source.splitlines() if line.startswith("package "))
    return PolicyModule(path, source, package, builtin)


def test_metadata_is_yaml_in_comments():
    assert parse_metadata(USER_POLICY, "p.rego") == {
        "title": "No reads of the audit log",
        "description": "## What it does\nFlags reads of `audit_log`.\n",
        "related_resources": ["https://example.invalid/audit"],
        "custom": {"id": "audit-read", "severity": "info"},
    }
    assert parse_metadata("package x\n", "p.rego") is None


def test_invalid_metadata_names_file_and_line():
    source = "package tenantlint.rules.x\n\n# METADATA\n# title: [unclosed\n"
    with pytest.raises(PolicyError) as exc:
        parse_metadata(source, "x.rego")
    assert str(exc.value) == "x.rego:4: invalid METADATA: expected ',' or ']', but got '<stream end>'"


def test_user_rule_info_and_config_overrides(tmp_path):
    (tmp_path / "audit.rego").write_text(USER_POLICY)
    config = config_from_mapping({"rules": {"audit-read": {"severity": "error", "enabled": False}}})
    rules = load_rules([str(tmp_path)], config)
    audit = find_rule(rules, "audit-read")
    assert (audit.id, audit.title, audit.severity, audit.enabled, audit.package) == (
        "audit-read", "No reads of the audit log", "error", False, "tenantlint.rules.audit_read")
    assert audit.source.endswith("/audit.rego")
    assert audit.related_resources == ({"ref": "https://example.invalid/audit"},)
    assert [r.id for r in rules] == ["audit-read", "bulk-export", "cross-tenant-activity", "invalid-suppression",
                                     "missing-tenant-filter",
                                     "unencrypted-sensitive-field", "unprotected-export-endpoint",
                                     "unscoped-lookup", "unscoped-write", "unused-suppression",
                                     "weak-row-level-security"]


def test_rule_id_defaults_to_the_package_name_and_duplicates_are_refused():
    [rule] = rules_from_modules([module("package tenantlint.rules.no_docs_here\n")])
    assert (rule.id, rule.title, rule.severity) == ("no-docs-here", "no-docs-here", "error")
    twice = USER_POLICY.replace("package tenantlint.rules.audit_read", "package tenantlint.rules.audit_again")
    with pytest.raises(PolicyError) as exc:
        rules_from_modules([module(USER_POLICY, "a.rego"), module(twice, "b.rego")])
    assert str(exc.value) == ("rule id 'audit-read' is declared by both tenantlint.rules.audit_read (a.rego) "
                              "and tenantlint.rules.audit_again (b.rego)")


def test_unknown_rule_names_in_config_and_on_the_command_line():
    rules = load_rules()
    config = config_from_mapping({"exemptions": [{"rules": ["bulk-exports"], "reason": "x"}]})
    with pytest.raises(ConfigError) as exc:
        check_rule_ids(config, rules)
    assert str(exc.value) == ("config key 'exemptions[0].rules': unknown rule 'bulk-exports' "
                              "(did you mean 'bulk-export'?)")
    with pytest.raises(UsageError):
        find_rule(rules, "nope")


def test_rules_table():
    table = format_rules(load_rules()).splitlines()
    assert table[0].split() == ["RULE", "SEVERITY", "TITLE", "ENABLED", "SOURCE"]
    assert table[1].split()[:2] == ["bulk-export", "error"]
    assert table[2].split()[:2] == ["cross-tenant-activity", "warning"]
    assert table[3].split()[:2] == ["invalid-suppression", "warning"]
    assert table[5] == ("unencrypted-sensitive-field  warning   Sensitive field stored in plaintext"
                        + " " * 23 + "yes      built-in")
    assert len(table) == 11


def test_explanation_prints_the_metadata_docs():
    text = format_explanation(find_rule(load_rules(), "unscoped-lookup"))
    lines = text.splitlines()
    assert lines[0] == "unscoped-lookup: Fetch by primary key without a tenant filter (IDOR)"
    assert lines[1] == "severity: error    source: built-in"
    assert "## Use instead" in lines
    assert lines[-1] == ("  - https://cheatsheetseries.owasp.org/cheatsheets/Insecure_Direct_Object_Reference_"
                         "Prevention_Cheat_Sheet.html (OWASP Insecure Direct Object Reference Prevention "
                         "Cheat Sheet)")


def test_cli_rules_explain_and_schema(tmp_path):
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "audit.rego").write_text(USER_POLICY)
    (tmp_path / "tenantlint.yaml").write_text("rules:\n  missing-tenant-filter: {enabled: false}\n")
    listing = run_cli("rules", "--policy", "pol", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[1].split() == ["audit-read", "info", "No", "reads", "of", "the", "audit", "log", "yes",
                                "pol/audit.rego"]
    assert lines[5].split()[:2] == ["missing-tenant-filter", "error"]
    assert lines[5].split()[-2:] == ["no", "built-in"]

    explained = run_cli("explain", "audit-read", "--policy", "pol", cwd=tmp_path)
    assert explained.stdout.splitlines()[:3] == [
        "audit-read: No reads of the audit log",
        "severity: info    source: pol/audit.rego",
        "",
    ]
    unknown = run_cli("explain", "audit-reed", "--policy", "pol", cwd=tmp_path)
    assert unknown.returncode == 2
    assert unknown.stderr == "tenantlint: error: unknown rule 'audit-reed' (did you mean 'audit-read'?)\n"

    schema = run_cli("schema")
    assert schema.returncode == 0
    assert json.loads(schema.stdout) == json.loads((ROOT / "tenantlint" / "input_schema.json").read_text())
    assert json.loads(schema.stdout)["properties"]["version"] == {
        "const": 1,
        "description": "Version of this schema; it changes only when a field changes meaning or goes away.",
    }


def test_missing_policy_folder_is_exit_2(tmp_path):
    proc = run_cli("rules", "--policy", "nowhere", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "tenantlint: error: --policy nowhere: policy folder not found\n"
