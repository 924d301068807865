import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SHARED = ROOT.parent / "shared"

def pytest_configure(config):
    """Byte-compile tenantlint once, before the workers start: hundreds of tests run the real
    command line in a child process, and with PYTHONDONTWRITEBYTECODE set (or an editable
    install never imported yet) each child would compile every module again (0.3 s each)."""
    if not hasattr(config, "workerinput"):  # the controller only, not each xdist worker
        import compileall

        compileall.compile_dir(str(ROOT / "tenantlint"), quiet=1)


# (rule, path, line) of the bundled example, scanned from the repository root.
CLINIC_FINDINGS = [
    ("missing-tenant-filter", "examples/clinic/queries.sql", 17),
    ("missing-tenant-filter", "examples/clinic/queries.sql", 21),
    ("missing-tenant-filter", "examples/clinic/queries.sql", 25),
    ("unscoped-write", "examples/clinic/queries.sql", 29),
    ("bulk-export", "examples/clinic/queries.sql", 33),
    ("unencrypted-sensitive-field", "examples/clinic/schema.sql", 3),
    ("unencrypted-sensitive-field", "examples/clinic/schema.sql", 10),
]


def run_cli(*args: str, cwd: Path | str | None = None, env: dict | None = None, input: str | None = None):
    """Run the real command line in a child process: exit code, stdout, stderr."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "tenantlint", *args], cwd=cwd, capture_output=True, text=True,
                          env=full_env, input=input, timeout=600)
    return proc


def scan_json(path: Path | str, *extra: str, cwd: Path | str | None = None) -> tuple[int, dict]:
    proc = run_cli("scan", str(path), "--format", "json", *extra, cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(autouse=True, scope="session")
def _cache_outside_the_trees(tmp_path_factory):
    """CLI scans keep their facts cache in a temporary folder, not in the scanned fixture,
    example or shared trees (tests that test the default location unset this)."""
    previous = os.environ.get("TENANTLINT_CACHE_DIR")
    os.environ["TENANTLINT_CACHE_DIR"] = str(tmp_path_factory.mktemp("tenantlint-cache"))
    yield
    if previous is None:
        os.environ.pop("TENANTLINT_CACHE_DIR", None)
    else:
        os.environ["TENANTLINT_CACHE_DIR"] = previous
