"""Small builders for engine tests: policy folders and complete input documents."""

import textwrap
from pathlib import Path

from tenantlint.schema import complete_input


def policy_folder(tmp_path: Path, files: dict[str, str]) -> str:
    folder = tmp_path / "user-policies"
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return str(folder)


def unscoped_reads(count: int, path: str = "app/queries.sql") -> dict:
    """``count`` unscoped reads of a tenant-owned table, one per line."""
    return complete_input({
        "tables": {"contacts": {"tenant_column": "account_id", "model": "Contact"}},
        "queries": [
            {"path": path, "line": i + 1, "end_column": 30, "function": "app.queries.load",
             "refs": [{"table": "contacts", "model": "Contact"}]}
            for i in range(count)
        ],
    })


READ_MESSAGE = "'contacts' (model Contact) is read without a tenant filter on account_id: the query returns every tenant's rows"


def read_violation(line: int, path: str = "app/queries.sql", severity: str = "error") -> dict:
    return {
        "rule": "missing-tenant-filter", "severity": severity, "message": READ_MESSAGE, "path": path,
        "line": line, "column": 1, "end_line": line, "end_column": 30, "query": line - 1, "table": "contacts",
        "context": "alone",
    }
