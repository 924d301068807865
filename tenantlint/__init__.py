"""tenantlint: find the code through which one tenant's data reaches another tenant.

The library API is :func:`tenantlint.scan`; ``tenantlint.cli`` is a thin layer over it.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "scan"]


def __getattr__(name):
    # Lazy so that `tenantlint --version` does not import sqlglot, libcst or the engine.
    if name == "scan":
        from tenantlint.scan import scan

        return scan
    raise AttributeError(name)
