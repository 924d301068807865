"""Inline suppressions (issue 5.1): read from real comments, applied to exact lines,
invalid and unused ones reported, suppressed findings kept visible in json."""

from __future__ import annotations

import pytest

from tenantlint.scan import scan
from tenantlint.report import render
from tenantlint.gate.suppressions import collect
from tests.conftest import run_cli
from tests.gate.conftest import cli_json, places, write

QUERIES = """\
-- tenantlint: ignore[missing-tenant-filter] staff-only lookup, reviewed in SEC-12
SELECT name FROM patients WHERE id = %s;

SELECT body FROM notes WHERE id = %s; -- tenantlint: ignore[missing-tenant-filter] support tool

SELECT name FROM patients WHERE name = %s;

DELETE FROM notes
WHERE patient_id = %s; -- tenantlint: ignore[unscoped-write] nightly purge of orphans

SELECT '-- tenantlint: ignore[missing-tenant-filter] not a comment' FROM patients;
"""


def test_python_comments_come_from_tokens_not_text():
    source = (
        b'label = "# tenantlint: ignore[missing-tenant-filter] inside a string"\n'
        b'rows = run(SQL)  # tenantlint: ignore[missing-tenant-filter, unscoped-write] admin report\n'
        b'# tenantlint: ignore[unscoped-lookup] the next code line\n'
        b'# an ordinary comment in between\n'
        b'obj = Patient.objects.get(pk=pk)\n'
    )
    got = [(s["line"], s["target"], s["rules"], s["reason"], s["error"]) for s in collect("a.py", source, "python")]
    assert got == [
        (2, 2, ["missing-tenant-filter", "unscoped-write"], "admin report", None),
        (3, 5, ["unscoped-lookup"], "the next code line", None),
    ]


def test_files_without_the_marker_are_not_tokenized():
    assert collect("a.py", b"def broken(:\n  # tenantlint is mentioned without colon\n", "python") == []


@pytest.mark.parametrize("comment, problem", [
    ("# tenantlint: ignore", "names no rule id"),
    ("# tenantlint: ignore[] because", "names no rule id"),
    ("# tenantlint: ignore[missing-tenant-filter]", "gives no reason"),
    ("# tenantlint: disable everything", "unknown tenantlint directive"),
    ("# tenantlint: ignore[a b] why", "not a rule id"),
])
def test_invalid_directives(comment, problem):
    [s] = collect("a.py", f"x = 1  {comment}\n".encode(), "python")
    assert problem in s["error"]


def test_sql_comments_come_from_a_quote_aware_scan():
    got = [(s["line"], s["target"], s["rules"]) for s in collect("q.sql", QUERIES.encode(), "sql")]
    assert got == [(1, 2, ["missing-tenant-filter"]), (4, 4, ["missing-tenant-filter"]), (9, 9, ["unscoped-write"])]


def test_a_block_comment_over_lines_targets_the_line_after_it():
    sql = b"/* tenantlint: ignore[unscoped-write]\n   purge job, see RUNBOOK.md */\nDELETE FROM notes;\n"
    [s] = collect("q.sql", sql, "sql")
    assert (s["line"], s["target"], s["rules"], s["reason"]) == (1, 3, ["unscoped-write"], "purge job, see RUNBOOK.md")


def test_suppressed_findings_are_marked_and_do_not_fail(project):
    write(project, {"q.sql": QUERIES})
    result = scan(["q.sql"], cwd=project)
    assert [(*p, f["suppressed"]) for p, f in zip(places(result.findings), result.findings)] == [
        ("missing-tenant-filter", "q.sql", 2, True),
        ("missing-tenant-filter", "q.sql", 4, True),
        ("missing-tenant-filter", "q.sql", 6, False),
        ("unscoped-write", "q.sql", 8, True),  # suppressed on its last line
        ("missing-tenant-filter", "q.sql", 11, False),  # the string is not a comment
    ]
    assert result.findings[0]["suppression"] == {"reason": "staff-only lookup, reviewed in SEC-12", "line": 1}
    assert result.findings[3]["suppression"] == {"reason": "nightly purge of orphans", "line": 9}
    assert result.summary["findings"] == 2 and result.summary["suppressed"] == 3


def test_suppressions_alone_decide_the_exit_code(project):
    write(project, {"q.sql": "-- tenantlint: ignore[missing-tenant-filter] reviewed\n"
                             "SELECT name FROM patients WHERE id = %s;\n"})
    code, report = cli_json("q.sql", cwd=project)
    assert code == 0
    assert places(report["findings"]) == [("missing-tenant-filter", "q.sql", 2)]
    assert report["findings"][0]["suppressed"] is True
    assert report["summary"]["findings"] == 0 and report["summary"]["suppressed"] == 1
    code, report = cli_json("q.sql", "--ignore-suppressions", cwd=project)
    assert code == 1
    assert [f["suppressed"] for f in report["findings"]] == [False]


