"""PostgreSQL row-level security across the project: which tables it protects, and how.

The extractor reads each RLS statement where it is (``.sql`` files, ``op.execute`` of
Alembic migrations, Django ``RunSQL``); here they are replayed in path and line order
(migrations are named to sort in the order they run) into each table's final state:
enabled, forced, and its policies. A table is protected for a command when the policies
that apply pin its tenant column to a session value: a restrictive policy does alone, the
permissive ones only all together (PostgreSQL ORs them, ANDs restrictive ones in). Such
tables' queries are scoped (scope ``rls``); the rule ``weak-row-level-security`` reads
the same state for the ways RLS fails open.

>>> files = [{"path": "db/rls.sql", "rls": [
...     {"kind": "enable", "table": "notes", "line": 1},
...     {"kind": "policy", "action": "create", "name": "iso", "table": "notes", "command": "all",
...      "permissive": True, "line": 2, "using": {"pins": True, "always_true": False, "settings": ["app.p"], "text": "..."}}]}]
>>> state = row_level_security(files)
>>> state["tables"]["notes"]["enabled"], state["tables"]["notes"]["forced"], state["tables"]["notes"]["pinned"]
(True, False, {'select': True, 'insert': True, 'update': True, 'delete': True})
"""

from __future__ import annotations

from pathlib import PurePosixPath

from tenantlint.project import MIGRATION_FOLDERS

COMMANDS = ("select", "insert", "update", "delete")
# Which command a use of a table is: a write's kind, else a read.
_USE_COMMAND = {"insert": "insert", "update": "update", "delete": "delete", "merge": "update"}


# Statements that switch a table's protection off. In a migration or a .sql file they are
# the schema's history; run by application code, they open the table at run time.
_SWITCHES_OFF = {"disable": "DISABLE ROW LEVEL SECURITY", "no_force": "NO FORCE ROW LEVEL SECURITY"}


def runtime_switches(files: list[dict]) -> list[dict]:
    """Queries for the RLS switches-off that application code runs (a function of a file
    outside migrations): judged by the paths that reach them, like any query, and reported
    by ``weak-row-level-security`` (``rls_change``)."""
    out = []
    for facts in files:
        if facts.get("language") == "sql" or _in_migrations(facts["path"]):
            continue
        for fact in facts.get("rls", ()):
            if fact.get("function"):
                out += switch_off_query(facts["path"], fact, "raw-sql")
    return out


def switch_off_query(path: str, fact: dict, origin: str) -> list[dict]:
    """The query (none, or one) that stands for an RLS fact when it switches a table's
    protection off at run time: in application code, or in a database's log."""
    if fact["kind"] not in _SWITCHES_OFF:
        return []
    change = f"ALTER TABLE {fact['table']} {_SWITCHES_OFF[fact['kind']]}"
    return [{"path": path, "line": fact.get("line", 1), "column": 1, "end_line": fact.get("line", 1),
             "end_column": None, "kind": "set", "origin": origin, "function": fact.get("function"), "code": change,
             "export": False, "lookup": False, "refs": [], "rls_change": change, "table": fact["table"]}]


def _in_migrations(path: str) -> bool:
    return any(part in MIGRATION_FOLDERS for part in PurePosixPath(path).parts)


def row_level_security(files: list[dict], skip: list[dict] = ()) -> dict:
    """``{"tables": {table: state}, "roles": [...], "settings": [...], "used": bool}``.
    ``skip``: the switches-off application code runs (:func:`runtime_switches`), which are
    not the schema's state."""
    runtime = {(q["path"], q["line"]) for q in skip}
    events = sorted(((facts["path"], fact) for facts in files for fact in facts.get("rls", ())
                     if fact["kind"] not in _SWITCHES_OFF or (facts["path"], fact.get("line", 1)) not in runtime),
                    key=lambda e: (e[0], e[1].get("line", 0)))
    tables: dict[str, dict] = {}
    roles, settings = [], []
    for path, fact in events:
        where = {"path": path, "line": fact.get("line", 1)}
        kind = fact["kind"]
        if kind == "role":
            roles.append({"role": fact["role"], "powers": fact["powers"], **where})
        elif kind == "set":
            settings.append({"setting": fact["setting"], "local": fact["local"], "function": fact.get("function"),
                             **where})
        else:
            table = tables.setdefault(fact["table"], {"enabled": False, "forced": False, "path": None, "line": None,
                                                      "policies": {}})
            _apply(table, fact, where)
    for table in tables.values():
        table["policies"] = list(table["policies"].values())
        table["pinned"] = {command: _pinned(table["policies"], command) for command in COMMANDS}
    used = sorted({s for t in tables.values() for p in t["policies"] for clause in ("using", "check")
                   for s in (p.get(clause) or {}).get("settings", [])})
    return {"tables": tables, "roles": roles, "settings": settings, "policy_settings": used,
            "used": any(t["enabled"] for t in tables.values())}


def _apply(table: dict, fact: dict, where: dict) -> None:
    kind = fact["kind"]
    if kind in ("enable", "disable"):
        table["enabled"] = kind == "enable"
        if table["enabled"]:
            table.update(where)
    elif kind in ("force", "no_force"):
        table["forced"] = kind == "force"
    elif kind == "policy":
        name = fact["name"]
        if fact["action"] == "drop":
            table["policies"].pop(name, None)
            return
        old = table["policies"].get(name) or {"name": name, "table": fact["table"], "permissive": True,
                                              "command": "all", "using": None, "check": None}
        changes = {k: fact[k] for k in ("permissive", "command", "roles", "using", "check") if k in fact}
        table["policies"][name] = {**old, **changes, **where}


def _pinned(policies: list[dict], command: str) -> bool:
    """Whether the policies that apply to ``command`` keep every row it touches to the
    session's tenant. No permissive policy: PostgreSQL denies every row."""
    applying = [p for p in policies if p["command"] in (command, "all")]
    restrictive = [p for p in applying if not p["permissive"]]
    permissive = [p for p in applying if p["permissive"]]
    if any(_pins(p, command) for p in restrictive):
        return True
    return all(_pins(p, command) for p in permissive)


def _pins(policy: dict, command: str) -> bool:
    """The policy's expressions for ``command`` pin the tenant: rows read or changed by its
    USING, rows written by its WITH CHECK (USING when it has none)."""
    using, check = policy.get("using"), policy.get("check") or policy.get("using")
    if command == "insert":
        return bool(check and check["pins"])
    if command == "update":
        return bool(using and using["pins"] and check and check["pins"])
    return bool(using and using["pins"])


def rls_scope(ref: dict, kind: str, state: dict) -> tuple[str, str] | None:
    """(scope, reason) for an unscoped reference of a table RLS protects for its use."""
    table = state["tables"].get((ref.get("table") or "").lower())
    if table is None or not table["enabled"] or ref.get("scope") != "none":
        return None
    command = _USE_COMMAND.get(kind, "select") if ref.get("use") == "write" else "select"
    if not table["pinned"][command]:
        return None
    names = ", ".join(p["name"] for p in table["policies"] if p["command"] in (command, "all")) or "none"
    return "rls", f"row-level security restricts {command} to the session's tenant (policies: {names})"
