"""Per-file facts cache, so that a re-scan of an unchanged tree parses nothing.

Facts are a pure function of (display path, file bytes, extraction settings, tool code),
so an entry is trusted only when all of them match:

- a *namespace* folder per tool code and settings: tenantlint's version and a hash of its
  own source files (so an edited or upgraded tenantlint never reads old facts), the
  sqlglot and libcst versions, the Python version, ``Config.extraction_key()`` and
  whether the prefilter ran;
- one entry per display path in it (the file name is a hash of the path), holding the
  sha256 of the file's bytes. Facts carry the path in many places, so entries are keyed
  by path rather than rewritten on load: a moved file, or a scan from another current
  directory, is parsed again. One entry per path also bounds the cache: an edited file
  replaces its entry instead of adding one.

An entry that does not parse, or names another namespace, path or content, is ignored
and rebuilt, never trusted. Writes go to a temporary file in the same folder and are
moved in place with ``os.replace``, so two scans at once never leave a half-written
entry. Namespaces not used for :data:`STALE_AFTER` seconds, or beyond the
:data:`KEEP_NAMESPACES` most recently used, are removed.

The policies' answer for a whole input document is kept too (:func:`cached_violations`):
on an unchanged tree the document is the same, and the engine (a child process, ~1 s
for a thousand queries) is the largest cost left once no file is parsed. Its key is
the document, the policy sources, the policy settings and the tool code; the newest
:data:`KEEP_RESULTS` answers are kept.

Layout::

    .tenantlint_cache/
        CACHEDIR.TAG  .gitignore
        v1-<namespace>/last-used
        v1-<namespace>/<2 hex>/<30 hex>.json
        results/<64 hex>.json
        documents/<64 hex>.json
        callgraph/<64 hex>.json

The policy input document of an unchanged tree is kept too (:func:`cached_document`, the
newest :data:`KEEP_DOCUMENTS`): its key is every file's content hash, the settings and the
tool code, so a warm scan skips the whole-program stage as well as the engine.

When some files changed (a hook's), the call graph's resolved edges of the others are
reused (:class:`EdgeMemo`, ``callgraph/<64 hex>.json``, one per tool code and settings):
a file keeps its edges while its content and the program's *shape* (every file's
definitions, :func:`tenantlint.extract.python.calls.program_shape`) are unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

from tenantlint import __version__
from tenantlint.config import Config

FORMAT = 1
DEFAULT_DIR_NAME = ".tenantlint_cache"
STALE_AFTER = 14 * 24 * 3600
KEEP_NAMESPACES = 8
KEEP_RESULTS = 16
KEEP_DOCUMENTS = 4  # a document holds the whole project's queries: keep few
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by tenantlint.\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)
_FACT_LISTS = ("tables", "queries", "routes", "fields", "suppressions", "errors")
_FACT_MAPS = ("imports", "constants", "web")
_NOT_CACHED_KINDS = {"limit", "crash"}  # may not happen again: time limit, memory, a dead worker


def default_cache_dir(config: Config, cwd: Path) -> Path:
    """``.tenantlint_cache`` next to the config file, or in the current directory."""
    return Path(config.root or cwd) / DEFAULT_DIR_NAME


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FactsCache:
    """Facts per display path, valid for one tool build and one set of extraction settings."""

    def __init__(self, folder: Path, namespace: str):
        self.folder = folder
        self.namespace = namespace

    @classmethod
    def open(cls, root: Path, config: Config, *, prefilter: bool = True) -> FactsCache | None:
        """The cache under ``root`` for this config; None when it cannot be created (a
        read-only tree): the scan then runs without one rather than failing."""
        namespace = _namespace(config, prefilter)
        folder = root / f"v{FORMAT}-{namespace}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _mark(root)
            (folder / "last-used").touch()
        except OSError:
            return None
        _prune(root, keep=folder)
        return cls(folder, namespace)

    def _entry(self, path: str) -> Path:
        name = hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        return self.folder / name[:2] / f"{name[2:]}.json"

    def get(self, path: str, sha256: str) -> dict | None:
        """The cached facts of ``path`` with content hash ``sha256``, or None."""
        try:
            entry = json.loads(self._entry(path).read_bytes())
        except (OSError, ValueError, RecursionError):
            return None
        if not (isinstance(entry, dict) and entry.get("format") == FORMAT
                and entry.get("namespace") == self.namespace and entry.get("path") == path
                and entry.get("sha256") == sha256 and _valid_facts(entry.get("facts"), path)):
            return None
        return entry["facts"]

    def put(self, path: str, sha256: str, facts: dict) -> None:
        """Store facts atomically; a failure to write only costs a re-parse next time."""
        if any(e.get("kind") in _NOT_CACHED_KINDS for e in facts.get("errors", [])):
            return
        entry = {"format": FORMAT, "namespace": self.namespace, "path": path, "sha256": sha256, "facts": facts}
        target = self._entry(path)
        try:
            target.parent.mkdir(exist_ok=True)
        except OSError:
            return
        _write_atomic(target, entry)


def cached_violations(root: Path, document: dict, config: Config, policy_dirs: Sequence[str],
                      evaluate: Callable[[], list[dict]]) -> list[dict]:
    """``evaluate()``, or its answer from an earlier scan of the same document with the
    same policies and settings. Never for an OPA server: its policies are not ours to hash."""
    if config.opa_url:
        return evaluate()
    from tenantlint.engine.modules import load_modules

    try:
        modules = load_modules(policy_dirs)
    except Exception:  # noqa: BLE001 - a policy error: let the engine report it as it does
        return evaluate()
    material = [FORMAT, __version__, _source_hash(), _versions("regopy"), document,
                [(m.path, m.source) for m in modules],
                {"rules": config.rules, "accept_join_scope": config.accept_join_scope,
                 "exemptions": list(config.exemptions), "contexts": config.contexts}]
    try:
        key = hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()
    except (TypeError, ValueError):
        return evaluate()
    return _remembered(root / "results", key, "violations", KEEP_RESULTS, evaluate,
                       lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v))


def cached_document(root: Path, contents: dict[str, str], config: Config, extra: object,
                    build: Callable[[], dict], store: bool = True) -> dict:
    """``build()``, or the policy input document an earlier scan built from the same file
    contents (``contents``: display path -> content hash), settings and tool code: on an
    unchanged tree the whole-program stage (call graph, contexts, paths) is not redone.
    ``extra``: anything else the document depends on. ``store``: False where the same
    contents are unlikely to come again (a hook's run on changed files), so the document
    is looked up but not written."""
    try:
        material = [FORMAT, __version__, _source_hash(), _settings(config), sorted(contents.items()), extra]
        key = hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()
    except (TypeError, ValueError):
        return build()
    return _remembered(root / "documents", key, "document", KEEP_DOCUMENTS, build, lambda v: isinstance(v, dict),
                       store)


class EdgeMemo:
    """The call graph's edges per file from the last scan of this project, for the files
    whose content (``contents``: display path -> content hash) is unchanged, while the
    program's shape is the one they were resolved against. Never an error: an unreadable
    or stale memo resolves everything again."""

    def __init__(self, root: Path, contents: dict[str, str], config: Config):
        self.contents = contents
        try:
            settings = _settings(config)
        except (TypeError, ValueError):
            settings = repr(config)
        material = "\0".join([str(FORMAT), __version__, _source_hash(), settings])
        self.entry = root / "callgraph" / f"{hashlib.sha256(material.encode()).hexdigest()}.json"

    def load(self, shape: str) -> dict[str, dict]:
        """``{path: {"sha", "edges": {function: [[callee, call, kind, shift, admin], ...]},
        "unresolved": {function: n}}}`` of the unchanged files."""
        try:
            memo = json.loads(self.entry.read_bytes())
            if not (isinstance(memo, dict) and memo.get("shape") == shape and isinstance(memo.get("files"), dict)):
                return {}
            return {path: entry for path, entry in memo["files"].items()
                    if isinstance(entry, dict) and entry.get("sha") == self.contents.get(path)
                    and _sound_edges(entry.get("edges")) and isinstance(entry.get("unresolved"), dict)
                    and all(isinstance(n, int) for n in entry["unresolved"].values())}
        except (OSError, ValueError, RecursionError):
            return {}

    def save(self, shape: str, files: dict[str, dict]) -> None:
        kept = {path: {**entry, "sha": self.contents[path]} for path, entry in files.items() if path in self.contents}
        try:
            self.entry.parent.mkdir(parents=True, exist_ok=True)
            _mark(self.entry.parent.parent)
        except OSError:
            return
        _write_atomic(self.entry, {"format": FORMAT, "shape": shape, "files": kept})
        _keep_newest(self.entry.parent, KEEP_DOCUMENTS)


def _settings(config: Config) -> str:
    """Every setting, as text a whole-project cache key is made of."""
    return json.dumps(dataclasses.asdict(config), sort_keys=True, default=str)


def _sound_edges(edges) -> bool:
    """``{function: [[callee, call, kind, shift, admin], ...]}`` with those types: a memo
    edited or damaged by hand is not trusted."""
    return isinstance(edges, dict) and all(
        isinstance(found, list) and all(
            isinstance(e, list) and len(e) == 5 and isinstance(e[0], str) and isinstance(e[1], int)
            and isinstance(e[2], str) and isinstance(e[3], int) and isinstance(e[4], bool) for e in found)
        for found in edges.values())


def _remembered(folder: Path, key: str, field: str, keep: int, compute: Callable, valid: Callable,
                store: bool = True):
    """The value stored under ``key`` in ``folder`` when it is sound, else ``compute()``,
    stored there when ``store`` (the newest ``keep`` entries are kept)."""
    entry = folder / f"{key}.json"
    try:
        cached = json.loads(entry.read_bytes())
        if (isinstance(cached, dict) and cached.get("format") == FORMAT and cached.get("key") == key
                and valid(cached.get(field))):
            os.utime(entry)
            return cached[field]
    except (OSError, ValueError, RecursionError):
        pass
    value = compute()
    if not store:
        return value
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _mark(folder.parent)
    except OSError:
        return value
    _write_atomic(entry, {"format": FORMAT, "key": key, field: value})
    _keep_newest(folder, keep)
    return value


def _write_atomic(target: Path, value) -> None:
    """Write JSON to a temporary file beside ``target``, then rename it over ``target``."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "wb") as fh:
            fh.write(json.dumps(value, separators=(",", ":")).encode("utf-8"))
        os.replace(tmp, target)
        tmp = None
    except (OSError, TypeError, ValueError):
        pass
    finally:
        if tmp is not None:
            _unlink(tmp)


def _keep_newest(folder: Path, count: int) -> None:
    try:
        entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in entries[count:]:
        _unlink(str(old))


def _valid_facts(facts, path: str) -> bool:
    return (isinstance(facts, dict) and facts.get("path") == path
            and all(isinstance(facts.get(k), list) for k in _FACT_LISTS)
            and all(isinstance(facts.get(k), dict) for k in _FACT_MAPS))


def _namespace(config: Config, prefilter: bool) -> str:
    parts = [str(FORMAT), __version__, _source_hash(), _versions(), config.extraction_key(), f"prefilter={prefilter}"]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]


