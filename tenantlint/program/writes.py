"""Writes that take a tenant-owned foreign key from the request.

``Card.objects.create(board_id=request.data["board"], team=request.user.team)`` scopes the
new card to the caller's team, but ``board_id`` may name another tenant's board: the card
is attached to, and often shown with, a row the caller must not reach. The per-file
query facts see an INSERT, which is fine on its own; this module finds the keyword
arguments of model writes (``objects.create``/``get_or_create``/``update_or_create``, a
model constructor) that are foreign keys to tenant-owned tables, and adds a write query
for each, keyed by that argument alone (a relation given as an object, ``board=board``,
holds a row fetched elsewhere: only raw request data there is a key). The paths stage (:mod:`.paths`) then decides,
like for any lookup, whether the value comes from the request and whether a guard
verified it; the ``unscoped-write`` policy reports only request-controlled keys.
"""

from __future__ import annotations

from tenantlint.program.callgraph import CallGraph

WRITE_METHODS = {"create", "get_or_create", "update_or_create", "acreate", "aget_or_create",
                 "aupdate_or_create"}


def foreign_key_writes(graph: CallGraph, models: dict, tables: dict) -> list[dict]:
    """Write queries, one per (call, foreign-key argument from a parameter or the request)."""
    out = []
    for name, fn in graph.functions.items():
        for call in fn.get("calls", []):
            model = _written_model(call["callee"], models)
            if model is None:
                continue
            info = models[model]
            for field, leaves in call["kw"].items():
                target = _target_table(info, field, models)
                if target is None or not (tables.get(target) or {}).get("tenant_owned"):
                    continue
                if target == (info.get("table") or "").lower():
                    continue  # a parent row of the same table: judged as the row itself
                if not field.endswith("_id"):
                    # An object (``Card(board=board)``): the ORM takes only a row, fetched, and
                    # judged, where it was fetched; raw request data here is still a key.
                    leaves = [leaf for leaf in leaves if leaf[0] == "r"]
                if not any(leaf[0] in ("r", "p") for leaf in leaves):
                    continue
                out.append(_query(fn, name, call, model, info, field, target, leaves, tables))
    return out


def _written_model(callee: str, models: dict) -> str | None:
    last = callee.rpartition(".")[2]
    if last not in WRITE_METHODS and last not in models:  # most calls: nothing to split
        return None
    parts = callee.split(".")
    if "objects" in parts[:-1] and parts[-1] in WRITE_METHODS:
        model = parts[parts.index("objects") - 1] if parts.index("objects") > 0 else None
        return model if model in models else None
    if parts[-1] in models and parts[-1][:1].isupper() and models[parts[-1]].get("table"):
        return parts[-1]  # Card(board_id=...): a model instance about to be saved
    return None


def _target_table(info: dict, field: str, models: dict) -> str | None:
    relation = (info.get("relations") or {}).get(field.removesuffix("_id"))
    if relation:
        table = (models.get(relation.rsplit(".", 1)[-1]) or {}).get("table")
        return table.lower() if table else None
    foreign = (info.get("foreign_keys") or {}).get(field)
    if foreign:
        return foreign.split(".", 1)[0].lower()
    return None


def _query(fn: dict, name: str, call: dict, model: str, info: dict, field: str, target: str, leaves: list,
           tables: dict) -> dict:
    table = (info.get("table") or model).lower()
    own = tables.get(table) or {}
    return {
        "path": fn["path"], "line": call["line"], "column": call["column"], "end_line": call["end_line"],
        "end_column": call["end_column"], "kind": "insert", "origin": info.get("framework") or "python",
        "function": name, "code": f"{model}({field}=...)", "export": False, "lookup": False,
        "foreign_key": {"field": field, "table": target, "model": (tables.get(target) or {}).get("model")},
        "key_leaves": leaves,
        "refs": [{"table": table, "model": model, "alias": None, "use": "write", "scope": "none",
                  "reason": f"foreign key {field} may name another tenant's row",
                  "tenant_owned": True, "tenant_column": own.get("tenant_column"),
                  "sensitive_columns": []}],
    }
