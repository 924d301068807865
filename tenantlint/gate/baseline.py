"""Baseline files: accept today's findings so that a gate fails only on new ones.

The file is JSON, versioned, sorted, one entry per fingerprint with a count (so that a
second copy of an accepted query is still new)::

    {"tool": "tenantlint", "version": 1,
     "findings": [{"fingerprint": "…", "rule": "missing-tenant-filter",
                   "path": "app/views.py", "count": 1}]}

Entries carry no line numbers: fingerprints survive edits above a finding (see
:mod:`tenantlint.findings`), and a baseline should not churn when code moves. They carry
their file, so a scan of some files (a pre-commit hook, a subfolder) counts as fixed only
the entries of files it read, and writes the baseline keeping the entries of the others.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Callable, NamedTuple

from tenantlint.errors import UsageError

VERSION = 1


def build(findings: list[dict], path_of: Callable[[str], str] = str) -> dict:
    """The baseline document of ``findings`` (suppressed ones are accepted inline, not here).

    ``path_of`` turns a finding's path (relative to the current directory) into the one the
    fingerprint was computed from (relative to the project root), which the file records.
    """
    counts: Counter = Counter()
    info: dict[str, tuple[str, str]] = {}
    for finding in findings:
        if finding.get("suppressed"):
            continue
        fp = finding["fingerprint"]
        counts[fp] += 1
        info.setdefault(fp, (finding["rule"], path_of(finding["path"])))
    entries = [{"fingerprint": fp, "rule": info[fp][0], "path": info[fp][1], "count": n} for fp, n in counts.items()]
    entries.sort(key=lambda e: (e["path"], e["rule"], e["fingerprint"]))
    return {"tool": "tenantlint", "version": VERSION, "findings": entries}


class Accepted(NamedTuple):
    counts: dict[str, int]  # fingerprint -> accepted count
    paths: dict[str, str]  # fingerprint -> file (relative to the project root)
    entries: list[dict]  # as recorded, for a partial write to keep


def write(path: str | Path, findings: list[dict], path_of: Callable[[str], str] = str,
          keep: Callable[[str], bool] | None = None) -> tuple[Accepted, int]:
    """Write the baseline of ``findings`` to ``path``; return what it accepts and how many
    entries of the file already there it kept: those whose file ``keep`` says this scan did
    not read (a hook run on three files must not wipe what the team accepted elsewhere)."""
    document = build(findings, path_of)
    kept = []
    if keep is not None and Path(path).is_file():
        try:
            kept = [e for e in load(path).entries if keep(e["path"])]
        except UsageError:  # an unreadable old file: nothing in it to keep
            kept = []
    if kept:
        document["findings"] = sorted(document["findings"] + kept,
                                      key=lambda e: (e["path"], e["rule"], e["fingerprint"]))
    try:
        Path(path).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write baseline {path}: {exc.strerror or exc}") from exc
    return _accepted(document["findings"]), len(kept)


def load(path: str | Path) -> Accepted:
    """What the baseline accepts. A missing or malformed file is a UsageError (exit 2)."""
    where = f"baseline {path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{where}: file not found (create it with --write-baseline)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(document, dict) or "findings" not in document:
        raise UsageError(f"{where}: not a tenantlint baseline (no 'findings' list)")
    if document.get("version") != VERSION:
        raise UsageError(f"{where}: unsupported version {document.get('version')!r} (expected {VERSION})")
    entries = document["findings"]
    if not isinstance(entries, list):
        raise UsageError(f"{where}: 'findings' must be a list")
    for i, entry in enumerate(entries):
        fp = entry.get("fingerprint") if isinstance(entry, dict) else None
        count = entry.get("count", 1) if isinstance(entry, dict) else None
        if not isinstance(fp, str) or not fp:
            raise UsageError(f"{where}: findings[{i}] has no fingerprint")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise UsageError(f"{where}: findings[{i}].count must be a positive whole number")
        if not isinstance(entry.get("path", ""), str) or not isinstance(entry.get("rule", ""), str):
            raise UsageError(f"{where}: findings[{i}].path and .rule must be text")
    return _accepted([{"rule": "", "path": "", **e} for e in entries])


def _accepted(entries: list[dict]) -> Accepted:
    counts: dict[str, int] = {}
    paths: dict[str, str] = {}
    for entry in entries:
        fp = entry["fingerprint"]
        counts[fp] = counts.get(fp, 0) + entry.get("count", 1)
        paths.setdefault(fp, entry["path"])
    return Accepted(counts, paths, entries)
