"""Propose a config from a project's schema (``tenantlint init``), with the reasons.

The tenant column is the one most tables carry that references one root table
(``practice_id -> practices``): every tenant's rows hang off that root. With no such root,
the owning user (``user_id``) is the tenant. Global tables are those with no tenant column
and no foreign key into a tenant-owned table (the root itself included: the list of
tenants is not one tenant's data). Sensitive-looking columns are named by what they hold
(notes, diagnosis, ssn, token, password, iban...).

>>> tables = {
...     "practices": {"columns": ["id", "name"]},
...     "patients": {"columns": ["id", "practice_id", "name", "ssn"], "foreign_keys": {"practice_id": "practices.id"}},
...     "notes": {"columns": ["id", "practice_id", "patient_id", "body"], "foreign_keys": {"practice_id": "practices.id"}},
...     "visits": {"columns": ["id", "patient_id"], "foreign_keys": {"patient_id": "patients.id"}},
...     "drugs": {"columns": ["id", "name"]},
... }
>>> proposal = infer(tables)
>>> proposal.tenant_columns, proposal.global_tables, proposal.sensitive_columns
(['practice_id'], ['drugs', 'practices'], ['notes.body', 'patients.ssn'])
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

# Words of tenant columns, to break ties between columns as common as each other.
TENANT_WORDS = ("tenant", "org", "organization", "account", "workspace", "team", "practice", "company", "customer",
                "clinic", "project", "store", "shop", "school", "firm", "agency", "site", "client")
SENSITIVE = re.compile(r"(^|_)(notes?|diagnos\w*|ssn|social_security\w*|token|secret|password|passwd|iban|"
                       r"card_number|cvv|hiv\w*|medical\w*|health\w*|dob|date_of_birth|birth_date|salary|"
                       r"api_key|private_key|tax_id|passport\w*)($|_)", re.I)
# A column about a secret, not the secret: needs_password_change, api_token_ttl_days, token_expires_at.
_ABOUT_IT = re.compile(r"^(is|has|needs|can|use|uses|allow)_|_(at|on|ttl\w*|days|count|enabled|expires\w*|length|"
                       r"changed|type|hint|required)$", re.I)
TEXT_COLUMNS = ("body", "text", "content", "details", "description", "value", "summary")
USER_TABLES = ("users", "user", "auth_user", "accounts_user", "staff", "members", "people")


@dataclass
class Proposal:
    tenant_columns: list[str] = field(default_factory=list)
    global_tables: list[str] = field(default_factory=list)
    sensitive_columns: list[str] = field(default_factory=list)
    principal_columns: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def infer(tables: dict) -> Proposal:
    """A config proposal for ``tables`` (a scan's linked tables: columns, foreign keys)."""
    proposal = Proposal()
    if not tables:
        proposal.reasons.append("no table found (no DDL, Django or SQLAlchemy model): nothing to infer")
        return proposal
    column, root, carriers = _tenant_column(tables)
    if column:
        proposal.tenant_columns = [column]
        target = f" referencing {root}" if root else ""
        proposal.reasons.append(f"tenant column {column}: {carriers} of {len(tables)} tables carry it{target}")
        for parent_column, parent, owner, count in _parents(tables, root):
            proposal.tenant_columns.append(parent_column)
            proposal.reasons.append(f"tenant column {parent_column}: {owner} belongs to {parent} through it, and "
                                    f"{count} tables carry it")
    else:
        proposal.reasons.append("no column is shared by enough tables to be the tenant: set tenant_columns by hand")
    owned = set().union(*(_tenant_owned(tables, c) for c in proposal.tenant_columns)) if column else set()
    proposal.global_tables = sorted(n for n in tables if n not in owned)
    if proposal.global_tables and column:
        proposal.reasons.append(f"global tables: {', '.join(proposal.global_tables)} (no {column} and no foreign "
                                f"key into a table that has it{'; ' + root + ' is the list of tenants' if root else ''})")
    proposal.sensitive_columns = sorted(f"{n}.{c}" for n, t in tables.items() for c in t.get("columns") or ()
                                        if _sensitive(n, c))
    if proposal.sensitive_columns:
        proposal.reasons.append(f"sensitive-looking columns: {', '.join(proposal.sensitive_columns)}")
    users = next((n for n in tables if n.lower().rsplit("_", 1)[-1] in USER_TABLES or n.lower() in USER_TABLES), None)
    if users and "id" in (tables[users].get("columns") or ()):
        proposal.principal_columns = [f"{users}.id"]
        proposal.reasons.append(f"principal column {users}.id: rows filtered by it are the caller's own")
    return proposal


def _sensitive(table: str, column: str) -> bool:
    """A column named for what it holds (``ssn``), or the text of a table named so (``notes.body``)."""
    if column.endswith("_id") or column == "id" or _ABOUT_IT.search(column):  # a key, a flag, a setting
        return False
    return bool(SENSITIVE.search(column)) or (column in TEXT_COLUMNS and bool(SENSITIVE.search(table)))


def _tenant_column(tables: dict) -> tuple[str | None, str | None, int]:
    """(column, the root table it references, how many tables carry it)."""
    counts: Counter = Counter()
    roots: dict[str, Counter] = {}
    for name, table in tables.items():
        for column in table.get("columns") or ():
            if column.endswith("_id") and column != "id":
                counts[column] += 1
                target = (table.get("foreign_keys") or {}).get(column)
                if target:
                    roots.setdefault(column, Counter())[target.split(".")[0]] += 1
    needed = max(2, len(tables) // 4)

    def score(column: str) -> tuple:
        rooted = column in roots and len(roots[column]) == 1
        worded = any(word in column for word in TENANT_WORDS)
        return counts[column], rooted, worded, column != "user_id"

    candidates = sorted((c for c in counts if counts[c] >= needed and not c.startswith(("created_by", "updated_by"))),
                        key=score, reverse=True)
    rooted = [c for c in candidates if c != "user_id" and (c in roots or any(w in c for w in TENANT_WORDS))]
    # No tenant root: the owning user, if a tenth of the tables name their owner.
    owners = [c for c in ("user_id", "owner_id") if counts[c] >= max(2, len(tables) // 10)]
    chosen = rooted[0] if rooted else (max(owners, key=lambda c: counts[c]) if owners else None)
    if chosen is None:
        return None, None, 0
    root = roots[chosen].most_common(1)[0][0] if chosen in roots else None
    return chosen, root, counts[chosen]


def _parents(tables: dict, root: str | None):
    """Tenants above the tenant: ``base_event.organizer_id -> base_organizer`` when many tables
    carry ``organizer_id`` too (an organizer's teams and customers are its tenant data)."""
    seen = set()
    while root and root in tables and root not in seen:
        seen.add(root)
        step = None
        for column, target in sorted((tables[root].get("foreign_keys") or {}).items()):
            count = sum(column in (t.get("columns") or ()) for n, t in tables.items() if n != root)
            if count >= max(2, len(tables) // 10) and column != "user_id":
                step = column, target.split(".")[0], root, count
                break
        if step is None:
            return
        yield step
        root = step[1]


def _tenant_owned(tables: dict, column: str) -> set[str]:
    """Tables with the column, and those a foreign key chain ties to one of them."""
    owned = {n for n, t in tables.items() if column in (t.get("columns") or ())}
    changed = True
    while changed:
        changed = False
        for name, table in tables.items():
            if name not in owned and any(t.split(".")[0] in owned for t in (table.get("foreign_keys") or {}).values()):
                owned.add(name)
                changed = True
    return owned


def inferred_config(tables: dict, config):
    """``config`` (the defaults: no config file) with what the schema says instead of the
    fixed list of tenant column names; None when the schema names no tenant column."""
    proposal = infer(tables)
    if not proposal.tenant_columns:
        return None
    return config.with_overrides(
        tenant_columns=tuple(proposal.tenant_columns), global_tables=tuple(proposal.global_tables),
        sensitive_columns=tuple(proposal.sensitive_columns), principal_columns=tuple(proposal.principal_columns),
        tenant_columns_defaulted=False, inferred=tuple(proposal.reasons))


def init_project(path, pyproject: bool = False, force: bool = False):
    """``tenantlint init``: scan ``path``'s schema, write the proposal (``tenantlint.yaml``, or
    a ``[tool.tenantlint]`` table appended to ``pyproject.toml``), return (file, reasons).
    Never overwrites: an existing file (without ``force``) or table is a UsageError."""
    from pathlib import Path

    from tenantlint.config import Config
    from tenantlint.errors import UsageError
    from tenantlint.scan import scan

    folder = Path(path)
    target = folder / ("pyproject.toml" if pyproject else "tenantlint.yaml")
    if pyproject and target.is_file() and "[tool.tenantlint]" in target.read_text(encoding="utf-8"):
        raise UsageError(f"{target} already has a [tool.tenantlint] table: edit it, or remove it and run init again")
    if not pyproject and target.exists() and not force:
        raise UsageError(f"{target} exists: run with --force to replace it")
    result = scan(["."], cwd=folder.resolve(), config=Config(tenant_columns=(), tenant_columns_defaulted=False))
    proposal = infer(result.document["tables"])
    if pyproject:
        existing = target.read_text(encoding="utf-8") if target.is_file() else ""
        target.write_text(existing + render_toml(proposal), encoding="utf-8")
    else:
        target.write_text(render_yaml(proposal), encoding="utf-8")
    return target, proposal.reasons


def render_yaml(proposal: Proposal) -> str:
    """``tenantlint.yaml`` text with the reasons as comments."""
    lines = ["# Proposed by `tenantlint init` from the project's schema; check it, then commit it.", "#"]
    lines += [f"# {reason}" for reason in proposal.reasons]
    lines.append("")
    lines.append(_yaml_list("tenant_columns", proposal.tenant_columns,
                            "the column(s) that say which tenant a row belongs to"))
    lines.append(_yaml_list("global_tables", proposal.global_tables, "tables every tenant shares"))
    lines.append(_yaml_list("sensitive_columns", proposal.sensitive_columns, "table.column that must be encrypted"))
    lines.append(_yaml_list("principal_columns", proposal.principal_columns, "the caller's own id"))
    return "\n".join(lines) + "\n"


def render_toml(proposal: Proposal) -> str:
    """A ``[tool.tenantlint]`` table with the same content."""
    lines = ["", "# Proposed by `tenantlint init` from the project's schema; check it, then commit it."]
    lines += [f"# {reason}" for reason in proposal.reasons]
    lines.append("[tool.tenantlint]")
    for key in ("tenant_columns", "global_tables", "sensitive_columns", "principal_columns"):
        values = getattr(proposal, key)
        lines.append(f"{key} = [{', '.join(_quote(v) for v in values)}]")
    return "\n".join(lines) + "\n"


def _yaml_list(key: str, values: list[str], comment: str) -> str:
    return f"{key}: [{', '.join(_quote(v) for v in values)}]  # {comment}"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
