"""Diff mode (issue 5.3): only findings on lines changed since the merge base, plus new files,
from any folder of the work tree; a clear error outside git."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantlint.errors import UsageError
from tenantlint.gate.gitdiff import Changes, _parse
from tenantlint.scan import scan
from tests.conftest import run_cli
from tests.gate.conftest import cli_json, commit_all, git, places, write

AT_FORK = """\
SELECT name FROM patients WHERE id = %s;

SELECT name FROM patients
WHERE id = %s
  AND practice_id = %s
  AND name IS NOT NULL;

SELECT body FROM notes WHERE id = %s;
"""


@pytest.fixture
def branched(repo: Path) -> Path:
    """main: q.sql with two old unscoped reads; main fixes the one on line 8 after feature forks."""
    write(repo, {"app/q.sql": AT_FORK})
    commit_all(repo, "queries")
    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "checkout", "-q", "main")
    write(repo, {"app/q.sql": AT_FORK.replace("FROM notes WHERE id", "FROM notes WHERE practice_id = %s AND id")})
    commit_all(repo, "main fixes notes")
    git(repo, "checkout", "-q", "feature")
    return repo


def test_only_changed_lines_and_new_files_are_reported(branched):
    # Committed on the branch: the tenant filter line of a multi-line query is deleted.
    write(branched, {"app/q.sql": AT_FORK.replace("  AND practice_id = %s\n", "")})
    commit_all(branched, "drop the filter")
    # Uncommitted: a new unscoped write at the end; staged: a new file; untracked: another.
    with (branched / "app/q.sql").open("a") as fh:
        fh.write("\nDELETE FROM notes WHERE id = %s;\n")
    write(branched, {"app/staged.sql": "SELECT 1;\nSELECT body FROM notes;\n"})
    git(branched, "add", "app/staged.sql")
    write(branched, {"app/untracked.sql": "UPDATE patients SET name = %s;\n"})

    result = scan(["."], cwd=branched, diff="main")
    assert places(result.findings) == [
        ("missing-tenant-filter", "app/q.sql", 3),  # its deleted filter line made it unscoped
        ("unscoped-write", "app/q.sql", 9),
        ("missing-tenant-filter", "app/staged.sql", 2),
        ("unscoped-write", "app/untracked.sql", 1),
    ]  # not q.sql:1 and q.sql:7, which the branch did not touch (main's later fix of 7 is no change of ours)
    assert result.diff["ref"] == "main" and len(result.diff["merge_base"]) == 40
    assert result.diff["files"] == 3

    # From a subfolder, paths are relative to it; given files, the schema comes as context.
    code, report = cli_json("q.sql", "untracked.sql", "--diff", "main", cwd=branched / "app")
    assert code == 1
    assert places(report["findings"]) == [
        ("missing-tenant-filter", "q.sql", 3), ("unscoped-write", "q.sql", 9), ("unscoped-write", "untracked.sql", 1)]
    code, report = cli_json(".", "--diff", "main", cwd=branched / "app")
    assert report["summary"]["diff"]["ref"] == "main"


def test_no_change_means_no_findings(branched):
    result = scan(["."], cwd=branched, diff="main")
    assert result.findings == [] and not result.failed
    assert places(scan(["."], cwd=branched).findings) == [
        ("missing-tenant-filter", "app/q.sql", 1), ("missing-tenant-filter", "app/q.sql", 8)]


def test_diff_against_head_reports_working_tree_edits(repo):
    write(repo, {"q.sql": "SELECT name FROM patients WHERE id = %s;\n"})
    commit_all(repo, "q")
    write(repo, {"q.sql": "SELECT name FROM patients WHERE id = %s;\nDELETE FROM notes;\n"})
    assert places(scan(["."], cwd=repo, diff="HEAD").findings) == [("unscoped-write", "q.sql", 2)]


def test_outside_a_work_tree_is_a_usage_error(project):
    with pytest.raises(UsageError, match="--diff needs a git work tree"):
        scan(["."], cwd=project, diff="main")
    proc = run_cli("scan", ".", "--diff", "main", cwd=project)
    assert proc.returncode == 2 and "tenantlint: error: --diff needs a git work tree" in proc.stderr


def test_unknown_ref_is_a_usage_error(repo):
    proc = run_cli("scan", ".", "--diff", "no-such-branch", cwd=repo)
    assert proc.returncode == 2 and "--diff no-such-branch: no merge base" in proc.stderr
    proc = run_cli("scan", ".", "--diff", "--output=x", cwd=repo)
    assert proc.returncode == 2


def test_diff_parser_handles_quoting_deletions_and_lookalike_lines(tmp_path):
    diff = (
        b'diff --git "a/caf\\303\\251 x.sql" "b/caf\\303\\251 x.sql"\n'
        b'--- "a/caf\\303\\251 x.sql"\n+++ "b/caf\\303\\251 x.sql"\n'
        b"@@ -3 +3,2 @@\n-old\n+new\n+++ added line that looks like a header\n"
        b"@@ -10,2 +10,0 @@\n-gone\n-gone too\n"
        b"diff --git a/new.sql b/new.sql\nnew file mode 100644\n--- /dev/null\n+++ b/new.sql\n"
        b"@@ -0,0 +1 @@\n+x\n"
        b"diff --git a/old.sql b/old.sql\ndeleted file mode 100644\n--- a/old.sql\n+++ /dev/null\n"
        b"@@ -1 +0,0 @@\n-x\n"
    )
    changes = Changes(ref="r", merge_base="b", top=tmp_path)
    _parse(diff, changes)
    assert changes.lines == {(tmp_path / "café x.sql"): {3, 4, 10, 11}, (tmp_path / "new.sql"): {1}}
    assert changes.new_files == {tmp_path / "new.sql"}
    assert changes.touches(tmp_path / "café x.sql", 5, 10) and not changes.touches(tmp_path / "café x.sql", 5, 9)
