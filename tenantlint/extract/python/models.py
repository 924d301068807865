"""ORM model classes -> Table and Field facts.

Only what one file can see: a model's own columns, its tenant column if it declares one,
its bases (so the linker can inherit a tenant column from an abstract base or mixin
declared in another file) and its relations (so ``patient__practice`` lookups can be
followed). A model with no table of its own (abstract, mixin, proxy, SQLAlchemy
single-table subclass) has ``"name": None``.
"""

from __future__ import annotations

import libcst as cst

from tenantlint.extract.python.context import ClassInfo, FileContext, meta_of
from tenantlint.extract.python.records import snake
from tenantlint.extract.python.tree import arg, callee, dotted, is_camel, is_name, keyword, last_name, positional, string_value

DJANGO_RELATIONS = {"ForeignKey", "OneToOneField", "ParentalKey", "TreeForeignKey", "TreeOneToOneField",
                    "AutoOneToOneField"}
DJANGO_ONE_TO_ONE = {"OneToOneField", "TreeOneToOneField", "AutoOneToOneField"}
DJANGO_M2M = {"ManyToManyField", "ParentalManyToManyField", "TreeManyToManyField", "GenericRelation",
              "GenericForeignKey", "SortedManyToManyField", "TaggableManager"}
DJANGO_META_KEYS = {"db_table", "abstract", "app_label", "proxy", "managed", "ordering", "unique_together",
                    "index_together", "indexes", "constraints", "verbose_name", "verbose_name_plural",
                    "get_latest_by", "default_related_name", "permissions", "default_permissions", "base_manager_name",
                    "default_manager_name", "db_table_comment", "order_with_respect_to", "swappable"}
SA_COLUMNS = {"Column", "mapped_column", "column_property", "deferred", "query_expression"}
SA_RELATIONS = {"relationship", "relation", "Relationship", "dynamic_loader", "backref"}
SA_DECLARATIVE = {"db.Model", "Base", "DeclarativeBase", "DeclarativeBaseNoMeta", "SQLModel", "Model",
                  "declarative_base", "AsyncAttrs", "MappedAsDataclass"}
NOT_MODEL_WORDS = ("Serializer", "Form", "Admin", "FilterSet", "Filter", "Schema", "TestCase", "Factory", "Choices",
                   "Enum", "Exception", "Error", "Command", "AppConfig", "Migration", "Inline", "View", "Resource",
                   "Type", "Config", "Settings", "Middleware", "Test", "Dataclass", "TypedDict", "NamedTuple",
                   "Protocol", "Consumer", "Task", "Signal", "Widget", "Mutation", "QuerySet", "Manager", "Field",
                   "Lookup", "Transform", "Func", "Expression", "Aggregate", "Index", "Constraint", "Descriptor",
                   "Router", "Storage", "Backend", "Middleware", "Handler", "Iterable", "Wrapper")
SCALAR_TYPES = {"int", "str", "float", "bool", "bytes", "dict", "list", "datetime", "date", "time", "Decimal",
                "UUID", "uuid", "Any", "Optional", "Union", "timedelta", "JSON", "Dict", "List"}


def extract_models(ctx: FileContext) -> tuple[list[dict], list[dict]]:
    """Table facts and Field facts of the model classes in this file. Each fact carries
    ``_at`` (the node to locate it by); the extractor replaces it with line/column."""
    kinds = _classify(ctx)
    tables, fields = [], []
    for name, framework in kinds.items():
        info = ctx.classes[name]
        if framework == "django":
            table, cols = _django(ctx, info, kinds)
        else:
            table, cols = _sqlalchemy(ctx, info, kinds)
        tables.append(table)
        for col in cols:
            col["table"] = table["name"]
            fields.append(col)
    tables.extend(_core_tables(ctx, fields))
    return tables, fields


# -- which classes are models ------------------------------------------------------------

def _classify(ctx: FileContext) -> dict[str, str]:
    """class name -> "django" | "sqlalchemy", for the classes that are ORM models."""
    sa_bases = _declarative_bases(ctx)
    kinds: dict[str, str] = {}
    candidates = [i for k, i in ctx.classes.items() if "." not in k]
    for info in candidates:
        kind = _own_kind(ctx, info, sa_bases)
        if kind:
            kinds[info.name] = kind
    changed = True
    while changed:  # subclasses of models defined in this file
        changed = False
        for info in candidates:
            if info.name in kinds or _not_model(ctx, info):
                continue
            for base in info.bases:
                if base.split(".")[-1] in kinds and base.split(".")[-1] != info.name:
                    kinds[info.name] = kinds[base.split(".")[-1]]
                    changed = True
                    break
    for info in candidates:  # bases from another file's models: a model if it looks like one
        if info.name in kinds or _not_model(ctx, info):
            continue
        for base in info.bases:
            origin = ctx.imported_from(base) or ""
            simple = base.split(".")[-1]
            if ("models" in origin.split(".") or (simple.endswith("Model") and simple != "BaseModel")
                    or ("models" in base.split(".")[:-1] and simple.endswith("Model"))):
                framework = _file_framework(ctx)
                if framework:
                    kinds[info.name] = framework
                break
    return kinds


