"""Issue 15 (first part): ``tenantlint logs`` on the stderr log of a real PostgreSQL server.

A workload runs through psql as an application role whose statements the server logs
(``log_statement = all`` for that role, a ``log_line_prefix`` with user and database); the
log is then judged against the clinic schema: the scoped reads pass, the bulk cross-tenant
read, the unscoped update, the COPY and switching row-level security off are reported at
their lines, with their counts.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.conftest import run_cli

PREFIX = "%m [%p] %q%u@%d "
SCHEMA = """\
CREATE TABLE practices (id bigint PRIMARY KEY, name text);
CREATE TABLE patients (id bigint PRIMARY KEY, practice_id bigint NOT NULL REFERENCES practices(id), name text,
                       phone text);
CREATE TABLE notes (id bigint PRIMARY KEY, practice_id bigint NOT NULL REFERENCES practices(id), body text);
"""
WORKLOAD = [
    "SELECT name FROM patients WHERE practice_id = 1 AND id = 2",
    "SELECT name FROM patients WHERE practice_id = 2 AND id = 3",
    "SELECT name, phone FROM patients",  # every practice's patients at once
    "UPDATE notes SET body = 'x' WHERE id = 1",  # any practice's note
    "COPY patients TO STDOUT",
    "SELECT name FROM patients WHERE practice_id = 1 AND id = 4",
]


REPORTER = [f"SELECT count(*) FROM patients WHERE practice_id = {n}" for n in (1, 2, 3, 4, 5)]
END_USER = [f"/*route='%2Fpatients',user_id='42'*/ SELECT name FROM patients WHERE practice_id = {n}"
            for n in (1, 2, 3, 4)]

SWITCH_OFF = "ALTER TABLE notes DISABLE ROW LEVEL SECURITY"


def test_a_real_server_log_reports_the_cross_tenant_statements(postgres, tmp_path):
    postgres.sql("CREATE ROLE logapp LOGIN; CREATE DATABASE clinic_logs OWNER logapp;")
    postgres.sql(f"ALTER SYSTEM SET log_line_prefix = '{PREFIX}'; SELECT pg_reload_conf();")
    postgres.sql(SCHEMA + "INSERT INTO practices VALUES (1, 'north'), (2, 'south');"
                 "INSERT INTO patients VALUES (2, 1, 'ann', '1'), (3, 2, 'bob', '2'), (4, 1, 'cid', '3');"
                 "INSERT INTO notes VALUES (1, 2, 'HIV+');", db="clinic_logs", user="logapp")
    postgres.sql("ALTER ROLE logapp SET log_statement = 'all';")  # from here on: the workload only
    postgres.sql("CREATE ROLE reporter LOGIN; GRANT SELECT ON patients TO reporter;"
                 "ALTER ROLE reporter SET log_statement = 'all';", db="clinic_logs")
    for statement in WORKLOAD:  # one session each, as a pool would hand them out
        postgres.sql(statement + ";", user="logapp", db="clinic_logs")
    postgres.sql(";\n".join(REPORTER) + ";", user="reporter", db="clinic_logs")  # one session, five practices
    postgres.sql(";\n".join(END_USER) + ";", user="logapp", db="clinic_logs")  # one end user, four practices
    postgres.sql(SWITCH_OFF + ";", user="logapp", db="clinic_logs")  # the owner opens the table
    log = tmp_path / "postgresql.log"
    shutil.copy(postgres.log, log)
    (tmp_path / "schema.sql").write_text(SCHEMA)
    (tmp_path / "tenantlint.yaml").write_text(  # logapp is the application's pooled role: every tenant, by design
        "tenant_columns: [practice_id]\nrules: {cross-tenant-activity: {options: {shared_actors: [logapp]}}}\n")
    lines = log.read_text().splitlines()

    def line_of(statement: str) -> int:
        return next(i for i, text in enumerate(lines, 1) if text.endswith("statement: " + statement + ";"))

    proc = run_cli("logs", log.name, "--schema", "schema.sql", "--prefix", PREFIX, "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert sorted((f["rule"], f["line"]) for f in findings) == sorted([
        ("missing-tenant-filter", line_of(WORKLOAD[2])),
        ("unscoped-write", line_of(WORKLOAD[3])),
        ("bulk-export", line_of(WORKLOAD[4])),
        ("cross-tenant-activity", line_of(END_USER[0])),  # end user 42
        ("cross-tenant-activity", line_of(REPORTER[0])),  # database user reporter
        ("weak-row-level-security", line_of(SWITCH_OFF)),
    ])
    statements = [f for f in findings if f["rule"] != "cross-tenant-activity"]
    assert all(f["origin"] == "log" and f["log"]["users"] == ["logapp"] for f in statements)
    assert statements[0]["log"]["count"] == 1
    activity = sorted(f["message"].split(" named ")[0] for f in findings if f["rule"] == "cross-tenant-activity")
    assert activity == ["database user reporter", "end user 42"]
    assert json.loads(proc.stdout)["errors"] == []  # every line matched the prefix


def test_the_same_workload_in_stderr_csvlog_jsonlog_and_pg_stat_statements(logging_postgres, tmp_path):
    """One workload, four inputs of a real server (logging_collector on): each reports the
    bulk read, the unscoped update and the COPY; pg_stat_statements gives calls and rows."""
    pg = logging_postgres
    pg.sql("CREATE EXTENSION pg_stat_statements; CREATE ROLE logapp LOGIN; CREATE DATABASE clinic_logs OWNER logapp;")
    pg.sql(SCHEMA + "INSERT INTO practices VALUES (1, 'north'), (2, 'south');"
           "INSERT INTO patients VALUES (2, 1, 'ann', '1'), (3, 2, 'bob', '2'), (4, 1, 'cid', '3');"
           "INSERT INTO notes VALUES (1, 2, 'HIV+');", db="clinic_logs", user="logapp")
    pg.sql("SELECT pg_stat_statements_reset();")
    for statement in WORKLOAD + WORKLOAD[2:3]:  # the bulk read twice
        pg.sql(statement + ";", user="logapp", db="clinic_logs")
    rows = pg.sql("COPY (SELECT s.query, s.calls, s.rows, r.rolname FROM pg_stat_statements s "
                  "JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid "
                  "WHERE d.datname = 'clinic_logs') TO STDOUT WITH (FORMAT csv, HEADER)")
    (tmp_path / "pgss.csv").write_text("\n".join("|".join(r) for r in rows) + "\n")  # psql -F| joined the csv
    for name in ("pg", "pg.csv", "pg.json"):
        shutil.copy(pg.data / "log" / name, tmp_path / name.replace("pg", "server", 1))
    (tmp_path / "schema.sql").write_text(SCHEMA)
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\n")

    def judged(name: str, *extra: str) -> list[tuple]:
        proc = run_cli("logs", name, "--schema", "schema.sql", "--prefix", PREFIX, "--format", "json", *extra,
                       cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr
        report = json.loads(proc.stdout)
        return sorted((f["rule"], f["log"]["count"], f["log"]["users"]) for f in report["findings"]), report

    expected = [("bulk-export", 1, ["logapp"]), ("missing-tenant-filter", 2, ["logapp"]),
                ("unscoped-write", 1, ["logapp"])]
    for name in ("server", "server.csv", "server.json"):
        found, report = judged(name)
        assert found == expected, name
        assert report["errors"] == [], name
    found, report = judged("pgss.csv", "--input-format", "pgss")
    assert found == expected
    bulk = next(f for f in report["findings"] if f["rule"] == "missing-tenant-filter")
    assert bulk["log"]["rows"] == 6  # three patients, read twice
    (tmp_path / "tenantlint.yaml").write_text(  # three rows a run make a dump here
        "tenant_columns: [practice_id]\nrules: {bulk-export: {options: {large_read_rows: 3}}}\n")
    found, report = judged("pgss.csv", "--input-format", "pgss")
    assert found == [("bulk-export", 1, ["logapp"]), ("bulk-export", 2, ["logapp"]), ("unscoped-write", 1, ["logapp"])]
    assert any("'patients' was read in bulk (6 rows in 2 runs)" in f["message"] for f in report["findings"])


def test_pgaudit_session_lines(logging_postgres, tmp_path):
    """pgaudit (installed by .ci/run): a role audited with pgaudit.log = 'read, write' and no
    log_statement; its AUDIT lines give the same findings."""
    pg = logging_postgres
    if not (pg.bin_dir.parent / "lib" / "pgaudit.so").exists():
        if os.environ.get("CI"):
            pytest.fail("pgaudit is not installed though CI is set (.ci/run installs postgresql-15-pgaudit)")
        pytest.skip("pgaudit is not installed (apt-get install postgresql-15-pgaudit)")
    pg.sql("CREATE ROLE auditapp LOGIN; CREATE DATABASE clinic_audit OWNER auditapp;")
    pg.sql(SCHEMA + "INSERT INTO practices VALUES (1, 'north'), (2, 'south');", db="clinic_audit", user="auditapp")
    pg.sql("ALTER ROLE auditapp SET log_statement = 'none'; ALTER ROLE auditapp SET pgaudit.log = 'read, write';")
    for statement in WORKLOAD:
        pg.sql(statement + ";", user="auditapp", db="clinic_audit")
    log = pg.data / "log" / "pg"
    audit_lines = [line for line in log.read_text().splitlines()
                   if "auditapp@clinic_audit" in line and "AUDIT: SESSION" in line]
    assert len(audit_lines) == len(WORKLOAD)  # one line per statement, none from log_statement
    (tmp_path / "audit.log").write_text("\n".join(audit_lines) + "\n")
    (tmp_path / "schema.sql").write_text(SCHEMA)
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\n")
    proc = run_cli("logs", "audit.log", "--schema", "schema.sql", "--prefix", PREFIX, "--format", "json",
                   cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    found = sorted((f["rule"], f["log"]["users"][0]) for f in json.loads(proc.stdout)["findings"])
    assert found == [("bulk-export", "auditapp"), ("missing-tenant-filter", "auditapp"),
                     ("unscoped-write", "auditapp")]


def test_the_schema_and_rls_read_from_the_live_database(postgres, tmp_path):
    """--dsn reads tables, foreign keys and row-level security from the catalog, read-only:
    with notes protected by a forced policy pinning practice_id, the unscoped UPDATE of notes
    in the log is scoped by RLS and not reported; the rest is as with --schema."""
    postgres.sql("CREATE ROLE dsnapp LOGIN; CREATE DATABASE clinic_dsn OWNER dsnapp;")
    postgres.sql(SCHEMA + "ALTER TABLE notes ENABLE ROW LEVEL SECURITY; ALTER TABLE notes FORCE ROW LEVEL SECURITY;"
                 "CREATE POLICY notes_practice ON notes USING "
                 "(practice_id = current_setting('app.practice_id')::bigint);", db="clinic_dsn", user="dsnapp")
    log = tmp_path / "pg.log"
    log.write_text("".join(f"2026-03-02 10:00:0{i}.000 UTC [9] dsnapp@clinic_dsn LOG:  statement: {s}\n"
                           for i, s in enumerate(WORKLOAD)))
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\n")
    dsn = f"postgresql://dsnapp@127.0.0.1:{postgres.port}/clinic_dsn"
    proc = run_cli("logs", "pg.log", "--dsn", dsn, "--prefix", PREFIX, "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    found = sorted((f["rule"], f["line"]) for f in json.loads(proc.stdout)["findings"])
    assert found == [("bulk-export", 5), ("missing-tenant-filter", 3)]  # the UPDATE of notes (line 4): RLS
    bad = run_cli("logs", "pg.log", "--dsn", f"postgresql://dsnapp@127.0.0.1:{postgres.port}/nowhere", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("tenantlint: error: --dsn: cannot read the database's catalog")
