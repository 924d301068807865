"""The facts cache: a re-scan of an unchanged tree parses nothing, and a bad entry is
never trusted (issue 8)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tenantlint import cache
from tenantlint.extract import runner
from tenantlint.cache import FactsCache
from tenantlint.config import load_config
from tenantlint.extract.runner import RunStats, extract_files
from tenantlint.scan import scan
from tests.conftest import run_cli

SCHEMA = "CREATE TABLE notes (id int, tenant_id int, body text);\n"
QUERIES = "SELECT body FROM notes WHERE id = %s;\n\nSELECT body FROM notes WHERE tenant_id = %s;\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [tenant_id]\n")
    (tmp_path / "schema.sql").write_text(SCHEMA)
    (tmp_path / "queries.sql").write_text(QUERIES)
    return tmp_path


def _run(tree: Path, cache_dir: Path | None = None, **kwargs):
    config = load_config(start=tree)
    stats = RunStats()
    files = sorted(tree.glob("*.sql"))
    facts, errors = extract_files(files, tree, config, cache_dir=cache_dir or tree / ".tenantlint_cache",
                                  stats=stats, **kwargs)
    return facts, stats


def _entries(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("v*/*/*.json"))


def test_a_rescan_parses_nothing(tree, monkeypatch):
    first = scan(["."], cwd=tree, use_cache=True)
    cache_dir = tree / ".tenantlint_cache"
    assert len(_entries(cache_dir)) == 2

    def no_parse(*args):
        raise AssertionError("a cached file was parsed again")

    monkeypatch.setattr(runner, "extract", no_parse)
    second = scan(["."], cwd=tree, use_cache=True)
    assert second.to_json() == first.to_json()
    assert second.document == first.document


def test_an_unchanged_tree_needs_no_policy_evaluation(tree, monkeypatch):
    import tenantlint.engine

    first = scan(["."], cwd=tree, use_cache=True)
    results = sorted((tree / ".tenantlint_cache" / "results").glob("*.json"))
    assert len(results) == 1

    def no_engine(*args, **kwargs):
        raise AssertionError("the engine ran for an unchanged document")

    monkeypatch.setattr(tenantlint.engine, "evaluate", no_engine)
    assert scan(["."], cwd=tree, use_cache=True).to_json() == first.to_json()
    results[0].write_text('{"format": 1, "key": "other", "violations": []}')  # foreign: not trusted
    monkeypatch.undo()
    assert scan(["."], cwd=tree, use_cache=True).to_json() == first.to_json()


def test_other_policy_settings_are_evaluated_again(tree):
    first = scan(["."], cwd=tree, use_cache=True)
    (tree / "tenantlint.yaml").write_text("tenant_columns: [tenant_id]\n"
                                          "rules: {missing-tenant-filter: {severity: warning}}\n")
    second = scan(["."], cwd=tree, use_cache=True)
    assert {f["severity"] for f in first.findings} == {"error"}
    assert {f["severity"] for f in second.findings} == {"warning"}
    assert len(list((tree / ".tenantlint_cache" / "results").glob("*.json"))) == 2


def test_only_a_changed_file_is_parsed_again(tree):
    _, cold = _run(tree)
    assert (cold.cached, cold.extracted) == (0, 2)
    _, warm = _run(tree)
    assert (warm.cached, warm.extracted) == (2, 0)
    (tree / "queries.sql").write_text(QUERIES + "\nDELETE FROM notes;\n")
    facts, edited = _run(tree)
    assert (edited.cached, edited.extracted) == (1, 1)
    assert [q["kind"] for q in facts[0]["queries"]] == ["select", "select", "delete"]
    assert len(_entries(tree / ".tenantlint_cache")) == 2  # the entry was replaced, not added


def test_the_cache_folder_is_tagged_for_backup_tools_and_git(tree):
    _run(tree)
    cache_dir = tree / ".tenantlint_cache"
    assert (cache_dir / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (cache_dir / ".gitignore").read_text().splitlines()[-1] == "*"


@pytest.mark.parametrize("damage", ["not json", "truncated", "wrong format", "other namespace", "other path",
                                    "other content", "facts of another file", "facts not a mapping"])
def test_a_bad_entry_is_ignored_and_rebuilt(tree, damage):
    good, _ = _run(tree)
    entry = next(p for p in _entries(tree / ".tenantlint_cache") if json.loads(p.read_text())["path"] == "queries.sql")
    data = json.loads(entry.read_text())
    if damage == "not json":
        entry.write_bytes(b"\x00\xff garbage")
    elif damage == "truncated":
        entry.write_text(json.dumps(data)[:40])
    else:
        key, value = {
            "wrong format": ("format", 999),
            "other namespace": ("namespace", "0" * 20),
            "other path": ("path", "schema.sql"),
            "other content": ("sha256", "0" * 64),
            "facts of another file": ("facts", {**data["facts"], "path": "schema.sql"}),
            "facts not a mapping": ("facts", ["SELECT 1"]),
        }[damage]
        entry.write_text(json.dumps({**data, key: value}))
    again, stats = _run(tree)
    assert (stats.cached, stats.extracted) == (1, 1)
    assert again == good
    assert json.loads(entry.read_text()) == data  # rebuilt


def test_settings_that_change_facts_get_their_own_entries(tree):
    _run(tree)
    (tree / "tenantlint.yaml").write_text("tenant_columns: [tenant_id, org_id]\n")
    _, stats = _run(tree)
    assert stats.extracted == 2
    assert len(list((tree / ".tenantlint_cache").glob("v*-*"))) == 2


def test_old_namespaces_are_removed(tree):
    cache_dir = tree / ".tenantlint_cache"
    _run(tree)
    for i in range(cache.KEEP_NAMESPACES + 3):  # other settings, other tenantlint builds
        old = cache_dir / f"v1-old{i:02}"
        (old / "ab").mkdir(parents=True)
        (old / "last-used").touch()
        os.utime(old / "last-used", (time.time() - 60 * (i + 1),) * 2)
    stale = cache_dir / "v1-stale"
    stale.mkdir()
    (stale / "last-used").touch()
    os.utime(stale / "last-used", (time.time() - cache.STALE_AFTER - 60,) * 2)
    _, stats = _run(tree)
    assert stats.cached == 2
    left = sorted(p.name for p in cache_dir.glob("v1-*"))
    assert len(left) == cache.KEEP_NAMESPACES
    assert "v1-stale" not in left and "v1-old00" in left and f"v1-old{cache.KEEP_NAMESPACES + 2:02}" not in left


def test_prefiltered_and_full_facts_do_not_mix(tree):
    _run(tree)
    _, stats = _run(tree, prefilter=False)
    assert stats.extracted == 2


def test_an_unusable_cache_folder_only_costs_time(tree):
    blocked = tree / "blocked"
    blocked.write_text("a file where the cache folder should be")
    assert FactsCache.open(blocked, load_config(start=tree)) is None
    facts, stats = _run(tree, cache_dir=blocked)
    assert stats.extracted == 2 and facts[0]["queries"]


def test_two_scans_at_once_leave_a_sound_cache(tree, tmp_path):
    for i in range(24):
        (tree / f"q{i:02}.sql").write_text(f"SELECT body FROM notes WHERE id = {i};\n" * 20)
    cache_dir = tmp_path / "shared-cache"
    args = ["scan", ".", "--format", "json", "--cache-dir", str(cache_dir), "--jobs", "1"]
    procs = [subprocess.Popen([sys.executable, "-m", "tenantlint", *args], cwd=tree, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode in (0, 1) for p in procs), [err for _, err in outputs]
    assert len({out for out, _ in outputs}) == 1
    assert not list(cache_dir.rglob(".tmp-*")), "a temporary file was left behind"
    for entry in _entries(cache_dir):
        json.loads(entry.read_text())
    _, stats = _run(tree, cache_dir=cache_dir)
    assert stats.extracted == 0 and stats.cached == 26


def test_cli_cache_options(tree, tmp_path):
    default = run_cli("scan", ".", "--format", "json", cwd=tree, env={"TENANTLINT_CACHE_DIR": ""})
    assert default.returncode == 1, default.stderr
    assert _entries(tree / ".tenantlint_cache")
    elsewhere = tmp_path / "elsewhere"
    proc = run_cli("scan", ".", "--format", "json", "--cache-dir", str(elsewhere), cwd=tree)
    assert proc.stdout == default.stdout and _entries(elsewhere)
    nothing = tmp_path / "nothing"
    proc = run_cli("scan", ".", "--format", "json", "--no-cache", cwd=tree, env={"TENANTLINT_CACHE_DIR": str(nothing)})
    assert proc.stdout == default.stdout and not nothing.exists()



def test_a_scan_of_given_files_evaluates_only_their_queries(tree):
    (tree / "schema.sql").write_text(SCHEMA + "SELECT body FROM notes;\n")
    result = scan(["queries.sql"], cwd=tree)
    assert {q["path"] for q in result.document["queries"]} == {"queries.sql"}
    assert result.document["tables"]["notes"]["tenant_owned"]  # the schema still lends its tables
    assert [(f["path"], f["line"]) for f in result.findings] == [("queries.sql", 1)]


def test_an_unchanged_tree_reuses_its_document_and_a_change_builds_a_new_one(tree):
    cache = tree / ".cache"
    first = scan(["."], cwd=tree, cache_dir=cache)
    documents = sorted((cache / "documents").glob("*.json"))
    again = scan(["."], cwd=tree, cache_dir=cache)
    assert sorted((cache / "documents").glob("*.json")) == documents and len(documents) == 1
    assert again.document == first.document and again.to_json() == first.to_json()
    (tree / "queries.sql").write_text(QUERIES + "\nSELECT body FROM notes;\n")
    changed = scan(["."], cwd=tree, cache_dir=cache)
    assert len(list((cache / "documents").glob("*.json"))) == 2
    assert len(changed.findings) == len(first.findings) + 1
    (tree / "queries.sql").write_text(QUERIES)
    given = scan(["queries.sql"], cwd=tree, cache_dir=cache)  # a hook's run: changed files, seldom again
    assert [(f["path"], f["line"]) for f in given.findings] == [(f["path"], f["line"]) for f in first.findings
                                                                if f["path"] == "queries.sql"]
    assert len(list((cache / "documents").glob("*.json"))) == 2


def test_a_scan_of_given_files_judges_only_the_queries_their_functions_reach(tmp_path):
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [tenant_id]\n")
    (tmp_path / "models.py").write_text(
        "from django.db import models\n\n\nclass Note(models.Model):\n    tenant_id = models.IntegerField()\n")
    (tmp_path / "repo.py").write_text(
        "from models import Note\n\n\ndef reached(pk):\n    return Note.objects.get(pk=pk)\n\n\n"
        "def elsewhere(pk):\n    return Note.objects.get(pk=pk)\n")
    (tmp_path / "views.py").write_text(
        "from rest_framework.decorators import api_view\nfrom repo import reached\n\n\n"
        "@api_view(['GET'])\ndef show(request, pk):\n    return reached(pk)\n")
    (tmp_path / "other.py").write_text(
        "from rest_framework.decorators import api_view\nfrom repo import elsewhere\n\n\n"
        "@api_view(['GET'])\ndef other(request, pk):\n    return elsewhere(pk)\n")
    given = scan(["views.py"], cwd=tmp_path)
    judged = {q["function"]: "contexts" in q for q in given.document["queries"]}
    assert judged == {"repo.reached": True, "repo.elsewhere": False}
    assert [(f["rule"], f["path"], f["line"]) for f in given.findings] == [("unscoped-lookup", "views.py", 7)]
    whole = scan(["."], cwd=tmp_path)
    assert sorted((f["rule"], f["path"], f["line"]) for f in whole.findings) == [
        ("unscoped-lookup", "other.py", 7), ("unscoped-lookup", "views.py", 7)]


WARMED = """
import json, sys
from pathlib import Path
from tenantlint.config import load_config
from tenantlint.extract.runner import RunStats, extract_files, warm_cache
tree = Path(sys.argv[1])
config, files, cache_dir = load_config(start=tree), sorted(tree.glob("*.sql")), tree / ".cache"
warming = warm_cache(files, tree, config, cache_dir, jobs=2)
warming.wait()
stats = RunStats()
facts, _ = extract_files(files, tree, config, cache_dir=cache_dir, stats=stats)
print(json.dumps({"cached": stats.cached, "extracted": stats.extracted, "facts": facts}))
"""


def test_a_hooks_files_are_parsed_into_the_cache_on_another_cpu(tree):
    """warm_cache (a pre-commit run's given files, parsed in a forked child while the scan
    reads the rest of the project) leaves facts equal to a parse's in the cache."""
    proc = subprocess.run([sys.executable, "-c", WARMED, str(tree)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert (answer["cached"], answer["extracted"]) == (2, 0)
    parsed, _ = _run(tree, cache_dir=tree / "fresh")
    assert answer["facts"] == parsed


def test_a_hook_run_with_two_cpus_reports_what_one_cpu_does(tmp_path):
    """The same findings whether the given file was parsed beside the project's loading
    (--jobs 2) or after it (--jobs 1), from a warm cache of the rest of the project."""
    import shutil

    from tests.conftest import SHARED

    if not (SHARED / "dev-cases" / "crm_layers").is_dir():
        pytest.skip("shared dev-cases not present")
    project = tmp_path / "crm"
    shutil.copytree(SHARED / "dev-cases" / "crm_layers", project)
    run_cli("scan", ".", cwd=project)  # the project's facts into the cache
    answers = []
    for jobs in ("2", "1"):
        routes = project / "crm" / "routes.py"
        routes.write_text(f"# changed for --jobs {jobs}\n" + routes.read_text())
        answers.append([(f["rule"], f["line"]) for f in json.loads(
            run_cli("scan", "crm/routes.py", "--jobs", jobs, "--format", "json", cwd=project).stdout)["findings"]])
    assert answers[0] == [(rule, line - 1) for rule, line in answers[1]] and answers[0]


def test_the_call_graph_of_unchanged_files_is_reused_and_never_stale(tmp_path):
    """A hook run takes the resolved calls of unchanged files from the last scan
    (``callgraph/`` in the cache); an edited body re-resolves its file, a changed
    definition anywhere the whole program: the findings are those of a scan without cache."""
    import shutil

    from tests.conftest import SHARED

    if not (SHARED / "dev-cases" / "crm_layers").is_dir():
        pytest.skip("shared dev-cases not present")
    project = tmp_path / "crm"
    shutil.copytree(SHARED / "dev-cases" / "crm_layers", project, ignore=shutil.ignore_patterns("__pycache__"))
    own = {"TENANTLINT_CACHE_DIR": str(tmp_path / "cache")}
    run_cli("scan", ".", cwd=project, env=own)
    [memo] = (tmp_path / "cache" / "callgraph").glob("*.json")
    assert "crm/repository.py" in json.loads(memo.read_text())["files"]

    def hook_run(*extra: str) -> list[tuple]:
        proc = run_cli("scan", "crm/routes.py", "--format", "json", *extra, cwd=project, env=own)
        return [(f["rule"], f["path"], f["line"]) for f in json.loads(proc.stdout)["findings"]]

    routes, repository = project / "crm" / "routes.py", project / "crm" / "repository.py"
    routes.write_text(routes.read_text().replace("repository.deals_of_account(session, user.account_id)",
                                                 "repository.all_deals(session)"))  # a body edit: a new callee
    listing = next(i for i, line in enumerate(routes.read_text().splitlines(), 1) if "repository.all_deals" in line)
    written = memo.read_bytes()
    found = hook_run()
    assert ("missing-tenant-filter", "crm/routes.py", listing) in found
    assert found == hook_run("--no-cache")
    assert memo.read_bytes() == written  # one file resolved again does not rewrite the project's memo
    repository.write_text(repository.read_text().replace("def unused_contact_dump", "def contact_dump"))
    routes.write_text("# moved\n" + routes.read_text())  # a definition changed elsewhere: all resolved again
    assert hook_run() == hook_run("--no-cache") == [(rule, path, line + 1) for rule, path, line in found]
    assert memo.read_bytes() != written


def test_a_damaged_call_graph_memo_is_not_trusted(tmp_path):
    """A memo whose edges are not [callee, call, kind, shift, admin] is ignored: the calls
    are resolved again and the scan reports what it would without it."""
    from tenantlint.cache import EdgeMemo
    from tenantlint.config import Config

    memo = EdgeMemo(tmp_path, {"a.py": "x"}, Config())
    memo.save("shape", {"a.py": {"edges": {"a.f": [["a.g", 0, "call", 0, False]]}, "unresolved": {}}})
    assert memo.load("shape")["a.py"]["edges"] == {"a.f": [["a.g", 0, "call", 0, False]]}
    assert memo.load("another shape") == {}
    for damaged in ({"a.f": [["a.g", "0", "call", 0, False]]}, {"a.f": [["a.g"]]}, {"a.f": "a.g"}):
        memo.save("shape", {"a.py": {"edges": damaged, "unresolved": {}}})
        assert memo.load("shape") == {}
    memo.entry.write_text("{not json")
    assert memo.load("shape") == {}


def test_a_hooks_large_files_are_shared_among_warming_children(tmp_path):
    """One child per 64 KB of source (MIN_PARALLEL_BYTES) up to the CPUs and files, the
    largest files first, each to the lightest share; small files stay with one child."""
    from tenantlint.extract.runner import MIN_PARALLEL_BYTES, _shares

    def files(**sizes):
        for name, size in sizes.items():
            (tmp_path / name).write_bytes(b"#" * size)
        return [tmp_path / name for name in sizes]

    big = files(models=150_000, services=170_000, views=90_000)
    assert [[f.name for f in share] for share in _shares(big, 2)] == [["services"], ["models", "views"]]
    assert [[f.name for f in share] for share in _shares(big, 4)] == [["services"], ["models"], ["views"]]
    small = files(a=10_000, b=20_000, c=MIN_PARALLEL_BYTES - 30_001)
    assert [[f.name for f in share] for share in _shares(small, 2)] == [["c", "b", "a"]]  # 63,999 bytes
