"""Issue 16: each file judged with its nearest config (a monorepo scanned from its root),
rule selection flags and per_file_ignores, and the config used said in the report."""

from __future__ import annotations

from tenantlint.scan import scan
from tests.conftest import run_cli
from tests.gate.conftest import places, write

MONOREPO = {
    # billing: tenants are accounts
    "services/billing/tenantlint.yaml": "tenant_columns: [account_id]\n",
    "services/billing/schema.sql": "CREATE TABLE invoices (id int, account_id int, total int);\n",
    "services/billing/q.sql": "SELECT total FROM invoices WHERE id = %s;\n",
    # clinic: tenants are practices; its own nested 'legacy' project has another column
    "services/clinic/pyproject.toml": "[tool.tenantlint]\ntenant_columns = ['practice_id']\n",
    "services/clinic/schema.sql": "CREATE TABLE patients (id int, practice_id int, name text);\n",
    "services/clinic/q.sql": "SELECT name FROM patients WHERE practice_id = %s;\nSELECT name FROM patients;\n",
    "services/clinic/legacy/tenantlint.yaml": "tenant_columns: [clinic_id]\n",
    "services/clinic/legacy/schema.sql": "CREATE TABLE visits (id int, clinic_id int, practice_id int);\n",
    "services/clinic/legacy/q.sql": "SELECT id FROM visits WHERE practice_id = %s;\n",
    # no config of its own: the defaults
    "tools/q.sql": "CREATE TABLE jobs (id int, tenant_id int);\nSELECT id FROM jobs;\n",
}


def test_a_monorepo_scanned_from_its_root_judges_each_file_with_its_nearest_config(tmp_path):
    write(tmp_path, MONOREPO)
    result = scan(["."], cwd=tmp_path)
    assert places(result.findings) == [
        ("missing-tenant-filter", "services/billing/q.sql", 1),  # no account_id filter
        ("missing-tenant-filter", "services/clinic/legacy/q.sql", 1),  # practice_id is not legacy's column
        ("missing-tenant-filter", "services/clinic/q.sql", 2),
        ("missing-tenant-filter", "tools/q.sql", 2),  # the default tenant_id
    ]
    assert result.summary["configs"] == ["services/billing/tenantlint.yaml", "services/clinic/pyproject.toml",
                                         "services/clinic/legacy/tenantlint.yaml"]
    assert result.files_scanned == 7
    # The order of the arguments changes nothing, and a subfolder alone uses its own config.
    again = scan(["services/clinic", "services/billing"], cwd=tmp_path)
    assert places(again.findings) == places(result.findings)[:3]
    inner = scan(["q.sql"], cwd=tmp_path / "services" / "clinic" / "legacy")
    assert places(inner.findings) == [("missing-tenant-filter", "q.sql", 1)]


def test_the_text_report_names_the_config_used(tmp_path):
    write(tmp_path, MONOREPO)
    proc = run_cli("scan", "services/billing", "--no-cache", cwd=tmp_path)
    assert proc.stdout.splitlines()[-2] == "config: services/billing/tenantlint.yaml"
    proc = run_cli("scan", "tools", "--no-cache", cwd=tmp_path)
    assert "config: none found (defaults)" in proc.stdout.splitlines()


def test_an_explicit_config_applies_to_every_file(tmp_path):
    write(tmp_path, MONOREPO)
    result = scan(["services"], cwd=tmp_path, config_path=str(tmp_path / "services/billing/tenantlint.yaml"))
    assert places(result.findings) == [("missing-tenant-filter", "services/billing/q.sql", 1)]


CLINIC = {
    "tenantlint.yaml": "tenant_columns: [practice_id]\nper_file_ignores:\n  'scripts/**': [bulk-export]\n",
    "schema.sql": "CREATE TABLE patients (id int, practice_id int, name text);\n",
    "app/q.sql": "SELECT name FROM patients WHERE id = %s;\nDELETE FROM patients WHERE id = %s;\n",
    "scripts/dump.sql": "COPY patients TO STDOUT;\n",
}


