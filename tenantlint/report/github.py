"""``--format github``: GitHub Actions workflow commands, so findings show as annotations
on the pull request's changed files without uploading SARIF.

One line per unsuppressed finding, ``::error file=…,line=…,col=…,endLine=…,title=…::message``
(warning → ``::warning``, info → ``::notice``), escaped as GitHub's runner expects:
``%``, CR and LF in the message; those and ``:`` and ``,`` in property values.
Paths are relative to the directory the scan ran in: run it from the repository root.
"""

from __future__ import annotations

import re

from tenantlint.report.terminal import printable
from tenantlint.scan import ScanResult

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def workflow_commands(result: ScanResult) -> str:
    """The workflow command lines of ``result`` (each ends with a newline)."""
    lines = []
    for finding in result.active:
        props = {
            "file": finding["path"],
            "line": finding["line"],
            "col": finding.get("column") or 1,
            "endLine": max(finding.get("end_line") or finding["line"], finding["line"]),
            "title": f"tenantlint {finding['rule']}",
        }
        lines.append(command(COMMANDS.get(finding["severity"], "warning"), finding["message"], props))
    for err in result.errors:
        props = {"file": err["path"], "title": "tenantlint: not analysed"}
        if err.get("line"):
            props["line"] = err["line"]
        lines.append(command("warning", f"not analysed: {err['message']}", props))
    return "".join(line + "\n" for line in lines)


def command(name: str, message: str, properties: dict) -> str:
    """One workflow command.

    >>> command("error", "50% of rows\\nleak", {"file": "a,b.py", "title": "x: y"})
    '::error file=a%2Cb.py,title=x%3A y::50%25 of rows%0Aleak'
    """
    # Controls are escaped for the log, CR and LF the way the runner decodes them (below).
    message = "".join(part if part in ("\r", "\n") else printable(part) for part in re.split(r"([\r\n])", message))
    props = ",".join(f"{key}={escape_property(printable(str(value)))}" for key, value in properties.items())
    return f"::{name} {props}::{escape_data(message)}" if props else f"::{name}::{escape_data(message)}"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