def _declarative_bases(ctx: FileContext) -> set[str]:
    """Local names bound to ``declarative_base()`` / ``registry().generate_base()`` / ``db.Model``."""
    out = set()
    for name, (value, _) in ctx.constants.items():
        if isinstance(value, cst.Call) and (callee(value) or "") in ("declarative_base", "generate_base",
                                                                   "as_declarative", "declarative_base_cls"):
            out.add(name)
        elif dotted(value) in ("db.Model",):
            out.add(name)
    return out


def _not_model(ctx: FileContext, info: ClassInfo) -> bool:
    for base in info.bases:
        simple = base.split(".")[-1]
        if simple == "BaseModel" and "pydantic" in ctx.imported_from(simple) + ctx.imports.get(simple, ""):
            return True
        if simple.startswith("Model") and simple != "Model":  # ModelForm, ModelSerializer, ModelAdmin, ModelViewSet
            return True
        if any(word in simple for word in NOT_MODEL_WORDS):
            return True
    meta = meta_of(info, ctx)
    return "model" in meta or "fields" in meta and "db_table" not in meta


def _own_kind(ctx: FileContext, info: ClassInfo, sa_bases: set[str]) -> str | None:
    if _not_model(ctx, info):
        return None
    attrs = info.attrs
    if any(k in attrs for k in ("__tablename__", "__table__", "__abstract__", "__mapper_args__", "__table_args__")):
        return "sqlalchemy"
    framework = _file_framework(ctx)
    for base in info.bases:
        simple = base.split(".")[-1]
        if base in ctx.classes:
            continue  # defined here: the inheritance pass decides
        origin = ctx.imports.get(base.split(".")[0], "")
        if base in ("models.Model", "django.db.models.Model") or (base == "Model" and origin.startswith("django")):
            return "django"
        if base == "Model" and "sqlalchemy" not in origin:
            continue
        if "sqlalchemy" in origin or "sqlmodel" in origin or simple in sa_bases:
            return "sqlalchemy"
        if base in SA_DECLARATIVE and not (simple == "Base" and framework == "django"):
            return "sqlalchemy"
    dj = sa = 0
    for small in attrs.values():
        call = _value_call(small)
        if call is not None:
            kind = _field_kind(ctx, call)
            dj += kind == "django"
            sa += kind == "sqlalchemy"
        if isinstance(small, cst.AnnAssign) and _mapped_type(small.annotation.annotation) is not None:
            sa += 1
    for stmt in getattr(info.node.body, "body", ()):
        if isinstance(stmt, cst.FunctionDef) and _declared_attr(stmt):
            sa += 1
    if sa:
        return "sqlalchemy"
    if dj:
        return "django"
    if any(k in DJANGO_META_KEYS for k in meta_of(info, ctx)) and framework == "django":
        return "django"
    return None


def _file_framework(ctx: FileContext) -> str | None:
    if ctx.file_imports("django"):
        return "django"
    if any(ctx.file_imports(p) for p in ("sqlalchemy", "flask_sqlalchemy", "sqlmodel")):
        return "sqlalchemy"
    return None


def _value_call(small) -> cst.Call | None:
    value = getattr(small, "value", None)
    return value if isinstance(value, cst.Call) else None


def _field_kind(ctx: FileContext, call: cst.Call) -> str | None:
    """"django" for ``models.CharField(...)``, "sqlalchemy" for ``Column(...)``, else None."""
    name = callee(call)
    if not name:
        return None
    func = dotted(call.func) or ""
    if name in SA_COLUMNS or name in SA_RELATIONS:
        return "sqlalchemy"
    origin = ctx.imported_from(func) or ""
    if func.startswith("models.") or origin.startswith("django") or ".fields" in origin or origin.endswith("models"):
        if name.endswith(("Field", "Key")) or name in DJANGO_M2M or name in DJANGO_RELATIONS:
            return "django"
    if name.endswith("Field") or name in DJANGO_RELATIONS or name in DJANGO_M2M:
        return "django" if _file_framework(ctx) == "django" else None
    return None


