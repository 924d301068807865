"""Scans of foreign trees finish with no traceback and account for every failure (issue 7).

The shared SQL corpus holds sqlglot's own fixtures (many dialects, deliberately invalid
statements); the CPython standard library holds files with bad syntax and odd encodings.
"""

import json
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import SHARED, run_cli

CORPUS = SHARED / "corpus" / "sql"


def _scan(tree: Path, tmp_path: Path, *extra: str):
    return _scan_paths([tree], tmp_path, *extra)


def _scan_paths(trees: list[Path], tmp_path: Path, *extra: str):
    config = tmp_path / "tenantlint.yaml"
    config.write_text("tenant_columns: [tenant_id]\ninclude: ['**/*.py', '**/*.sql']\nexclude: []\n")
    proc = run_cli("scan", *map(str, trees), "--format", "json", "--config", str(config), *extra, cwd=tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared SQL corpus not present beside the checkout")
def test_shared_sql_corpus(tmp_path):
    report = _scan(CORPUS, tmp_path)
    files = sorted(p.name for p in CORPUS.glob("*.sql"))
    assert report["summary"]["files"] == len(files)
    # Deliberately invalid statements are reported, each with its file and line.
    invalid = [e for e in report["errors"] if e["path"].endswith("optimizer_annotate_functions.sql")]
    assert invalid and all(e["line"] > 0 for e in invalid)
    assert all(e["message"] for e in report["errors"])


def stdlib_paths() -> list[Path]:
    """The standard library's top-level modules and a few packages of their own shapes
    (email, http, json, logging, sqlite3: 235 files, a third of the library outside its
    tests, GUI and packaging), with the folders of deliberately
    broken files (bad syntax, bad codings)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    packages = {"email", "http", "json", "logging", "sqlite3"}
    top = [p for p in sorted(stdlib.iterdir())
           if p.suffix in (".py", ".sql") and p.is_file() or p.is_dir() and p.name in packages]
    broken = [stdlib / "test" / name for name in ("tokenizedata", "test_future_stmt")]
    return top + [p for p in broken if p.is_dir()]


@pytest.mark.slow
def test_python_standard_library(tmp_path):
    report = _scan_paths(stdlib_paths(), tmp_path)
    assert report["summary"]["files"] > 220
    failed = {e["path"] for e in report["errors"]}
    # lib2to3's and test's deliberately broken files are listed, not fatal.
    bad_syntax = [p for p in failed if "badsyntax" in p or "bad_coding" in p]
    assert bad_syntax, sorted(failed)[:20]