def test_select_ignore_and_extend_select(tmp_path):
    write(tmp_path, CLINIC)
    assert places(scan(["."], cwd=tmp_path).findings) == [
        ("missing-tenant-filter", "app/q.sql", 1), ("unscoped-write", "app/q.sql", 2)]
    assert places(scan(["."], cwd=tmp_path, select=["unscoped-write"]).findings) == [("unscoped-write", "app/q.sql", 2)]
    assert places(scan(["."], cwd=tmp_path, ignore=["unscoped-write"]).findings) == [
        ("missing-tenant-filter", "app/q.sql", 1)]
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\nrules: {unscoped-write: {enabled: false}}\n")
    assert places(scan(["."], cwd=tmp_path, select=["missing-tenant-filter"], extend_select=["unscoped-write"],
                       ).findings) == [("missing-tenant-filter", "app/q.sql", 1), ("unscoped-write", "app/q.sql", 2)]


def test_per_file_ignores_drop_the_rules_they_list_in_the_files_they_match(tmp_path):
    write(tmp_path, CLINIC)
    assert ("bulk-export", "scripts/dump.sql", 1) not in places(scan(["."], cwd=tmp_path).findings)
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\n")
    assert ("bulk-export", "scripts/dump.sql", 1) in places(scan(["."], cwd=tmp_path).findings)


def test_unknown_rule_ids_are_errors_naming_them(tmp_path):
    write(tmp_path, CLINIC)
    proc = run_cli("scan", ".", "--no-cache", "--ignore", "unscoped-writes", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "tenantlint: error: --ignore: unknown rule 'unscoped-writes' (did you mean 'unscoped-write'?)"
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\nper_file_ignores: {'a/**': [bulk-exports]}\n")
    proc = run_cli("scan", ".", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 2
    assert "config key 'per_file_ignores.a/**': unknown rule 'bulk-exports' (did you mean 'bulk-export'?)" in proc.stderr
    proc = run_cli("scan", ".", "--no-cache", "--format", "json", "--select", "unscoped-write", cwd=tmp_path)
    assert proc.returncode == 2  # the config is checked whatever is selected


def test_a_setting_that_matches_nothing_in_the_schema_is_a_warning_with_a_suggestion(tmp_path):
    write(tmp_path, {
        "tenantlint.yaml": "tenant_columns: [project]\nglobal_tables: [countrys]\nsensitive_columns: [tasks.notse]\n",
        "schema.sql": "CREATE TABLE tasks (id int, project_id int, notes text);\n"
                      "CREATE TABLE countries (code text);\nSELECT notes FROM tasks;\n",
    })
    proc = run_cli("scan", ".", "--no-cache", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0  # the trap: every table looks global, so nothing is reported...
    assert proc.stderr.splitlines() == [  # ...and the warnings say why
        "tenantlint: warning: tenantlint.yaml: tenant_columns: no table has a column 'project' "
        "(did you mean 'project_id'?)",
        "tenantlint: warning: tenantlint.yaml: global_tables: no table or model is named 'countrys' "
        "(did you mean 'countries'?)",
        "tenantlint: warning: tenantlint.yaml: sensitive_columns: 'tasks' has no column 'notse' "
        "(did you mean 'notes'?)",
    ]


def test_exemptions_applied_are_counted(tmp_path):
    write(tmp_path, {**CLINIC, "tenantlint.yaml": "tenant_columns: [practice_id]\nexemptions:\n"
                     "  - {rules: [unscoped-write], paths: ['app/**'], reason: reviewed bulk fix}\n"})
    result = scan(["."], cwd=tmp_path)
    assert ("unscoped-write", "app/q.sql", 2) not in places(result.findings)
    assert result.summary["exempted"] == 1
    proc = run_cli("scan", ".", "--no-cache", cwd=tmp_path)
    assert "; 1 exempted by the config" in proc.stdout
