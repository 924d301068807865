"""The library API: ``scan(paths, ...)`` runs discover → extract → link → evaluate → report data.

>>> result = scan(["examples/clinic"])          # doctest: +SKIP
>>> [(f["rule"], f["path"], f["line"]) for f in result.findings]   # doctest: +SKIP
"""

from __future__ import annotations

import functools
import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from tenantlint import __version__
from tenantlint.gate import filters
from tenantlint.gate.baseline import load as load_baseline, write as write_baseline_file
from tenantlint.cache import default_cache_dir
from tenantlint.config import Config, load_config
from tenantlint.discover import Discovery, discover, display_path
from tenantlint.errors import UsageError
from tenantlint.findings import SEVERITY_ORDER, findings as build_findings
from tenantlint.gate.gitdiff import changes as changed_lines
from tenantlint.infer import inferred_config
from tenantlint.program.config_check import config_warnings
from tenantlint.program.link import link, linked_tables
from tenantlint.gate.selection import RuleSelection
from tenantlint.project import (
    Project, anchor, console_scripts, context_files, find_projects, names_files, project_root, security_files,
)
from tenantlint.extract.facts import new_file_facts
from tenantlint.extract.runner import default_jobs, extract_files, warm_cache

WARM_FILES = 20  # given files up to this many are parsed beside the project's loading (a hook run)
_kept: list | None = None  # what scans built, kept for a process that ends with os._exit


def keep_until_exit() -> None:
    """The process ends with ``os._exit`` (the command line does): a scan keeps the facts it
    loaded instead of freeing them object by object when it returns (a tenth of a second
    on a large project)."""
    global _kept
    _kept = []


@dataclass
class ScanResult:
    findings: list[dict]  # reported findings, suppressed ones included (marked "suppressed")
    errors: list[dict]
    config: Config
    files_scanned: int
    fail_on: str
    document: dict = field(repr=False, default_factory=dict)
    documents: list[dict] = field(repr=False, default_factory=list)  # one per project (document: the first)
    baseline: dict | None = None  # {"matched", "new", "fixed"} with --baseline / --write-baseline
    diff: dict | None = None  # {"ref", "merge_base", "files"} with --diff
    show_suppressed: bool = False  # the text report lists suppressed findings too
    policy_dirs: tuple[str, ...] = ()  # extra policy folders, for the rule list of reports
    cwd: Path | None = None  # the folder finding paths are relative to
    configs: list[str] = field(default_factory=list)  # the config files used, one per project
    warnings: list[str] = field(default_factory=list)  # settings that match nothing in the schema
    exempted: int = 0  # findings the config's exemptions dropped
    skipped: list[dict] = field(default_factory=list)  # paths given by name that were not scanned, and why

    @property
    def active(self) -> list[dict]:
        """Findings not silenced by an inline suppression: the ones that count."""
        return [f for f in self.findings if not f.get("suppressed")]

    @property
    def failed(self) -> bool:
        """True when an unsuppressed finding is at or above ``fail_on``."""
        if self.fail_on == "never":
            return False
        limit = SEVERITY_ORDER[self.fail_on]
        return any(SEVERITY_ORDER.get(f["severity"], 0) <= limit for f in self.active)

    @property
    def summary(self) -> dict:
        active = self.active
        by_severity = {s: sum(1 for f in active if f["severity"] == s) for s in SEVERITY_ORDER}
        summary = {
            "files": self.files_scanned,
            # A whole-file error has no line; a statement that does not parse leaves the rest analysed.
            "files_not_analysed": len({e["path"] for e in self.errors if not e.get("line") or e.get("whole_file")}),
            "findings": len(active),
            "suppressed": len(self.findings) - len(active),
            "by_severity": by_severity,
            "errors": len(self.errors),
            "files_skipped": len(self.skipped),
            "exempted": self.exempted,
            "configs": list(self.configs),
            "tenant_columns": list(self.config.tenant_columns),
            "tenant_columns_defaulted": self.config.tenant_columns_defaulted,
            "tenant_columns_inferred": list(self.config.inferred),
        }
        if self.baseline is not None:
            summary["baseline"] = dict(self.baseline)
        if self.diff is not None:
            summary["diff"] = dict(self.diff)
        return summary

    def to_json(self) -> dict:
        return {
            "tool": {"name": "tenantlint", "version": __version__},
            "findings": self.findings,
            "errors": self.errors,
            "skipped": self.skipped,
            "warnings": self.warnings,
            "summary": self.summary,
        }