_SOURCE_HASH: str | None = None


def _source_hash() -> str:
    """Hash of tenantlint's own .py files: facts change whenever the extractors do, version
    bump or not (an editable install, a git checkout)."""
    global _SOURCE_HASH
    if _SOURCE_HASH is None:
        package = Path(__file__).resolve().parent
        h = hashlib.sha256()
        for file in sorted(package.rglob("*.py")):
            h.update(file.relative_to(package).as_posix().encode())
            try:
                h.update(file.read_bytes())
            except OSError:
                h.update(b"?")
        _SOURCE_HASH = h.hexdigest()
    return _SOURCE_HASH


def _versions(*modules: str) -> str:
    """Which build of each parser the facts are made of, without importing it: where its
    package lies and when that was written (a reinstall or an upgrade rewrites it).
    ``importlib.metadata`` would read every installed distribution, a twentieth of a second
    of a hook's run."""
    out = [f"python={sys.version_info[0]}.{sys.version_info[1]}"]
    for module in modules or ("sqlglot", "sqlglotc", "libcst"):
        try:
            spec = importlib.util.find_spec(module)
            origin = spec.origin if spec is not None else None
            out.append(f"{module}={origin}:{os.stat(origin).st_mtime_ns}" if origin else f"{module}=-")
        except (ImportError, ValueError, OSError):
            out.append(f"{module}=-")
    return ",".join(out)


