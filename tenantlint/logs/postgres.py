"""PostgreSQL logs, as statements: one pass, bounded memory, any log_line_prefix.

Read: ``stderr`` logs, ``csvlog`` and ``jsonlog`` (the logging collector's), a
pg_stat_statements export, and the JSON lines of the pytest capture plugin
(:mod:`tenantlint.capture`).

A line is ``<prefix><LEVEL>:  <message>``; what tenantlint reads are the statements
(``log_statement``: ``statement: ...``; ``log_min_duration_statement``: ``duration: 1.2 ms
statement: ...``; the extended protocol's ``execute <name>: ...``, whose ``DETAIL:
parameters: $1 = '5'`` line follows; pgaudit's ``AUDIT: SESSION,...``). A statement continues on the lines that start with a
tab. The prefix is given as PostgreSQL writes it in ``log_line_prefix`` (``%m [%p] %q%u@%d ``)
and turned into a pattern that captures the user, database, application, client host
and session, the actors of a statement.

>>> parse = prefix_pattern("%m [%p] %q%u@%d ")
>>> entry = parse.match("2026-03-02 10:00:00.123 UTC [42] app@clinic LOG:  statement: SELECT 1")
>>> entry["u"], entry["d"], entry["level"], entry["message"]
('app', 'clinic', 'LOG', 'statement: SELECT 1')
"""

from __future__ import annotations

import csv
import errno
import gzip
import io
import itertools
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tenantlint.discover import display_path

DEFAULT_PREFIX = "%m [%p] "  # PostgreSQL 15's default log_line_prefix
# What each escape of log_line_prefix matches; named groups are the fields an actor is made of.
_ESCAPES = {
    "m": r"(?P<m>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? ?[A-Z+\-0-9:]*)",
    "t": r"(?P<t>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ?[A-Z+\-0-9:]*)",
    "n": r"(?P<n>\d+(?:\.\d+)?)", "p": r"(?P<p>\d+)", "c": r"(?P<c>[0-9a-f]+\.[0-9a-f]+)", "l": r"(?P<l>\d+)",
    "u": r"(?P<u>[^\s@,\[\]]*)", "d": r"(?P<d>[^\s@,\[\]]*)", "a": r"(?P<a>.*?)", "h": r"(?P<h>[^\s:,\[\]]*)",
    "r": r"(?P<r>[^\s,\[\]]*)", "e": r"(?P<e>[0-9A-Z]{5})", "x": r"(?P<x>\d+)", "v": r"(?P<v>[0-9/]+)",
    "i": r"(?P<i>[A-Z ]*)", "b": r"(?P<b>[\w ]*)", "s": r"(?P<s>[\d\- :A-Z]+)", "Q": r"(?P<Q>-?\d+)",
}
_LEVELS = r"(?P<level>LOG|STATEMENT|DETAIL|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|HINT|CONTEXT|DEBUG\d?)"
_STATEMENT = re.compile(r"^(?:duration: [\d.]+ ms\s+)?(?:statement|execute [^:]*|bind [^:]*): ?(?P<sql>.*)$", re.S)
_PARAMETER = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")


def prefix_pattern(prefix: str) -> re.Pattern:
    """A pattern for lines with this ``log_line_prefix``: its fields, ``level`` and ``message``."""
    out, i, seen = [], 0, set()
    while i < len(prefix):
        ch = prefix[i]
        if ch == "%" and i + 1 < len(prefix):
            code = prefix[i + 1]
            i += 2
            if code == "%":
                out.append("%")
            elif code == "q":  # what follows is absent in non-session lines
                rest = prefix_pattern(prefix[i:]).pattern[1:].split(_LEVELS)[0]
                out.append(f"(?:{rest})?")
                break
            elif code in _ESCAPES and code not in seen:
                seen.add(code)
                out.append(_ESCAPES[code])
            else:
                out.append(r".*?")
        else:
            out.append(re.escape(ch))
            i += 1
    return re.compile("^" + "".join(out) + _LEVELS + r":  (?P<message>.*)$", re.S)


