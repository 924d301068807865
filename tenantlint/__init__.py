"""tenantlint: find the code through which one tenant's data reaches another tenant.

The library API is :func:`tenantlint.scan`; ``tenantlint.cli`` is a thin layer over it.
The packages follow the pipeline :func:`tenantlint.scan` runs:

- ``extract``: facts of one file (Python via libcst and ``ast``, SQL via sqlglot, web
  routes), pure and cached per content, run in worker processes;
- ``program``: the whole-project stage (tables and models linked, routes, call graph,
  contexts, paths and guards) that builds the policies' input document;
- ``engine``: the Rego policies (embedded regopy or an OPA server) decide violations;
- ``gate``: suppressions, baseline and changed lines pick what a run reports;
- ``report``: text, JSON, SARIF and GitHub annotations.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "scan"]


def __getattr__(name):
    # Lazy so that `tenantlint --version` does not import sqlglot, libcst or the engine.
    if name == "scan":
        from tenantlint.scan import scan

        return scan
    raise AttributeError(name)
