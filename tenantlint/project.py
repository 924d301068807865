"""The projects of the scanned paths (one per config file), their roots, and the files that
give a scan context.

A pre-commit hook passes only the staged files. A query in ``views.py`` is judged by
whether ``patients`` is tenant-owned, which ``schema.sql`` or ``models.py`` says, a view by
whether ``urls.py`` and the settings protect it, and a data-layer query by the handlers
that call it. So when a scan is given files, it also reads the project's other Python
files and its schema-declaring SQL files (found under the config file's folder, else the
git work tree's top) for context, and reports nothing from them. Their facts come from
the cache after the first run, so this costs one read and one hash per project file.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

from tenantlint.config import CONFIG_FILE_NAMES, Config, find_config_file, load_config
from tenantlint.discover import discover, read_source

# Text that a file declaring tables or models must contain (bytes, checked before parsing).
PYTHON_MARKERS = (b"models.Model", b"__tablename__", b"db.Model", b"DeclarativeBase", b"declarative_base",
                  b"django.db import models")
SQL_MARKER = re.compile(rb"(?i)\b(?:create|alter)\s+table\b")
# Text of files that route views or set project-wide defaults for them (url configurations,
# mounts, Django settings): a view's protection and URL are decided there.
ROUTE_MARKERS = (b"urlpatterns", b"register_blueprint", b"include_router", b"REST_FRAMEWORK", b"TENANT_APPS",
                 b"LoginRequiredMiddleware", b"before_request")


@dataclass
class Project:
    """A config and the paths (as given, relative to the current directory) it judges."""

    config: Config
    paths: list[str]


def find_projects(paths: list[str], cwd: Path) -> list[Project]:
    r"""Each path with the nearest config above it, and every config found below a given
    folder as a project of its own (its folder left out of the enclosing project), as ruff
    does: ``scan .`` at the top of a monorepo judges each service with its own config.
    A path under no config takes the one above the current directory, else the defaults.

    >>> import tempfile
    >>> top = Path(tempfile.mkdtemp())
    >>> (top / "svc").mkdir()
    >>> _ = (top / "svc" / "tenantlint.yaml").write_text("tenant_columns: [shop_id]\n")
    >>> [(p.config.tenant_columns, p.paths) for p in find_projects(["."], top)][1]
    (('shop_id',), ['svc'])
    """
    by_source: dict[str | None, Project] = {}
    for raw in paths:
        path = (cwd / raw) if not Path(raw).is_absolute() else Path(raw)
        folder = (path if path.is_dir() else path.parent).resolve()
        found = find_config_file(folder) or find_config_file(cwd)
        _project(by_source, found).paths.append(raw)
        if path.is_dir():
            for config_file in _configs_below(folder):
                if config_file != found:
                    _project(by_source, config_file).paths.append(os.path.relpath(config_file.parent, cwd))
    roots = [Path(p.config.root) for p in by_source.values() if p.config.root]
    for project in by_source.values():  # a project inside another is not part of it
        own = Path(project.config.root) if project.config.root else cwd
        inside = tuple(f"{r.relative_to(own).as_posix()}/**" for r in roots if own in r.parents)
        if inside:
            project.config = project.config.with_overrides(exclude=project.config.exclude + inside)
    return list(by_source.values())


def _project(by_source: dict, config_file: Path | None) -> Project:
    key = str(config_file) if config_file else None
    if key not in by_source:
        by_source[key] = Project(load_config(config_file) if config_file else Config(), [])
    return by_source[key]


def _configs_below(folder: Path) -> list[Path]:
    """Config files in the folders under ``folder`` (not ``folder`` itself), skipping what
    discovery skips (virtual environments, caches, .git)."""
    from tenantlint.discover import SKIP_DIRS

    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        base = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info")
                             and not (base / d / "pyvenv.cfg").exists())
        if base == folder:
            continue
        names = set(filenames)
        chosen = next((base / n for n in CONFIG_FILE_NAMES if n in names), None)
        if chosen is None and "pyproject.toml" in names and _has_our_table(base / "pyproject.toml"):
            chosen = base / "pyproject.toml"
        if chosen is not None:
            found.append(chosen)
    return found


def _has_our_table(pyproject: Path) -> bool:
    """A cheap look for ``[tool.tenantlint]`` (the file is parsed only if it has one)."""
    try:
        return b"[tool.tenantlint" in pyproject.read_bytes()
    except OSError:
        return False


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


def names_files(paths: list[str], cwd: Path) -> bool:
    """Some of ``paths`` are files, as a pre-commit hook passes them (not folders to scan)."""
    return any((cwd / p).is_file() for p in paths)


def context_files(paths: list[str], scanned: list[Path], config: Config, cwd: Path,
                  root: Path | None) -> list[Path]:
    """The project's other files, when some of ``paths`` are files (as a pre-commit hook
    passes them); none when they are folders. Every Python file is part of the whole
    program (a query in an unchanged data layer is reported at the changed handler's call;
    a guard edited in one file re-judges the queries it protects), and their facts come
    from the cache; SQL files only when they declare tables."""
    if root is None or not names_files(paths, cwd):
        return []
    scanned_file = _same_file_test(scanned)
    found = discover([str(root)], config, cwd=cwd)
    return [file for file in found.files if not scanned_file(file)
            and (file.suffix == ".py" or declares_schema(file, routes=True))]


def _same_file_test(scanned: list[Path]) -> Callable[[Path], bool]:
    """Whether a discovered file is one of ``scanned`` (through a symbolic link too). Only
    a file named like one of them is resolved: resolving every file of a large project
    costs a hook a tenth of a second."""
    names = {p.name for p in scanned}
    real = {p.resolve() for p in scanned}
    return lambda file: file.name in names and file.resolve() in real


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
    scanned_file = _same_file_test(scanned)
    found = discover(folders, config.with_overrides(exclude=kept), cwd=cwd)
    return [file for file in found.files if not scanned_file(file)
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