@dataclass
class LogStatement:
    """One statement a server ran, where the log says so, and who ran it."""

    sql: str
    path: str
    line: int
    time: str | None = None
    actor: dict = field(default_factory=dict)  # user, database, application, host, session
    parameters: dict = field(default_factory=dict)  # "$1" -> "'5'"
    calls: int = 1  # a pg_stat_statements row stands for many runs
    rows: int | None = None  # rows it returned or changed, where the input says


@dataclass
class ReadStats:
    lines: int = 0
    statements: int = 0
    unrecognised: int = 0  # lines that are neither an entry with this prefix nor a continuation
    overlong: int = 0  # lines longer than MAX_LINE (junk, a sparse file): skipped unread


FORMATS = ("stderr", "csvlog", "jsonlog", "pgss", "capture")
MAX_LINE = 64 << 20  # bytes; a longer line is skipped: junk, a sparse file's zeros (a log entry, or a
# pg_stat_statements export as one JSON array, is far shorter)


def read_statements(path: str, prefix: str = DEFAULT_PREFIX, stats: ReadStats | None = None,
                    kind: str = "auto") -> Iterator[LogStatement]:
    """The statements of the log at ``path`` (``-``: standard input; ``.gz``: decompressed),
    in order, one at a time. ``kind``: ``stderr``, ``csvlog``, ``jsonlog``, ``pgss`` (a
    pg_stat_statements export, CSV or JSON), or ``auto`` (by the name, else the first line)."""
    stats = stats if stats is not None else ReadStats()
    lines = _lines(path, stats)
    first = next(lines, None)
    if first is None:
        return
    lines = itertools.chain([first], lines)
    kind = kind if kind != "auto" else _detect(path, first)
    if kind == "csvlog":
        yield from _csvlog(path, lines, stats)
    elif kind == "jsonlog":
        yield from _jsonlog(path, lines, stats)
    elif kind == "pgss":
        yield from _pg_stat_statements(path, lines, stats)
    elif kind == "capture":
        yield from _captured(path, lines, stats)
    else:
        yield from _stderr(path, lines, prefix, stats)


def _detect(path: str, first: str) -> str:
    name = path.removesuffix(".gz")
    head = first.lstrip("\ufeff").strip()
    if head.startswith("{") and '"sql"' in head and '"test"' in head:
        return "capture"
    if head.startswith("[") or (head.startswith("{") and '"calls"' in head):
        return "pgss"
    if head.startswith("{"):
        return "jsonlog"
    if "query" in head.lower().split(",") or ("calls" in head.lower() and "query" in head.lower()):
        return "pgss"
    if name.endswith(".csv") or re.match(r'^\d{4}-\d\d-\d\d [\d:.]+ ?\w*,', head):
        return "csvlog"
    return "stderr"


def _stderr(path: str, lines: Iterator[str], prefix: str, stats: ReadStats) -> Iterator[LogStatement]:
    pattern = prefix_pattern(prefix)
    current: LogStatement | None = None
    for number, text in enumerate(lines, 1):
        stats.lines += 1
        if not text:
            continue
        if text.startswith("\t") and current is not None:  # a multi-line statement goes on
            current.sql += "\n" + text[1:]
            continue
        entry = pattern.match(text)
        if entry is None:
            stats.unrecognised += 1
            continue
        message = entry["message"]
        if entry["level"] == "DETAIL" and message.startswith("parameters:") and current is not None:
            current.parameters.update({f"${n}": v for n, v in _PARAMETER.findall(message)})
            continue
        sql = statement_text(message) if entry["level"] == "LOG" else None
        if sql is None:
            continue
        if current is not None:
            stats.statements += 1
            yield current
        fields = entry.groupdict()
        actor = {key: fields[code] for key, code in (("user", "u"), ("database", "d"), ("application", "a"),
                                                     ("host", "h"), ("session", "c"), ("pid", "p"))
                 if fields.get(code)}
        current = LogStatement(sql, path, number, fields.get("m") or fields.get("t"), actor)
    if current is not None:
        stats.statements += 1
        yield current


