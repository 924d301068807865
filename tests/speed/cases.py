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


def representative_cases() -> list[Path]:
    """The largest case of each family (a folder of fixtures, the examples, the dev-cases):
    the checks that run each case twice cover every extractor without scanning all of them."""
    families: dict[Path, Path] = {}
    for case in case_dirs():
        family = next((case.parents[i] for i in range(len(case.parents)) if case.parents[i] in ROOTS), case)
        key = case.relative_to(family).parts[0] if family != case and len(case.relative_to(family).parts) > 1 \
            else family
        size = sum(1 for p in case.rglob("*") if p.suffix in (".py", ".sql"))
        best = families.get(key)
        if best is None or size > sum(1 for p in best.rglob("*") if p.suffix in (".py", ".sql")):
            families[key] = case
    return sorted(families.values())
