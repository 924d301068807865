"""Issue 15.4: ``pytest -p tenantlint.capture`` records the SQL a Django or SQLAlchemy test
suite runs; ``tenantlint logs`` judges it and points at the project line that issued it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli

pytest.importorskip("sqlalchemy")
pytest.importorskip("django")


def _capture(tmp_path: Path, project: str) -> tuple[Path, list[dict]]:
    root = tmp_path / project
    shutil.copytree(FIXTURES / "capture" / project, root)
    out = root / "sql.jsonl"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tenantlint.capture",
                           f"--tenantlint-capture={out}", "--rootdir", str(root), "tests"],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return root, [json.loads(line) for line in out.read_text().splitlines()]


def _judged(root: Path) -> tuple[list[tuple], dict]:
    proc = run_cli("logs", "sql.jsonl", "--format", "json", cwd=root)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    return [(f["rule"], f["path"], f["line"]) for f in report["findings"]], report


def test_sqlalchemy_statements_are_judged_at_the_line_that_ran_them(tmp_path):
    root, records = _capture(tmp_path, "sa_app")
    assert {r["test"] for r in records} == {"tests/test_service.py::test_both"}
    assert any(r["path"] == str(root / "app" / "service.py") and r["line"] == 7 for r in records)
    found, report = _judged(root)
    assert found == [("missing-tenant-filter", "app/service.py", 13)]  # search(): names of every practice
    assert report["errors"] == []


def test_django_statements_are_judged_at_the_line_that_ran_them(tmp_path):
    root, records = _capture(tmp_path, "dj_app")
    assert any(r["path"] == str(root / "clinic" / "queries.py") and r["line"] == 5 for r in records)
    found, report = _judged(root)
    assert found == [("missing-tenant-filter", "clinic/queries.py", 9)]  # everyone()
    assert report["errors"] == []  # the test's CREATE TABLE is schema setup, not a finding


def test_without_the_option_the_plugin_records_nothing(tmp_path):
    root = tmp_path / "sa_app"
    shutil.copytree(FIXTURES / "capture" / "sa_app", root)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(root),
                           "tests"], cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert not list(root.rglob("*.jsonl"))
