"""Render a scan result: ``text`` for people, ``json`` for machines (DESIGN.md's output contract).

Output is deterministic: the same tree gives byte-identical JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

from tenantlint.report.terminal import printable, source_lines
from tenantlint.scan import ScanResult


def render(result: ScanResult, fmt: str, *, quiet: bool = False, statistics: bool = False,
           color: bool = False, show_info: bool = False) -> str:
    """The report of ``result`` in ``fmt``. For text: ``quiet`` keeps only the finding and
    error lines, ``statistics`` prints counts by rule instead of findings, ``color`` marks
    severities with ANSI colours (a terminal), ``show_info`` lists the info findings of
    background, command, admin and unreachable code too (else they are counted by context:
    cross-tenant on purpose far more often than not, read only when looked for); a rule's
    own info findings (a plaintext column declared in SQL) are always listed."""
    if fmt == "json":
        return json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n"
    if fmt == "text" and statistics:
        return _statistics(result, color)
    if fmt == "text":
        return _text(result, quiet, color, show_info)
    if fmt == "html":
        from tenantlint.engine.modules import load_policy_dirs
        from tenantlint.report.html import html_report
        from tenantlint.rules import load_rules

        rules = load_rules(load_policy_dirs(result.config, result.policy_dirs))
        explanations = {rule.id: rule.description for rule in rules}
        return html_report(result, explanations, SourceLines())
    if fmt == "sarif":
        from tenantlint.report.sarif import sarif

        return json.dumps(sarif(result), indent=2, sort_keys=True) + "\n"
    if fmt == "github":
        from tenantlint.report.github import workflow_commands

        return workflow_commands(result) + summary_line(result) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


_COLORS = {"error": "\x1b[1;31m", "warning": "\x1b[1;33m", "info": "\x1b[36m"}
_RESET = "\x1b[0m"


def _severity(word: str, color: bool) -> str:
    return f"{_COLORS.get(word, '')}{word}{_RESET}" if color and word in _COLORS else word


def _statistics(result: ScanResult, color: bool) -> str:
    """``  12  error    missing-tenant-filter``: counts by rule and severity, largest first."""
    counts: dict[tuple[str, str], int] = {}
    for finding in result.active:
        key = (finding["rule"], finding["severity"])
        counts[key] = counts.get(key, 0) + 1
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    lines = [f"{n:5d}  {_severity(severity, color)}{' ' * (8 - len(severity))}{rule}" for (rule, severity), n in rows]
    return "\n".join([*lines, summary_line(result)]) + "\n"


def _text(result: ScanResult, quiet: bool = False, color: bool = False, show_info: bool = False) -> str:
    lines: list[str] = []
    sources = SourceLines()
    unlisted: dict[str, int] = {}  # info findings by context, counted instead of listed
    for finding in result.findings:
        suppression = finding.get("suppression") if finding.get("suppressed") else None
        if suppression is not None and not result.show_suppressed:
            continue
        context = finding.get("context")
        if finding["severity"] == "info" and context not in (None, "alone") and suppression is None \
                and not show_info:  # a job, command or admin view reading every tenant on purpose
            unlisted[context] = unlisted.get(context, 0) + 1
            continue
        tag = f" [{context}]" if context and context not in ("request", "alone") else ""
        lines.append(printable(
            f"{finding['path']}:{finding['line']}:{finding['column']}: "
            f"{'suppressed ' if suppression is not None else ''}") + _severity(finding["severity"], color)
            + printable(f" {finding['rule']}{tag} {finding['message']}")
        )
        if quiet:
            continue
        if suppression is not None:
            lines.append(f"    suppressed on line {suppression['line']}: {suppression['reason']}")
        code = sources.line(finding["path"], finding["line"])
        if code is not None:
            lines.append(f"    {printable(code.rstrip())}")
            lines.append("    " + " " * _caret_offset(code, finding["column"]) + "^")
        for steps in finding.get("paths") or ():
            lines.append(printable("    path: " + " → ".join(f"{s['function']} ({s['path']}:{s['line']})"
                                                          for s in steps)))
        if finding.get("origin") == "log":  # where in the code a logged statement came from
            for where in finding.get("related") or ():
                lines.append(printable(f"    {where['message']}: {where['path']}:{where['line']}"))
        route = finding.get("route")
        if route and not finding.get("paths"):
            lines.append(printable(f"    reached from {route_text(route)}"))
    for err in result.errors:
        where = f"{err['path']}:{err['line']}" if err.get("line") else err["path"]
        lines.append(printable(f"{where}: not analysed: {err['message']}"))  # names from the scanned tree
    if not quiet:
        if unlisted:
            count = sum(unlisted.values())
            kinds = ", ".join(f"{context} {n}" for context, n in sorted(unlisted.items(), key=lambda kv: (-kv[1], kv[0])))
            lines.append(f"{count} info finding{'s' if count != 1 else ''} not listed ({kinds}): --show-info "
                         "lists them")
        if result.active:
            lines.append("explain a rule: tenantlint explain RULE; accept one finding with a reason: "
                         "# tenantlint: ignore[RULE] why")
        lines.append(summary_line(result))
    return "\n".join(lines) + "\n" if lines else ""


def route_text(route: dict) -> str:
    """``route GET /export (crm.views.export)``; a view no URL route reaches is named alone."""
    if not route.get("path"):
        return f"view {route.get('handler')} (no URL route seen)"
    methods = ",".join(route.get("methods") or []) or "ANY"
    return f"route {methods} {route.get('path')} ({route.get('handler')})"


def summary_line(result: ScanResult) -> str:
    s = result.summary
    sev = s["by_severity"]
    parts = [
        f"{s['findings']} finding{'s' if s['findings'] != 1 else ''}"
        f" ({sev['error']} error, {sev['warning']} warning, {sev['info']} info)",
        f"{s['files']} file{'s' if s['files'] != 1 else ''} scanned",
    ]
    if s["files_not_analysed"]:
        parts.append(f"{s['files_not_analysed']} not analysed")
    if s["errors"]:
        parts.append(f"{s['errors']} error{'s' if s['errors'] != 1 else ''} reading input")
    if s.get("exempted"):
        parts.append(f"{s['exempted']} exempted by the config")
    if s["suppressed"]:
        hint = "" if result.show_suppressed else " (--show-suppressed lists them)"
        parts.append(f"{s['suppressed']} suppressed{hint}")
    configs = s.get("configs") or []
    if not configs:
        configs = ["none found (inferred from the schema)" if s.get("tenant_columns_inferred") else "none found (defaults)"]
    text = f"config: {', '.join(configs)}\n"
    text += "; ".join(parts)
    if "baseline" in s:
        b = s["baseline"]
        text += f"\nbaseline: {b['matched']} matched, {b['new']} new, {b['fixed']} fixed"
        if b["fixed"]:
            text += " (rewrite it with --write-baseline to drop fixed entries)"
    if "diff" in s:
        d = s["diff"]
        text += f"\ndiff: findings on lines changed since {d['merge_base'][:12]} (merge base with {d['ref']})"
    if s.get("tenant_columns_inferred"):
        text += ("\ninferred (write it down with tenantlint init): " + "; ".join(s["tenant_columns_inferred"]))
    if s["tenant_columns_defaulted"]:
        text += f"\ntenant columns (default, set tenant_columns in tenantlint.yaml): {', '.join(s['tenant_columns'])}"
    return text


def _caret_offset(code: str, column: int) -> int:
    prefix = printable(code[: max(column - 1, 0)])  # as printed: an escape is several characters wide
    return len(prefix.expandtabs(4)) if "\t" in prefix else len(prefix)


class SourceLines:
    """Reads a file's lines once, only for files that have findings."""

    def __init__(self):
        self._cache: dict[str, list[str] | None] = {}

    def line(self, path: str, number: int) -> str | None:
        if path not in self._cache:
            try:
                self._cache[path] = source_lines(Path(path).read_text(encoding="utf-8", errors="replace"))
            except OSError:
                self._cache[path] = None
        lines = self._cache[path]
        if lines is None or not 1 <= number <= len(lines):
            return None
        return lines[number - 1]
