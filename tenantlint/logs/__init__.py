"""Audit-log mode: the same analysis over what the database really executed.

Static analysis cannot see SQL an ORM builds at run time, SQL from other services, or what
an attacker with a stolen account ran. The server's log can. ``audit_logs`` reads PostgreSQL
logs (:mod:`tenantlint.logs.postgres`: stderr, csvlog, jsonlog, pgaudit, a pg_stat_statements
export, the capture plugin's lines), groups the statements by shape (literals and
parameters out), judges each shape once with the scope analysis and policies of a scan,
against the project's schema, and reports each finding with how often the shape ran,
where it was first and last seen, and by whom (database users, applications).

>>> normalise("SELECT name FROM patients WHERE id = 42 AND name = 'O''Brien'")
'select name from patients where id = ? and name = ?'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from tenantlint.config import Config
from tenantlint.logs.postgres import DEFAULT_PREFIX, MAX_LINE, LogStatement, ReadStats, read_statements

_LITERAL = re.compile(r"'(?:[^']|'')*'|\$\d+|\b\d+(?:\.\d+)?\b")
_SPACE = re.compile(r"\s+")
MAX_SHAPES = 100_000  # distinct statement shapes kept; beyond, they are counted, not judged
MAX_TENANTS_KEPT = 1_000  # values remembered per actor or shape: enough to count past any threshold
ACTOR_FIELDS = (("database_user", "user"), ("application", "application"), ("session", "session"))
# sqlcommenter (OpenTelemetry) comments: /*route='%2Fdeals',user_id='42'*/
_COMMENT = re.compile(r"/\*(?P<body>[^*]*?)\*/")
_COMMENT_FIELD = re.compile(r"([\w.]+)='([^']*)'")


@dataclass
class Shape:
    """Every run of one statement shape."""

    sql: str  # the first statement seen, as it ran
    first: tuple[str, int]
    last: tuple[str, int]
    count: int = 0
    users: set = field(default_factory=set)
    applications: set = field(default_factory=set)
    sessions: set = field(default_factory=set)
    rows: int | None = None  # where the input counts them (pg_stat_statements)
    routes: set = field(default_factory=set)  # sqlcommenter route='...'
    controllers: set = field(default_factory=set)  # sqlcommenter controller='...' (view, endpoint)
    code: set = field(default_factory=set)  # sqlcommenter code.filepath / code.lineno: (path, line)

    def add(self, statement: LogStatement) -> None:
        self.count += statement.calls
        if statement.rows is not None:
            self.rows = (self.rows or 0) + statement.rows
        self.last = (statement.path, statement.line)
        for key, into in (("user", self.users), ("application", self.applications), ("session", self.sessions)):
            if statement.actor.get(key) and len(into) < MAX_TENANTS_KEPT:  # memory bounded on any log
                into.add(statement.actor[key])
        comment = _comment_fields(statement.sql)
        for key, into in (("route", self.routes), ("controller", self.controllers)):
            if comment.get(key) and len(into) < MAX_TENANTS_KEPT:
                into.add(unquote(comment[key]))
        where, line = comment.get("code.filepath"), comment.get("code.lineno")
        if where and line and line.isdigit() and len(self.code) < MAX_TENANTS_KEPT:
            self.code.add((unquote(where), int(line)))

    def summary(self) -> dict:
        return {"count": self.count, "first_seen": f"{self.first[0]}:{self.first[1]}",
                "last_seen": f"{self.last[0]}:{self.last[1]}", "users": sorted(self.users),
                "applications": sorted(self.applications), "sessions": len(self.sessions),
                **({"rows": self.rows} if self.rows is not None else {}),
                **({"routes": sorted(self.routes)} if self.routes else {}),
                **({"controllers": sorted(self.controllers)} if self.controllers else {}),
                **({"code": [f"{p}:{n}" for p, n in sorted(self.code)]} if self.code else {})}


@dataclass
class Actor:
    """Who ran statements, and the tenants their statements named."""

    kind: str  # end_user (sqlcommenter), database_user, application, session
    name: str
    tenants: set = field(default_factory=set)  # kept up to MAX_TENANTS_KEPT values
    statements: int = 0
    first: tuple[str, int] | None = None
    last: tuple[str, int] | None = None

    def summary(self) -> dict:
        """The actor in the policies' input (``input.actors``), located where it was first seen."""
        return {"kind": self.kind, "name": self.name, "tenants": len(self.tenants),
                "examples": sorted(self.tenants, key=lambda v: (len(v), v))[:5], "statements": self.statements,
                "path": self.first[0], "line": self.first[1], "last_seen": f"{self.last[0]}:{self.last[1]}"}