def _pausing_cyclic_gc(function):
    """Facts are millions of small acyclic lists and dicts: the cyclic collector would walk
    them again and again (a fifth of a large scan) and find nothing to free. Reference
    counting still frees everything a scan drops."""

    @functools.wraps(function)
    def paused(*args, **kwargs):
        was = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if was:
                gc.enable()

    return paused


@_pausing_cyclic_gc
def scan(
    paths: list[str] | None = None,
    *,
    config_path: str | None = None,
    config: Config | None = None,
    fail_on: str | None = None,
    cwd: Path | None = None,
    baseline: str | None = None,
    write_baseline: str | None = None,
    diff: str | None = None,
    show_suppressed: bool = False,
    ignore_suppressions: bool = False,
    jobs: int | None = 1,
    cache_dir: str | Path | None = None,
    use_cache: bool | None = None,
    policy_dirs: tuple[str, ...] | list[str] = (),
    opa_url: str | None = None,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    extend_select: Sequence[str] = (),
) -> ScanResult:
    """Scan ``paths`` and return findings decided by the policies.

    Gate options (the filter stage, :mod:`tenantlint.gate.filters`): inline suppressions are
    honoured unless ``ignore_suppressions``; ``baseline`` (a file) drops the findings it
    accepts, ``write_baseline`` (a file) records all current findings there first;
    ``diff`` (a git ref) keeps findings on lines changed since the merge base with it.
    Given files (a pre-commit hook), the project's schema files are read for context.

    Speed options: ``jobs`` worker processes extract files (None: one per CPU);
    ``use_cache`` True keeps per-file facts in ``cache_dir`` (default ``.tenantlint_cache``
    next to the config file, else in ``cwd``), False never, None only when ``cache_dir`` is
    given. A library call defaults to one process and writes no file; the command line
    defaults to all CPUs and a cache.

    Policy options: ``policy_dirs`` add Rego folders to the config's ``policies``;
    ``opa_url`` (else config ``opa_url``) evaluates on an OPA server instead of in-process;
    ``select`` (only these rules), ``ignore`` (not these) and ``extend_select`` (these too,
    even if the config disables them) pick rules by id, as ruff's flags do.

    Config: ``config`` or ``config_path`` applies to every file; else each file is judged
    with the nearest config above it, and each config's folder is a project of its own
    (its whole-program facts are its own).

    Raises :class:`tenantlint.errors.TenantlintError` subclasses for config, policy or
    usage errors; a file that cannot be read or parsed is an ``errors`` entry instead.
    """
    cwd = (cwd or Path.cwd()).resolve()
    paths = paths or ["."]
    if baseline and write_baseline:
        raise UsageError("use either --baseline or --write-baseline, not both")
    accepted = load_baseline(baseline) if baseline else None  # fail fast, before the work
    changes = changed_lines(diff, cwd) if diff else None
    if config is not None or config_path is not None:
        first = cwd / paths[0]
        config = config or load_config(config_path, start=cwd, fallback=first if first.is_dir() else first.parent)
        groups = [Project(config, list(paths))]
    else:  # each file with the nearest config above it: a monorepo's services keep their own
        groups = find_projects(paths, cwd)
    selection = RuleSelection(tuple(select), tuple(ignore), tuple(extend_select))
    parts = [_analyse(group, cwd, selection, jobs=jobs, cache_dir=cache_dir, use_cache=use_cache,
                      policy_dirs=policy_dirs, opa_url=opa_url, ignore_suppressions=ignore_suppressions)
             for group in groups]
    parts = [p for p in parts if p.files.files or p.files.errors or p.files.skipped] or parts[:1]
    found = [f for part in parts for f in part.found]
    errors = [e for part in parts for e in part.errors]
    baseline_counts = None
    read = _files_read(parts)
    if write_baseline:
        root_paths = {f["path"]: part.to_root(f["path"]) for part in parts for f in part.found}
        accepted, kept = write_baseline_file(write_baseline, found, lambda path: root_paths.get(path, path),
                                             keep=lambda path: not read(path))
    if accepted is not None:
        found, baseline_counts = filters.apply_baseline(found, accepted, read)
        if write_baseline:
            baseline_counts["kept"] = kept
    if changes is not None:
        found = filters.apply_diff(found, changes, cwd)
        errors = filters.apply_diff(errors, changes, cwd)
    main = parts[0]  # its config speaks for the summary
    return ScanResult(
        findings=sorted(found, key=_finding_order) if len(parts) > 1 else found,
        errors=sorted(errors, key=lambda e: (e["path"], e.get("line", 0), e["message"])),
        config=main.config,
        files_scanned=sum(len(part.files.files) for part in parts),
        skipped=[s for part in parts for s in part.files.skipped],
        fail_on=fail_on or main.config.fail_on,
        document=main.document,
        documents=[part.document for part in parts],
        baseline=baseline_counts,
        diff=changes.summary() if changes is not None else None,
        show_suppressed=show_suppressed,
        policy_dirs=tuple(policy_dirs),
        cwd=cwd,
        configs=[display_path(Path(part.config.source), cwd) for part in parts if part.config.source],
        warnings=[w for part in parts for w in part.warnings],
        exempted=sum(part.exempted for part in parts),
    )


