"""Rule metadata, read from the policies' own ``# METADATA`` comment blocks.

Each rule is a Rego package ``tenantlint.rules.<name>`` whose METADATA block (YAML in
comments, as OPA writes it) gives its title, description, related resources and
``custom: {id, severity}``. ``tenantlint rules`` and ``tenantlint explain`` print these
docs, and the engine takes each rule's default severity from them; the user's config
``rules: {id: {severity, enabled}}`` re-levels or disables a rule without editing Rego.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import yaml

from tenantlint.config import SEVERITIES, Config
from tenantlint.engine.modules import PolicyModule, load_modules
from tenantlint.errors import ConfigError, PolicyError, UsageError

_METADATA = re.compile(r"^[ \t]*#[ \t]*METADATA[ \t]*$", re.M)


@dataclass(frozen=True)
class RuleInfo:
    id: str
    title: str
    description: str
    severity: str
    enabled: bool
    source: str  # "built-in" or the policy file's path
    package: str
    related_resources: tuple[dict, ...] = field(default_factory=tuple)


def load_rules(extra_dirs: Iterable[str] = (), config: Config | None = None) -> list[RuleInfo]:
    """Rules of the built-in policies, the host and ``extra_dirs``, with ``config`` overrides applied."""
    rules = rules_from_modules(load_modules(extra_dirs), None) + _host_rules()
    rules.sort(key=lambda r: r.id)
    return [_configured(rule, config) for rule in rules] if config else rules


def rules_from_modules(modules: Sequence[PolicyModule], config: Config | None = None) -> list[RuleInfo]:
    """One RuleInfo per rule package, sorted by id; duplicate ids are a PolicyError."""
    by_package: dict[str, RuleInfo] = {}
    for module in modules:
        if not module.is_rule:
            continue
        metadata = parse_metadata(module.source, module.path)
        if module.package in by_package and not metadata:
            continue  # another file of a package documented elsewhere
        by_package[module.package] = _rule_info(module, metadata or {})
    rules = sorted(by_package.values(), key=lambda r: r.id)
    seen: dict[str, RuleInfo] = {}
    for rule in rules:
        if rule.id in seen:
            raise PolicyError(f"rule id '{rule.id}' is declared by both {seen[rule.id].package} "
                              f"({seen[rule.id].source}) and {rule.package} ({rule.source})")
        seen[rule.id] = rule
    return [_configured(rule, config) for rule in rules] if config else rules


def _host_rules() -> list[RuleInfo]:
    """Rules the host itself reports (about suppression comments), documented like the others."""
    from tenantlint.gate.suppressions import HOST_RULES

    return [RuleInfo(r["id"], r["title"], r["description"], r["severity"], True, "built-in", "host")
            for r in HOST_RULES]


def parse_metadata(source: str, path: str) -> dict | None:
    """The first ``# METADATA`` block of ``source`` as a mapping, or None without one."""
    match = _METADATA.search(source)
    if match is None:
        return None
    first_line = source.count("\n", 0, match.start()) + 2
    lines = []
    for line in source[match.end():].lstrip("\n").splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        text = stripped[1:]
        lines.append(text[1:] if text.startswith(" ") else text)
    try:
        parsed = yaml.safe_load("\n".join(lines))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first_line + mark.line if mark else first_line
        raise PolicyError(f"{path}:{line}: invalid METADATA: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(parsed, dict):
        raise PolicyError(f"{path}:{first_line}: METADATA must be a YAML mapping")
    return parsed


def _rule_info(module: PolicyModule, metadata: dict) -> RuleInfo:
    custom = metadata.get("custom") or {}
    if not isinstance(custom, dict):
        raise PolicyError(f"{module.path}: METADATA custom must be a mapping")
    rule_id = custom.get("id") or module.package.rsplit(".", 1)[-1].replace("_", "-")
    severity = custom.get("severity", "error")
    if severity not in SEVERITIES:
        raise PolicyError(f"{module.path}: METADATA custom.severity must be one of {', '.join(SEVERITIES)}, "
                          f"not {severity!r}")
    resources = metadata.get("related_resources") or []
    if not isinstance(resources, list):
        raise PolicyError(f"{module.path}: METADATA related_resources must be a list")
    return RuleInfo(
        id=str(rule_id),
        title=str(metadata.get("title") or rule_id),
        description=str(metadata.get("description") or "").strip(),
        severity=severity,
        enabled=True,
        source="built-in" if module.builtin else module.path,
        package=module.package,
        related_resources=tuple(r if isinstance(r, dict) else {"ref": str(r)} for r in resources),
    )


def _configured(rule: RuleInfo, config: Config) -> RuleInfo:
    settings = config.rules.get(rule.id, {})
    return RuleInfo(**{**rule.__dict__, "severity": settings.get("severity", rule.severity),
                       "enabled": settings.get("enabled", rule.enabled)})


def check_rule_ids(config: Config, rules: Sequence[RuleInfo]) -> None:
    """A config that names a rule no policy declares is a ConfigError (a typo, usually)."""
    known = {r.id for r in rules} | {r.id for r in _host_rules()}
    named = [(f"rules.{rule_id}", rule_id) for rule_id in config.rules]
    for i, exemption in enumerate(config.exemptions):
        named += [(f"exemptions[{i}].rules", rule_id) for rule_id in exemption.get("rules", [])]
    for pattern, rule_ids in config.per_file_ignores.items():
        named += [(f"per_file_ignores.{pattern}", rule_id) for rule_id in rule_ids if rule_id != "*"]
    for key, rule_id in named:
        if rule_id not in known:
            raise ConfigError(f"config key '{key}': unknown rule '{rule_id}'{did_you_mean(rule_id, known)}")


def find_rule(rules: Sequence[RuleInfo], rule_id: str) -> RuleInfo:
    for rule in rules:
        if rule.id == rule_id:
            return rule
    raise UsageError(f"unknown rule '{rule_id}'{did_you_mean(rule_id, {r.id for r in rules})}")


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, else ``""``."""
    hint = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean '{hint[0]}'?)" if hint else ""


def format_rules(rules: Sequence[RuleInfo]) -> str:
    """The ``tenantlint rules`` table."""
    header = ("RULE", "SEVERITY", "TITLE", "ENABLED", "SOURCE")
    rows = [header] + [(r.id, r.severity, r.title, "yes" if r.enabled else "no", r.source) for r in rules]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[-1]]) for row in rows]
    return "\n".join(lines) + "\n"


def format_explanation(rule: RuleInfo) -> str:
    """The ``tenantlint explain RULE`` text: the METADATA docs of the rule."""
    state = "" if rule.enabled else ", disabled by config"
    parts = [f"{rule.id}: {rule.title}", f"severity: {rule.severity}{state}    source: {rule.source}", ""]
    if rule.description:
        parts += [rule.description, ""]
    if rule.related_resources:
        parts.append("Related resources:")
        for resource in rule.related_resources:
            text = resource.get("description")
            parts.append(f"  - {resource.get('ref', '')}" + (f" ({text})" if text else ""))
    return "\n".join(parts).rstrip("\n") + "\n"
