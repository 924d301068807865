"""Which lines a change touched, for ``--diff REF``: a pull request gate reports only what
the pull request brings in.

The change is everything between the merge base of REF and HEAD and the working tree
(``git diff -U0 <merge-base>``: commits, staged and unstaged edits), plus untracked files.
Git speaks in paths relative to the top of the work tree; this module answers in absolute
paths, so callers in any subfolder compare them with their own.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tenantlint.errors import UsageError

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass
class Changes:
    ref: str
    merge_base: str
    top: Path
    lines: dict[Path, set[int]] = field(default_factory=dict)  # file -> added or modified lines
    new_files: set[Path] = field(default_factory=set)  # wholly new: untracked or added since the base

    def touches(self, path: Path, first: int, last: int) -> bool:
        """Whether the span ``first..last`` of ``path`` holds a changed line (or the file is new)."""
        if path in self.new_files:
            return True
        changed = self.lines.get(path)
        if not changed:
            return False
        if last - first < len(changed):
            return any(line in changed for line in range(first, last + 1))
        return any(first <= line <= last for line in changed)

    def touches_file(self, path: Path) -> bool:
        return path in self.new_files or bool(self.lines.get(path))

    def summary(self) -> dict:
        return {"ref": self.ref, "merge_base": self.merge_base, "files": len(self.lines.keys() | self.new_files)}


def changes(ref: str, cwd: Path) -> Changes:
    """The lines changed since the merge base of ``ref`` and HEAD, seen from ``cwd``."""
    if ref.startswith("-"):
        raise UsageError(f"--diff {ref}: not a git revision")
    top = _git(["rev-parse", "--show-toplevel"], cwd, "--diff needs a git work tree").decode().strip()
    top_path = Path(top).resolve()
    base = _git(["merge-base", ref, "HEAD"], cwd, f"--diff {ref}: no merge base of {ref!r} and HEAD")
    base_sha = base.decode().strip()
    diff = _git(["-c", "core.quotePath=false", "diff", "-U0", "--no-color", "--no-ext-diff", "--no-textconv",
                 "--find-renames", base_sha, "--"], top_path, f"--diff {ref}: git diff failed")
    result = Changes(ref=ref, merge_base=base_sha, top=top_path)
    _parse(diff, result)
    untracked = _git(["ls-files", "-z", "--others", "--exclude-standard"], top_path,
                     "--diff: cannot list untracked files")
    result.new_files |= {(top_path / _decode(p)).resolve() for p in untracked.split(b"\0") if p}
    return result


def _parse(diff: bytes, result: Changes) -> None:
    """Fill ``result`` from ``git diff -U0`` output.

    A hunk ``+start,count`` adds lines start..start+count-1; a pure deletion (count 0) sits
    between ``start`` and ``start + 1``, which are both taken as changed so that a query
    whose tenant filter line was deleted is reported.
    """
    current: Path | None = None
    in_header = from_null = False
    for raw in diff.split(b"\n"):
        if raw.startswith(b"diff --git "):
            current, in_header, from_null = None, True, False
        elif in_header and raw.startswith(b"--- "):
            from_null = raw[4:].strip() == b"/dev/null"
        elif in_header and raw.startswith(b"+++ "):
            name = _unquote(raw[4:].rstrip(b"\r"))
            if name == b"/dev/null":
                continue
            current = (result.top / _decode(name[2:] if name.startswith(b"b/") else name)).resolve()
            if from_null:
                result.new_files.add(current)
        elif raw.startswith(b"@@ "):
            in_header = False
            match = _HUNK.match(raw)
            if current is None or not match:
                continue
            start, count = int(match.group(1)), int(match.group(2) or b"1")
            lines = result.lines.setdefault(current, set())
            if count:
                lines.update(range(start, start + count))
            else:
                lines.update((start, start + 1))


def _unquote(name: bytes) -> bytes:
    """Undo git's C-style quoting of unusual path names (``"a\\tb.py"``, octal bytes)."""
    name = name.strip()
    if not (name.startswith(b'"') and name.endswith(b'"') and len(name) >= 2):
        return name
    body, out, i = name[1:-1], bytearray(), 0
    escapes = {ord("n"): 10, ord("t"): 9, ord("r"): 13, ord("a"): 7, ord("b"): 8, ord("f"): 12, ord("v"): 11,
               ord("\\"): 92, ord('"'): 34}
    while i < len(body):
        ch = body[i]
        if ch == 92 and i + 1 < len(body):  # backslash
            nxt = body[i + 1]
            if 48 <= nxt <= 55 and i + 4 <= len(body):
                out.append(int(body[i + 1:i + 4], 8))
                i += 4
                continue
            out.append(escapes.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return bytes(out)


def _decode(name: bytes) -> str:
    return name.decode("utf-8", "surrogateescape")


def _git(args: list[str], cwd: Path, failure: str) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=300)
    except FileNotFoundError:
        raise UsageError(f"{failure}: git is not installed") from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise UsageError(f"{failure}: {exc}") from exc
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"{failure}" + (f" ({detail[-1]})" if detail else ""))
    return proc.stdout
