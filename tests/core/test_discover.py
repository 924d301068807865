"""Discovery: include/exclude globs, .gitignore, virtual environments, symlink loops."""

import os
import subprocess

from tenantlint.config import Config
from tenantlint.discover import discover, glob_matches


def _touch(root, *names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("SELECT 1;\n")


def _rel(result, root):
    return [f.relative_to(root).as_posix() for f in result.files]


def test_globs():
    assert glob_matches("**/tests/**", "tests/test_x.py")
    assert glob_matches("**/tests/**", "app/tests/a/b.py")
    assert not glob_matches("**/tests/**", "app/tests.py")
    assert glob_matches("*.sql", "db/schema.sql")
    assert not glob_matches("db/*.sql", "db/sub/schema.sql")


def test_include_exclude_and_skipped_folders(tmp_path):
    _touch(tmp_path, "a.sql", "b.py", "c.txt", "app/migrations/0001.py", "tests/test_a.py",
           ".venv/lib/x.py", "node_modules/y.sql", "env2/pyvenv.cfg", "env2/lib/z.py")
    cfg = Config(exclude=("**/tests/**", "**/migrations/**"), root=str(tmp_path))
    assert _rel(discover(["."], cfg, cwd=tmp_path), tmp_path) == ["a.sql", "b.py"]


def test_gitignore_is_honoured_in_a_work_tree(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("generated/\nsecret.sql\n")
    _touch(tmp_path, "keep.sql", "secret.sql", "generated/out.sql")
    assert _rel(discover(["."], Config(root=str(tmp_path)), cwd=tmp_path), tmp_path) == ["keep.sql"]


def test_symlink_loops_are_not_followed(tmp_path):
    _touch(tmp_path, "real/q.sql")
    os.symlink(tmp_path, tmp_path / "real" / "loop")
    os.symlink(tmp_path / "l2.sql", tmp_path / "l1.sql")
    os.symlink(tmp_path / "l1.sql", tmp_path / "l2.sql")
    result = discover(["."], Config(root=str(tmp_path)), cwd=tmp_path)
    assert _rel(result, tmp_path) == ["real/q.sql"]
    assert sorted(e["path"] for e in result.errors) == ["l1.sql", "l2.sql"]
