"""The filter stage: what of the policies' findings a run reports. One function per concern.

Order in :func:`tenantlint.scan.scan`: inline suppressions (mark, never drop: json and sarif
show suppressed findings), then the baseline (drop what it accepts), then ``--diff`` (drop
what the change did not touch). Findings keep their deterministic order throughout.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Iterable

from tenantlint.findings import fingerprint
from tenantlint.gate.suppressions import INVALID_RULE, UNUSED_RULE


def apply_suppressions(
    findings: list[dict],
    suppressions: dict[str, list[dict]],
    *,
    ignore: bool = False,
    unanalysed: Iterable[tuple[str, int]] = (),
    rule_settings: dict | None = None,
    anchor: Callable[[str], str] = str,
    known_rules: set[str] | None = None,
) -> list[dict]:
    """Mark findings silenced by an inline suppression, and report suppressions that are
    invalid (no rule id, no reason) or unused (silence nothing), as warning findings.

    ``suppressions`` maps a finding path to that file's suppressions
    (:func:`tenantlint.gate.suppressions.collect`). With ``ignore`` nothing is silenced (and so
    nothing is unused); invalid ones are still reported, and so is a rule id no policy
    declares (given ``known_rules``). Unused ones are not reported where analysis failed
    (``unanalysed``: (path, line) of each error, line 0 for a whole file): findings may be
    missing there, and only there. ``anchor`` is the path function of
    :func:`tenantlint.findings.findings`, for the new findings' fingerprints.
    """
    findings = [{**f, "suppressed": False} for f in findings]
    by_place: dict[tuple, list[dict]] = defaultdict(list)  # (path, target line, rule) -> suppressions
    used: set[tuple] = set()  # (path, suppression line, rule)
    extra: list[dict] = []
    for path, items in suppressions.items():
        for s in items:
            if s.get("error"):
                extra.append(_meta_finding(INVALID_RULE, path, s, s["error"], s["text"], anchor))
            else:
                for rule in s["rules"]:
                    if known_rules is not None and rule not in known_rules:
                        from tenantlint.rules import did_you_mean

                        message = f"suppression names unknown rule '{rule}'{did_you_mean(rule, known_rules)}"
                        extra.append(_meta_finding(INVALID_RULE, path, s, message, f"{s['text']}\x1f{rule}", anchor))
                    elif not ignore:
                        by_place[(path, s["target"], rule)].append(s)
    if by_place:
        for finding in findings:
            lines = (finding["line"], finding.get("end_line") or finding["line"])
            for line in dict.fromkeys(lines):
                match = by_place.get((finding["path"], line, finding["rule"]))
                if match:
                    s = match[0]
                    finding["suppressed"] = True
                    finding["suppression"] = {"reason": s["reason"], "line": s["line"]}
                    used.add((finding["path"], s["line"], finding["rule"]))
                    break
    failed = set(unanalysed)
    for (path, target, rule), items in by_place.items():
        if (path, 0) in failed or (path, target) in failed:
            continue
        for s in items:
            if (path, s["line"], rule) not in used:
                message = f"suppression of {rule} silences nothing: no {rule} finding on line {s['target']}"
                extra.append(_meta_finding(UNUSED_RULE, path, s, message, f"{s['text']}\x1f{rule}", anchor))
    return _sorted(findings + _configured(extra, rule_settings or {}))


def apply_per_file_ignores(findings: list[dict], ignores: dict, anchor: Callable[[str], str] = str) -> list[dict]:
    """Findings the config's ``per_file_ignores`` (glob of a path relative to the project
    root -> rule ids, ``"*"`` for all) do not drop."""
    if not ignores:
        return findings
    from tenantlint.discover import glob_matches

    def ignored(finding: dict) -> bool:
        path = anchor(finding["path"])
        return any(glob_matches(pattern, path) and (finding["rule"] in rules or "*" in rules)
                   for pattern, rules in ignores.items())

    return [f for f in findings if not ignored(f)]


def drop_paths(findings: list[dict], paths: Iterable[str]) -> list[dict]:
    """Findings outside ``paths``: files read only for context (models, schema) report nothing."""
    skip = set(paths)
    return [f for f in findings if f["path"] not in skip] if skip else findings


def apply_baseline(findings: list[dict], accepted, read: Callable[[str], bool] = lambda path: True,
                   ) -> tuple[list[dict], dict]:
    """Findings the baseline does not accept, and ``{"matched", "new", "fixed"}`` counts.

    A fingerprint recorded ``n`` times accepts its first ``n`` findings (in report order):
    a copy of a known query is new. Suppressed findings pass through, uncounted. An entry
    of a file the scan did not ``read`` is not fixed: nobody looked.
    """
    seen: Counter = Counter()
    kept: list[dict] = []
    matched = 0
    for finding in findings:
        fp = finding["fingerprint"]
        if not finding.get("suppressed") and seen[fp] < accepted.counts.get(fp, 0):
            seen[fp] += 1
            matched += 1
            continue
        kept.append(finding)
    new = sum(1 for f in kept if not f.get("suppressed"))
    fixed = sum(count - seen[fp] for fp, count in accepted.counts.items() if read(accepted.paths.get(fp, "")))
    return kept, {"matched": matched, "new": new, "fixed": fixed}


def apply_diff(findings: list[dict], changes, cwd: Path) -> list[dict]:
    """Findings (or error entries) that touch a line the change added or modified, or lie
    in a new file; an entry with no line (a whole-file error) is kept if its file changed.

    ``changes`` is a :class:`tenantlint.gate.gitdiff.Changes`. A finding spans ``line`` to
    ``end_line``, so a multi-line query whose tenant filter line was edited is reported.
    """
    kept = []
    for finding in findings:
        path = (cwd / finding["path"]).resolve()
        first = finding.get("line") or 0
        if first <= 0:
            touched = changes.touches_file(path)
        else:
            touched = changes.touches(path, first, max(finding.get("end_line") or first, first))
        if touched:
            kept.append(finding)
    return kept


def _meta_finding(rule: str, path: str, s: dict, message: str, code: str, anchor: Callable[[str], str]) -> dict:
    finding = {
        "rule": rule, "severity": "warning", "message": message, "path": path,
        "line": s["line"], "column": s["column"], "end_line": s["line"], "suppressed": False,
    }
    finding["fingerprint"] = fingerprint(rule, anchor(path), code, None, None, message)
    return finding


def _configured(extra: list[dict], rule_settings: dict) -> list[dict]:
    """Honour the config's ``rules: {invalid-suppression: {severity, enabled}}``."""
    out = []
    for finding in extra:
        settings = rule_settings.get(finding["rule"], {})
        if settings.get("enabled", True) is False:
            continue
        out.append({**finding, "severity": settings.get("severity", finding["severity"])})
    return out


def _sorted(findings: list[dict]) -> list[dict]:
    return sorted(findings, key=lambda f: (f["path"], f["line"], f["column"], f["rule"], f.get("table") or "",
                                           f["message"]))
