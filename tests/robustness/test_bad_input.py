"""A tree holding one file of every awkward kind, plus one real leak (issue 7).

The leak is reported, every file that could not be analysed is listed in ``errors`` with a
reason, nothing prints a traceback, and ``--strict`` turns the unanalysed files into exit 2.
"""

import json
import os

import pytest

from tests.conftest import run_cli

DEEP = "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n"

FILES = {
    "tenantlint.yaml": "tenant_columns: [practice_id]\nmax_file_size: 200000\n",
    "schema.sql": "CREATE TABLE patients (id int, practice_id int, name text);\n",
    "leak.sql": "SELECT name FROM patients WHERE id = %s;\n",
    "py2.py": 'import db\nprint "SELECT * FROM patients"\n',
    "syntax.py": "def broken(:\n    cursor.execute('SELECT 1')\n",
    "bad_sql.sql": "SELECT FROM WHERE patients;\n",
    "templated.sql": "SELECT * FROM patients WHERE practice_id = {{ practice }};\n"
                     "{% if x %}DELETE FROM patients;{% endif %}\n",
    "meta.sql": "\\copy patients TO 'out.csv' CSV\n",
    "empty.py": "",
    "empty.sql": "",
    "long_line.py": "import db\nX = [" + "1, " * 50000 + "]\ncursor.execute('SELECT 1')\n",
    "deep.py": "import db\ncursor.execute('SELECT 1')\n" + DEEP,
    "latin1.py": "# caf\xe9\ncursor.execute('SELECT * FROM patients')\n",
}
BINARY = {
    "binary.py": b"\x00\x01\x02\x03objects.filter\x00",
    "latin1.sql": "SELECT * FROM patients WHERE name = 'caf\xe9';\n".encode("latin-1"),
    "huge.sql": b"SELECT 1;\n" * 30000,
}


@pytest.fixture
def tree(tmp_path):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8" if name != "latin1.py" else "latin-1")
    for name, data in BINARY.items():
        (tmp_path / name).write_bytes(data)
    os.symlink(tmp_path / "loop_b.sql", tmp_path / "loop_a.sql")
    os.symlink(tmp_path / "loop_a.sql", tmp_path / "loop_b.sql")
    return tmp_path


def test_every_bad_file_is_listed_and_the_leak_is_still_found(tree):
    proc = run_cli("scan", ".", "--format", "json", "--no-cache", cwd=tree)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    assert [(f["rule"], f["path"], f["line"]) for f in report["findings"]] == [
        ("missing-tenant-filter", "leak.sql", 1),
        ("unscoped-write", "templated.sql", 2),  # the DELETE inside a {% if %} block is still SQL
    ]
    errors = {e["path"]: e for e in report["errors"]}
    for path in ("py2.py", "syntax.py", "bad_sql.sql", "meta.sql", "deep.py", "latin1.py",
                 "binary.py", "latin1.sql", "huge.sql", "loop_a.sql", "loop_b.sql"):
        assert path in errors, f"{path} not listed in errors: {sorted(errors)}"
        assert errors[path]["message"]
    assert errors["py2.py"]["line"] == 2 and errors["syntax.py"]["line"] == 1
    assert "max_file_size" in errors["huge.sql"]["message"]
    # Templated SQL: holes become placeholders, blocks are blanked, the rest is analysed.
    assert "templated.sql" not in errors
    for clean in ("empty.py", "empty.sql", "long_line.py", "schema.sql"):
        assert clean not in errors
    assert report["summary"]["files_not_analysed"] >= 6


def test_strict_makes_unanalysed_files_an_exit_2(tree):
    proc = run_cli("scan", ".", "--strict", "--no-cache", cwd=tree)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("tenantlint: error: --strict:")
    assert "leak.sql:1:1: error missing-tenant-filter" in proc.stdout


def test_strict_passes_a_tree_it_read_entirely(tmp_path):
    (tmp_path / "q.sql").write_text("CREATE TABLE t (org_id int);\nSELECT * FROM t WHERE org_id = %s;\n")
    assert run_cli("scan", ".", "--strict", "--no-cache", cwd=tmp_path).returncode == 0


def test_scanning_never_imports_or_runs_the_code(tmp_path):
    marker = tmp_path / "ran.txt"
    (tmp_path / "evil.py").write_text(
        "import pathlib, socket\n"
        f"pathlib.Path({str(marker)!r}).write_text('imported')\n"
        "socket.create_connection(('127.0.0.1', 9))\n"
        "cursor.execute('SELECT * FROM accounts')\n")
    (tmp_path / "conftest.py").write_text(f"open({str(marker)!r}, 'w').write('conftest')\n")
    proc = run_cli("scan", ".", "--format", "json", "--no-cache", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert not marker.exists()


def test_a_call_analysis_that_gives_up_is_an_error_and_the_queries_stay(monkeypatch):
    """A file whose call analysis hits the recursion limit says so (its calls are not
    followed) instead of silently judging its queries as if nothing called them."""
    from tenantlint.config import Config
    from tenantlint.extract import extract
    from tenantlint.extract.python import calls

    def too_deep(mod):
        raise RecursionError

    monkeypatch.setattr(calls, "extract_calls", too_deep)
    facts = extract("app/views.py", b"from app.models import Deal\n\ndef f(pk):\n    return Deal.objects.get(pk=pk)\n",
                    Config(tenant_columns=("account_id",)))
    assert [(e["kind"], e["message"]) for e in facts["errors"]] == [
        ("limit", "call analysis gave up: the code nests too deeply; what this file calls is not followed")]
    assert [q["line"] for q in facts["queries"]] == [4]
    assert "program" not in facts