# csvlog columns (PostgreSQL 13 to 16; later ones only add columns at the end).
_CSV_COLUMNS = ("log_time", "user_name", "database_name", "process_id", "connection_from", "session_id",
                "session_line_num", "command_tag", "session_start_time", "virtual_transaction_id", "transaction_id",
                "error_severity", "sql_state_code", "message", "detail", "hint", "internal_query",
                "internal_query_pos", "context", "query", "query_pos", "location", "application_name")


def _csvlog(path: str, lines: Iterator[str], stats: ReadStats) -> Iterator[LogStatement]:
    reader = csv.reader(line + "\n" for line in lines)
    for start, row in _records(reader):
        stats.lines = reader.line_num
        record = dict(zip(_CSV_COLUMNS, row))
        yield from _record(path, start, record.get("error_severity"), record.get("message") or "",
                           record.get("detail") or "", record.get("log_time"),
                           {"user": record.get("user_name"), "database": record.get("database_name"),
                            "application": record.get("application_name"), "session": record.get("session_id"),
                            "host": (record.get("connection_from") or "").split(":")[0],
                            "pid": record.get("process_id")}, stats)


def _jsonlog(path: str, lines: Iterator[str], stats: ReadStats) -> Iterator[LogStatement]:
    for number, record in _json_lines(lines, stats):
        yield from _record(path, number, record.get("error_severity"), str(record.get("message") or ""),
                           str(record.get("detail") or ""), record.get("timestamp"),
                           {"user": record.get("user"), "database": record.get("dbname"),
                            "application": record.get("application_name"), "session": record.get("session_id"),
                            "host": record.get("remote_host"), "pid": record.get("pid")}, stats)


def _json_lines(lines: Iterator[str], stats: ReadStats) -> Iterator[tuple[int, dict]]:
    """(line number, object) of each JSON-object line; blank lines are skipped, any other
    line is counted as unrecognised."""
    for number, text in enumerate(lines, 1):
        stats.lines += 1
        if not text:
            continue
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            stats.unrecognised += 1
            continue
        yield number, record


def statement_text(message: str) -> str | None:
    """The SQL of a LOG message that reports a statement: ``statement: ...``, ``duration:
    ... statement: ...``, ``execute <name>: ...``, or a pgaudit ``AUDIT: SESSION,...`` line
    (one per statement with ``pgaudit.log_relation`` off, its default; with it on, a
    statement counts once per relation it names).

    >>> statement_text('AUDIT: SESSION,3,1,READ,SELECT,,,"SELECT a, b FROM t",<not logged>')
    'SELECT a, b FROM t'
    >>> statement_text("checkpoint starting: time") is None
    True
    """
    if message.startswith("AUDIT: "):
        try:
            fields = next(csv.reader([message[7:]]))
        except (csv.Error, StopIteration):
            return None
        return fields[7] if len(fields) >= 8 and fields[0] in ("SESSION", "OBJECT") and fields[7] else None
    statement = _STATEMENT.match(message)
    return statement["sql"] if statement else None


def _record(path, line, level, message, detail, time, actor, stats) -> Iterator[LogStatement]:
    """A structured log entry (csvlog, jsonlog): a statement, with its parameters, or nothing."""
    sql = statement_text(message) if level == "LOG" else None
    if sql is None:
        return
    stats.statements += 1
    yield LogStatement(sql, path, line, time, {k: str(v) for k, v in actor.items() if v},
                       {f"${n}": v for n, v in _PARAMETER.findall(detail)} if detail.startswith("parameters:") else {})


