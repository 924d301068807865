"""Does a name or URL say "export"? Matched on words, not substrings.

``install_app`` contains ``all_`` and ``passport`` contains ``sport``: substring matching of
``export_patterns`` finds exports everywhere. Names are split into words (snake_case,
camelCase, kebab-case, URL segments; URL parameters such as ``<int:export_id>`` are left
out); a pattern matches a word it starts (``export`` matches ``exports``, ``exporter``); a
pattern ending in ``_`` (``all_``) matches a word followed by another (``all_patients``,
``allPatients``); a pattern with glob characters is matched against the whole lower-cased
name. A word followed by a write or a key (``bulk_update``, ``bulk_create``, ``export_id``)
names no export: the ORM's bulk writes and an Export row's id are not bulk reads.

>>> from tenantlint.config import Config
>>> export_word("export_all_patients", Config().export_patterns)
'export'
>>> says_export("/api/v1/patients/download.csv", Config().export_patterns)
True
>>> says_export("install_app", Config().export_patterns), says_export("PatientList", Config().export_patterns)
(False, False)
>>> says_export("bulk_update", Config().export_patterns), says_export("/exports/<int:export_id>/", ("export_",))
(False, False)
"""

from __future__ import annotations

import fnmatch
import re

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# URL parameters: (?P<name>...), <int:name>, {name}.
_PARAMETER = re.compile(r"\(\?P<[^>]*>[^)]*\)|<[^>]*>|\{[^}]*\}")
# A word after which a pattern's word names a write or a row's key, not an export.
_NOT_AN_EXPORT_AFTER = frozenset({
    "update", "updates", "create", "creates", "delete", "destroy", "insert", "upsert", "edit", "save", "import",
    "restore", "remove", "archive", "assign", "void", "id", "ids", "pk", "pks", "uuid",
})


def words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(_PARAMETER.sub("/", name or ""))]


def says_export(name: str | None, patterns) -> bool:
    return export_word(name, patterns) is not None


def export_word(name: str | None, patterns) -> str | None:
    """The first of ``patterns`` that ``name`` says, or None."""
    if not name:
        return None
    low = name.lower()
    found = None  # split into words only when a pattern may match
    for pattern in patterns:
        p = pattern.lower()
        if not any(ch in p for ch in "*?[") and p.strip("_-") not in low:
            continue  # each word is a piece of the name: none starts with this pattern
        found = words(name) if found is None else found
        if _matches(p, low, found):
            return pattern
    return None


def _matches(p: str, low: str, found: list[str]) -> bool:
    if any(ch in p for ch in "*?["):
        return fnmatch.fnmatchcase(low, p) or any(fnmatch.fnmatchcase(w, p) for w in found)
    follow = p.endswith(("_", "-"))
    core = p.strip("_-")
    if not core:
        return False
    for i, word in enumerate(found):
        after = found[i + 1] if i + 1 < len(found) else None
        if word.startswith(core) and (not follow or (word == core and after)) and after not in _NOT_AN_EXPORT_AFTER:
            return True
    return False
