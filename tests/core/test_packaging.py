"""Every subpackage ships in a normal (non-editable) install, policies included."""

import tomllib

from tests.conftest import ROOT


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "tenantlint").rglob("__init__.py")}
    assert found | {"tenantlint.policies"} == listed