def test_text_output_hides_suppressed_findings_unless_asked(project):
    write(project, {"q.sql": QUERIES})
    hidden = run_cli("scan", "q.sql", "--no-cache", cwd=project)
    assert hidden.returncode == 1
    assert "q.sql:2:" not in hidden.stdout and "q.sql:6:1: error missing-tenant-filter" in hidden.stdout
    assert "3 suppressed (--show-suppressed lists them)" in hidden.stdout
    shown = run_cli("scan", "q.sql", "--no-cache", "--show-suppressed", cwd=project)
    assert "q.sql:2:1: suppressed error missing-tenant-filter" in shown.stdout
    assert "    suppressed on line 1: staff-only lookup, reviewed in SEC-12" in shown.stdout


def test_invalid_and_unused_suppressions_are_warnings(project):
    write(project, {"q.sql": (
        "SELECT name FROM patients WHERE id = %s; -- tenantlint: ignore[missing-tenant-filter]\n"
        "SELECT name FROM practices; -- tenantlint: ignore[missing-tenant-filter] practices are global\n"
        "-- tenantlint: ignore[missing-tenant-filter, unscoped-write] both named, one used\n"
        "SELECT body FROM notes;\n"
        "-- tenantlint: ignore\n"
        "SELECT 1;\n"
    )})
    result = scan(["q.sql"], cwd=project)
    got = [(f["rule"], f["line"], f["severity"], f["suppressed"]) for f in result.findings]
    assert got == [
        ("missing-tenant-filter", 1, "error", False),  # an invalid suppression silences nothing
        ("invalid-suppression", 1, "warning", False),
        ("unused-suppression", 2, "warning", False),
        ("unused-suppression", 3, "warning", False),
        ("missing-tenant-filter", 4, "error", True),
        ("invalid-suppression", 5, "warning", False),
    ]
    messages = {f["line"]: f["message"] for f in result.findings if f["rule"] != "missing-tenant-filter"}
    assert "gives no reason" in messages[1]
    assert messages[3] == "suppression of unscoped-write silences nothing: no unscoped-write finding on line 4"
    assert "names no rule id" in messages[5]
    assert [f["column"] for f in result.findings if f["line"] == 1] == [1, 42]  # the comment's column


def test_ignore_suppressions_reports_no_unused(project):
    write(project, {"q.sql": "SELECT 1; -- tenantlint: ignore[missing-tenant-filter] nothing here\n"})
    assert places(scan(["q.sql"], cwd=project).findings) == [("unused-suppression", "q.sql", 1)]
    assert scan(["q.sql"], cwd=project, ignore_suppressions=True).findings == []


def test_config_can_relevel_the_suppression_rules(project):
    write(project, {"q.sql": "SELECT 1; -- tenantlint: ignore[missing-tenant-filter] nothing here\n",
                    "tenantlint.yaml": "tenant_columns: [practice_id]\n"})
    from tenantlint.gate.filters import apply_suppressions
    from tenantlint.gate.suppressions import collect as sup

    items = {"q.sql": sup("q.sql", (project / "q.sql").read_bytes(), "sql")}
    assert apply_suppressions([], items, rule_settings={"unused-suppression": {"enabled": False}}) == []
    [f] = apply_suppressions([], items, rule_settings={"unused-suppression": {"severity": "error"}})
    assert f["severity"] == "error"


def test_json_is_consistent_for_suppressed_findings(project):
    write(project, {"q.sql": QUERIES})
    result = scan(["q.sql"], cwd=project)
    text = render(result, "json")
    assert text.count('"suppressed": true') == 3 and text.count('"suppressed": false') == 2


PYTHON = '''\
def one(cur, pid):
    cur.execute("SELECT name FROM patients WHERE id = %s", (pid,))  # tenantlint: ignore[missing-tenant-filter] staff tool


def two(cur, pid):
    # tenantlint: ignore[missing-tenant-filter] admin screen
    cur.execute(
        """
        SELECT name
        FROM patients WHERE id = %s
        """,
        (pid,),
    )


def three(cur, pid):
    cur.execute("""
        SELECT name
        FROM patients WHERE id = %s
    """, (pid,))  # tenantlint: ignore[missing-tenant-filter, unscoped-write] suppressed on the last line


def four(cur, pid):
    cur.execute("SELECT name FROM patients WHERE id = %s -- tenantlint: ignore[missing-tenant-filter] no", (pid,))
    cur.execute("SELECT body FROM notes WHERE id = %s", (pid,))  # tenantlint: ignore[missing-tenant-filter]
'''


def test_python_suppressions_on_first_last_and_previous_lines(project):
    write(project, {"app.py": PYTHON})
    result = scan(["app.py"], cwd=project)
    got = [(f["rule"], f["line"], f["suppressed"], (f.get("suppression") or {}).get("line")) for f in result.findings]
    assert got == [
        ("missing-tenant-filter", 2, True, 2),
        ("missing-tenant-filter", 7, True, 6),  # the comment above the call
        ("missing-tenant-filter", 17, True, 20),  # the comment on the string's last line
        ("unused-suppression", 20, False, None),  # unscoped-write: nothing to silence
        ("missing-tenant-filter", 24, False, None),  # the directive inside the string is SQL text
        ("missing-tenant-filter", 25, False, None),  # no reason: invalid, silences nothing
        ("invalid-suppression", 25, False, None),
    ]
