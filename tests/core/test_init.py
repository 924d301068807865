"""Issue 16.2: ``tenantlint init`` proposes a config from the schema; a scan with no config
uses the same inference and says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tenantlint.config import load_config
from tenantlint.scan import scan
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "fixtures" / "program"


@pytest.fixture
def example(tmp_path) -> Path:
    target = tmp_path / "clinic"
    shutil.copytree(ROOT / "examples" / "clinic", target)
    (target / "tenantlint.yaml").unlink()
    return target


def test_init_on_the_bundled_example_proposes_what_its_authors_wrote(example):
    proc = run_cli("init", str(example))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "  tenant column practice_id: 3 of 5 tables carry it referencing practices"
    config = load_config(example / "tenantlint.yaml")
    assert config.tenant_columns == ("practice_id",)
    assert config.global_tables == ("drugs", "practices")
    assert config.sensitive_columns == ("notes.body", "patients.hiv_status")
    assert config.principal_columns == ("staff.id",)
    written = scan(["."], cwd=example)
    by_hand = scan(["."], cwd=ROOT / "examples" / "clinic")
    assert [(f["rule"], f["line"]) for f in written.findings] == [(f["rule"], f["line"]) for f in by_hand.findings]


def test_init_never_overwrites_without_force(example):
    assert run_cli("init", str(example)).returncode == 0
    (example / "tenantlint.yaml").write_text("tenant_columns: [mine]\n")
    again = run_cli("init", str(example))
    assert again.returncode == 2
    assert again.stderr.strip() == f"tenantlint: error: {example / 'tenantlint.yaml'} exists: run with --force to replace it"
    assert (example / "tenantlint.yaml").read_text() == "tenant_columns: [mine]\n"
    assert run_cli("init", str(example), "--force").returncode == 0
    assert load_config(example / "tenantlint.yaml").tenant_columns == ("practice_id",)


def test_init_can_write_pyproject(example):
    (example / "pyproject.toml").write_text("[project]\nname = 'clinic'\n")
    assert run_cli("init", str(example), "--pyproject").returncode == 0
    config = load_config(example / "pyproject.toml")
    assert config.tenant_columns == ("practice_id",) and config.global_tables == ("drugs", "practices")
    assert run_cli("init", str(example), "--pyproject").returncode == 2  # the table is there now


@pytest.mark.parametrize("case, column, globals_", [
    ("boards", "team_id", ("boards_team",)),  # Django models
    ("deals", "org_id", ("orgs",)),  # SQLAlchemy models
])
def test_init_on_django_and_sqlalchemy_projects(tmp_path, case, column, globals_):
    target = tmp_path / case
    shutil.copytree(PROGRAM / case, target)
    (target / "tenantlint.yaml").unlink()
    assert run_cli("init", str(target)).returncode == 0
    config = load_config(target / "tenantlint.yaml")
    assert config.tenant_columns == (column,) and config.global_tables == globals_


def test_a_scan_with_no_config_infers_and_says_so(example):
    proc = run_cli("scan", ".", "--no-cache", "--format", "json", cwd=example)
    report = json.loads(proc.stdout)
    assert report["summary"]["tenant_columns"] == ["practice_id"]
    assert report["summary"]["tenant_columns_inferred"][0] == \
        "tenant column practice_id: 3 of 5 tables carry it referencing practices"
    assert report["summary"]["findings"] == 7
    text = run_cli("scan", ".", "--no-cache", cwd=example).stdout
    assert "config: none found (inferred from the schema)" in text
    assert "inferred (write it down with tenantlint init): tenant column practice_id" in text
