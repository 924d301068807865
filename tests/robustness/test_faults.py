"""Faults a new user hit on purpose (issue 17): each test reproduces one first.

Special files never hang a scan, and a path given by name is never left out silently.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

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


# -- 8: terminal safety and positions ---------------------------------------------------------

def test_control_characters_in_scanned_code_are_escaped_in_the_text_report(tmp_path):
    tree = _tree(tmp_path)
    (tree / "esc.py").write_bytes(b"def f(cursor):\n    cursor.execute('SELECT name FROM patients') or "
                                  b"'\x1b[2J\x07' or '\xe2\x80\xae'\n")
    proc = _scan(tree, "esc.py")
    assert proc.returncode == 1, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout and "\u202e" not in proc.stdout
    frame = proc.stdout.splitlines()[1:3]
    assert frame == ["        cursor.execute('SELECT name FROM patients') or '\\x1b[2J\\x07' or '\\u202e'",
                     "        ^"]
    github = _scan(tree, "esc.py", "--format", "github")
    assert "\x1b" not in github.stdout


def test_positions_are_right_for_every_line_ending_and_a_bom(tmp_path):
    tree = _tree(tmp_path)
    (tree / "leak.sql").unlink()
    sql = ["-- notes", "", "SELECT name FROM patients WHERE id = %s;", "SELECT 1;"]
    python = ["import db", "", "", "def f(cursor):", "    cursor.execute('SELECT name FROM patients')"]
    expected = []
    for ending, label in (("\n", "lf"), ("\r\n", "crlf"), ("\r", "cr")):
        for bom in (b"", b"\xef\xbb\xbf"):
            name = f"{label}{'-bom' if bom else ''}"
            (tree / f"{name}.sql").write_bytes(bom + ending.join(sql).encode() + ending.encode())
            (tree / f"{name}.py").write_bytes(bom + ending.join(python).encode() + ending.encode())
            expected += [(f"{name}.py", 5, 5), (f"{name}.sql", 3, 1)]
    proc = _scan(tree, ".", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    found = [(f["path"], f["line"], f["column"]) for f in json.loads(proc.stdout)["findings"]]
    assert found == sorted(expected)


def test_a_form_feed_does_not_shift_the_code_frame(tmp_path):
    tree = _tree(tmp_path)
    (tree / "ff.py").write_text("def f(cursor):\n    x = 1  \x0c\n    cursor.execute('SELECT name FROM patients')\n")
    proc = _scan(tree, "ff.py")
    assert proc.stdout.splitlines()[:2] == [
        "ff.py:3:5: error missing-tenant-filter 'patients' is read without a tenant filter on practice_id: "
        "the query returns every tenant's rows",
        "        cursor.execute('SELECT name FROM patients')",
    ]


def test_a_bom_never_shows_in_a_code_frame(tmp_path):
    tree = _tree(tmp_path)
    (tree / "bom.sql").write_bytes(b"\xef\xbb\xbfSELECT name FROM patients;\n")
    assert _scan(tree, "bom.sql").stdout.splitlines()[1] == "    SELECT name FROM patients;"


# -- 7: quiet wrong answers ----------------------------------------------------------------

def _findings(proc):
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    return [(f["rule"], f["path"], f["line"]) for f in report["findings"]], report


def test_an_unused_suppression_is_reported_beside_a_sql_string_that_does_not_parse(tmp_path):
    tree = _tree(tmp_path)
    (tree / "views.py").write_text(
        "def f(cursor):\n"
        "    cursor.execute('SELECT FROM WHERE patients')\n"
        "    # tenantlint: ignore[missing-tenant-filter] reviewed\n"
        "    cursor.execute('SELECT name FROM patients WHERE practice_id = %s', [1])\n")
    found, report = _findings(_scan(tree, "views.py", "--format", "json"))
    assert found == [("unused-suppression", "views.py", 3)]
    assert report["errors"][0]["line"] == 2


def test_a_mistyped_rule_id_in_a_suppression_is_reported(tmp_path):
    tree = _tree(tmp_path)
    (tree / "q.sql").write_text("-- tenantlint: ignore[missing-tenant-filtr] reviewed\n" + LEAK)
    found, report = _findings(_scan(tree, "q.sql", "--format", "json"))
    assert found == [("invalid-suppression", "q.sql", 1), ("missing-tenant-filter", "q.sql", 2)]
    assert report["findings"][0]["message"] == \
        "suppression names unknown rule 'missing-tenant-filtr' (did you mean 'missing-tenant-filter'?)"


def test_a_python_file_that_does_not_parse_counts_as_not_analysed(tmp_path):
    tree = _tree(tmp_path)
    (tree / "broken.py").write_text("import db\n\ndef f(:\n    pass\n")
    _, report = _findings(_scan(tree, "broken.py", "leak.sql", "--format", "json"))
    assert report["errors"] == [{"path": "broken.py", "line": 3, "message": "Python does not parse: invalid syntax",
                                 "kind": "parse", "whole_file": True}]
    assert report["summary"]["files_not_analysed"] == 1


def test_a_user_policy_that_could_never_report_is_an_error_naming_its_line(tmp_path):
    tree = _tree(tmp_path)
    policies = tree / "policies"
    policies.mkdir()
    (policies / "raw.rego").write_text('package custom.no_raw\n\nimport rego.v1\n\n'
                                       'violations contains v if {\n\tv := {"rule": "x"}\n}\n')
    proc = _scan(tree, ".", "--policy", "policies")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == ("tenantlint: error: policies/raw.rego:5: package custom.no_raw defines "
                                   "violations but is not under tenantlint.rules, so no scan would run it "
                                   "(use package tenantlint.rules.<rule_name>)")
    (policies / "raw.rego").write_text('package tenantlint.rules.net\n\nimport rego.v1\n\n'
                                       'violations := [v | v := http.send({"method": "get", "url": "http://x"})]\n')
    proc = _scan(tree, ".", "--policy", "policies")
    assert proc.returncode == 2
    assert proc.stderr.startswith("tenantlint: error: policies/raw.rego:5: http.send is not allowed in a policy")


def test_an_output_that_cannot_be_written_fails_before_the_scan(tmp_path):
    tree = _tree(tmp_path)
    proc = _scan(tree, ".", "-o", "no/such/dir/report.json")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == "tenantlint: error: --output no/such/dir/report.json: folder no/such/dir does not exist"


# -- 3: signals; workers die with the scan -------------------------------------------------

def _busy_tree(tmp_path):
    """Enough Python for a scan to use worker processes for several seconds."""
    tree = _tree(tmp_path)
    body = "".join(f"def view_{i}(cursor, pk):\n    cursor.execute('SELECT name FROM patients WHERE id = %s', [pk])\n"
                   f"    return [row for row in cursor.fetchall() if row[0] != {i}]\n\n" for i in range(300))
    for n in range(200):
        (tree / f"mod_{n}.py").write_text(body)
    return tree


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as fh:
            return fh.read()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _start_busy_scan(tree):
    proc = subprocess.Popen([sys.executable, "-m", "tenantlint", "scan", ".", "--no-cache", "--jobs", "2"],
                            cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_children(proc.pid)) < 2:
        time.sleep(0.05)
    workers = _children(proc.pid)
    assert len(workers) >= 2, "the scan never started its workers"
    return proc, workers


def test_sigterm_stops_the_scan_at_once_with_a_message_and_no_workers_left(tmp_path):
    proc, workers = _start_busy_scan(_busy_tree(tmp_path))
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 5
    assert proc.returncode == 2
    assert err.strip().splitlines()[-1] == "tenantlint: terminated (SIGTERM): nothing reported"
    assert "Traceback" not in err
    time.sleep(0.5)
    assert not [w for w in workers if _alive(w)]


def test_workers_die_when_the_scan_is_killed(tmp_path):
    proc, workers = _start_busy_scan(_busy_tree(tmp_path))
    proc.kill()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)]


# -- 2: file_timeout holds inside libraries ---------------------------------------------------

def test_file_timeout_holds_when_it_fires_inside_sqlglot(tmp_path):
    """The timer used to fire inside sqlglot's tokenizer, which turned it into a TokenError;
    the statement-by-statement fallback then parsed the whole file with no timer (27 s for a
    2 MB dump with file_timeout: 1)."""
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\nfile_timeout: 1\n")
    (tmp_path / "dump.sql").write_text("\n".join(
        f"INSERT INTO notes (id, practice_id, body) VALUES ({i}, {i % 7}, 'text {i} ' || 'more');"
        for i in range(20000)))
    proc = subprocess.run([sys.executable, "-m", "tenantlint", "scan", "dump.sql", "--no-cache", "--format", "json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=15)
    report = json.loads(proc.stdout)
    assert report["errors"] == [{"path": "dump.sql", "line": 0, "kind": "limit",
                                 "message": "analysis took longer than file_timeout (1 s)"}]


SLOW_POLICY = """package tenantlint.rules.slow