def _declared_attr(func: cst.FunctionDef) -> bool:
    names = ("declared_attr", "directive")
    return any((last_name(d.decorator) or last_name(getattr(d.decorator, "value", None))) in names
               or dotted(d.decorator) in ("declared_attr.directive", "declared_attr.cascading")
               for d in func.decorators)


# -- Django --------------------------------------------------------------------------

def _app_label(path: str) -> str:
    parts = path.replace("\\", "/").split("/")
    dirs = parts[:-1]
    if dirs and dirs[-1] == "models":  # a models package: app/models/contact.py
        dirs = dirs[:-1]
    return dirs[-1] if dirs else ""


def _django(ctx: FileContext, info: ClassInfo, kinds: dict) -> tuple[dict, list[dict]]:
    meta = meta_of(info, ctx)
    abstract = _truthy(meta.get("abstract"))
    proxy = _truthy(meta.get("proxy"))
    name = string_value(meta.get("db_table"))
    if name is None and not (abstract or proxy):
        label = string_value(meta.get("app_label")) or _app_label(ctx.path)
        name = f"{label}_{info.name.lower()}" if label else info.name.lower()
    columns, relations, fields, managers = [], {}, [], {}
    has_pk, pk_parent = False, None
    for attr, small in info.attrs.items():
        call = _value_call(small)
        if call is None:
            continue
        kind = callee(call) or ""
        if kind.endswith("Manager") or kind in ("as_manager",) or _manager_class(ctx, kind) or (
                isinstance(call.func, cst.Call) and callee(call.func) == "from_queryset"):
            managers[attr] = dotted(call.func) or kind
            continue
        if _field_kind(ctx, call) != "django" and not (
                kind.endswith("Field") or kind in DJANGO_RELATIONS or kind in DJANGO_M2M):
            continue
        if kind in DJANGO_M2M:
            relations.setdefault(attr, _django_target(arg(call, 0, "to"), info.name))
            continue
        db_column = string_value(keyword(call, "db_column"))
        if kind in DJANGO_RELATIONS:
            column = db_column or f"{attr}_id"
            target = _django_target(arg(call, 0, "to"), info.name)
            if target:
                relations[attr] = target
        else:
            column = db_column or attr
        is_pk = _truthy(keyword(call, "primary_key"))
        if is_pk and kind in DJANGO_ONE_TO_ONE and relations.get(attr):
            pk_parent = attr  # its rows are its parent's: the parent's tenant is theirs
        has_pk = has_pk or is_pk
        columns.append(column)
        fields.append(_field(ctx, info, attr, kind, column, small))
    if not has_pk and not abstract:
        columns.insert(0, "id")
    table = _table(ctx, info, name, columns, relations, abstract or proxy)
    table["framework"] = "django"
    if proxy:
        table["proxy"] = True
    if managers:
        table["managers"] = managers
    if pk_parent:
        table["pk_parent"] = pk_parent
    return table, fields


def _manager_class(ctx: FileContext, kind: str, depth: int = 0) -> bool:
    """``visible = VisibleCards()`` with ``class VisibleCards(models.Manager)`` in this file."""
    info = ctx.classes.get(kind)
    if info is None or depth > 5:
        return False
    return any(b.split(".")[-1].endswith(("Manager", "QuerySet")) or _manager_class(ctx, b, depth + 1)
               for b in info.bases)


def _django_target(expr, own: str) -> str | None:
    text = string_value(expr)
    if text is not None:
        target = text.split(".")[-1]
        return own if target == "self" else target or None
    return last_name(expr)


def _truthy(expr) -> bool:
    return is_name(expr, "True")


# -- SQLAlchemy ----------------------------------------------------------------------