def _mark(root: Path) -> None:
    """CACHEDIR.TAG (backup tools skip the folder) and a .gitignore of ``*`` (git does)."""
    for name, text in (("CACHEDIR.TAG", CACHEDIR_TAG), (".gitignore", "# created by tenantlint\n*\n")):
        file = root / name
        if not file.exists():
            file.write_text(text, encoding="utf-8")


def _prune(root: Path, keep: Path) -> None:
    """Remove namespaces (older tenantlint builds or settings) unused for a while, and all
    but the :data:`KEEP_NAMESPACES` most recently used (a tenantlint being developed makes a
    new one at every edit)."""
    now = time.time()
    try:
        folders = [f for f in root.iterdir() if f.is_dir() and f.name.startswith("v") and f != keep]
    except OSError:
        return
    used = {}
    for folder in folders:
        try:
            used[folder] = (folder / "last-used").stat().st_mtime
        except OSError:
            try:
                used[folder] = folder.stat().st_mtime
            except OSError:
                continue
    newest_first = sorted(used, key=used.get, reverse=True)
    for rank, folder in enumerate(newest_first, start=1):  # ``keep`` is the newest of all
        if rank >= KEEP_NAMESPACES or now - used[folder] > STALE_AFTER:
            shutil.rmtree(folder, ignore_errors=True)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
