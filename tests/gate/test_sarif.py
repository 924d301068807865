"""SARIF 2.1.0 (issue 5.4) and GitHub workflow commands (issue 5.5)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tenantlint.report.github import command
from tenantlint.rules import load_rules
from tenantlint.scan import scan
from tests.conftest import run_cli
from tests.gate.conftest import write

SCHEMA = json.loads((Path(__file__).parent.parent / "data" / "sarif-schema-2.1.0.json").read_text())

QUERIES = """\
-- tenantlint: ignore[missing-tenant-filter] staff-only lookup
SELECT name FROM patients WHERE id = %s;
DELETE FROM notes
WHERE patient_id = %s;
SELECT 1; -- tenantlint: ignore[unscoped-write] stale
"""


@pytest.fixture
def sarif_log(project):
    write(project, {"app/q.sql": QUERIES, "app/broken.sql": "SELECT name FROM patients WHERE id = %s;\nSELECT FROM WHERE;\n"})
    proc = run_cli("scan", ".", "--no-cache", "--format", "sarif", cwd=project)
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)


def test_sarif_validates_against_the_schema(sarif_log):
    validator = jsonschema.Draft4Validator(SCHEMA)
    errors = sorted(validator.iter_errors(sarif_log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert sarif_log["version"] == "2.1.0"


def test_sarif_driver_lists_every_rule_from_metadata(sarif_log):
    driver = sarif_log["runs"][0]["tool"]["driver"]
    rules = {r["id"]: r for r in driver["rules"]}
    policy_rules = load_rules()
    assert set(rules) == {r.id for r in policy_rules} | {"invalid-suppression", "unused-suppression"}
    for info in policy_rules:
        rule = rules[info.id]
        assert rule["shortDescription"]["text"] == info.title
        assert rule["fullDescription"]["text"] == info.description
        assert rule["help"]["markdown"].startswith(info.description)
        assert rule["defaultConfiguration"]["level"] == {"error": "error", "warning": "warning", "info": "note"}[
            info.severity]
    assert rules["missing-tenant-filter"]["name"] == "MissingTenantFilter"
    assert rules["unused-suppression"]["defaultConfiguration"]["level"] == "warning"


def test_sarif_results_locations_fingerprints_and_suppressions(sarif_log, project):
    run = sarif_log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    got = [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"], "suppressions" in r) for r in run["results"]]
    assert got == [
        ("missing-tenant-filter", "app/broken.sql", 1, False),
        ("missing-tenant-filter", "app/q.sql", 2, True),
        ("unscoped-write", "app/q.sql", 3, False),
        ("unused-suppression", "app/q.sql", 5, False),
    ]
    report = json.loads(run_cli("scan", ".", "--no-cache", "--format", "json", cwd=project).stdout)
    for result, finding in zip(run["results"], report["findings"]):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["partialFingerprints"] == {"tenantlint/v1": finding["fingerprint"]}
        assert result["level"] == {"error": "error", "warning": "warning"}[finding["severity"]]
        assert result["message"]["text"] == finding["message"]
    write_ = run["results"][2]["locations"][0]["physicalLocation"]
    assert write_["region"] == {"startLine": 3, "startColumn": 1, "endLine": 4}
    assert write_["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.resolve().as_uri() + "/"
    [suppression] = run["results"][1]["suppressions"]
    assert suppression["kind"] == "inSource" and suppression["justification"] == "staff-only lookup"
    assert suppression["location"]["physicalLocation"]["region"]["startLine"] == 1
    [note] = run["invocations"][0]["toolExecutionNotifications"]
    assert note["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert "not analysed" in note["message"]["text"]


def test_sarif_uris_are_percent_encoded(project):
    write(project, {"my app/q 1.sql": "DELETE FROM notes;\n"})
    result = scan(["."], cwd=project)
    from tenantlint.report.sarif import sarif

    log = sarif(result)
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "my%20app/q%201.sql"
    assert not list(jsonschema.Draft4Validator(SCHEMA).iter_errors(log))


def test_github_workflow_commands(project):
    write(project, {"app/q.sql": QUERIES, "app/a,b.sql": "SELECT body FROM notes WHERE id = %s;\n"})
    proc = run_cli("scan", ".", "--no-cache", "--format", "github", cwd=project)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[:3] == [
        "::error file=app/a%2Cb.sql,line=1,col=1,endLine=1,title=tenantlint missing-tenant-filter::"
        "'notes' is read without a tenant filter on practice_id: the query returns every tenant's rows",
        "::error file=app/q.sql,line=3,col=1,endLine=4,title=tenantlint unscoped-write::"
        "DELETE from 'notes' without a tenant filter on practice_id: it changes the rows of every tenant",
        "::warning file=app/q.sql,line=5,col=11,endLine=5,title=tenantlint unused-suppression::"
        "suppression of unscoped-write silences nothing: no unscoped-write finding on line 5",
    ]  # the suppressed finding on line 2 is not annotated
    assert lines[3] == "config: tenantlint.yaml"
    assert lines[4].startswith("3 findings (2 error, 1 warning, 0 info); 3 files scanned; 1 suppressed")


def test_github_escaping():
    assert command("notice", "100%\r\ndone", {"file": "a:b,c.py", "line": 3}) == \
        "::notice file=a%3Ab%2Cc.py,line=3::100%25%0D%0Adone"
