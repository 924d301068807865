"""EXPECT/ALLOW markers of fixture files (DESIGN.md "Fixture convention"), compared with findings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MARK = re.compile(r"(?:#|--)\s*(EXPECT|ALLOW)(#\w+)?\s+([\w|-]+)")


@dataclass(frozen=True)
class Block:
    kind: str
    group: str
    rules: frozenset
    path: str
    first: int
    last: int

    def holds(self, finding: dict) -> bool:
        return (finding["path"] == self.path and self.first <= finding["line"] <= self.last
                and finding["rule"] in self.rules)


def blocks(root: Path) -> list[Block]:
    out = []
    for file in sorted(root.rglob("*")):
        if file.suffix not in (".py", ".sql") or not file.is_file():
            continue
        rel = file.relative_to(root).as_posix()
        lines = file.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            m = MARK.search(line)
            if not m:
                continue
            end = i
            while end + 1 < len(lines) and lines[end + 1].strip():
                end += 1
            out.append(Block(m.group(1), m.group(2) or f"{rel}:{i + 1}", frozenset(m.group(3).split("|")),
                             rel, i + 1, end + 1))
    return out


def compare(root: Path, findings: list[dict]) -> tuple[list[Block], list[dict]]:
    """(EXPECT blocks with no finding, findings outside every block that allows them)."""
    all_blocks = blocks(root)
    relevant = [f for f in findings if f["severity"] in ("error", "warning") and not f.get("suppressed")]
    groups: dict[str, list[Block]] = {}
    for b in all_blocks:
        groups.setdefault(b.group, []).append(b)
    missed = []
    for group in groups.values():
        expects = [b for b in group if b.kind == "EXPECT"]
        if expects and not any(b.holds(f) for f in relevant for b in group):
            missed.append(expects[0])
    false = [f for f in relevant if not any(b.holds(f) for b in all_blocks)]
    return missed, false
