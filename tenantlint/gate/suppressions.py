"""Inline suppressions: ``# tenantlint: ignore[rule-id] reason`` (Python) and
``-- tenantlint: ignore[rule-id] reason`` (SQL), read from real comments only.

A comment is found by the language's tokenizer (Python's ``tokenize``; for SQL a quote-aware
scan), never by a regex over raw text, so a ``#`` or ``--`` inside a string is not a comment.
Files whose bytes do not contain ``tenantlint:`` are not tokenized at all.

A suppression *targets* a line: a trailing comment targets its own line; a comment alone on
its line targets the first line after its run of comment-only lines. It silences a finding
of one of its rules whose first line (or, for a multi-line statement, last line) is that target.

>>> [(s["line"], s["target"], s["rules"], s["reason"]) for s in collect("a.sql",
...     b"-- tenantlint: ignore[unscoped-write] nightly purge\\nDELETE FROM notes;", "sql")]
[(1, 2, ['unscoped-write'], 'nightly purge')]
"""

from __future__ import annotations

import io
import re
import tokenize

MARKER = b"tenantlint:"
INVALID_RULE = "invalid-suppression"
UNUSED_RULE = "unused-suppression"

# Where a directive starts inside a comment: at its beginning, or after another comment
# marker sharing the line (``# noqa: E501  # tenantlint: ignore[...] why``).
_DIRECTIVE = re.compile(r"(?:^|#|--)\s*tenantlint:\s*(?P<body>.*)$", re.S)
_IGNORE = re.compile(r"ignore\s*(?:\[(?P<ids>[^\]]*)\])?\s*(?P<reason>.*)$", re.S)
_RULE_ID = re.compile(r"^[A-Za-z0-9][\w.-]*$")


def collect(path: str, data: bytes, language: str) -> list[dict]:
    """The suppressions of one file, each::

        {"line": 12, "column": 5, "target": 13, "rules": ["missing-tenant-filter"],
         "reason": "admin report", "text": "<the comment>", "error": None | "why it is invalid"}
    """
    if MARKER not in data:
        return []
    comments = _sql_comments(data) if language == "sql" else _python_comments(data)
    out = []
    for line, column, text, standalone, target in comments:
        match = _DIRECTIVE.search(text)
        if match is None:
            continue
        rules, reason, problem = parse_directive(match.group("body"))
        out.append({"line": line, "column": column, "target": target if standalone else line,
                    "rules": rules, "reason": reason, "text": " ".join(text.split()), "error": problem})
    return out


def parse_directive(body: str) -> tuple[list[str], str, str | None]:
    """(rule ids, reason, problem or None) of the text after ``tenantlint:``.

    >>> parse_directive("ignore[a, b] known false positive")
    (['a', 'b'], 'known false positive', None)
    >>> parse_directive("ignore[a]")[2]
    'suppression of a gives no reason: write one after ignore[...]'
    """
    match = _IGNORE.match(body.strip())
    if match is None:
        return [], "", f"unknown tenantlint directive {body.strip()!r}: write ignore[rule-id] reason"
    ids_text = match.group("ids")
    reason = " ".join(match.group("reason").strip().lstrip(":-—").split())
    if ids_text is None:
        return [], reason, "suppression names no rule id: write ignore[rule-id] reason"
    rules = [r.strip() for r in ids_text.split(",") if r.strip()]
    if not rules:
        return [], reason, "suppression names no rule id: write ignore[rule-id] reason"
    bad = [r for r in rules if not _RULE_ID.match(r)]
    if bad:
        return rules, reason, f"not a rule id: {bad[0]!r}"
    if not reason:
        return rules, reason, f"suppression of {', '.join(rules)} gives no reason: write one after ignore[...]"
    return rules, reason, None


_NON_CODE = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
             tokenize.ENCODING, tokenize.ENDMARKER}


def _python_comments(data: bytes):
    """(line, column, text, alone on its line, target line) of every COMMENT token."""
    found = []
    code_lines: set[int] = set()
    try:
        for tok in tokenize.tokenize(io.BytesIO(data).readline):
            if tok.type == tokenize.COMMENT:
                found.append((tok.start[0], tok.start[1] + 1, tok.string[1:], tok.start[0]))
            elif tok.type not in _NON_CODE:
                code_lines.update(range(tok.start[0], tok.end[0] + 1))
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        pass  # keep what was read so far: the extractor reports the broken file
    return _with_targets(found, code_lines)


def _sql_comments(data: bytes):
    """Line comments (``--``) and block comments (``/* */``) outside string literals."""
    from tenantlint.extract.sql.statements import _segments

    try:
        sql = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        return []
    found = []
    code_lines: set[int] = set()
    line, column = 1, 1
    for text, quoted in _segments(sql):
        is_comment = quoted and text.startswith(("--", "/*"))
        if is_comment:
            found.append((line, column, text[2:-2] if text.startswith("/*") else text[2:], line + text.count("\n")))
        else:  # code, including string literals
            code_lines.update(line + i for i, piece in enumerate(text.split("\n")) if piece.strip())
        newlines = text.count("\n")
        if newlines:
            line += newlines
            column = len(text) - text.rfind("\n")
        else:
            column += len(text)
    return _with_targets(found, code_lines)


def _with_targets(found, code_lines: set[int]):
    """Add whether each comment (line, column, text, last line) is alone on its line(s), and
    the line such a comment targets: the first line after its run of comment-only lines."""
    comment_lines = {n for line, _, _, last in found for n in range(line, last + 1)}
    out = []
    for line, column, text, last in found:
        standalone = line not in code_lines and last not in code_lines
        target = last + 1
        while target in comment_lines and target not in code_lines:
            target += 1
        out.append((line, column, text, standalone, target))
    return out


# Rules the host reports itself (no policy decides them), with the docs a policy's
# METADATA would give, so that SARIF describes them like the policy rules.
HOST_RULES = (
    {
        "id": INVALID_RULE,
        "title": "Inline suppression without a rule id or a reason",
        "severity": "warning",
        "description": (
            "## What it does\n"
            "Reports a `tenantlint:` comment that is not `ignore[rule-id] reason`: it names no rule id,\n"
            "gives no reason, or is not an `ignore` directive. Such a comment suppresses nothing.\n\n"
            "## Why is this bad?\n"
            "A suppression is a reviewed decision that a finding is not a leak. Without the rule id it\n"
            "would hide every rule; without a reason the next reviewer cannot check the decision.\n\n"
            "## Example\n"
            "```python\n"
            "rows = cursor.execute(REPORT_SQL)  # tenantlint: ignore\n"
            "```\n\n"
            "## Use instead\n"
            "```python\n"
            "rows = cursor.execute(REPORT_SQL)  # tenantlint: ignore[missing-tenant-filter] staff-only report\n"
            "```"
        ),
    },
    {
        "id": UNUSED_RULE,
        "title": "Inline suppression that suppresses nothing",
        "severity": "warning",
        "description": (
            "## What it does\n"
            "Reports an `ignore[rule-id]` whose rule has no finding on the line it applies to: the\n"
            "line the comment ends, or, for a comment alone on its line, the next code line; for a\n"
            "statement over several lines, its first or its last line.\n\n"
            "## Why is this bad?\n"
            "A stale suppression hides a future finding on that line that nobody has reviewed.\n"
            "It is usually left behind after a fix, or names the wrong rule.\n\n"
            "## Use instead\n"
            "Remove the comment, or move it to the line of the finding."
        ),
    },
)
