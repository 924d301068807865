"""Config: every key validated, the bad key named, found from the current directory upward."""

import re

import pytest

from tenantlint.config import Config, config_from_mapping, load_config
from tenantlint.errors import ConfigError
from tests.conftest import run_cli


def test_defaults_without_a_file(tmp_path):
    cfg = load_config(start=tmp_path)
    assert cfg.tenant_columns == ("tenant_id", "org_id", "organization_id", "account_id", "workspace_id",
                                  "team_id")
    assert cfg.tenant_columns_defaulted


@pytest.mark.parametrize("raw, key", [
    ({"tenant_colums": ["x"]}, "tenant_colums"),
    ({"tenant_columns": "practice_id", "dialect": 3}, "dialect"),
    ({"dialect": "no-such-sql"}, "dialect"),
    ({"fail_on": "critical"}, "fail_on"),
    ({"global_tables": [1, 2]}, "global_tables"),
    ({"principal_columns": ["users"]}, "principal_columns"),
    ({"rules": {"missing-tenant-filter": {"severity": "fatal"}}}, "rules.missing-tenant-filter.severity"),
    ({"exemptions": [{"paths": ["x/**"]}]}, "exemptions[0].reason"),
])
def test_bad_values_name_the_key(raw, key):
    with pytest.raises(ConfigError, match=re.escape(f"'{key}'")):
        config_from_mapping(raw)


def test_yaml_found_from_a_subfolder(tmp_path):
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\ndialect: mysql\n")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    cfg = load_config(start=sub)
    assert cfg.tenant_columns == ("practice_id",) and cfg.dialect == "mysql"
    assert not cfg.tenant_columns_defaulted


def test_pyproject_section(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.tenantlint]\ntenant_columns = ["org_id"]\n')
    assert load_config(start=tmp_path).tenant_columns == ("org_id",)


def test_pyproject_without_section_is_not_a_config(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_config(start=tmp_path) == Config()


def test_cli_bad_key_exit_2_one_line(tmp_path):
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\nglobal_table: [x]\n")
    proc = run_cli("scan", ".", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"tenantlint: error: unknown config key 'global_table' in {tmp_path / 'tenantlint.yaml'}"
        " (did you mean 'global_tables'?)"]


def test_cli_invalid_yaml_names_file_and_line(tmp_path):
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id\n")
    proc = run_cli("scan", ".", cwd=tmp_path)
    assert proc.returncode == 2
    assert f"{tmp_path / 'tenantlint.yaml'}:" in proc.stderr and "Traceback" not in proc.stderr