import rego.v1

violations := [v |
\tn := count([1 | some i in numbers.range(1, 3000); some j in numbers.range(1, 3000); i != j])
\tn < 0
\tv := {"rule": "slow", "severity": "error", "message": "x", "path": "a.sql", "line": 1}
]
"""


def _slow_policy_tree(tmp_path, timeout: int):
    tree = _tree(tmp_path)
    (tree / "tenantlint.yaml").write_text(f"tenant_columns: [practice_id]\npolicy_timeout: {timeout}\n"
                                          "policies: [policies]\n")
    (tree / "policies").mkdir()
    (tree / "policies" / "slow.rego").write_text(SLOW_POLICY)
    return tree


def test_a_policy_that_runs_too_long_is_stopped_at_policy_timeout(tmp_path):
    proc = _scan(_slow_policy_tree(tmp_path, 1), ".")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == ("tenantlint: error: policy evaluation took longer than policy_timeout (1 s): a "
                                   "policy loops or grows without bound (user policies: tenantlint.rules.slow); "
                                   "raise policy_timeout for a huge project")


def test_sigterm_during_policy_evaluation_stops_the_scan_and_the_engine(tmp_path):
    tree = _slow_policy_tree(tmp_path, 300)
    proc = subprocess.Popen([sys.executable, "-m", "tenantlint", "scan", ".", "--no-cache"], cwd=tree,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    engine = []
    while time.monotonic() < deadline and not engine:
        engine = [c for c in _children(proc.pid) if "worker.py" in _cmdline(c)]
        time.sleep(0.05)
    assert engine, "the policy engine never started"
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 5
    assert proc.returncode == 2
    assert err.strip().splitlines()[-1] == "tenantlint: terminated (SIGTERM): nothing reported"
    time.sleep(0.5)
    assert not [c for c in engine if _alive(c)]


# -- 5: memory: a dump is analysed in pieces, under a budget ------------------------------------

def _dump(size: int) -> str:
    rows = []
    total, i = 0, 0
    while total < size:
        row = f"INSERT INTO patients (id, practice_id, name) VALUES ({i}, {i % 9}, 'patient {i}; ok');\n"
        rows.append(row)
        total += len(row)
        i += 1
    return "".join(rows) + "SELECT name FROM patients;\n"


def test_a_dump_is_analysed_within_max_memory_and_its_last_statement_is_located(tmp_path):
    """Analysed piece by piece, a 1.2 MB dump fits in 80 MB more than its worker started with
    (whole, its statements' trees did not); the statement after 15,000 rows keeps its line."""
    tree = _tree(tmp_path)
    (tree / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\nmax_memory: 80000000\n"
                                          "exclude: ['tests/**']\n")
    (tree / "dump.sql").write_text(_dump(1_200_000))
    lines = (tree / "dump.sql").read_text().count("\n")
    found, report = _findings(_scan(tree, "dump.sql", "schema.sql", "--format", "json"))
    assert report["errors"] == []
    assert found == [("missing-tenant-filter", "dump.sql", lines)]


def test_a_file_over_max_memory_is_an_error_and_the_scan_goes_on(tmp_path):
    tree = _tree(tmp_path)
    (tree / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\nmax_memory: 10000000\n")
    (tree / "dump.sql").write_text(_dump(1_200_000))
    found, report = _findings(_scan(tree, ".", "--format", "json"))
    assert found == [("missing-tenant-filter", "leak.sql", 1)]
    assert report["errors"] == [{"path": "dump.sql", "line": 0, "kind": "limit",
                                 "message": "out of memory while analysing"}]


def test_workers_forked_from_a_process_holding_a_huge_reservation_still_parse(tmp_path):
    """rego-cpp reserves hundreds of GB of address space when loaded: a library user who
    imported it must not get workers starved by a memory cap counted from zero."""
    tree = _tree(tmp_path)
    code = (
        "import regopy, sys\n"
        "from pathlib import Path\n"
        "import tenantlint.extract.runner as runner\n"
        "from tenantlint.scan import scan\n"
        "runner.MIN_PARALLEL_BYTES = 0\n"
        f"result = scan(['.'], cwd=Path({str(tree)!r}), jobs=2)\n"
        "print([(f['rule'], f['path']) for f in result.findings], result.errors)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[('missing-tenant-filter', 'leak.sql')] []"
