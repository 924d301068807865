"""Whether a join carries the tenant from a scoped row to the row it is joined to.

The SQL scope analysis (:mod:`tenantlint.extract.sql.scope`) works per statement: a
reference equated with a scoped one is scoped "by join". That holds when the key leads to
one tenant's row (``stock.sku_id = skus.id`` with ``skus`` scoped: the sku is the
tenant's, so is its stock), not when both sides name a *shared* parent: ``stock.facility_id
= memberships.facility_id`` matches the stock of every client stored in that warehouse.
Which is which needs the whole project's foreign keys (DDL ``REFERENCES``, ORM foreign
keys), so the linker decides, with config ``non_propagating_join_keys`` for keys the
schema does not declare. A key nobody declares still carries the tenant, as before.

>>> tables = {"stock": {"tenant_owned": True, "foreign_keys": {"facility_id": "facilities.id"}},
...           "memberships": {"tenant_owned": True, "foreign_keys": {"facility_id": "facilities.id"}},
...           "facilities": {"tenant_owned": False}}
>>> ref = {"table": "stock", "scope": "join",
...        "join_key": {"column": "facility_id", "table": "memberships", "other_column": "facility_id"}}
>>> non_propagating_join(ref, tables, ())
"joined on facility_id, a key to facilities, which is shared by every tenant: the join matches other tenants' rows too"
"""

from __future__ import annotations

from tenantlint.config import table_matches


def non_propagating_join(ref: dict, tables: dict, keys: tuple[str, ...]) -> str | None:
    """Why the join that scoped ``ref`` does not carry the tenant, or None when it does
    (or when nothing says otherwise)."""
    join = ref.get("join_key")
    if ref.get("scope") != "join" or not join:
        return None
    table, column = (ref.get("table") or "").lower(), join["column"].lower()
    other_table, other_column = join["table"].lower(), join["other_column"].lower()
    if _listed(table, column, keys) or _listed(other_table, other_column, keys):
        return f"joined on {column}, listed in non_propagating_join_keys: the key is shared by several tenants"
    for parent in _shared_parents(table, column, other_table, other_column, tables):
        return (f"joined on {column}, a key to {parent}, which is shared by every tenant: "
                "the join matches other tenants' rows too")
    return None


def _listed(table: str, column: str, keys: tuple[str, ...]) -> bool:
    return any(k.lower() == column or (("." in k) and table_matches(f"{table}.{column}", (k,))) for k in keys)


def _shared_parents(table: str, column: str, other_table: str, other_column: str, tables: dict):
    """The tables the join's key points at that are not tenant-owned. ``a.fk = b.id`` where
    ``a.fk`` references ``b`` (or ``b.fk`` references ``a``): the scoped row of ``b`` is one
    tenant's if ``b`` is tenant-owned; ``a.fk = b.fk`` both referencing ``p``: the key names
    a ``p`` row, one tenant's only if ``p`` is tenant-owned."""
    mine = _target(tables, table, column)
    theirs = _target(tables, other_table, other_column)
    if (mine is not None and mine[0] == other_table) or (theirs is not None and theirs[0] == table):
        # stock.sku_id = skus.id: the scoped sku is the tenant's, and so is its stock
        if not (tables.get(other_table) or {}).get("tenant_owned"):
            yield other_table
        return
    for target in (mine, theirs):
        if target is not None and not (tables.get(target[0]) or {}).get("tenant_owned"):
            yield target[0]


def _target(tables: dict, table: str, column: str) -> tuple[str, str] | None:
    """(table, column) that ``table.column`` references, if the schema says."""
    reference = ((tables.get(table) or {}).get("foreign_keys") or {}).get(column)
    if not reference:
        return None
    target, _, target_column = reference.lower().partition(".")
    return target, target_column or "id"
