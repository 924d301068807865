"""Load and validate tenantlint configuration.

The config comes from ``tenantlint.yaml`` (or ``.tenantlint.yaml``) or ``[tool.tenantlint]`` in
``pyproject.toml``, found from the start directory upward, or from an explicit ``--config``.
Every key is validated: an unknown key, a wrong type or an unknown dialect is a
:class:`ConfigError` naming the key, never silently ignored.

>>> cfg = config_from_mapping({"tenant_columns": ["practice_id"]})
>>> cfg.tenant_columns
('practice_id',)
>>> config_from_mapping({"tenant_colums": []})
Traceback (most recent call last):
...
tenantlint.errors.ConfigError: unknown config key 'tenant_colums' (did you mean 'tenant_columns'?)
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from tenantlint.errors import ConfigError

CONFIG_FILE_NAMES = ("tenantlint.yaml", "tenantlint.yml", ".tenantlint.yaml", ".tenantlint.yml")

DEFAULT_TENANT_COLUMNS = (
    "tenant_id",
    "org_id",
    "organization_id",
    "account_id",
    "workspace_id",
    "team_id",
)
DEFAULT_EXCLUDE = ("**/migrations/**",)
DEFAULT_EXPORT_PATTERNS = ("export", "dump", "download", "backup", "all_", "bulk")
DEFAULT_AUTH_DECORATORS = (
    "login_required",
    "permission_required",
    "user_passes_test",
    "jwt_required",
    "roles_required",
    "staff_member_required",
    "superuser_required",
    "auth_required",
    "requires_auth",
    "fresh_jwt_required",
    "roles_accepted",
)
DEFAULT_ENCRYPTED_FIELD_TYPES = (
    "EncryptedTextField",
    "EncryptedCharField",
    "EncryptedEmailField",
    "EncryptedField",
    "EncryptedType",
    "StringEncryptedType",
    "EncryptedJSONField",
    "PGPSymmetricKeyField",
    "PGPPublicKeyField",
    "pgp_sym_encrypt",
    "bytea",
)
DEFAULT_SESSION_FUNCTIONS = ("current_setting", "current_tenant", "current_tenant_id")
FAIL_ON_LEVELS = ("error", "warning", "never")
SEVERITIES = ("error", "warning", "info")
# How a finding reached only from this kind of entry point is reported (see README,
# "How tenantlint decides"): request paths report at the rule's severity.
CONTEXT_NAMES = ("background", "command", "migration", "startup", "admin", "unreachable")
CONTEXT_LEVELS = ("off", "info", "warning", "error")
DEFAULT_CONTEXTS = {name: "info" for name in CONTEXT_NAMES}


@dataclass(frozen=True)
class Config:
    """Validated settings. Tuples, not lists, so a Config is hashable and immutable."""

    dialect: str = "postgres"
    tenant_columns: tuple[str, ...] = DEFAULT_TENANT_COLUMNS
    tenant_tables: tuple[str, ...] = ()
    global_tables: tuple[str, ...] = ()
    principal_columns: tuple[str, ...] = ()
    sensitive_columns: tuple[str, ...] = ()
    include: tuple[str, ...] = ("**/*.py", "**/*.sql")
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    policies: tuple[str, ...] = ()
    fail_on: str = "error"
    scoping_functions: tuple[str, ...] = ()
    session_functions: tuple[str, ...] = DEFAULT_SESSION_FUNCTIONS
    auth_decorators: tuple[str, ...] = DEFAULT_AUTH_DECORATORS
    export_patterns: tuple[str, ...] = DEFAULT_EXPORT_PATTERNS
    encrypted_field_types: tuple[str, ...] = DEFAULT_ENCRYPTED_FIELD_TYPES
    accept_join_scope: bool = True
    rules: dict = field(default_factory=dict, hash=False, compare=False)
    exemptions: tuple = ()
    per_file_ignores: dict = field(default_factory=dict, hash=False, compare=False)  # glob -> [rule ids]
    dialects: dict = field(default_factory=dict, hash=False, compare=False)  # glob -> SQL dialect of those files
    opa_url: str | None = None
    max_file_size: int = 5_000_000
    max_memory: int = 4_000_000_000  # bytes a parser worker's heap may grow by
    file_timeout: float = 30.0
    opa_timeout: float = 60.0  # seconds for a whole OPA request: connect, send, the answer's last byte
    policy_timeout: float = 300.0  # seconds per embedded-engine child (pretix's whole evaluation: under 1 s)
    contexts: dict = field(default_factory=lambda: dict(DEFAULT_CONTEXTS), hash=False, compare=False)
    job_launchers: tuple[str, ...] = ()
    admin_markers: tuple[str, ...] = ()
    entry_points: tuple[str, ...] = ()
    guards: tuple = ()
    non_propagating_join_keys: tuple[str, ...] = ()
    # Not user keys: where the config came from, and whether tenant_columns were defaulted.
    source: str | None = field(default=None, compare=False)
    root: str | None = field(default=None, compare=False)
    tenant_columns_defaulted: bool = True
    inferred: tuple[str, ...] = field(default=(), compare=False)  # no config file: what the schema told (reasons)

    def extraction_key(self) -> str:
        """Hash of the settings that change per-file facts (for the facts cache)."""
        relevant = {
            "dialect": self.dialect,
            "dialects": self.dialects,
            "tenant_columns": self.tenant_columns,
            "principal_columns": self.principal_columns,
            "scoping_functions": self.scoping_functions,
            "session_functions": self.session_functions,
            "auth_decorators": self.auth_decorators,
            "export_patterns": self.export_patterns,
            "encrypted_field_types": self.encrypted_field_types,
            "max_file_size": self.max_file_size,
            "admin_markers": self.admin_markers,
        }
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]

    def is_tenant_column(self, name: str) -> bool:
        return name.lower() in {c.lower() for c in self.tenant_columns}

    def dialect_for(self, path: str) -> str:
        """The SQL dialect of a file (``path`` relative to the config's folder): the first
        ``dialects`` glob it matches, else ``dialect``."""
        from tenantlint.discover import glob_matches

        return next((d for pattern, d in self.dialects.items() if glob_matches(pattern, path)), self.dialect)

    def with_overrides(self, **changes: Any) -> "Config":
        return replace(self, **changes)


_STRING_LIST_KEYS = {
    "tenant_columns",
    "tenant_tables",
    "global_tables",
    "principal_columns",
    "sensitive_columns",
    "include",
    "exclude",
    "policies",
    "scoping_functions",
    "session_functions",
    "auth_decorators",
    "export_patterns",
    "encrypted_field_types",
    "job_launchers",
    "admin_markers",
    "entry_points",
    "non_propagating_join_keys",
}
_USER_KEYS = {f.name for f in fields(Config)} - {"source", "root", "tenant_columns_defaulted", "inferred"}
_RULE_OPTION_KEYS = {"severity", "enabled", "options"}
_EXEMPTION_KEYS = {"rules", "paths", "functions", "tables", "reason"}


def config_from_mapping(raw: Any, source: str | None = None, root: str | None = None) -> Config:
    """Validate a parsed config mapping and build a :class:`Config`."""
    where = f" in {source}" if source else ""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"config{where} must be a mapping of keys to values, not {type(raw).__name__}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _USER_KEYS:
            hint = difflib.get_close_matches(str(key), sorted(_USER_KEYS), n=1)
            suffix = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ConfigError(f"unknown config key '{key}'{where}{suffix}")
        values[key] = _validate_value(key, value, where)
    if "tenant_columns" in values:
        values["tenant_columns_defaulted"] = False
    return Config(source=source, root=root, **values)


def _validate_value(key: str, value: Any, where: str) -> Any:
    if key in _STRING_LIST_KEYS:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"config key '{key}'{where} must be a list of non-empty strings")
        if key == "tenant_columns" and not value:
            raise ConfigError(f"config key '{key}'{where} must name at least one column")
        if key == "principal_columns":
            for v in value:
                if v.count(".") != 1:
                    raise ConfigError(f"config key '{key}'{where}: '{v}' must be written table.column")
        return tuple(value)
    if key == "dialect":
        return _validate_dialect(value, where)
    if key == "fail_on":
        if value not in FAIL_ON_LEVELS:
            raise ConfigError(f"config key 'fail_on'{where} must be one of {', '.join(FAIL_ON_LEVELS)}, not {value!r}")
        return value
    if key == "accept_join_scope":
        if not isinstance(value, bool):
            raise ConfigError(f"config key '{key}'{where} must be true or false")
        return value
    if key in ("max_file_size", "max_memory"):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"config key '{key}'{where} must be a positive whole number of bytes")
        return value
    if key in ("file_timeout", "opa_timeout", "policy_timeout"):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"config key '{key}'{where} must be a positive number of seconds")
        return float(value)
    if key == "opa_url":
        if value is not None and not (isinstance(value, str) and value.startswith(("http://", "https://"))):
            raise ConfigError(f"config key '{key}'{where} must be an http:// or https:// URL")
        return value
    if key == "rules":
        return _validate_rules(value, where)
    if key == "contexts":
        return _validate_contexts(value, where)
    if key == "guards":
        return _validate_guards(value, where)
    if key == "exemptions":
        return _validate_exemptions(value, where)
    if key == "per_file_ignores":
        return _validate_per_file_ignores(value, where)
    if key == "dialects":
        if not isinstance(value, dict):
            raise ConfigError(f"config key 'dialects'{where} must map path globs to sqlglot dialect names")
        return {str(pattern): _validate_dialect(d, f"{where} (for {pattern})") for pattern, d in value.items()}
    raise ConfigError(f"config key '{key}'{where} is not supported")  # pragma: no cover


def _validate_dialect(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"config key 'dialect'{where} must be a sqlglot dialect name")
    from sqlglot.dialects.dialect import Dialect

    try:
        Dialect.get_or_raise(value)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"config key 'dialect'{where}: unknown sqlglot dialect {value!r}") from exc
    return value.lower()


def _validate_per_file_ignores(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"config key 'per_file_ignores'{where} must map path globs to lists of rule ids")
    out = {}
    for pattern, rules in value.items():
        if isinstance(rules, str):
            rules = [rules]
        if not isinstance(rules, list) or not all(isinstance(r, str) and r for r in rules):
            raise ConfigError(f"config key 'per_file_ignores.{pattern}'{where} must be a list of rule ids")
        out[str(pattern)] = tuple(rules)
    return out


def _validate_rules(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"config key 'rules'{where} must map rule ids to settings")
    out = {}
    for rule, settings in value.items():
        if not isinstance(settings, dict):
            raise ConfigError(f"config key 'rules.{rule}'{where} must be a mapping (severity, enabled, options)")
        for k, v in settings.items():
            if k not in _RULE_OPTION_KEYS:
                raise ConfigError(f"unknown config key 'rules.{rule}.{k}'{where}")
            if k == "severity" and v not in SEVERITIES:
                raise ConfigError(
                    f"config key 'rules.{rule}.severity'{where} must be one of {', '.join(SEVERITIES)}, not {v!r}"
                )
            if k == "enabled" and not isinstance(v, bool):
                raise ConfigError(f"config key 'rules.{rule}.enabled'{where} must be true or false")
            if k == "options" and not isinstance(v, dict):
                raise ConfigError(f"config key 'rules.{rule}.options'{where} must be a mapping")
        out[str(rule)] = dict(settings)
    return out


def _validate_contexts(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"config key 'contexts'{where} must map contexts ({', '.join(CONTEXT_NAMES)}) to levels")
    out = dict(DEFAULT_CONTEXTS)
    for name, level in value.items():
        if level is False:  # YAML 1.1 reads a bare `off` as false
            level = "off"
        if name not in CONTEXT_NAMES:
            hint = difflib.get_close_matches(str(name), CONTEXT_NAMES, n=1)
            suffix = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ConfigError(f"unknown config key 'contexts.{name}'{where}{suffix}")
        if level not in CONTEXT_LEVELS:
            raise ConfigError(f"config key 'contexts.{name}'{where} must be one of {', '.join(CONTEXT_LEVELS)}, "
                              f"not {level!r}")
        out[name] = level
    return out


def _validate_guards(value: Any, where: str) -> tuple:
    """``guards: [{function: mylib.authorize, checks: [1, "obj"]}]``: helpers outside the
    scanned tree (or that the call graph cannot see through, as an authorization plugin)
    that verify the arguments at these positions (0-based) or keywords against the
    caller's tenant."""
    if not isinstance(value, list):
        raise ConfigError(f"config key 'guards'{where} must be a list of mappings (function, checks)")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ConfigError(f"config key 'guards[{i}]'{where} must be a mapping (function, checks)")
        for k in item:
            if k not in ("function", "checks", "reason"):
                raise ConfigError(f"unknown config key 'guards[{i}].{k}'{where}")
        if not isinstance(item.get("function"), str) or not item["function"]:
            raise ConfigError(f"config key 'guards[{i}].function'{where} must name a function (dotted name)")
        checks = item.get("checks", [0])
        if not isinstance(checks, list) or not all(
                (isinstance(c, int) and not isinstance(c, bool) and c >= 0) or (isinstance(c, str) and c.isidentifier())
                for c in checks):
            raise ConfigError(f"config key 'guards[{i}].checks'{where} must list argument positions (0-based) "
                              "or keyword names")
        out.append({"function": item["function"], "checks": list(checks)})
    return tuple(out)


def _validate_exemptions(value: Any, where: str) -> tuple:
    if not isinstance(value, list):
        raise ConfigError(f"config key 'exemptions'{where} must be a list of mappings")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ConfigError(f"config key 'exemptions[{i}]'{where} must be a mapping")
        for k, v in item.items():
            if k not in _EXEMPTION_KEYS:
                raise ConfigError(f"unknown config key 'exemptions[{i}].{k}'{where}")
            if k == "reason":
                if not isinstance(v, str):
                    raise ConfigError(f"config key 'exemptions[{i}].reason'{where} must be a string")
            elif not isinstance(v, list) or not all(isinstance(s, str) for s in v):
                raise ConfigError(f"config key 'exemptions[{i}].{k}'{where} must be a list of strings")
        if not item.get("reason"):
            raise ConfigError(f"config key 'exemptions[{i}].reason'{where} is required: say why it is exempt")
        out.append(item)
    return tuple(out)


def find_config_file(start: Path) -> Path | None:
    """The nearest config file from ``start`` upward: a tenantlint.yaml or a pyproject.toml
    that has a ``[tool.tenantlint]`` table."""
    for folder in [start, *start.parents]:
        for name in CONFIG_FILE_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _pyproject_section(pyproject) is not None:
            return pyproject
    return None


def _pyproject_section(path: Path) -> dict | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read TOML: {exc}") from exc
    return data.get("tool", {}).get("tenantlint")


def load_config(explicit: str | Path | None = None, start: Path | None = None,
                fallback: Path | None = None) -> Config:
    """Load the config named on the command line, else the nearest one from ``start`` (the
    current directory) upward, else the nearest one from ``fallback`` (the scanned folder)
    upward; defaults when there is none."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
    else:
        path = find_config_file((start or Path.cwd()).resolve())
        if path is None and fallback is not None:
            path = find_config_file(fallback.resolve())
        if path is None:
            return Config()
    if path.name == "pyproject.toml":
        raw = _pyproject_section(path)
        if raw is None:
            raise ConfigError(f"{path}: no [tool.tenantlint] table")
    else:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read: {exc}") from exc
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark else ""
            raise ConfigError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    return config_from_mapping(raw, source=str(path), root=str(path.parent.resolve()))


def table_matches(name: str, patterns: tuple[str, ...]) -> bool:
    """Case-insensitive match of a table (or model class) name against config names."""
    low = name.lower()
    return any(fnmatch.fnmatchcase(low, p.lower()) for p in patterns)
