"""Issue 16.7: the README's copy-paste works as written: its ``repo: local`` pre-commit
config, taken from the README itself, gates a commit in a temporary git repository."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.gate.conftest import GIT_ENV, commit_all, git, write


def _snippet(marker: str) -> str:
    """The README's yaml block that contains ``marker``."""
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    found = [b for b in blocks if marker in b]
    assert len(found) == 1, f"one README yaml block with {marker!r}"
    return found[0]


@pytest.mark.slow
def test_the_readme_local_hook_refuses_an_unscoped_query(tmp_path, repo):
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "PRE_COMMIT_COLOR": "never",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    write(repo, {".pre-commit-config.yaml": _snippet("repo: local")})
    commit_all(repo, "hook config")
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo, check=True, env=env, capture_output=True)
    write(repo, {"app/q.sql": "SELECT body FROM notes WHERE patient_id = %s;\n"})
    git(repo, "add", "app/q.sql")
    proc = subprocess.run(["git", "commit", "-m", "q"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env, timeout=600)
    assert proc.returncode != 0, proc.stdout
    assert "app/q.sql:1:1: error missing-tenant-filter 'notes'" in proc.stdout
    write(repo, {"app/q.sql": "SELECT body FROM notes WHERE practice_id = %s AND patient_id = %s;\n"})
    git(repo, "add", "app/q.sql")
    proc = subprocess.run(["git", "commit", "-m", "q"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout


def test_the_remote_hook_snippet_says_which_values_to_fill_in():
    snippet = _snippet("repo: https://github.com/OWNER/tenantlint")
    assert "OWNER" in snippet and "rev: COMMIT" in snippet
