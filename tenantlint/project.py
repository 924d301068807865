"""The project around the scanned paths: its root, and the files that give the scan context.

A pre-commit hook passes only the staged files. A query in ``views.py`` is judged by
whether ``patients`` is tenant-owned, which ``schema.sql`` or ``models.py`` says, a view by
whether ``urls.py`` and the settings protect it, and a data-layer query by the handlers
that call it. So when a scan is given files, it also reads the project's other Python
files and its schema-declaring SQL files (found under the config file's folder, else the
git work tree's top) for context, and reports nothing from them. Their facts come from
the cache after the first run, so this costs one read and one hash per project file.
"""

from __future__ import annotations

import re
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Callable

from tenantlint.config import Config
from tenantlint.discover import discover, read_source

# Text that a file declaring tables or models must contain (bytes, checked before parsing).
PYTHON_MARKERS = (b"models.Model", b"__tablename__", b"db.Model", b"DeclarativeBase", b"declarative_base",
                  b"django.db import models")
SQL_MARKER = re.compile(rb"(?i)\b(?:create|alter)\s+table\b")
# Text of files that route views or set project-wide defaults for them (url configurations,
# mounts, Django settings): a view's protection and URL are decided there.
ROUTE_MARKERS = (b"urlpatterns", b"register_blueprint", b"include_router", b"REST_FRAMEWORK", b"TENANT_APPS",
                 b"LoginRequiredMiddleware", b"before_request")


def project_root(config: Config, cwd: Path) -> Path | None:
    """The config file's folder, else the top of the git work tree around ``cwd``, else None."""
    if config.root:
        return Path(config.root).resolve()
    return git_toplevel(cwd)


def git_toplevel(cwd: Path) -> Path | None:
    try:
        proc = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    top = proc.stdout.decode("utf-8", "surrogateescape").strip()
    return Path(top).resolve() if proc.returncode == 0 and top else None


def anchor(root: Path | None, cwd: Path) -> Callable[[str], str]:
    """Map a reported path (relative to ``cwd``) to the path fingerprints use (relative to
    ``root``): the same finding keeps its fingerprint whatever folder the scan runs from."""
    if root is None or root == cwd:
        return str

    @lru_cache(maxsize=None)
    def to_root(path: str) -> str:
        try:
            return (cwd / path).resolve().relative_to(root).as_posix()
        except ValueError:
            return path

    return to_root


def context_files(paths: list[str], scanned: list[Path], config: Config, cwd: Path,
                  root: Path | None) -> list[Path]:
    """The project's other files, when some of ``paths`` are files (as a pre-commit hook
    passes them); none when they are folders. Every Python file is part of the whole
    program (a query in an unchanged data layer is reported at the changed handler's call;
    a guard edited in one file re-judges the queries it protects), and their facts come
    from the cache; SQL files only when they declare tables."""
    if root is None or not any((cwd / p).is_file() for p in paths):
        return []
    seen = {p.resolve() for p in scanned}
    found = discover([str(root)], config, cwd=cwd)
    return [file for file in found.files if file.resolve() not in seen
            and (file.suffix == ".py" or declares_schema(file, routes=True))]


def declares_schema(file: Path, routes: bool = False) -> bool:
    """Whether ``file`` may declare tables or models, or with ``routes`` route views or set
    their defaults (a cheap text test, no parse)."""
    try:
        data = read_source(file)
    except OSError:
        return False
    if file.suffix == ".sql":
        return SQL_MARKER.search(data) is not None
    markers = PYTHON_MARKERS + ROUTE_MARKERS if routes else PYTHON_MARKERS
    return any(marker in data for marker in markers)


# Text of a migration that changes row-level security or who bypasses it.
SECURITY_MARKERS = (b"ROW LEVEL SECURITY", b"row level security", b"POLICY ", b"policy ", b"BYPASSRLS",
                    b"bypassrls", b"SUPERUSER")  # not "superuser": Django's is_superuser is everywhere
MIGRATION_FOLDERS = ("migrations", "versions", "alembic")


def security_files(paths: list[str], scanned: list[Path], config: Config, cwd: Path) -> list[Path]:
    """Migrations the config leaves out (``**/migrations/**`` by default: their data fixes
    run for every tenant on purpose) that set up row-level security: RLS lives in
    migrations, so their RLS statements are read, and reported, even so. Only folders
    are searched (a hook's given files are what it checks)."""
    folders = [p for p in paths if (cwd / p).is_dir()]
    if not folders:
        return []
    kept = tuple(p for p in config.exclude if not any(name in p for name in MIGRATION_FOLDERS))
    if kept == config.exclude:
        return []
    seen = {p.resolve() for p in scanned}
    found = discover(folders, config.with_overrides(exclude=kept), cwd=cwd)
    return [file for file in found.files if file.resolve() not in seen
            and any(part in MIGRATION_FOLDERS for part in file.parts) and _mentions_security(file)]


def _mentions_security(file: Path) -> bool:
    try:
        data = read_source(file)
    except OSError:
        return False
    return any(marker in data for marker in SECURITY_MARKERS)


def console_scripts(root: Path | None, cwd: Path) -> list[str]:
    """Functions the project installs as commands (``[project.scripts]``, Poetry's
    ``[tool.poetry.scripts]`` of the pyproject at the project root or the scanned folder),
    as dotted names: entry points of the ``command`` context."""
    import tomllib

    out: list[str] = []
    for folder in dict.fromkeys(p for p in (root, cwd) if p is not None):
        try:
            data = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        scripts = {**(data.get("project", {}).get("scripts") or {}),
                   **(data.get("tool", {}).get("poetry", {}).get("scripts") or {})}
        for target in scripts.values():
            if isinstance(target, str) and ":" in target:
                module, _, function = target.partition(":")
                out.append(f"{module.strip()}.{function.strip().split('[')[0].strip()}")
    return out

