"""Row-level security semantics checked against a real PostgreSQL (issue 14).

The ``clinic`` fixture is loaded as it would be deployed: tables owned by ``clinic_owner``,
the application connecting as ``app`` (not the owner), a ``reporting`` role from the
migration. What tenantlint calls scoped by RLS must return only the session's practice's
rows, and each ``weak-row-level-security`` finding must be a way rows really leak.
"""

from __future__ import annotations

import pytest

from tenantlint.scan import scan
from tests.conftest import FIXTURES
from tests.markers import compare
from tests.rls.conftest import PsqlError

CLINIC = FIXTURES / "rls" / "clinic"
SEED = """
INSERT INTO practices VALUES (1, 'north'), (2, 'south');
INSERT INTO patients VALUES (1, 1, 'ann'), (2, 1, 'bob'), (3, 2, 'cid'), (4, 2, 'dee');
INSERT INTO notes VALUES (1, 1, 'flu'), (2, 2, 'HIV+');
INSERT INTO appointments VALUES (1, 1, '2026-01-01'), (2, 2, '2026-01-02');
INSERT INTO invoices VALUES (1, 1, 10), (2, 2, 20);
"""


@pytest.fixture(scope="module")
def clinic(postgres):
    postgres.sql("CREATE ROLE clinic_owner LOGIN; CREATE ROLE app LOGIN; CREATE DATABASE clinic OWNER clinic_owner;")
    schema = (CLINIC / "db" / "schema.sql").read_text() + (CLINIC / "db" / "rls.sql").read_text()
    postgres.sql(schema, user="clinic_owner", db="clinic")
    postgres.sql("CREATE ROLE reporting LOGIN; ALTER ROLE reporting BYPASSRLS;")  # the migration's statements
    postgres.sql(SEED + "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app, reporting;",
                 db="clinic")
    return postgres


def _as(pg, user: str, practice: int | None, statement: str, local: bool = True) -> list[list[str]]:
    setting = "" if practice is None else f"SET {'LOCAL ' if local else ''}app.practice_id = '{practice}';"
    return pg.sql(f"BEGIN; {setting} {statement}; COMMIT;", user=user, db="clinic")


def _findings():
    result = scan(["."], cwd=CLINIC)
    return {(f["rule"], f["path"], f["line"]) for f in result.findings}, result.document


def test_what_tenantlint_scopes_by_rls_returns_only_the_sessions_practice(clinic):
    _, document = _findings()
    scoped = [q for q in document["queries"] if any(r["scope"] == "rls" for r in q["refs"])]
    assert sorted((q["path"], q["line"]) for q in scoped) == [("app/db.py", 13), ("app/db.py", 23)]
    for query in scoped:
        sql = query["code"]
        for user in ("app", "clinic_owner"):  # FORCE: the owner is held to the policies too
            rows = _as(clinic, user, 1, sql)
            assert rows and {row[1] for row in rows} == {"1"}, (user, sql, rows)


def test_not_forced_the_owner_reads_every_practice(clinic):
    found, _ = _findings()
    assert ("weak-row-level-security", "db/rls.sql", 8) in found
    assert {row[0] for row in _as(clinic, "clinic_owner", 1, "SELECT practice_id FROM notes")} == {"1", "2"}


def test_a_permissive_policy_that_is_always_true_opens_the_table(clinic):
    found, _ = _findings()
    assert ("weak-row-level-security", "db/rls.sql", 11) in found
    assert ("missing-tenant-filter", "app/db.py", 18) in found  # so its query is not scoped
    assert {row[0] for row in _as(clinic, "app", 1, "SELECT practice_id FROM notes")} == {"1", "2"}


def test_a_weak_check_lets_a_row_be_written_for_another_practice(clinic):
    found, _ = _findings()
    assert ("weak-row-level-security", "db/rls.sql", 16) in found
    _as(clinic, "app", 1, "INSERT INTO appointments VALUES (9, 2, '2026-02-02')")  # accepted: a leak
    assert clinic.sql("SELECT practice_id FROM appointments WHERE id = 9", db="clinic") == [["2"]]
    with pytest.raises(PsqlError, match="row-level security"):  # the pinned check refuses it
        clinic.sql("BEGIN; SET LOCAL app.practice_id = '1'; INSERT INTO patients VALUES (9, 2, 'eve'); COMMIT;",
                   user="app", db="clinic", check=False)


def test_a_tenant_table_without_rls_is_read_whole(clinic):
    found, _ = _findings()
    assert ("weak-row-level-security", "db/schema.sql", 7) in found
    assert ("missing-tenant-filter", "app/db.py", 28) in found
    assert {row[0] for row in _as(clinic, "app", 1, "SELECT practice_id FROM invoices")} == {"1", "2"}


def test_a_role_given_bypassrls_reads_every_practice(clinic):
    found, _ = _findings()
    assert ("weak-row-level-security", "migrations/0002_reporting_role.py", 9) in found
    assert {row[0] for row in _as(clinic, "reporting", 1, "SELECT practice_id FROM patients")} == {"1", "2"}


def test_a_session_wide_tenant_outlives_its_request_and_set_local_does_not(clinic):
    found, _ = _findings()
    assert ("weak-row-level-security", "app/db.py", 9) in found
    # One pooled connection, two requests: the second never set a practice.
    stale = clinic.sql("SET app.practice_id = '2'; SELECT count(*) FROM patients;", user="app", db="clinic")
    assert stale == [["2"]]
    session = clinic.sql("SET app.practice_id = '2'; BEGIN; COMMIT; SELECT practice_id FROM patients;",
                         user="app", db="clinic")
    assert {row[0] for row in session} == {"2"}  # the next request still sees practice 2's patients
    with pytest.raises(PsqlError):  # SET LOCAL ends with its transaction: the next query fails closed
        clinic.sql("BEGIN; SET LOCAL app.practice_id = '2'; COMMIT; SELECT practice_id FROM patients;",
                   user="app", db="clinic", check=False)


def test_application_code_that_disables_rls_opens_the_table_and_the_schema_state_stays(clinic):
    found, document = _findings()
    assert ("weak-row-level-security", "app/db.py", 34) in found
    assert document["rls"]["tables"]["patients"]["enabled"]  # a run-time switch is not the schema's history
    try:
        clinic.sql("ALTER TABLE patients DISABLE ROW LEVEL SECURITY", user="clinic_owner", db="clinic")
        assert {row[0] for row in _as(clinic, "app", 1, "SELECT practice_id FROM patients")} == {"1", "2"}
    finally:
        clinic.sql("ALTER TABLE patients ENABLE ROW LEVEL SECURITY", user="clinic_owner", db="clinic")
    assert {row[0] for row in _as(clinic, "app", 1, "SELECT practice_id FROM patients")} == {"1"}


def test_the_fixture_reports_exactly_these():
    found, _ = _findings()
    assert found == {
        ("weak-row-level-security", "app/db.py", 9),
        ("missing-tenant-filter", "app/db.py", 18),
        ("missing-tenant-filter", "app/db.py", 28),
        ("weak-row-level-security", "app/db.py", 34),
        ("weak-row-level-security", "db/rls.sql", 8),
        ("weak-row-level-security", "db/rls.sql", 11),
        ("weak-row-level-security", "db/rls.sql", 16),
        ("weak-row-level-security", "db/schema.sql", 7),
        ("weak-row-level-security", "migrations/0002_reporting_role.py", 9),
    }
    missed, false = compare(CLINIC, scan(["."], cwd=CLINIC).findings)
    assert not missed and not false
