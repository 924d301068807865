"""The embedded engine: exact results, config through data, and every way a policy can fail."""

import os
import re

import pytest

from tenantlint.config import Config, config_from_mapping
from tenantlint.engine import embedded, evaluate, load_policy_dirs
from tenantlint.errors import ConfigError, PolicyError
from tenantlint.schema import complete_input
from tests.conftest import run_cli
from tests.engine.helpers import policy_folder, read_violation, unscoped_reads

MIXED = complete_input({
    "tables": {"contacts": {"tenant_column": "account_id"}, "patients": {"tenant_column": "practice_id"}},
    "queries": [
        {"path": "b.sql", "line": 9, "kind": "truncate", "refs": [{"table": "contacts", "use": "write"}]},
        {"path": "a.sql", "line": 2, "end_column": 20, "refs": [{"table": "contacts"}]},
        {"path": "a.sql", "line": 1, "end_column": 20, "refs": [{"table": "contacts", "scope": "direct"}]},
    ],
    "routes": [{"path": "/export", "handler": "views.export", "file": "views.py", "line": 5, "column": 1,
                "authenticated": False, "export_shaped": True}],
    "fields": [{"path": "models.py", "line": 3, "column": 5, "table": "patients", "model": "Patient",
                "name": "ssn", "type": "CharField", "sensitive": True, "encrypted": False}],
})


def test_violations_are_exact_and_sorted_by_location():
    assert evaluate(MIXED, Config()) == [
        {"rule": "missing-tenant-filter", "severity": "error", "path": "a.sql", "line": 2, "column": 1,
         "end_line": 2, "end_column": 20, "query": 1, "table": "contacts", "context": "alone",
         "message": "'contacts' is read without a tenant filter on account_id: the query returns every tenant's rows"},
        {"rule": "unscoped-write", "severity": "error", "path": "b.sql", "line": 9, "column": 1,
         "end_line": 9, "end_column": 1, "query": 0, "table": "contacts", "context": "alone",
         "message": "TRUNCATE of 'contacts' removes the rows of every tenant"},
        {"rule": "unencrypted-sensitive-field", "severity": "warning", "path": "models.py", "line": 3, "column": 5,
         "end_line": 3, "end_column": None, "table": "patients",
         "message": "sensitive field patients.ssn is declared as CharField and stored in plaintext: "
                    "use an encrypted field type"},
        {"rule": "unprotected-export-endpoint", "severity": "error", "path": "views.py", "line": 5, "column": 1,
         "end_line": 5, "end_column": None,
         "message": "route GET /export (views.export) exports data and has no authentication marker: "
                    "anyone who finds the URL can download it"},
    ]


def test_config_relevels_disables_and_exempts():
    config = config_from_mapping({
        "rules": {"unscoped-write": {"severity": "warning"}, "unencrypted-sensitive-field": {"enabled": False}},
        "exemptions": [{"rules": ["unprotected-export-endpoint"], "functions": ["views.*"], "reason": "public"}],
    })
    assert [(v["rule"], v["severity"], v["line"], v.get("exempted")) for v in evaluate(MIXED, config)] == [
        ("missing-tenant-filter", "error", 2, None),
        ("unscoped-write", "warning", 9, None),
        ("unprotected-export-endpoint", "error", 5, "public"),  # marked; the host drops and counts it
    ]


def test_config_naming_an_unknown_rule_is_a_config_error():
    config = config_from_mapping({"rules": {"missing-tenant-filtr": {"enabled": False}}})
    with pytest.raises(ConfigError) as exc:
        evaluate(MIXED, config)
    assert str(exc.value) == ("config key 'rules.missing-tenant-filtr': unknown rule 'missing-tenant-filtr' "
                              "(did you mean 'missing-tenant-filter'?)")


def test_thousands_of_violations_evaluate_completely_across_batches(monkeypatch):
    """1,500 queries: three children of 500 (MIN_QUERIES_PER_WORKER, 1,500 in a scan, lowered
    here to keep the suite short); every violation, in order. (10,000 and the time they take:
    benchmarks/bench_engine.py.)"""
    monkeypatch.setattr(embedded, "MIN_QUERIES_PER_WORKER", 500)
    count = 3 * embedded.MIN_QUERIES_PER_WORKER
    assert len(embedded.split_input(unscoped_reads(count))) == min(3, os.cpu_count() or 1, embedded.MAX_WORKERS)
    violations = evaluate(unscoped_reads(count), Config())
    assert len(violations) == count
    assert violations[0] == read_violation(1)
    assert violations[-1] == read_violation(count)
    assert [v["query"] for v in violations] == list(range(count))