def _pg_stat_statements(path: str, lines: Iterator[str], stats: ReadStats) -> Iterator[LogStatement]:
    """``SELECT query, calls, rows, rolname ... FROM pg_stat_statements`` saved as CSV (with
    its header) or as a JSON array (or lines) of objects."""
    first = next(lines, "")
    rest = itertools.chain([first], lines)
    if first.lstrip("\ufeff").lstrip().startswith(("[", "{")):
        text = "".join(rest).strip()
        try:
            data = json.loads(text) if text.startswith("[") else [json.loads(x) for x in text.splitlines() if x.strip()]
        except ValueError:
            stats.unrecognised += 1
            return
        records = [(i + 1, r) for i, r in enumerate(data) if isinstance(r, dict)]
    else:
        reader = csv.DictReader(line.lstrip("\ufeff") + "\n" for line in rest)
        records = _records(reader)
    for number, record in records:
        stats.lines += 1
        low = {str(k).strip().lower(): v for k, v in record.items() if k is not None}
        sql = low.get("query")
        if not sql:
            stats.unrecognised += 1
            continue
        stats.statements += 1
        user = low.get("rolname") or low.get("user") or low.get("username") or low.get("userid")
        yield LogStatement(str(sql), path, number, None, {"user": str(user)} if user else {},
                           calls=_int(low.get("calls"), 1), rows=_int(low.get("rows"), None))


def _captured(path: str, lines: Iterator[str], stats: ReadStats) -> Iterator[LogStatement]:
    """``pytest --tenantlint-capture`` lines (:mod:`tenantlint.capture`): each statement at the
    project line that issued it, its test as the actor."""
    for number, record in _json_lines(lines, stats):
        if not isinstance(record.get("sql"), str):
            stats.unrecognised += 1
            continue
        stats.statements += 1
        where, line = record.get("path"), record.get("line")
        located = isinstance(where, str) and isinstance(line, int)
        if located:
            where = display_path(Path(where))
        yield LogStatement(record["sql"], where if located else path, line if located else number, None,
                           {"test": str(record["test"])} if record.get("test") else {})


def _int(value, default):
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


def _records(reader) -> Iterator[tuple[int, object]]:
    """(the line a CSV record starts on, the record): a field may hold line breaks."""
    previous = reader.line_num
    for record in reader:
        yield previous + 1, record
        previous = reader.line_num


def _lines(path: str, stats: ReadStats) -> Iterator[str]:
    """The lines of ``path`` without their line ending. A line longer than MAX_LINE is
    skipped (an empty line stands in for it, so the next ones keep their numbers): memory
    stays bounded, and a sparse file's holes are jumped over."""
    raw = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115 - closed below
    try:
        head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        stream = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw
        for line in _byte_lines(stream, stats, _hole_skipper(stream)):
            yield line.decode("utf-8", "replace").rstrip("\r")
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


def _hole_skipper(stream):
    """For a plain file: a function that moves the stream past a hole (a sparse file's
    unwritten gigabytes hold no line ending); None for a pipe or a gzip stream."""
    seek_data = getattr(os, "SEEK_DATA", None)
    if seek_data is None or not isinstance(stream, io.BufferedReader) or not stream.seekable():
        return None

    def skip() -> None:
        here = stream.tell()
        try:
            there = os.lseek(stream.fileno(), here, seek_data)
        except OSError as exc:  # ENXIO: nothing but a hole up to the end
            if exc.errno == errno.ENXIO:
                stream.seek(0, os.SEEK_END)
            return
        if there > here:
            stream.seek(there)

    return skip


def _byte_lines(stream, stats: ReadStats, skip_hole=None) -> Iterator[bytes]:
    start: list[bytes] = []  # the pieces of the line under way, from earlier chunks
    size, skipping = 0, False
    while True:
        if skipping and skip_hole is not None:
            skip_hole()
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        if skipping:  # the rest of an overlong line: only its end is looked for, nothing is copied
            end = chunk.find(b"\n")
            if end < 0:
                continue
            chunk, skipping = chunk[end + 1:], False
            yield b""
        *ended, rest = chunk.split(b"\n")
        for line in ended:
            if start:
                line, start, size = b"".join(start) + line, [], 0
            yield line
        if rest:
            start.append(rest)
            size += len(rest)
            if size > MAX_LINE:
                start, size, skipping = [], 0, True
                stats.overlong += 1
    if start:
        yield b"".join(start)


_CHUNK = 1 << 20
