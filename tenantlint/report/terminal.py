"""Text safe to print: scanned code, paths and identifiers are data, never terminal commands.

A code frame copies a line of a scanned file to the user's terminal, and messages carry
table and file names from it. An ANSI escape there could clear or rewrite the screen, a
bidirectional override could make the printed code read differently from what runs
("Trojan Source"). Such characters are shown as escapes; tabs stay.

>>> printable("x = '\\x1b[2J' \\u202e")
"x = '\\\\x1b[2J' \\\\u202e"
>>> source_lines("a\\rb\\r\\nc\\x0cd\\n")
['a', 'b', 'c\\x0cd', '']
"""

from __future__ import annotations

import re

# C0 controls but tab, DEL and C1 controls, bidirectional marks, embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def printable(text: str) -> str:
    """``text`` with every control and bidi character written as an escape."""
    return _UNSAFE.sub(_escape, text)


def source_lines(text: str) -> list[str]:
    """Lines as the parsers number them: LF, CRLF and a lone CR end a line; a form feed or
    other separators that ``str.splitlines`` would break at do not; no byte-order mark."""
    return _LINE_BREAK.split(text.removeprefix("\ufeff"))


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
