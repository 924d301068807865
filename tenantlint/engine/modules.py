"""Find and read policy files: the built-in policies and the user's policy folders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from tenantlint.config import Config
from tenantlint.errors import ConfigError, PolicyError

RULES_PACKAGE = "tenantlint.rules"
_PACKAGE = re.compile(r"^[ \t]*package[ \t]+([A-Za-z_][\w.]*)", re.M)


@dataclass(frozen=True)
class PolicyModule:
    """One .rego file: where it is, what it says, and the Rego package it belongs to."""

    path: str  # as shown to the user: relative to the current directory when below it
    source: str
    package: str
    builtin: bool

    @property
    def is_rule(self) -> bool:
        return self.package.startswith(RULES_PACKAGE + ".")


def builtin_policy_dir() -> Path:
    import tenantlint.policies

    return Path(tenantlint.policies.__file__).resolve().parent


def load_policy_dirs(config: Config, cli_dirs: Sequence[str] = ()) -> list[str]:
    """The extra policy folders of a run: config ``policies`` (relative to the config file),
    then ``--policy`` folders, each once; a missing folder is a ConfigError."""
    base = Path(config.root) if config.root else Path.cwd()
    candidates = [(base / p, f"config key 'policies': {p}") for p in config.policies]
    candidates += [(Path(p), f"--policy {p}") for p in cli_dirs]
    dirs: list[str] = []
    for path, origin in candidates:
        if not path.is_dir():
            raise ConfigError(f"{origin}: policy folder not found")
        resolved = str(path.resolve())
        if resolved not in dirs and Path(resolved) != builtin_policy_dir():
            dirs.append(resolved)
    return dirs


def policy_files(folder: Path, tests: bool = False) -> list[Path]:
    """The .rego files under ``folder``, sorted; ``*_test.rego`` only when ``tests``."""
    files = sorted(p for p in folder.rglob("*.rego") if p.is_file())
    return [p for p in files if p.name.endswith("_test.rego") == tests]


def load_modules(extra_dirs: Iterable[str] = ()) -> list[PolicyModule]:
    """Built-in policy modules, then those of ``extra_dirs`` (tests left out)."""
    modules = [read_module(p, builtin=True) for p in policy_files(builtin_policy_dir())]
    for folder in extra_dirs:
        if not Path(folder).is_dir():
            raise PolicyError(f"policy folder not found: {folder}")
        modules += [read_module(p, builtin=False) for p in policy_files(Path(folder))]
    return modules


def read_module(path: Path, builtin: bool) -> PolicyModule:
    shown = display_path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{shown}: cannot read policy: {exc}") from exc
    match = _PACKAGE.search(source)
    if match is None:
        raise PolicyError(f"{shown}:1: no package declaration")
    module = PolicyModule(shown, source, match.group(1), builtin)
    if not builtin:
        _check_user_module(module)
    return module


_VIOLATIONS = re.compile(r"^[ \t]*violations\b[ \t]*(?::=|=|contains\b|\[|if\b)", re.M)
_NETWORK = re.compile(r"\bhttp\.send\s*\(")


def _check_user_module(module: PolicyModule) -> None:
    """A user's policy that could never report: ``violations`` outside ``tenantlint.rules.*``
    (nothing queries it), or a call to ``http.send`` (a linter's verdict must not depend on
    the network, and the embedded engine has no network: the call would yield nothing)."""
    if not module.is_rule:
        found = _VIOLATIONS.search(module.source)
        if found:
            line = module.source.count("\n", 0, found.start()) + 1
            raise PolicyError(f"{module.path}:{line}: package {module.package} defines violations but is not "
                              f"under {RULES_PACKAGE}, so no scan would run it (use package "
                              f"{RULES_PACKAGE}.<rule_name>)")
    found = _NETWORK.search(module.source)
    if found:
        line = module.source.count("\n", 0, found.start()) + 1
        raise PolicyError(f"{module.path}:{line}: http.send is not allowed in a policy: a scan must not depend "
                          "on the network (and the embedded engine has none: the rule would silently find nothing)")


def display_path(path: Path) -> str:
    """``path`` relative to the current directory when it is below it, with / separators."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def files_of(modules: Sequence[PolicyModule], package: str | None = None) -> list[str]:
    """Paths of the modules of ``package`` (all modules when None), for error messages."""
    return [m.path for m in modules if package is None or m.package == package]
