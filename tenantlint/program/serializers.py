"""The related fields DRF builds for a ModelSerializer, and the rows they fetch.

For each foreign key listed in ``Meta.fields`` (or ``"__all__"``) that the serializer does
not declare itself or make read-only, DRF builds ``PrimaryKeyRelatedField(queryset=
Target.objects.all())``: a client that sends ``{"board": 17}`` attaches the row to board
17, whichever tenant owns it. Such a field is a lookup by a request key over the whole
target table; it needs the model's relations (another file), so the linker makes it a
query of the serializer class. Only the plain case is reported: a serializer with a
``validate`` or ``validate_<field>`` of its own, a field whose queryset ``__init__``
replaces, or a target whose default manager is a custom one (django-scopes, a
current-tenant filter) may well be checked, in ways the call graph cannot always follow.

>>> from tenantlint.program.callgraph import CallGraph
>>> graph = CallGraph([{"path": "api.py", "program": {"functions": [
...     {"name": "api.create", "line": 1, "class": None, "params": [], "calls": [{"callee": "api.CardSerializer",
...      "line": 2, "column": 5, "end_line": 2, "end_column": 9, "args": [], "kw": {"data": []}}]}],
...     "classes": [{"name": "api.CardSerializer", "line": 5, "bases": ["rest_framework.serializers.ModelSerializer"],
...      "serializer_meta": {"model": "Card", "fields": ["id", "board"], "line": 7, "declared": [], "read_only": []}}]}}])
>>> models = {"Card": {"relations": {"board": "Board"}}, "Board": {"table": "core_board"}}
>>> tables = {"core_board": {"tenant_owned": True, "tenant_column": "team_id"}}
>>> [(q["line"], q["related_field"], q["refs"][0]["table"]) for q in implicit_related_fields(graph, models, tables)]
[(7, 'board', 'core_board')]
"""

from __future__ import annotations


# Generic views and mixins that deserialize request data with their serializer_class.
WRITING_VIEWS = {"CreateAPIView", "UpdateAPIView", "ListCreateAPIView", "RetrieveUpdateAPIView",
                 "RetrieveUpdateDestroyAPIView", "CreateModelMixin", "UpdateModelMixin", "ModelViewSet"}


def implicit_related_fields(graph, models: dict, tables: dict) -> list[dict]:
    """One lookup query per implicit related field to a tenant-owned table, of the
    serializers that read request data (a serializer that only renders rows fetches none)."""
    out = []
    writable = None
    for name, cls in graph.classes.items():
        meta = cls.get("serializer_meta")
        model = models.get((meta or {}).get("model") or "")
        if not meta or model is None:
            continue
        writable = _writable(graph) if writable is None else writable
        if name not in writable:
            continue
        relations = model.get("relations") or {}
        listed = relations if meta["fields"] == "__all__" else meta["fields"]
        methods = {m.rsplit(".", 1)[-1]: m for m in graph.class_methods(name)}
        replaced = {f["name"] for m in methods.values() for f in graph.functions[m].get("field_querysets") or ()}
        for field in listed:
            target = relations.get(field)
            if not target or field in meta["declared"] or field in meta["read_only"] or field in replaced:
                continue
            if "validate" in methods or f"validate_{field}" in methods:
                continue  # checked there (a helper the call graph may not resolve): not reported
            if not _plain_default_manager(models.get(target) or {}):
                continue  # a custom manager may scope it (django-scopes, a current-tenant filter)
            table = ((models.get(target) or {}).get("table") or "").lower()
            info = tables.get(table) or {}
            if info.get("tenant_owned"):
                managers = [m for m in (models.get(target) or {}).get("managers") or {} if m != "_base_manager"]
                manager = managers[0] if managers else "objects"
                out.append(_query(name, cls, meta, field, target, table, info, manager))
    return out


def _plain_default_manager(model: dict) -> bool:
    """The model's default manager is Django's own (none declared, or ``models.Manager()``)."""
    managers = [kind for name, kind in (model.get("managers") or {}).items() if name != "_base_manager"]
    return not managers or managers[0].rsplit(".", 1)[-1] == "Manager"


def _writable(graph) -> set[str]:
    """Serializer classes given request data: ``XSerializer(data=...)`` anywhere, or the
    ``serializer_class`` of a view that creates or updates (a writing generic view or
    mixin, or a ``post``/``put``/``patch`` method of its own)."""
    found = set()
    for fn in graph.functions.values():
        for call in fn.get("calls", ()):
            if "data" in (call.get("kw") or {}):
                target = graph.find(call["callee"])
                if target in graph.classes:
                    found.add(target)
    for name, cls in graph.classes.items():
        values = (cls.get("attrs") or {}).get("serializer_class") or []
        if not values:
            continue
        bases = {b.rsplit(".", 1)[-1] for b in graph.bases_of(name)}
        own = {m.rsplit(".", 1)[-1] for m in graph.class_methods(name)}
        if bases & WRITING_VIEWS or own & {"post", "put", "patch", "create", "update", "perform_create",
                                           "perform_update"}:
            found.update(graph.find(v) for v in values)
    return found


def _query(name: str, cls: dict, meta: dict, field: str, target: str, table: str, info: dict,
           manager: str) -> dict:
    """The field's queryset, ``Target._default_manager`` (the first manager the model
    declares: a django-scopes ScopedManager scopes it at run time)."""
    return {
        "path": cls["path"], "line": meta["line"], "column": 1, "end_line": meta["line"], "end_column": None,
        "kind": "lookup", "origin": "django", "function": name, "lookup": True, "export": False,
        "code": f"{target}.{manager}.all() (the queryset DRF gives {name.rsplit('.', 1)[-1]}.{field})",
        "related_field": field,
        "refs": [{"table": table, "model": target, "alias": None, "use": "read", "scope": "none", "manager": manager,
                  "reason": f"DRF's implicit queryset for {field} is the whole {target} table",
                  "tenant_owned": True, "tenant_column": info.get("tenant_column"), "sensitive_columns": []}],
    }
