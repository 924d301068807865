"""PostgreSQL row-level security statements, as facts.

``ALTER TABLE t ENABLE|DISABLE|FORCE|NO FORCE ROW LEVEL SECURITY``, ``CREATE/ALTER/DROP
POLICY``, ``CREATE/ALTER ROLE ... BYPASSRLS|SUPERUSER`` and the statements that set the
tenant for a session (``SET app.tenant = ...``, ``set_config('app.tenant', ..., false)``).
sqlglot keeps most of them as an unparsed command, so they are read here; a policy's
``USING`` and ``WITH CHECK`` expressions are judged by the same scope analysis as a
query's ``WHERE`` (:mod:`tenantlint.extract.sql.scope`): they *pin* the tenant when the
policy's table would be scoped directly by them (``practice_id =
current_setting('app.practice_id')::bigint``). The linker puts a project's statements in
order and decides which tables RLS protects (:mod:`tenantlint.program.rls`).

>>> from tenantlint.config import Config
>>> cfg = Config(tenant_columns=("practice_id",))
>>> fact = rls("CREATE POLICY iso ON notes USING (practice_id = current_setting('app.practice')::int)", None, cfg)
>>> fact["kind"], fact["table"], fact["command"], fact["using"]["pins"], fact["using"]["settings"]
('policy', 'notes', 'all', True, ['app.practice'])
>>> rls("ALTER TABLE ONLY public.notes FORCE ROW LEVEL SECURITY", None, cfg)
{'kind': 'force', 'table': 'notes'}
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

from tenantlint.config import Config

_NAME = r'(?:"[^"]+"|[\w$]+)'
_QUALIFIED = rf"{_NAME}(?:\s*\.\s*{_NAME})*"
_TABLE_RLS = re.compile(
    rf"^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(?P<table>{_QUALIFIED})\s+"
    r"(?P<action>ENABLE|DISABLE|FORCE|NO\s+FORCE)\s+ROW\s+LEVEL\s+SECURITY\s*;?\s*$", re.I | re.S)
_POLICY = re.compile(
    rf"^\s*(?P<verb>CREATE|ALTER)\s+POLICY\s+(?P<name>{_NAME})\s+ON\s+(?P<table>{_QUALIFIED})(?P<rest>.*)$",
    re.I | re.S)
_DROP_POLICY = re.compile(
    rf"^\s*DROP\s+POLICY\s+(?:IF\s+EXISTS\s+)?(?P<name>{_NAME})\s+ON\s+(?P<table>{_QUALIFIED})", re.I | re.S)
_ROLE = re.compile(rf"^\s*(?:CREATE|ALTER)\s+(?:ROLE|USER)\s+(?P<role>{_NAME})\b(?P<rest>.*)$", re.I | re.S)
_ROLE_POWERS = re.compile(r"\b(BYPASSRLS|SUPERUSER)\b", re.I)
_SETTING = re.compile(r"^\s*SET\s+(?P<local>LOCAL\s+|SESSION\s+)?(?P<name>[\w.]+)\s*(?:=|\bTO\b)", re.I)
_SEARCH_PATH = re.compile(r"^\s*SET\s+(?:LOCAL\s+|SESSION\s+)?search_path\s*(?:=|\bTO\b)\s*(?P<value>.*?)\s*;?\s*$",
                          re.I | re.S)


def rls(text: str, expression: exp.Expression | None, config: Config) -> dict | None:
    """The RLS fact of one statement (``expression``: what sqlglot made of it), or None."""
    if isinstance(expression, exp.Select):  # every SELECT comes here: look at the tree only for set_config
        return _set_config(expression) if "set_config" in text.lower() else None
    match = _TABLE_RLS.match(text)
    if match:
        action = re.sub(r"\s+", "_", match["action"].lower())
        return {"kind": action, "table": _last(match["table"])}
    match = _POLICY.match(text)
    if match:
        return _policy(match, config)
    match = _DROP_POLICY.match(text)
    if match:
        return {"kind": "policy", "action": "drop", "name": _unquote(match["name"]), "table": _last(match["table"])}
    match = _ROLE.match(text)
    if match:
        powers = {p.upper() for p in _ROLE_POWERS.findall(match["rest"])}
        if powers:
            return {"kind": "role", "role": _unquote(match["role"]), "powers": sorted(p.lower() for p in powers)}
        return None
    match = _SETTING.match(text)
    if match and "." in match["name"]:  # a custom setting (app.tenant), not search_path or work_mem
        return {"kind": "set", "setting": match["name"].lower(), "local": bool(match["local"])
                and match["local"].strip().upper() == "LOCAL"}
    return None


def schema_switch(text: str, expression: exp.Expression | None) -> str | None:
    """The schemas a ``SET search_path`` (or ``set_config('search_path', ...)``) statement
    switches to, as written; None for any other statement. Under schema-per-tenant
    (django-tenants) it decides which tenant every later query of the connection reads.

    >>> schema_switch("SET search_path TO tenant_b, public", None)
    'tenant_b, public'
    >>> schema_switch("SELECT set_config('search_path', %s, false)", sqlglot.parse_one(
    ...     "SELECT set_config('search_path', 'x', false)", read="postgres"))
    "'x'"
    """
    match = _SEARCH_PATH.match(text)
    if match:
        return match["value"] or "?"
    if isinstance(expression, exp.Select) and "search_path" in text.lower():
        for call in expression.find_all(exp.Anonymous):
            if call.name.lower() == "set_config" and len(call.expressions) >= 2:
                name = call.expressions[0]
                if isinstance(name, exp.Literal) and name.this.lower() == "search_path":
                    return call.expressions[1].sql()
    return None


def _set_config(select: exp.Select) -> dict | None:
    """``SELECT set_config('app.tenant', %s, false)``: session-wide unless the third argument is true."""
    for call in select.find_all(exp.Anonymous):
        if call.name.lower() == "set_config" and len(call.expressions) == 3:
            name, _, local = call.expressions
            if isinstance(name, exp.Literal) and name.is_string:
                return {"kind": "set", "setting": name.this.lower(), "local": _is_true(local)}
    return None


def _is_true(node: exp.Expression) -> bool:
    return isinstance(node, exp.Boolean) and node.this is True or (
        isinstance(node, exp.Literal) and node.this.lower() in ("true", "t", "on", "1"))


def _policy(match: re.Match, config: Config) -> dict:
    table = _last(match["table"])
    fact = {"kind": "policy", "action": match["verb"].lower(), "name": _unquote(match["name"]), "table": table}
    rest = match["rest"]
    kind = re.match(r"\s*AS\s+(PERMISSIVE|RESTRICTIVE)\b", rest, re.I)
    if kind:
        fact["permissive"] = kind[1].upper() == "PERMISSIVE"
    command = re.search(r"\bFOR\s+(ALL|SELECT|INSERT|UPDATE|DELETE)\b", rest, re.I)
    if command:
        fact["command"] = command[1].lower()
    roles = re.search(r"\bTO\s+(.+?)(?=\bUSING\b|\bWITH\s+CHECK\b|$)", rest, re.I | re.S)
    if roles:
        fact["roles"] = [_unquote(r.strip()) for r in roles[1].split(",") if r.strip()]
    for clause, key in ((r"\bUSING\s*\(", "using"), (r"\bWITH\s+CHECK\s*\(", "check")):
        found = re.search(clause, rest, re.I)
        if found:
            body = _balanced(rest, found.end() - 1)
            if body is not None:
                fact[key] = _judge_expression(body, table, config)
    if match["verb"].upper() == "CREATE":
        fact.setdefault("permissive", True)
        fact.setdefault("command", "all")
    return fact


def _balanced(text: str, start: int) -> str | None:
    """The text inside the parentheses that open at ``start``."""
    depth, quote = 0, None
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
    return None


def _judge_expression(body: str, table: str, config: Config) -> dict:
    """Does ``body`` pin the tenant column of ``table`` to a session value?"""
    from tenantlint.extract.sql.scope import scope

    text = " ".join(body.split())
    out = {"text": text, "pins": False, "always_true": False, "settings": []}
    try:
        where = sqlglot.parse_one(f"SELECT 1 FROM {table} WHERE {body}", read="postgres")
    except sqlglot.errors.SqlglotError:
        return out
    condition = where.args["where"].this
    out["always_true"] = _always_true(condition)
    out["settings"] = sorted({c.expressions[0].this.lower() for c in condition.find_all(exp.Anonymous)
                              if c.name.lower() == "current_setting" and c.expressions
                              and isinstance(c.expressions[0], exp.Literal)})
    refs = scope(where, config)["refs"]
    out["pins"] = condition.find(exp.Placeholder) is None and any(
        r["table"] == table and r["scope"] in ("direct", "join") for r in refs)
    return out


def _always_true(node: exp.Expression) -> bool:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Boolean):
        return node.this is True
    if isinstance(node, exp.EQ) and isinstance(node.this, exp.Literal) and node.this == node.expression:
        return True  # 1 = 1
    if isinstance(node, exp.Or):
        return _always_true(node.this) or _always_true(node.expression)
    return False


def _last(qualified: str) -> str:
    return _unquote(qualified.split(".")[-1].strip()).lower()


def _unquote(name: str) -> str:
    return name.strip().strip('"')
