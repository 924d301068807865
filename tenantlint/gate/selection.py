"""Rule selection from the command line, as ruff's flags do it.

``--select`` keeps only the rules it names, ``--ignore`` drops rules, ``--extend-select``
adds rules even where the config disables them. Ignored and extended rules become config
overrides (an ignored rule is not evaluated); a selection filters the findings. A rule id
no policy declares is a usage error that names it.

>>> from tenantlint.config import Config
>>> chosen = RuleSelection(select=("unscoped-lookup",), ignore=("bulk-export",))
>>> chosen.apply(Config()).rules["bulk-export"]
{'enabled': False}
>>> chosen.keeps({"rule": "unscoped-lookup"}), chosen.keeps({"rule": "missing-tenant-filter"})
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

from tenantlint.config import Config
from tenantlint.errors import UsageError


@dataclass(frozen=True)
class RuleSelection:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.select or self.ignore or self.extend_select)

    def apply(self, config: Config) -> Config:
        """``config`` with ignored rules disabled and extended ones enabled."""
        if not (self.ignore or self.extend_select):
            return config
        rules = {rule: dict(settings) for rule, settings in config.rules.items()}
        for rule in self.extend_select:
            rules.setdefault(rule, {})["enabled"] = True
        for rule in self.ignore:
            rules.setdefault(rule, {})["enabled"] = False
        return config.with_overrides(rules=rules)

    def keeps(self, finding: dict) -> bool:
        """Whether a finding's rule is selected (every rule, with no ``--select``)."""
        return not self.select or finding["rule"] in self.select or finding["rule"] in self.extend_select

    def check(self, known: set[str]) -> None:
        """A UsageError naming the first rule id no policy declares."""
        from tenantlint.rules import did_you_mean

        for option, ids in (("--select", self.select), ("--ignore", self.ignore),
                            ("--extend-select", self.extend_select)):
            for rule in ids:
                if rule not in known:
                    raise UsageError(f"{option}: unknown rule '{rule}'{did_you_mean(rule, known)}")
