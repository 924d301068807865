"""pytest plugin: record the SQL a test suite runs, for ``tenantlint logs``.

An ORM builds its SQL at run time, where static analysis cannot read it. A project's own
tests run that SQL: ``pytest -p tenantlint.capture --tenantlint-capture=sql.jsonl`` (or,
with tenantlint installed, only the option: the plugin is registered) writes one JSON line
per statement that Django or SQLAlchemy executes: the SQL, its parameters, the test's id and
the project line that issued it (the first frame outside the ORM, the database driver,
pytest and tenantlint; an absolute path, shown relative to where ``tenantlint logs`` runs). ``tenantlint logs sql.jsonl`` judges those statements like a
server's log, and its findings point at that Python line.

Without the option the plugin does nothing.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

# Frames of these packages are the ORM, the driver or the test runner: not where the query is.
_SKIPPED_PACKAGES = {"sqlalchemy", "django", "_pytest", "pytest", "pluggy", "tenantlint", "sqlite3", "psycopg",
                     "psycopg2", "pymysql", "MySQLdb", "asyncpg", "contextlib", "threading"}
_SKIPPED_FOLDERS = {"site-packages", "dist-packages"}


class _Recorder:
    def __init__(self, path: Path):
        self.file = path.open("w", encoding="utf-8")
        self.test: str | None = None
        self.lock = threading.Lock()
        self.count = 0

    def record(self, sql: str, parameters) -> None:
        path, line, function = self._call_site()
        entry = {"sql": sql, "parameters": _jsonable(parameters), "test": self.test, "path": path, "line": line,
                 "function": function}
        with self.lock:
            self.file.write(json.dumps(entry) + "\n")
            self.count += 1

    def _call_site(self) -> tuple[str | None, int | None, str | None]:
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            package = str(frame.f_globals.get("__name__", "")).split(".")[0]
            if (package not in _SKIPPED_PACKAGES and not name.startswith("<")
                    and not _SKIPPED_FOLDERS & set(Path(name).parts)):
                return str(Path(name).resolve()), frame.f_lineno, frame.f_code.co_name
            frame = frame.f_back
        return None, None, None

    def close(self) -> None:
        self.file.close()


_recorder: _Recorder | None = None


def pytest_addoption(parser):
    parser.addoption("--tenantlint-capture", metavar="PATH", default=None,
                     help="Record every SQL statement Django or SQLAlchemy runs to PATH (JSON lines) for "
                          "`tenantlint logs PATH`.")


def pytest_configure(config):
    global _recorder
    target = config.getoption("--tenantlint-capture", default=None)
    if not target or _recorder is not None:
        return
    _recorder = _Recorder(Path(target))
    _install_sqlalchemy(_recorder)
    _install_django(_recorder)


def pytest_runtest_setup(item):
    if _recorder is not None:
        _recorder.test = item.nodeid


def pytest_unconfigure(config):
    global _recorder
    if _recorder is not None:
        _recorder.close()
        _recorder = None


def _install_sqlalchemy(recorder: _Recorder) -> None:
    try:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
    except ImportError:
        return

    @event.listens_for(Engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001 - SQLAlchemy's signature
        recorder.record(statement, parameters)


def _install_django(recorder: _Recorder) -> None:
    """A wrapper on every connection, those that exist and those to come."""
    try:
        from django.db.backends.signals import connection_created
    except ImportError:
        return

    def wrapper(execute, sql, params, many, context):
        recorder.record(sql, params)
        return execute(sql, params, many, context)

    def install(connection, **kwargs):
        if wrapper not in connection.execute_wrappers:
            connection.execute_wrappers.append(wrapper)

    connection_created.connect(install, weak=False)
    try:
        from django.conf import settings

        if settings.configured:
            from django.db import connections

            for connection in connections.all():
                install(connection)
    except Exception:  # noqa: BLE001 - Django not set up yet: the signal covers it
        pass


def _jsonable(parameters):
    if parameters is None:
        return None
    if isinstance(parameters, dict):
        return {str(k): _jsonable(v) for k, v in parameters.items()}
    if isinstance(parameters, (list, tuple)):
        return [_jsonable(v) for v in parameters]
    if isinstance(parameters, (str, int, float, bool)):
        return parameters
    return str(parameters)