def _sqlalchemy(ctx: FileContext, info: ClassInfo, kinds: dict) -> tuple[dict, list[dict]]:
    attrs = info.attrs
    name = string_value(getattr(attrs.get("__tablename__"), "value", None))
    table_value = getattr(attrs.get("__table__"), "value", None)
    if name is None and isinstance(table_value, cst.Call) and callee(table_value) == "Table":
        name = string_value(arg(table_value, 0, "name"))
    abstract = _truthy(getattr(attrs.get("__abstract__"), "value", None)) or _registry_base(info)
    sqlmodel_table = any(a.keyword is not None and a.keyword.value == "table" and _truthy(a.value)
                         for a in info.node.keywords)
    if not info.bases or all(b == "object" for b in info.bases):
        abstract = True  # a mixin: its columns are copied into the models that use it
    sqlmodel_base = any(b.split(".")[-1] == "SQLModel" for b in info.bases) and not sqlmodel_table
    if sqlmodel_base:
        abstract = True  # class JobBase(SQLModel): fields that `class Job(JobBase, table=True)` inherits
    mapped_parent = any(b in kinds and _sa_concrete(ctx, ctx.classes[b]) for b in info.bases)
    if name is None and not abstract and not mapped_parent and "__tablename__" not in attrs:
        if sqlmodel_table:
            name = info.name.lower()
        elif any(b == "db.Model" or b.endswith(".Model") or b == "Model" for b in info.bases):
            name = _snake(info.name)  # Flask-SQLAlchemy's default table name
    columns, relations, fields, fks = [], {}, [], {}
    for attr, small in attrs.items():
        if attr.startswith("__"):
            continue
        _sa_attr(ctx, info, attr, small, small, columns, relations, fields, fks, sqlmodel_table or sqlmodel_base)
    for stmt in getattr(info.node.body, "body", ()):
        if isinstance(stmt, cst.FunctionDef) and _declared_attr(stmt):
            value = _returned(stmt)
            ctx.paths[id(stmt.name)] = ctx.paths.get(id(stmt), ())
            if value is not None:
                fake = cst.Assign(targets=[cst.AssignTarget(cst.Name(stmt.name.value))], value=value)
                _sa_attr(ctx, info, stmt.name.value, fake, stmt.name, columns, relations, fields, fks, False)
    table = _table(ctx, info, name, columns, relations, abstract)
    table["framework"] = "sqlalchemy"
    if fks:
        table["foreign_keys"] = fks
    return table, fields


_REGISTRY_BASES = {"DeclarativeBase", "DeclarativeBaseNoMeta", "AsyncAttrs", "MappedAsDataclass", "object"}


def _registry_base(info: ClassInfo) -> bool:
    """``class Base(DeclarativeBase)``: the declarative base itself maps no table."""
    return bool(info.bases) and all(b.split(".")[-1] in _REGISTRY_BASES for b in info.bases) and (
        "__tablename__" not in info.attrs)


def _sa_concrete(ctx: FileContext, info: ClassInfo, depth: int = 0) -> bool:
    """Does this in-file SQLAlchemy class map a table (so a subclass without
    ``__tablename__`` shares it)?"""
    if "__tablename__" in info.attrs or "__table__" in info.attrs:
        return True
    if depth > 10 or _registry_base(info) or not info.bases or "__abstract__" in info.attrs:
        return False
    if any(b == "db.Model" or b.endswith(".Model") for b in info.bases):
        return True
    return any(b in ctx.classes and _sa_concrete(ctx, ctx.classes[b], depth + 1) for b in info.bases)


def _sa_attr(ctx, info, attr, small, at, columns, relations, fields, fks, sqlmodel_table) -> None:
    value = getattr(small, "value", None)
    annotation = small.annotation.annotation if isinstance(small, cst.AnnAssign) else None
    mapped = _mapped_type(annotation)
    call = value if isinstance(value, cst.Call) else None
    kind = callee(call) if call is not None else None
    if kind in SA_RELATIONS:
        target = _sa_target(arg(call, 0, "argument")) or mapped
        if target:
            relations[attr] = target
        return
    if kind in SA_COLUMNS or (call is not None and dotted(call.func) in ("db.Column", "sa.Column")):
        column = string_value(positional(call)[0]) if positional(call) else None
        column = column or string_value(keyword(call, "name")) or attr
        type_name, fk = _sa_type(call)
        if fk:
            fks[column] = fk
        columns.append(column)
        fields.append(_field(ctx, info, attr, type_name or mapped or "", column, at))
        return
    if mapped is not None and value is None:
        if is_camel(mapped) and mapped not in SCALAR_TYPES:
            relations[attr] = mapped
        else:
            columns.append(attr)
            fields.append(_field(ctx, info, attr, mapped, attr, at))
        return
    if sqlmodel_table and annotation is not None:
        if kind == "Relationship":
            return
        type_name = _annotation_name(annotation)
        if is_camel(type_name) and type_name not in SCALAR_TYPES:
            return
        fk = string_value(keyword(call, "foreign_key")) if kind == "Field" else None
        if fk:
            fks[attr] = fk
        columns.append(attr)
        fields.append(_field(ctx, info, attr, type_name or "", attr, at))


def _sa_type(call: cst.Call) -> tuple[str | None, str | None]:
    """Column type name and ForeignKey target of ``Column(...)``/``mapped_column(...)``."""
    type_name, fk = None, None
    for a in call.args:
        if a.keyword is not None and a.keyword.value not in ("type_", "type"):
            continue
        expr = a.value
        name = callee(expr) if isinstance(expr, cst.Call) else last_name(expr)
        if name == "ForeignKey":
            fk = string_value(arg(expr, 0, "column")) or dotted(arg(expr, 0, "column"))
            continue
        if name in ("Sequence", "Identity", "Computed", "FetchedValue", "CheckConstraint") or name is None:
            continue
        if type_name is None and string_value(expr) is None:
            type_name = name
    if type_name is None and fk is not None:
        type_name = "ForeignKey"
    return type_name, fk


