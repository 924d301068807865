"""Which files a scan reads: walk the paths, honour include/exclude and .gitignore.

Never follows a directory symlink (so no symlink loop can trap the walk), skips ``.git``,
virtual environments and caches, and in a git work tree asks git which files it ignores.

>>> glob_matches("**/migrations/**", "app/migrations/0001_initial.py")
True
>>> glob_matches("**/*.sql", "schema.sql")
True
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tenantlint.config import Config
from tenantlint.errors import UsageError

SKIP_DIRS = {
    ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", ".env", "env", "node_modules",
    "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages", ".tenantlint_cache",
    ".eggs", "build", "dist",
}
SOURCE_SUFFIXES = (".py", ".sql")


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)  # absolute paths, sorted, unique
    errors: list[dict] = field(default_factory=list)  # paths that could not be listed or followed


def discover(paths: list[str], config: Config, cwd: Path | None = None) -> Discovery:
    """All source files under ``paths`` that the config includes and does not exclude."""
    cwd = (cwd or Path.cwd()).resolve()
    root = Path(config.root) if config.root else cwd
    found: dict[Path, None] = {}
    result = Discovery()
    for raw in paths:
        path = (cwd / raw) if not os.path.isabs(raw) else Path(raw)
        if path.is_symlink() and not path.exists():
            result.errors.append(_error(path, cwd, "broken symbolic link or symlink loop"))
            continue
        if not path.exists():
            raise UsageError(f"path does not exist: {raw}")
        if path.is_file():
            if _wanted(path.resolve(), root, config, explicit=True):
                found[path.absolute()] = None
            continue
        for file in _walk(path.absolute(), result, cwd):
            if _wanted(file, root, config, explicit=False):
                found[file] = None
    result.files = sorted(found)
    return result


def display_path(path: Path, cwd: Path | None = None) -> str:
    """The path as reported: relative to the current directory when under it, with ``/``."""
    cwd = cwd or Path.cwd().resolve()
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        try:
            return path.resolve().relative_to(cwd).as_posix()
        except ValueError:
            return path.as_posix()


def _walk(folder: Path, result: Discovery, cwd: Path):
    ignored = _git_ignored(folder)
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False, onerror=None):
        base = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIP_DIRS and not d.endswith(".egg-info")
            and not (base / d / "pyvenv.cfg").exists()
            and not ignored(base / d, True)
        )
        for name in sorted(filenames):
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            file = base / name
            if file.is_symlink() and not file.exists():
                result.errors.append(_error(file, cwd, "broken symbolic link or symlink loop"))
                continue
            if ignored(file, False):
                continue
            yield file


def _git_ignored(folder: Path):
    """A predicate telling whether git ignores a path under ``folder`` (never, outside git)."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(folder), "ls-files", "-z", "--others", "--ignored", "--exclude-standard",
             "--directory"],
            capture_output=True, timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return lambda path, is_dir: False
    if proc.returncode != 0:
        return lambda path, is_dir: False
    entries = {os.path.normpath(folder / e.decode("utf-8", "surrogateescape"))
               for e in proc.stdout.split(b"\0") if e}
    if not entries:
        return lambda path, is_dir: False

    def ignored(path: Path, is_dir: bool) -> bool:
        return os.path.normpath(path) in entries

    return ignored


def _wanted(file: Path, root: Path, config: Config, explicit: bool) -> bool:
    rel = _relative(file, root)
    if any(glob_matches(p, rel) for p in config.exclude):
        return False
    if explicit and file.suffix not in SOURCE_SUFFIXES:
        return False
    return any(glob_matches(p, rel) for p in config.include)


def _relative(file: Path, root: Path) -> str:
    try:
        return file.relative_to(root).as_posix()
    except ValueError:
        try:
            return file.resolve().relative_to(root).as_posix()
        except ValueError:
            return file.as_posix().lstrip("/")


def glob_matches(pattern: str, rel_path: str) -> bool:
    """gitignore-like glob: ``**`` spans folders, ``*`` stays within one, leading ``**/`` optional."""
    return _glob_regex(pattern).match(rel_path) is not None


@functools.lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern:
    pattern = pattern.strip().lstrip("./") if pattern.startswith("./") else pattern.strip()
    i, out = 0, []
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    body = "".join(out)
    if "/" not in pattern.rstrip("/"):  # a bare name matches at any depth, like .gitignore
        body = "(?:.*/)?" + body
    return re.compile(body + "(?:/.*)?$" if pattern.endswith("/") else body + "$")


def _error(path: Path, cwd: Path, message: str) -> dict:
    return {"path": display_path(path, cwd), "line": 0, "message": message, "kind": "read"}
