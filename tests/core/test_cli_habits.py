"""Issue 16.6: the command-line habits of ruff and Bandit users, and per-path SQL dialects."""

from __future__ import annotations

import json

from tests.conftest import run_cli

CONFIG = "tenant_columns: [practice_id]\n"
SCHEMA = "CREATE TABLE patients (id int, practice_id int, name text);\n"
QUERIES = "SELECT name FROM patients WHERE id = %s;\nDELETE FROM patients WHERE id = %s;\nSELECT name FROM patients;\n"


def _tree(tmp_path, **extra):
    files = {"tenantlint.yaml": CONFIG, "schema.sql": SCHEMA, "q.sql": QUERIES, **extra}
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_quiet_prints_only_the_finding_lines(tmp_path):
    proc = run_cli("scan", ".", "--no-cache", "-q", cwd=_tree(tmp_path))
    assert proc.returncode == 1
    assert [line.split(" ")[0:3] for line in proc.stdout.splitlines()] == [
        ["q.sql:1:1:", "error", "missing-tenant-filter"],
        ["q.sql:2:1:", "error", "unscoped-write"],
        ["q.sql:3:1:", "error", "missing-tenant-filter"],
    ]


def test_statistics_counts_by_rule(tmp_path):
    proc = run_cli("scan", ".", "--no-cache", "--statistics", cwd=_tree(tmp_path))
    assert proc.stdout.splitlines()[:2] == ["    2  error   missing-tenant-filter", "    1  error   unscoped-write"]


def test_exit_zero_and_version(tmp_path):
    tree = _tree(tmp_path)
    assert run_cli("scan", ".", "--no-cache", "--exit-zero", cwd=tree).returncode == 0
    assert run_cli("scan", ".", "--no-cache", "--exit-zero", "--config", "missing.yaml", cwd=tree).returncode == 2
    assert run_cli("-V").stdout.strip() == run_cli("--version").stdout.strip()


def test_colour_only_when_asked_or_on_a_terminal(tmp_path):
    tree = _tree(tmp_path)
    assert "\x1b[" not in run_cli("scan", ".", "--no-cache", cwd=tree).stdout  # a pipe: auto is off
    coloured = run_cli("scan", ".", "--no-cache", "--color", "always", cwd=tree).stdout
    assert "\x1b[1;31merror\x1b[0m missing-tenant-filter" in coloured
    assert "\x1b[" not in run_cli("scan", ".", "--no-cache", "--color", "never", cwd=tree).stdout


def test_a_sql_dialect_per_path(tmp_path):
    """A project that talks to PostgreSQL and to MySQL: backquotes parse only where the
    config says the files are MySQL."""
    backquoted = "SELECT `name` FROM `patients` WHERE id = 1;\n"
    tree = _tree(tmp_path, **{"legacy/q.sql": backquoted, "pg/q.sql": backquoted,
                              "tenantlint.yaml": CONFIG + "dialect: postgres\ndialects: {'legacy/**': mysql}\n"})
    proc = run_cli("scan", ".", "--no-cache", "--format", "json", cwd=tree)
    report = json.loads(proc.stdout)
    assert [(f["rule"], f["path"]) for f in report["findings"] if "/" in f["path"]] == [
        ("missing-tenant-filter", "legacy/q.sql")]
    assert [(e["path"], e["line"]) for e in report["errors"]] == [("pg/q.sql", 1)]
    bad = run_cli("scan", ".", "--no-cache", cwd=_tree(tmp_path, **{"tenantlint.yaml": CONFIG + "dialects: {'a/**': nosql}\n"}))
    assert bad.returncode == 2 and "unknown sqlglot dialect 'nosql'" in bad.stderr
