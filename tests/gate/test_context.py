"""Given files (as pre-commit passes them), a scan reads the project's schema files for context
and reports nothing from them (issue 5.6)."""

from __future__ import annotations

from tenantlint.config import Config
from tenantlint.project import context_files, declares_schema
from tenantlint.scan import scan
from tests.gate.conftest import git, places, write


def test_explicit_files_see_the_whole_schema_but_report_only_themselves(project):
    write(project, {
        "tenantlint.yaml": "tenant_columns: [practice_id]\nsensitive_columns: [notes.body]\n",
        "app/q.sql": "SELECT body FROM notes WHERE patient_id = %s;\n",
        "app/other.sql": "DELETE FROM notes;\n",  # not given, declares nothing: not read
        "db/broken.sql": "CREATE TABLE x (;\n",  # context that does not parse: no error reported
    })
    full = scan(["."], cwd=project)
    assert ("unencrypted-sensitive-field", "db/schema.sql", 3) in places(full.findings)
    result = scan(["app/q.sql"], cwd=project)
    assert places(result.findings) == [("missing-tenant-filter", "app/q.sql", 1)]
    assert result.errors == [] and result.files_scanned == 1
    # From the file's own folder too: the config's folder is the project root.
    assert places(scan(["q.sql"], cwd=project / "app").findings) == [("missing-tenant-filter", "q.sql", 1)]


def test_without_config_the_git_top_level_is_the_root(tmp_path):
    root = tmp_path / "r"
    write(root, {"models/schema.sql": "create table notes (id int, org_id int);\n",
                 "app/q.sql": "SELECT id FROM notes;\n"})
    assert scan(["app/q.sql"], cwd=root).findings == []  # no config, no git: no context, notes unknown
    git(root, "init", "-q")
    assert places(scan(["app/q.sql"], cwd=root).findings) == [("missing-tenant-filter", "app/q.sql", 1)]


def test_folders_get_no_extra_context(project):
    write(project, {"app/q.sql": "SELECT body FROM notes;\n"})
    assert context_files(["app"], [], Config(), project, project) == []
    assert context_files(["app/q.sql"], [], Config(), project, project) == [project / "db/schema.sql"]


def test_schema_markers(tmp_path):
    cases = {
        "a.sql": ("Create  Table t (id int);", True),
        "b.sql": ("alter table t add column org_id int;", True),
        "c.sql": ("SELECT 1;", False),
        "m.py": ("class P(models.Model):\n    pass\n", True),
        "s.py": ("class P(Base):\n    __tablename__ = 'p'\n", True),
        "d.py": ("class Base(DeclarativeBase):\n    pass\n", True),
        "v.py": ("def view(request):\n    return 1\n", False),
    }
    for name, (text, expected) in cases.items():
        (tmp_path / name).write_text(text)
        assert declares_schema(tmp_path / name) is expected, name