def test_split_evaluation_keeps_routes_and_fields_once(monkeypatch):
    monkeypatch.setattr(embedded, "MIN_QUERIES_PER_WORKER", 2)
    monkeypatch.setattr(embedded.os, "cpu_count", lambda: 3)
    doc = unscoped_reads(7)
    doc["routes"] = MIXED["routes"]
    assert [len(b["queries"]) for b in embedded.split_input(doc)] == [3, 3, 1]
    violations = evaluate(doc, Config())
    assert [v["line"] for v in violations if v["rule"] == "missing-tenant-filter"] == [1, 2, 3, 4, 5, 6, 7]
    assert [v["rule"] for v in violations].count("unprotected-export-endpoint") == 1


def test_a_document_with_nothing_the_built_in_rules_judge_needs_no_engine(tmp_path, monkeypatch):
    spawned = []
    real = embedded.run_worker
    monkeypatch.setattr(embedded, "run_worker", lambda modules, jobs, *rest: spawned.append(1) or real(modules, jobs, *rest))
    tables_only = complete_input({"tables": {"contacts": {"tenant_column": "account_id"}}})
    assert evaluate(tables_only, Config()) == []
    assert spawned == []
    folder = policy_folder(tmp_path, {"audit.rego": user_rule("violations := []\n")})
    assert evaluate(tables_only, Config(), [folder]) == []
    assert spawned == [1]  # a project's own rule may judge tables alone
    assert evaluate(unscoped_reads(1), Config()) == [read_violation(1)]
    assert spawned == [1, 1]


USER_RULE_HEAD = """\
# METADATA
# title: {title}
# custom:
#   id: {rule_id}
#   severity: warning
package tenantlint.rules.{package}

import rego.v1

import data.tenantlint.lib
"""


def user_rule(body: str, rule_id: str = "audit-read", package: str = "audit_read") -> str:
    return USER_RULE_HEAD.format(title="User rule", rule_id=rule_id, package=package) + body


def test_user_policy_set_style_with_default_severity_from_its_metadata(tmp_path):
    folder = policy_folder(tmp_path, {"audit.rego": user_rule("""
violations contains v if {
	some query in input.queries
	some ref in query.refs
	v := lib.violation("audit-read", query, ref, "audit")
}
""")})
    violations = evaluate(unscoped_reads(2), Config(), [folder])
    assert [(v["rule"], v["severity"], v["line"]) for v in violations] == [
        ("audit-read", "warning", 1), ("missing-tenant-filter", "error", 1),
        ("audit-read", "warning", 2), ("missing-tenant-filter", "error", 2),
    ]


def test_a_crash_of_the_engine_is_a_policy_error_naming_the_policy(tmp_path, capfd):
    folder = policy_folder(tmp_path, {"crash/crash.rego": user_rule("""
helper(x) := x

violations := [v |
	v := data.tenantlint.rules.crash_helper.found with input as {"queries": []}
]
""", rule_id="crash", package="crash"), "crash/helper.rego": """\
package tenantlint.rules.crash_helper

import rego.v1

found := [helper(q) | some q in input.queries]

helper(x) := x
"""})
    with pytest.raises(PolicyError) as exc:
        evaluate(unscoped_reads(1), Config(), [folder])
    message = str(exc.value)
    # the signal is rego-cpp's (SIGSEGV evaluating, SIGABRT compiling); the package is ours
    assert re.sub(r"\(SIG[A-Z]+\)", "(SIG)", message).startswith(
        f"the embedded policy engine crashed (SIG) because of package tenantlint.rules.crash ({folder}/crash/crash.rego); ")
    assert "rego-cpp crashes on some uses of `with`" in message
    assert capfd.readouterr().out == ""


def test_scan_with_a_crashing_policy_exits_2_naming_it(tmp_path):
    (tmp_path / "q.sql").write_text("CREATE TABLE contacts (id int, account_id int);\nSELECT * FROM contacts;\n")
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "crash.rego").write_text(user_rule("""
helper(x) := x

found := [helper(q) | some q in input.queries]

violations := [v |
	v := found with input as {"queries": []}
]
""", rule_id="crash", package="crash"))
    (tmp_path / "tenantlint.yaml").write_text("policies: [pol]\n")
    proc = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert re.sub(r"\(SIG[A-Z]+\)", "(SIG)", proc.stderr).startswith(
        "tenantlint: error: the embedded policy engine crashed (SIG) because of package tenantlint.rules.crash "
        "(pol/crash.rego); ")
    assert len(proc.stderr.splitlines()) == 1


