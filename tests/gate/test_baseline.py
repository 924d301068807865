"""Baselines (issue 5.2): accept today's findings by fingerprint and count; report new ones."""

from __future__ import annotations

import json

import pytest

from tenantlint.errors import UsageError
from tenantlint.scan import scan
from tests.conftest import run_cli
from tests.gate.conftest import cli_json, places, write

BEFORE = """\
SELECT name FROM patients WHERE id = %s;
DELETE FROM notes WHERE patient_id = %s;
SELECT name FROM patients WHERE practice_id = %s;
"""


def test_write_baseline_records_sorted_versioned_counts(project):
    write(project, {"q.sql": BEFORE + "SELECT name FROM patients WHERE id = %s;\n"})
    proc = run_cli("scan", ".", "--no-cache", "--write-baseline", "baseline.json", cwd=project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "wrote 3 findings to baseline baseline.json" in proc.stderr
    data = json.loads((project / "baseline.json").read_text())
    assert data["tool"] == "tenantlint" and data["version"] == 1
    assert [(e["rule"], e["path"], e["count"]) for e in data["findings"]] == [
        ("missing-tenant-filter", "q.sql", 2),  # the same query twice: one entry, counted
        ("unscoped-write", "q.sql", 1),
    ]
    assert all(set(e) == {"fingerprint", "rule", "path", "count"} for e in data["findings"])
    code, report = cli_json(".", "--baseline", "baseline.json", cwd=project)
    assert code == 0 and report["findings"] == []
    assert report["summary"]["baseline"] == {"matched": 3, "new": 0, "fixed": 0}


def test_baseline_survives_moved_lines_and_reports_new_copies(project):
    write(project, {"q.sql": BEFORE})
    scan(["."], cwd=project, write_baseline=str(project / "b.json"))
    write(project, {"q.sql": "-- a header comment\n\n" + BEFORE + "SELECT name FROM patients WHERE id = %s;\n"})
    result = scan(["."], cwd=project, baseline=str(project / "b.json"))
    assert places(result.findings) == [("missing-tenant-filter", "q.sql", 6)]  # the second copy is new
    assert result.baseline == {"matched": 2, "new": 1, "fixed": 0}
    assert result.failed


def test_fixed_entries_are_counted(project):
    write(project, {"q.sql": BEFORE})
    scan(["."], cwd=project, write_baseline=str(project / "b.json"))
    write(project, {"q.sql": "SELECT name FROM patients WHERE practice_id = %s AND id = %s;\n"
                             "DELETE FROM notes WHERE patient_id = %s;\n"})
    result = scan(["."], cwd=project, baseline=str(project / "b.json"))
    assert result.findings == []
    assert result.baseline == {"matched": 1, "new": 0, "fixed": 1}
    proc = run_cli("scan", ".", "--no-cache", "--baseline", "b.json", cwd=project)
    assert proc.returncode == 0
    assert "baseline: 1 matched, 0 new, 1 fixed" in proc.stdout


def test_a_baseline_written_at_the_root_matches_from_a_subfolder(project):
    write(project, {"app/q.sql": BEFORE})
    scan(["."], cwd=project, write_baseline=str(project / "b.json"))
    entries = json.loads((project / "b.json").read_text())["findings"]
    assert {e["path"] for e in entries} == {"app/q.sql"}
    # From the subfolder, given the file: the schema in db/ is read for context.
    result = scan(["q.sql"], cwd=project / "app", baseline=str(project / "b.json"))
    assert result.findings == [] and result.baseline == {"matched": 2, "new": 0, "fixed": 0}
    result = scan(["q.sql"], cwd=project / "app")
    assert places(result.findings) == [("missing-tenant-filter", "q.sql", 1), ("unscoped-write", "q.sql", 2)]


def test_a_partial_scan_counts_as_fixed_only_what_it_read_and_keeps_the_rest(project):
    """Issue 17.6: a hook run on one file must not call the other files' entries fixed, and
    --write-baseline there must keep them (it wrote 0 entries, wiping the team's baseline)."""
    write(project, {"a.sql": BEFORE, "b.sql": "DELETE FROM notes WHERE patient_id = %s;\n"})
    scan(["."], cwd=project, write_baseline=str(project / "b.json"))
    whole = json.loads((project / "b.json").read_text())["findings"]
    assert [(e["path"], e["rule"]) for e in whole] == [
        ("a.sql", "missing-tenant-filter"), ("a.sql", "unscoped-write"), ("b.sql", "unscoped-write")]

    result = scan(["b.sql"], cwd=project, baseline=str(project / "b.json"))
    assert result.findings == [] and result.baseline == {"matched": 1, "new": 0, "fixed": 0}

    write(project, {"b.sql": "DELETE FROM notes WHERE practice_id = %s AND patient_id = %s;\n"})
    proc = run_cli("scan", "b.sql", "--no-cache", "--write-baseline", "b.json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "wrote 0 findings to baseline b.json (kept 2 accepted entries of files this scan did not read)" \
        in proc.stderr
    after = json.loads((project / "b.json").read_text())["findings"]
    assert after == [e for e in whole if e["path"] == "a.sql"]  # b.sql's entry is fixed, a.sql's kept

    (project / "a.sql").unlink()  # a deleted file's entries are gone with it
    result = scan(["b.sql"], cwd=project, baseline=str(project / "b.json"))
    assert result.baseline == {"matched": 0, "new": 0, "fixed": 2}


def test_suppressed_findings_are_not_recorded(project):
    write(project, {"q.sql": "SELECT name FROM patients WHERE id = %s; -- tenantlint: ignore[missing-tenant-filter] ok\n"
                             "DELETE FROM notes;\n"})
    scan(["."], cwd=project, write_baseline=str(project / "b.json"))
    entries = json.loads((project / "b.json").read_text())["findings"]
    assert [e["rule"] for e in entries] == ["unscoped-write"]
    result = scan(["."], cwd=project, baseline=str(project / "b.json"))
    assert [(f["rule"], f["suppressed"]) for f in result.findings] == [("missing-tenant-filter", True)]


@pytest.mark.parametrize("content, message", [
    (None, "file not found"),
    ("{not json", "not valid JSON (line 1"),
    ("[]", "not a tenantlint baseline"),
    ('{"version": 9, "findings": []}', "unsupported version 9"),
    ('{"version": 1, "findings": [{"rule": "x"}]}', "findings[0] has no fingerprint"),
    ('{"version": 1, "findings": [{"fingerprint": "ab", "count": 0}]}', "findings[0].count must be"),
])
def test_bad_baseline_is_a_clear_error(project, content, message):
    write(project, {"q.sql": BEFORE})
    if content is not None:
        write(project, {"b.json": content})
    with pytest.raises(UsageError, match="baseline"):
        scan(["."], cwd=project, baseline=str(project / "b.json"))
    proc = run_cli("scan", ".", "--baseline", "b.json", cwd=project)
    assert proc.returncode == 2
    assert proc.stderr.startswith("tenantlint: error: baseline b.json: ") and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_baseline_and_write_baseline_together_are_refused(project):
    proc = run_cli("scan", ".", "--baseline", "a.json", "--write-baseline", "b.json", cwd=project)
    assert proc.returncode == 2 and "either --baseline or --write-baseline" in proc.stderr