@dataclass
class _Part:
    """What one project (one config) of a scan found, before the baseline and diff gates."""

    config: Config
    files: Discovery
    found: list[dict]
    errors: list[dict]
    document: dict
    to_root: Callable[[str], str]
    read: set[str]  # the scanned files, relative to the project root
    base: Path  # the project root (else the current directory)
    warnings: list[str]  # configured names the schema does not have
    exempted: int  # violations the config's exemptions dropped


def _analyse(group: Project, cwd: Path, selection: RuleSelection, *, jobs, cache_dir, use_cache, policy_dirs,
             opa_url, ignore_suppressions) -> _Part:
    """Discover, extract, link, evaluate and suppress for one project."""
    config = selection.apply(group.config)
    paths = group.paths
    files = discover(paths, config, cwd=cwd)
    root = project_root(config, cwd)
    jobs = jobs or default_jobs()
    if use_cache or (use_cache is None and cache_dir is not None):
        cache_dir = cwd / cache_dir if cache_dir is not None else default_cache_dir(config, cwd)
    else:
        cache_dir = None
    # A few files given by name (a hook's): parsed on another CPU while the rest of the project is read.
    hook = len(files.files) <= WARM_FILES and names_files(paths, cwd)
    warming = warm_cache(files.files, cwd, config, cache_dir, jobs) if hook else None
    context = context_files(paths, files.files, config, cwd, root)
    context_paths = {display_path(file, cwd) for file in context}
    security = security_files(paths, files.files + context, config, cwd)
    security_paths = {display_path(file, cwd) for file in security}
    digests: dict[str, str] = {}
    all_facts, extract_errors = _facts(files.files, context + security, warming, cwd, config, jobs, cache_dir,
                                       digests)
    if config.source is None and config.tenant_columns_defaulted:  # no config: ask the schema
        inferred = inferred_config(linked_tables(all_facts, config), config)
        if inferred is not None:
            config = inferred  # the facts depend on the tenant columns: extract again (cached by config)
            all_facts, extract_errors = extract_files(files.files + context + security, cwd, config,
                                                      jobs=jobs, cache_dir=cache_dir, digests=digests)
    # An excluded migration lends only its row-level security statements (and suppressions).
    all_facts = [{**new_file_facts(f["path"], f["language"]), "rls": f.get("rls", []),
                  "suppressions": f.get("suppressions", [])} if f["path"] in security_paths else f
                 for f in all_facts]
    extract_errors = filters.drop_paths(extract_errors, security_paths)
    errors = [*files.errors, *extract_errors]
    # Context files lend their tables, models, constants, routes and functions. Their
    # queries inside functions stay (a data-layer query is reported at a given file's call
    # into it), but only the sites in given files are evaluated; the rest of their queries
    # and their fields would be evaluated only to be dropped.
    all_facts = [{**f, "fields": [], "queries": [q for q in f["queries"] if q.get("function")]}
                 if f["path"] in context_paths else f for f in all_facts]
    scripts = console_scripts(root, cwd)
    focus = {display_path(file, cwd) for file in files.files} if context_paths else None
    from tenantlint.engine import load_policy_dirs, prepare

    policy_folders = load_policy_dirs(config, policy_dirs)
    prepared = None

    def linked(edges=None) -> dict:
        nonlocal prepared
        if jobs > 1:  # the policies compile on another CPU while the program is linked
            prepared = prepare(config, policy_folders, opa_url)
        return link(all_facts, config, scripts=scripts, focus=focus, edges=edges)

    try:
        if cache_dir is not None:  # an unchanged tree: the same document, no whole-program stage
            from tenantlint.cache import EdgeMemo, cached_document

            edges = EdgeMemo(cache_dir, digests, config)
            document = cached_document(cache_dir, digests, config, [sorted(context_paths), scripts],
                                       lambda: linked(edges), store=focus is None)
        else:
            document = linked()
        engine_document = _given_files_only(document, context_paths) if context_paths else document
        if selection:
            selection.check(_rule_ids(policy_folders))
        violations = _evaluate(engine_document, config, policy_folders, opa_url or config.opa_url, cache_dir,
                               prepared)
    finally:
        if prepared is not None:
            prepared.close()
    exempted = sum(1 for v in violations if v.get("exempted"))  # dropped, but counted: never silent
    violations = [v for v in violations if not v.get("exempted")]
    to_root = anchor(root, cwd)
    errors = filters.drop_paths(errors, context_paths)
    found = filters.drop_paths(build_findings(violations, document, anchor=to_root), context_paths)
    suppressions = {f["path"]: f["suppressions"] for f in all_facts
                    if f.get("suppressions") and f["path"] not in context_paths}
    found = filters.apply_suppressions(
        found,
        suppressions,
        ignore=ignore_suppressions,
        unanalysed={(e["path"], 0 if e.get("whole_file") else e.get("line") or 0) for e in errors},
        rule_settings=config.rules,
        anchor=to_root,
        known_rules=None if opa_url or config.opa_url or not suppressions else _rule_ids(policy_folders),
    )
    found = filters.apply_per_file_ignores(found, config.per_file_ignores, to_root)
    found = [f for f in found if selection.keeps(f)]
    read = {to_root(display_path(file, cwd)) for file in files.files}
    where = f"{display_path(Path(config.source), cwd)}: " if config.source else ""
    warnings = [where + text for text in config_warnings(document["tables"], config)]
    if _kept is not None:
        _kept.append(all_facts)
    return _Part(config, files, found, errors, document, to_root, read, root or cwd, warnings, exempted)


