"""Shared helpers of the gate tests: a small clinic project, optionally in a real git repo."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Gate Test", "GIT_AUTHOR_EMAIL": "gate@example.com",
    "GIT_COMMITTER_NAME": "Gate Test", "GIT_COMMITTER_EMAIL": "gate@example.com",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
}

CONFIG = "tenant_columns: [practice_id]\nsensitive_columns: []\n"
SCHEMA = """\
CREATE TABLE practices (id int PRIMARY KEY, name text);
CREATE TABLE patients (id int PRIMARY KEY, practice_id int NOT NULL, name text);
CREATE TABLE notes (id int PRIMARY KEY, practice_id int NOT NULL, patient_id int, body text);
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-verify", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def places(findings: list[dict]) -> list[tuple]:
    return [(f["rule"], f["path"], f["line"]) for f in findings]


def cli_json(*args: str, cwd: Path) -> tuple[int, dict]:
    proc = run_cli("scan", *args, "--format", "json", "--no-cache", cwd=cwd, env=GIT_ENV)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with a config and a schema (three tenant-owned tables but practices)."""
    root = tmp_path / "proj"
    write(root, {"tenantlint.yaml": CONFIG, "db/schema.sql": SCHEMA})
    return root


@pytest.fixture
def repo(project: Path) -> Path:
    """``project`` as a git repository with one commit on branch ``main``."""
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "schema")
    return project
