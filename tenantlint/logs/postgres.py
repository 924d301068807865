"""PostgreSQL ``stderr`` logs, as statements: one pass, bounded memory, any log_line_prefix.

A line is ``<prefix><LEVEL>:  <message>``; what tenantlint reads are the statements
(``log_statement``: ``statement: ...``; ``log_min_duration_statement``: ``duration: 1.2 ms
statement: ...``; the extended protocol's ``execute <name>: ...``, whose ``DETAIL:
parameters: $1 = '5'`` line follows). A statement continues on the lines that start with a
tab. The prefix is given as PostgreSQL writes it in ``log_line_prefix`` (``%m [%p] %q%u@%d ``)
and turned into a pattern that captures the user, database, application, client host
and session, the actors of a statement.

>>> parse = prefix_pattern("%m [%p] %q%u@%d ")
>>> entry = parse.match("2026-03-02 10:00:00.123 UTC [42] app@clinic LOG:  statement: SELECT 1")
>>> entry["u"], entry["d"], entry["level"], entry["message"]
('app', 'clinic', 'LOG', 'statement: SELECT 1')
"""

from __future__ import annotations

import gzip
import io
import re
import sys
from dataclasses import dataclass, field
from typing import Iterator

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


@dataclass
class ReadStats:
    lines: int = 0
    statements: int = 0
    unrecognised: int = 0  # lines that are neither an entry with this prefix nor a continuation


def read_statements(path: str, prefix: str = DEFAULT_PREFIX, stats: ReadStats | None = None) -> Iterator[LogStatement]:
    """The statements of the log at ``path`` (``-``: standard input; ``.gz``: decompressed),
    in order, one at a time."""
    pattern = prefix_pattern(prefix)
    stats = stats if stats is not None else ReadStats()
    current: LogStatement | None = None
    for number, text in enumerate(_lines(path), 1):
        stats.lines += 1
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
        statement = _STATEMENT.match(message) if entry["level"] == "LOG" else None
        if statement is None:
            continue
        if current is not None:
            stats.statements += 1
            yield current
        fields = entry.groupdict()
        actor = {key: fields[code] for key, code in (("user", "u"), ("database", "d"), ("application", "a"),
                                                     ("host", "h"), ("session", "c"), ("pid", "p"))
                 if fields.get(code)}
        current = LogStatement(statement["sql"], path, number, fields.get("m") or fields.get("t"), actor)
    if current is not None:
        stats.statements += 1
        yield current


def _lines(path: str) -> Iterator[str]:
    raw = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115 - closed below
    try:
        head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        stream = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw
        for line in io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=""):
            yield line.rstrip("\r\n")
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()
