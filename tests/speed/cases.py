"""The project's own example trees, for checks that speed-ups change no result."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import FIXTURES, ROOT, SHARED

CONFIG_NAMES = ("tenantlint.yaml", "tenantlint.yml", ".tenantlint.yaml", ".tenantlint.yml")
ROOTS = [FIXTURES, ROOT / "examples", SHARED / "dev-cases"]


def case_dirs() -> list[Path]:
    """Every folder with its own config under the fixture roots. (A root scanned whole is
    exactly these projects, each with its own config: every source file is under one.)"""
    roots = [r for r in ROOTS if r.is_dir()]
    found = {p.parent for r in roots for name in CONFIG_NAMES for p in r.rglob(name)}
    return sorted(found)


def source_files() -> list[Path]:
    roots = [r for r in ROOTS if r.is_dir()]
    return sorted({p for r in roots for p in r.rglob("*") if p.suffix in (".py", ".sql") and p.is_file()})


def case_id(path: Path) -> str:
    for root in ROOTS:
        if path == root:
            return root.name
        if root in path.parents:
            return f"{root.name}/{path.relative_to(root).as_posix()}"
    return path.name
