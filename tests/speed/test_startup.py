"""Heavy modules load only when a file needs them (issue 8): ``--version`` and a scan
whose facts all come from the cache import neither libcst nor sqlglot."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY = ("libcst", "sqlglot", "regopy", "tenantlint.engine", "tenantlint.extract.python", "tenantlint.extract.sql")


def _modules_after(code: str, cwd=None) -> set[str]:
    """Top-level names in sys.modules after running ``code`` in a fresh interpreter."""
    script = textwrap.dedent(code) + textwrap.dedent("""
        import json, sys
        print("\\nMODULES " + json.dumps(sorted(sys.modules)))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=600)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line[len("MODULES "):]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_version_imports_no_parser_and_no_engine():
    modules = _modules_after("""
        import sys
        from tenantlint.cli import main
        sys.argv = ["tenantlint", "--version"]
        try:
            main()
        except SystemExit as exc:
            assert exc.code == 0, exc.code
    """)
    assert "tenantlint.cli" in modules
    assert not _heavy(modules)


def test_importing_the_library_imports_no_parser():
    assert not _heavy(_modules_after("import tenantlint, tenantlint.scan, tenantlint.extract.runner, tenantlint.cache"))


def test_a_scan_from_a_warm_cache_imports_no_parser(tmp_path):
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [tenant_id]\n")
    (tmp_path / "schema.sql").write_text("CREATE TABLE notes (id int, tenant_id int);\n")
    (tmp_path / "helpers.py").write_text("def cents(value):\n    return int(value * 100)\n")
    code = """
        from pathlib import Path
        from tenantlint.scan import scan
        scan(["."], cwd=Path("."), use_cache=True)
    """
    cold = _modules_after(code, cwd=tmp_path)
    assert "sqlglot" in cold
    warm = _modules_after(code, cwd=tmp_path)
    assert not [m for m in _heavy(warm) if not m.startswith("tenantlint.engine")]  # policy files are hashed


def test_the_python_extractor_does_not_import_libcst_matchers():
    """libcst.matchers builds ~400 dataclasses at import (0.4 s per process): a pre-commit
    run that parses three files would spend a third of its budget on it."""
    modules = _modules_after("import tenantlint.extract.python, tenantlint.extract.runner, tenantlint.program.link")
    assert "tenantlint.extract.python.extractor" in modules
    assert "libcst.matchers" not in modules
