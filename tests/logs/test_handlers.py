"""A logged statement's sqlcommenter route or controller points the finding at the
project's handler that served the request."""

from __future__ import annotations

import json

from tests.conftest import run_cli

PREFIX = "%m [%p] %q%u@%d "
ROUTES = '''\
from fastapi import APIRouter, Depends

router = APIRouter()


@router.get("/patients/{patient_id}")
def read_patient(patient_id: int, user=Depends(current_user)):
    return load(patient_id)


@router.get("/patients/export")
def export_patients(user=Depends(current_user)):
    return dump()
'''


def _line(n: int, sql: str) -> str:
    return f"2026-03-02 10:00:0{n}.000 UTC [42] app@clinic LOG:  statement: {sql}\n"


def _project(tmp_path, log: str):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "routes.py").write_text(ROUTES)
    (tmp_path / "schema.sql").write_text("CREATE TABLE patients (id int, practice_id int, name text, phone text);\n")
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\n")
    (tmp_path / "pg.log").write_text(log)


def test_each_frameworks_route_notation_finds_the_handler(tmp_path):
    _project(tmp_path, "".join([
        _line(1, "SELECT name FROM patients WHERE id = 5 /*route='patients%2F%3Cint%3Apatient_id%3E%2F'*/"),  # Django
        _line(2, "SELECT phone FROM patients WHERE id = 5 /*route='%2Fpatients%2F%3Cint%3Aid%3E'*/"),  # Flask
        _line(3, "SELECT id FROM patients WHERE id = 5 /*route='%2Fpatients%2F%7Bpatient_id%7D'*/"),  # FastAPI
        _line(4, "SELECT name FROM patients /*controller='export_patients',framework='flask'*/"),
        _line(5, "SELECT phone FROM patients /*route='%2Fadmin%2Freport'*/"),  # no such route in the project
    ]))
    proc = run_cli("logs", "pg.log", "--prefix", PREFIX, "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    related = {f["line"]: f.get("related", []) for f in json.loads(proc.stdout)["findings"]}
    read = {"path": "app/routes.py", "line": 7, "message": "handler of GET /patients/{patient_id} (sqlcommenter route)"}
    assert related == {
        1: [read], 2: [read], 3: [read],
        4: [{"path": "app/routes.py", "line": 12,
             "message": "handler of GET /patients/export (sqlcommenter controller)"}],
        5: [],
    }


def test_text_output_names_the_handler_under_the_statement(tmp_path):
    _project(tmp_path, _line(1, "SELECT name FROM patients /*route='%2Fpatients%2Fexport'*/"))
    proc = run_cli("logs", "pg.log", "--prefix", PREFIX, cwd=tmp_path)
    assert "    handler of GET /patients/export (sqlcommenter route): app/routes.py:12\n" in proc.stdout