_WRAPPERS = {"Optional", "List", "list", "Set", "set", "Sequence", "Union", "DynamicMapped", "WriteOnlyMapped"}


def _mapped_type(annotation) -> str | None:
    """``Mapped[Optional[str]]`` -> ``str``; ``Mapped["Account"]`` -> ``Account``."""
    if not isinstance(annotation, cst.Subscript) or last_name(annotation.value) != "Mapped":
        return None
    inner = annotation.slice[0].slice
    return _annotation_name(getattr(inner, "value", None))


def _annotation_name(expr) -> str | None:
    text = string_value(expr)
    if text is not None:
        return text.strip().split("[")[-1].rstrip("]").strip("'\"").split(".")[-1] or None
    while isinstance(expr, cst.Subscript):  # Optional[X], List["X"], X | None
        name = last_name(expr.value)
        if name not in _WRAPPERS:
            return name
        expr = getattr(expr.slice[0].slice, "value", None)
        text = string_value(expr)
        if text is not None:
            return text.split(".")[-1]
    if isinstance(expr, cst.BinaryOperation):
        expr = expr.left
    return last_name(expr)


def _sa_target(expr) -> str | None:
    text = string_value(expr)
    if text is not None:
        return text.split(".")[-1] or None
    if isinstance(expr, cst.Lambda):
        expr = expr.body
    return last_name(expr)


def _returned(func: cst.FunctionDef):
    for stmt in getattr(func.body, "body", ()):
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Return):
                    return small.value
    return None


def _snake(name: str) -> str:
    return snake(name)


# -- SQLAlchemy Core: contacts = Table("contacts", metadata, Column(...)) ------------------

def _core_tables(ctx: FileContext, fields: list[dict]) -> list[dict]:
    out = []
    for var, (value, target) in ctx.constants.items():
        if not (isinstance(value, cst.Call) and callee(value) == "Table"):
            continue
        name = string_value(arg(value, 0, "name"))
        if not name:
            continue
        columns, fks = [], {}
        for expr in positional(value)[1:]:
            if isinstance(expr, cst.Call) and callee(expr) == "Column":
                column = string_value(arg(expr, 0, "name"))
                if not column:
                    continue
                type_name, fk = _sa_type(expr)
                columns.append(column)
                if fk:
                    fks[column] = fk
                fields.append({"path": ctx.path, "_at": expr, "_path": ctx.paths.get(id(target), ()), "table": name,
                               "model": None, "name": column, "type": type_name or "", "column_name": column})
        tenant = _tenant_column(ctx, columns)
        table = {"name": name, "model": None, "columns": columns, "tenant_column": tenant, "_at": target,
                 "_path": ctx.paths.get(id(target), ()),
                 "relations": {}, "abstract": False, "bases": [], "variable": var, "framework": "sqlalchemy",
                 "module": ctx.modname}
        if fks:
            table["foreign_keys"] = fks
        out.append(table)
    return out


# -- shared --------------------------------------------------------------------------------

def _tenant_column(ctx: FileContext, columns: list[str]) -> str | None:
    lowered = {c.lower(): c for c in columns}
    for tc in ctx.config.tenant_columns:
        if tc.lower() in lowered:
            return lowered[tc.lower()]
    return None


def _table(ctx: FileContext, info: ClassInfo, name, columns, relations, abstract) -> dict:
    return {
        "name": name,
        "model": info.name,
        "columns": columns,
        "tenant_column": _tenant_column(ctx, columns),
        "_at": info.node.name,
        "_path": info.path,
        "relations": relations,
        "abstract": bool(abstract),
        "bases": [b.split(".")[-1] for b in info.bases if b != "object"],
        "base_paths": [ctx.qualify(b) for b in info.bases if b != "object"],
        "module": ctx.modname,
    }


def _field(ctx: FileContext, info: ClassInfo, attr: str, kind: str, column: str, at) -> dict:
    target = at
    if isinstance(at, (cst.Assign,)):
        target = at.targets[0].target
    elif isinstance(at, cst.AnnAssign):
        target = at.target
    return {"path": ctx.path, "_at": target, "_path": ctx.paths.get(id(at), ()), "table": None, "model": info.name,
            "name": attr, "type": kind, "column_name": column}
