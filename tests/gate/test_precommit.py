"""pre-commit (issue 5.6): the real ``pre-commit`` installs this checkout as a hook and gates commits.

The hook repository is a snapshot of this checkout (tracked and untracked, not ignored, files)
committed in a temporary repository: pre-commit needs a commit to install from, and its
``try-repo`` takes uncommitted edits of tracked files but not new files, so a snapshot works
the same from a clean clone in CI and from a working tree with new modules. pre-commit builds
a virtualenv and pip-installs the snapshot (needs the package index).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.gate.conftest import GIT_ENV, commit_all, git, write


def _snapshot(dest: Path) -> str:
    """Copy this checkout's source files into a fresh repository at ``dest``; its commit."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    git(dest, "init", "-q", "-b", "main")
    return commit_all(dest, "snapshot")


def _commit(project: Path, env: dict) -> tuple[int, str]:
    """``git commit`` with the hook installed: exit code and all output (hooks write to stderr)."""
    proc = subprocess.run(["git", "commit", "-m", "queries"], cwd=project, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env=env, timeout=900)
    return proc.returncode, proc.stdout


@pytest.mark.slow
def test_hook_blocks_an_unscoped_query_and_passes_a_scoped_one(tmp_path, repo):
    hook_repo = tmp_path / "hook-repo"
    hook_repo.mkdir()
    rev = _snapshot(hook_repo)
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "PRE_COMMIT_COLOR": "never"}
    write(repo, {".pre-commit-config.yaml": (
        f"repos:\n  - repo: {hook_repo}\n    rev: {rev}\n    hooks:\n      - id: tenantlint\n")})
    commit_all(repo, "hook config")
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo, check=True, env=env,
                   capture_output=True)
    before = git(repo, "rev-parse", "HEAD")

    # Only app/q.sql is staged: the hook still knows from db/schema.sql that notes is tenant-owned.
    write(repo, {"app/q.sql": "SELECT 1;\nSELECT body FROM notes WHERE patient_id = %s;\n"})
    git(repo, "add", "app/q.sql")
    code, output = _commit(repo, env)
    assert code != 0, output
    assert "- exit code: 1" in output, output  # findings, not an error (2)
    assert "app/q.sql:2:1: error missing-tenant-filter 'notes' is read without a tenant filter" in output, output
    assert "db/schema.sql" not in output  # read for context, not reported
    assert git(repo, "rev-parse", "HEAD") == before

    write(repo, {"app/q.sql": "SELECT 1;\nSELECT body FROM notes WHERE practice_id = %s AND patient_id = %s;\n"})
    git(repo, "add", "app/q.sql")
    code, output = _commit(repo, env)
    assert code == 0, output
    assert "tenantlint" in output and "Passed" in output, output
    assert git(repo, "rev-parse", "HEAD") != before