@dataclass
class LogAudit:
    shapes: dict[str, Shape]
    stats: ReadStats
    dropped: int = 0  # statements of shapes beyond MAX_SHAPES
    actors: dict[tuple[str, str], Actor] = field(default_factory=dict)


def normalise(sql: str) -> str:
    """The shape of a statement: literals and parameters as ``?``, whitespace and case folded."""
    return _SPACE.sub(" ", _LITERAL.sub("?", sql)).strip().rstrip(";").strip().lower()


def tenant_values(sql: str, columns: tuple[str, ...], parameters: dict) -> set[str]:
    """The tenant values a statement names: ``practice_id = 3``, ``practice_id IN (3, 4)``,
    ``practice_id = $1`` with its bound value.

    >>> sorted(tenant_values("SELECT 1 FROM notes n WHERE n.practice_id IN (3, '4') AND x = 1", ("practice_id",), {}))
    ['3', '4']
    >>> tenant_values("UPDATE notes SET body = $1 WHERE practice_id = $2", ("practice_id",), {"$2": "'7'"})
    {'7'}
    """
    found = set()
    for column in columns:
        pattern = rf"\b{re.escape(column)}\s*(?:=\s*({_VALUE})|IN\s*\(([^)]*)\))"
        for match in re.finditer(pattern, sql, re.I):
            values = [match.group(1)] if match.group(1) else re.findall(_VALUE, match.group(2))
            for value in values:
                value = parameters.get(value, value)
                if value.upper() != "NULL":
                    found.add(value.strip("'").replace("''", "'"))
    return found


_VALUE = r"'(?:[^']|'')*'|\$\d+|-?\d+"


def _comment_fields(sql: str) -> dict[str, str]:
    """The key='value' fields of a statement's sqlcommenter comment (values still URL-quoted)."""
    comment = _COMMENT.search(sql) if "/*" in sql else None
    return dict(_COMMENT_FIELD.findall(comment["body"])) if comment else {}


def _actors(statement: LogStatement) -> list[tuple[str, str]]:
    """(kind, name) of everyone behind a statement: the end user a sqlcommenter comment
    names, the database user, the application, the session."""
    found = []
    fields = _comment_fields(statement.sql)
    user = fields.get("user_id") or fields.get("user") or fields.get("enduser.id")
    if user:
        found.append(("end_user", unquote(user)))
    for kind, key in ACTOR_FIELDS:
        if statement.actor.get(key):
            found.append((kind, statement.actor[key]))
    return found


def read_shapes(paths: list[str], prefix: str = DEFAULT_PREFIX, tenant_columns: tuple[str, ...] = (),
                kind: str = "auto") -> LogAudit:
    """The statement shapes of the logs at ``paths``, in one pass over each (bounded by the
    number of distinct shapes and actors, not by the size of the logs), and for each actor
    the tenant values its statements named."""
    audit = LogAudit({}, ReadStats())
    for path in paths:
        for statement in read_statements(path, prefix, audit.stats, kind):
            tenants = tenant_values(statement.sql, tenant_columns, statement.parameters) if tenant_columns else ()
            for key in _actors(statement):
                actor = audit.actors.get(key)
                if actor is None:
                    actor = audit.actors[key] = Actor(*key, first=(statement.path, statement.line))
                actor.statements += 1
                actor.last = (statement.path, statement.line)
                for value in tenants:
                    if len(actor.tenants) < MAX_TENANTS_KEPT:
                        actor.tenants.add(value)
            key = normalise(statement.sql)
            shape = audit.shapes.get(key)
            if shape is None:
                if len(audit.shapes) >= MAX_SHAPES:
                    audit.dropped += 1
                    continue
                shape = audit.shapes[key] = Shape(statement.sql, (statement.path, statement.line),
                                                  (statement.path, statement.line))
            shape.add(statement)
    return audit


