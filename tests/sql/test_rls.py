"""Row-level security statements as facts, and the project state they add up to (issue 14)."""

import pytest

from tenantlint.config import Config
from tenantlint.extract.sql import extract_sql
from tenantlint.program.rls import row_level_security

CFG = Config(tenant_columns=("practice_id",), principal_columns=("memberships.user_id",))
PINS = "practice_id = current_setting('app.practice_id')::bigint"


def _facts(sql: str) -> list[dict]:
    return extract_sql("db/rls.sql", sql.encode(), CFG).get("rls", [])


@pytest.mark.parametrize("sql, expected", [
    ("ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;", {"kind": "enable", "table": "notes"}),
    ('ALTER TABLE IF EXISTS ONLY "Notes" NO FORCE ROW LEVEL SECURITY;', {"kind": "no_force", "table": "notes"}),
    ("alter table notes disable row level security;", {"kind": "disable", "table": "notes"}),
    ("DROP POLICY IF EXISTS iso ON app.notes;", {"kind": "policy", "action": "drop", "name": "iso", "table": "notes"}),
    ("CREATE ROLE reporting LOGIN SUPERUSER;", {"kind": "role", "role": "reporting", "powers": ["superuser"]}),
    ("ALTER USER app WITH BYPASSRLS;", {"kind": "role", "role": "app", "powers": ["bypassrls"]}),
    ("SET app.practice_id = '1';", {"kind": "set", "setting": "app.practice_id", "local": False}),
    ("SET LOCAL app.practice_id TO '1';", {"kind": "set", "setting": "app.practice_id", "local": True}),
    ("SELECT set_config('app.practice_id', '1', true);", {"kind": "set", "setting": "app.practice_id", "local": True}),
    ("SELECT set_config('app.practice_id', '1', false);", {"kind": "set", "setting": "app.practice_id", "local": False}),
])
def test_statements(sql, expected):
    [fact] = _facts(sql)
    assert {k: v for k, v in fact.items() if k not in ("line", "function")} == expected


def test_ordinary_statements_are_no_rls_facts():
    assert _facts("SET search_path = app; CREATE ROLE app LOGIN; ALTER TABLE notes ADD COLUMN x int;") == []


def test_a_policy_with_its_clauses():
    [fact] = _facts(f"CREATE POLICY iso ON notes AS RESTRICTIVE FOR UPDATE TO app, \"web\"\n"
                    f"    USING ({PINS}) WITH CHECK (body IS NOT NULL);")
    assert fact["permissive"] is False and fact["command"] == "update" and fact["roles"] == ["app", "web"]
    assert fact["using"] == {"text": PINS, "pins": True, "always_true": False, "settings": ["app.practice_id"]}
    assert fact["check"] == {"text": "body IS NOT NULL", "pins": False, "always_true": False, "settings": []}


@pytest.mark.parametrize("using, pins, always_true", [
    ("true", False, True),
    ("1 = 1 OR practice_id = 2", False, True),
    (f"{PINS} OR practice_id IS NOT NULL", False, False),
    (f"{PINS} AND NOT archived", True, False),
    ("practice_id IN (SELECT m.practice_id FROM memberships m WHERE m.user_id = current_setting('app.user')::int)",
     True, False),
    ("owner = current_user", False, False),
])
def test_what_pins_the_tenant(using, pins, always_true):
    [fact] = _facts(f"CREATE POLICY p ON notes USING ({using});")
    assert (fact["using"]["pins"], fact["using"]["always_true"]) == (pins, always_true)


def test_statements_replay_in_path_and_line_order():
    files = [
        {"path": "migrations/0002.sql", "rls": _facts(
            "ALTER POLICY iso ON notes USING (true);\nDROP POLICY extra ON notes;\nALTER TABLE notes FORCE ROW LEVEL SECURITY;")},
        {"path": "migrations/0001.sql", "rls": _facts(
            f"ALTER TABLE notes ENABLE ROW LEVEL SECURITY;\nCREATE POLICY iso ON notes USING ({PINS});\n"
            f"CREATE POLICY extra ON notes FOR INSERT WITH CHECK ({PINS});")},
    ]
    notes = row_level_security(files)["tables"]["notes"]
    assert (notes["enabled"], notes["forced"], notes["path"], notes["line"]) == (True, True, "migrations/0001.sql", 1)
    assert [(p["name"], p["using"]["text"], p["path"], p["line"]) for p in notes["policies"]] == [
        ("iso", "true", "migrations/0002.sql", 1)]
    assert notes["pinned"] == {"select": False, "insert": False, "update": False, "delete": False}


def test_a_restrictive_policy_pins_what_permissive_ones_leave_open():
    state = row_level_security([{"path": "rls.sql", "rls": _facts(
        f"ALTER TABLE notes ENABLE ROW LEVEL SECURITY;\nCREATE POLICY open ON notes USING (true);\n"
        f"CREATE POLICY iso ON notes AS RESTRICTIVE FOR SELECT USING ({PINS});")}])
    assert state["tables"]["notes"]["pinned"] == {"select": True, "insert": False, "update": False, "delete": False}
    assert state["policy_settings"] == ["app.practice_id"] and state["used"] is True
