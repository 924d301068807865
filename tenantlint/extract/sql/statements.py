"""Split SQL text into statements that each keep their own line, and parse them one by one.

One bad statement must not hide the others, so the text is tokenized once, cut at
semicolons, and each statement is parsed from its own tokens.

>>> [(s.line, s.expression.key if s.expression else s.error) for s in statements(
...     "SELECT 1;\\n\\nUPDATE SET x = 1;\\nDELETE FROM t;", "postgres")]
[(1, 'select'), (3, 'Invalid expression / Unexpected token'), (4, 'delete')]
"""

from __future__ import annotations

import bisect
import gc
import logging
import re
from dataclasses import dataclass
from typing import Iterator

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType


# sqlglot logs "unsupported syntax, falling back to Command" to stderr; we report it ourselves.
logging.getLogger("sqlglot").setLevel(logging.CRITICAL)

_ANALYSED_COMMANDS = {"SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "TRUNCATE"}


@dataclass
class Statement:
    line: int
    column: int
    end_line: int
    text: str
    expression: exp.Expression | None
    error: str | None = None
    export: bool = False  # SELECT ... INTO OUTFILE / DUMPFILE


# psycopg/MySQLdb placeholders are not SQL in most dialects: rewrite them to `?` / `:name`
# keeping every offset, so positions still match the source.
_PYFORMAT = re.compile(r"%\((\w+)\)s|%s(?!\w)")
_NAMED = re.compile(r"(?<![:\w]):[A-Za-z_]\w*")  # :name, not a ::cast or a[1:n] after a word
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_NUMBERED = re.compile(r"(?<![\w?])\?\d+")  # sqlite ?1
# a str.format / f-string hole ({tenant_id}); struct literals hold quotes or colons, ODBC {fn x} a space
_HOLE = re.compile(r"(?<!\{)\{[A-Za-z_]\w*\}(?!\})")
_EXPORT_OPTIONS = {"FIELDS", "COLUMNS", "LINES", "TERMINATED", "ENCLOSED", "ESCAPED", "OPTIONALLY",
                   "BY", "STARTING", "CHARACTER", "SET"}


PIECE_CHARS = 256_000  # a larger text is split in pieces, analysed one after the other


def statements(sql: str, dialect: str) -> Iterator[Statement]:
    """Every statement of ``sql`` with its 1-based start line, parsed or with its error.

    Lazily, and for a large text piece by piece (cut at a ``;`` that ends a line, outside
    quotes, comments and dollar-quoted bodies): a dump's tokens and trees are never all in
    memory at once (a 1.7 MB dump held 290 MB that way; a 30 MB one, gigabytes).
    """
    if len(sql) <= PIECE_CHARS:
        yield from _statements(sql, dialect)
        return
    base, counted = 0, 0  # lines before the piece, counted up to offset `counted`
    for start, end in _pieces(sql, PIECE_CHARS):
        base += sql.count("\n", counted, start)
        counted = start
        for stmt in _statements(sql[start:end], dialect):
            stmt.line += base
            stmt.end_line += base
            yield stmt
        gc.collect(0)  # a scan pauses the cyclic collector; sqlglot's trees are cycles (parent links)


# What may hide a `;`: quoted text, comments, dollar-quoted bodies; or a `;` that ends a line.
_SCAN = re.compile(r"""'(?:[^'\\]+|\\.|'')*'|"(?:[^"]+|"")*"|`[^`]*`|--[^\n]*|/\*.*?\*/"""
                   r"""|\$(?P<tag>[A-Za-z_]\w*|)\$.*?\$(?P=tag)\$|(?P<end>;[ \t]*\n)""", re.S)


def _pieces(sql: str, size: int) -> Iterator[tuple[int, int]]:
    r"""(start, end) offsets of consecutive pieces of about ``size`` characters, each ending
    after a line-ending ``;`` (so each starts a line) or at the end of the text.

    >>> list(_pieces("SELECT ';\n';\nSELECT 2;\nSELECT 3;\n", 5))
    [(0, 13), (13, 23), (23, 33)]
    >>> list(_pieces("DO $$ BEGIN x;\n y; END $$;\nSELECT 1;\n", 5))
    [(0, 27), (27, 37)]
    """
    start = 0
    for match in _SCAN.finditer(sql):
        if match.group("end") and match.end() - start >= size:
            yield start, match.end()
            start = match.end()
    if start < len(sql):
        yield start, len(sql)


def _statements(sql: str, dialect: str) -> Iterator[Statement]:
    source = normalize_placeholders(sql)
    dialect_obj = Dialect.get_or_raise(dialect)
    try:
        tokens = dialect_obj.tokenize(source)
    except TokenError as exc:
        yield from _fallback_split(sql, source, dialect_obj, str(exc))
        return
    lines = _LineIndex(sql)
    for chunk in _chunks(tokens):
        stmt = _parse_chunk(chunk, source, sql, dialect_obj, lines)
        if stmt.expression is None and stmt.end_line > stmt.line:
            yield from _recover(chunk, source, sql, dialect_obj, lines) or [stmt]
        else:
            yield stmt


_STATEMENT_STARTS = {
    TokenType.SELECT, TokenType.WITH, TokenType.INSERT, TokenType.UPDATE, TokenType.DELETE,
    TokenType.MERGE, TokenType.CREATE, TokenType.DROP, TokenType.ALTER, TokenType.TRUNCATE,
    TokenType.COPY, TokenType.GRANT,
}


def _recover(tokens: list, source: str, sql: str, dialect: Dialect, lines: "_LineIndex") -> list[Statement]:
    """A chunk with no semicolons that does not parse may be several statements, one per
    line (a dump without terminators): cut where a statement keyword opens a line."""
    groups: list[list] = []
    previous_line = 0
    for token in tokens:
        line = lines.line(token.start)
        if token.token_type in _STATEMENT_STARTS and line != previous_line or not groups:
            groups.append([])
        groups[-1].append(token)
        previous_line = lines.line(token.end)
    if len(groups) < 2:
        return []
    return [_parse_chunk(group, source, sql, dialect, lines) for group in groups]


class _LineIndex:
    """Line and column of a character offset. Token ``line`` counters drift in some dialects
    (a ``$1`` in PostgreSQL), offsets do not."""

    def __init__(self, text: str):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def column(self, offset: int) -> int:
        return offset - self.starts[self.line(offset) - 1] + 1


def normalize_placeholders(sql: str) -> str:
    """Rewrite ``%s``/``%(name)s``/``:name`` placeholders and template holes outside quotes to
    neutral tokens, offsets unchanged: a named placeholder that is a reserved word
    (``BETWEEN :from AND :to``, ``LIMIT :limit``) would not parse. The original text stays
    the statement's text for messages and fingerprints.

    >>> normalize_placeholders("SELECT * FROM t WHERE d BETWEEN :from AND %(to)s AND x::int = 1")
    'SELECT * FROM t WHERE d BETWEEN :p    AND :p     AND x::int = 1'
    >>> normalize_placeholders("SELECT * FROM t WHERE a = ?1 AND b = {tenant_id}")
    'SELECT * FROM t WHERE a = ?  AND b = :p         '
    """
    if "%" not in sql and "{" not in sql and ":" not in sql and "?" not in sql:
        return sql
    out = []
    for text, quoted in _segments(sql):
        if not quoted:
            text = _PYFORMAT.sub(lambda m: _same_width(":p" if m.group(1) else "?", m.group(0)), text)
            text = _NAMED.sub(lambda m: _same_width(":p", m.group(0)), text)
            text = _NUMBERED.sub(lambda m: _same_width("?", m.group(0)), text)
            text = _HOLE.sub(lambda m: _same_width(":p", m.group(0)), text)
            text = _JINJA.sub(lambda m: _same_width("?", m.group(0)) if m.group(0).startswith("{{")
                              else " " * len(m.group(0)), text)
        out.append(text)
    return "".join(out)


def _same_width(replacement: str, original: str) -> str:
    return replacement + " " * (len(original) - len(replacement))


def _segments(sql: str):
    """(text, inside quotes or a comment) pieces of ``sql``, in order."""
    i, start, n = 0, 0, len(sql)
    while i < n:
        ch = sql[i]
        end = None
        if ch in "'\"`":
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:
                        end += 2
                        continue
                    break
                if sql[end] == "\\" and ch == "'":
                    end += 1
                end += 1
            end = min(end + 1, n)
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
        if end is None:
            i += 1
            continue
        if i > start:
            yield sql[start:i], False
        yield sql[i:end], True
        i = start = end
    if start < n:
        yield sql[start:], False


def _chunks(tokens: list) -> list[list]:
    chunks: list[list] = []
    current: list = []
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if current:
                chunks.append(current)
            current = []
        else:
            current.append(token)
    if current:
        chunks.append(current)
    return chunks


def _parse_chunk(tokens: list, source: str, original: str, dialect: Dialect, lines: "_LineIndex") -> Statement:
    first, last = tokens[0], tokens[-1]
    line, column = lines.line(first.start), lines.column(first.start)
    end = last.end + 1
    while end < len(source) and source[end] == " " and original[end] != " ":  # a rewritten `%s`
        end += 1
    text = original[first.start: end]
    end_line = lines.line(last.end)
    tokens, export = _strip_into_outfile(tokens)
    if _is_psql_meta(first):
        return Statement(line, column, end_line, text, None, "psql meta-command is not SQL")
    try:
        parsed = dialect.parser().parse(tokens, source)
    except ParseError as exc:
        return Statement(line, column, end_line, text, None, _parse_message(exc))
    except (TokenError, RecursionError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        return Statement(line, column, end_line, text, None, f"cannot parse: {type(exc).__name__}: {exc}")
    expressions = [e for e in parsed if e is not None]
    if not expressions:
        return Statement(line, column, end_line, text, None, "empty statement")
    expression = expressions[0]
    if isinstance(expression, exp.Command) and str(expression.this).upper() in _ANALYSED_COMMANDS:
        return Statement(line, column, end_line, text, None, "unsupported syntax: sqlglot read it only as a command")
    return Statement(line, column, end_line, text, expression, export=export)


def _is_psql_meta(token) -> bool:
    return token.text.startswith("\\")


def _strip_into_outfile(tokens: list) -> tuple[list, bool]:
    """sqlglot does not parse MySQL's ``INTO OUTFILE``: cut the clause out and remember it."""
    for i, token in enumerate(tokens[:-1]):
        if token.token_type == TokenType.INTO and tokens[i + 1].text.upper() in ("OUTFILE", "DUMPFILE"):
            j = i + 2
            while j < len(tokens) and (
                tokens[j].token_type in (TokenType.STRING, TokenType.NATIONAL_STRING)
                or tokens[j].text.upper() in _EXPORT_OPTIONS
            ):
                j += 1
            return tokens[:i] + tokens[j:], True
    return tokens, False


_TOKEN_REPR = re.compile(r"<Token token_type: [\w.]+, text: (.*?), line: \d+, col: \d+, start: \d+, end: \d+, comments: .*?>")


def _parse_message(exc: ParseError) -> str:
    if exc.errors:
        description = str(exc.errors[0].get("description") or exc)
    else:
        description = str(exc).splitlines()[0] if str(exc) else "cannot parse"
    return _TOKEN_REPR.sub(lambda m: repr(m.group(1)), description).strip()


def _fallback_split(sql: str, source: str, dialect: Dialect, message: str) -> list[Statement]:
    """When the whole text does not tokenize (say an unterminated quote), cut at `;` line ends
    and try each piece, so only the broken statement is lost."""
    out: list[Statement] = []
    starts = [0] + [m.end() for m in re.finditer(r"(?<=;)[ \t]*\n", source)]
    ends = [m.start() for m in re.finditer(r"(?<=;)[ \t]*\n", source)] + [len(source)]
    for start, end in zip(starts, ends):  # each piece at its own offset (blanks after `;` included)
        piece = source[start:end]
        if not piece.strip().rstrip(";"):
            continue
        base = sql.count("\n", 0, start)  # lines before the piece
        try:
            tokens = dialect.tokenize(piece)
        except TokenError as exc:
            first = base + 1 + (len(piece) - len(piece.lstrip("\n")))
            out.append(Statement(first, 1, base + 1 + piece.count("\n"), piece.strip(), None,
                                 f"cannot tokenize: {exc}"))
            continue
        piece_lines = _LineIndex(piece)
        for chunk in _chunks(tokens):
            stmt = _parse_chunk(chunk, piece, sql[start: start + len(piece)], dialect, piece_lines)
            stmt.line += base
            stmt.end_line += base
            out.append(stmt)
    if not out:
        out.append(Statement(1, 1, 1, sql[:80], None, f"cannot tokenize: {message}"))
    return out