def log_facts(audit: LogAudit, config: Config) -> list[dict]:
    """Per-file facts of the log statements (one query per shape, at its first sighting),
    for the linker, as if they were SQL found in a file."""
    from tenantlint.extract.facts import new_file_facts
    from tenantlint.extract.sql import analyze_sql
    from tenantlint.program.rls import switch_off_query

    by_path: dict[str, dict] = {}
    for shape in audit.shapes.values():
        path, line = shape.first
        facts = by_path.setdefault(path, new_file_facts(path, "sql"))
        # Literals as placeholders: in a log, `practice_id = 3` is the value the application bound.
        found = analyze_sql(_LITERAL.sub("?", shape.sql), config, path=path, line=line, column=1, origin="log")
        # A statement that switched row-level security off ran: who, when, how often.
        switched = [q for fact in found.rls for q in switch_off_query(path, fact, "log")]
        for query in found.queries + switched:
            query["log"] = shape.summary()
            facts["queries"].append(query)
        if not _SETUP.match(shape.sql):  # a test's schema setup that sqlglot cannot read is no finding
            facts["errors"].extend(found.errors)
    return list(by_path.values())


_SETUP = re.compile(r"\s*(CREATE|DROP|PRAGMA|SAVEPOINT|RELEASE|BEGIN|COMMIT|ROLLBACK)\b", re.I)


def schema_facts(config: Config, cwd: Path, schema_files: list[str], dsn: str | None = None,
                 project: list[dict] | None = None) -> list[dict]:
    """Tables (and sensitive fields) the log's statements are judged against: the live
    database at ``dsn`` (read-only), the given ``.sql`` files, else the project's schema
    (DDL, Django and SQLAlchemy models; ``project``: its facts, when already read). Only the
    declarations: the project's own queries are a scan's business."""
    from tenantlint.extract.runner import extract_files

    if dsn:
        from tenantlint.extract.sql import extract_sql
        from tenantlint.logs.catalog import catalog_sql

        facts = extract_sql("<database>", catalog_sql(dsn).encode(), config)
        return [{**facts, "queries": []}]
    if schema_files:
        facts, _errors = extract_files([cwd / f for f in schema_files], cwd, config, jobs=1)
    else:
        facts = project if project is not None else project_facts(config, cwd)
    return [{**f, "queries": [], "routes": [], "program": {}, "rls": f.get("rls", [])} for f in facts]


def project_facts(config: Config, cwd: Path) -> list[dict]:
    """The per-file facts of the project at ``cwd``: its schema, and its routes for the
    handlers that sqlcommenter comments name."""
    from tenantlint.cache import default_cache_dir
    from tenantlint.discover import discover
    from tenantlint.extract.runner import default_jobs, extract_files

    facts, _errors = extract_files(discover(["."], config, cwd=cwd).files, cwd, config, jobs=default_jobs(),
                                   cache_dir=default_cache_dir(config, cwd))  # a scan's cache serves here too
    return facts


def _how_it_ran(run: dict) -> str:
    """``ran 2 times, 6 rows, by app; last at pg.log:9``

    >>> _how_it_ran({"count": 1, "rows": 1, "users": [], "last_seen": "pg.log:3"})
    'ran 1 time, 1 row; last at pg.log:3'
    """
    def counted(n: int, word: str) -> str:
        return f"{n} {word}{'s' if n != 1 else ''}"

    rows = f", {counted(run['rows'], 'row')}" if "rows" in run else ""
    users = f", by {', '.join(run['users'])}" if run["users"] else ""
    return f"ran {counted(run['count'], 'time')}{rows}{users}; last at {run['last_seen']}"


