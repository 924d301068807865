"""Settings that match nothing in the project's schema: the silent way to get "0 findings".

A tenant column written as the ORM field (``project`` for ``project_id``), a global table
or a sensitive column with a typo: the scan runs, finds every table global or every
column plain, and says nothing. This module says it, with the closest name the schema has.

>>> tables = {"notes": {"columns": ["id", "project_id", "body"], "model": "Note"}}
>>> from tenantlint.config import Config
>>> config_warnings(tables, Config(tenant_columns=("project",), tenant_columns_defaulted=False,
...                                global_tables=("countries",),
...                                sensitive_columns=("notes.bdy",)))  # doctest: +NORMALIZE_WHITESPACE
["tenant_columns: no table has a column 'project' (did you mean 'project_id'?)",
 "global_tables: no table or model is named 'countries'",
 "sensitive_columns: 'notes' has no column 'bdy' (did you mean 'body'?)"]
"""

from __future__ import annotations

import difflib
import fnmatch

from tenantlint.config import Config


def config_warnings(tables: dict, config: Config) -> list[str]:
    """One sentence per configured name the schema does not have (none when the scan saw no
    table with columns: then nothing can be told)."""
    columns = {c.lower() for t in tables.values() for c in t.get("columns") or ()}
    if not columns:
        return []
    names = {n.lower() for n in tables} | {(t.get("model") or "").lower() for t in tables.values()} - {""}
    out = []
    if config.tenant_columns and not config.tenant_columns_defaulted:
        for column in config.tenant_columns:
            if not _matches(column, columns):
                out.append(f"tenant_columns: no table has a column '{column}'{_hint(column, columns)}")
    for table in config.global_tables:
        if not _matches(table, names):
            out.append(f"global_tables: no table or model is named '{table}'{_hint(table, names)}")
    for key, entries in (("principal_columns", config.principal_columns), ("sensitive_columns", config.sensitive_columns)):
        for entry in entries:
            table, _, column = entry.rpartition(".")
            if not table or "*" in table:
                continue
            found = tables.get(table) or next((t for n, t in tables.items() if n.lower() == table.lower()), None)
            if found is None:
                out.append(f"{key}: no table is named '{table}'{_hint(table, names)}")
            elif not _matches(column, {c.lower() for c in found.get("columns") or ()}):
                out.append(f"{key}: '{table}' has no column '{column}'{_hint(column, found.get('columns') or [])}")
    return out


def _matches(pattern: str, names: set[str]) -> bool:
    low = pattern.lower()
    return any(fnmatch.fnmatchcase(name, low) for name in names)


def _hint(name: str, known) -> str:
    """`` (did you mean 'x'?)``: the ORM field's column first (``project`` -> ``project_id``)."""
    known = sorted({k.lower() for k in known})
    if f"{name.lower()}_id" in known:
        return f" (did you mean '{name.lower()}_id'?)"
    close = difflib.get_close_matches(name.lower(), known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
