"""Reading PostgreSQL stderr logs: prefixes, multi-line statements, parameters, bad input."""

from __future__ import annotations

import gzip
import json

from tenantlint.logs import normalise, read_shapes
from tenantlint.logs.postgres import ReadStats, prefix_pattern, read_statements
from tests.conftest import run_cli

LOG = """\
2026-03-02 10:00:00.123 UTC [42] app@clinic LOG:  statement: SELECT name FROM patients WHERE practice_id = 3
2026-03-02 10:00:01.000 UTC [42] app@clinic LOG:  statement: SELECT name, phone
\tFROM patients
\tWHERE name LIKE 'a%'
2026-03-02 10:00:02.000 UTC [43] report@clinic LOG:  execute S_1: UPDATE notes SET body = $1 WHERE id = $2
2026-03-02 10:00:02.000 UTC [43] report@clinic DETAIL:  parameters: $1 = 'it''s', $2 = '5'
2026-03-02 10:00:03.000 UTC [44] LOG:  checkpoint starting: time
2026-03-02 10:00:04.000 UTC [45] app@clinic LOG:  duration: 0.211 ms  statement: SELECT name, phone FROM patients WHERE name LIKE 'b%'
2026-03-02 10:00:05.000 UTC [45] app@clinic ERROR:  relation "x" does not exist
2026-03-02 10:00:05.000 UTC [45] app@clinic STATEMENT:  SELECT * FROM x
"""
PREFIX = "%m [%p] %q%u@%d "


def test_statements_with_their_lines_actors_and_parameters(tmp_path):
    log = tmp_path / "pg.log"
    log.write_text(LOG)
    stats = ReadStats()
    found = list(read_statements(str(log), PREFIX, stats))
    assert [(s.line, s.actor.get("user"), s.sql.split()[0]) for s in found] == [
        (1, "app", "SELECT"), (2, "app", "SELECT"), (5, "report", "UPDATE"), (8, "app", "SELECT")]
    assert found[1].sql == "SELECT name, phone\nFROM patients\nWHERE name LIKE 'a%'"
    assert found[2].parameters == {"$1": "'it''s'", "$2": "'5'"}
    assert stats.statements == 4 and stats.unrecognised == 0


def test_shapes_group_what_differs_only_in_values(tmp_path):
    log = tmp_path / "pg.log"
    log.write_text(LOG)
    shapes = read_shapes([str(log)], PREFIX).shapes
    bulk = shapes[normalise("SELECT name, phone FROM patients WHERE name LIKE 'x'")]
    assert (bulk.count, bulk.first, bulk.last, bulk.users) == (2, (str(log), 2), (str(log), 8), {"app"})


def test_the_default_prefix_and_a_prefix_with_session_and_application():
    assert prefix_pattern("%m [%p] ").match("2026-03-02 10:00:00 UTC [7] LOG:  statement: SELECT 1")
    line = "2026-03-02 10:00:00.1 UTC [7] 65f1.2a psql clinic LOG:  statement: SELECT 1"
    entry = prefix_pattern("%m [%p] %c %a %d ").match(line)
    assert (entry["c"], entry["a"], entry["d"]) == ("65f1.2a", "psql", "clinic")


def test_bad_input_is_counted_never_a_crash(tmp_path):
    log = tmp_path / "junk.log"
    log.write_bytes(b"\x00\x01binary\xff\xfe\n" + LOG.encode()[:150] + b"\n" + b"no prefix here\n" * 3)
    stats = ReadStats()
    found = list(read_statements(str(log), PREFIX, stats))
    assert [s.line for s in found] == [2]  # the truncated statement is still a statement
    assert stats.unrecognised == 5


def test_gzip_and_stdin_are_read_as_is(tmp_path):
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\n")
    (tmp_path / "schema.sql").write_text("CREATE TABLE patients (id int, practice_id int, name text, phone text);\n"
                                         "CREATE TABLE notes (id int, practice_id int, body text);\n")
    with gzip.open(tmp_path / "pg.log.gz", "wt") as fh:
        fh.write(LOG)
    packed = run_cli("logs", "pg.log.gz", "--prefix", PREFIX, "--format", "json", cwd=tmp_path)
    piped = run_cli("logs", "-", "--prefix", PREFIX, "--format", "json", cwd=tmp_path, input=LOG)
    assert packed.returncode == piped.returncode == 1, packed.stderr + piped.stderr
    rules = [(f["rule"], f["line"]) for f in json.loads(packed.stdout)["findings"]]
    assert rules == [("missing-tenant-filter", 2), ("unscoped-write", 5)]
    assert [(f["rule"], f["line"]) for f in json.loads(piped.stdout)["findings"]] == rules
    assert run_cli("logs", "missing.log", cwd=tmp_path).returncode == 2


def test_sqlcommenter_routes_and_code_locations_link_a_finding_to_the_code(tmp_path):
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\n")
    (tmp_path / "schema.sql").write_text("CREATE TABLE patients (id int, practice_id int, name text, phone text);\n")
    log = ("2026-03-02 10:00:00.000 UTC [42] app@clinic LOG:  statement: SELECT name, phone FROM patients "
           "/*code.filepath='app%2Fviews.py',code.lineno='31',route='%2Fpatients%2Fexport',user_id='7'*/\n")
    (tmp_path / "pg.log").write_text(log)
    proc = run_cli("logs", "pg.log", "--prefix", PREFIX, "--format", "json", cwd=tmp_path)
    [finding] = json.loads(proc.stdout)["findings"]
    assert finding["log"]["routes"] == ["/patients/export"] and finding["log"]["code"] == ["app/views.py:31"]
    assert {"path": "app/views.py", "line": 31, "message": "issued here (sqlcommenter)"} in finding["related"]


def test_a_sparse_2_gb_file_and_a_statement_that_does_not_parse_are_reported_never_fatal(tmp_path):
    """Two gigabytes of zeros between two entries (a damaged or preallocated file): the
    overlong line is skipped in bounded memory, the entries around it keep their line
    numbers, the statement sqlglot cannot read is an error, the others are judged."""
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\n")
    (tmp_path / "schema.sql").write_text("CREATE TABLE patients (id int, practice_id int, name text, phone text);\n")
    entry = "2026-03-02 10:00:00.000 UTC [42] app@clinic LOG:  statement: {}\n"
    log = tmp_path / "damaged.log"
    with log.open("w") as out:
        out.write(entry.format("SELECT FROM WHERE ((( patients") + entry.format("SELECT name FROM patients"))
    with log.open("r+b") as out:  # a hole: no disk space used
        out.truncate(log.stat().st_size + (2 << 30))
        out.seek(0, 2)
        out.write(b"\n" + entry.format("SELECT phone FROM patients WHERE name = 'x'").encode())
    proc = run_cli("logs", log.name, "--prefix", PREFIX, "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert [(f["rule"], f["line"]) for f in report["findings"]] == [("missing-tenant-filter", 2),
                                                                      ("missing-tenant-filter", 4)]
    assert [(e["kind"], e["line"]) for e in report["errors"]] == [("parse", 1), ("read", 0)]
    assert report["errors"][1]["message"].startswith("1 line longer than 64 MB skipped")
