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


def test_info_findings_are_counted_by_context_and_listed_on_request(tmp_path):
    """Background code reads every tenant on purpose: the text report lists the request
    path's error and counts the job's info finding, which --show-info lists. A rule's own
    info finding (a plaintext column declared in SQL) is always listed."""
    tree = _tree(tmp_path, **{"tenantlint.yaml": "tenant_columns: [shop_id]\nsensitive_columns: [charts.hiv_status]\n",
                              "q.sql": "SELECT 1;\n", "schema.sql": "CREATE TABLE charts (id int, shop_id int, hiv_status text);\n",
                              "shop/__init__.py": "", "shop/models.py": (
        "from django.db import models\n\n\nclass Order(models.Model):\n    shop_id = models.IntegerField()\n\n\n"
        "def all_orders():\n    return Order.objects.all()\n"),
        "shop/views.py": ("from celery import shared_task\nfrom rest_framework.decorators import api_view\n\n"
                          "from shop.models import all_orders\n\n\n@api_view(['GET'])\ndef orders(request):\n"
                          "    return all_orders()\n\n\n@shared_task\ndef nightly():\n    return all_orders()\n")})
    listed = [line.split(" ")[:3] for line in run_cli("scan", ".", "--no-cache", cwd=tree).stdout.splitlines()
              if line.startswith(("shop/", "schema.sql"))]
    assert listed == [["schema.sql:1:1:", "info", "unencrypted-sensitive-field"],
                      ["shop/views.py:9:12:", "error", "missing-tenant-filter"]]
    proc = run_cli("scan", ".", "--no-cache", cwd=tree)
    assert "1 info finding not listed (background 1): --show-info lists them" in proc.stdout.splitlines()
    assert proc.stdout.splitlines()[-1] == "3 findings (1 error, 0 warning, 2 info); 5 files scanned"
    shown = [line.split(" ")[:4] for line in run_cli("scan", ".", "--no-cache", "--show-info", cwd=tree).stdout
             .splitlines() if line.startswith("shop/")]
    assert shown == [["shop/views.py:9:12:", "error", "missing-tenant-filter", "'shop_order'"],
                     ["shop/views.py:14:12:", "info", "missing-tenant-filter", "[background]"]]


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
