"""Evaluate the Rego policies over one input document.

The host (``tenantlint.scan``) builds the input document (see ``tenantlint schema``) and
calls :func:`evaluate`. Policies come from the built-in ``tenantlint.policies`` plus the
folders returned by :func:`load_policy_dirs`; the config's ``rules``, ``accept_join_scope``
and ``exemptions`` reach them as ``data.tenantlint.config`` (an OPA server, which holds
only policies, gets the same object as ``input.config``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from tenantlint.config import Config
from tenantlint.engine import embedded, opa
from tenantlint.engine.modules import builtin_policy_dir, load_modules, load_policy_dirs
from tenantlint.engine.results import finish

if TYPE_CHECKING:
    from tenantlint.rules import RuleInfo

__all__ = ["evaluate", "prepare", "policy_config", "load_policy_dirs", "builtin_policy_dir"]


def prepare(config: Config, extra_policy_dirs: Sequence[str] = (), opa_url: str | None = None):
    """A policy child that loads and compiles the policies now, for the :func:`evaluate`
    call to come (pass it as ``prepared``; ``close()`` it in any case). None with an OPA
    server, or when the policies fail the checks evaluate reports."""
    from tenantlint.errors import TenantlintError
    from tenantlint.rules import check_rule_ids, rules_from_modules

    if opa_url or config.opa_url:
        return None
    try:
        modules = load_modules(extra_policy_dirs)
        rules = rules_from_modules(modules, config)
        check_rule_ids(config, rules)
    except TenantlintError:  # evaluate() says what is wrong
        return None
    return embedded.prepare({"tenantlint": {"config": policy_config(config, rules)}}, modules)


def evaluate(
    input_doc: dict,
    config: Config,
    extra_policy_dirs: Sequence[str] = (),
    opa_url: str | None = None,
    prepared: "embedded.Prepared | None" = None,
) -> list[dict]:
    """Violations for ``input_doc``, de-duplicated and sorted.

    ``extra_policy_dirs`` is what :func:`load_policy_dirs` returns. With ``opa_url`` (or the
    config's ``opa_url``) the policies loaded on that OPA server decide instead of the
    embedded engine. Raises PolicyError (a policy does not load, crashes the engine or
    returns malformed violations), EngineError (the engine cannot answer) or ConfigError
    (the config names an unknown rule).
    """
    from tenantlint.rules import check_rule_ids, rules_from_modules  # rules imports engine.modules

    modules = load_modules(extra_policy_dirs)
    rules = rules_from_modules(modules, config)
    url = opa_url or config.opa_url
    if url:
        expected = [r.package.rsplit(".", 1)[-1] for r in rules
                    if r.enabled and r.package.startswith("tenantlint.rules.") and r.package.count(".") == 2]
        return finish(opa.evaluate(url, {**input_doc, "config": policy_config(config, rules)},
                                   timeout=config.opa_timeout, expected=expected))
    check_rule_ids(config, rules)
    if _nothing_to_judge(input_doc, modules):
        return []
    data = {"tenantlint": {"config": policy_config(config, rules)}}
    return finish(embedded.evaluate(input_doc, data, modules, timeout=config.policy_timeout, prepared=prepared))


def _nothing_to_judge(input_doc: dict, modules) -> bool:
    """The built-in rules judge queries, routes and fields; a document with none of them
    (a pre-commit run on files without data access) needs no engine. A project's own
    policies may judge anything, tables alone included."""
    return (all(m.builtin for m in modules)
            and not any(input_doc.get(key) for key in ("queries", "routes", "fields")))


def policy_config(config: Config, rules: Sequence["RuleInfo"]) -> dict:
    """``data.tenantlint.config``: every known rule's severity and enablement (METADATA
    defaults, then config overrides), join-scope acceptance and exemptions."""
    settings = {
        rule.id: {"severity": rule.severity, "enabled": rule.enabled,
                  "options": config.rules.get(rule.id, {}).get("options", {})}
        for rule in rules
    }
    for rule_id, overrides in config.rules.items():
        if rule_id not in settings:  # a rule only an OPA server knows
            settings[rule_id] = {"severity": "error", "enabled": True, "options": {}, **overrides}
    return {
        "rules": settings,
        "accept_join_scope": config.accept_join_scope,
        "exemptions": [dict(e) for e in config.exemptions],
        "contexts": dict(config.contexts),
    }
