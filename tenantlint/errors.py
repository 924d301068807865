"""Typed library errors: the CLI turns each one into a one-line message and exit code 2."""


class TenantlintError(Exception):
    """Base of every error the library raises on purpose (never a bug)."""


class ConfigError(TenantlintError):
    """A config file or option is wrong; the message names the key."""


class PolicyError(TenantlintError):
    """A policy does not load, fails to evaluate, or crashed the engine."""


class EngineError(TenantlintError):
    """The policy engine (embedded or OPA server) could not give an answer."""


class UsageError(TenantlintError):
    """The command line asks for something that cannot be done (e.g. --diff outside git)."""
