"""The library API: ``scan(paths, ...)`` runs discover → extract → link → evaluate → report data.

>>> result = scan(["examples/clinic"])          # doctest: +SKIP
>>> [(f["rule"], f["path"], f["line"]) for f in result.findings]   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tenantlint import __version__
from tenantlint.config import Config, load_config
from tenantlint.discover import discover, display_path
from tenantlint.extract import extract
from tenantlint.facts import error
from tenantlint.findings import SEVERITY_ORDER, findings as build_findings
from tenantlint.link import link


@dataclass
class ScanResult:
    findings: list[dict]
    errors: list[dict]
    config: Config
    files_scanned: int
    fail_on: str
    document: dict = field(repr=False, default_factory=dict)

    @property
    def failed(self) -> bool:
        """True when a finding is at or above ``fail_on``."""
        if self.fail_on == "never":
            return False
        limit = SEVERITY_ORDER[self.fail_on]
        return any(SEVERITY_ORDER.get(f["severity"], 0) <= limit for f in self.findings)

    @property
    def summary(self) -> dict:
        by_severity = {s: sum(1 for f in self.findings if f["severity"] == s) for s in SEVERITY_ORDER}
        return {
            "files": self.files_scanned,
            # A whole-file error has no line; a statement that does not parse leaves the rest analysed.
            "files_not_analysed": len({e["path"] for e in self.errors if not e.get("line")}),
            "findings": len(self.findings),
            "by_severity": by_severity,
            "errors": len(self.errors),
            "tenant_columns": list(self.config.tenant_columns),
            "tenant_columns_defaulted": self.config.tenant_columns_defaulted,
        }

    def to_json(self) -> dict:
        return {
            "tool": {"name": "tenantlint", "version": __version__},
            "findings": self.findings,
            "errors": self.errors,
            "summary": self.summary,
        }


def scan(
    paths: list[str] | None = None,
    *,
    config_path: str | None = None,
    config: Config | None = None,
    fail_on: str | None = None,
    cwd: Path | None = None,
) -> ScanResult:
    """Scan ``paths`` and return findings decided by the policies.

    Raises :class:`tenantlint.errors.TenantlintError` subclasses for config, policy or
    usage errors; a file that cannot be read or parsed is an ``errors`` entry instead.
    """
    cwd = (cwd or Path.cwd()).resolve()
    paths = paths or ["."]
    if config is None:
        first = cwd / paths[0]
        config = load_config(config_path, start=cwd, fallback=first if first.is_dir() else first.parent)
    files = discover(paths, config, cwd=cwd)
    all_facts = []
    errors = list(files.errors)
    for file in files.files:
        rel = display_path(file, cwd)
        try:
            data = file.read_bytes()
        except OSError as exc:
            errors.append(error(rel, 0, f"cannot read: {exc.strerror or exc}", "read"))
            continue
        facts = extract(rel, data, config)
        errors.extend(facts.get("errors", []))
        all_facts.append(facts)
    document = link(all_facts, config)
    violations = _evaluate(document, config)
    return ScanResult(
        findings=build_findings(violations, document),
        errors=sorted(errors, key=lambda e: (e["path"], e.get("line", 0), e["message"])),
        config=config,
        files_scanned=len(files.files),
        fail_on=fail_on or config.fail_on,
        document=document,
    )


def _evaluate(document: dict, config: Config) -> list[dict]:
    from tenantlint.engine import evaluate

    return evaluate(document, config, list(config.policies), opa_url=config.opa_url)
