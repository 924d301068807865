"""SARIF 2.1.0 output, for GitHub code scanning and other SARIF viewers.

Every rule is described from its policy's METADATA (:mod:`tenantlint.rules`), plus the
rules the host reports itself (suppression checks). Suppressed findings stay in the log
with ``suppressions`` (kind ``inSource``, the comment's reason as justification), so a
viewer can show them as dismissed. ``partialFingerprints["tenantlint/v1"]`` is the finding's
fingerprint, stable when unrelated lines move, so code scanning tracks alerts across commits.

Locations are relative to the directory the scan ran in (``%SRCROOT%``): run the scan from
the repository root when uploading to GitHub.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from tenantlint import __version__
from tenantlint.scan import ScanResult

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "tenantlint/v1"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
# GitHub ranks security alerts by this property (critical > 9, high >= 7, medium >= 4, low).
SECURITY_SEVERITY = {"error": "8.0", "warning": "5.0", "info": "2.0"}
SRCROOT = "%SRCROOT%"


def sarif(result: ScanResult) -> dict:
    """The SARIF log (a JSON-able dict) of ``result``."""
    cwd = (result.cwd or Path.cwd()).resolve()
    rules = rule_descriptors(result)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    for finding in result.findings:  # a rule only an OPA server knows still gets an entry
        if finding["rule"] not in index:
            index[finding["rule"]] = len(rules)
            rules.append(_descriptor(finding["rule"], finding["rule"], "", finding["severity"], True, ()))
    run = {
        "tool": {"driver": {
            "name": "tenantlint",
            "version": __version__,
            "semanticVersion": __version__,
            "rules": rules,
        }},
        "originalUriBaseIds": {SRCROOT: {"uri": cwd.as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index[f["rule"]]) for f in result.findings],
        "invocations": [{
            "executionSuccessful": True,
            "toolExecutionNotifications": [_notification(e) for e in result.errors],
        }],
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def rule_descriptors(result: ScanResult) -> list[dict]:
    """One ``reportingDescriptor`` per rule (policy rules and the host's), sorted by id."""
    from tenantlint.engine import load_policy_dirs
    from tenantlint.rules import load_rules

    config = result.config
    return [
        _descriptor(r.id, r.title, r.description, r.severity, r.enabled, r.related_resources)
        for r in load_rules(load_policy_dirs(config, result.policy_dirs), config)
    ]


def _descriptor(rule_id: str, title: str, description: str, severity: str, enabled: bool,
                resources) -> dict:
    markdown = description or title
    links = [r for r in resources if r.get("ref")]
    if links:
        markdown += "\n\n## Related resources\n" + "\n".join(
            f"- [{r.get('description') or r['ref']}]({r['ref']})" for r in links)
    descriptor = {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.replace("_", "-").split("-")),
        "shortDescription": {"text": title},
        "fullDescription": {"text": description or title},
        "help": {"text": markdown, "markdown": markdown},
        "defaultConfiguration": {"level": LEVELS.get(severity, "warning"), "enabled": enabled},
        "properties": {"tags": ["security", "multi-tenancy"],
                       "security-severity": SECURITY_SEVERITY.get(severity, "5.0")},
    }
    if links:
        descriptor["helpUri"] = links[0]["ref"]
    return descriptor


def _result(finding: dict, rule_index: int) -> dict:
    out = {
        "ruleId": finding["rule"],
        "ruleIndex": rule_index,
        "level": LEVELS.get(finding["severity"], "warning"),
        "message": {"text": finding["message"] or finding["rule"]},
        "locations": [{"physicalLocation": _physical(finding["path"], finding["line"], finding.get("column"),
                                                     finding.get("end_line"))}],
        "partialFingerprints": {FINGERPRINT_KEY: finding["fingerprint"]},
    }
    if finding.get("related"):
        out["relatedLocations"] = [
            {"id": i, "message": {"text": r.get("message", "")},
             "physicalLocation": _physical(r["path"], r["line"], r.get("column"), None)}
            for i, r in enumerate(finding["related"])]
    if finding.get("paths"):
        out["codeFlows"] = [{"threadFlows": [{"locations": [
            {"location": {"physicalLocation": _physical(s["path"], s["line"], None, None),
                          "message": {"text": s.get("function") or ""}}}
            for s in steps]}]} for steps in finding["paths"]]
    properties = {k: finding[k] for k in ("table", "function", "context") if finding.get(k)}
    if properties:
        out["properties"] = properties
    if finding.get("suppressed"):
        suppression = finding.get("suppression") or {}
        out["suppressions"] = [{
            "kind": "inSource",
            "status": "accepted",
            "justification": suppression.get("reason", ""),
            "location": {"physicalLocation": _physical(finding["path"], suppression.get("line") or finding["line"],
                                                       None, None)},
        }]
    return out


def _notification(err: dict) -> dict:
    location = _physical(err["path"], err.get("line") or 0, None, None)
    return {
        "level": "warning",
        "message": {"text": f"not analysed: {err['message']}"},
        "locations": [{"physicalLocation": location}],
    }


def _physical(path: str, line: int, column: int | None, end_line: int | None) -> dict:
    physical: dict = {"artifactLocation": _artifact(path)}
    if line and line > 0:
        region = {"startLine": line}
        if column and column > 0:
            region["startColumn"] = column
        if end_line and end_line >= line:
            region["endLine"] = end_line
        physical["region"] = region
    return physical


def _artifact(path: str) -> dict:
    if Path(path).is_absolute():  # outside the scan's folder
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path, safe="/"), "uriBaseId": SRCROOT}
