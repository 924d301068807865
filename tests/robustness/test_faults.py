"""Faults a new user hit on purpose (issue 17): each test reproduces one first.

Special files never hang a scan, and a path given by name is never left out silently.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

from tenantlint.discover import read_source

LEAK = "SELECT name FROM patients WHERE id = %s;\n"
SCHEMA = "CREATE TABLE patients (id int, practice_id int, name text);\n"


def _tree(tmp_path):
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\nexclude: ['tests/**']\n")
    (tmp_path / "schema.sql").write_text(SCHEMA)
    (tmp_path / "leak.sql").write_text(LEAK)
    return tmp_path


def _scan(cwd, *args):
    """The real CLI, with a deadline: a scan that blocks on a FIFO fails the test instead of hanging it."""
    return subprocess.run([sys.executable, "-m", "tenantlint", "scan", *args, "--no-cache"], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_a_fifo_in_the_tree_is_an_error_and_the_scan_goes_on(tmp_path):
    tree = _tree(tmp_path)
    os.mkfifo(tree / "pipe.sql")
    proc = _scan(tree, ".", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert [(f["rule"], f["path"], f["line"]) for f in report["findings"]] == [("missing-tenant-filter", "leak.sql", 1)]
    assert report["errors"] == [{"path": "pipe.sql", "line": 0, "message": "not a regular file (FIFO)",
                                 "kind": "read"}]


def test_a_fifo_given_by_name_is_said_not_scanned(tmp_path):
    tree = _tree(tmp_path)
    os.mkfifo(tree / "pipe.py")
    proc = _scan(tree, "pipe.py", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["errors"][0]["path"] == "pipe.py"
    assert report["errors"][0]["message"] == "not a regular file (FIFO)"
    assert report["summary"]["files_not_analysed"] == 1


def test_a_fifo_among_the_context_files_of_a_hook_run_does_not_hang_it(tmp_path):
    """A pre-commit run reads the project's other Python files as context: a FIFO among them
    is passed over (the given file is still judged)."""
    tree = _tree(tmp_path)
    (tree / "views.py").write_text("def notes(cursor):\n    cursor.execute('SELECT name FROM patients')\n")
    os.mkfifo(tree / "stuck.py")
    proc = _scan(tree, "views.py")
    assert proc.returncode == 1, proc.stderr
    assert "views.py:2:5: error missing-tenant-filter" in proc.stdout


def test_a_file_swapped_for_a_fifo_after_the_walk_fails_at_once(tmp_path):
    pipe = tmp_path / "late.sql"
    os.mkfifo(pipe)
    done = threading.Event()

    def read():
        try:
            read_source(pipe)
        except OSError as exc:
            done.exc = exc
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(10), "reading a FIFO blocked"
    assert "not a regular file (FIFO)" in str(done.exc)


def test_paths_given_by_name_and_left_out_are_said(tmp_path):
    tree = _tree(tmp_path)
    (tree / "README.md").write_text("# notes\n")
    (tree / "tests").mkdir()
    (tree / "tests" / "test_x.py").write_text("print(1)\n")
    proc = _scan(tree, "README.md", "tests/test_x.py", "leak.sql")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [
        "tenantlint: note: README.md not scanned: not a .py or .sql file",
        "tenantlint: note: tests/test_x.py not scanned: excluded by the exclude pattern 'tests/**'",
    ]
    alone = _scan(tree, "README.md", "--format", "json")
    assert alone.returncode == 0
    report = json.loads(alone.stdout)
    assert report["skipped"] == [{"path": "README.md", "reason": "not a .py or .sql file"}]
    assert report["summary"]["files"] == 0 and report["summary"]["files_skipped"] == 1