def _facts(given: list[Path], lent: list[Path], warming, cwd: Path, config: Config, jobs: int,
           cache_dir: Path | None, digests: dict) -> tuple[list[dict], list[dict]]:
    """Facts (and errors) of the given files, then of the files lent for context. With a
    ``warming`` child parsing the given files, the lent ones load first, meanwhile."""
    if warming is None:
        return extract_files(given + lent, cwd, config, jobs=jobs, cache_dir=cache_dir, digests=digests)
    try:
        lent_facts, lent_errors = extract_files(lent, cwd, config, jobs=jobs, cache_dir=cache_dir, digests=digests)
    finally:
        warming.wait()
    facts, errors = extract_files(given, cwd, config, jobs=jobs, cache_dir=cache_dir, digests=digests)
    return facts + lent_facts, errors + lent_errors


def _finding_order(finding: dict) -> tuple:
    return finding["path"], finding["line"], finding.get("column") or 0, finding["rule"]


def _rule_ids(policy_folders: list[str]) -> set[str]:
    """Every rule id a suppression may name: the policies' and the host's own."""
    from tenantlint.rules import load_rules

    return {rule.id for rule in load_rules(policy_folders)}


def _files_read(parts: list[_Part]) -> Callable[[str], bool]:
    """Whether this scan read the file of a baseline entry (a path relative to its project
    root). A file that no longer exists counts as read: its findings are gone."""
    read = set().union(*(part.read for part in parts))
    bases = {part.base for part in parts}

    def was_read(path: str) -> bool:
        return path in read or not any((base / path).is_file() for base in bases)

    return was_read


def _given_files_only(document: dict, context_paths: set[str]) -> dict:
    """The document the engine reads on a scan of given files: every query keeps only its
    sites in those files; a context file's query left with none, and a context file's
    route, are left out (what they could yield lies in context files, whose findings the
    scan drops), so the engine's time follows the given files. Violations name queries by
    their ``index`` field, not by position. ``document`` keeps the pruned sites; its
    queries are not replaced."""
    for query in document["queries"]:
        query["sites"] = [s for s in query.get("sites", ()) if s["path"] not in context_paths]
    return {**document,
            "queries": [q for q in document["queries"] if q["path"] not in context_paths or q["sites"]],
            "routes": [r for r in document["routes"] if r.get("file") not in context_paths]}


def _evaluate(document: dict, config: Config, policy_folders: list[str], opa_url: str | None,
              cache_dir: Path | None, prepared=None) -> list[dict]:
    from tenantlint.engine import evaluate

    def run() -> list[dict]:
        return evaluate(document, config, policy_folders, opa_url=opa_url, prepared=prepared)

    if cache_dir is None or opa_url:  # a server's policies may change behind our back
        return run()
    from tenantlint.cache import cached_violations  # an unchanged tree: the same answer, no engine

    return cached_violations(cache_dir, document, config, policy_folders, run)
