"""Cheap bytes check: can this file hold anything tenantlint looks at?

Parsing is the cost of a scan (libcst needs ~10x the time of ``ast.parse``), and many
files of an application (template tags, settings, helpers, ``__init__.py``) hold no
query, no model, no route and no SQL. Those are not analysed: they get empty facts. The
check is a list of substrings that any such thing needs nearby; it errs on the keeping
side (a file that merely mentions ``Model`` or ``(request`` is kept), since a dropped
file that the full analysis would report is a missed finding. Tests run every fixture
through the full extractor and check that a file with facts is never dropped, and that
every sink and ORM name the extractor knows is in the list.

A dropped file must not hide a bad file either: :func:`skippable` still compiles it with
``ast.parse`` (a tenth of libcst's time) and sends it to the full extractor when that
fails (syntax error, bad encoding, NUL bytes) or when it is over ``max_file_size``, so a
scan reports the same errors with or without the prefilter. ``.sql`` files are always
kept: they are rare in applications, and what sqlglot says about a statement with no
keyword we look for (a command-only parse) is still an error worth reporting.

>>> from tenantlint.config import Config
>>> relevant("schema.sql", b"GRANT ALL ON notes TO app;", Config())
True
>>> relevant("app/views.py", b"rows = Patient.objects.all()", Config())
True
>>> relevant("app/templatetags/money.py", b"def cents(v):\\n    return v * 100\\n", Config())
False
>>> relevant("q.py", b"SQL = ('select id '\\n       'from notes')", Config())
True
"""

from __future__ import annotations

import ast
import re
import warnings

from tenantlint.config import Config

# Substrings that queries, models, routes, views, SQL and suppressions cannot do without.
# Matched case-sensitively with ``bytes in`` (memchr-fast); the regex below is tried only
# on files none of them is in.
PYTHON_TOKENS: tuple[bytes, ...] = (
    # Django ORM: managers, querysets and the methods that prove one (custom and related
    # managers too: ``practice.patients.all()``, ``Event.visible.order_by(...)``).
    b".objects", b"_default_manager", b"_base_manager", b"Manager", b"QuerySet", b"queryset",
    b".all()", b".filter(", b".exclude(", b".select_related(", b".prefetch_related(", b".order_by(", b".only(",
    b".defer(", b".values(", b".values_list(", b".annotate(", b".aggregate(", b".alias(", b".none()",
    b".select_for_update(", b".using(", b".distinct(", b".in_bulk(", b".get_or_create(", b".update_or_create(",
    b".bulk_create(", b".bulk_update(", b"get_object_or_404", b"get_list_or_404", b"RawSQL", b".extra(",
    b"RunSQL", b"models import",  # a model's other managers: Card.visible.get(...) where Card is imported
    # SQLAlchemy, DB-API, asyncpg, pandas: every SQL sink of tenantlint.extract.python.raw_sql.
    b".query(", b".query.", b".filter_by(", b"session", b"Session", b"select(", b"execute", b"cursor",
    b"connection", b"connect(", b".raw(", b"read_sql", b".fetch", b".iterate(", b".copy_expert(", b"copy_to(",
    b"run_sql", b"select_all(", b"select_one(", b"select_value(", b"exec_driver_sql",
    # Database libraries: a file importing one may build or run queries.
    b"django.db", b"sqlalchemy", b"psycopg", b"sqlite3", b"pymysql", b"MySQLdb", b"mysql.connector",
    b"asyncpg", b"aiosqlite", b"peewee", b"sqlmodel", b"tortoise", b"pandas", b"scopes",
    # Model definitions (Django, SQLAlchemy, SQLModel).
    b"Model", b"__tablename__", b"__table__", b"Base)", b"Base,", b"mapped_column", b"Mapped[", b"Column(",
    b"column_property", b"deferred(", b"query_expression", b"relationship(", b"relation(", b"Relationship",
    b"backref(", b"dynamic_loader", b"ForeignKey", b"ParentalKey", b"Field(", b"GenericRelation",
    b"GenericForeignKey", b"db_table", b"Table(", b"declarative",
    # Routes and views (a view's decorators decide whether an export route is protected).
    b"route(", b"urlpatterns", b"re_path(", b"router.", b"@app.", b"@bp.", b"@blueprint.", b"@api.",
    b"Blueprint", b"APIRouter", b"FastAPI", b"Flask", b"View", b"add_url_rule", b"api_view", b"@action",
    b"(request", b"register_blueprint", b"include_router", b"before_request",
    # Project defaults that decide whether a view is protected (Django settings).
    b"REST_FRAMEWORK", b"MIDDLEWARE", b"TENANT_APPS",
    # Export code: rows written to CSV, Excel, JSON files or downloads.
    b"writerow", b"to_csv", b"to_excel", b"StreamingHttpResponse", b"FileResponse", b"StreamingResponse",
    b"send_file",
    # SQL in upper case (any case is in the regex), and inline suppressions.
    b"SELECT", b"INSERT", b"UPDATE", b"DELETE", b"MERGE", b"TRUNCATE", b"COPY", b"CREATE TABLE",
    b"tenantlint",
)

# Shapes too loose for a substring: SQL in any case, ORM lookups by keyword, SQLAlchemy's
# statement functions, a sink whose name is common (``copy(sql)``), route decorators on
# any app or router name, Django's path()/url().
_PYTHON_SHAPES = re.compile(
    rb"(?is)\bselect\b.{0,2000}?\bfrom\b"
    rb"|\b(?:insert|merge|replace|upsert)\s+into\b|\bdelete\s+from\b|\bcreate\s+table\b"
    rb"|\bupdate\s+\S+(?:\s+\S+){0,3}?\s+set\b"
    rb"|\btruncate\s+(?:table\s+)?\w"
    rb"|\bcopy\s+\S+\s+(?:\([^)]*\)\s*)?(?:to|from)\b"
    rb"|\.get\(\s*\w+\s*=|\btext\(|(?<![\w.])(?:insert|update|delete)\(|\.copy\(\s*[^)\s]"
    rb"|@\w+\.(?:route|get|post|put|patch|delete|api_route|websocket)\("
    rb"|\b(?:path|url)\("
)


def relevant(path: str, data: bytes, config: Config) -> bool:
    """False only when the file at ``path`` with bytes ``data`` cannot produce facts."""
    if not path.endswith(".py"):
        return True
    if any(token in data for token in PYTHON_TOKENS):
        return True
    if any(name.encode() in data for name in _config_names(config)):
        return True
    return _PYTHON_SHAPES.search(data) is not None


def skippable(path: str, data: bytes, config: Config) -> bool:
    """True when the file need not be parsed: no token, and nothing the full extractor
    would report as an error (it compiles, and is within ``max_file_size``)."""
    return skipped_tree(path, data, config) is not None


def skipped_tree(path: str, data: bytes, config: Config) -> ast.Module | None:
    """The ``ast`` tree of a file that :func:`skippable` drops (its function facts still
    count for the call graph), else None."""
    if relevant(path, data, config) or len(data) > config.max_file_size:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like: not ours to print
            return ast.parse(data)
    except Exception:  # noqa: BLE001 - SyntaxError, ValueError (NUL), RecursionError, ...: let extract say
        return None


def _config_names(config: Config) -> tuple[str, ...]:
    """Names from the config that make a file interesting: tenant columns, auth decorators,
    scoping and session functions (a helper that scopes queries, a protected view)."""
    return (*config.tenant_columns, *config.auth_decorators, *config.scoping_functions,
            *config.session_functions)