def audit_logs(paths: list[str], *, cwd: Path | None = None, config_path: str | None = None,
               schema: list[str] = (), prefix: str = DEFAULT_PREFIX, fail_on: str | None = None,
               kind: str = "auto", dsn: str | None = None):
    """Findings about the statements of the logs at ``paths`` (a :class:`tenantlint.scan.ScanResult`
    whose findings carry ``origin: "log"`` and ``log``: count, first and last seen, users,
    applications)."""
    from tenantlint.config import load_config
    from tenantlint.discover import display_path
    from tenantlint.errors import UsageError
    from tenantlint.engine import evaluate, load_policy_dirs
    from tenantlint.findings import findings as build_findings
    from tenantlint.logs.handlers import route_handlers
    from tenantlint.program.link import link
    from tenantlint.program.routes import link_routes
    from tenantlint.scan import ScanResult

    cwd = (cwd or Path.cwd()).resolve()
    missing = [p for p in paths if p != "-" and not (cwd / p).is_file()]
    if missing:
        raise UsageError(f"log file not found: {missing[0]}")
    config = load_config(config_path, start=cwd)
    audit = read_shapes(paths, prefix, config.tenant_columns, kind)
    logged = log_facts(audit, config)
    named = any(shape.routes or shape.controllers for shape in audit.shapes.values())
    project = project_facts(config, cwd) if named or not (schema or dsn) else None
    handlers = route_handlers(link_routes(project, [], config)) if named else None
    document = link(schema_facts(config, cwd, list(schema), dsn, project) + logged, config)
    document["actors"] = [actor.summary() for actor in audit.actors.values()]
    violations = [v for v in evaluate(document, config, load_policy_dirs(config)) if not v.get("exempted")]
    runs = {(q["path"], q["line"]): q["log"] for q in document["queries"] if q.get("log")}
    found = []
    for finding in build_findings(violations, document):
        run = runs.get((finding["path"], finding["line"]))
        if finding["rule"] == "cross-tenant-activity":
            found.append({**finding, "origin": "log", "suppressed": False})
        elif run is not None:
            related = [{"path": p, "line": int(n), "message": "issued here (sqlcommenter)"}
                       for p, _, n in (c.rpartition(":") for c in run.get("code", ()))]
            if handlers is not None:
                related += handlers.find(run.get("routes", []), run.get("controllers", []))
            if related:
                finding["related"] = [*finding.get("related", []), *related]
            found.append({**finding, "origin": "log", "log": run, "suppressed": False,
                          "message": f"{finding['message']} ({_how_it_ran(run)})"})
    errors = [e for facts in logged for e in facts["errors"]]
    if audit.dropped:
        errors.append({"path": ", ".join(paths), "line": 0, "kind": "limit",
                       "message": f"{audit.dropped} statements of more than {MAX_SHAPES} distinct shapes were "
                                  "counted but not judged"})
    if audit.stats.overlong:
        errors.append({"path": ", ".join(paths), "line": 0, "kind": "read",
                       "message": f"{audit.stats.overlong} line{'s' if audit.stats.overlong != 1 else ''} longer "
                                  f"than {MAX_LINE >> 20} MB skipped (no log entry is that long: junk or a damaged "
                                  "file?)"})
    if audit.stats.unrecognised:
        errors.append({"path": ", ".join(paths), "line": 0, "kind": "read",
                       "message": f"{audit.stats.unrecognised} of {audit.stats.lines} lines do not match the "
                                  f"log_line_prefix {prefix!r} (give --prefix as in postgresql.conf)"})
    return ScanResult(findings=found, errors=errors, config=config, files_scanned=len(paths),
                      fail_on=fail_on or config.fail_on, document=document, documents=[document], cwd=cwd,
                      configs=[display_path(Path(config.source), cwd)] if config.source else [])