def test_functions_of_one_name_with_different_arities_are_refused_before_they_crash(tmp_path):
    folder = policy_folder(tmp_path, {"a.rego": user_rule("""
violations := []

subject(a, b) := a
""")})
    with pytest.raises(PolicyError) as exc:
        evaluate(unscoped_reads(1), Config(), [folder])
    assert str(exc.value).startswith(f"{folder}/a.rego:14: function subject takes 2 argument(s) here and 1 at "
                                     "policies/lib/tenantlint.rego:")


def test_syntax_error_names_file_and_line_and_prints_nothing(tmp_path, capfd):
    folder = policy_folder(tmp_path, {"bad.rego": user_rule("""
violations := [v |
	some query in input.queries
	v := {"rule": "audit-read"
""")})
    with pytest.raises(PolicyError) as exc:
        evaluate(unscoped_reads(1), Config(), [folder])
    assert str(exc.value) == f"{folder}/bad.rego:14: this is unclosed"
    assert capfd.readouterr() == ("", "")


def test_unknown_function_is_located_in_its_file(tmp_path):
    folder = policy_folder(tmp_path, {"fn.rego": user_rule("""
violations := [v |
	some query in input.queries
	v := no_such_helper(query)
]
""")})
    with pytest.raises(PolicyError) as exc:
        evaluate(unscoped_reads(1), Config(), [folder])
    assert str(exc.value) == f"{folder}/fn.rego:14: Function not found: no_such_helper"


def test_compile_error_without_a_source_location_in_the_error_tree_gets_one(tmp_path):
    folder = policy_folder(tmp_path, {"w.rego": user_rule("""
violations := [v |
	some query in input.queries
	v := query with data as {}
]
""")})
    with pytest.raises(PolicyError) as exc:
        evaluate(unscoped_reads(1), Config(), [folder])
    assert str(exc.value) == f"{folder}/w.rego:14: Invalid with reference"


@pytest.mark.parametrize("body, error", [
    ('violations := "all of them"', "violations must be a set or an array of objects, not a string"),
    ('violations := [1]', "a violation must be an object, not int: 1"),
    ('violations := [{"rule": "audit-read", "severity": "error", "message": "m", "path": "a.sql"}]',
     "violation needs 'line' (int): "),
    ('violations := [{"rule": "audit-read", "severity": "fatal", "message": "m", "path": "a.sql", "line": 1}]',
     "severity must be one of error, warning, info: "),
])
def test_malformed_violations_are_policy_errors_naming_the_file(tmp_path, body, error):
    folder = policy_folder(tmp_path, {"m.rego": user_rule(body + "\n")})
    with pytest.raises(PolicyError) as exc:
        evaluate(unscoped_reads(1), Config(), [folder])
    assert str(exc.value).startswith(f"{folder}/m.rego: {error}")


def test_policy_dirs_come_from_config_and_command_line(tmp_path):
    (tmp_path / "org").mkdir()
    (tmp_path / "mine").mkdir()
    config = config_from_mapping({"policies": ["org"]}, source=str(tmp_path / "tenantlint.yaml"), root=str(tmp_path))
    dirs = load_policy_dirs(config, [str(tmp_path / "mine"), str(tmp_path / "org")])
    assert dirs == [str((tmp_path / "org").resolve()), str((tmp_path / "mine").resolve())]
    with pytest.raises(ConfigError) as exc:
        load_policy_dirs(config, [str(tmp_path / "missing")])
    assert str(exc.value) == f"--policy {tmp_path / 'missing'}: policy folder not found"


def test_a_prepared_child_answers_as_a_fresh_one_and_is_ended_when_unused():
    """The policies compile in a child started before the input exists (a scan links the
    program meanwhile); its answer is the same, and a child nothing asks is killed."""
    from tenantlint.engine import prepare

    config = Config()
    prepared = prepare(config)
    child = prepared.proc
    assert evaluate(MIXED, config, prepared=prepared) == evaluate(MIXED, config)
    assert prepared.proc is None and child.returncode == 0  # it answered, then exited

    unused = prepare(config)
    child = unused.proc
    unused.close()
    assert child.returncode is not None  # gone, not left waiting for an input

    other = prepare(config_from_mapping({"rules": {"unscoped-write": {"severity": "warning"}}}))
    child = other.proc
    found = evaluate(MIXED, config, prepared=other)  # prepared with other data: not used, ended
    assert child.returncode is not None and found == evaluate(MIXED, config)
