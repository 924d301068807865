"""Does a name or URL say "export"? Matched on words, not substrings.

``install_app`` contains ``all_`` and ``passport`` contains ``sport``: substring matching of
``export_patterns`` finds exports everywhere. Names are split into words (snake_case,
camelCase, kebab-case, URL segments); a pattern matches a word it starts (``export`` matches
``exports``, ``exporter``); a pattern ending in ``_`` (``all_``) matches a word followed by
another (``all_patients``, ``allPatients``); a pattern with glob characters is matched
against the whole lower-cased name.

>>> from tenantlint.config import Config
>>> says_export("export_all_patients", Config().export_patterns)
True
>>> says_export("/api/v1/patients/download.csv", Config().export_patterns)
True
>>> says_export("install_app", Config().export_patterns), says_export("PatientList", Config().export_patterns)
(False, False)
"""

from __future__ import annotations

import fnmatch
import re

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name or "")]


def says_export(name: str | None, patterns) -> bool:
    if not name:
        return False
    found = words(name)
    low = name.lower()
    for pattern in patterns:
        p = pattern.lower()
        if any(ch in p for ch in "*?["):
            if fnmatch.fnmatchcase(low, p) or any(fnmatch.fnmatchcase(w, p) for w in found):
                return True
            continue
        follow = p.endswith(("_", "-"))
        core = p.strip("_-")
        if not core:
            continue
        for i, word in enumerate(found):
            if word.startswith(core) and (not follow or (word == core and i + 1 < len(found))):
                return True
    return False
